"""What every model shares: parameter validation, the unit check and JSON-safe persistence.

Also the plumbing around the math of the models fitted by `maximize_likelihood` (the checks of
``summary`` and ``initial``, the optimizer's options, the fitted model) and, for the models of
purchases in continuous time, of ``sample`` (the checks of ``n_customers`` and ``T``, the
summary of the customers drawn).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self, TypedDict, TypeVar

import numpy as np

from .._errors import InvalidDataError
from .._typing import FloatArray, TimeUnit
from .._validation import MAX_ROWS_SHOWN
from ..summary import CustomerSummary
from ._mle import FitResult

__all__ = ["SCHEMA_VERSION", "Draw", "FitOptions", "Model", "model_from_dict", "register"]

SCHEMA_VERSION = 1
_REGISTRY: dict[str, type[Model]] = {}

M = TypeVar("M", bound="type[Model]")

Draw = Callable[[FloatArray, FloatArray, np.random.Generator], tuple[FloatArray, FloatArray]]
"""(parameters, ages T, generator) -> (frequency, recency) of customers drawn from a model."""


class FitOptions(TypedDict):
    """The keyword arguments of `maximize_likelihood` that every fit passes the same way."""

    names: Sequence[str]
    n_customers: int
    total_weight: float
    unit: str | None
    penalizer: float


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

    @classmethod
    def _check_summary(cls, summary: object, caller: str) -> CustomerSummary:
        """Return ``summary``, refused unless it is a `CustomerSummary` (``caller``: a method)."""
        if not isinstance(summary, CustomerSummary):
            raise InvalidDataError(
                f"{cls.__name__}.{caller} needs a CustomerSummary; got {type(summary).__name__}",
                field="summary",
            )
        return summary

    @staticmethod
    def _transaction_rows(summary: CustomerSummary) -> CustomerSummary:
        """Return the compressed summary without monetary values (no part of a purchase model).

        Left in, distinct spends would split rows that a model of transactions sees as one.
        """
        if summary.monetary_value is None:
            return summary.compress()
        return CustomerSummary(
            summary.frequency,
            summary.recency,
            summary.T,
            weight=summary.weight,
            unit=summary.unit,
        ).compress()

    @classmethod
    def _start(cls, initial: Sequence[float]) -> list[list[float]]:
        """Return the ``initial`` of `fit` as its one starting point, checked for its length."""
        start = [float(value) for value in initial]
        names = cls.parameter_names
        if len(start) != len(names):
            raise ValueError(
                f"The 'initial' parameter of {cls.__name__}.fit must hold {len(names)} values "
                f"({', '.join(names)}); got {list(initial)!r} instead."
            )
        return [start]

    @classmethod
    def _fit_options(
        cls, weights: FloatArray, unit: TimeUnit | None, penalizer: float
    ) -> FitOptions:
        """Return the options of `maximize_likelihood` for a fit on rows of these weights.

        The call itself stays in each model's `fit`: the optimizer's warnings name the caller
        of `fit` as where they come from, two frames up.
        """
        total = float(weights.sum())
        return {
            "names": cls.parameter_names,
            "n_customers": round(total),
            "total_weight": total,
            "unit": unit,
            "penalizer": penalizer,
        }

    @classmethod
    def _fitted(cls, theta: FloatArray, result: FitResult, unit: TimeUnit | None) -> Self:
        """Return the model at the estimates ``theta`` (in the order of ``parameter_names``)."""
        values: dict[str, Any] = {
            name: float(value) for name, value in zip(cls.parameter_names, theta, strict=True)
        }
        return cls(**values, fit_result=result, unit=unit)

    @staticmethod
    def _customer_count(n_customers: int) -> int:
        """Return the ``n_customers`` of ``sample``, refused unless it is an integer >= 1."""
        if (
            isinstance(n_customers, bool)
            or not isinstance(n_customers, int | np.integer)
            or n_customers < 1
        ):
            raise InvalidDataError(
                f"`n_customers` must be an integer >= 1: got {n_customers!r}",
                field="n_customers",
            )
        return int(n_customers)

    def _sample_summary(
        self,
        n_customers: int,
        T: FloatArray,
        rng: np.random.Generator | int | None,
        draw: Draw,
        *,
        list_bad_ages: bool = False,
    ) -> CustomerSummary:
        """Return the summary of ``n_customers`` customers of ages ``T`` drawn by ``draw``.

        ``n_customers`` comes checked by `_customer_count` and ``T`` checked finite and >= 0;
        ``T`` must hold one value for all or one per customer, each > 0. The error on an age of
        0 lists the ages at fault when ``list_bad_ages`` is set. The summary is in the model's
        unit, "D" when it has none.
        """
        if T.ndim > 1 or (T.ndim == 1 and T.size != n_customers):
            raise InvalidDataError(
                f"`T` must be a scalar or hold one value per customer ({n_customers}): got "
                f"shape {T.shape}",
                field="T",
            )
        ages = np.broadcast_to(T, (n_customers,)).astype(np.float64)
        if not np.all(ages > 0):
            if not list_bad_ages:
                raise InvalidDataError("`T` must be > 0", field="T")
            bad = np.flatnonzero(ages <= 0)
            raise InvalidDataError(
                f"`T` must be > 0: {bad.size} of {ages.size} values break it (first: position "
                f"{bad[0]}, T={ages[bad[0]]!r})",
                field="T",
                rows=tuple(int(i) for i in bad[:MAX_ROWS_SHOWN]),
            )
        frequency, recency = draw(self.params, ages, np.random.default_rng(rng))
        return CustomerSummary(frequency, recency, ages, unit=self.unit or "D")

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
