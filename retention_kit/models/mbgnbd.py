"""The MBG/NBD model (Batislam, Denizel & Filiztekin 2007): BG/NBD with a drop-out at time 0.

While alive, a customer buys as a Poisson process of rate lambda; at time 0 and right after
each purchase she becomes inactive with probability p. Across customers lambda ~ Gamma(r,
alpha) and p ~ Beta(a, b). The only change from BG/NBD (Fader, Hardie & Lee 2005) is the
drop-out opportunity at time 0, which makes a customer with no repeat purchase less than
surely alive.

Much of the model is BG/NBD in disguise: a customer who survives time 0 (probability
b / (a + b)) has p ~ Beta(a, b + 1) and behaves like a BG/NBD customer from then on. The
predictions for the future of a customer alive at T are therefore BG/NBD formulas with b + 1 in
place of b; this module states each formula in its own terms and cites both papers.

The math lives in module-level vectorized functions of plain arrays; `MBGNBD` validates and
dispatches, with the argument checks and the starting points of the fit of BG/NBD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .._errors import InvalidDataError
from .._typing import FloatArray
from .._validation import MAX_ROWS_SHOWN
from ..summary import CustomerSummary
from ._base import Model, register
from ._given_alive import log_expected_purchases, log_survival
from ._mle import maximize_likelihood
from ._special import softplus
from .bgnbd import _per_row, _starting_points, _times, _WeightedLikelihood

__all__ = ["MBGNBD"]


# --- the math: vectorized functions of x (frequency), t_x (recency) and T ---


def _per_frequency(params: FloatArray, xs: FloatArray) -> tuple[FloatArray, ...]:
    """Return the parts of the likelihood and its gradient that depend on x alone.

    Per distinct x: the common log-factor
    log[Gamma(r + x) alpha^r / Gamma(r) B(a, b + x + 1) / B(a, b)], log(a / (b + x)), and the
    derivatives of the common factor in r, a and b.
    """
    r, alpha, a, b = params
    common = (
        special.gammaln(r + xs)
        - special.gammaln(r)
        + r * math.log(alpha)
        + special.betaln(a, b + xs + 1.0)
        - special.betaln(a, b)
    )
    log_odds = math.log(a) - np.log(b + xs)
    psi_ab = special.digamma(a + b)
    psi_tail = special.digamma(a + b + xs + 1.0)
    d_r = special.digamma(r + xs) - special.digamma(r) + math.log(alpha)
    d_a = psi_ab - psi_tail
    d_b = special.digamma(b + xs + 1.0) - special.digamma(b) + psi_ab - psi_tail
    return common, log_odds, d_r, d_a, d_b


def _branches(
    params: FloatArray, x: FloatArray, log_odds: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return the two branches of the likelihood's bracket in logs, and the log ages used.

    L = Gamma(r + x) alpha^r / Gamma(r) * [B(a, b + x + 1) / B(a, b)]
        * [(alpha + T)^-(r + x) + a / (b + x) * (alpha + t_x)^-(r + x)]

    The first branch is "alive at T", the second "dropped out right after the last purchase"
    (at time 0 when x = 0).
    """
    r, alpha = params[0], params[1]
    log_age = np.log(alpha + T)
    log_last = np.log(alpha + t_x)
    alive = -(r + x) * log_age
    dropped = log_odds - (r + x) * log_last
    return alive, dropped, log_age, log_last


def _row_gradient(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    parts: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return the row-dependent parts of the gradient in (r, alpha, a, b).

    With w the posterior weight of the "alive" branch (P(alive at T)) and 1 - w that of the
    "dropped" branch, each derivative is that of the common factor plus the w-weighted
    derivatives of the branches.
    """
    r, alpha, a, b = params
    alive, dropped, log_age, log_last = parts
    w = special.expit(alive - dropped)
    dropped_w = 1.0 - w  # used as a weight: its absolute error (1e-16) is what matters
    d_r = -(w * log_age + dropped_w * log_last)
    d_alpha = r / alpha - (r + x) * (w / (alpha + T) + dropped_w / (alpha + t_x))
    d_a = dropped_w / a
    d_b = -dropped_w / (b + x)
    return d_r, d_alpha, d_a, d_b


def log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Per-row log-likelihood (Batislam et al. 2007, eq. 4; lifetimes' form)."""
    xs, index = np.unique(x, return_inverse=True)
    common, log_odds = _per_frequency(params, xs)[:2]
    alive, dropped, _, _ = _branches(params, x, log_odds[index], t_x, T)
    out: FloatArray = common[index] + np.logaddexp(alive, dropped)
    return out


def log_likelihood_gradient(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Partial derivatives of `log_likelihood` in (r, alpha, a, b): shape (4, rows)."""
    xs, index = np.unique(x, return_inverse=True)
    _, log_odds, c_r, c_a, c_b = _per_frequency(params, xs)
    parts = _branches(params, x, log_odds[index], t_x, T)
    d_r, d_alpha, d_a, d_b = _row_gradient(params, x, t_x, T, parts)
    return np.stack([d_r + c_r[index], d_alpha, d_a + c_a[index], d_b + c_b[index]])


def log_probability_alive(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """Return log P(alive at T | x, t_x, T).

    P = 1 / (1 + a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x)).

    Batislam et al. (2007), Appendix, eq. 5; less than 1 even when x = 0.
    """
    r, alpha, a, b = params
    log_odds = np.log(a) - np.log(b + x) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    out: FloatArray = -softplus(log_odds)
    return out


def log_survival_given_alive(
    params: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """Return log P(still alive at T + t | alive at T, x, T) = log E[exp(-lambda p t)].

    Given alive at T, lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x + 1), independent.
    A live customer drops out at rate lambda p (her purchases, thinned by p), so

    E[exp(-lambda p t)] = E_p[(1 + p t / (alpha + T))^-(r + x)]
        = 2F1(r + x, a; a + b + x + 1; -t / (alpha + T))
        = ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x + 1; a + b + x + 1; z),

    z = t / (alpha + T + t) (Euler's integral, then Pfaff's transformation).
    """
    r, alpha, a, b = params
    return log_survival(r + x, a, b + x + 1.0, t / (alpha + T))


def log_purchases_given_alive(
    params: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """Return log E[purchases in (T, T + t] | alive at T] (the bracket of Wagner & Hoppe 2008).

    For a live customer E[Y(t) | lambda, p] = (1 - exp(-lambda p t)) / p; over the posterior
    (lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x + 1)):

    (a + b + x) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
                               * 2F1(r + x, b + x + 1; a + b + x; t / (alpha + T + t))],

    evaluated without the cancellation of that closed form (see `_given_alive`).
    """
    r, alpha, a, b = params
    return log_expected_purchases(r + x, a, b + x + 1.0, t / (alpha + T))


def expected_purchases(params: FloatArray, t: FloatArray) -> FloatArray:
    """E[X(t)] = b / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b + 1; a + b; t / (alpha + t))].

    Batislam et al. (2007), eq. 7: the chance b / (a + b) of surviving time 0 times the
    expectation of a live customer of age 0, whose p ~ Beta(a, b + 1).
    """
    r, alpha, a, b = params
    out: FloatArray = np.exp(
        math.log(b / (a + b)) + log_expected_purchases(r, a, b + 1.0, t / alpha)
    )
    return out


def probability_of_purchases(params: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
    """P(X(t) = n) for a customer just acquired.

    Conditioning on (lambda, p): alive at t after n purchases, (1 - p)^(n + 1) Poisson(n;
    lambda t); or dropped out right after the n-th purchase (at time 0 when n = 0),
    (1 - p)^n p P(N(t) >= n). Integrating,

    P(X(t) = n) = B(a, b + n + 1) / B(a, b) NB(n; r, alpha / (alpha + t))
                + B(a + 1, b + n) / B(a, b) P(NB >= n),

    with NB the negative binomial count of the gamma-Poisson purchases and P(NB >= n) the
    regularized incomplete beta I_{t / (alpha + t)}(n, r) (1 when n = 0).
    """
    r, alpha, a, b = params
    # B(a, b + n + 1) / B(a, b) = b / (a + b) * B(a, b + n + 1) / B(a, b + 1), and
    # B(a + 1, b + n) / B(a, b) = a / (a + b) * B(a + 1, b + n) / B(a + 1, b): exact at n = 0.
    survive_start = (
        math.log(b / (a + b)) + special.betaln(a, b + n + 1.0) - special.betaln(a, b + 1.0)
    )
    drop_start = (
        math.log(a / (a + b)) + special.betaln(a + 1.0, b + n) - special.betaln(a + 1.0, b)
    )
    log_nb = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1.0)
        - r * np.log1p(t / alpha)
        + special.xlogy(n, t / (alpha + t))
    )
    at_least_n = np.where(n > 0, special.betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 1.0)
    with np.errstate(divide="ignore"):
        dropped = drop_start + np.log(at_least_n)
    total = np.minimum(np.exp(np.logaddexp(survive_start + log_nb, dropped)), 1.0)
    # At t = 0 nobody has bought yet: P(X(0) = 0) = 1.
    out: FloatArray = np.where(t > 0, total, n == 0)
    return out


def _sample(
    params: FloatArray, T: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw (frequency, recency) for customers of ages T, without a loop over customers.

    A customer who survives time 0 makes K ~ Geometric(p) purchases before dropping out
    (she leaves right after the K-th); by T she has made x = min(K, N) of the N ~ Poisson(
    lambda T) purchases a live customer would make. Given N = n, purchase times are uniform
    order statistics on (0, T], so the x-th is T * Beta(x, n - x + 1).
    """
    r, alpha, a, b = params
    size = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=size)
    p = np.clip(rng.beta(a, b, size=size), np.finfo(np.float64).tiny, 1.0)
    alive_at_start = rng.random(size) >= p
    u = rng.random(size)
    with np.errstate(divide="ignore"):
        purchases_before_drop = 1.0 + np.floor(np.log1p(-u) / np.log1p(-p))
    n = rng.poisson(lam * T).astype(np.float64)
    x = np.where(alive_at_start, np.minimum(n, purchases_before_drop), 0.0)
    bought = x > 0
    share = np.zeros(size)
    share[bought] = rng.beta(x[bought], n[bought] - x[bought] + 1.0)
    recency = np.where(bought, np.maximum(share * T, np.finfo(np.float64).tiny), 0.0)
    return x, np.minimum(recency, T)


@register
@dataclass(frozen=True, slots=True, repr=False)
class MBGNBD(Model):
    r"""The MBG/NBD model of Batislam, Denizel & Filiztekin (2007).

    BG/NBD (Fader, Hardie & Lee 2005) with one more drop-out opportunity, at time 0: while
    alive, a customer buys as a Poisson process of rate lambda; at time 0 and right after
    each repeat purchase she becomes inactive for good with probability p. Across customers
    lambda ~ Gamma(shape r, rate alpha) and p ~ Beta(a, b). Unlike BG/NBD, a customer who
    never came back is not certainly alive.

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
    (Batislam et al. 2007, eq. 4) is

    .. math::

        L = \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)}
            \frac{B(a, b + x + 1)}{B(a, b)}
            \left[(\alpha + T)^{-(r + x)} + \frac{a}{b + x} (\alpha + t_x)^{-(r + x)}\right],

    and P(alive at T) is the share of the first term in the bracket (their eq. 5). The
    conditional expectation follows the erratum of Wagner & Hoppe (2008).

    References
    ----------
    .. [1] E. P. Batislam, M. Denizel and A. Filiztekin, "Empirical validation and comparison
       of models for customer base analysis", International Journal of Research in
       Marketing 24(3), 201-209, 2007.
    .. [2] U. Wagner and D. Hoppe, "Erratum on the MBG/NBD model", International Journal of
       Research in Marketing 25(3), 225-226, 2008.
    .. [3] P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your Customers' the Easy
       Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.

    Examples
    --------
    >>> import retention_kit as rk
    >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
    ...                        observation_end="1997-09-30")
    >>> model = rk.MBGNBD.fit(summary)
    >>> [round(v, 3) for v in model.parameters().values()]
    [0.525, 6.183, 0.891, 1.614]
    >>> round(model.fit_result.log_likelihood, 1)
    -9582.1
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
            Starting (r, alpha, a, b); by default two data-driven starts are tried.
        penalizer : float, default 0
            Coefficient of an L2 penalty on the parameters added to the mean negative
            log-likelihood.

        Returns
        -------
        MBGNBD
            With ``fit_result`` set and ``unit`` the summary's unit.

        Raises
        ------
        FitError
            When no finite maximum of the likelihood is found.

        Warns
        -----
        ConvergenceWarning
            When the optimizer stops before converging or at the edge of the search box.

        Examples
        --------
        >>> import retention_kit as rk
        >>> truth = rk.MBGNBD(r=0.5, alpha=6.0, a=0.9, b=1.6)
        >>> summary = truth.sample(20_000, 52.0, rng=1)
        >>> fitted = rk.MBGNBD.fit(summary)
        >>> fitted.unit, fitted.fit_result.n_customers
        ('D', 20000)
        """
        data = summary.compress()
        x, t_x, T, w = data.frequency, data.recency, data.T, data.weights()
        starts = _starting_points(x, T, w) if initial is None else cls._start(initial)
        likelihood = _WeightedLikelihood.build(x, t_x, T, w, shift=1.0)
        options = cls._fit_options(w, summary.unit, penalizer)
        theta, result = maximize_likelihood(likelihood, starts, **options)
        return cls._fitted(theta, result, summary.unit)

    def log_likelihood(self, summary: CustomerSummary) -> FloatArray:
        """Return each row's log-likelihood, for one customer of that row.

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
        >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
        >>> model.log_likelihood(summary).round(4).tolist()
        [-9.4856, -0.5398]
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
        Batislam et al. (2007), eq. 7:

        .. math::

            E[X(t)] = \frac{b}{a - 1}\left[1 - \left(\frac{\alpha}{\alpha + t}\right)^r
            {}_2F_1\left(r, b + 1; a + b; \frac{t}{\alpha + t}\right)\right],

        finite for every a > 0 (at a = 1 the bracket vanishes with a - 1).

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
        >>> model.expected_purchases([0.0, 39.0, 78.0]).round(4)
        array([0.    , 1.183 , 1.8048])
        """
        times = _times(t, "t")
        return expected_purchases(self.params, times)

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
        Batislam et al. (2007), eq. 8 as corrected by Wagner & Hoppe (2008):

        .. math::

            E[Y(t) \mid x, t_x, T] = P(\text{alive}) \frac{a + b + x}{a - 1}
            \left[1 - \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
            {}_2F_1\left(r + x, b + x + 1; a + b + x; \frac{t}{\alpha + T + t}\right)\right].

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
        >>> model.conditional_expected_purchases(39.0, summary).round(4).tolist()
        [1.263, 0.154]
        """
        self._check_unit(summary)
        times = _per_row(t, len(summary))
        x, T = summary.frequency, summary.T
        log_alive = log_probability_alive(self.params, x, summary.recency, T)
        out: FloatArray = np.exp(log_alive + log_purchases_given_alive(self.params, x, T, times))
        return out

    def probability_alive(self, summary: CustomerSummary, *, t: ArrayLike = 0.0) -> FloatArray:
        r"""Return the probability that each customer is alive at T + t.

        Parameters
        ----------
        summary : CustomerSummary
            In the model's unit.
        t : float or array-like, default 0
            Time after the end of observation, >= 0; a scalar or one value per row. With
            t = 0, the probability of being alive at T.

        Returns
        -------
        ndarray
            One value per row, in (0, 1): below 1 even with no repeat purchase, since a
            customer may drop out at time 0.

        Notes
        -----
        At T (Batislam et al. 2007, eq. 5):

        .. math::

            P(\text{alive} \mid x, t_x, T) = \left[1 + \frac{a}{b + x}
            \left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}\right]^{-1}.

        A customer alive at T has lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x + 1),
        and drops out at rate lambda p, so she is still alive at T + t with probability

        .. math::

            E[e^{-\lambda p t}] = \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
            {}_2F_1\left(r + x, b + x + 1; a + b + x + 1; \frac{t}{\alpha + T + t}\right).

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
        >>> model.probability_alive(summary).round(4).tolist()
        [0.7062, 0.3897]
        >>> model.probability_alive(summary, t=52.0).round(4).tolist()
        [0.4927, 0.3447]
        """
        self._check_unit(summary)
        times = _per_row(t, len(summary))
        x, T = summary.frequency, summary.T
        log_alive = log_probability_alive(self.params, x, summary.recency, T)
        out: FloatArray = np.exp(log_alive + log_survival_given_alive(self.params, x, T, times))
        return out

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
        Given (lambda, p), a customer ends (0, t] with n purchases either alive,
        (1 - p)^(n+1) (lambda t)^n e^(-lambda t) / n!, or dropped out right after her n-th
        purchase, (1 - p)^n p P(N(t) >= n) (at time 0 when n = 0). Integrating over the
        heterogeneity,

        .. math::

            P(X(t) = n) = \frac{B(a, b + n + 1)}{B(a, b)}
            \frac{\Gamma(r + n)}{\Gamma(r)\, n!}
            \left(\frac{\alpha}{\alpha + t}\right)^r \left(\frac{t}{\alpha + t}\right)^n
            + \frac{B(a + 1, b + n)}{B(a, b)}\, I_{t / (\alpha + t)}(n, r),

        with I the regularized incomplete beta function (the chance that the negative binomial
        count of purchases reaches n; 1 when n = 0). This is lifetimes' formula, with the
        finite sum written as the incomplete beta.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
        >>> model.probability_of_purchases([0, 1, 2], 39.0).round(4)
        array([0.5825, 0.1828, 0.0869])
        """
        counts = np.asarray(n)
        if counts.dtype.kind not in "biuf":
            raise InvalidDataError(f"`n` must be numeric: got dtype {counts.dtype}", field="n")
        counts = counts.astype(np.float64)
        flat = counts.reshape(-1)
        ok = np.isfinite(flat) & (flat >= 0) & (flat == np.floor(flat))
        if not ok.all():
            bad = np.flatnonzero(~ok)
            raise InvalidDataError(
                f"`n` must be a non-negative integer: {bad.size} of {flat.size} values break "
                f"it (first: position {bad[0]}, n={flat[bad[0]]!r})",
                field="n",
                rows=tuple(int(i) for i in bad[:MAX_ROWS_SHOWN]),
            )
        times = _times(t, "t")
        counts, times = np.broadcast_arrays(counts, times)
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

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
        >>> summary = model.sample(1000, 39.0, rng=1)
        >>> summary.n_customers, summary.unit
        (1000, 'W')
        """
        count = self._customer_count(n_customers)  # checked before T
        return self._sample_summary(count, _times(T, "T"), rng, _sample)
