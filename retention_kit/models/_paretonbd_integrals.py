"""The integrals behind the Pareto/NBD model, with their parameter derivatives.

Everything the model computes reduces to integrals of products of powers,

    J(p_alpha, p_beta; t) = integral over y > t of (alpha + y)^-p_alpha (beta + y)^-p_beta dy

(the likelihood and all conditional predictions) and to two relatives of the same kind (the
purchase-count distribution and the discounted residual transactions). J is computed in units
of the scales, S = alpha^p_alpha beta^p_beta J, the integral of (1 + y / alpha)^-p_alpha
(1 + y / beta)^-p_beta: every large exponent then multiplies a log1p, which keeps the relative
accuracy when a fit wanders to exponents of 1e12. With M and m the larger and smaller of alpha
and beta, q and p the exponents of their factors, c = p + q - 1 and z = (M - m) / (M + t),

    S = (1 + t / M)^-q (1 + t / m)^-p (m + t) / c * G(q, p, z),   G = 2F1(1, q; p + q; z),

(substitute z = (M - m) / (M + y), then Euler's transformation). G is a series of positive
terms sum_n (q)_n / (p + q)_n z^n, so nothing cancels, and for z <= 1/2 it converges at least
like 2^-n. Its derivatives in q and p (hence in r and s) are series of the same kind, evaluated
group by group (one group per frequency) as products of coefficient and power matrices.

When z > 1/2 (the two scales far apart and t small next to the larger one) the series is slow,
so the integral is split at the point y* where z = 1/2: the tail from y* is the series again
(it depends on the data only through the exponents), and the piece from t to y* is integrated
by Gauss-Legendre quadrature in w = log((m + y) / (m + t)), where the log-integrand is concave.
`log_concave_quadrature` finds the window where the integrand is within e^-40 of its peak and
grades the nodes geometrically away from the integrand's features (its mode and bends), which
resolves sharp peaks and long tails alike. Parameter derivatives are integrals of the same
integrand times log(1 + y / m), log(1 + y / M), y / (m + y) or y / (M + y), computed on the same
nodes: exact derivatives of the approximation, with no finite differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.polynomial.legendre import leggauss

from .._typing import FloatArray, IntArray
from ._special import softplus

__all__ = [
    "TailIntegral",
    "log_concave_quadrature",
    "log_discount_factor",
    "log_purchase_integral",
    "log_tail_integral",
]

SPLIT = 0.5
"""Above this z the tail integral is split: quadrature up to y*, the series beyond."""

_TOLERANCE = 1e-17
_CHUNK = 2048
"""Elements per quadrature batch: the node arrays of a batch stay small enough for the cache."""
_WINDOW_DROP = 40.0
_NEWTON_STEPS = 24
_PANEL_NODES = 24
_GL_NODES, _GL_WEIGHTS = leggauss(_PANEL_NODES)
_GL_LOG_WEIGHTS = np.log(_GL_WEIGHTS)


@dataclass(frozen=True, slots=True)
class TailIntegral:
    """log S and its partial derivatives, one value per element (see `log_tail_integral`).

    Attributes
    ----------
    log_value : ndarray
        log S(p_alpha, p_beta; t) = log(alpha^p_alpha beta^p_beta J(p_alpha, p_beta; t)).
    d_p_alpha, d_p_beta, d_alpha, d_beta : ndarray
        Partial derivatives of log S (empty when not requested).
    """

    log_value: FloatArray
    d_p_alpha: FloatArray
    d_p_beta: FloatArray
    d_alpha: FloatArray
    d_beta: FloatArray


def _terms(z_max: float) -> int:
    """Terms of the series for a tail below ``_TOLERANCE`` at every z <= z_max (ratio <= z)."""
    if z_max <= 0.0:
        return 2
    n = np.log(_TOLERANCE * (1.0 - z_max)) / np.log(z_max)
    # A few more for the slowly growing factors of the derivative series.
    return int(np.ceil(n)) + 4


def _coefficients(q: FloatArray, p: FloatArray, terms: int, derivatives: bool) -> FloatArray:
    """Coefficients of G and its derivatives, shape (groups, terms, 4 or 1).

    Columns: c_n = (q)_n / (p + q)_n, dc_n/dq, dc_n/dp, and (n + 1) c_(n+1) (the coefficient of
    z^n in dG/dz).
    """
    n = np.arange(terms + 1, dtype=np.float64)
    up = q[:, None] + n[:-1]
    down = (p + q)[:, None] + n[:-1]
    ratio = up / down
    c = np.ones((q.size, terms + 1))
    np.cumprod(ratio, axis=1, out=c[:, 1:])
    if not derivatives:
        return c[:, :terms, None]
    out = np.empty((q.size, terms, 4))
    out[:, :, 0] = c[:, :terms]
    inv_down = 1.0 / down
    sum_q = np.zeros((q.size, terms))
    sum_p = np.zeros((q.size, terms))
    np.cumsum((1.0 / up - inv_down)[:, : terms - 1], axis=1, out=sum_q[:, 1:])
    np.cumsum(-inv_down[:, : terms - 1], axis=1, out=sum_p[:, 1:])
    out[:, :, 1] = c[:, :terms] * sum_q
    out[:, :, 2] = c[:, :terms] * sum_p
    out[:, :, 3] = n[1:] * c[:, 1:]
    return out


_SERIES_BATCH = 8192
"""Elements per block of powers in `_series` (a block of about 1.5 MB stays in the cache)."""


def _series(table: FloatArray, z: FloatArray, group: IntArray) -> FloatArray:
    """Evaluate sum_n table[g, n, :] z^n per element, shape (columns, elements).

    Elements are sorted by group (unless they already are) so that each block of a group is
    one product of the group's coefficient matrix with the powers of the block's z values.
    """
    terms = table.shape[1]
    presorted = bool(np.all(group[1:] >= group[:-1]))
    order = np.arange(group.size) if presorted else np.argsort(group, kind="stable")
    zs = z if presorted else z[order]
    gs = group if presorted else group[order]
    out = np.empty((table.shape[2], zs.size))
    if zs.size:
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        ends = np.r_[starts[1:], zs.size]
        # einsum's own loops, not BLAS: threaded BLAS on these thin products is slower and
        # erratic when the machine is busy.
        coefficients = np.ascontiguousarray(table.transpose(0, 2, 1))
        powers = np.empty((terms, min(_SERIES_BATCH, zs.size)))
        powers[0] = 1.0
        for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
            for begin in range(first, stop, _SERIES_BATCH):
                end = min(begin + _SERIES_BATCH, stop)
                block, values = powers[:, : end - begin], zs[begin:end]
                for k in range(1, terms):
                    np.multiply(block[k - 1], values, out=block[k])
                np.einsum("jn,ni->ji", coefficients[gs[first]], block, out=out[:, begin:end])
    if presorted:
        return out
    result = np.empty_like(out)
    result[:, order] = out
    return result


LogDensity = Callable[[FloatArray], FloatArray]


def _window_end(
    psi: LogDensity,
    dpsi: LogDensity,
    mode: FloatArray,
    bound: FloatArray,
    level: FloatArray,
    direction: float,
) -> FloatArray:
    """Where the concave psi falls to ``level`` beyond ``mode`` in ``direction`` (+1 or -1).

    Returns ``bound`` where psi stays above the level up to it. Otherwise the search starts
    from a point beyond the root (``bound`` or, for an infinite bound, a doubling step away
    from the mode) and runs Newton's method: from beyond the root, the iterates of a concave
    function move monotonically toward it and never cross it, so a truncated iteration errs
    on the wide side and the window never cuts off mass.
    """
    with np.errstate(all="ignore"):
        inside = np.isfinite(bound) & (psi(bound[:, None])[:, 0] >= level)
        start = np.where(np.isfinite(bound), bound, mode)
        step = np.ones_like(mode)
        for _ in range(64):
            done = inside | (psi(start[:, None])[:, 0] < level)
            if done.all():
                break
            start = np.where(done, start, mode + direction * step)
            step = 2.0 * step
        u = start
        for _ in range(_NEWTON_STEPS):
            gap = psi(u[:, None])[:, 0] - level
            slope = dpsi(u[:, None])[:, 0]
            move = (gap < 0) & (slope * direction < 0) & np.isfinite(gap)
            u = np.where(move, u - gap / np.where(move, slope, 1.0), u)
    return np.where(inside, bound, u)


def log_concave_quadrature(
    psi: LogDensity,
    dpsi: LogDensity,
    d2psi: LogDensity,
    mode: FloatArray,
    low: FloatArray,
    high: FloatArray,
    bends: Sequence[FloatArray] = (),
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Integrate exp(psi(u)) over [low, high] for a concave psi, one integral per element.

    The window is where psi is within e^-40 of its peak at ``mode`` (found by `_window_end`).
    The mode and the ``bends`` (where psi changes slope) are the features of the integrand;
    each has a width d = 1 / sqrt(-psi'') (at most 1). The window is cut halfway between
    consecutive features, and each part, of length l from its feature f, is mapped by
    u = f +/- d (e^xi - 1), xi in [0, log(1 + l / d)], with a Gauss-Legendre rule in xi: nodes
    are spaced like d close to the feature and in proportion to the distance beyond it (a
    geometrically graded mesh), which resolves a sharp peak and a long smooth tail alike. Sums
    are taken in log space, so the integral may lie far outside the floating-point range.

    Parameters
    ----------
    psi, dpsi, d2psi : callable
        psi and its first two derivatives, evaluated on arrays of shape (elements, k).
    mode : ndarray
        Where psi peaks in [low, high], per element.
    low, high : ndarray
        Limits per element (may be infinite).
    bends : sequence of ndarray
        Further features per element (clipped to the window).

    Returns
    -------
    nodes : ndarray, shape (elements, nodes)
    weights : ndarray, shape (elements, nodes)
        Normalized: weights summing to 1 per element, proportional to the integrand's mass
        at each node, for the weighted means of other functions.
    log_integral : ndarray
    """
    n = mode.size
    with np.errstate(all="ignore"):
        level = psi(mode[:, None])[:, 0] - _WINDOW_DROP
    left = np.clip(_window_end(psi, dpsi, mode, low, level, -1.0), low, mode)
    right = np.clip(_window_end(psi, dpsi, mode, high, level, 1.0), mode, high)
    features = np.stack([mode, *(np.clip(bend, left, right) for bend in bends)], axis=1)
    features.sort(axis=1)
    with np.errstate(all="ignore"):
        curvature = -d2psi(features)
        width = np.where(curvature > 1.0, 1.0 / np.sqrt(curvature), 1.0)
    midpoints = 0.5 * (features[:, 1:] + features[:, :-1])
    toward_left = np.concatenate([left[:, None], midpoints], axis=1)
    toward_right = np.concatenate([midpoints, right[:, None]], axis=1)
    origin = np.concatenate([features, features], axis=1)
    scale = np.concatenate([width, width], axis=1)
    length = np.concatenate([features - toward_left, toward_right - features], axis=1)
    direction = np.concatenate([-np.ones_like(features), np.ones_like(features)], axis=1)
    extent = np.log1p(np.maximum(length, 0.0) / scale)
    xi = 0.5 * extent[:, :, None] * (1.0 + _GL_NODES)
    grown = np.expm1(xi)
    nodes = (origin[:, :, None] + direction[:, :, None] * scale[:, :, None] * grown).reshape(n, -1)
    with np.errstate(divide="ignore"):
        log_weight = (np.log(0.5 * extent * scale)[:, :, None] + xi + _GL_LOG_WEIGHTS).reshape(
            n, -1
        )
    with np.errstate(all="ignore"):
        values = psi(nodes) + log_weight
    values = np.where(np.isnan(values), -np.inf, values)
    top = values.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    weights = np.exp(values - top)
    total = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_integral = top[:, 0] + np.log(total)
        weights /= total[:, None]
    return nodes, weights, log_integral


@dataclass(frozen=True, slots=True)
class _Piece:
    """The scaled piece of J from t to y*, and the weighted means its derivatives need."""

    log_integral: FloatArray
    d_p: FloatArray
    d_q: FloatArray
    d_small: FloatArray
    d_big: FloatArray


def _piece_batch(
    p: FloatArray,
    q: FloatArray,
    small: float,
    big: float,
    t: FloatArray,
    derivatives: bool,
) -> _Piece:
    """Log of the integral over y in (t, y*) of (1 + y / m)^-p (1 + y / M)^-q, m + y* = M - m.

    In w = log((m + y) / (m + t)), w in [0, U] with U = log((M - m) / (m + t)), the
    log-integrand is log(m + t) - p log(1 + t / m) + psi(w) with

        psi(w) = (1 - p) w - q log(1 + y / M),   y = t + (m + t) expm1(w),

    concave (its slope 1 - p - q (m + y) / (M + y) falls with w), peaking at
    w = U + log((1 - p) / (p + q - 1)) when p < 1 and at w = 0 otherwise, and bending where
    q (m + y) / (M + y) is about 1. Every term is a log1p of a non-negative number, so the
    huge exponents of a fit that wanders far (r, s ~ 1e12) multiply accurate logs.
    """
    rise, drop = (1.0 - p)[:, None], q[:, None]
    base, start = (small + t)[:, None], t[:, None]

    def position(w: FloatArray) -> FloatArray:
        out: FloatArray = start + base * np.expm1(w)
        return out

    def psi(w: FloatArray) -> FloatArray:
        out: FloatArray = rise * w - drop * np.log1p(position(w) / big)
        return out

    def share(w: FloatArray) -> FloatArray:
        # (m + y) / (M + y)
        out: FloatArray = base * np.exp(w) / (big + position(w))
        return out

    def dpsi(w: FloatArray) -> FloatArray:
        out: FloatArray = rise - drop * share(w)
        return out

    def d2psi(w: FloatArray) -> FloatArray:
        ratio = share(w)
        out: FloatArray = -drop * ratio * (1.0 - ratio)
        return out

    top = np.log(big - small) - np.log(small + t)
    c = p + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = top + np.log(1.0 - p) - np.log(c)
    mode = np.where(p < 1.0, np.clip(interior, 0.0, top), 0.0)
    bend = np.clip(top - np.log(q), 0.0, top)
    w, weights, log_integral = log_concave_quadrature(
        psi, dpsi, d2psi, mode, np.zeros_like(top), top, (bend,)
    )
    log_integral += np.log(small + t) - p * np.log1p(t / small)
    if not derivatives:
        empty = np.empty(0)
        return _Piece(log_integral, empty, empty, empty, empty)
    y = position(w)
    d_p = -((weights * w).sum(axis=1) + np.log1p(t / small))
    d_q = -(weights * np.log1p(y / big)).sum(axis=1)
    d_small = p * (weights * (y / (small + y))).sum(axis=1) / small
    d_big = q * (weights * (y / (big + y))).sum(axis=1) / big
    return _Piece(log_integral, d_p, d_q, d_small, d_big)


def _piece(
    p: FloatArray, q: FloatArray, small: float, big: float, t: FloatArray, derivatives: bool
) -> _Piece:
    """`_piece_batch` over batches of `_CHUNK` elements."""
    batches = [slice(k, k + _CHUNK) for k in range(0, t.size, _CHUNK)]
    parts = [_piece_batch(p[b], q[b], small, big, t[b], derivatives) for b in batches]
    return _Piece(
        *(np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(_Piece))
    )


def log_tail_integral(
    p_alpha: FloatArray,
    p_beta: FloatArray,
    group: IntArray,
    t: FloatArray,
    alpha: float,
    beta: float,
    *,
    derivatives: bool = False,
) -> TailIntegral:
    """Return log S = log(alpha^p_alpha beta^p_beta J(p_alpha, p_beta; t)) and its derivatives.

    S is J in units of the scales: the integral over y > t of (1 + y / alpha)^-p_alpha
    (1 + y / beta)^-p_beta. Every large exponent multiplies a log1p, so S keeps its relative
    accuracy even when the exponents reach 1e12, where log J and p log(scale) would each be
    about 1e13 and their sum would lose every digit.

    Parameters
    ----------
    p_alpha, p_beta : ndarray
        The exponents, one pair per group (> 0 each, p_alpha + p_beta > 1).
    group : ndarray of int
        Each element's group (an index into ``p_alpha`` and ``p_beta``).
    t : ndarray
        Each element's lower limit, >= 0.
    alpha, beta : float
        The scales, > 0.
    derivatives : bool, default False
        Also return the derivatives of log S in p_alpha, p_beta, alpha and beta.

    Returns
    -------
    TailIntegral
    """
    big, small = max(alpha, beta), min(alpha, beta)
    alpha_is_big = alpha >= beta
    q_group, p_group = (p_alpha, p_beta) if alpha_is_big else (p_beta, p_alpha)
    gap = big - small
    z = gap / (big + t)
    hard = z > SPLIT
    easy = ~hard
    c_group = p_group + q_group - 1.0
    n = t.size
    log_value = np.empty(n)
    size = n if derivatives else 0
    d_q, d_p, d_big, d_small = (np.empty(size) for _ in range(4))

    if easy.any():
        # S = (1 + t / M)^-q (1 + t / m)^-p (m + t) G(q, p, z) / c.
        everything = not hard.any()
        ze, ge, te = (z, group, t) if everything else (z[easy], group[easy], t[easy])
        table = _coefficients(q_group, p_group, _terms(float(ze.max())), derivatives)
        sums = _series(table, ze, ge)
        q, p, c = q_group[ge], p_group[ge], c_group[ge]
        grow_big, grow_small = np.log1p(te / big), np.log1p(te / small)
        log_value[easy] = (
            -q * grow_big
            - p * grow_small
            + np.log(small + te)
            + np.log(sums[0])
            - np.log(c_group)[ge]
        )
        if derivatives:
            g = sums[0]
            dz = sums[3] / g
            d_q[easy] = -grow_big + sums[1] / g - 1.0 / c
            d_p[easy] = -grow_small + sums[2] / g - 1.0 / c
            d_big[easy] = q * te / (big * (big + te)) + dz * (small + te) / (big + te) ** 2
            d_small[easy] = p * te / (small * (small + te)) + 1.0 / (small + te) - dz / (big + te)

    if hard.any():
        gh, th = group[hard], t[hard]
        q, p, c = q_group[gh], p_group[gh], c_group[gh]
        # The tail from y*, where M + y* = 2 (M - m) and m + y* = M - m: the series at 1/2,
        # S_tail = (2 (M - m) / M)^-q ((M - m) / m)^-p (M - m) G(q, p, 1/2) / c.
        tail_table = _coefficients(q_group, p_group, _terms(SPLIT), derivatives)
        half = np.full(q_group.size, SPLIT)
        tail_sums = _series(tail_table, half, np.arange(q_group.size))[:, gh]
        log_twice = math.log(2.0) + math.log1p(-small / big)  # log(2 (M - m) / M) > 0
        log_ratio = math.log(gap) - math.log(small)  # log((M - m) / m) > 0
        log_tail = -q * log_twice - p * log_ratio + math.log(gap)
        log_tail += np.log(tail_sums[0]) - np.log(c)
        piece = _piece(p, q, small, big, th, derivatives)
        log_value[hard] = np.logaddexp(piece.log_integral, log_tail)
        if derivatives:
            w_piece = np.exp(piece.log_integral - log_value[hard])
            w_tail = np.exp(log_tail - log_value[hard])
            g = tail_sums[0]
            dz = tail_sums[3] / g
            # Derivatives of the tail with y* held fixed (the split point is arbitrary).
            tail_q = -log_twice + tail_sums[1] / g - 1.0 / c
            tail_p = -log_ratio + tail_sums[2] / g - 1.0 / c
            tail_big = q * (big - 2.0 * small) / (2.0 * gap * big) + dz / (4.0 * gap)
            tail_small = 1.0 / gap + p * (big - 2.0 * small) / (small * gap) - dz / (2.0 * gap)
            d_q[hard] = w_piece * piece.d_q + w_tail * tail_q
            d_p[hard] = w_piece * piece.d_p + w_tail * tail_p
            d_big[hard] = w_piece * piece.d_big + w_tail * tail_big
            d_small[hard] = w_piece * piece.d_small + w_tail * tail_small

    if alpha_is_big:
        return TailIntegral(log_value, d_q, d_p, d_big, d_small)
    return TailIntegral(log_value, d_p, d_q, d_small, d_big)


def _decreasing_root(slope: LogDensity, low: FloatArray, high: FloatArray) -> FloatArray:
    """Root of a decreasing function with slope(low) > 0 > slope(high), by bisection."""
    low, high = low.copy(), high.copy()
    for _ in range(80):
        middle = 0.5 * (low + high)
        positive = slope(middle[:, None])[:, 0] > 0
        low = np.where(positive, middle, low)
        high = np.where(positive, high, middle)
    return 0.5 * (low + high)


def _log_purchase_integral_batch(
    r: float, alpha: float, s: float, beta: float, n: FloatArray, t: FloatArray
) -> FloatArray:
    """Log of the integral over tau in (0, t) of tau^n (1 + tau/a)^-(r+n) (1 + tau/b)^-(s+1).

    With a = alpha and b = beta: the mass of the customers who die at tau after n purchases
    (Fader & Hardie 2006, eq. 4, before the 2F1 closed form), in units of the scales, one
    value per element of the
    broadcast ``n`` and ``t > 0``. In u = log(tau) the log-integrand

        psi(u) = (n + 1) u - (r + n) log(1 + e^u / alpha) - (s + 1) log(1 + e^u / beta)

    is concave (a linear term minus softplus terms), with slope falling from n + 1 to
    -(r + s); it bends near log(alpha) and log(beta).
    """
    log_alpha, log_beta = math.log(alpha), math.log(beta)
    grow, fall_a, fall_b = (n + 1.0)[:, None], (r + n)[:, None], s + 1.0

    def psi(u: FloatArray) -> FloatArray:
        out: FloatArray = (
            grow * u - fall_a * softplus(u - log_alpha) - fall_b * softplus(u - log_beta)
        )
        return out

    def dpsi(u: FloatArray) -> FloatArray:
        out: FloatArray = (
            grow - fall_a / (1.0 + np.exp(log_alpha - u)) - fall_b / (1.0 + np.exp(log_beta - u))
        )
        return out

    def d2psi(u: FloatArray) -> FloatArray:
        out: FloatArray = -fall_a / (2.0 + 2.0 * np.cosh(u - log_alpha)) - fall_b / (
            2.0 + 2.0 * np.cosh(u - log_beta)
        )
        return out

    total = r + n + s + 1.0
    lowest, highest = min(log_alpha, log_beta), max(log_alpha, log_beta)
    low = lowest + np.log((n + 1.0) / total) - 1.0
    high = highest + np.log(total / (r + s)) + 1.0
    upper = np.log(t)
    with np.errstate(over="ignore"):
        mode = np.minimum(_decreasing_root(dpsi, low, high), upper)
    _, _, log_integral = log_concave_quadrature(
        psi,
        dpsi,
        d2psi,
        mode,
        np.full_like(upper, -np.inf),
        upper,
        (np.full_like(upper, log_alpha), np.full_like(upper, log_beta)),
    )
    return log_integral


def log_purchase_integral(
    r: float, alpha: float, s: float, beta: float, n: FloatArray, t: FloatArray
) -> FloatArray:
    """`_log_purchase_integral_batch` over batches of `_CHUNK` elements."""
    out = np.empty(t.size)
    for k in range(0, t.size, _CHUNK):
        part = slice(k, k + _CHUNK)
        out[part] = _log_purchase_integral_batch(r, alpha, s, beta, n[part], t[part])
    return out


def _log_discount_factor_batch(s: float, omega: FloatArray) -> FloatArray:
    """Return log E[omega / (omega + nu)] for nu ~ Gamma(s, 1), one value per omega > 0.

    Equal to omega^s e^omega Gamma(1 - s, omega) = omega^s Psi(s, s; omega), Psi (Tricomi's U)
    the confluent hypergeometric function of the second kind, and to the integral over v > 0 of
    e^-v (1 + v / omega)^-s. In u = log(v) the log-integrand u - e^u - s log(1 + e^u / omega)
    is concave, bending near u = 0 and u = log(omega).
    """
    log_omega = np.log(omega)
    shift = log_omega[:, None]

    def psi(u: FloatArray) -> FloatArray:
        out: FloatArray = u - np.exp(u) - s * softplus(u - shift)
        return out

    def dpsi(u: FloatArray) -> FloatArray:
        out: FloatArray = 1.0 - np.exp(u) - s / (1.0 + np.exp(shift - u))
        return out

    def d2psi(u: FloatArray) -> FloatArray:
        out: FloatArray = -np.exp(u) - s / (2.0 + 2.0 * np.cosh(u - shift))
        return out

    low = np.minimum(np.log(0.5), log_omega + np.log(0.5 / s)) - 1.0
    high = np.ones_like(log_omega)
    with np.errstate(over="ignore"):
        mode = _decreasing_root(dpsi, low, high)
    infinite = np.full_like(log_omega, np.inf)
    _, _, log_integral = log_concave_quadrature(
        psi, dpsi, d2psi, mode, -infinite, infinite, (np.zeros_like(log_omega), log_omega)
    )
    return log_integral


_CHEBYSHEV_NODES = 24
_CHEBYSHEV_ANGLES = np.pi * (np.arange(_CHEBYSHEV_NODES) + 0.5) / _CHEBYSHEV_NODES


def log_discount_factor(s: float, omega: FloatArray) -> FloatArray:
    """`_log_discount_factor_batch` for many omega: exact per distinct value, or interpolated.

    When there are more distinct values than interpolation nodes, log h is interpolated in
    u = log(omega) on unit panels, each by the Chebyshev series through 24 exact values at
    the Chebyshev points. h = E[1 / (1 + nu e^-u)] has positive real part, hence no zero,
    where |Im u| <= pi / 2, and log h is bounded there by |log h(Re u)| + 2; the series for
    a panel of half-width 1/2 then converges like 6.4^-n (the Bernstein ellipse through
    u +/- i pi / 2), so 24 nodes leave an error below 1e-17 times that bound.
    """
    if omega.size == 0:
        return np.empty(0)
    values, where = np.unique(omega, return_inverse=True)
    where = where.reshape(-1)
    u = np.log(values)
    first = math.floor(float(u[0]))
    panels = math.floor(float(u[-1])) - first + 1
    if values.size <= 2 * panels * _CHEBYSHEV_NODES:
        exact = np.empty(values.size)
        for k in range(0, values.size, _CHUNK):
            exact[k : k + _CHUNK] = _log_discount_factor_batch(s, values[k : k + _CHUNK])
        out: FloatArray = exact[where]
        return out
    points = np.cos(_CHEBYSHEV_ANGLES)  # in [-1, 1]
    starts = first + np.arange(panels, dtype=np.float64)
    nodes = (starts[:, None] + 0.5 * (points + 1.0)).reshape(-1)
    samples = _log_discount_factor_batch(s, np.exp(nodes)).reshape(panels, _CHEBYSHEV_NODES)
    # Chebyshev coefficients of each panel (a discrete cosine transform of the samples).
    degrees = np.arange(_CHEBYSHEV_NODES)
    basis = np.cos(np.outer(_CHEBYSHEV_ANGLES, degrees))  # (node, degree)
    coefficients = np.einsum("pi,ik->pk", samples, basis) * (2.0 / _CHEBYSHEV_NODES)
    coefficients[:, 0] *= 0.5
    panel = np.clip(np.floor(u).astype(np.int64) - first, 0, panels - 1)
    x = 2.0 * (u - (first + panel)) - 1.0
    # Clenshaw's recurrence, every value at once.
    later = np.zeros_like(x)
    latest = np.zeros_like(x)
    for degree in range(_CHEBYSHEV_NODES - 1, 0, -1):
        later, latest = latest, coefficients[panel, degree] + 2.0 * x * latest - later
    interpolated = coefficients[panel, 0] + x * latest - later
    out = interpolated[where]
    return out
