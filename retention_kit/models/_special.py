"""Numerically guarded special functions for the buy-till-you-die models.

The models need the Gauss hypergeometric function 2F1(a, b; c; z) with positive parameters
that can reach the tens of thousands (a customer's frequency enters them) and arguments that
approach 1 (long horizons) or run off to minus infinity. ``scipy.special.hyp2f1`` overflows,
returns NaN or loses all digits over much of that range, so this module evaluates the logarithm
of 2F1 itself, in two ways:

* a series with positive terms, summed with a running scale so that it cannot overflow, after
  the Euler or Pfaff transformation that makes every term positive and the series shortest;
* where that series would need too many terms (argument near 1), Euler's integral
  representation, integrated with the trapezoidal rule after the substitution
  t = logistic(y0 + s sinh(v)) centred on the integrand's mode y0. The integrand is positive,
  so the quadrature has no cancellation, and the rule converges geometrically in the number of
  nodes (Takahasi and Mori's double-exponential idea).

References
----------
.. [1] Abramowitz, M. and Stegun, I. A. (1964). *Handbook of Mathematical Functions*,
   15.1.1 (the series), 15.3.1 (Euler's integral), 15.3.3-15.3.5 (Euler and Pfaff).
.. [2] Takahasi, H. and Mori, M. (1974). Double exponential formulas for numerical
   integration. *Publ. RIMS* 9(3), 721-741.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, log_expit

from .._typing import BoolArray, FloatArray

__all__ = [
    "STIRLING_COEFFICIENTS",
    "hyp2f1",
    "log_beta",
    "log_gamma_ratio",
    "log_hyp2f1",
    "sinh_quadrature",
    "softplus",
]

_SERIES_BUDGET = 600
"""Most terms the series may take; costlier points go to the quadrature."""

_TAIL_TOLERANCE = 2.0**-56
_RESCALE = 2.0**600
_FIRST_NODES = 129
_CHUNK = 2048
_MAX_SCALE = 1.0


STIRLING_COEFFICIENTS = (
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360360.0,
    1.0 / 156.0,
    -3617.0 / 122400.0,
)
"""B_2k / (2k (2k - 1)): the coefficients of Stirling's series for log Gamma."""

_STIRLING_FROM = 8.0


def _stirling_remainder(z: FloatArray) -> FloatArray:
    """Return log Gamma(z) - [(z - 1/2) log z - z + log(2 pi) / 2] for z >= 8 (error < 1e-17)."""
    inverse = 1.0 / z
    square = inverse * inverse
    total = np.zeros_like(z)
    for coefficient in reversed(STIRLING_COEFFICIENTS):
        total = total * square + coefficient
    result: FloatArray = total * inverse
    return result


def log_gamma_ratio(x: ArrayLike, s: ArrayLike) -> FloatArray:
    """Return log Gamma(x + s) - log Gamma(x) for x > 0 and s >= 0, without cancellation.

    Subtracting ``gammaln`` values loses about |log Gamma(x)| units in the last place, 1e-11
    absolute for x near 1e5. For x >= 8 the difference is taken from Stirling's series,
    s log x + (x + s - 1/2) log1p(s / x) - s + R(x + s) - R(x), whose terms are no larger than
    the result.

    Examples
    --------
    >>> from retention_kit.models._special import log_gamma_ratio
    >>> float(log_gamma_ratio(1e5, 0.5))  # close to log(sqrt(1e5))
    5.756461...
    """
    x_, s_ = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(s, dtype=np.float64))
    with np.errstate(all="ignore"):
        large = x_ >= _STIRLING_FROM
        xl = np.where(large, x_, _STIRLING_FROM)
        stirling = (
            s_ * np.log(xl)
            + (xl + s_ - 0.5) * np.log1p(s_ / xl)
            - s_
            + _stirling_remainder(xl + s_)
            - _stirling_remainder(xl)
        )
        result: FloatArray = np.where(large, stirling, gammaln(x_ + s_) - gammaln(x_))
    return result


def log_beta(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Return log B(a, b) for a, b > 0, accurate to a few units in the last place.

    ``scipy.special.betaln`` subtracts log-gamma values when a + b is large, losing up to
    about 3e-10 (absolute) for arguments near 1e5; here the large argument enters only through
    `log_gamma_ratio`.

    Examples
    --------
    >>> from retention_kit.models._special import log_beta
    >>> float(log_beta(0.5, 0.5))  # log(pi)
    1.1447298858494...
    """
    a_, b_ = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    small, large = np.minimum(a_, b_), np.maximum(a_, b_)
    result: FloatArray = gammaln(small) - log_gamma_ratio(large, small)
    return result


def softplus(y: ArrayLike) -> FloatArray:
    """Return log(1 + e^y) without overflow, or loss for large negative y.

    Computed as max(y, 0) + log1p(e^-|y|): five times faster than ``np.logaddexp(0, y)`` on
    large arrays and within an ulp of it.

    Examples
    --------
    >>> from retention_kit.models._special import softplus
    >>> softplus([-800.0, 0.0, 800.0]).tolist()
    [0.0, 0.6931471805599453, 800.0]
    """
    y_ = np.asarray(y, dtype=np.float64)
    out: FloatArray = np.maximum(y_, 0.0)
    out += np.log1p(np.exp(-np.abs(y_)))
    return out


def _log_sum_exp(values: FloatArray) -> FloatArray:
    """Row-wise log(sum(exp(values))) of a 2-D array, for rows that may be all -inf."""
    peak = values.max(axis=1)
    finite = np.where(np.isfinite(peak), peak, 0.0)
    result: FloatArray = finite + np.log(np.exp(values - finite[:, None]).sum(axis=1))
    return result


def sinh_quadrature(
    log_integrand: Callable[[FloatArray, tuple[FloatArray, ...]], FloatArray],
    center: FloatArray,
    scale: FloatArray,
    low: FloatArray,
    high: FloatArray,
    args: tuple[FloatArray, ...],
    *,
    tolerance: float = 1e-13,
    max_nodes: int = 8193,
) -> FloatArray:
    """Return log of the integral over y in [low, high] of exp(log_integrand(y)), per point.

    The substitution y = center + scale * sinh(v) maps a uniform grid in v, between the images
    of ``low`` and ``high``, to nodes that are dense near ``center`` and spread exponentially
    toward the ends; the trapezoidal rule on that grid converges geometrically for an integrand
    that is analytic near the real axis and negligible at ``low`` and ``high``. The grid is
    halved (reusing every node) until two successive sums agree to ``tolerance``, which, the
    convergence being geometric, leaves the last sum far more accurate than that. Sums are
    taken in log space, so the integral may be far outside the floating-point range.

    Parameters
    ----------
    log_integrand : callable
        ``log_integrand(y, args)`` where ``y`` has shape (m, k) and each array of ``args``
        has shape (m, 1); returns the log of the integrand at ``y``.
    center, scale, low, high : ndarray
        One value per point: where the integrand peaks, its width there (> 0), and the
        integration limits in y (``low <= center <= high``).
    args : tuple of ndarray
        Per-point parameters handed to ``log_integrand``.
    tolerance : float, default 1e-13
        Relative agreement of successive sums that ends the halving.
    max_nodes : int, default 8193
        Most nodes per point (the sum is returned as it stands there).

    Returns
    -------
    ndarray
        The log of each integral.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> log_value = sinh_quadrature(lambda y, args: -0.5 * y**2, 0 * one, one, -40 * one,
    ...                             40 * one, ())
    >>> bool(np.isclose(np.exp(log_value[0]), np.sqrt(2 * np.pi), rtol=1e-14))
    True
    """
    out = np.empty(center.size)
    for start in range(0, center.size, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, center.size))
        y0, s = center[rows, None], scale[rows, None]
        v_low = np.arcsinh((low[rows, None] - y0) / s)
        v_high = np.arcsinh((high[rows, None] - y0) / s)
        chunk_args = tuple(arg[rows, None] for arg in args)
        step = (v_high - v_low) / (_FIRST_NODES - 1)
        grid = np.arange(_FIRST_NODES, dtype=np.float64)[None, :]
        v = v_low + step * grid
        log_f = log_integrand(y0 + s * np.sinh(v), chunk_args) + np.log(s * np.cosh(v))
        log_f[:, [0, -1]] -= np.log(2.0)
        total = _log_sum_exp(log_f) + np.log(step[:, 0])
        live = np.arange(rows.size)
        nodes = _FIRST_NODES
        while live.size and nodes < max_nodes:
            midpoints = np.arange(nodes - 1, dtype=np.float64)[None, :] + 0.5
            v = v_low[live] + step[live] * midpoints
            y = y0[live] + s[live] * np.sinh(v)
            log_mid = log_integrand(y, tuple(arg[live] for arg in chunk_args))
            log_mid = _log_sum_exp(log_mid + np.log(s[live] * np.cosh(v))) + np.log(step[live, 0])
            refined = np.logaddexp(total[live], log_mid) - np.log(2.0)
            change = np.abs(np.expm1(total[live] - refined))
            total[live] = refined
            step[live] /= 2.0
            nodes = 2 * nodes - 1
            live = live[~(change <= tolerance)]
        out[rows] = total
    return out


def _positive_series(
    a: FloatArray, b: FloatArray, c: FloatArray, w: FloatArray, max_terms: int
) -> tuple[FloatArray, BoolArray]:
    """Log of sum_k (a)_k (b)_k / ((c)_k k!) w^k for a, b >= 0, c > 0, 0 <= w < 1.

    Every term is non-negative, so the sum carries only rounding error (about one unit in the
    last place per term). The terms and the sum are kept relative to a per-point power-of-two
    scale, so neither can overflow. The series stops once the remaining tail is provably below
    2**-56 of the sum: for j >= k every term ratio is at most
    w * max(1, (a + k) / (c + k)) * max(1, (b + k) / (k + 1)), so a geometric series bounds the
    tail. Points whose tail is not yet negligible after ``max_terms`` terms are flagged.
    """
    n = a.size
    log_sum = np.zeros(n)
    converged = np.zeros(n, dtype=bool)
    active = np.flatnonzero(w > 0)
    converged[w <= 0] = True
    aa, bb, cc, ww = a[active], b[active], c[active], w[active]
    term = np.ones(active.size)
    total = np.ones(active.size)
    scale = np.zeros(active.size)
    for k in range(max_terms):
        if active.size == 0:
            break
        term *= (aa + k) * (bb + k) / ((cc + k) * (k + 1.0)) * ww
        total += term
        big = total > _RESCALE
        if big.any():
            term[big] /= _RESCALE
            total[big] /= _RESCALE
            scale[big] += np.log(_RESCALE)
        j = k + 1.0
        bound = ww * np.maximum(1.0, (aa + j) / (cc + j)) * np.maximum(1.0, (bb + j) / (j + 1.0))
        done = (bound < 1.0) & (term * bound <= _TAIL_TOLERANCE * total * (1.0 - bound))
        if done.any():
            finished = active[done]
            log_sum[finished] = np.log(total[done]) + scale[done]
            converged[finished] = True
            keep = ~done
            active, aa, bb, cc, ww = active[keep], aa[keep], bb[keep], cc[keep], ww[keep]
            term, total, scale = term[keep], total[keep], scale[keep]
    return log_sum, converged


def _series_cost(a: FloatArray, b: FloatArray, c: FloatArray, w: FloatArray) -> FloatArray:
    """Rough number of terms `_positive_series` needs: the largest term's index plus a tail."""
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = 1.0 - w
        linear = w * (a + b) - c - 1.0
        constant = w * a * b - c
        root = (linear + np.sqrt(np.maximum(linear**2 + 4.0 * gap * constant, 0.0))) / (2 * gap)
        peak = np.where(np.isfinite(root), np.maximum(root, 0.0), np.inf)
        decay = -np.log(np.maximum(w, 1e-300))
        cost = peak + 8.0 * np.sqrt((peak + 1.0) / gap) + 40.0 / decay
    return np.where(w <= 0, 0.0, cost)


def _log_euler_integrand(y: FloatArray, args: tuple[FloatArray, ...]) -> FloatArray:
    a, b, c, log1mz = args
    return b * y + (a - c) * softplus(y) - a * softplus(y + log1mz)


def _log_euler_integral(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray, one_minus_z: FloatArray
) -> FloatArray:
    """Return log 2F1(a, b; c; z) from Euler's integral, for c > b > 0, a > 0 and z < 1.

    With t = logistic(y) the integral (A&S 15.3.1)
    2F1 = [B(b, c - b)]^-1 * integral_0^1 t^(b-1) (1-t)^(c-b-1) (1-zt)^(-a) dt
    becomes the integral over the real line of exp(phi(y)) with
    phi(y) = b y + (a - c) softplus(y) - a softplus(y + log(1 - z)).
    phi has one critical point, at the root t* in (0, 1) of z(c-a) t^2 - (c + z(b-a)) t + b;
    t* and 1 - t* are both computed from their own quadratics without cancellation.
    """
    log1mz = np.log(one_minus_z)
    quad_a = z * (c - a)
    linear_t = c + z * (b - a)
    t_star = 2.0 * b / (linear_t + np.sqrt(np.maximum(linear_t**2 - 4.0 * quad_a * b, 0.0)))
    linear_s = c + z * (a + b - 2.0 * c)
    constant_s = (c - b) * one_minus_z
    s_star = (
        2.0
        * constant_s
        / (linear_s + np.sqrt(np.maximum(linear_s**2 + 4.0 * quad_a * constant_s, 0.0)))
    )
    center = np.log(t_star) - np.log(s_star)
    # phi''(y) = (a - c) t (1 - t) - a t' (1 - t') with t' = logistic(y + log(1 - z)).
    t_shift = np.exp(log_expit(center + log1mz))
    s_shift = np.exp(log_expit(-(center + log1mz)))
    curvature = (c - a) * t_star * s_star + a * t_shift * s_shift
    scale = np.minimum(1.0 / np.sqrt(np.maximum(curvature, 1e-300)), _MAX_SCALE)
    reach_low = np.minimum(np.minimum(center, 0.0), -log1mz)
    reach_high = np.maximum(np.maximum(center, 0.0), -log1mz)
    low = reach_low - 60.0 / b - 40.0 * scale
    high = reach_high + 60.0 / (c - b) + 40.0 * scale
    log_integral = sinh_quadrature(
        _log_euler_integrand, center, scale, low, high, (a, b, c, log1mz)
    )
    result: FloatArray = log_integral - log_beta(b, c - b)
    return result


_MAX_SHIFT = 8
"""Most steps the contiguous relation may raise c by (see `_log_shifted_sum`)."""


def _log_shifted_sum(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray, one_minus_z: FloatArray
) -> FloatArray:
    """Return log 2F1 for 0 < z < 1 and c <= min(a, b), raising c until Euler's integral applies.

    Repeating 2F1(a, b; c; z) = 2F1(a, b; c+1; z) + ab z / (c (c+1)) 2F1(a+1, b+1; c+2; z)
    (A&S 15.2.16 with 15.2.1) K times gives
    sum_j binom(K, j) (a)_j (b)_j z^j / ((c)_j (c+K)_j) 2F1(a+j, b+j; c+K+j; z), j = 0..K,
    a sum of positive terms in which c + K > min(a, b) for K = floor(min(a, b) - c) + 1.
    """
    steps = np.floor(np.minimum(a, b) - c).astype(np.int64) + 1
    out = np.empty(a.size)
    for k_steps in np.unique(steps):
        rows = np.flatnonzero(steps == k_steps)
        ra, rb = np.maximum(a, b)[rows, None], np.minimum(a, b)[rows, None]
        rc, rz = c[rows, None], z[rows, None]
        j = np.arange(int(k_steps) + 1, dtype=np.float64)[None, :]
        log_weight = (
            gammaln(k_steps + 1.0)
            - gammaln(j + 1.0)
            - gammaln(k_steps - j + 1.0)
            + log_gamma_ratio(ra, j)
            + log_gamma_ratio(rb, j)
            - log_gamma_ratio(rc, j)
            - log_gamma_ratio(rc + k_steps, j)
            + j * np.log(rz)
        )
        shape = log_weight.shape
        parts = _log_euler_integral(
            np.broadcast_to(ra + j, shape).ravel(),
            np.broadcast_to(rb + j, shape).ravel(),
            np.broadcast_to(rc + k_steps + j, shape).ravel(),
            np.broadcast_to(rz, shape).ravel(),
            np.broadcast_to(one_minus_z[rows, None], shape).ravel(),
        ).reshape(shape)
        terms = log_weight + parts
        peak = terms.max(axis=1, keepdims=True)
        out[rows] = (peak + np.log(np.exp(terms - peak).sum(axis=1, keepdims=True)))[:, 0]
    return out


def log_hyp2f1(a: ArrayLike, b: ArrayLike, c: ArrayLike, z: ArrayLike) -> FloatArray:
    """Return log 2F1(a, b; c; z), the log of the Gauss hypergeometric function.

    Parameters
    ----------
    a, b, c : array-like
        Parameters, broadcast together with ``z``.
    z : array-like
        Argument.

    Returns
    -------
    ndarray
        ``log 2F1(a, b; c; z)``; NaN outside the domain below. The result is finite even
        where 2F1 itself overflows (up to about exp(1e300)).

    Notes
    -----
    Domain: a > 0, b > 0, c > 0 and z < 1, with c >= min(a, b) when z < 0 and
    c > min(a, b) - 8 when z >= 0. There 2F1 is positive; for c >= min(a, b) it is the
    expectation E[(1 - zP)^-a'] for P ~ Beta(b', c - b'), b' the smaller of a and b, the form
    in which the BTYD models meet it. z < 0 may be arbitrarily large in magnitude and z may be
    arbitrarily close to 1 (as close as floating point allows).

    Method: for z >= 0 the series 15.1.1 of [1]_ has positive terms, and so has Euler's
    transform (1 - z)^(c-a-b) 2F1(c-a, c-b; c; z) when c >= max(a, b); for z < 0 the Pfaff
    transforms (1 - z)^-a 2F1(a, c-b; c; z/(z-1)) (c >= b) and (1 - z)^-b 2F1(c-a, b; c;
    z/(z-1)) (c >= a) do. The cheapest positive-term series is summed with a rigorous bound on
    its tail; when it would need more than 600 terms, Euler's integral 15.3.1 (after the
    contiguous relation 15.2.16 raises c above min(a, b) if needed) is integrated by the
    adaptive sinh-mapped trapezoidal rule of `sinh_quadrature` around the integrand's mode, a
    positive integrand with no cancellation, and normalized by `log_beta`.

    Accuracy, against mpmath at 50 digits (a reference value is accepted only where two
    transformations agree to 30 digits, else it is a positive series summed term by term), on
    300 random points with a, b, c log-uniform in [1e-4, 1e5] and 1 - z log-uniform in
    [1e-12, 1], -z in [1e-4, 1e8] or z uniform in [0, 1) (``tests/test_special.py``): where
    2F1 is finite its relative error is below 1.1e-11 (typically 1e-14); where it overflows,
    the relative error of its logarithm is below 1e-14. The error grows with the size of the
    parameters, through the rounding of terms such as b log(t).

    References
    ----------
    .. [1] Abramowitz, M. and Stegun, I. A. (1964). *Handbook of Mathematical Functions*,
       chapter 15.

    Examples
    --------
    >>> import numpy as np
    >>> from retention_kit.models._special import log_hyp2f1
    >>> float(np.exp(log_hyp2f1(1.0, 1.0, 2.0, 0.5)))  # -log(1 - z) / z
    1.38629436111989
    >>> float(log_hyp2f1(2000.0, 3000.0, 2500.0, 1 - 1e-9))  # 2F1 itself overflows
    51707.46668164...
    """
    a_, b_, c_, z_ = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    shape = a_.shape
    a_, b_, c_, z_ = (v.ravel() for v in (a_, b_, c_, z_))
    out = np.full(a_.size, np.nan)
    valid = (
        np.isfinite(a_)
        & np.isfinite(b_)
        & np.isfinite(c_)
        & np.isfinite(z_)
        & (a_ > 0)
        & (b_ > 0)
        & (c_ > 0)
        & (z_ < 1)
    )
    smallest = np.minimum(a_, b_)
    valid &= np.where(z_ < 0, c_ >= smallest, c_ > smallest - _MAX_SHIFT)
    with np.errstate(all="ignore"):
        out[valid] = _log_hyp2f1_valid(a_[valid], b_[valid], c_[valid], z_[valid])
    return out.reshape(shape)


def _log_hyp2f1_valid(a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    n = a.size
    one_minus_z = 1.0 - z
    log1mz = np.log1p(-z)
    negative = z < 0
    w = np.where(negative, -z / one_minus_z, z)
    inf = np.full(n, np.inf)
    zeros = np.zeros(n)
    # The candidate positive-term series: (prefactor exponent's log, a', b', c, argument).
    candidates = []
    # z >= 0: the series itself, and Euler's transform when its terms stay positive.
    candidates.append((np.where(negative, np.inf, zeros), a, b))
    euler_ok = ~negative & (c >= a) & (c >= b)
    candidates.append((np.where(euler_ok, (c - a - b) * log1mz, np.inf), c - a, c - b))
    # z < 0: the two Pfaff transforms.
    candidates.append((np.where(negative & (c >= b), -a * log1mz, np.inf), a, c - b))
    candidates.append((np.where(negative & (c >= a), -b * log1mz, np.inf), c - a, b))
    costs = np.stack(
        [np.where(np.isfinite(pre), _series_cost(ca, cb, c, w), inf) for pre, ca, cb in candidates]
    )
    choice = costs.argmin(axis=0)
    cheapest = costs[choice, np.arange(n)]
    pre = np.choose(choice, [p for p, _, _ in candidates])
    sa = np.choose(choice, [np.broadcast_to(x, (n,)) for _, x, _ in candidates])
    sb = np.choose(choice, [np.broadcast_to(x, (n,)) for _, _, x in candidates])
    out = np.empty(n)
    by_series = cheapest <= _SERIES_BUDGET
    rows = np.flatnonzero(by_series)
    log_series, converged = _positive_series(
        sa[rows], sb[rows], c[rows], w[rows], 2 * _SERIES_BUDGET
    )
    out[rows] = pre[rows] + log_series
    by_series[rows[~converged]] = False
    rest = np.flatnonzero(~by_series)
    if rest.size:
        out[rest] = _log_hyp2f1_integral(a[rest], b[rest], c[rest], z[rest], one_minus_z[rest])
    return out


def _log_hyp2f1_integral(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray, one_minus_z: FloatArray
) -> FloatArray:
    """Route to Euler's integral, putting in the b slot a parameter smaller than c."""
    out = np.empty(a.size)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    equal = c == lo
    out[equal] = -hi[equal] * np.log(one_minus_z[equal])
    direct = c > lo
    out[direct] = _log_euler_integral(
        hi[direct], lo[direct], c[direct], z[direct], one_minus_z[direct]
    )
    shifted = ~(equal | direct)
    if shifted.any():
        out[shifted] = _log_shifted_sum(
            a[shifted], b[shifted], c[shifted], z[shifted], one_minus_z[shifted]
        )
    return out


def hyp2f1(a: ArrayLike, b: ArrayLike, c: ArrayLike, z: ArrayLike) -> FloatArray:
    """Return 2F1(a, b; c; z) as ``exp(log_hyp2f1(a, b, c, z))`` (inf where it overflows).

    Same domain and accuracy as `log_hyp2f1`.

    Examples
    --------
    >>> from retention_kit.models._special import hyp2f1
    >>> float(hyp2f1(0.5, 1.0, 1.5, -1e8))  # arctan(sqrt(-z)) / sqrt(-z)
    0.000157069632...
    """
    with np.errstate(over="ignore"):
        result: FloatArray = np.exp(log_hyp2f1(a, b, c, z))
    return result
