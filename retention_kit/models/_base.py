"""What every model shares: parameter validation, the unit check and JSON-safe persistence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self, TypeVar

import numpy as np

from .._errors import InvalidDataError
from .._typing import FloatArray, TimeUnit
from ..summary import CustomerSummary
from ._mle import FitResult

__all__ = ["SCHEMA_VERSION", "Model", "model_from_dict", "register"]

SCHEMA_VERSION = 1
_REGISTRY: dict[str, type[Model]] = {}

M = TypeVar("M", bound="type[Model]")


def register(cls: M) -> M:
    """Add a model class to the registry `model_from_dict` dispatches on."""
    _REGISTRY[cls.__name__] = cls
    return cls


@dataclass(frozen=True, slots=True)
class Model:
    """Base of the model classes: frozen parameters, a fit result and a time unit.

    Subclasses are ``@register``-ed ``@dataclass(frozen=True, slots=True, repr=False)``
    classes whose fields are their parameters, named in the class attribute
    ``parameter_names``; every parameter must be finite and > 0. A subclass that needs its own
    ``__post_init__`` calls ``Model.__post_init__(self)`` explicitly (zero-argument ``super()``
    does not work in slotted dataclasses).
    """

    parameter_names: ClassVar[tuple[str, ...]] = ()

    fit_result: FitResult | None = field(default=None, compare=False, repr=False, kw_only=True)
    unit: TimeUnit | None = field(default=None, kw_only=True)

    def __repr__(self) -> str:
        values = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.parameter_names)
        return f"{type(self).__name__}({values}, unit={self.unit!r})"

    def __post_init__(self) -> None:
        for name in self.parameter_names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise InvalidDataError(f"'{name}' must be a number > 0: got {value!r}", field=name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidDataError(
                    f"'{name}' must be finite and > 0: got {value!r}", field=name
                )
            object.__setattr__(self, name, float(value))
        if self.unit not in (None, "D", "W"):
            raise InvalidDataError(
                f"The 'unit' parameter of {type(self).__name__} must be 'D', 'W' or None; "
                f"got {self.unit!r} instead.",
                field="unit",
            )

    @property
    def params(self) -> FloatArray:
        """The parameters as an array, in the order of ``parameter_names``."""
        return np.array([getattr(self, n) for n in self.parameter_names])

    def parameters(self) -> dict[str, float]:
        """Return the parameters as a dict keyed by name.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.GammaGamma(p=6.25, q=3.74, v=15.44).parameters()
        {'p': 6.25, 'q': 3.74, 'v': 15.44}
        """
        return {n: float(getattr(self, n)) for n in self.parameter_names}

    def _check_unit(self, summary: CustomerSummary) -> None:
        if self.unit is not None and summary.unit != self.unit:
            raise InvalidDataError(
                f"{type(self).__name__} was fitted in unit {self.unit!r} but the summary is in "
                f"unit {summary.unit!r}; summarize the data with unit={self.unit!r}",
                field="unit",
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of the model, its unit and its fit result.

        Examples
        --------
        >>> import json
        >>> import retention_kit as rk
        >>> model = rk.BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43, unit="W")
        >>> rk.model_from_dict(json.loads(json.dumps(model.to_dict()))) == model
        True
        """
        extra = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in self.parameter_names and f.name not in ("fit_result", "unit")
        }
        return {
            "model": type(self).__name__,
            "schema_version": SCHEMA_VERSION,
            "parameters": self.parameters(),
            "unit": self.unit,
            "options": extra,
            "fit_result": None if self.fit_result is None else self.fit_result.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a model from `to_dict` output.

        Raises
        ------
        ValueError
            When the dict names another model or an unknown schema version.

        Examples
        --------
        >>> import json
        >>> import retention_kit as rk
        >>> model = rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182)
        >>> rk.ShiftedBetaGeometric.from_dict(json.loads(json.dumps(model.to_dict())))
        ShiftedBetaGeometric(alpha=0.704, beta=1.182, unit=None)
        """
        if data.get("model") != cls.__name__:
            raise ValueError(f"expected a serialized {cls.__name__}; got {data.get('model')!r}")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported schema_version {data.get('schema_version')!r}; "
                f"this version of retention_kit reads {SCHEMA_VERSION}"
            )
        fit = data.get("fit_result")
        return cls(
            **data["parameters"],
            **data.get("options", {}),
            unit=data.get("unit"),
            fit_result=None if fit is None else FitResult.from_dict(fit),
        )


def model_from_dict(data: dict[str, Any]) -> Model:
    """Rebuild any model from the dict its ``to_dict`` returned, dispatching on its name.

    Parameters
    ----------
    data : dict
        Output of ``model.to_dict()`` (for instance after a JSON round trip).

    Returns
    -------
    Model
        An instance of the class named in ``data["model"]``.

    Raises
    ------
    ValueError
        When the model name is unknown.

    Examples
    --------
    >>> import retention_kit as rk
    >>> rk.model_from_dict(rk.GammaGamma(p=6.25, q=3.74, v=15.44).to_dict())
    GammaGamma(p=6.25, q=3.74, v=15.44, unit=None)
    """
    name = data.get("model")
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(_REGISTRY)}")
    return _REGISTRY[name].from_dict(data)
