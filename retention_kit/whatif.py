"""What-if: the value of better retention, from a fitted model, with a bootstrap interval.

"What does 5% more retention buy us?" is answered as a change to the model's dropout process:
every customer's per-period churn probability (shifted-beta-geometric), drop-out probability
after each purchase (BG/NBD) or drop-out rate (Pareto/NBD) is multiplied by
``1 - churn_reduction``. The expected discounted value of a cohort of new customers over a
horizon is computed before and after, and the difference's interval comes from parameter
draws of the fit (`parameter_draws`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import roots_jacobi

from ._errors import InvalidDataError
from ._typing import FloatArray
from .models._base import Model
from .models.bgnbd import BGNBD
from .models.paretonbd import ParetoNBD
from .models.sbg import ShiftedBetaGeometric
from .uncertainty import parameter_draws

__all__ = ["RetentionWhatIf", "retention_whatif"]

_NODES = 64  # Gauss-Jacobi nodes over the beta mixing distribution


@dataclass(frozen=True, slots=True)
class RetentionWhatIf:
    """The value of a cohort before and after a churn reduction (see `retention_whatif`).

    Attributes
    ----------
    churn_reduction : float
        The relative reduction of the dropout process, in [0, 1].
    baseline, improved : float
        Expected discounted value of the cohort without and with the reduction.
    change : float
        ``improved - baseline``.
    relative_change : float
        ``change / baseline``.
    low, high : float
        Bounds of the ``confidence_level`` interval for ``change`` from parameter draws; NaN
        for a model built from known parameters (no fit to draw from).
    relative_low, relative_high : float
        The same for ``relative_change``.
    confidence_level : float

    Examples
    --------
    >>> import retention_kit as rk
    >>> model = rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    >>> result = rk.retention_whatif(model, churn_reduction=0.0, horizon=5, discount_rate=0.1)
    >>> result.change
    0.0
    """

    churn_reduction: float
    baseline: float
    improved: float
    change: float
    relative_change: float
    low: float
    high: float
    relative_low: float
    relative_high: float
    confidence_level: float


def _beta_expectation(a: float, b: float) -> tuple[FloatArray, FloatArray]:
    """Nodes p and weights w with sum_i w_i f(p_i) ~ E[f(p)], p ~ Beta(a, b) (Gauss-Jacobi)."""
    x, w = roots_jacobi(_NODES, b - 1.0, a - 1.0)
    return (1.0 + x) / 2.0, w / w.sum()


def _sbg_value(params: FloatArray, keep: float, horizon: int, discount: float) -> float:
    """sum_{t=0}^{H-1} E[(1 - k theta)^t] / (1 + d)^t, theta ~ Beta(alpha, beta)."""
    theta, w = _beta_expectation(params[0], params[1])
    t = np.arange(horizon)
    survival = np.exp(t[None, :] * np.log1p(-keep * theta)[:, None])
    return float(w @ survival @ (1.0 + discount) ** -t)


def _bgnbd_purchases(params: FloatArray, keep: float, times: FloatArray) -> FloatArray:
    """E[X(t)] with each drop-out probability p scaled by k: E_p[(1 - (a/(a + k p t))^r)/(k p)]."""
    r, alpha, a, b = params
    p, w = _beta_expectation(a, b)
    q = keep * p[:, None]
    # (1 - (alpha / (alpha + q t))^r) / q, written with expm1/log1p for q t << alpha
    x = -np.expm1(-r * np.log1p(q * times[None, :] / alpha)) / np.maximum(q, 1e-300)
    small = q * times[None, :] < 1e-12 * alpha
    x = np.where(small, r * times[None, :] / alpha, x)
    out: FloatArray = w @ x
    return out


def _paretonbd_purchases(params: FloatArray, keep: float, times: FloatArray) -> FloatArray:
    """E[X(t)] with every drop-out rate mu scaled by k: mu ~ Gamma(s, beta / k)."""
    r, alpha, s, beta = params
    scaled = beta / keep
    log_ratio = np.log1p(times / scaled)
    integral = log_ratio if abs(s - 1.0) < 1e-10 else -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
    out: FloatArray = r * scaled / alpha * integral
    return out


def _value(
    model: Model, params: FloatArray, keep: float, horizon: float, step: float, discount: float
) -> float:
    if isinstance(model, ShiftedBetaGeometric):
        return _sbg_value(params, keep, round(horizon), discount)
    n_steps = round(horizon / step)
    times = step * np.arange(n_steps + 1, dtype=np.float64)
    if isinstance(model, BGNBD):
        cumulative = _bgnbd_purchases(params, keep, times)
    else:
        cumulative = _paretonbd_purchases(params, keep, times)
    factors = (1.0 + discount) ** -np.arange(1, n_steps + 1, dtype=np.float64)
    return float(np.diff(cumulative) @ factors)


def _number(value: object, name: str, low: float, high: float, *, closed: bool = True) -> float:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float | np.number)
        and math.isfinite(float(value))
        and (low <= float(value) <= high if closed else low < float(value) < high)
    )
    if not ok:
        bounds = f"[{low}, {high}]" if closed else f"({low}, {high})"
        raise InvalidDataError(f"'{name}' must be a number in {bounds}; got {value!r}", field=name)
    return float(value)  # type: ignore[arg-type]


def retention_whatif(
    model: ShiftedBetaGeometric | BGNBD | ParetoNBD,
    *,
    churn_reduction: float,
    horizon: float,
    discount_rate: float,
    value: float = 1.0,
    customers: float = 1.0,
    step: float = 1.0,
    n_draws: int = 1000,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> RetentionWhatIf:
    r"""Return the change in a cohort's expected value when churn falls by ``churn_reduction``.

    Parameters
    ----------
    model : ShiftedBetaGeometric, BGNBD or ParetoNBD
        Fitted (for an interval) or built from known parameters.
    churn_reduction : float
        In [0, 1]: every customer's dropout probability (rate) is multiplied by
        ``1 - churn_reduction``. 0 changes nothing; 1 means nobody ever leaves.
    horizon : float
        For the sBG, a number of contract periods (payments at the start of periods
        0..horizon-1); otherwise a time in the model's unit.
    discount_rate : float
        Per period (sBG) or per ``step``, >= 0.
    value : float, default 1.0
        Margin per period (sBG) or per purchase (BG/NBD, Pareto/NBD).
    customers : float, default 1.0
        Size of the cohort of new customers.
    step : float, default 1.0
        Discounting step for the purchase models, in the model's unit (``horizon / step``
        steps).
    n_draws : int, default 1000
        Parameter draws for the interval.
    confidence_level : float, default 0.95
    rng : numpy.random.Generator or int, optional
        Seed or generator for the draws.

    Returns
    -------
    RetentionWhatIf

    Raises
    ------
    InvalidDataError
        For another model, an argument out of range, or a covariance too wide to draw from.

    Notes
    -----
    With k = 1 - ``churn_reduction``:

    - sBG (Fader & Hardie 2007): a customer with churn probability theta ~ Beta(alpha, beta)
      survives t periods with probability (1 - k theta)^t, so with margin m and discount d

      .. math::

          V(k) = N m \sum_{t=0}^{H-1} \frac{E\left[(1 - k\theta)^t\right]}{(1 + d)^t},

      which at k = 1 and H -> infinity is N m (1 + DERL(d | 0) / (1 + d)), DERL of Fader &
      Hardie (2010, eq. 6) (the first payment is not discounted). The
      expectation is a 64-node Gauss-Jacobi rule for the Beta(alpha, beta) weight.
      Reducing theta by a factor k raises each period's retention 1 - theta by
      (1 - k) theta: a "5% churn reduction" is ``churn_reduction=0.05``; to raise a
      retention rate rho to rho' use ``churn_reduction = (rho' - rho) / (1 - rho)``.
    - BG/NBD (Fader, Hardie & Lee 2005): the drop-out probability after each purchase
      p ~ Beta(a, b) becomes k p. Given lambda and p, E[X(t)] = (1 - e^(-lambda p t)) / p;
      over lambda ~ Gamma(r, alpha) it is (1 - (alpha / (alpha + k p t))^r) / (k p), then
      averaged over p by Gauss-Jacobi. At k = 1 this is eq. 9 of the paper.
    - Pareto/NBD (Schmittlein, Morrison & Colombo 1987): the drop-out rate mu ~
      Gamma(s, beta) becomes k mu ~ Gamma(s, beta / k), and E[X(t)] =
      r beta' / (alpha (s - 1)) [1 - (beta' / (beta' + t))^(s - 1)] with beta' = beta / k.

    For the purchase models V(k) = N m sum_j [E X(j step) - E X((j - 1) step)] / (1 + d)^j.
    The interval: the change is recomputed at each of ``n_draws`` parameter vectors from
    `parameter_draws` (log-normal approximation of the fit) and the equal-tailed
    percentiles are reported, so it reflects estimation uncertainty only, not the
    randomness of a finite cohort. A zero reduction gives exactly zero change and a
    zero-width interval.

    References
    ----------
    .. [1] P. S. Fader and B. G. S. Hardie, "How to Project Customer Retention", Journal of
       Interactive Marketing 21(1), 76-90, 2007.
    .. [2] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy
       Way", Marketing Science 24(2), 275-284, 2005.
    .. [3] F. F. Reichheld and W. E. Sasser, "Zero Defections: Quality Comes to Services",
       Harvard Business Review 68(5), 105-111, 1990 (the "5% more retention" claim).

    Examples
    --------
    >>> import retention_kit as rk
    >>> model = rk.ShiftedBetaGeometric.fit(rk.datasets.load_retention_segments().regular[:8])
    >>> result = rk.retention_whatif(model, churn_reduction=0.05, horizon=10,
    ...                              discount_rate=0.1, rng=1)
    >>> round(result.baseline, 3), round(result.relative_change, 4)
    (3.121, 0.0227)
    >>> bool(result.low < result.change < result.high)
    True
    """
    if not isinstance(model, ShiftedBetaGeometric | BGNBD | ParetoNBD):
        raise InvalidDataError(
            "The 'model' parameter of retention_whatif must be a ShiftedBetaGeometric, BGNBD "
            f"or ParetoNBD; got {type(model).__name__} instead.",
            field="model",
        )
    reduction = _number(churn_reduction, "churn_reduction", 0.0, 1.0)
    keep = 1.0 - reduction
    span = _number(horizon, "horizon", 0.0, math.inf, closed=False)
    discount = _number(discount_rate, "discount_rate", 0.0, math.inf, closed=True)
    margin = _number(value, "value", 0.0, math.inf)
    size = _number(customers, "customers", 0.0, math.inf)
    width = _number(step, "step", 0.0, math.inf, closed=False)
    level = _number(confidence_level, "confidence_level", 0.0, 1.0, closed=False)
    if isinstance(model, ShiftedBetaGeometric):
        if span != round(span):
            raise InvalidDataError(
                f"'horizon' must be a whole number of periods for the sBG; got {horizon!r}",
                field="horizon",
            )
    elif abs(span / width - round(span / width)) > 1e-9:
        raise InvalidDataError(
            f"'horizon' must be a whole number of steps: got horizon={horizon!r}, step={step!r}",
            field="horizon",
        )

    def evaluate(params: FloatArray) -> tuple[float, float]:
        before = _value(model, params, 1.0, span, width, discount)
        after = before if reduction == 0 else _value(model, params, keep, span, width, discount)
        return before, after

    before, after = evaluate(model.params)
    baseline, improved = size * margin * before, size * margin * after
    change = improved - baseline
    relative = change / baseline if baseline > 0 else math.nan
    low = high = rel_low = rel_high = math.nan
    if model.fit_result is not None:
        draws = parameter_draws(model, n_draws, rng=rng)
        pairs = np.array([evaluate(row) for row in draws])
        changes = size * margin * (pairs[:, 1] - pairs[:, 0])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = (pairs[:, 1] - pairs[:, 0]) / pairs[:, 0]
        tails = [50.0 * (1.0 - level), 50.0 * (1.0 + level)]
        low, high = (float(v) for v in np.percentile(changes, tails))
        rel_low, rel_high = (float(v) for v in np.nanpercentile(ratios, tails))
    return RetentionWhatIf(
        churn_reduction=reduction,
        baseline=baseline,
        improved=improved,
        change=change,
        relative_change=relative,
        low=low,
        high=high,
        relative_low=rel_low,
        relative_high=rel_high,
        confidence_level=level,
    )
