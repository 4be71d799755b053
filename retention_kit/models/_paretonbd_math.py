"""The math of the Pareto/NBD model: likelihood, gradient, predictions and sampling.

While alive, a customer buys as a Poisson process of rate lambda; she dies (becomes inactive
for good, unobserved) after an exponential lifetime of rate mu. Across customers lambda ~
Gamma(r, alpha) and mu ~ Gamma(s, beta), independently. The derivations follow Fader &
Hardie's notes (2005, 2006) and, for the discounted expected residual transactions, Fader,
Hardie & Lee (2005).

Everything rests on one identity. Given (lambda, mu), the next event after the last purchase
t_x is either the death or the next purchase, and the data say the next purchase did not come
before T, so

    L(lambda, mu | x, t_x, T) = lambda^x [mu / (lambda + mu) e^-(lambda + mu) t_x
                                          + lambda / (lambda + mu) e^-(lambda + mu) T]

("died before buying again", or "would have bought again only after T"), the same as the usual
lambda^x e^-(lambda + mu) T + lambda^x mu / (lambda + mu) (e^-(lambda + mu) t_x
- e^-(lambda + mu) T) but as a sum of two positive terms. Writing 1 / (lambda + mu) as an
integral over y and mixing over the gammas,

    L = Gamma(r + x) alpha^r beta^s / Gamma(r)
        * [(r + x) J(r + x + 1, s; T) + s J(r + x, s + 1; t_x)],
    J(a, b; t) = integral from t to infinity of (alpha + y)^-a (beta + y)^-b dy,

the 2F1 expressions of Fader & Hardie (2005, eqs. 18-22) in a form that cannot cancel. The
integrals, and their derivatives in every parameter, are computed in
`retention_kit.models._paretonbd_integrals`; they stay accurate for customers with tens of
thousands of purchases, where the 2F1 form overflows.

Everything here is a vectorized function of plain arrays; `retention_kit.ParetoNBD`
validates and dispatches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .._typing import FloatArray, IntArray
from ._mle import distinct_frequencies, dot, sum_by
from ._paretonbd_integrals import (
    TailIntegral,
    log_discount_factor,
    log_purchase_integral,
    log_tail_integral,
)

__all__ = [
    "Layout",
    "conditional_expected_purchases",
    "discounted_expected_residual_transactions",
    "expected_purchases",
    "layout",
    "log_likelihood",
    "log_likelihood_gradient",
    "log_probability_alive",
    "probability_alive_later",
    "probability_of_purchases",
    "sample",
    "total_log_likelihood",
]


# --- grouping the customers: the integrals depend on (x, T) and (x, t_x) only ---


def _stable_order(group: IntArray, groups: int) -> IntArray:
    """Return the stable sorting order of ``group`` (values in [0, groups)).

    Small keys are sorted as 16-bit integers, for which numpy's stable sort is a radix sort.
    """
    keys = group.astype(np.int16) if groups <= np.iinfo(np.int16).max else group
    return np.argsort(keys, kind="stable").astype(np.int64)


def _pairs(group: IntArray, t: FloatArray) -> tuple[IntArray, FloatArray, IntArray]:
    """Distinct (group, t) pairs sorted by group, and each row's position among them."""
    order = np.lexsort((t, group))
    g, v = group[order], t[order]
    change = np.ones(g.size, dtype=bool)
    change[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    position = np.empty(g.size, dtype=np.int64)
    position[order] = np.cumsum(change) - 1
    return g[change], v[change], position


def _log_rising(r: float, x: FloatArray) -> FloatArray:
    """Return log Gamma(r + x) - log Gamma(r), accurate for large r too.

    For r >= 100 Stirling's series gives (r - 1/2) log(1 + x / r) + x log(r + x) - x plus the
    difference of the series' tails, without subtracting two numbers of size r log r.
    """
    if r < 100.0:
        out: FloatArray = special.gammaln(r + x) - special.gammaln(r)
        return out

    def tail(z: FloatArray | float) -> FloatArray:
        inverse = 1.0 / np.asarray(z, dtype=np.float64)
        square = inverse * inverse
        series: FloatArray = inverse * (
            1.0 / 12.0 - square * (1.0 / 360.0 - square * (1.0 / 1260.0 - square / 1680.0))
        )
        return series

    out = (r - 0.5) * np.log1p(x / r) + x * np.log(r + x) - x + (tail(r + x) - tail(r))
    return out


@dataclass(frozen=True, slots=True)
class Layout:
    """Customers laid out for evaluation.

    The first integral, J(r + x + 1, s; T), is evaluated once per element ``(buy_group,
    buy_time)`` and the second, J(r + x, s + 1; t_x), once per ``(leave_group, leave_time)``;
    each row reads its values at ``buy_row`` and ``leave_row``. Elements are sorted by group
    (the index of the row's frequency in ``values``).
    """

    values: FloatArray
    group: IntArray
    buy_group: IntArray
    buy_time: FloatArray
    buy_row: IntArray
    leave_group: IntArray
    leave_time: FloatArray
    leave_row: IntArray


def layout(x: FloatArray, t_x: FloatArray, T: FloatArray, *, distinct: bool) -> Layout:
    """Group rows by frequency; with ``distinct``, evaluate each (x, t) pair only once."""
    values, group = distinct_frequencies(x)
    if distinct:
        buy_group, buy_time, buy_row = _pairs(group, T)
        leave_group, leave_time, leave_row = _pairs(group, t_x)
        return Layout(
            values, group, buy_group, buy_time, buy_row, leave_group, leave_time, leave_row
        )
    order = _stable_order(group, values.size)
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    sorted_group = group[order]
    return Layout(
        values, group, sorted_group, T[order], position, sorted_group, t_x[order], position
    )


@dataclass(frozen=True, slots=True)
class _Brackets:
    """Per row: log of the two terms of the likelihood's bracket, and their integrals.

    With S_1 = alpha^(r + x + 1) beta^s J(r + x + 1, s; T) and S_2 = alpha^(r + x)
    beta^(s + 1) J(r + x, s + 1; t_x) (`log_tail_integral`), the likelihood is
    Gamma(r + x) / Gamma(r) alpha^-x [(r + x) S_1 / alpha + s S_2 / beta]: the two terms are
    ``log_buys`` and ``log_leaves``.
    """

    log_buys: FloatArray
    log_leaves: FloatArray
    buys: TailIntegral
    leaves: TailIntegral


def _brackets(params: FloatArray, layout: Layout, derivatives: bool) -> _Brackets:
    """log[(r + x) S_1 / alpha] and log[s S_2 / beta], one value per row."""
    r, alpha, s, beta = params
    rx = r + layout.values
    ones = np.ones_like(rx)
    buys = log_tail_integral(
        rx + 1.0,
        s * ones,
        layout.buy_group,
        layout.buy_time,
        alpha,
        beta,
        derivatives=derivatives,
    )
    leaves = log_tail_integral(
        rx,
        (s + 1.0) * ones,
        layout.leave_group,
        layout.leave_time,
        alpha,
        beta,
        derivatives=derivatives,
    )
    log_buys = np.log(rx)[layout.group] + buys.log_value[layout.buy_row] - math.log(alpha)
    log_leaves = math.log(s) + leaves.log_value[layout.leave_row] - math.log(beta)
    return _Brackets(log_buys, log_leaves, buys, leaves)


def _log_likelihood(
    params: FloatArray, layout: Layout, derivatives: bool
) -> tuple[FloatArray, FloatArray | None]:
    """Per-row log-likelihood and, optionally, its gradient in (r, alpha, s, beta), (4, rows)."""
    r, alpha, s, beta = params
    parts = _brackets(params, layout, derivatives)
    log_bracket = np.logaddexp(parts.log_buys, parts.log_leaves)
    x = layout.values
    values: FloatArray = (_log_rising(r, x) - x * math.log(alpha))[layout.group] + log_bracket
    if not derivatives:
        return values, None
    buys, leaves = parts.buys, parts.leaves
    w_buy = np.exp(parts.log_buys - log_bracket)
    w_leave = np.exp(parts.log_leaves - log_bracket)
    i, j, g = layout.buy_row, layout.leave_row, layout.group
    digamma = special.digamma(r + x) - special.digamma(r)
    gradient = np.empty((4, values.size))
    gradient[0] = (
        digamma[g]
        + w_buy * ((1.0 / (r + x))[g] + buys.d_p_alpha[i])
        + w_leave * leaves.d_p_alpha[j]
    )
    gradient[1] = (
        -(x / alpha)[g] + w_buy * (buys.d_alpha[i] - 1.0 / alpha) + w_leave * leaves.d_alpha[j]
    )
    gradient[2] = w_buy * buys.d_p_beta[i] + w_leave * (1.0 / s + leaves.d_p_beta[j])
    gradient[3] = w_buy * buys.d_beta[i] + w_leave * (leaves.d_beta[j] - 1.0 / beta)
    return values, gradient


def total_log_likelihood(
    params: FloatArray, layout: Layout, weight: FloatArray
) -> tuple[float, FloatArray]:
    """Return the weighted total of `_log_likelihood` and its gradient, summed by element.

    The rows only combine the two terms of the bracket; every derivative of an integral is
    multiplied by the summed weight of the rows that read it, so the per-row work is a few
    array operations whatever the number of parameters.
    """
    r, alpha, s, beta = params
    parts = _brackets(params, layout, True)
    log_bracket = np.logaddexp(parts.log_buys, parts.log_leaves)
    x = layout.values
    g, i, j = layout.group, layout.buy_row, layout.leave_row
    by_group = sum_by(g, weight, x.size)
    total = dot(by_group, _log_rising(r, x) - x * math.log(alpha)) + dot(weight, log_bracket)
    to_buy = weight * np.exp(parts.log_buys - log_bracket)
    to_leave = weight * np.exp(parts.log_leaves - log_bracket)
    buy_mass = sum_by(i, to_buy, layout.buy_time.size)
    leave_mass = sum_by(j, to_leave, layout.leave_time.size)
    buy_by_group = sum_by(g, to_buy, x.size)
    leave_total = float(to_leave.sum())
    buys, leaves = parts.buys, parts.leaves
    digamma = special.digamma(r + x) - special.digamma(r)
    buy_total = float(to_buy.sum())
    gradient = np.array(
        [
            dot(by_group, digamma)
            + dot(buy_by_group, 1.0 / (r + x))
            + dot(buy_mass, buys.d_p_alpha)
            + dot(leave_mass, leaves.d_p_alpha),
            -dot(by_group, x) / alpha
            - buy_total / alpha
            + dot(buy_mass, buys.d_alpha)
            + dot(leave_mass, leaves.d_alpha),
            dot(buy_mass, buys.d_p_beta) + leave_total / s + dot(leave_mass, leaves.d_p_beta),
            dot(buy_mass, buys.d_beta) - leave_total / beta + dot(leave_mass, leaves.d_beta),
        ]
    )
    return total, gradient


def log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Per-row log-likelihood (Fader & Hardie 2005, eq. 18, in the form of the module notes)."""
    values, _ = _log_likelihood(params, layout(x, t_x, T, distinct=False), False)
    return values


def log_likelihood_gradient(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Partial derivatives of `log_likelihood` in (r, alpha, s, beta): shape (4, rows)."""
    _, gradient = _log_likelihood(params, layout(x, t_x, T, distinct=False), True)
    assert gradient is not None
    return gradient


def log_probability_alive(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Return log P(alive at T | x, t_x, T) (Fader & Hardie 2005, eqs. 36-37).

    P(alive) = (1 + T / alpha)^-(r + x) (1 + T / beta)^-s / [(r + x) S_1 / alpha + s S_2 / beta]
    (see `_Brackets`): the Gamma(r + x) / Gamma(r) alpha^-x factor of the likelihood cancels.
    """
    r, alpha, s, beta = params
    parts = _brackets(params, layout(x, t_x, T, distinct=False), False)
    log_alive = (
        -(r + x) * np.log1p(T / alpha)
        - s * np.log1p(T / beta)
        - np.logaddexp(parts.log_buys, parts.log_leaves)
    )
    out: FloatArray = np.minimum(log_alive, 0.0)
    return out


def _exposure(s: float, scale: FloatArray, t: FloatArray) -> FloatArray:
    """E[(1 - e^(-mu t)) / mu] for mu ~ Gamma(s, scale): the expected time alive in (0, t].

    The integral of the survival function (scale / (scale + u))^s over u in (0, t):
    scale (1 - e^(-(s - 1) l)) / (s - 1) with l = log(1 + t / scale), and scale * l at s = 1.
    expm1 keeps it accurate for s near 1, and it is monotone in t as computed.
    """
    span = np.log1p(t / scale)
    if s == 1.0:
        out: FloatArray = scale * span
        return out
    out = scale * (-np.expm1(-(s - 1.0) * span) / (s - 1.0))
    return out


def expected_purchases(params: FloatArray, t: FloatArray) -> FloatArray:
    """E[X(t)] = (r / alpha) E[time alive in (0, t)] (Fader & Hardie 2005, eq. 27)."""
    r, alpha, s, beta = params
    out: FloatArray = r / alpha * _exposure(s, np.full_like(t, beta), t)
    return out


def conditional_expected_purchases(
    params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """E[Y(t) | x, t_x, T] = P(alive) (r + x) / (alpha + T) E[time alive in (T, T + t)].

    Fader & Hardie (2005), eq. 41: given alive at T, lambda ~ Gamma(r + x, alpha + T) and
    mu ~ Gamma(s, beta + T), independently.
    """
    r, alpha, s, beta = params
    alive = np.exp(log_probability_alive(params, x, t_x, T))
    out: FloatArray = alive * (r + x) / (alpha + T) * _exposure(s, beta + T, t)
    return out


def probability_alive_later(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """P(alive at T + t | x, t_x, T) = P(alive at T) ((beta + T) / (beta + T + t))^s.

    Given alive at T, mu ~ Gamma(s, beta + T) (the prior times the survival e^(-mu T)), and
    E[e^(-mu t)] is the Laplace transform of that gamma.
    """
    s, beta = params[2], params[3]
    log_alive = log_probability_alive(params, x, t_x, T) - s * np.log1p(t / (beta + T))
    out: FloatArray = np.exp(log_alive)
    return out


def probability_of_purchases(params: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
    """P(X(t) = n) for a customer just acquired (Fader & Hardie 2006, eqs. 2 and 4).

    Alive at t with n purchases, NB(n; r, alpha / (alpha + t)) (beta / (beta + t))^s; or dead
    at tau < t after n purchases, Gamma(r + n) alpha^r s beta^s / (Gamma(r) n!) times the
    integral over (0, t) of tau^n (alpha + tau)^-(r + n) (beta + tau)^-(s + 1).
    """
    r, alpha, s, beta = params
    out = np.where(n == 0, 1.0, 0.0)
    later = t > 0
    if not later.any():
        return out
    n_, t_ = n[later], t[later]
    log_count = _log_rising(r, n_) - special.gammaln(n_ + 1.0)
    alive = (
        log_count
        - r * np.log1p(t_ / alpha)
        + special.xlogy(n_, t_ / (alpha + t_))
        - s * np.log1p(t_ / beta)
    )
    dead = (
        log_count
        - n_ * math.log(alpha)
        + math.log(s / beta)
        + log_purchase_integral(r, alpha, s, beta, n_, t_)
    )
    out[later] = np.exp(alive) + np.exp(dead)
    return out


def discounted_expected_residual_transactions(
    params: FloatArray, delta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """DERT = P(alive) (r + x) / (alpha + T) E[1 / (delta + mu)], mu ~ Gamma(s, beta + T).

    Fader, Hardie & Lee (2005, "RFM and CLV", eq. 2 of the technical appendix): with
    omega = delta (beta + T), E[1 / (delta + mu)] = omega^s Psi(s, s; omega) / delta.
    The factor is computed once per distinct T (`log_discount_factor`).
    """
    r, alpha, s, beta = params
    log_factor = log_discount_factor(s, delta * (beta + T))
    log_alive = log_probability_alive(params, x, t_x, T)
    out: FloatArray = np.exp(
        log_alive + np.log(r + x) - np.log(alpha + T) - math.log(delta) + log_factor
    )
    return out


def sample(
    params: FloatArray, T: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw (frequency, recency) for customers of ages T, without a loop over customers.

    A customer buys N ~ Poisson(lambda h) times in (0, h], h = min(lifetime, T); given N, the
    purchase times are uniform on (0, h], so the last is h U^(1/N).
    """
    r, alpha, s, beta = params
    size = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=size)
    mu = rng.gamma(s, 1.0 / beta, size=size)
    with np.errstate(divide="ignore"):
        lifetime = rng.standard_exponential(size) / mu
    horizon = np.minimum(lifetime, T)
    n = rng.poisson(lam * horizon).astype(np.float64)
    last = 1.0 - rng.random(size)  # in (0, 1]
    with np.errstate(divide="ignore"):
        share = np.where(n > 0, last ** (1.0 / np.maximum(n, 1.0)), 0.0)
    tiny = np.finfo(np.float64).tiny
    recency = np.where(n > 0, np.maximum(horizon * share, tiny), 0.0)
    return n, np.minimum(recency, T)
