"""The Gamma-Gamma model of the mean spend per purchase (Fader, Hardie & Lee 2005).

A customer's purchases have amounts z_1, ..., z_x drawn from a gamma distribution with shape p
and rate nu; nu varies across customers as a gamma with shape q and rate v. Only the mean
zbar of a customer's x repeat purchases enters the likelihood. The model assumes spend per
purchase is independent of how often a customer buys; `GammaGamma.fit` checks that assumption
on the data and warns when it looks broken.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from .._errors import InvalidDataError, SpendCorrelationWarning
from .._typing import FloatArray
from .._validation import check_rows
from ..summary import CustomerSummary
from ._base import Model, register
from ._mle import distinct_frequencies, dot, maximize_likelihood, sum_by
from ._special import log_gamma_ratio

__all__ = ["CORRELATION_THRESHOLD", "GammaGamma"]

CORRELATION_THRESHOLD = 0.3
"""`GammaGamma.fit` warns when |Pearson r| of frequency and mean spend exceeds this."""


# --- the math: vectorized functions of repeat buyers' frequency x > 0 and mean spend m > 0 ---


def _log_likelihood(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Log-density of the mean spend m of x purchases, marginal over nu (one value per row).

    log f(m | p, q, v; x) = log G(px + q) - log G(px) - log G(q) + q log v
    + (px - 1) log m + px log x - (px + q) log(v + x m).
    """
    p, q, v = params
    px = p * x
    values: FloatArray = (
        log_gamma_ratio(px, q)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m)
    )
    return values


@dataclass(frozen=True, slots=True)
class _WeightedLikelihood:
    """The weighted total log-likelihood and its gradient, for the optimizer.

    The gamma and digamma terms depend on x alone and are computed once per distinct frequency;
    the terms in m alone are summed once. Per row there remain one log and one reciprocal of
    v + x m per evaluation.
    """

    frequencies: FloatArray
    per_frequency: FloatArray
    spent: FloatArray
    w: FloatArray
    wx: FloatArray
    total_weight: float
    wx_log_spent: float
    w_log_m: float

    @classmethod
    def build(cls, x: FloatArray, m: FloatArray, w: FloatArray) -> _WeightedLikelihood:
        frequencies, index = distinct_frequencies(x)
        per_frequency = sum_by(index, w, frequencies.size)
        spent = x * m
        wx = w * x
        return cls(
            frequencies=frequencies,
            per_frequency=per_frequency,
            spent=spent,
            w=w,
            wx=wx,
            total_weight=float(w.sum()),
            wx_log_spent=dot(wx, np.log(spent)),
            w_log_m=dot(w, np.log(m)),
        )

    def __call__(self, params: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = (float(value) for value in params)
        xs, per_x, total = self.frequencies, self.per_frequency, self.total_weight
        wx_log_spent, w_log_m = self.wx_log_spent, self.w_log_m
        px = p * xs
        common = digamma(px + q)
        log_v = math.log(v)
        log_total = np.log(v + self.spent)
        inverse = 1.0 / (v + self.spent)
        w_log, wx_log = dot(self.w, log_total), dot(self.wx, log_total)
        # (p x - 1) log m + p x log x - (p x + q) log(v + x m), summed over the rows
        value = p * (wx_log_spent - wx_log) - w_log_m - q * w_log
        value += float(per_x @ log_gamma_ratio(px, q)) - total * (gammaln(q) - q * log_v)
        d_p = float((per_x * xs) @ (common - digamma(px))) - wx_log + wx_log_spent
        d_q = float(per_x @ common) - total * (digamma(q) - log_v) - w_log
        d_v = total * q / v - p * dot(self.wx, inverse) - q * dot(self.w, inverse)
        return value, np.array([d_p, d_q, d_v])


def _conditional_expected_spend(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """E[Z | x, m] = p (v + x m) / (p x + q - 1), finite where p x + q > 1."""
    p, q, v = params
    result: FloatArray = p * (v + x * m) / (p * x + q - 1.0)
    return result


def _weighted_correlation(x: FloatArray, m: FloatArray, w: FloatArray) -> float | None:
    """Weighted Pearson correlation of x and m; None when either has no spread."""
    total = w.sum()
    dx = x - dot(w, x) / total
    dm = m - dot(w, m) / total
    var_x = dot(w, dx * dx)
    var_m = dot(w, dm * dm)
    scale = math.sqrt(var_x * var_m)
    if not scale > 0.0:
        return None
    r = dot(w, dx * dm) / scale
    return min(1.0, max(-1.0, r))


# --- data checks ---


def _spend_columns(summary: CustomerSummary, caller: str) -> tuple[FloatArray, FloatArray]:
    """Return (frequency, monetary_value), refusing a missing column or a repeat spend <= 0."""
    if not isinstance(summary, CustomerSummary):
        raise InvalidDataError(
            f"GammaGamma.{caller} needs a CustomerSummary with `monetary_value`; got "
            f"{type(summary).__name__}",
            field="summary",
        )
    if summary.monetary_value is None:
        raise InvalidDataError(
            f"GammaGamma.{caller} needs the summary's `monetary_value` (the mean spend of the "
            "repeat purchases); summarize transactions that have amounts",
            field="monetary_value",
        )
    x, m = summary.frequency, summary.monetary_value
    check_rows(
        (x == 0) | (m > 0),
        "monetary_value",
        "must be > 0 for customers with repeat purchases (frequency > 0)",
        {"frequency": x, "monetary_value": m},
        hint="The gamma spend model needs positive amounts; drop or fix those customers",
    )
    return x, m


def _repeat_buyers(
    summary: CustomerSummary, caller: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Frequency, mean spend and weight of the rows with frequency > 0."""
    x, m = _spend_columns(summary, caller)
    repeat = x > 0
    if not repeat.any():
        raise InvalidDataError(
            f"GammaGamma.{caller} needs customers with repeat purchases (frequency > 0): "
            f"none of the {len(summary)} rows has one",
            field="frequency",
        )
    return x[repeat], m[repeat], summary.weights()[repeat]


def _starting_points(x: FloatArray, m: FloatArray, w: FloatArray) -> list[list[float]]:
    """Data-driven starts: the population mean spend p v / (q - 1) matches the weighted mean.

    For customers with many purchases m is close to p / nu, an inverse gamma of shape q whose
    squared coefficient of variation is 1 / (q - 2); that suggests q. Two values of p cover
    a spend per purchase that is homogeneous (large p) or very dispersed (small p) within a
    customer.
    """
    mean = dot(w, m) / float(w.sum())
    cv2 = dot(w, (m - mean) ** 2) / float(w.sum()) / mean**2
    q = 2.0 + 1.0 / cv2 if cv2 > 0 else 10.0
    q = min(max(q, 2.5), 100.0)
    return [[p, q, mean * (q - 1.0) / p] for p in (1.0, 10.0)]


@register
@dataclass(frozen=True, slots=True, repr=False)
class GammaGamma(Model):
    r"""The Gamma-Gamma model of the mean spend per purchase.

    Each purchase of a customer has an amount drawn from a gamma distribution with shape ``p``
    and rate nu; across customers nu is gamma distributed with shape ``q`` and rate ``v``
    (Fader & Hardie's gamma). The model has no time unit: it describes the amount of a purchase,
    not when it happens, and pairs with a transaction model in
    `retention_kit.customer_lifetime_value`.

    Parameters
    ----------
    p : float
        Shape of the spend of one purchase, > 0.
    q : float
        Shape of the heterogeneity of the spend rate nu, > 0. The population mean spend
        ``p v / (q - 1)`` exists only when q > 1.
    v : float
        Rate of the heterogeneity of nu (scale of spend, in the currency's units), > 0.
    fit_result : FitResult, optional
        Set by `fit`.
    unit : None
        Always None: a spend model has no time unit.

    Raises
    ------
    InvalidDataError
        When a parameter is not a finite number > 0, or a unit is given.

    Notes
    -----
    With x repeat purchases of mean zbar, zbar given nu is gamma with shape p x and rate nu x.
    Mixing over nu gives the density the fit maximizes (Fader & Hardie 2013, the marginal
    distribution of zbar),

    .. math::

        f(\bar z \mid p, q, v; x) = \frac{\Gamma(px + q)}{\Gamma(px)\,\Gamma(q)}
        \frac{v^q\, \bar z^{px - 1} x^{px}}{(v + x \bar z)^{px + q}},

    and the posterior mean spend (their equation 5), a weighted average of the population mean
    and the customer's own mean,

    .. math::

        E[Z \mid p, q, v; x, \bar z] = \frac{q - 1}{px + q - 1} \frac{pv}{q - 1}
        + \frac{px}{px + q - 1} \bar z = \frac{p (v + x \bar z)}{px + q - 1}.

    The model assumes the spend per purchase is independent of the number of purchases; see
    `spend_frequency_correlation`.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "RFM and CLV: Using Iso-Value Curves for
       Customer Base Analysis", Journal of Marketing Research 42(4), 415-430, 2005.
    .. [2] P. S. Fader and B. G. S. Hardie, "The Gamma-Gamma Model of Monetary Value", 2013,
       http://brucehardie.com/notes/025/.

    Examples
    --------
    >>> import retention_kit as rk
    >>> model = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
    >>> model
    GammaGamma(p=6.25, q=3.74, v=15.44, unit=None)
    >>> round(model.expected_spend(), 2)
    35.22
    """

    parameter_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    p: float
    q: float
    v: float

    def __post_init__(self) -> None:
        Model.__post_init__(self)
        if self.unit is not None:
            raise InvalidDataError(
                "The 'unit' parameter of GammaGamma must be None (a spend model has no time "
                f"unit); got {self.unit!r} instead.",
                field="unit",
            )

    @classmethod
    def fit(
        cls,
        summary: CustomerSummary,
        *,
        initial: Sequence[float] | None = None,
        penalizer: float = 0.0,
    ) -> GammaGamma:
        """Fit the model by maximum likelihood on the customers with repeat purchases.

        Parameters
        ----------
        summary : CustomerSummary
            With ``monetary_value``, the mean spend of each customer's repeat purchases (the
            first purchase excluded, as `retention_kit.summarize` computes it). Rows with
            frequency 0 carry no spend information and are left out; a compressed summary gives
            the same fit as the original.
        initial : sequence of 3 floats, optional
            Starting values for (p, q, v); by default two data-driven starts are tried.
        penalizer : float, default 0
            Coefficient of an L2 penalty on (p, q, v) added to the mean negative
            log-likelihood.

        Returns
        -------
        GammaGamma
            With ``fit_result`` set; its ``n_customers`` counts the repeat buyers.

        Raises
        ------
        InvalidDataError
            When the summary has no ``monetary_value``, no customer with frequency > 0, or a
            repeat buyer whose mean spend is not > 0.
        FitError
            When no finite maximum of the likelihood is found.

        Warns
        -----
        SpendCorrelationWarning
            When the Pearson correlation of frequency and mean spend among repeat buyers
            exceeds `CORRELATION_THRESHOLD` (0.3) in absolute value: the model's independence
            assumption is then doubtful.
        ConvergenceWarning
            When the optimizer stops before converging.

        Examples
        --------
        Spends simulated from the model with p = 6, q = 4, v = 20, refitted:

        >>> import numpy as np
        >>> import retention_kit as rk
        >>> rng = np.random.default_rng(1)
        >>> x = rng.integers(1, 10, size=2000)
        >>> nu = rng.gamma(4.0, 1 / 20.0, size=2000)
        >>> mean_spend = rng.gamma(6.0 * x, 1 / (nu * x))
        >>> summary = rk.CustomerSummary(x, np.ones(2000), np.full(2000, 2.0),
        ...                              monetary_value=mean_spend, unit="W")
        >>> model = rk.GammaGamma.fit(summary)
        >>> round(model.p, 2), round(model.q, 2), round(model.v, 2)
        (6.99, 3.83, 16.27)
        >>> round(model.fit_result.std_errors["v"], 2)
        4.01
        """
        x, m, w = _repeat_buyers(summary, "fit")
        r = _weighted_correlation(x, m, w)
        if r is not None and abs(r) > CORRELATION_THRESHOLD:
            warnings.warn(
                f"Frequency and mean spend of the repeat buyers are correlated (Pearson r = "
                f"{r:.3f}, |r| > {CORRELATION_THRESHOLD}); the Gamma-Gamma model assumes they "
                "are independent, so its spend estimates may be biased.",
                SpendCorrelationWarning,
                stacklevel=2,
            )

        loglik = _WeightedLikelihood.build(x, m, w)
        starts = _starting_points(x, m, w) if initial is None else cls._start(initial)
        theta, result = maximize_likelihood(loglik, starts, **cls._fit_options(w, None, penalizer))
        return cls._fitted(theta, result, None)

    def log_likelihood(self, summary: CustomerSummary) -> FloatArray:
        """Return each row's log-likelihood of its mean spend.

        Parameters
        ----------
        summary : CustomerSummary
            With ``monetary_value``.

        Returns
        -------
        ndarray
            One value per row, for one customer of that row (not multiplied by the weight).
            Rows with frequency 0 have no repeat spend to explain and get 0, so the weighted
            sum over the summary is the likelihood `fit` maximizes.

        Raises
        ------
        InvalidDataError
            When ``monetary_value`` is missing or not > 0 for a repeat buyer.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86],
        ...                              monetary_value=[22.35, 0.0], unit="W")
        >>> rk.GammaGamma(p=6.25, q=3.74, v=15.44).log_likelihood(summary).round(4).tolist()
        [-3.5513, 0.0]
        """
        x, m = _spend_columns(summary, "log_likelihood")
        out = np.zeros(len(summary))
        repeat = x > 0
        out[repeat] = _log_likelihood(self.params, x[repeat], m[repeat])
        return out

    def expected_spend(self) -> float:
        """Return the population mean spend per purchase, p v / (q - 1).

        It is also the expected spend of a customer without repeat purchases.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            When q <= 1: the mean spend is then infinite.

        Examples
        --------
        >>> import retention_kit as rk
        >>> round(rk.GammaGamma(p=6.25, q=3.74, v=15.44).expected_spend(), 3)
        35.219
        """
        if self.q <= 1.0:
            raise ValueError(
                f"The population mean spend p v / (q - 1) is infinite when q <= 1; got "
                f"q={self.q!r}."
            )
        return self.p * self.v / (self.q - 1.0)

    def conditional_expected_spend(self, summary: CustomerSummary) -> FloatArray:
        """Return each customer's expected spend per purchase given their repeat purchases.

        Parameters
        ----------
        summary : CustomerSummary
            With ``monetary_value``; only ``frequency`` and ``monetary_value`` are used.

        Returns
        -------
        ndarray
            One value per row: the weighted average of the population mean p v / (q - 1) and
            the customer's mean spend, with weight p x / (p x + q - 1) on the customer's own
            mean. Customers without repeat purchases get the population mean.

        Raises
        ------
        InvalidDataError
            When ``monetary_value`` is missing or not > 0 for a repeat buyer.
        ValueError
            When q <= 1 and a row has p x + q <= 1 (every customer without repeat purchases):
            the expected spend is then infinite.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86],
        ...                              monetary_value=[22.35, 0.0], unit="W")
        >>> model = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
        >>> model.conditional_expected_spend(summary).round(2).tolist()
        [24.66, 35.22]
        """
        x, m = _spend_columns(summary, "conditional_expected_spend")
        finite = self.p * x + self.q > 1.0
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(
                f"The expected spend is infinite when p x + q <= 1 (q={self.q!r} <= 1: the "
                f"population mean spend does not exist): {bad.size} of {len(summary)} rows "
                f"(first: rows {bad[:5].tolist()}, frequency {x[bad[:5]].tolist()})."
            )
        return _conditional_expected_spend(self.params, x, m)

    @staticmethod
    def spend_frequency_correlation(summary: CustomerSummary) -> float:
        """Return the Pearson correlation of frequency and mean spend among repeat buyers.

        The Gamma-Gamma model assumes that how much a customer spends per purchase does not
        depend on how often they buy. A correlation near 0 supports that assumption; `fit`
        warns with `SpendCorrelationWarning` when its absolute value exceeds
        `CORRELATION_THRESHOLD` (0.3).

        Parameters
        ----------
        summary : CustomerSummary
            With ``monetary_value``; weights count identical customers.

        Returns
        -------
        float
            The weighted Pearson correlation over the rows with frequency > 0, in [-1, 1].

        Raises
        ------
        InvalidDataError
            When ``monetary_value`` is missing or not > 0 for a repeat buyer, there is no
            repeat buyer, or the frequency or the mean spend is the same for all of them (the
            correlation is then undefined).

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([1, 2, 3, 0], [5.0, 9.0, 20.0, 0.0], [30.0] * 4,
        ...                              monetary_value=[10.0, 30.0, 20.0, 0.0], unit="W")
        >>> rk.GammaGamma.spend_frequency_correlation(summary)
        0.5
        """
        x, m, w = _repeat_buyers(summary, "spend_frequency_correlation")
        r = _weighted_correlation(x, m, w)
        if r is None:
            raise InvalidDataError(
                "The correlation of `frequency` and `monetary_value` is undefined: one of them "
                f"takes a single value over the {x.size} repeat-buyer rows",
                field="monetary_value",
            )
        return r
