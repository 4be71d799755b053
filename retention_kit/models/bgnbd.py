"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

While alive, a customer buys as a Poisson process of rate lambda; right after each repeat
purchase she becomes inactive for good with probability p. Across customers
lambda ~ Gamma(shape r, rate alpha) and p ~ Beta(a, b), independently.

The math lives in module-level vectorized functions of plain arrays, written in logs
(log-gamma ratios, ``logaddexp``, ``log1p``) so that they stay finite for frequencies
in the tens of thousands and ages of 1e5 time units, where the closed forms of the paper
overflow (the #NUM! errors of spreadsheet implementations). `BGNBD` validates and dispatches.
The future of a customer known to be alive at T (her expected purchases and her survival) is
evaluated by `retention_kit.models._given_alive`, shared with MBG/NBD.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .._errors import FitError, InvalidDataError
from .._typing import FloatArray, IntArray
from .._validation import MAX_ROWS_SHOWN
from ..summary import CustomerSummary
from ._base import Model, register
from ._given_alive import log_expected_purchases, log_survival
from ._mle import FitResult, distinct_frequencies, dot, maximize_likelihood, sum_by
from ._special import log_gamma_ratio, softplus

__all__ = [
    "BGNBD",
    "conditional_expected_purchases",
    "expected_purchases",
    "log_likelihood",
    "log_likelihood_gradient",
    "log_probability_alive",
    "probability_alive",
    "probability_of_purchases",
]


# --- the math: vectorized functions of x (frequency), t_x (recency) and T ---


def _log_odds_dropped(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Return log of the odds "dropped out after the last purchase" : "alive at T".

    d = log(a / (b + x - 1)) + (r + x) log((alpha + T) / (alpha + t_x)) for x > 0, and -inf
    for x = 0 (a customer with no repeat purchase cannot have dropped out).
    """
    r, alpha, a, b = params
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d = math.log(a) - np.log(b + x - 1.0) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    out: FloatArray = np.where(repeat, d, -np.inf)
    return out


def log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    r"""Return each row's log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    .. math::

        L = \frac{B(a, b + x)}{B(a, b)} \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)}
            \left[(\alpha + T)^{-(r + x)}
            + \delta_{x > 0} \frac{a}{b + x - 1} (\alpha + t_x)^{-(r + x)}\right],

    using B(a + 1, b + x - 1) = B(a, b + x) a / (b + x - 1); the bracket is summed as
    ``log(alpha + T)`` terms plus softplus(d) = log(1 + e^d), d the log-odds of dropping out.

    Parameters
    ----------
    params : ndarray
        (r, alpha, a, b).
    x, t_x, T : ndarray
        Frequency, recency and age of each row.

    Returns
    -------
    ndarray
        One log-likelihood per row.

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> log_likelihood(params, np.array([2.0]), np.array([30.43]), np.array([38.86])).round(4)
    array([-9.4586])
    """
    r, alpha, a, b = params
    common = (
        log_gamma_ratio(r, x)
        + r * math.log(alpha)
        + log_gamma_ratio(b, x)
        - log_gamma_ratio(a + b, x)
        - (r + x) * np.log(alpha + T)
    )
    out: FloatArray = common + softplus(_log_odds_dropped(params, x, t_x, T))
    return out


def log_likelihood_gradient(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Return the partial derivatives of `log_likelihood` in (r, alpha, a, b), shape (4, rows).

    With s = P(dropped out | x, t_x, T) = expit(d) (0 when x = 0) and psi the digamma function:

    - d/dr = psi(r + x) - psi(r) - log(1 + T / alpha) + s log((alpha + T) / (alpha + t_x)),
    - d/dalpha = r / alpha - (r + x) / (alpha + T)
      - s (r + x) (T - t_x) / ((alpha + T)(alpha + t_x)),
    - d/da = psi(a + b) - psi(a + b + x) + s / a,
    - d/db = psi(b + x) - psi(b) + psi(a + b) - psi(a + b + x) - s / (b + x - 1).

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> log_likelihood_gradient(params, np.array([2.0]), np.array([30.43]),
    ...                         np.array([38.86])).round(4)[:, 0].tolist()
    [2.6962, -0.0002, -0.2029, 0.0766]
    """
    r, alpha, a, b = params
    s = special.expit(_log_odds_dropped(params, x, t_x, T))
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log1p((T - t_x) / (alpha + t_x))
        shrink = (T - t_x) / ((alpha + T) * (alpha + t_x))
        per_b = np.where(repeat, s / (b + x - 1.0), 0.0)
    psi_ab = special.digamma(a + b)
    psi_tail = special.digamma(a + b + x)
    d_r = (
        special.digamma(r + x)
        - special.digamma(r)
        - np.log1p(T / alpha)
        + np.where(repeat, s * gap, 0.0)
    )
    d_alpha = r / alpha - (r + x) / (alpha + T) - np.where(repeat, s * (r + x) * shrink, 0.0)
    d_a = psi_ab - psi_tail + s / a
    d_b = special.digamma(b + x) - special.digamma(b) + psi_ab - psi_tail - per_b
    return np.stack([d_r, d_alpha, d_a, d_b])


def _softplus_expit(d: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return log(1 + e^d) and 1 / (1 + e^-d) from one exponential, for finite d.

    Several times faster than ``np.logaddexp(0, d)`` and ``scipy.special.expit`` on large
    arrays, with the same accuracy: e = exp(-|d|) never overflows.
    """
    e = np.exp(-np.abs(d))
    softplus: FloatArray = np.maximum(d, 0.0) + np.log1p(e)
    expit: FloatArray = np.where(d >= 0.0, 1.0, e) / (1.0 + e)
    return softplus, expit


@dataclass(frozen=True, slots=True)
class _WeightedLikelihood:
    """The weighted total log-likelihood and its gradient, for the optimizer.

    The gamma and digamma terms depend on x alone: they are computed once per distinct
    frequency (a few hundred values even for millions of customers) and weighted by the total
    weight of its rows. Per row there are only logs and reciprocals of alpha + T and
    alpha + t_x, and the drop-out branch only for the rows that can have dropped out, which are
    stored last so that their share of the per-row arrays is a view. Using
    log((alpha + T) / (alpha + t_x)) = log1p(T / alpha) - log1p(t_x / alpha) saves a log per
    row; it costs absolute, not relative, accuracy where t_x is close to T, which is all the
    total needs.

    With ``shift`` 1 the same code is the MBG/NBD likelihood (Batislam et al. 2007, eq. 4):
    there a customer may also drop out at time 0, so every row has the drop-out branch, its
    odds are a / (b + x) instead of a / (b + x - 1), and B(a, b + x + 1) replaces B(a, b + x).
    """

    x: FloatArray
    T: FloatArray
    w: FloatArray
    wx: FloatArray
    frequencies: FloatArray
    per_frequency: FloatArray
    repeat_t_x: FloatArray
    repeat_index: IntArray
    first_repeat: int
    total_weight: float
    weighted_purchases: float
    shift: float

    @classmethod
    def build(
        cls, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray, *, shift: float = 0.0
    ) -> Self:
        if shift:  # MBG/NBD: every row may have dropped out
            first_repeat = 0
        else:
            repeat = x > 0
            if np.any(repeat[:-1] > repeat[1:]):  # not already last, as a compressed summary's
                order = np.argsort(repeat, kind="stable")
                x, t_x, T, w, repeat = x[order], t_x[order], T[order], w[order], repeat[order]
            first_repeat = int(np.searchsorted(repeat, True))
        frequencies, index = distinct_frequencies(x)
        per_frequency = sum_by(index, w, frequencies.size)
        wx = w * x
        return cls(
            x=x,
            T=T,
            w=w,
            wx=wx,
            frequencies=frequencies,
            per_frequency=per_frequency,
            repeat_t_x=t_x[first_repeat:],
            repeat_index=index[first_repeat:],
            first_repeat=first_repeat,
            total_weight=float(w.sum()),
            weighted_purchases=float(wx.sum()),
            shift=shift,
        )

    def __call__(self, params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(v) for v in params)
        xs, per_x, total = self.frequencies, self.per_frequency, self.total_weight
        # Terms of x alone, once per distinct frequency; beta terms at x + shift.
        xb = xs + self.shift
        x_part = log_gamma_ratio(r, xs) + log_gamma_ratio(b, xb) - log_gamma_ratio(a + b, xb)
        value = float(per_x @ x_part) + total * r * math.log(alpha)
        value -= math.log(alpha) * (r * total + self.weighted_purchases)
        psi_tail = float(per_x @ special.digamma(a + b + xb))
        psi_ab = special.digamma(a + b)
        d_r = float(per_x @ special.digamma(r + xs)) - total * special.digamma(r)
        d_a = total * psi_ab - psi_tail
        d_b = float(per_x @ special.digamma(b + xb)) - total * (special.digamma(b) - psi_ab)
        d_b -= psi_tail
        with np.errstate(divide="ignore", invalid="ignore"):  # BG/NBD's x = 0: no drop-out
            log_odds_x = math.log(a) - np.log(b + xb - 1.0)
            per_b_x = 1.0 / (b + xb - 1.0)
        # Every row: -(r + x) log(1 + T / alpha) and its derivatives.
        w, wx = self.w, self.wx
        scale = 1.0 / alpha
        log_age = np.log1p(self.T * scale)
        inverse_age = 1.0 / (alpha + self.T)
        w_log, wx_log = dot(w, log_age), dot(wx, log_age)
        value -= r * w_log + wx_log
        d_r -= w_log
        d_alpha = total * r / alpha - (r * dot(w, inverse_age) + dot(wx, inverse_age))
        # The drop-out branch, rows with x > 0 (the last ones).
        k = self.first_repeat
        xr, wr, t_x, index = self.x[k:], w[k:], self.repeat_t_x, self.repeat_index
        gap = log_age[k:] - np.log1p(t_x * scale)
        d = log_odds_x[index] + (r + xr) * gap
        softplus, dropped = _softplus_expit(d)
        value += dot(wr, softplus)
        ws = wr * dropped
        shrink = 1.0 / (alpha + t_x) - inverse_age[k:]
        d_r += dot(ws, gap)
        d_alpha -= r * dot(ws, shrink) + dot(ws * xr, shrink)
        d_a += float(ws.sum()) / a
        d_b -= dot(ws, per_b_x[index])
        return value, np.array([d_r, d_alpha, d_a, d_b])


def log_probability_alive(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    r"""Return log P(alive at T | x, t_x, T).

    .. math::

        P(\text{alive} \mid x, t_x, T) = \left[1 + \delta_{x > 0} \frac{a}{b + x - 1}
        \left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}\right]^{-1}

    (Fader, Hardie & Lee, "Computing P(alive) Using the BG/NBD Model", 2008), computed as
    -log(1 + e^d) with d the log-odds of having dropped out, so that it stays exact for any
    frequency: 0 (P = 1) when x = 0.

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> np.exp(log_probability_alive(params, np.array([2.0, 0.0]), np.array([30.43, 0.0]),
    ...                              np.array([38.86, 38.86]))).round(4)
    array([0.7266, 1.    ])
    """
    out: FloatArray = -softplus(_log_odds_dropped(params, x, t_x, T))
    return out


def probability_alive(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    r"""Return P(alive at T + t | x, t_x, T).

    Given alive at T, the posterior of the rate is lambda ~ Gamma(r + x, alpha + T) and that
    of the drop-out probability p ~ Beta(a, b + x), independent. A live customer makes
    Poisson(lambda t) purchases in (T, T + t] and survives each with probability 1 - p, so
    she survives the period with probability E[(1 - p)^N] = exp(-lambda p t). Over lambda
    this is (1 + p t / (alpha + T))^-(r + x), and over p

    .. math::

        E[e^{-\lambda p t}] = {}_2F_1\left(r + x, a; a + b + x; -\frac{t}{\alpha + T}\right)
        = \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
          {}_2F_1\left(r + x, b + x; a + b + x; \frac{t}{\alpha + T + t}\right)

    (Euler's integral, then Pfaff's transformation), which multiplies P(alive at T).

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> probability_alive(params, np.array([2.0, 2.0]), np.array([30.43, 30.43]),
    ...                   np.array([38.86, 38.86]), np.array([0.0, 52.0])).round(4)
    array([0.7266, 0.5316])
    """
    r, alpha, a, b = params
    log_alive = log_probability_alive(params, x, t_x, T)
    out: FloatArray = np.exp(log_alive + log_survival(r + x, a, b + x, t / (alpha + T)))
    return out


def expected_purchases(params: FloatArray, t: FloatArray) -> FloatArray:
    r"""Return E[X(t)], the expected repeat purchases in (0, t] of a new customer (eq. 9).

    .. math::

        E[X(t)] = \frac{a + b - 1}{a - 1}\left[1 - \left(\frac{\alpha}{\alpha + t}\right)^r
        {}_2F_1\left(r, b; a + b - 1; \frac{t}{\alpha + t}\right)\right]
        = E_p\left[\frac{1 - (1 + p t / \alpha)^{-r}}{p}\right],

    evaluated as the expectation, without the cancellation of the closed form and with the
    removable singularity at a = 1 removed (see `_given_alive.log_expected_purchases`).

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> expected_purchases(params, np.array([0.0, 39.0, 78.0])).round(4)
    array([0.    , 1.1967, 1.8605])
    """
    r, alpha, a, b = params
    out: FloatArray = np.exp(log_expected_purchases(r, a, b, t / alpha))
    return out


def conditional_expected_purchases(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    r"""Return E[Y(t) | x, t_x, T], the expected repeat purchases in (T, T + t] (eq. 10).

    .. math::

        E[Y(t) \mid x, t_x, T] = P(\text{alive}) \, \frac{a + b + x - 1}{a - 1}
        \left[1 - \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
        {}_2F_1\left(r + x, b + x; a + b + x - 1; \frac{t}{\alpha + T + t}\right)\right]:

    P(alive at T) times E[X(t)] under the posterior r + x, alpha + T, a, b + x.

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> conditional_expected_purchases(params, np.array([2.0]), np.array([30.43]),
    ...                                np.array([38.86]), np.array([39.0])).round(3)
    array([1.226])
    """
    r, alpha, a, b = params
    log_alive = log_probability_alive(params, x, t_x, T)
    log_future = log_expected_purchases(r + x, a, b + x, t / (alpha + T))
    out: FloatArray = np.exp(log_alive + log_future)
    return out


def probability_of_purchases(params: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
    r"""Return P(X(t) = n) for a customer just acquired (eq. 8).

    .. math::

        P(X(t) = n) = \frac{B(a, b + n)}{B(a, b)} \frac{\Gamma(r + n)}{\Gamma(r)\, n!}
        \left(\frac{\alpha}{\alpha + t}\right)^r \left(\frac{t}{\alpha + t}\right)^n
        + \delta_{n > 0} \frac{B(a + 1, b + n - 1)}{B(a, b)}
        \left[1 - \left(\frac{\alpha}{\alpha + t}\right)^r \sum_{j=0}^{n-1}
        \frac{\Gamma(r + j)}{\Gamma(r)\, j!} \left(\frac{t}{\alpha + t}\right)^j\right].

    The bracket is the chance that a negative binomial count reaches n, the regularized
    incomplete beta function I_{t / (alpha + t)}(n, r), which has no cancellation.

    Examples
    --------
    >>> import numpy as np
    >>> params = np.array([0.243, 4.414, 0.793, 2.426])
    >>> probability_of_purchases(params, np.array([0.0, 1.0, 2.0]), np.array(39.0)).round(7)
    array([0.5737864, 0.1993953, 0.0854298])
    """
    r, alpha, a, b = params
    with np.errstate(divide="ignore", invalid="ignore"):
        log_w = np.log(t) - np.log(alpha + t)
        # B(a, b + n) / B(a, b) = Gamma(b + n) Gamma(a + b) / (Gamma(b) Gamma(a + b + n)).
        log_alive = (
            log_gamma_ratio(b, n)
            - log_gamma_ratio(a + b, n)
            + log_gamma_ratio(r, n)
            - special.gammaln(n + 1.0)
            - r * np.log1p(t / alpha)
            + np.where(n > 0, n * log_w, 0.0)
        )
        reach = special.betainc(np.maximum(n, 1.0), r, t / (alpha + t))
        # B(a + 1, b + n - 1) / B(a, b) = a Gamma(b + n - 1) Gamma(a + b)
        #                                 / (Gamma(b) Gamma(a + b + n)).
        log_dropped = (
            math.log(a)
            + log_gamma_ratio(b, np.maximum(n - 1.0, 0.0))
            - log_gamma_ratio(a + b, n)
            + np.log(reach)
        )
        log_dropped = np.where(n > 0, log_dropped, -np.inf)
        total = np.minimum(np.exp(np.logaddexp(log_alive, log_dropped)), 1.0)
    # At t = 0 nobody has bought yet: P(X(0) = 0) = 1.
    out: FloatArray = np.where(t > 0, total, (n == 0).astype(np.float64))
    return out


def _sample(
    params: FloatArray, T: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw (frequency, recency) for customers of ages T, without a loop over customers.

    A customer makes K ~ Geometric(p) repeat purchases before dropping out (she leaves right
    after the K-th); by T she has made x = min(K, N) of the N ~ Poisson(lambda T) purchases a
    live customer would make. Given N = n, purchase times are uniform order statistics on
    (0, T], so the x-th is at T * Beta(x, n - x + 1).
    """
    r, alpha, a, b = params
    size = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=size)
    p = np.clip(rng.beta(a, b, size=size), np.finfo(np.float64).tiny, 1.0)
    u = rng.random(size)
    with np.errstate(divide="ignore"):
        purchases_before_drop = 1.0 + np.floor(np.log1p(-u) / np.log1p(-p))
    n = rng.poisson(lam * T).astype(np.float64)
    x = np.minimum(n, purchases_before_drop)
    bought = x > 0
    share = np.zeros(size)
    share[bought] = rng.beta(x[bought], n[bought] - x[bought] + 1.0)
    recency = np.where(bought, np.maximum(share * T, np.finfo(np.float64).tiny), 0.0)
    return x, np.minimum(recency, T)


# --- validation ---


def _times(t: ArrayLike, name: str) -> FloatArray:
    """``t`` as a float array of its own shape, refusing non-finite or negative values."""
    values = np.asarray(t)
    if values.dtype.kind not in "biuf":
        raise InvalidDataError(f"`{name}` must be numeric: got dtype {values.dtype}", field=name)
    out = values.astype(np.float64)
    flat = out.reshape(-1)
    ok = np.isfinite(flat) & (flat >= 0)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        shown = "; ".join(f"position {i}, {name}={flat[i]!r}" for i in bad[:MAX_ROWS_SHOWN])
        raise InvalidDataError(
            f"`{name}` must be finite and >= 0: {bad.size} of {flat.size} values break it "
            f"(first: {shown})",
            field=name,
            rows=tuple(int(i) for i in bad[:MAX_ROWS_SHOWN]),
        )
    return out


def _per_row(t: ArrayLike, n_rows: int) -> FloatArray:
    """``t`` validated as by `_times`, as one value per row: a scalar or an array of n_rows."""
    times = _times(t, "t")
    if times.ndim > 1 or (times.ndim == 1 and times.size != n_rows):
        raise InvalidDataError(
            f"`t` must be a scalar or hold one value per row of the summary ({n_rows}): got "
            f"shape {times.shape}",
            field="t",
        )
    return np.broadcast_to(times, (n_rows,))


def _counts(n: ArrayLike) -> FloatArray:
    """``n`` as a float array of its own shape, refusing anything but integers >= 0."""
    counts = np.asarray(n)
    if counts.dtype.kind not in "biuf":
        raise InvalidDataError(f"`n` must be numeric: got dtype {counts.dtype}", field="n")
    out = counts.astype(np.float64)
    flat = out.reshape(-1)
    ok = np.isfinite(flat) & (flat >= 0) & (flat == np.floor(flat))
    if not ok.all():
        bad = np.flatnonzero(~ok)
        shown = "; ".join(f"position {i}, n={flat[i]!r}" for i in bad[:MAX_ROWS_SHOWN])
        raise InvalidDataError(
            f"`n` must be a non-negative integer: {bad.size} of {flat.size} values break it "
            f"(first: {shown})",
            field="n",
            rows=tuple(int(i) for i in bad[:MAX_ROWS_SHOWN]),
        )
    return out


def _starting_points(x: FloatArray, T: FloatArray, w: FloatArray) -> list[list[float]]:
    """Data-driven starts: alpha near the mean age, r / alpha near the mean purchase rate.

    Optimizing log-parameters makes a change of time unit a translation of the search space
    (see `retention_kit.models._mle`), so starting alpha at the mean age is the same as
    starting at 1 on rescaled time, whatever the unit.
    """
    total = float(w.sum())
    exposure = dot(w, T)
    age = max(exposure / total, 1e-6)
    purchases = dot(w, x)
    rate = max(purchases / exposure if purchases > 0 else 0.0, 1e-3 / age)
    return [[rate * age, age, 1.0, 1.0], [0.5 * rate * age, age, 0.5, 2.0]]


@register
@dataclass(frozen=True, slots=True, repr=False)
class BGNBD(Model):
    r"""The BG/NBD model of Fader, Hardie & Lee (2005).

    While alive, a customer buys as a Poisson process of rate lambda; right after each repeat
    purchase she becomes inactive for good with probability p. Across customers
    lambda ~ Gamma(shape r, rate alpha) and p ~ Beta(a, b), independently. A customer with
    no repeat purchase is certainly alive.

    Parameters
    ----------
    r, alpha : float
        Shape and rate of the gamma heterogeneity of the purchase rate (alpha in the time
        unit of the data), > 0.
    a, b : float
        Shapes of the beta heterogeneity of the drop-out probability, > 0.
    fit_result : FitResult, optional
        Set by `fit`.
    unit : {"D", "W"} or None
        The time unit of ``alpha`` and of the summaries the model predicts on; `fit` records
        the summary's unit. A model with unit None predicts on any summary.

    Notes
    -----
    The likelihood of a customer with x repeat purchases, the last at t_x, observed to T
    (eq. 6 of [1]_) is

    .. math::

        L = \frac{B(a, b + x)}{B(a, b)} \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)}
            \left[(\alpha + T)^{-(r + x)}
            + \delta_{x > 0} \frac{a}{b + x - 1} (\alpha + t_x)^{-(r + x)}\right],

    where the first term is "alive at T" and the second "dropped out right after the last
    purchase". Every quantity is computed in logs (see the module functions), so none
    overflows for large frequencies or ages, where the closed forms do (the #NUM! errors of
    spreadsheet implementations [2]_).

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your Customers' the Easy
       Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.
    .. [2] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Implementing the BG/NBD Model for
       Customer Base Analysis in Excel", 2005 (the note on the #NUM! error for large x).

    Examples
    --------
    >>> import retention_kit as rk
    >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
    ...                        observation_end="1997-09-30")
    >>> model = rk.BGNBD.fit(summary)
    >>> [round(v, 3) for v in model.parameters().values()]
    [0.243, 4.414, 0.793, 2.426]
    >>> round(model.fit_result.log_likelihood, 1)
    -9582.4
    """

    parameter_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    r: float
    alpha: float
    a: float
    b: float

    @classmethod
    def fit(
        cls,
        summary: CustomerSummary,
        *,
        initial: Sequence[float] | None = None,
        penalizer: float = 0.0,
    ) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        summary : CustomerSummary
            Frequency, recency and T of each customer (or of each distinct row, weighted).
            The fit runs on the distinct rows, so a compressed summary gives the same result.
        initial : sequence of 4 floats, optional
            Starting (r, alpha, a, b); by default a data-driven start (alpha at the mean
            age, r / alpha at the mean purchase rate), and a second one if the first does not
            converge.
        penalizer : float, default 0
            Coefficient of an L2 penalty on the parameters added to the mean negative
            log-likelihood.

        Returns
        -------
        BGNBD
            With ``fit_result`` set and ``unit`` the summary's unit.

        Raises
        ------
        InvalidDataError
            When ``summary`` is not a CustomerSummary.
        FitError
            When no finite maximum of the likelihood is found.

        Warns
        -----
        ConvergenceWarning
            When the optimizer stops before converging or at the edge of the search box.

        Examples
        --------
        >>> import retention_kit as rk
        >>> truth = rk.BGNBD(r=0.25, alpha=4.0, a=0.8, b=2.5, unit="W")
        >>> fitted = rk.BGNBD.fit(truth.sample(20_000, 39.0, rng=1))
        >>> fitted.unit, fitted.fit_result.n_customers
        ('W', 20000)
        """
        summary = cls._check_summary(summary, "fit")
        data = cls._transaction_rows(summary)
        x, t_x, T, w = data.frequency, data.recency, data.T, data.weights()
        given = None if initial is None else cls._start(initial)
        likelihood = _WeightedLikelihood.build(x, t_x, T, w)
        options = cls._fit_options(w, summary.unit, penalizer)

        def run(starts: list[list[float]]) -> tuple[FloatArray, FitResult]:
            return maximize_likelihood(likelihood, starts, **options)

        if given is not None:
            theta, result = run(given)
        else:
            # The first data-driven start reaches the maximum on every data set we tried; the
            # second is tried (and the better optimum kept) only when the first falls short.
            starts = _starting_points(x, T, w)
            first: tuple[FloatArray, FitResult] | None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    first = run(starts[:1])
                except FitError:
                    first = None
            if first is None or not first[1].converged:
                theta, result = run(starts)
            else:
                theta, result = first
                for warning in caught:
                    warnings.warn(warning.message, warning.category, stacklevel=2)
        return cls._fitted(theta, result, summary.unit)

    def log_likelihood(self, summary: CustomerSummary) -> FloatArray:
        """Return each row's log-likelihood, for one customer of that row (eq. 6).

        Parameters
        ----------
        summary : CustomerSummary
            In the model's unit.

        Returns
        -------
        ndarray
            One value per row (not multiplied by the weight); the weighted sum is what `fit`
            maximizes.

        Raises
        ------
        InvalidDataError
            When the summary's unit is not the model's.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> model.log_likelihood(summary).round(4).tolist()
        [-9.4586, -0.5547]
        """
        self._check_unit(summary)
        return log_likelihood(self.params, summary.frequency, summary.recency, summary.T)

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        r"""Return E[X(t)], the expected repeat purchases in (0, t] of a customer just acquired.

        Parameters
        ----------
        t : float or array-like
            Lengths of time, >= 0, in the model's unit.

        Returns
        -------
        ndarray
            Shaped like ``t``.

        Notes
        -----
        Eq. 9 of Fader, Hardie & Lee (2005):

        .. math::

            E[X(t)] = \frac{a + b - 1}{a - 1}\left[1 - \left(\frac{\alpha}{\alpha + t}
            \right)^r {}_2F_1\left(r, b; a + b - 1; \frac{t}{\alpha + t}\right)\right],

        which is E_p[(1 - (1 + p t / alpha)^-r) / p] with p ~ Beta(a, b), finite for every
        a > 0 (at a = 1 the bracket vanishes with a - 1). It is evaluated in that form,
        without cancellation (see `expected_purchases` in this module).

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> model.expected_purchases([0.0, 39.0, 78.0]).round(4)
        array([0.    , 1.1967, 1.8605])
        """
        return expected_purchases(self.params, _times(t, "t"))

    def conditional_expected_purchases(self, t: ArrayLike, summary: CustomerSummary) -> FloatArray:
        r"""Return E[Y(t) | x, t_x, T], the expected repeat purchases in (T, T + t].

        Parameters
        ----------
        t : float or array-like
            Length(s) of the forecast period, >= 0; a scalar or one value per row.
        summary : CustomerSummary
            In the model's unit.

        Returns
        -------
        ndarray
            One value per row.

        Notes
        -----
        Eq. 10 of Fader, Hardie & Lee (2005):

        .. math::

            E[Y(t) \mid x, t_x, T] = \frac{\frac{a + b + x - 1}{a - 1}
            \left[1 - \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
            {}_2F_1\left(r + x, b + x; a + b + x - 1; \frac{t}{\alpha + T + t}\right)\right]}
            {1 + \delta_{x > 0} \frac{a}{b + x - 1}
            \left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}},

        that is P(alive at T) times eq. 9 under the posterior (r + x, alpha + T, a, b + x).

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> model.conditional_expected_purchases(39.0, summary).round(4).tolist()
        [1.226, 0.1951]
        """
        self._check_unit(summary)
        times = _per_row(t, len(summary))
        return conditional_expected_purchases(
            self.params, summary.frequency, summary.recency, summary.T, times
        )

    def probability_alive(self, summary: CustomerSummary, *, t: ArrayLike = 0.0) -> FloatArray:
        r"""Return the probability that each customer is alive at T + t.

        Parameters
        ----------
        summary : CustomerSummary
            In the model's unit.
        t : float or array-like, default 0
            Time after the end of observation, >= 0; a scalar or one value per row. With
            t = 0, the usual P(alive) at the end of observation.

        Returns
        -------
        ndarray
            One value per row, in (0, 1]; 1 at t = 0 for customers with no repeat purchase.

        Notes
        -----
        At T (Fader, Hardie & Lee, "Computing P(alive) Using the BG/NBD Model", 2008):

        .. math::

            P(\text{alive} \mid x, t_x, T) = \left[1 + \delta_{x > 0} \frac{a}{b + x - 1}
            \left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}\right]^{-1}.

        Later, t after T: given alive at T, the posterior rate is
        lambda ~ Gamma(r + x, alpha + T) and the posterior drop-out probability
        p ~ Beta(a, b + x), independent (the likelihood of "alive at T" is
        lambda^x e^(-lambda T) (1 - p)^x). A live customer makes N ~ Poisson(lambda t)
        purchases in (T, T + t] and survives each with probability 1 - p, so she is still
        alive at T + t with probability E[(1 - p)^N] = exp(-lambda p t). Averaging over
        lambda gives (1 + p t / (alpha + T))^-(r + x), and over p (Euler's integral, then
        Pfaff's transformation)

        .. math::

            P(\text{alive at } T + t \mid \text{alive at } T)
            = {}_2F_1\left(r + x, a; a + b + x; -\frac{t}{\alpha + T}\right)
            = \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
              {}_2F_1\left(r + x, b + x; a + b + x; \frac{t}{\alpha + T + t}\right),

        which multiplies P(alive at T). It is non-increasing in t, and a customer with no
        repeat purchase is no longer certainly alive once t > 0.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> model.probability_alive(summary).round(4).tolist()
        [0.7266, 1.0]
        >>> model.probability_alive(summary, t=52.0).round(4).tolist()
        [0.5316, 0.9439]
        """
        self._check_unit(summary)
        times = _per_row(t, len(summary))
        return probability_alive(self.params, summary.frequency, summary.recency, summary.T, times)

    def probability_of_purchases(self, n: ArrayLike, t: ArrayLike) -> FloatArray:
        r"""Return P(X(t) = n), the probability of n repeat purchases in (0, t].

        Parameters
        ----------
        n : int or array-like of int
            Numbers of purchases, >= 0.
        t : float or array-like
            Lengths of time, >= 0, in the model's unit; broadcast against ``n``.

        Returns
        -------
        ndarray
            The broadcast shape of ``n`` and ``t``; over n = 0, 1, ... the values sum to 1.

        Notes
        -----
        Eq. 8 of Fader, Hardie & Lee (2005):

        .. math::

            P(X(t) = n) = \frac{B(a, b + n)}{B(a, b)} \frac{\Gamma(r + n)}{\Gamma(r)\, n!}
            \left(\frac{\alpha}{\alpha + t}\right)^r \left(\frac{t}{\alpha + t}\right)^n
            + \delta_{n > 0} \frac{B(a + 1, b + n - 1)}{B(a, b)}\,
            I_{t / (\alpha + t)}(n, r),

        where the paper's 1 minus a finite sum is written as the regularized incomplete beta
        function I (the chance that the negative binomial count of a live customer's
        purchases reaches n), which has no cancellation.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> model.probability_of_purchases([0, 1, 2], 39.0).round(7)
        array([0.5737864, 0.1993953, 0.0854298])
        """
        counts, times = np.broadcast_arrays(_counts(n), _times(t, "t"))
        return probability_of_purchases(self.params, counts, times)

    def sample(
        self,
        n_customers: int,
        T: ArrayLike,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> CustomerSummary:
        """Draw customers from the model and return their summary.

        Parameters
        ----------
        n_customers : int
            How many customers, >= 1.
        T : float or array-like
            Each customer's age at the end of observation (> 0, in the model's unit): one
            value for all, or one per customer.
        rng : numpy.random.Generator or int, optional
            Random generator, or a seed for ``numpy.random.default_rng``.

        Returns
        -------
        CustomerSummary
            In the model's unit ("D" when the model has none). Recency is continuous, as if
            purchases were recorded to the instant.

        Raises
        ------
        InvalidDataError
            When ``n_customers`` is not a positive integer or ``T`` is not positive and
            finite, a scalar or one value per customer.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> summary = model.sample(1000, 39.0, rng=1)
        >>> summary.n_customers, summary.unit
        (1000, 'W')
        """
        count = self._customer_count(n_customers)  # checked before T
        return self._sample_summary(count, _times(T, "T"), rng, _sample)
