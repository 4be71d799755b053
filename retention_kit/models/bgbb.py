"""The BG/BB model of discrete-time non-contractual purchasing (Fader, Hardie & Shang 2010).

Time is a sequence of transaction opportunities 1, 2, ... after a customer's first
transaction (opportunity 0). While alive, a customer transacts at each opportunity with her own
probability p; at the start of each opportunity she dies (becomes inactive for good) with her
own probability theta, so she is alive at opportunity t with probability (1 - theta)^t. Across
customers p ~ Beta(alpha, beta) and theta ~ Beta(gamma, delta), independently. A customer's
history enters only through x (transactions at opportunities 1..n), t_x (the opportunity of the
last one, 0 when x = 0) and n.

The math lives in `retention_kit.models._bgbb_math` as functions of plain arrays; `BGBB`
validates and dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from .._errors import InvalidDataError
from .._typing import FloatArray
from .._validation import check_rows
from ..summary import DiscreteSummary
from . import _bgbb_math as bgbb_math
from ._base import Model, register
from ._mle import maximize_likelihood

__all__ = ["BGBB"]


# --- validation -------------------------------------------------------------------------------


def _whole(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a float array after checking they are integers >= 0."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise InvalidDataError(f"`{name}` must be numeric: got dtype {array.dtype}", field=name)
    out = array.astype(np.float64)
    flat = out.reshape(-1)
    check_rows(
        np.isfinite(flat) & (flat >= 0) & (flat == np.floor(flat)),
        name,
        "must be a whole number >= 0",
        {name: flat},
    )
    return out


def _discrete(summary: Any, caller: str) -> DiscreteSummary:
    if not isinstance(summary, DiscreteSummary):
        raise InvalidDataError(
            f"BGBB.{caller} needs a DiscreteSummary (frequency, recency and n_periods counted "
            f"in opportunities); got {type(summary).__name__}. Build one with "
            "rk.DiscreteSummary(...) or rk.DiscreteSummary.from_transactions(...)",
            field="summary",
        )
    return summary


def _per_row(values: ArrayLike, name: str, rows: int) -> FloatArray:
    """Validate whole numbers and broadcast them against the rows of a summary."""
    out = _whole(values, name)
    if out.ndim > 1 or (out.ndim == 1 and out.size not in (1, rows)):
        raise InvalidDataError(
            f"`{name}` must be a single number or one per summary row ({rows}): got shape "
            f"{out.shape}",
            field=name,
        )
    return out


def _starting_points(summary: DiscreteSummary) -> list[list[float]]:
    """Two starts: the uniform priors, and one matching the observed transaction rate.

    Among repeat customers, transactions per opportunity up to the last one, x / t_x,
    estimates E[p] = a / (a + b) for the living; it sets a and b at a + b = 2.
    """
    weight = summary.weights()
    repeat = summary.frequency > 0
    starts = [[1.0, 1.0, 1.0, 1.0]]
    if repeat.any():
        rate = float(
            weight[repeat] @ summary.frequency[repeat] / (weight[repeat] @ summary.recency[repeat])
        )
        rate = min(max(rate, 0.05), 0.95)
        starts.append([2.0 * rate, 2.0 * (1.0 - rate), 0.5, 2.0])
    return starts


# --- the model --------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, repr=False)
class BGBB(Model):
    r"""Beta-geometric/beta-binomial model of discrete-time non-contractual purchasing.

    Customers transact at discrete opportunities (a yearly fund drive, a catalogue issue, a
    weekly market): at most once per opportunity and with an unobserved, permanent dropout
    (Fader, Hardie & Shang 2010). While alive a customer transacts at each opportunity with
    probability p; at the start of each opportunity she becomes inactive with probability
    theta; p ~ Beta(alpha, beta) and theta ~ Beta(gamma, delta) across customers.

    Parameters
    ----------
    alpha, beta : float
        Shapes of the beta distribution of the transaction probability p; finite and > 0.
    gamma, delta : float
        Shapes of the beta distribution of the dropout probability theta; finite and > 0.

    Notes
    -----
    Time is counted in opportunities: ``unit`` is None, and a fitted model applies to any
    `DiscreteSummary` counted in the same opportunities. The likelihood of a customer with x
    transactions in n opportunities, the last at opportunity t_x, is

    .. math::

        L = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
          + \sum_{i=0}^{n-t_x-1} \frac{B(\alpha+x, \beta+t_x-x+i)}{B(\alpha,\beta)}
            \frac{B(\gamma+1, \delta+t_x+i)}{B(\gamma,\delta)}

    (eq. 5 of [1]_): alive through opportunity n, or dead at the start of one of
    t_x + 1, ..., n. The finite sums of all customers are read off cumulative sums over one
    grid of the distinct x values by the opportunities, so the cost of a likelihood grows
    with that grid and the number of distinct histories, not with the number of customers.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and J. Shang, "Customer-Base Analysis in a
       Discrete-Time Noncontractual Setting", Marketing Science 29(6), 1086-1108, 2010.

    Examples
    --------
    >>> import retention_kit as rk
    >>> model = rk.BGBB.fit(rk.datasets.load_donations())
    >>> [round(float(v), 3) for v in model.params]
    [1.204, 0.75, 0.657, 2.783]
    >>> round(model.fit_result.log_likelihood, 1)
    -33225.6
    """

    parameter_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")

    alpha: float
    beta: float
    gamma: float
    delta: float

    def __post_init__(self) -> None:
        Model.__post_init__(self)
        if self.unit is not None:
            raise InvalidDataError(
                "The 'unit' parameter of BGBB must be None: the model counts transaction "
                f"opportunities, not days or weeks; got {self.unit!r} instead.",
                field="unit",
            )

    @classmethod
    def fit(
        cls,
        summary: DiscreteSummary,
        *,
        initial: ArrayLike | None = None,
        penalizer: float = 0.0,
    ) -> Self:
        """Fit alpha, beta, gamma and delta by maximum likelihood.

        Parameters
        ----------
        summary : DiscreteSummary
            One row per customer, or the compressed form with weights (the result is the
            same: rows are compressed before fitting).
        initial : array-like of 4 floats, optional
            Starting (alpha, beta, gamma, delta); by default two starting points are tried.
        penalizer : float, default 0
            Coefficient of an L2 penalty on the parameters (see `maximize_likelihood`).

        Returns
        -------
        BGBB
            With ``fit_result`` set.

        Raises
        ------
        InvalidDataError
            When ``summary`` is not a `DiscreteSummary` or has no rows.
        FitError
            When no finite maximum is found.

        Warns
        -----
        ConvergenceWarning
            When the optimizer stops early or a parameter runs to the edge of the search box
            (for instance when no customer ever transacts again).

        Notes
        -----
        Maximizes the weighted sum of log L (eq. 5 of Fader, Hardie & Shang 2010) over the
        log-parameters with L-BFGS and the analytic gradient (digamma functions), and
        takes standard errors from the Hessian.

        Examples
        --------
        >>> import retention_kit as rk
        >>> result = rk.BGBB.fit(rk.datasets.load_donations()).fit_result
        >>> result.n_customers, {k: round(v, 3) for k, v in result.std_errors.items()}
        (11104, {'alpha': 0.069, 'beta': 0.029, 'gamma': 0.051, 'delta': 0.321})
        """
        data = _discrete(summary, "fit")
        if len(data) == 0:
            raise InvalidDataError(
                "BGBB.fit needs at least one customer: got 0 rows", field="summary"
            )
        compressed = data.compress()
        weight = compressed.weights()
        layout = bgbb_math.build_layout(
            compressed.frequency, compressed.recency, compressed.n_periods
        )
        starts = (
            _starting_points(compressed)
            if initial is None
            else [np.asarray(initial, dtype=np.float64).reshape(-1).tolist()]
        )
        if len(starts[0]) != 4:
            raise ValueError(
                f"initial must hold 4 values (alpha, beta, gamma, delta); got {starts[0]}"
            )
        theta, result = maximize_likelihood(
            lambda params: bgbb_math.total_log_likelihood(params, layout, weight),
            starts,
            names=cls.parameter_names,
            n_customers=data.n_customers,
            total_weight=float(weight.sum()),
            unit=None,
            penalizer=penalizer,
        )
        return cls(*(float(v) for v in theta), fit_result=result)

    def log_likelihood(self, summary: DiscreteSummary) -> FloatArray:
        """Return the log-likelihood of each row of ``summary`` (unweighted).

        Parameters
        ----------
        summary : DiscreteSummary

        Returns
        -------
        ndarray
            log L(alpha, beta, gamma, delta | x, t_x, n) per row (eq. 5 of Fader, Hardie &
            Shang 2010); ``summary.weights() @ result`` is the total a fit maximizes.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> summary = rk.DiscreteSummary(frequency=[0, 3, 6], recency=[0, 4, 6], n_periods=6)
        >>> model.log_likelihood(summary).round(4)
        array([-1.1673, -5.0593, -2.1822])
        """
        data = _discrete(summary, "log_likelihood")
        return bgbb_math.log_likelihood(self.params, data.frequency, data.recency, data.n_periods)

    def probability_alive(self, summary: DiscreteSummary, *, t: ArrayLike = 0) -> FloatArray:
        r"""Return the probability that each customer is alive at opportunity n + 1 + t.

        Parameters
        ----------
        summary : DiscreteSummary
        t : int or array-like of int, default 0
            Opportunities beyond the next one, >= 0: one number, or one per row. With t = 0
            the probability of being alive at the next opportunity, n + 1, the customer's
            chance to transact again (eq. 11); with t > 0 of still being alive t
            opportunities later. (lifetimes' ``conditional_probability_alive(m, ...)`` is
            this with t = m - 1.)

        Returns
        -------
        ndarray
            One probability per row, in (0, 1).

        Notes
        -----
        .. math::

            P(\text{alive at } n+1+t \mid x, t_x, n) =
            \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma, \delta+n+1+t)}{B(\gamma,\delta)} \Big/ L(x, t_x, n)

        Fader, Hardie & Shang (2010), eq. (11) for t = 0.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> summary = rk.DiscreteSummary(frequency=[0, 3, 6], recency=[0, 4, 6], n_periods=6)
        >>> model.probability_alive(summary).round(4)
        array([0.108 , 0.4395, 0.9304])
        """
        data = _discrete(summary, "probability_alive")
        later = _per_row(t, "t", len(data))
        return bgbb_math.probability_alive(
            self.params, later, data.frequency, data.recency, data.n_periods
        )

    def expected_purchases(self, n: ArrayLike) -> FloatArray:
        r"""Return E[X(n)], the expected transactions of a new customer in n opportunities.

        Parameters
        ----------
        n : int or array-like of int
            Opportunities after the acquisition, >= 0.

        Returns
        -------
        ndarray
            Shaped like ``n``; non-decreasing in n, 0 at n = 0.

        Notes
        -----
        The mean of the distribution (7) of Fader, Hardie & Shang (2010):

        .. math::

            E[X(n)] = \frac{\alpha}{\alpha+\beta} \sum_{t=1}^{n}
            \frac{B(\gamma, \delta+t)}{B(\gamma,\delta)}
            = \frac{\alpha}{\alpha+\beta} \frac{\delta}{\gamma-1}
            \left[1 - \frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
            \frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}\right],

        evaluated by a series near gamma = 1, where the closed form is 0 / 0.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> model.expected_purchases([1, 6, 11]).round(4)
        array([0.4985, 2.2196, 3.3876])
        """
        periods = _whole(n, "n")
        return bgbb_math.expected_purchases(self.params, periods)

    def conditional_expected_purchases(
        self, n_future: ArrayLike, summary: DiscreteSummary
    ) -> FloatArray:
        r"""Return the expected transactions of each customer in the next n_future opportunities.

        Parameters
        ----------
        n_future : int or array-like of int
            n*, the opportunities n + 1, ..., n + n* ahead, >= 0: one number or one per row.
        summary : DiscreteSummary

        Returns
        -------
        ndarray
            E[X(n, n + n*) | x, t_x, n], one per row.

        Notes
        -----
        Fader, Hardie & Shang (2010), eq. (13):

        .. math::

            E[X(n, n+n^*) \mid x, t_x, n] =
            \frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,\beta)\, L(x, t_x, n)}
            \sum_{t=n+1}^{n+n^*} \frac{B(\gamma, \delta+t)}{B(\gamma,\delta)}.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> summary = rk.DiscreteSummary(frequency=[0, 3, 6], recency=[0, 4, 6], n_periods=6)
        >>> model.conditional_expected_purchases(5, summary).round(4)
        array([0.0728, 1.0342, 3.7521])
        """
        data = _discrete(summary, "conditional_expected_purchases")
        ahead = _per_row(n_future, "n_future", len(data))
        return bgbb_math.conditional_expected_purchases(
            self.params, ahead, data.frequency, data.recency, data.n_periods
        )

    def probability_of_purchases(self, x: ArrayLike, n: ArrayLike) -> FloatArray:
        r"""Return P(X(n) = x): that a new customer transacts x times in n opportunities.

        Parameters
        ----------
        x : int or array-like of int
            Numbers of transactions, >= 0.
        n : int or array-like of int
            Opportunities, >= 0; broadcast against ``x``.

        Returns
        -------
        ndarray
            The broadcast shape of ``x`` and ``n``; 0 where x > n, and summing to 1 over
            x = 0..n.

        Notes
        -----
        Fader, Hardie & Shang (2010), eq. (7):

        .. math::

            P(X(n) = x) = \binom{n}{x} \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
            + \sum_{i=x}^{n-1} \binom{i}{x} \frac{B(\alpha+x, \beta+i-x)}{B(\alpha,\beta)}
            \frac{B(\gamma+1, \delta+i)}{B(\gamma,\delta)}.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> pmf = model.probability_of_purchases(range(7), 6)
        >>> pmf.round(4), round(float(pmf.sum()), 12)
        (array([0.3112, 0.1701, 0.1215, 0.1003, 0.0917, 0.0925, 0.1128]), 1.0)
        """
        count = _whole(x, "x")
        periods = _whole(n, "n")
        return bgbb_math.probability_of_purchases(self.params, count, periods)

    def discounted_expected_residual_transactions(
        self, summary: DiscreteSummary, *, discount_rate: ArrayLike
    ) -> FloatArray:
        r"""Return DERT, the present value of each customer's expected future transactions.

        Parameters
        ----------
        summary : DiscreteSummary
        discount_rate : float or array-like
            d >= 0 per opportunity: one number, or one per row. A transaction at opportunity
            n + k is discounted by (1 + d)^-k, so the next opportunity's once. At d = 0 the
            result is the expected number of all future transactions, infinite when
            gamma <= 1.

        Returns
        -------
        ndarray
            One value per row. Multiplied by the value of a transaction it is the customer's
            expected residual lifetime value.

        Notes
        -----
        Fader, Hardie & Shang (2010), eq. (14):

        .. math::

            DERT(d \mid x, t_x, n) = \frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma, \delta+n+1)}{B(\gamma,\delta)\,(1+d)}
            \frac{{}_2F_1\left(1, \delta+n+1; \gamma+\delta+n+1; \frac{1}{1+d}\right)}
            {L(x, t_x, n)},

        which is sum_{k >= 1} E[transaction at n + k | x, t_x, n] / (1 + d)^k. The
        hypergeometric function is evaluated in log space by the guarded 2F1 of
        ``retention_kit.models._special`` (``scipy.special.hyp2f1`` returns inf or wrong
        signs here once d is small and n large); at d = 0 it is
        (gamma + delta + n) / (gamma - 1).

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> summary = rk.DiscreteSummary(frequency=[0, 3, 6], recency=[0, 4, 6], n_periods=6)
        >>> model.discounted_expected_residual_transactions(summary, discount_rate=0.1).round(4)
        array([0.1146, 1.6287, 5.9087])
        """
        data = _discrete(summary, "discounted_expected_residual_transactions")
        rate = np.asarray(discount_rate)
        if rate.dtype.kind not in "biuf":
            raise InvalidDataError(
                f"`discount_rate` must be numeric: got dtype {rate.dtype}", field="discount_rate"
            )
        rate = rate.astype(np.float64)
        flat = rate.reshape(-1)
        check_rows(
            np.isfinite(flat) & (flat >= 0),
            "discount_rate",
            "must be finite and >= 0",
            {"discount_rate": flat},
        )
        if rate.ndim > 1 or (rate.ndim == 1 and rate.size not in (1, len(data))):
            raise InvalidDataError(
                f"`discount_rate` must be a single number or one per summary row ({len(data)}): "
                f"got shape {rate.shape}",
                field="discount_rate",
            )
        return bgbb_math.discounted_expected_residual_transactions(
            self.params, rate, data.frequency, data.recency, data.n_periods
        )

    def sample(
        self,
        n_customers: int,
        n_periods: ArrayLike,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> DiscreteSummary:
        """Draw the histories of new customers from the model.

        Parameters
        ----------
        n_customers : int
            Number of customers, >= 1.
        n_periods : int or array-like of int
            Opportunities each customer is observed for after the acquisition: one number,
            or one per customer.
        rng : numpy.random.Generator or int, optional
            Random generator, or a seed for ``numpy.random.default_rng``.

        Returns
        -------
        DiscreteSummary
            One row per customer, without weights.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> sample = model.sample(11104, 6, rng=42)
        >>> sample.n_customers, int(sample.frequency.max())
        (11104, 6)
        """
        n_customers = self._customer_count(n_customers)
        periods = _per_row(n_periods, "n_periods", n_customers)
        periods = np.broadcast_to(periods, (n_customers,)).astype(np.float64)
        x, t_x = bgbb_math.sample_histories(self.params, periods, np.random.default_rng(rng))
        return DiscreteSummary(frequency=x, recency=t_x, n_periods=periods)
