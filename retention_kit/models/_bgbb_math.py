"""The mathematics of the BG/BB model as vectorized functions (Fader, Hardie & Shang 2010).

With a, b, g, d for alpha, beta, gamma, delta and B the beta function:

    L(x, t_x, n) = B(a + x, b + n - x) / B(a, b) * B(g, d + n) / B(g, d)
        + sum_{i=0}^{n - t_x - 1} B(a + x, b + t_x - x + i) / B(a, b)
                                   * B(g + 1, d + t_x + i) / B(g, d)             (eq. 5)
    P(alive at t) = B(g, d + t) / B(g, d)            for a new customer
    P(alive at n + 1 | x, t_x, n) = B(a + x, b + n - x) / B(a, b)
                                     * B(g, d + n + 1) / B(g, d) / L            (eq. 11)
    E[X(n, n + n*) | x, t_x, n] = B(a + x + 1, b + n - x) / B(a, b) / L
                                  * sum_{t=n+1}^{n+n*} B(g, d + t) / B(g, d)    (eq. 13)

The sums over opportunities alive have the closed form sum_{t=m+1}^{m+k} B(g, d + t) / B(g, d)
= (q_m - q_{m+k}) / (g - 1) with q_m = (d + m) B(g, d + m) / B(g, d), which telescopes
because B(g, y) = B(g - 1, y) - B(g - 1, y + 1); it is evaluated through log-gamma ratios
divided by g - 1 analytically, so it stays accurate at and near g = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, exprel, gammaln, logsumexp

from .._typing import BoolArray, FloatArray, IntArray
from ._special import STIRLING_COEFFICIENTS, log_hyp2f1

__all__ = [
    "Layout",
    "build_layout",
    "conditional_expected_purchases",
    "discounted_expected_residual_transactions",
    "expected_purchases",
    "log_likelihood",
    "probability_alive",
    "probability_of_purchases",
    "sample_histories",
    "total_log_likelihood",
]

_LOG_HALF = -math.log(2.0)
_LINEAR_RANGE = 600.0
"""Grid rows whose terms fall below exp(-_LINEAR_RANGE) of their first are summed in logs."""


# --- the likelihood: segment sums over a grid of opportunities --------------------------------


def _log1mexp(value: FloatArray) -> FloatArray:
    """Return log(1 - exp(value)) for value <= 0, accurately at both ends."""
    with np.errstate(divide="ignore"):
        near = np.log(-np.expm1(np.minimum(value, 0.0)))
        far = np.log1p(-np.exp(np.minimum(value, _LOG_HALF)))
    out: FloatArray = np.where(value > _LOG_HALF, near, far)
    return out


def _reverse_cumsum(values: FloatArray) -> FloatArray:
    """Return out[r, j] = sum_{k >= j} values[r, k], with a last column of zeros."""
    rows, columns = values.shape
    out = np.zeros((rows, columns + 1))
    out[:, :columns] = np.cumsum(values[:, ::-1], axis=1)[:, ::-1]
    return out


def _reverse_logcumsum(log_values: FloatArray) -> FloatArray:
    """Return out[r, j] = log sum_{k >= j} exp(log_values[r, k]), with a last column of -inf."""
    rows, columns = log_values.shape
    out = np.full((rows, columns + 1), -np.inf)
    out[:, :columns] = np.logaddexp.accumulate(log_values[:, ::-1], axis=1)[:, ::-1]
    return out


def _segment_sums(
    log_terms: FloatArray,
    valid: BoolArray,
    slopes: tuple[FloatArray, ...],
    row: IntArray,
    start: IntArray,
    stop: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Sum grid terms over segments: log S_i and sum(term * slope_k) / S_i per segment i.

    S_i = sum_{start_i <= j < stop_i} exp(log_terms[row_i, j]) over non-empty segments of
    finite terms. Each grid row is read off reverse cumulative sums, so a segment costs two
    look-ups; a segment is the difference of two such sums, exact up to rounding relative to
    the larger, which loses at most log10(columns) digits when the terms decrease along j.
    Grid rows whose terms span less than `_LINEAR_RANGE` (all but extreme ones) are summed in
    linear space after shifting them to at most 1; the others with ``logaddexp.accumulate``,
    slower but free of underflow. ``slopes`` must be positive on the valid cells.
    """
    depth = np.where(valid, log_terms, 0.0).min(axis=1)
    log_segment = np.empty(row.size)
    ratios = np.empty((row.size, len(slopes)))
    for linear in (True, False):
        levels = np.flatnonzero((depth > -_LINEAR_RANGE) == linear)
        rows = np.flatnonzero(np.isin(row, levels))
        if rows.size == 0:
            continue
        local = np.searchsorted(levels, row[rows])
        head, tail = start[rows], stop[rows]
        grid = log_terms[levels]
        if linear:
            terms = np.exp(grid)
            sums = _reverse_cumsum(terms)
            total = sums[local, head] - sums[local, tail]
            log_segment[rows] = np.log(total)
            for k, slope in enumerate(slopes):
                weighted = _reverse_cumsum(terms * np.broadcast_to(slope, log_terms.shape)[levels])
                ratios[rows, k] = (weighted[local, head] - weighted[local, tail]) / total
        else:
            sums = _reverse_logcumsum(grid)
            first = sums[local, head]
            log_total = first + _log1mexp(sums[local, tail] - first)
            log_segment[rows] = log_total
            for k, slope in enumerate(slopes):
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_slope = np.log(np.broadcast_to(slope, log_terms.shape)[levels])
                weighted = _reverse_logcumsum(np.where(valid[levels], grid + log_slope, -np.inf))
                first_k = weighted[local, head]
                log_part = first_k + _log1mexp(weighted[local, tail] - first_k)
                ratios[rows, k] = np.exp(log_part - log_total)
    return log_segment, ratios


@dataclass(frozen=True, slots=True)
class Layout:
    """Index arrays of the likelihood's finite sums, built once per data set.

    Every row with t_x < n sums terms T(x, j) = B(a + x, b + j - x) B(g + 1, d + j) over
    j = t_x, ..., n - 1 (j = t_x + i in eq. 5). The terms depend on x and j only, so they are
    computed once on a grid of the distinct x values times j = 0..size - 1 and each row reads
    its segment off reverse cumulative sums of its grid row.
    """

    x: FloatArray
    t_x: FloatArray
    n: FloatArray
    summed: BoolArray
    levels: IntArray
    row: IntArray
    start: IntArray
    stop: IntArray
    offset: IntArray
    valid: BoolArray


def build_layout(x: FloatArray, t_x: FloatArray, n: FloatArray) -> Layout:
    """Return the `Layout` of summary columns x, t_x and n (float arrays of whole numbers)."""
    summed = t_x < n
    xs = x[summed].astype(np.int64)
    levels, row = np.unique(xs, return_inverse=True)
    size = int(n[summed].max()) if summed.any() else 0
    offset = np.arange(size)[np.newaxis, :] - levels[:, np.newaxis]
    return Layout(
        x=x,
        t_x=t_x,
        n=n,
        summed=summed,
        levels=levels,
        row=row.reshape(-1),
        start=t_x[summed].astype(np.int64),
        stop=n[summed].astype(np.int64),
        offset=np.maximum(offset, 0),
        valid=offset >= 0,
    )


def _log_likelihood_rows(
    params: FloatArray, layout: Layout, *, gradient: bool
) -> tuple[FloatArray, FloatArray | None]:
    """Per-row log L (eq. 5) and, when asked, its partial derivatives (shape rows x 4).

    The derivatives of log B(a + x, b + j - x) + log B(g + 1, d + j) in (a, b, g, d),

        psi(a + x) - psi(a + b + j),      psi(b + j - x) - psi(a + b + j),
        psi(g + 1) - psi(g + d + 1 + j),  psi(d + j) - psi(g + d + 1 + j),

    are all negative, so the sums of term times minus derivative have positive terms too.
    """
    alpha, beta, gamma, delta = (float(v) for v in params)
    x, n = layout.x, layout.n
    base = betaln(alpha, beta) + betaln(gamma, delta)
    log_first = betaln(alpha + x, beta + n - x) + betaln(gamma, delta + n) - base
    log_l = log_first.copy()
    grad = None
    if gradient:
        psi_ab, psi_gd = digamma(alpha + beta), digamma(gamma + delta)
        d_base = np.array(
            [
                digamma(alpha) - psi_ab,
                digamma(beta) - psi_ab,
                digamma(gamma) - psi_gd,
                digamma(delta) - psi_gd,
            ]
        )
        psi_abn = digamma(alpha + beta + n)
        psi_gdn = digamma(gamma + delta + n)
        grad = np.stack(
            [
                digamma(alpha + x) - psi_abn - d_base[0],
                digamma(beta + n - x) - psi_abn - d_base[1],
                psi_gd - psi_gdn,
                digamma(delta + n) - psi_gdn - d_base[3],
            ],
            axis=1,
        )
    if not layout.summed.any():
        return log_l, grad

    levels = layout.levels.astype(np.float64)
    size = layout.offset.shape[1]
    j = np.arange(size, dtype=np.float64)
    log_terms = (
        gammaln(alpha + levels)[:, np.newaxis]
        + gammaln(beta + j)[layout.offset]
        - gammaln(alpha + beta + j)
        + betaln(gamma + 1.0, delta + j)
    )
    # Shift each grid row by its first term (j = x, the largest) to keep the sums near 0.
    shift = log_terms[np.arange(levels.size), layout.levels]
    log_terms = np.where(layout.valid, log_terms - shift[:, np.newaxis], -np.inf)
    row, start, stop = layout.row, layout.start, layout.stop
    slopes: tuple[FloatArray, ...] = ()
    if grad is not None:
        psi_abj = digamma(alpha + beta + j)
        psi_gdj = digamma(gamma + delta + 1.0 + j)
        slopes = (
            psi_abj - digamma(alpha + levels)[:, np.newaxis],
            psi_abj - digamma(beta + j)[layout.offset],
            psi_gdj - digamma(gamma + 1.0),
            psi_gdj - digamma(delta + j),
        )
    log_segment, ratios = _segment_sums(log_terms, layout.valid, slopes, row, start, stop)
    log_sum = log_segment + shift[row] - base
    summed = layout.summed
    log_l[summed] = np.logaddexp(log_first[summed], log_sum)
    if grad is None:
        return log_l, None
    d_sum = -ratios - d_base
    share = np.exp(log_first[summed] - log_l[summed])[:, np.newaxis]
    grad[summed] = share * grad[summed] + (1.0 - share) * d_sum
    return log_l, grad


def log_likelihood(
    params: FloatArray, frequency: FloatArray, recency: FloatArray, n_periods: FloatArray
) -> FloatArray:
    """Return log L(alpha, beta, gamma, delta | x, t_x, n) of each row (eq. 5)."""
    layout = build_layout(frequency, recency, n_periods)
    return _log_likelihood_rows(np.asarray(params, dtype=np.float64), layout, gradient=False)[0]


def total_log_likelihood(
    params: FloatArray, layout: Layout, weight: FloatArray
) -> tuple[float, FloatArray]:
    """Return the weighted total log-likelihood and its gradient in (alpha, beta, gamma, delta)."""
    log_l, grad = _log_likelihood_rows(params, layout, gradient=True)
    assert grad is not None
    return float(weight @ log_l), weight @ grad


# --- sums over the opportunities alive --------------------------------------------------------

_STIRLING_FROM = 10.0
"""`_log_gamma_ratio_slope` raises its arguments to at least this before Stirling's series."""


def _log1p_ratio(x: FloatArray) -> FloatArray:
    """Return log1p(x) / x, and its limit 1 at x = 0 (x > -1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(x == 0.0, 1.0, np.log1p(x) / np.where(x == 0.0, 1.0, x))
    return out


def _log1p_ratio_excess(x: FloatArray) -> FloatArray:
    """Return log1p(x) / x - 1 with full relative accuracy, also for small |x| (x > -1)."""
    small = np.abs(x) < 0.1
    xs = np.where(small, x, 0.0)
    series = np.zeros_like(xs)
    for j in range(17, 0, -1):  # sum_{j>=1} (-x)^j / (j + 1), Horner from the smallest term
        series = (series + 1.0 / (j + 1.0)) * -xs
    out: FloatArray = np.where(small, series, _log1p_ratio(x) - 1.0)
    return out


def _log_gamma_ratio_slope(
    s: float, low: FloatArray | float, high: FloatArray | float
) -> FloatArray:
    """Return [u(low) - u(high)] / s with u(y) = log G(y + s) - log G(y), and its limit at s = 0.

    For 0 < low <= high and s > -low. The two log-gamma ratios nearly cancel when high - low
    is small next to low, which is where differences of `gammaln` or `betaln` lose digits, and
    the difference vanishes with s; so every piece is divided by s analytically. The arguments
    are raised to at least 10 with u(y) = u(y + 1) - log1p(s / y); there Stirling's series
    log G(z) = (z - 1/2) log z - z + log(2 pi) / 2 + sum_j c_j z^(1 - 2j) gives

        u(y) / s = log y + (y + s - 1/2) log1p(s / y) / s - 1 + sum_j c_j [(y + s)^(1 - 2j)
                   - y^(1 - 2j)] / s,

    in which the dominant term (log low - log high) = -log1p((high - low) / low) is exact and
    [(y + s)^-p - y^-p] / s = -p y^(-p-1) exprel(-p log1p(s / y)) log1p(s / y) / (s / y).
    At s = 0 the result is psi(low) - psi(high).
    """
    low, high = np.broadcast_arrays(np.asarray(low, np.float64), np.asarray(high, np.float64))
    low, high = low.copy(), high.copy()
    slope = np.zeros(low.shape)
    for _ in range(int(_STIRLING_FROM)):
        small_low, small_high = low < _STIRLING_FROM, high < _STIRLING_FROM
        if not (small_low.any() or small_high.any()):
            break
        slope -= np.where(small_low, _log1p_ratio(s / low) / low, 0.0)
        slope += np.where(small_high, _log1p_ratio(s / high) / high, 0.0)
        low = np.where(small_low, low + 1.0, low)
        high = np.where(small_high, high + 1.0, high)

    def rest(y: FloatArray) -> FloatArray:
        x = s / y
        ratio = _log1p_ratio(x)
        log1p_x = np.log1p(x)
        out = _log1p_ratio_excess(x) + (s - 0.5) / y * ratio
        for j, coefficient in enumerate(STIRLING_COEFFICIENTS, start=1):
            power = 2.0 * j - 1.0
            out = (
                out - coefficient * power * y ** (-power - 1.0) * exprel(-power * log1p_x) * ratio
            )
        result: FloatArray = out
        return result

    result: FloatArray = -np.log1p((high - low) / low) + slope + rest(low) - rest(high)
    return result


def _log_alive_sum(
    gamma: float, delta: float, m: FloatArray | float, k: FloatArray | float
) -> FloatArray:
    """Return log sum_{t=m+1}^{m+k} B(g, d + t) / B(g, d), -inf when k = 0.

    The sum is the expected number of opportunities m + 1..m + k at which a new customer is
    alive. It equals q_m (1 - exp(D)) / (g - 1) with q_m = (d + m) B(g, d + m) / B(g, d) and
    D = log(q_{m+k} / q_m) = u(d + m + 1) - u(d + m + k + 1), u(y) = log G(y + g - 1)
    - log G(y). D / (g - 1) comes from `_log_gamma_ratio_slope`, accurate at and near g = 1,
    where the closed form is 0 / 0.
    """
    eps = gamma - 1.0
    low = delta + m + 1.0
    ratio = _log_gamma_ratio_slope(eps, low, low + k)
    with np.errstate(divide="ignore"):
        out: FloatArray = (
            gamma * _log_gamma_ratio_slope(gamma, delta, delta + m)  # log B(g, d+m) / B(g, d)
            + np.log(delta + m)
            + np.log(-ratio * exprel(eps * ratio))
        )
    return out


# --- predictions ------------------------------------------------------------------------------


def expected_purchases(params: FloatArray, n: FloatArray) -> FloatArray:
    """Return E[X(n)] = a / (a + b) * sum_{t=1}^{n} B(g, d + t) / B(g, d)."""
    alpha, beta, gamma, delta = params
    with np.errstate(divide="ignore"):
        out: FloatArray = alpha / (alpha + beta) * np.exp(_log_alive_sum(gamma, delta, 0.0, n))
    return out


def conditional_expected_purchases(
    params: FloatArray, n_future: FloatArray, x: FloatArray, t_x: FloatArray, n: FloatArray
) -> FloatArray:
    """Return E[X(n, n + n*) | x, t_x, n] (eq. 13)."""
    alpha, beta, gamma, delta = params
    log_l = log_likelihood(params, x, t_x, n)
    out: FloatArray = np.exp(
        betaln(alpha + x + 1.0, beta + n - x)
        - betaln(alpha, beta)
        - log_l
        + _log_alive_sum(gamma, delta, n, n_future)
    )
    return out


def probability_alive(
    params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, n: FloatArray
) -> FloatArray:
    """Return P(alive at opportunity n + 1 + t | x, t_x, n) (eq. 11 at t = 0)."""
    alpha, beta, gamma, delta = params
    out: FloatArray = np.exp(
        betaln(alpha + x, beta + n - x)
        - betaln(alpha, beta)
        + betaln(gamma, delta + n + 1.0 + t)
        - betaln(gamma, delta)
        - log_likelihood(params, x, t_x, n)
    )
    return np.minimum(out, 1.0)


def probability_of_purchases(params: FloatArray, x: FloatArray, n: FloatArray) -> FloatArray:
    """Return P(X(n) = x) for a new customer (eq. 7), 0 where x > n.

    P(X(n) = x) = C(n, x) B(a + x, b + n - x) / B(a, b) * B(g, d + n) / B(g, d)
        + sum_{i=x}^{n-1} C(i, x) B(a + x, b + i - x) / B(a, b) * B(g + 1, d + i) / B(g, d)
    """
    alpha, beta, gamma, delta = params
    x, n = np.broadcast_arrays(x, n)
    shape = x.shape
    x, n = x.reshape(-1), n.reshape(-1)
    possible = x <= n
    xs, ns = np.where(possible, x, 0.0), np.where(possible, n, 0.0)
    base = betaln(alpha, beta) + betaln(gamma, delta)

    def log_choose(total: FloatArray, chosen: FloatArray) -> FloatArray:
        out: FloatArray = (
            gammaln(total + 1.0) - gammaln(chosen + 1.0) - gammaln(total - chosen + 1.0)
        )
        return out

    log_alive = (
        log_choose(ns, xs) + betaln(alpha + xs, beta + ns - xs) + betaln(gamma, delta + ns) - base
    )
    size = int(ns.max()) if ns.size else 0
    i = np.arange(size, dtype=np.float64)[np.newaxis, :]
    inside = (i >= xs[:, np.newaxis]) & (i < ns[:, np.newaxis])
    ic = np.where(inside, i, xs[:, np.newaxis])
    with np.errstate(invalid="ignore"):
        log_dead = np.where(
            inside,
            log_choose(ic, xs[:, np.newaxis])
            + betaln(alpha + xs[:, np.newaxis], beta + ic - xs[:, np.newaxis])
            + betaln(gamma + 1.0, delta + ic)
            - base,
            -np.inf,
        )
        total = logsumexp(np.concatenate([log_alive[:, np.newaxis], log_dead], axis=1), axis=1)
    out: FloatArray = np.where(possible, np.exp(total), 0.0).reshape(shape)
    return out


def discounted_expected_residual_transactions(
    params: FloatArray,
    discount_rate: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    n: FloatArray,
) -> FloatArray:
    """Return DERT(d | x, t_x, n) (eq. 14), inf at d = 0 when gamma <= 1.

    DERT = B(a + x + 1, b + n - x) / B(a, b) * B(g, d + n + 1) / B(g, d) / (1 + r)
           * 2F1(1, d + n + 1; g + d + n + 1; 1 / (1 + r)) / L
    with r the discount rate per opportunity: sum_{t > n} E[transaction at t] / (1 + r)^(t - n).
    At r = 0, 2F1(1, b; c; 1) = (c - 1) / (c - b - 1).
    """
    alpha, beta, gamma, delta = params
    rate = np.asarray(discount_rate, dtype=np.float64)
    positive = rate > 0
    safe = np.where(positive, rate, 1.0)
    b = delta + n + 1.0
    c = gamma + b
    with np.errstate(divide="ignore"):
        at_zero = (
            np.log(c - 1.0) - np.log(gamma - 1.0) if gamma > 1.0 else np.full(np.shape(c), np.inf)
        )
        series = np.where(
            positive,
            log_hyp2f1(1.0, b, c, 1.0 / (1.0 + safe)) - np.log1p(safe),
            at_zero,
        )
    out: FloatArray = np.exp(
        betaln(alpha + x + 1.0, beta + n - x)
        - betaln(alpha, beta)
        + betaln(gamma, b)
        - betaln(gamma, delta)
        - log_likelihood(params, x, t_x, n)
        + series
    )
    return out


def sample_histories(
    params: FloatArray, n_periods: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw (x, t_x) for customers observed over ``n_periods`` opportunities each.

    Per customer: p ~ Beta(a, b), theta ~ Beta(g, d); the number of opportunities she lives
    through is A with P(A >= k) = (1 - theta)^k; of the first min(A, n) opportunities each has
    a transaction with probability p. Scanning back from the last one, the count G of
    opportunities without a transaction before one with is geometric, so t_x = min(A, n) - G
    (no transaction when G >= min(A, n)) and the t_x - 1 opportunities before t_x hold a
    Binomial(t_x - 1, p) number of transactions. Inversion (floor(log U / log(1 - q))) keeps
    tiny probabilities from overflowing integers.
    """
    alpha, beta, gamma, delta = params
    size = n_periods.size
    tiny = np.finfo(np.float64).tiny
    p = np.clip(rng.beta(alpha, beta, size), tiny, 1.0)
    theta = np.clip(rng.beta(gamma, delta, size), tiny, 1.0)
    with np.errstate(divide="ignore", over="ignore"):  # tiny theta or p: inf is right
        lived = np.floor(np.log1p(-rng.random(size)) / np.log1p(-theta))
        gap = np.floor(np.log1p(-rng.random(size)) / np.log1p(-p))
    active = np.minimum(lived, n_periods)
    bought = gap < active
    t_x = np.where(bought, active - gap, 0.0)
    earlier = np.maximum(t_x - 1.0, 0.0).astype(np.int64)
    x = np.where(bought, 1.0 + rng.binomial(earlier, p), 0.0)
    return x, t_x
