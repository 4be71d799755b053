"""Prediction intervals: how much a forecast moves with the uncertainty of the fitted parameters.

A fitted model's estimates are uncertain; `retention_kit.FitResult.confidence_intervals`
reports that uncertainty parameter by parameter. `prediction_interval` carries it through to
any per-customer forecast (P(alive), expected purchases, CLV, ...) by a parametric bootstrap:
parameters are drawn from the estimates' asymptotic normal distribution and the forecast is
recomputed at each draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from ._errors import InvalidDataError
from ._typing import FloatArray
from ._validation import readonly
from .clv import _take
from .models._base import Model

__all__ = ["PredictionInterval", "parameter_draws", "prediction_interval"]

_CHUNK_VALUES = 1 << 20
"""Default bound on the forecasts held at once, n_draws x chunk_size (8 MB of float64)."""

_PSD_TOLERANCE = 1e-10
"""Relative size of a negative eigenvalue of a covariance matrix still taken as round-off."""


@dataclass(frozen=True, slots=True, eq=False)
class PredictionInterval:
    """A per-customer forecast with the interval it spans over the parameters' uncertainty.

    Attributes
    ----------
    estimate : ndarray
        The forecast at the fitted parameters, one value per customer (summary row).
    lower, upper : ndarray
        The (1 - confidence_level) / 2 and (1 + confidence_level) / 2 quantiles of the
        forecast over the parameter draws, one value per customer.
    n_draws : int
        The number of parameter draws the quantiles are taken over.
    confidence_level : float
        The share of the draws between ``lower`` and ``upper``.

    See Also
    --------
    prediction_interval : compute one.

    Examples
    --------
    >>> import retention_kit as rk
    >>> interval = rk.PredictionInterval([0.5, 0.2], [0.4, 0.1], [0.6, 0.3], n_draws=200,
    ...                                  confidence_level=0.9)
    >>> len(interval), interval.upper.tolist()
    (2, [0.6, 0.3])
    """

    estimate: FloatArray
    lower: FloatArray
    upper: FloatArray
    n_draws: int
    confidence_level: float

    def __post_init__(self) -> None:
        arrays = {}
        for name in ("estimate", "lower", "upper"):
            values = np.array(getattr(self, name), dtype=np.float64)
            if values.ndim != 1:
                raise InvalidDataError(
                    f"`{name}` must be one-dimensional: got shape {values.shape}", field=name
                )
            arrays[name] = values
        sizes = {name: values.size for name, values in arrays.items()}
        if len(set(sizes.values())) != 1:
            raise InvalidDataError(
                f"`estimate`, `lower` and `upper` must have the same length: got {sizes}",
                field="lower",
            )
        for name, values in arrays.items():
            object.__setattr__(self, name, readonly(values))
        object.__setattr__(self, "n_draws", _n_draws(self.n_draws))
        object.__setattr__(self, "confidence_level", _level(self.confidence_level))

    def __len__(self) -> int:
        return int(self.estimate.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PredictionInterval):
            return NotImplemented
        return (
            self.n_draws == other.n_draws
            and self.confidence_level == other.confidence_level
            and all(
                np.array_equal(getattr(self, name), getattr(other, name))
                for name in ("estimate", "lower", "upper")
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the interval as a dataframe with columns ``estimate``, ``lower``, ``upper``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> interval = rk.PredictionInterval([0.5], [0.4], [0.6], n_draws=200,
        ...                                  confidence_level=0.9)
        >>> interval.to_frame("pandas").columns.tolist()
        ['estimate', 'lower', 'upper']
        """
        import narwhals as nw

        data = {"estimate": self.estimate, "lower": self.lower, "upper": self.upper}
        return nw.from_dict(data, backend=backend).to_native()


def _n_draws(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 2:
        raise InvalidDataError(
            f"The 'n_draws' parameter must be an integer >= 2; got {value!r} instead.",
            field="n_draws",
        )
    return int(value)


def _level(value: object) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not 0.0 < float(value) < 1.0:  # type: ignore[arg-type]
        raise InvalidDataError(
            f"The 'confidence_level' parameter must be a number in (0, 1); got {value!r} instead.",
            field="confidence_level",
        )
    return float(value)  # type: ignore[arg-type]


def _log_parameter_factor(model: Model) -> FloatArray:
    """Return L with L L^T the covariance of the log-parameters, D^-1 Sigma D^-1.

    Raises `InvalidDataError` when the model has no fit result, or its covariance is not a
    finite, symmetric positive semi-definite matrix of the right size.
    """
    name = type(model).__name__
    result = model.fit_result
    if result is None:
        raise InvalidDataError(
            f"{name} has no fit_result: prediction intervals need the covariance of fitted "
            f"parameters. Fit the model with {name}.fit(...) (a model built from known "
            "parameters has no sampling uncertainty).",
            field="models",
        )
    k = len(model.parameter_names)
    covariance = np.asarray(result.covariance, dtype=np.float64)
    if covariance.shape != (k, k):
        raise InvalidDataError(
            f"{name}'s fit_result.covariance must be {k} x {k} (one row per parameter "
            f"{model.parameter_names}); got shape {covariance.shape}",
            field="covariance",
        )
    if not np.all(np.isfinite(covariance)):
        raise InvalidDataError(
            f"{name}'s fit_result.covariance is not finite (the Hessian at the estimates was "
            "not finite, so the fit has no standard errors); prediction intervals cannot be "
            "drawn. Check the fit's warnings, or refit with a small `penalizer=`.",
            field="covariance",
        )
    scale = 1.0 / model.params
    log_covariance = covariance * np.outer(scale, scale)
    log_covariance = (log_covariance + log_covariance.T) / 2.0
    eigenvalues, vectors = np.linalg.eigh(log_covariance)
    if eigenvalues.min() < -_PSD_TOLERANCE * max(1.0, float(np.abs(eigenvalues).max())):
        raise InvalidDataError(
            f"{name}'s fit_result.covariance is not positive semi-definite (smallest "
            f"eigenvalue of the log-parameter covariance {eigenvalues.min():.3g}); it cannot be "
            "the covariance of a normal distribution",
            field="covariance",
        )
    factor: FloatArray = vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    return factor


def parameter_draws(
    model: Model, n_draws: int, *, rng: np.random.Generator | int | None = None
) -> FloatArray:
    r"""Draw parameter vectors from a fitted model's asymptotic distribution, on the log scale.

    Parameters
    ----------
    model : Model
        A fitted model (its ``fit_result`` holds the covariance of the estimates).
    n_draws : int
        How many draws, >= 2.
    rng : numpy.random.Generator or int, optional
        Random generator, or a seed for ``numpy.random.default_rng``.

    Returns
    -------
    ndarray
        Shape ``(n_draws, k)``: one row per draw, the parameters in the order of
        ``model.parameter_names``; every value finite and > 0 (or an error is raised).

    Raises
    ------
    InvalidDataError
        When the model has no ``fit_result``, its covariance is not finite or not positive
        semi-definite, or a draw overflows (a covariance far too wide for the normal
        approximation).

    Notes
    -----
    With theta the estimates, Sigma their covariance and D = diag(theta), the delta method
    gives log(theta) the covariance D^-1 Sigma D^-1; draws are

    .. math::

        \theta^{(j)} = \exp\left(\log\hat\theta + L z^{(j)}\right), \qquad
        z^{(j)} \sim N(0, I), \quad L L^\top = D^{-1} \Sigma D^{-1},

    so that each parameter's 2.5% and 97.5% quantiles over many draws are the bounds of
    `retention_kit.FitResult.confidence_intervals` (0.95): both work on the log scale, where
    the normal approximation keeps the parameters positive. L is the symmetric square root
    from the eigendecomposition, which also serves a singular covariance (a flat direction of
    the likelihood).

    Examples
    --------
    >>> import retention_kit as rk
    >>> survivors = rk.datasets.load_retention_segments().regular[:8]
    >>> model = rk.ShiftedBetaGeometric.fit(survivors)
    >>> draws = rk.parameter_draws(model, 1000, rng=1)
    >>> draws.shape, bool((draws > 0).all())
    ((1000, 2), True)
    """
    n = _n_draws(n_draws)
    factor = _log_parameter_factor(model)
    generator = np.random.default_rng(rng)
    noise = generator.standard_normal((n, factor.shape[0]))
    with np.errstate(over="ignore", under="ignore"):
        draws: FloatArray = np.exp(np.log(model.params) + noise @ factor.T)
    ok = np.all(np.isfinite(draws) & (draws > 0), axis=1)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise InvalidDataError(
            f"{bad.size} of {n} parameter draws of {type(model).__name__} overflow or "
            f"underflow (first: draw {int(bad[0])}); the covariance is too wide for the normal "
            "approximation to be of use. Fit on more data, or with a small `penalizer=`.",
            field="covariance",
        )
    return draws


def _models(models: Model | tuple[Model, ...] | list[Model]) -> tuple[Model, ...]:
    group = tuple(models) if isinstance(models, tuple | list) else (models,)
    if not group:
        raise InvalidDataError("'models' must hold at least one model; got none", field="models")
    for model in group:
        if not isinstance(model, Model):
            raise InvalidDataError(
                "'models' must be a fitted retention_kit model or a tuple of them; got "
                f"{type(model).__name__}",
                field="models",
            )
    return group


def _rows_of(summary: Any) -> int:
    try:
        return len(summary)
    except TypeError:
        raise InvalidDataError(
            "'summary' must be a per-customer summary (CustomerSummary, DiscreteSummary, ...) "
            f"or a one-dimensional array; got {type(summary).__name__}",
            field="summary",
        ) from None


def _chunk(summary: Any, start: int, stop: int, n: int) -> Any:
    """Rows start..stop of a summary dataclass or an array (the object itself when whole)."""
    if start == 0 and stop == n:
        return summary
    if isinstance(summary, np.ndarray):
        return summary[start:stop]
    return _take(summary, np.arange(start, stop))


def _values(result: object, rows: int) -> FloatArray:
    values = np.asarray(result)
    if values.dtype.kind not in "biuf" or values.shape != (rows,):
        raise InvalidDataError(
            f"'statistic' must return one number per summary row ({rows}); got shape "
            f"{values.shape} and dtype {values.dtype}",
            field="statistic",
        )
    out = values.astype(np.float64)
    if not np.all(np.isfinite(out)):
        bad = np.flatnonzero(~np.isfinite(out))
        raise InvalidDataError(
            f"'statistic' must return finite values: {bad.size} of {rows} are not (first: row "
            f"{int(bad[0])}, value {out[bad[0]]!r})",
            field="statistic",
            rows=tuple(int(i) for i in bad[:5]),
        )
    return out


def prediction_interval(
    statistic: Callable[..., Any],
    models: Model | tuple[Model, ...],
    summary: Any,
    *,
    n_draws: int = 200,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    chunk_size: int | None = None,
) -> PredictionInterval:
    r"""Return a per-customer forecast and its interval over the parameters' uncertainty.

    A parametric bootstrap: each model's parameters are drawn ``n_draws`` times from their
    asymptotic distribution (see `parameter_draws`), the forecast is recomputed at each draw,
    and the interval is the central ``confidence_level`` share of the recomputed values.

    Parameters
    ----------
    statistic : callable
        ``statistic(*models, summary_chunk)`` returns one number per row of
        ``summary_chunk``, which holds consecutive rows of ``summary`` (a summary of the same
        type, or a slice of an array). It is called with the fitted models and with each
        draw, so it must depend on the models only through their arguments. Rows must not
        interact: the value of a row may not depend on the other rows of the chunk.
    models : Model or tuple of Model
        The fitted model, or several (for instance ``(bgnbd, gamma_gamma)`` for CLV): each
        model's parameters are drawn independently, from its own fit.
    summary : CustomerSummary, DiscreteSummary or 1-D array
        The customers (or, for a contractual model, for instance the periods) to forecast.
    n_draws : int, default 200
        Parameter draws, >= 2. The interval's ends are quantiles of these draws, so their
        Monte Carlo error shrinks like 1 / sqrt(n_draws).
    confidence_level : float, default 0.95
        In (0, 1).
    rng : numpy.random.Generator or int, optional
        Random generator, or a seed for ``numpy.random.default_rng``: the same seed gives the
        same interval.
    chunk_size : int, optional
        Rows forecast at once; at most ``n_draws * chunk_size`` forecasts are held in memory.
        By default about a million forecasts (8 MB). The result does not depend on it: the
        parameters are drawn once, before the rows are split.

    Returns
    -------
    PredictionInterval
        ``estimate`` (at the fitted parameters), ``lower`` and ``upper``, one per row.

    Raises
    ------
    InvalidDataError
        When a model has no ``fit_result`` or its covariance is not finite (or not positive
        semi-definite), ``n_draws``, ``confidence_level`` or ``chunk_size`` is out of range,
        or ``statistic`` does not return one finite number per row; and whatever the models
        raise for the summary.

    Notes
    -----
    The draws of log(theta) are N(log(theta_hat), D^-1 Sigma D^-1) with Sigma the covariance
    of the estimates (``fit_result.covariance``, the inverse Hessian of the negative
    log-likelihood) and D = diag(theta_hat): the delta method on the log scale, as in
    `retention_kit.FitResult.confidence_intervals`. The interval reflects the uncertainty of
    the parameters only, not the randomness of a customer's own future purchases; it narrows
    as the fit's data grow. The ends are numpy's linear-interpolation quantiles over the
    draws. The ``estimate`` is the forecast at the estimates, which need not be the middle of
    the interval when the forecast is a nonlinear function of the parameters.

    Examples
    --------
    The 95% interval of the probability that two CDNOW customers are still alive:

    >>> import retention_kit as rk
    >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
    ...                        observation_end="1997-09-30")
    >>> model = rk.BGNBD.fit(summary)
    >>> interval = rk.prediction_interval(
    ...     lambda m, s: m.probability_alive(s), model, summary.subset([0, 1]), rng=1
    ... )
    >>> interval.estimate.round(3).tolist()
    [0.727, 0.212]
    >>> interval.lower.round(3).tolist(), interval.upper.round(3).tolist()
    ([0.694, 0.177], [0.759, 0.256])
    >>> bool((interval.lower < interval.estimate).all() and
    ...      (interval.estimate < interval.upper).all())
    True

    The value of the next year, with both the transaction and the spend model uncertain:

    >>> spend = rk.GammaGamma.fit(summary)
    >>> clv = rk.prediction_interval(
    ...     lambda m, g, s: rk.customer_lifetime_value(m, g, s, horizon=52.0, discount_rate=0.0),
    ...     (model, spend), summary.subset([0, 1]), n_draws=100, rng=1,
    ... )
    >>> bool((clv.lower < clv.upper).all())
    True
    """
    group = _models(models)
    draws = _n_draws(n_draws)
    level = _level(confidence_level)
    generator = np.random.default_rng(rng)
    per_model = [parameter_draws(model, draws, rng=generator) for model in group]
    drawn = [
        [
            replace(model, **dict(zip(model.parameter_names, row.tolist(), strict=True)))
            for row in sample
        ]
        for model, sample in zip(group, per_model, strict=True)
    ]
    # One model tuple per draw; a fit result belongs to the estimates, not to a draw.
    draw_models = [
        tuple(replace(m, fit_result=None) for m in combination)
        for combination in zip(*drawn, strict=True)
    ]
    n = _rows_of(summary)
    if chunk_size is None:
        size = max(1, _CHUNK_VALUES // draws)
    elif (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer)
    ) or chunk_size < 1:
        raise InvalidDataError(
            f"The 'chunk_size' parameter must be an integer >= 1; got {chunk_size!r} instead.",
            field="chunk_size",
        )
    else:
        size = int(chunk_size)
    quantiles = np.array([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    estimate = np.empty(n)
    bounds = np.empty((2, n))
    values = np.empty((draws, min(size, n)))
    for start in range(0, n, size):
        stop = min(start + size, n)
        rows = stop - start
        chunk = _chunk(summary, start, stop, n)
        estimate[start:stop] = _values(statistic(*group, chunk), rows)
        for j, combination in enumerate(draw_models):
            values[j, :rows] = _values(statistic(*combination, chunk), rows)
        bounds[:, start:stop] = np.quantile(values[:, :rows], quantiles, axis=0)
    return PredictionInterval(
        estimate=estimate,
        lower=bounds[0],
        upper=bounds[1],
        n_draws=draws,
        confidence_level=level,
    )
