"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007).

Each customer renews at the end of every period with her own probability 1 - theta until
she cancels; theta varies across customers as Beta(alpha, beta). The tenure T (the period in
which the customer cancels, 1, 2, ...) is then shifted-beta-geometric:

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)          (FH 2007, eq. 7)
    S(t)     = B(alpha, beta + t) / B(alpha, beta)                  (eq. 8)
    r_t      = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)   (eq. 6)

Heterogeneity alone makes the aggregate retention rate rise with tenure, even though every
customer's own rate is constant: the customers likely to cancel leave first.

The math lives in module-level functions of plain arrays; `ShiftedBetaGeometric` validates
and dispatches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .._errors import FitError, InvalidDataError
from .._typing import BoolArray, FloatArray, IntArray
from .._validation import MAX_ROWS_SHOWN
from ..cohorts import CohortTable
from ._base import Model, register
from ._mle import maximize_likelihood
from ._special import log_hyp2f1

__all__ = ["ShiftedBetaGeometric"]


# --- the math --------------------------------------------------------------------------------


def log_churn_probability(alpha: float, beta: float, t: FloatArray) -> FloatArray:
    """Return log P(T = t) = log B(alpha + 1, beta + t - 1) - log B(alpha, beta), t >= 1."""
    out: FloatArray = special.betaln(alpha + 1.0, beta + t - 1.0) - special.betaln(alpha, beta)
    return out


def log_survival(alpha: float, beta: float, t: FloatArray) -> FloatArray:
    """Return log S(t) = log B(alpha, beta + t) - log B(alpha, beta), t >= 0."""
    out: FloatArray = special.betaln(alpha, beta + t) - special.betaln(alpha, beta)
    return out


@dataclass(frozen=True, slots=True)
class _Tally:
    """The sufficient statistics of any set of cohorts, summed over the cohorts.

    ``lost[t - 1]`` customers cancelled in period t (t = 1..K) and ``censored[t]`` were still
    active when their cohort's observation stopped at period t (t = 0..K).
    """

    lost: FloatArray
    censored: FloatArray

    @property
    def n_customers(self) -> float:
        return float(self.lost.sum() + self.censored.sum())


def _tally(table: FloatArray) -> _Tally:
    """Sum the losses and the censored survivors per period over the rows of ``table``."""
    n_periods = table.shape[1]
    with np.errstate(invalid="ignore"):
        lost = np.nansum(table[:, :-1] - table[:, 1:], axis=0)
    last = np.sum(~np.isnan(table), axis=1) - 1
    rows = np.arange(table.shape[0])
    censored = np.bincount(last, weights=table[rows, last], minlength=n_periods)
    return _Tally(lost=lost.astype(np.float64), censored=censored.astype(np.float64))


def _log_likelihood_terms(alpha: float, beta: float, tally: _Tally) -> float:
    periods = np.arange(tally.censored.size, dtype=np.float64)
    lost = tally.lost @ log_churn_probability(alpha, beta, periods[1:])
    censored = tally.censored @ log_survival(alpha, beta, periods)
    return float(lost + censored)


def _log_likelihood_and_gradient(theta: FloatArray, tally: _Tally) -> tuple[float, FloatArray]:
    """Total log-likelihood of the tally and its gradient in (alpha, beta).

    d/d alpha log P(T = t) = 1/alpha + psi(alpha + beta) - psi(alpha + beta + t)
    d/d beta  log P(T = t) = psi(beta + t - 1) - psi(beta) + psi(alpha + beta)
                             - psi(alpha + beta + t)
    d/d alpha log S(t)     = psi(alpha + beta) - psi(alpha + beta + t)
    d/d beta  log S(t)     = psi(beta + t) - psi(beta) + psi(alpha + beta) - psi(alpha + beta + t)
    """
    alpha, beta = float(theta[0]), float(theta[1])
    periods = np.arange(tally.censored.size, dtype=np.float64)
    t = periods[1:]
    psi_sum = special.digamma(alpha + beta)
    psi_beta = special.digamma(beta)
    tail = psi_sum - special.digamma(alpha + beta + periods)
    d_alpha = tally.lost @ (1.0 / alpha + tail[1:]) + tally.censored @ tail
    d_beta = tally.lost @ (special.digamma(beta + t - 1.0) - psi_beta + tail[1:])
    d_beta += tally.censored @ (special.digamma(beta + periods) - psi_beta + tail)
    total = _log_likelihood_terms(alpha, beta, tally)
    return total, np.array([d_alpha, d_beta])


def discounted_expected_residual_lifetime(
    alpha: float, beta: float, discount_rate: FloatArray, renewals: FloatArray
) -> FloatArray:
    """DERL of Fader & Hardie (2010, eq. 6), with n = renewals + 1.

    DERL = B(alpha, beta + n) / B(alpha, beta + n - 1) * 2F1(1, beta + n; alpha + beta + n;
    1 / (1 + d)), which is sum_{k >= 0} S(n + k) / S(n - 1) / (1 + d)^k. At d = 0 the series is
    the plain expected residual lifetime, (beta + n - 1) / (alpha - 1), infinite for alpha <= 1.
    """
    n = renewals + 1.0
    log_ratio = np.log(beta + n - 1.0) - np.log(alpha + beta + n - 1.0)
    undiscounted = (beta + n - 1.0) / (alpha - 1.0) if alpha > 1.0 else np.inf * n
    discounted = np.where(discount_rate > 0, discount_rate, 1.0)
    log_hyp = log_hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + discounted))
    out: FloatArray = np.where(discount_rate > 0, np.exp(log_ratio + log_hyp), undiscounted)
    return out


# --- validation ------------------------------------------------------------------------------


def _cell(table: FloatArray, i: int, k: int, one_dimensional: bool) -> str:
    where = f"period {k}" if one_dimensional else f"cohort {i}, period {k}"
    return f"{where}, survivors={table[i, k]!r}"


def _check_cells(
    ok: BoolArray, table: FloatArray, rule: str, one_dimensional: bool, hint: str = ""
) -> None:
    """Raise naming the first cells of ``table`` where ``ok`` is False."""
    if ok.all():
        return
    bad = np.argwhere(~ok)
    shown = bad[:MAX_ROWS_SHOWN]
    parts = "; ".join(_cell(table, int(i), int(k), one_dimensional) for i, k in shown)
    cells = "values" if one_dimensional else "cells"
    message = f"`survivors` {rule}: {len(bad)} of {ok.size} {cells} break it (first: {parts})"
    if hint:
        message += f". {hint}"
    rows = shown[:, 1] if one_dimensional else shown[:, 0]
    raise InvalidDataError(
        message, field="survivors", rows=tuple(dict.fromkeys(int(r) for r in rows))
    )


def survivor_table(survivors: ArrayLike | CohortTable) -> FloatArray:
    """Validate survivor counts and return them as a 2-D float table, NaN beyond the data.

    Accepts the counts of one cohort (1-D), of several (2-D, one row per cohort, NaN after
    each cohort's last observed period) or a `CohortTable`, whose ``counts`` are used. The
    caller's array is never modified.
    """
    values = survivors.counts if isinstance(survivors, CohortTable) else survivors
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise InvalidDataError(
            f"`survivors` must be numeric: got dtype {array.dtype}", field="survivors"
        )
    if array.ndim not in (1, 2) or array.size == 0:
        raise InvalidDataError(
            "`survivors` must be a non-empty 1-D array (one cohort) or 2-D array (one row per "
            f"cohort): got shape {array.shape}",
            field="survivors",
        )
    one_dimensional = array.ndim == 1
    table = np.atleast_2d(array.astype(np.float64))  # a copy: the caller's array is untouched
    missing = np.isnan(table)
    _check_cells(
        ~np.isinf(table),
        table,
        "must be finite (NaN marks periods beyond the data)",
        one_dimensional,
    )
    _check_cells(
        ~missing[:, :1],
        table,
        "must hold each cohort's size at period 0, not NaN",
        one_dimensional,
    )
    gap = np.zeros_like(missing)
    gap[:, 1:] = missing[:, :-1] & ~missing[:, 1:]
    _check_cells(
        ~gap, table, "must be NaN only after a cohort's last observed period", one_dimensional
    )
    filled = np.where(missing, 0.0, table)
    _check_cells(
        (filled >= 0) & (filled == np.floor(filled)),
        table,
        "must be non-negative integers",
        one_dimensional,
    )
    _check_cells(filled[:, :1] > 0, table, "must start with a cohort size > 0", one_dimensional)
    rising = np.zeros_like(missing)
    rising[:, 1:] = ~missing[:, 1:] & (table[:, 1:] > table[:, :-1])
    _check_cells(
        ~rising,
        table,
        "must be non-increasing: customers who cancel do not come back",
        one_dimensional,
        hint="Survivor counts suit contractual businesses; for purchase data use a "
        "transaction model such as BGNBD",
    )
    return table


def _periods(t: ArrayLike, name: str, minimum: int) -> FloatArray:
    values = np.asarray(t)
    if values.dtype.kind not in "biuf":
        raise InvalidDataError(f"`{name}` must be numeric: got dtype {values.dtype}", field=name)
    out = values.astype(np.float64)
    flat = out.reshape(-1)
    ok = np.isfinite(flat) & (flat >= minimum) & (flat == np.floor(flat))
    if not ok.all():
        bad = np.flatnonzero(~ok)
        shown = ", ".join(f"position {i}, {name}={flat[i]!r}" for i in bad[:MAX_ROWS_SHOWN])
        raise InvalidDataError(
            f"`{name}` must be a whole number of periods >= {minimum}: {bad.size} of "
            f"{flat.size} values break it (first: {shown})",
            field=name,
            rows=tuple(int(i) for i in bad[:MAX_ROWS_SHOWN]),
        )
    return out


# --- the model -------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True, repr=False)
class ShiftedBetaGeometric(Model):
    r"""Shifted-beta-geometric model of contractual retention (Fader & Hardie 2007).

    Every customer renews at the end of each period with her own constant probability
    1 - theta, and theta ~ Beta(alpha, beta) across customers. Periods are whatever the
    contract runs in (months, years); the model has no time unit (``unit`` is None).

    Parameters
    ----------
    alpha, beta : float
        Shape parameters of the beta distribution of the per-period cancellation probability
        (gamma and delta in Fader & Hardie 2007); both finite and > 0.

    Notes
    -----
    With t = 1, 2, ... the period in which a customer cancels,

    .. math::

        P(T = t) = \frac{B(\alpha + 1, \beta + t - 1)}{B(\alpha, \beta)}, \qquad
        S(t) = \frac{B(\alpha, \beta + t)}{B(\alpha, \beta)}, \qquad
        r_t = \frac{\beta + t - 1}{\alpha + \beta + t - 1}

    (Fader & Hardie 2007, eqs. 7, 8 and 6). A cohort observed for periods 0..n contributes
    its losses in periods 1..n with probabilities P(T = t) and its survivors at period n as
    right-censored with S(n) (eq. 9).

    References
    ----------
    .. [1] P. S. Fader and B. G. S. Hardie, "How to Project Customer Retention", Journal of
       Interactive Marketing 21(1), 76-90, 2007.
    .. [2] P. S. Fader and B. G. S. Hardie, "Customer-Base Valuation in a Contractual Setting:
       The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93, 2010.

    Examples
    --------
    >>> import retention_kit as rk
    >>> regular = rk.datasets.load_retention_segments().regular
    >>> model = rk.ShiftedBetaGeometric.fit(regular[:8])
    >>> round(model.alpha, 3), round(model.beta, 3), round(model.fit_result.log_likelihood, 2)
    (0.704, 1.182, -1680.27)
    >>> model.project(12, initial=1000)[-1].round(1)
    np.float64(170.0)
    """

    parameter_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        Model.__post_init__(self)
        if self.unit is not None:
            raise InvalidDataError(
                "The 'unit' parameter of ShiftedBetaGeometric must be None: the model counts "
                f"contract periods, not days or weeks; got {self.unit!r} instead.",
                field="unit",
            )

    @classmethod
    def fit(
        cls,
        survivors: ArrayLike | CohortTable,
        *,
        initial: Sequence[float] | None = None,
        penalizer: float = 0.0,
    ) -> Self:
        r"""Fit alpha and beta by maximum likelihood to survivor counts.

        Parameters
        ----------
        survivors : array-like or CohortTable
            Customers still active at the start of periods 0, 1, ..., n: non-increasing
            non-negative integers whose first value (the cohort size) is > 0. A 2-D array
            holds one cohort per row, NaN after each cohort's last observed period (for
            instance the ``counts`` of a `CohortTable` of a contractual business, or the table
            itself); all cohorts share the parameters.
        initial : sequence of 2 floats, optional
            Starting (alpha, beta); by default two data-driven starting points are tried.
        penalizer : float, default 0
            Coefficient of an L2 penalty on the parameters (see `maximize_likelihood`).

        Returns
        -------
        ShiftedBetaGeometric
            With ``fit_result`` set; its ``n_customers`` is the total cohort size.

        Raises
        ------
        InvalidDataError
            When a count is negative, fractional or infinite, a cohort's size is missing or 0,
            a count rises from one period to the next, or NaN appears before a cohort's last
            observed period.
            Also when no cohort is observed past period 0.
        FitError
            When no customer cancelled in the data (the likelihood then has no maximum), or
            no finite maximum is found.

        Warns
        -----
        ConvergenceWarning
            When the data cannot pin the parameters down (for example when every customer
            cancels in period 1, which drives beta / alpha to 0).

        Notes
        -----
        The log-likelihood (Fader & Hardie 2007, eq. 9) summed over cohorts is

        .. math::

            LL = \sum_{t=1}^{n} (n_{t-1} - n_t) \log P(T = t) + n_n \log S(n),

        its gradient uses the digamma function; cohorts are reduced to per-period sums of
        losses and of censored survivors first, so the cost does not grow with the number of
        cohorts.

        Examples
        --------
        >>> import numpy as np
        >>> import retention_kit as rk
        >>> segments = rk.datasets.load_retention_segments()
        >>> model = rk.ShiftedBetaGeometric.fit(segments.high_end[:8])
        >>> round(model.alpha, 3), round(model.beta, 3)
        (0.668, 3.806)

        Several cohorts of different ages at once, NaN beyond each one's data:

        >>> cohorts = np.array([[1000, 631, 468, 382], [800, 510, np.nan, np.nan]])
        >>> rk.ShiftedBetaGeometric.fit(cohorts).fit_result.n_customers
        1800
        """
        table = survivor_table(survivors)
        if table.shape[1] < 2 or np.isnan(table[:, 1]).all():
            raise InvalidDataError(
                "`survivors` must follow at least one cohort past period 0: with only cohort "
                "sizes there is nothing to fit",
                field="survivors",
            )
        tally = _tally(table)
        if tally.lost.sum() == 0:
            raise FitError(
                "No customer cancelled in the observed periods, so the likelihood has no "
                "maximum (it keeps growing as the cancellation probability goes to 0). Observe "
                "the cohorts for longer, or fit several cohorts together."
            )
        if initial is None:
            # beta / (alpha + beta) is the first-period retention rate r_1 (eq. 6).
            seen = table[:, 1] >= 0 if table.shape[1] > 1 else np.zeros(1, dtype=bool)
            kept = table[seen, 1].sum() / table[seen, 0].sum() if seen.any() else 0.5
            kept = min(max(kept, 0.01), 0.99)
            starts = [[1.0, kept / (1.0 - kept)], [0.5, 0.5]]
        else:
            starts = [[float(value) for value in initial]]
            if len(starts[0]) != 2:
                raise ValueError(
                    "The 'initial' parameter of ShiftedBetaGeometric.fit must hold 2 values "
                    f"(alpha, beta); got {list(initial)!r} instead."
                )
        theta, result = maximize_likelihood(
            lambda params: _log_likelihood_and_gradient(params, tally),
            starts,
            names=cls.parameter_names,
            n_customers=round(tally.n_customers),
            total_weight=tally.n_customers,
            unit=None,
            penalizer=penalizer,
        )
        return cls(alpha=float(theta[0]), beta=float(theta[1]), fit_result=result)

    def log_likelihood(self, survivors: ArrayLike | CohortTable) -> FloatArray:
        """Return the log-likelihood of each cohort's survivor counts.

        Parameters
        ----------
        survivors : array-like or CohortTable
            As in `fit`: one cohort (1-D) or one per row (2-D, NaN-padded).

        Returns
        -------
        ndarray
            One log-likelihood per cohort (shape ``(1,)`` for a 1-D input); their sum is the
            total a fit maximizes.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182)
        >>> model.log_likelihood([1000, 631, 468, 382, 326, 289, 262, 241]).round(2)
        array([-1680.27])
        """
        table = survivor_table(survivors)
        n_periods = table.shape[1]
        periods = np.arange(n_periods, dtype=np.float64)
        log_lost = log_churn_probability(self.alpha, self.beta, periods[1:])
        with np.errstate(invalid="ignore"):
            lost = np.nan_to_num(table[:, :-1] - table[:, 1:], nan=0.0)
        last = np.sum(~np.isnan(table), axis=1) - 1
        survivors_last = table[np.arange(table.shape[0]), last]
        out: FloatArray = lost @ log_lost + survivors_last * log_survival(
            self.alpha, self.beta, last.astype(np.float64)
        )
        return out

    def survival(self, t: ArrayLike) -> FloatArray:
        """Return S(t), the share of a new cohort still active at the start of period t.

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 0 (S(0) = 1).

        Returns
        -------
        ndarray
            S(t) = B(alpha, beta + t) / B(alpha, beta) (Fader & Hardie 2007, eq. 8), shaped
            like ``t``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182).survival([0, 1, 7]).round(4)
        array([1.    , 0.6267, 0.2391])
        """
        periods = _periods(t, "t", 0)
        out: FloatArray = np.exp(log_survival(self.alpha, self.beta, periods))
        return out

    def retention_rate(self, t: ArrayLike) -> FloatArray:
        """Return r_t, the share of those active at period t - 1 who are still active at t.

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 1.

        Returns
        -------
        ndarray
            r_t = (beta + t - 1) / (alpha + beta + t - 1) (Fader & Hardie 2007, eq. 6): it
            rises with t towards 1 as the customers most likely to cancel leave.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182).retention_rate([1, 2, 12]).round(3)
        array([0.627, 0.756, 0.945])
        """
        periods = _periods(t, "t", 1)
        out: FloatArray = (self.beta + periods - 1.0) / (self.alpha + self.beta + periods - 1.0)
        return out

    def churn_probability(self, t: ArrayLike) -> FloatArray:
        """Return P(T = t), the probability that a new customer cancels in period t.

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 1.

        Returns
        -------
        ndarray
            P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta) (Fader & Hardie 2007,
            eq. 7); sum_{t=1}^{n} P(T = t) + S(n) = 1.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182).churn_probability([1, 2]).round(4)
        array([0.3733, 0.1529])
        """
        periods = _periods(t, "t", 1)
        out: FloatArray = np.exp(log_churn_probability(self.alpha, self.beta, periods))
        return out

    def expected_lifetime(self) -> float:
        """Return E[T], the expected number of periods a new customer stays, counting the first.

        Returns
        -------
        float
            (alpha + beta - 1) / (alpha - 1) when alpha > 1, and ``math.inf`` when
            alpha <= 1: the mean of a beta-mixed geometric exists only for alpha > 1, and
            with alpha <= 1 enough customers renew almost surely for the series
            sum_t S(t) to diverge. Use `discounted_expected_residual_lifetime`, which is always
            finite for a positive discount rate, to value such a base.

        Notes
        -----
        E[T] = sum_{t >= 0} S(t) = E[1 / theta] for theta ~ Beta(alpha, beta).

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.ShiftedBetaGeometric(alpha=3.0, beta=6.0).expected_lifetime()
        4.0
        >>> rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182).expected_lifetime()
        inf
        """
        if self.alpha <= 1.0:
            return math.inf
        return (self.alpha + self.beta - 1.0) / (self.alpha - 1.0)

    def discounted_expected_residual_lifetime(
        self, discount_rate: ArrayLike, *, renewals: ArrayLike = 0
    ) -> FloatArray:
        r"""Return DERL, the discounted expected number of future renewals of an active customer.

        Parameters
        ----------
        discount_rate : float or array-like
            d >= 0, per period. With d = 0 the result is the undiscounted expected residual
            lifetime, infinite when alpha <= 1.
        renewals : int or array-like of int, default 0
            n - 1, the renewals the customer has made so far (0 for one just acquired).

        Returns
        -------
        ndarray
            The broadcast shape of ``discount_rate`` and ``renewals``. Multiplied by the
            payment per period it is the customer's expected residual value just before her
            next renewal decision (the first future payment is not discounted).

        Notes
        -----
        Fader & Hardie (2010, eq. 6), for a customer who has made n - 1 renewals:

        .. math::

            DERL(d \mid n - 1) = \sum_{t=n}^{\infty} \frac{S(t)/S(n-1)}{(1+d)^{t-n}}
            = \frac{B(\alpha, \beta + n)}{B(\alpha, \beta + n - 1)}\,
            {}_2F_1\left(1, \beta + n; \alpha + \beta + n; \frac{1}{1+d}\right).

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ShiftedBetaGeometric(alpha=0.668, beta=3.806)
        >>> model.discounted_expected_residual_lifetime(0.1, renewals=[0, 4]).round(3)
        array([5.415, 6.897])
        """
        rate = np.asarray(discount_rate)
        if rate.dtype.kind not in "biuf":
            raise InvalidDataError(
                f"`discount_rate` must be numeric: got dtype {rate.dtype}", field="discount_rate"
            )
        rate = rate.astype(np.float64)
        flat = rate.reshape(-1)
        bad = np.flatnonzero(~(np.isfinite(flat) & (flat >= 0)))
        if bad.size:
            raise InvalidDataError(
                f"`discount_rate` must be finite and >= 0: {bad.size} of {flat.size} values "
                f"break it (first: discount_rate={flat[bad[0]]!r})",
                field="discount_rate",
            )
        done = _periods(renewals, "renewals", 0)
        return discounted_expected_residual_lifetime(self.alpha, self.beta, rate, done)

    def project(self, n_periods: int, *, initial: ArrayLike) -> FloatArray:
        """Return the expected number of a new cohort still active at periods 0..n_periods.

        Parameters
        ----------
        n_periods : int
            The last period to project, >= 0.
        initial : float or array-like
            Cohort size(s) at period 0.

        Returns
        -------
        ndarray
            Shape ``np.shape(initial) + (n_periods + 1,)``: ``initial * S(t)``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182)
        >>> model.project(3, initial=1000).round(1)
        array([1000. ,  626.7,  473.8,  388. ])
        """
        if isinstance(n_periods, bool) or not isinstance(n_periods, int | np.integer):
            raise InvalidDataError(
                f"`n_periods` must be an integer >= 0: got {n_periods!r}", field="n_periods"
            )
        if n_periods < 0:
            raise InvalidDataError(
                f"`n_periods` must be an integer >= 0: got {n_periods!r}", field="n_periods"
            )
        size = np.asarray(initial, dtype=np.float64)
        flat = size.reshape(-1)
        bad = np.flatnonzero(~(np.isfinite(flat) & (flat >= 0)))
        if bad.size:
            raise InvalidDataError(
                f"`initial` must be finite and >= 0: {bad.size} of {flat.size} values break "
                f"it (first: initial={flat[bad[0]]!r})",
                field="initial",
            )
        curve = self.survival(np.arange(int(n_periods) + 1))
        out: FloatArray = size[..., np.newaxis] * curve
        return out

    def sample(
        self, cohort_size: int, n_periods: int, *, rng: np.random.Generator | int | None = None
    ) -> IntArray:
        """Simulate one cohort and return how many of it are active at periods 0..n_periods.

        Parameters
        ----------
        cohort_size : int
            Customers at period 0, >= 1.
        n_periods : int
            The last period observed, >= 0.
        rng : numpy.random.Generator or int, optional
            Random generator, or a seed for ``numpy.random.default_rng``.

        Returns
        -------
        ndarray of int
            Survivor counts of length ``n_periods + 1``, starting with ``cohort_size``; a
            valid input of `fit`.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182)
        >>> counts = model.sample(1000, 7, rng=1)
        >>> int(counts[0]), len(counts)
        (1000, 8)
        """
        for name, value, low in (("cohort_size", cohort_size, 1), ("n_periods", n_periods, 0)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise InvalidDataError(
                    f"`{name}` must be an integer >= {low}: got {value!r}", field=name
                )
        generator = np.random.default_rng(rng)
        theta = generator.beta(self.alpha, self.beta, size=int(cohort_size))
        theta = np.clip(theta, np.finfo(np.float64).tiny, 1.0)
        # Tenure T >= 1: the period in which the customer cancels (geometric in theta). Drawn
        # as 1 + floor(log U / log(1 - theta)) so that tiny theta cannot overflow an integer.
        u = generator.random(int(cohort_size))
        with np.errstate(divide="ignore"):
            tenure = 1.0 + np.floor(np.log1p(-u) / np.log1p(-theta))
        capped = np.minimum(tenure, n_periods + 1).astype(np.int64)
        cancelled = np.bincount(capped, minlength=n_periods + 2)
        survivors: IntArray = (cohort_size - np.cumsum(cancelled)[: n_periods + 1]).astype(
            np.int64
        )
        return survivors
