"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys as a Poisson process of rate lambda; she dies (becomes inactive
for good, unobserved) after an exponential lifetime of rate mu. Across customers lambda ~
Gamma(r, alpha) and mu ~ Gamma(s, beta), independently. The formulas, and why they are written
as they are, are in `retention_kit.models._paretonbd_math` (likelihood, predictions, sampling)
and `retention_kit.models._paretonbd_integrals` (the integrals they reduce to); this module
validates the inputs and dispatches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from .._errors import InvalidDataError
from .._typing import FloatArray
from .._validation import MAX_ROWS_SHOWN
from ..summary import CustomerSummary
from . import _paretonbd_math as pm
from ._base import Model, register
from ._mle import maximize_likelihood
from .bgnbd import _times

__all__ = ["ParetoNBD"]


# --- validation ---


def _per_row(t: ArrayLike, name: str, rows: int) -> FloatArray:
    """``t`` (>= 0) as one value per summary row: a scalar or an array of that length."""
    values = _times(t, name)
    if values.ndim > 1 or (values.ndim == 1 and values.size != rows):
        raise InvalidDataError(
            f"`{name}` must be a scalar or hold one value per summary row ({rows}): got shape "
            f"{values.shape}",
            field=name,
        )
    return np.broadcast_to(values, (rows,))


def _counts(n: ArrayLike) -> FloatArray:
    """``n`` as a float array of non-negative whole numbers."""
    values = _times(n, "n")
    flat = values.reshape(-1)
    whole = flat == np.floor(flat)
    if not whole.all():
        bad = np.flatnonzero(~whole)
        shown = "; ".join(f"position {i}, n={flat[i]!r}" for i in bad[:MAX_ROWS_SHOWN])
        raise InvalidDataError(
            f"`n` must be a whole number: {bad.size} of {flat.size} values break it "
            f"(first: {shown})",
            field="n",
            rows=tuple(int(i) for i in bad[:MAX_ROWS_SHOWN]),
        )
    return values


def _starting_points(x: FloatArray, T: FloatArray, w: FloatArray) -> list[list[float]]:
    """Two deterministic starts from the data, in the summary's time unit.

    The first sets the time scales alpha and beta to the mean age and r / alpha to the
    repeat-purchase rate sum(x) / sum(T) (a lower bound of the mean purchase rate), with
    r = s = 1; the second is the start lifetimes uses (every parameter 1, on time rescaled so
    that the oldest customer is 10 units old). The fit is on log-parameters, so a start's
    time scale is the same as a rescaling of time.
    """
    total = float(w.sum())
    exposure = float((w * T).sum())
    age = max(exposure / total, 1e-12)
    rate = max(float((w * x).sum()) / max(exposure, 1e-300), 0.01 / age)
    oldest = max(float(T.max()) / 10.0, 1e-12)
    return [[1.0, 1.0 / rate, 1.0, age], [1.0, oldest, 1.0, oldest]]


@register
@dataclass(frozen=True, slots=True, repr=False)
class ParetoNBD(Model):
    r"""The Pareto/NBD model of Schmittlein, Morrison & Colombo (1987).

    While alive, a customer buys as a Poisson process of rate lambda; her lifetime is
    exponential with rate mu, and her death is never observed. Across customers
    lambda ~ Gamma(shape r, rate alpha) and mu ~ Gamma(shape s, rate beta), independently (the
    lifetime is then Pareto of the second kind, hence the name).

    Parameters
    ----------
    r, alpha : float
        Shape and rate of the gamma heterogeneity of the purchase rate (alpha in the time unit
        of the data), > 0.
    s, beta : float
        Shape and rate of the gamma heterogeneity of the death rate (beta in the time unit of
        the data), > 0.
    fit_result : FitResult, optional
        Set by `fit`.
    unit : {"D", "W"} or None
        The time unit of ``alpha`` and ``beta`` and of the summaries the model predicts on;
        `fit` records the summary's unit. A model with unit None predicts on any summary.

    Raises
    ------
    InvalidDataError
        When a parameter is not a finite number > 0, or the unit is not "D", "W" or None.

    Notes
    -----
    The likelihood of a customer with x repeat purchases, the last at t_x, observed to T
    (Fader & Hardie 2005, eqs. 11-18) is

    .. math::

        L = \frac{\Gamma(r + x)\, \alpha^r \beta^s}{\Gamma(r)}
        \left[(\alpha + T)^{-(r + x)} (\beta + T)^{-s}
        + s \int_{t_x}^{T} (\alpha + y)^{-(r + x)} (\beta + y)^{-(s + 1)}\, dy\right]
        = \frac{\Gamma(r + x)\, \alpha^r \beta^s}{\Gamma(r)}
        \left[(r + x) J(r + x + 1, s; T) + s J(r + x, s + 1; t_x)\right],

    with :math:`J(a, b; t) = \int_t^\infty (\alpha + y)^{-a} (\beta + y)^{-b}\, dy`. The second
    form adds two positive terms (the customer died before buying again, or would have bought
    again only after T), so nothing cancels; each J is a 2F1 series of positive terms, or
    Gauss-Legendre quadrature where that series is slow, and stays accurate for customers
    with tens of thousands of purchases (lifetimes' implementation of the 2F1 form overflows
    to NaN for some customers with several hundred purchases or more). The fit maximizes it
    with an analytic gradient.

    The chance of being alive at T is the share of the first term of the first bracket (eqs.
    36-37); a customer alive at T has lambda ~ Gamma(r + x, alpha + T) and
    mu ~ Gamma(s, beta + T), independently, which gives every conditional prediction.

    References
    ----------
    .. [1] D. C. Schmittlein, D. G. Morrison and R. Colombo, "Counting Your Customers: Who Are
       They and What Will They Do Next?", Management Science 33(1), 1-24, 1987.
    .. [2] P. S. Fader and B. G. S. Hardie, "A Note on Deriving the Pareto/NBD Model and
       Related Expressions", 2005, http://brucehardie.com/notes/009/.
    .. [3] P. S. Fader and B. G. S. Hardie, "Deriving an Expression for P(X(t) = x) Under the
       Pareto/NBD Model", 2006, http://brucehardie.com/notes/012/.
    .. [4] P. S. Fader, B. G. S. Hardie and K. L. Lee, "RFM and CLV: Using Iso-Value Curves
       for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430, 2005.

    Examples
    --------
    >>> import retention_kit as rk
    >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
    ...                        observation_end="1997-09-30")
    >>> model = rk.ParetoNBD.fit(summary)
    >>> [round(v, 3) for v in model.parameters().values()]
    [0.553, 10.578, 0.606, 11.669]
    >>> round(model.fit_result.log_likelihood, 1)
    -9595.0
    """

    parameter_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    r: float
    alpha: float
    s: float
    beta: float

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
            The fit runs on the distinct (frequency, recency, T) rows with their summed
            weights, and evaluates each integral once per distinct (frequency, T) and
            (frequency, recency) pair, so a compressed summary gives the same result.
        initial : sequence of 4 floats, optional
            Starting (r, alpha, s, beta); by default two data-driven starts are tried and the
            best optimum wins.
        penalizer : float, default 0
            Coefficient of an L2 penalty on the parameters added to the mean negative
            log-likelihood.

        Returns
        -------
        ParetoNBD
            With ``fit_result`` set and ``unit`` the summary's unit.

        Raises
        ------
        InvalidDataError
            When ``summary`` is not a `CustomerSummary`, or is empty.
        FitError
            When no finite maximum of the likelihood is found.

        Warns
        -----
        ConvergenceWarning
            When the optimizer stops before converging or at the edge of the search box.

        Examples
        --------
        >>> import retention_kit as rk
        >>> truth = rk.ParetoNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, unit="W")
        >>> fitted = rk.ParetoNBD.fit(truth.sample(5000, 39.0, rng=1))
        >>> fitted.unit, fitted.fit_result.n_customers, fitted.fit_result.converged
        ('W', 5000, True)
        """
        summary = cls._check_summary(summary, "fit")
        if len(summary) == 0:
            raise InvalidDataError(
                "ParetoNBD.fit needs at least one customer: the summary is empty",
                field="summary",
            )
        data = cls._transaction_rows(summary)
        x, t_x, T, w = data.frequency, data.recency, data.T, data.weights()
        layout = pm.layout(x, t_x, T, distinct=True)

        def loglik(params: FloatArray) -> tuple[float, FloatArray]:
            return pm.total_log_likelihood(params, layout, w)

        starts = _starting_points(x, T, w) if initial is None else cls._start(initial)
        options = cls._fit_options(w, summary.unit, penalizer)
        theta, result = maximize_likelihood(loglik, starts, **options)
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
        >>> summary = rk.CustomerSummary([2, 0, 1500], [30.43, 0.0, 38.0], [38.86] * 3,
        ...                              unit="W")
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> model.log_likelihood(summary).round(4).tolist()
        [-9.5543, -0.521, 3636.3483]
        """
        summary = self._check_summary(summary, "log_likelihood")
        self._check_unit(summary)
        return pm.log_likelihood(self.params, summary.frequency, summary.recency, summary.T)

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
            One value per row, in (0, 1]; non-increasing in t.

        Raises
        ------
        InvalidDataError
            When the summary's unit is not the model's, or ``t`` is negative or not finite.

        Notes
        -----
        At T (Fader & Hardie 2005, eqs. 36-37),

        .. math::

            P(\text{alive} \mid x, t_x, T) = \frac{\Gamma(r + x)\, \alpha^r \beta^s}
            {\Gamma(r)\, L} (\alpha + T)^{-(r + x)} (\beta + T)^{-s}.

        Later: given alive at T, the death rate's posterior is the prior times the survival
        e^(-mu T), mu ~ Gamma(s, beta + T), whatever the purchases were (they only inform
        lambda). The chance of surviving t more units is its Laplace transform, so

        .. math::

            P(\text{alive at } T + t \mid x, t_x, T) = P(\text{alive} \mid x, t_x, T)
            \left(\frac{\beta + T}{\beta + T + t}\right)^s.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> model.probability_alive(summary).round(4).tolist()
        [0.8692, 0.2953]
        >>> model.probability_alive(summary, t=52.0).round(4).tolist()
        [0.5661, 0.1923]
        """
        summary = self._check_summary(summary, "probability_alive")
        self._check_unit(summary)
        later = _per_row(t, "t", len(summary))
        x, t_x, T = summary.frequency, summary.recency, summary.T
        return pm.probability_alive_later(self.params, x, t_x, T, later)

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

        Raises
        ------
        InvalidDataError
            When ``t`` is negative or not finite.

        Notes
        -----
        Fader & Hardie (2005), eq. 27:

        .. math::

            E[X(t)] = \frac{r \beta}{\alpha (s - 1)}
            \left[1 - \left(\frac{\beta}{\beta + t}\right)^{s - 1}\right],

        computed as (r / alpha) beta l (1 - e^(-(s - 1) l)) / ((s - 1) l) with
        l = log(1 + t / beta), which is finite at s = 1 (where it is (r / alpha) beta l).

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> model.expected_purchases([0.0, 39.0, 78.0]).round(4)
        array([0.    , 1.213 , 1.9094])
        """
        return pm.expected_purchases(self.params, _times(t, "t"))

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

        Raises
        ------
        InvalidDataError
            When the summary's unit is not the model's, or ``t`` is negative or not finite.

        Notes
        -----
        Fader & Hardie (2005), eq. 41: a customer alive at T buys at rate lambda while alive,
        with lambda ~ Gamma(r + x, alpha + T) and mu ~ Gamma(s, beta + T), so

        .. math::

            E[Y(t) \mid x, t_x, T] = P(\text{alive} \mid x, t_x, T)
            \frac{(r + x)(\beta + T)}{(\alpha + T)(s - 1)}
            \left[1 - \left(\frac{\beta + T}{\beta + T + t}\right)^{s - 1}\right],

        finite at s = 1 by the same rewriting as `expected_purchases`.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> model.conditional_expected_purchases(39.0, summary).round(4).tolist()
        [1.4551, 0.1071]
        """
        summary = self._check_summary(summary, "conditional_expected_purchases")
        self._check_unit(summary)
        times = _per_row(t, "t", len(summary))
        x, t_x, T = summary.frequency, summary.recency, summary.T
        return pm.conditional_expected_purchases(self.params, times, x, t_x, T)

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

        Raises
        ------
        InvalidDataError
            When ``n`` is not a non-negative whole number, or ``t`` is negative or not finite.

        Notes
        -----
        Fader & Hardie (2006), eqs. 2 and 4: alive at t after n purchases, or dead at
        tau < t after n purchases,

        .. math::

            P(X(t) = n) = \frac{\Gamma(r + n)}{\Gamma(r)\, n!}
            \left(\frac{\alpha}{\alpha + t}\right)^r \left(\frac{t}{\alpha + t}\right)^n
            \left(\frac{\beta}{\beta + t}\right)^s
            + \frac{\Gamma(r + n)\, \alpha^r s \beta^s}{\Gamma(r)\, n!}
            \int_0^t \frac{\tau^n}{(\alpha + \tau)^{r + n} (\beta + \tau)^{s + 1}}\, d\tau.

        The note writes the integral with 2F1 functions and a finite sum of alternating sign,
        which cancels badly for large n; here it is computed by Gauss-Legendre quadrature in
        log(tau), where its integrand is log-concave.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> model.probability_of_purchases([0, 1, 2], 39.0).round(4)
        array([0.5936, 0.1656, 0.0825])
        """
        counts = _counts(n)
        times = _times(t, "t")
        counts, times = np.broadcast_arrays(counts, times)
        shape = counts.shape
        out = pm.probability_of_purchases(self.params, counts.reshape(-1), times.reshape(-1))
        return out.reshape(shape)

    def discounted_expected_residual_transactions(
        self, summary: CustomerSummary, *, discount_rate: float
    ) -> FloatArray:
        r"""Return DERT, the discounted expected number of purchases of each customer's future.

        Parameters
        ----------
        summary : CustomerSummary
            In the model's unit.
        discount_rate : float
            The continuously compounded discount rate delta per unit of the model's time, > 0
            (an annual rate d is log(1 + d) / 52 per week).

        Returns
        -------
        ndarray
            One value per row: the integral over t > 0 of the expected purchase rate at
            T + t, discounted by e^(-delta t).

        Raises
        ------
        InvalidDataError
            When the summary's unit is not the model's, or ``discount_rate`` is not a finite
            number > 0.

        Notes
        -----
        Fader, Hardie & Lee (2005, "RFM and CLV", technical appendix, eq. 2):

        .. math::

            \mathrm{DERT}(\delta \mid x, t_x, T) = \frac{\alpha^r \beta^s \delta^{s - 1}
            \Gamma(r + x + 1)\, \Psi(s, s; \delta(\beta + T))}
            {\Gamma(r)\, (\alpha + T)^{r + x + 1}\, L(r, \alpha, s, \beta \mid x, t_x, T)},

        with Psi the confluent hypergeometric function of the second kind. Equivalently
        P(alive) (r + x) / (alpha + T) E[1 / (delta + mu)], mu ~ Gamma(s, beta + T): the
        expected purchase rate of a live customer times her expected discounted lifetime.
        With omega = delta (beta + T), delta E[1 / (delta + mu)] = omega^s Psi(s, s; omega)
        = the integral over v > 0 of e^(-v) (1 + v / omega)^(-s), which lies in (0, 1) and is
        computed by Gauss-Legendre quadrature in log(v) (its integrand is log-concave there),
        once per distinct T.

        Examples
        --------
        >>> import math
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> weekly = math.log(1.15) / 52  # 15% a year, compounded continuously
        >>> model.discounted_expected_residual_transactions(summary, discount_rate=weekly).round(4)
        array([6.5017, 0.4785])
        """
        summary = self._check_summary(summary, "discounted_expected_residual_transactions")
        self._check_unit(summary)
        if isinstance(discount_rate, bool) or not isinstance(
            discount_rate, int | float | np.integer | np.floating
        ):
            raise InvalidDataError(
                "The 'discount_rate' parameter of discounted_expected_residual_transactions "
                f"must be a number; got {discount_rate!r} instead.",
                field="discount_rate",
            )
        delta = float(discount_rate)
        if not (math.isfinite(delta) and delta > 0):
            raise InvalidDataError(
                "The 'discount_rate' parameter of discounted_expected_residual_transactions "
                f"must be finite and > 0; got {discount_rate!r} instead.",
                field="discount_rate",
            )
        x, t_x, T = summary.frequency, summary.recency, summary.T
        return pm.discounted_expected_residual_transactions(self.params, delta, x, t_x, T)

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
            In the model's unit ("D" when the model has none). Purchase times are continuous,
            as if recorded to the instant, so frequency counts every repeat purchase.

        Raises
        ------
        InvalidDataError
            When ``n_customers`` is not an integer >= 1 or ``T`` is not positive and finite,
            or does not hold one value per customer.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
        >>> summary = model.sample(1000, 39.0, rng=1)
        >>> summary.n_customers, summary.unit
        (1000, 'W')
        """
        count = self._customer_count(n_customers)  # checked before T
        return self._sample_summary(count, _times(T, "T"), rng, pm.sample, list_bad_ages=True)
