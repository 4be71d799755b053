"""The purchase cycle: how long customers take to buy again, with right-censoring.

A customer who has not bought again since their last purchase has a gap that is still open: it
is at least the time since that purchase, and only that much is known. Dropping these open gaps
biases the cycle short (long gaps are the ones most likely still open); the Kaplan-Meier
estimator uses them as right-censored observations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from . import _lazy_metrics
from ._activity import Columns, customer_periods, group_starts, narrowest
from ._errors import InvalidDataError
from ._frames import is_lazy
from ._periods import as_moment, check_period, period_index
from ._typing import DatetimeArray, FloatArray, IntArray, Period
from ._validation import check_same_length, readonly
from .data import Transactions
from .segments import Segmented, segmented_transactions, wrap

__all__ = ["PurchaseCycle", "purchase_cycle"]

# Survival values are products of many factors: allow for their rounding when comparing with
# a quantile's level, so that an exactly-attained level counts as reached.
_ROUNDING = 1e-12


def _kaplan_meier(
    durations: IntArray, observed: NDArray[np.bool_]
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Kaplan-Meier estimate from non-negative integer durations.

    Returns the distinct event times t_i (ascending), the number at risk n_i (durations >= t_i,
    censored ones included: a gap censored at t_i is known to exceed it), the number of events
    d_i, and S(t_i) = prod_{j <= i} (1 - d_j / n_j).
    """
    group = np.zeros(durations.size, dtype=np.int64)
    return _grouped_kaplan_meier(durations, observed, group, 1)[0]


def _grouped_kaplan_meier(
    durations: IntArray, observed: NDArray[np.bool_], group: IntArray, n_groups: int
) -> list[tuple[IntArray, IntArray, IntArray, FloatArray]]:
    """`_kaplan_meier` of each group of durations, from one table of groups x durations."""
    size = int(durations.max()) + 1 if durations.size else 1
    cell = group * size + durations
    events = np.bincount(cell[observed], minlength=n_groups * size).reshape(n_groups, size)
    ending = np.bincount(cell, minlength=n_groups * size).reshape(n_groups, size)
    started = np.cumsum(ending, axis=1) - ending
    at_risk = np.bincount(group, minlength=n_groups)[:, None] - started
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(events > 0, 1.0 - events / np.maximum(at_risk, 1), 1.0)
    survival = np.cumprod(factor, axis=1)
    out = []
    for g in range(n_groups):
        times = np.flatnonzero(events[g])
        out.append((times, at_risk[g, times], events[g, times], survival[g, times]))
    return out


def _first_reaching(times: IntArray, survival: FloatArray, q: float) -> float:
    """Smallest time t with S(t) <= 1 - q, or infinity when S stays above."""
    reached = np.flatnonzero(survival <= 1.0 - q + _ROUNDING)
    return float(times[reached[0]]) if reached.size else math.inf


def _sorted_group_medians(codes: IntArray, values: IntArray, n_groups: int) -> FloatArray:
    """Median of ``values`` within each group code 0..n_groups-1 (NaN for empty groups)."""
    counts = np.bincount(codes, minlength=n_groups)
    medians = np.full(n_groups, np.nan)
    if values.size == 0:
        return medians
    low = int(values.min())
    span = int(values.max()) - low + 1
    key = narrowest(codes * span + (values - low), n_groups * span)
    key.sort()
    ordered = key.astype(np.int64) % span + low
    offsets = np.cumsum(counts) - counts
    has = counts > 0
    lower = ordered[offsets[has] + (counts[has] - 1) // 2]
    upper = ordered[offsets[has] + counts[has] // 2]
    medians[has] = (lower + upper) / 2.0
    return medians


@dataclass(frozen=True, slots=True, eq=False)
class PurchaseCycle:
    """Gaps between purchases, for the population and per customer (see `purchase_cycle`).

    Parameters
    ----------
    period : {"D", "W", "M"}
        The unit of every gap: days, weeks starting Monday, or months.
    observation_end : numpy.datetime64
        The moment open gaps are censored at.
    times : array-like of int
        Distinct lengths of the observed (closed) gaps, ascending: the steps of the curve.
    at_risk, events : array-like of int
        For each time t, the gaps (closed or open) of length >= t, and the closed ones = t.
    survival : array-like of float
        Kaplan-Meier S(t): estimated probability that a gap lasts longer than t.
    naive_median : float
        Median of the closed gaps only, ignoring the open ones (NaN when there are none),
        for contrast; read off their empirical survival by the rule of `quantile`, so it
        differs from `median` only through censoring.
    customer_id : array
        Sorted unique customer ids.
    n_gaps : array-like of int
        Each customer's closed gaps: distinct purchase periods minus one.
    median_gap : array-like of float
        Each customer's median closed gap, NaN for customers with no gap (one purchase
        period).
    last_purchase : array-like of datetime64
        Each customer's last purchase.

    Examples
    --------
    >>> import retention_kit as rk
    >>> cycle = rk.purchase_cycle(rk.datasets.load_cdnow(), period="D")
    >>> cycle.median, cycle.naive_median
    (93.0, 34.0)
    """

    period: Period
    observation_end: np.datetime64
    times: IntArray
    at_risk: IntArray
    events: IntArray
    survival: FloatArray
    naive_median: float
    customer_id: NDArray[Any]
    n_gaps: IntArray
    median_gap: FloatArray
    last_purchase: DatetimeArray
    _last_period: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_period(self.period)
        arrays = {
            "times": np.asarray(self.times, dtype=np.int64),
            "at_risk": np.asarray(self.at_risk, dtype=np.int64),
            "events": np.asarray(self.events, dtype=np.int64),
            "survival": np.asarray(self.survival, dtype=np.float64),
        }
        check_same_length(**arrays)
        customers = {
            "customer_id": np.asarray(self.customer_id),
            "n_gaps": np.asarray(self.n_gaps, dtype=np.int64),
            "median_gap": np.asarray(self.median_gap, dtype=np.float64),
            "last_purchase": np.asarray(self.last_purchase),
        }
        check_same_length(**customers)
        for name, value in (arrays | customers).items():
            object.__setattr__(self, name, readonly(value))
        object.__setattr__(
            self, "observation_end", as_moment(self.observation_end, "observation_end")
        )
        object.__setattr__(self, "naive_median", float(self.naive_median))
        object.__setattr__(
            self, "_last_period", readonly(period_index(self.last_purchase, self.period))
        )

    @property
    def median(self) -> float:
        """Kaplan-Meier median gap: ``quantile(0.5)``."""
        return self.quantile(0.5)

    def quantile(self, q: float) -> float:
        """Return the Kaplan-Meier ``q``-quantile of the gap length, in periods.

        Parameters
        ----------
        q : float
            In (0, 1]: the share of gaps closed by the returned length.

        Returns
        -------
        float
            The smallest observed gap length t with S(t) <= 1 - q (the usual product-limit
            rule; for an even number of uncensored gaps the median is the lower middle one);
            ``math.inf`` when the estimated survival never falls that low (too many gaps
            still open to tell).

        Raises
        ------
        InvalidDataError
            When ``q`` is not in (0, 1].

        Examples
        --------
        >>> import retention_kit as rk
        >>> cycle = rk.purchase_cycle(rk.datasets.load_cdnow())
        >>> cycle.quantile(0.25), cycle.quantile(0.99)
        (21.0, inf)
        """
        if isinstance(q, bool) or not isinstance(q, int | float | np.number) or not 0 < q <= 1:
            raise InvalidDataError(f"'q' must be a number in (0, 1]; got {q!r}", field="q")
        return _first_reaching(self.times, self.survival, float(q))

    def overdue(self, at: Any, *, factor: float = 1.0) -> NDArray[Any]:
        """Return the ids of the customers whose gap at ``at`` exceeds ``factor`` cycles.

        Parameters
        ----------
        at : datetime64, datetime, date or ISO 8601 string
            The moment to judge at (e.g. today, or `observation_end`).
        factor : float, default 1.0
            How many expected cycles count as overdue (> 0).

        Returns
        -------
        ndarray
            Sorted customer ids with ``elapsed > factor * expected``, where ``elapsed`` is
            the number of periods from the customer's last purchase period to the period of
            ``at`` and ``expected`` is the customer's own `median_gap` when they have a gap,
            else the population `median`. Customers judged against an infinite median are
            never overdue; a last purchase after ``at`` never is either.

        Raises
        ------
        InvalidDataError
            When ``at`` is not a moment or ``factor`` is not a finite number > 0.

        Examples
        --------
        >>> import retention_kit as rk
        >>> cycle = rk.purchase_cycle(rk.datasets.load_cdnow())
        >>> late = cycle.overdue("1998-06-30", factor=2.0)
        >>> late.size, late[:3].tolist()
        (1832, [2, 3, 4])
        """
        moment = as_moment(at, "at")
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float | np.number)
            or not (math.isfinite(factor) and factor > 0)
        ):
            raise InvalidDataError(
                f"'factor' must be a finite number > 0; got {factor!r}", field="factor"
            )
        elapsed = period_index(np.array([moment]), self.period)[0] - self._last_period
        expected = np.where(self.n_gaps > 0, self.median_gap, self.median)
        late: NDArray[Any] = np.asarray(self.customer_id)[elapsed > float(factor) * expected]
        return late

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return one row per customer as a dataframe of ``backend`` (which must be installed).

        Columns: ``customer_id``, ``n_gaps``, ``median_gap`` (NaN without a gap) and
        ``last_purchase``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.purchase_cycle(rk.datasets.load_cdnow()).to_frame("pandas").shape
        (2357, 4)
        """
        import narwhals as nw

        data: dict[str, NDArray[Any]] = {
            "customer_id": np.asarray(self.customer_id),
            "n_gaps": np.asarray(self.n_gaps),
            "median_gap": np.asarray(self.median_gap),
            # microseconds: the finest unit every backend reads from numpy
            "last_purchase": self.last_purchase.astype("datetime64[us]"),
        }
        return nw.from_dict(data, backend=backend).to_native()


@overload
def purchase_cycle(
    transactions: Transactions | Any,
    *,
    period: Period = ...,
    observation_end: Any = ...,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> PurchaseCycle: ...
@overload
def purchase_cycle(
    transactions: Transactions | Any,
    *,
    period: Period = ...,
    observation_end: Any = ...,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[PurchaseCycle]: ...
def purchase_cycle(
    transactions: Transactions | Any,
    *,
    period: Period = "D",
    observation_end: Any = None,
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> PurchaseCycle | Segmented[PurchaseCycle]:
    """Estimate the purchase cycle: the time between a customer's consecutive purchases.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below.
    period : {"D", "W", "M"}, default "D"
        Purchases are grouped into calendar periods; gaps are counted in these periods.
    observation_end : datetime64, datetime, date or ISO 8601 string, optional
        The end of observation, at or after the last transaction; default: the last
        transaction.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    PurchaseCycle or Segmented of PurchaseCycle
        With ``segment``, one per segment: the curve from that segment's gaps, and the
        customers with rows in it.

    Raises
    ------
    InvalidDataError
        On an invalid log or period, or an ``observation_end`` before the last transaction.

    Notes
    -----
    With q_1 < q_2 < ... < q_m a customer's distinct purchase periods (period ordinals), the
    closed gaps are g_j = q_{j+1} - q_j >= 1, and the open gap q(observation_end) - q_m is
    right-censored: the next purchase, if any, comes later. The Kaplan-Meier estimator [1]_
    pools all gaps of all customers:

        S(t) = prod_{t_i <= t} (1 - d_i / n_i)

    with d_i the closed gaps of length t_i and n_i the gaps (closed or open) of length
    >= t_i. The median and quantiles are read off S (see `PurchaseCycle.quantile`). An open
    gap of 0 (a purchase in the final period) carries no information. Every gap weighs the
    same, so frequent buyers contribute more gaps; the estimate assumes censoring is
    independent of gap length.

    `PurchaseCycle.naive_median` applies the same rule to the closed gaps alone (their
    empirical distribution) and runs short when many gaps are still open. Each customer's
    `median_gap` is the ordinary median of their own closed gaps (the mean of the middle two
    for an even count).

    References
    ----------
    .. [1] E. L. Kaplan and P. Meier, "Nonparametric Estimation from Incomplete
       Observations", Journal of the American Statistical Association 53(282), 457-481, 1958.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> tx = rk.Transactions([1, 1, 1, 2, 2],
    ...                      np.array(["2024-01-01", "2024-01-11", "2024-01-31",
    ...                                "2024-01-05", "2024-01-25"], dtype="datetime64[D]"))
    >>> cycle = rk.purchase_cycle(tx, observation_end="2024-02-10")
    >>> cycle.n_gaps.tolist(), cycle.median_gap.tolist()
    ([2, 1], [15.0, 20.0])
    >>> cycle.times.tolist(), cycle.survival.tolist()
    ([10, 20], [0.8, 0.0])
    >>> cycle.median, cycle.naive_median
    (20.0, 20.0)
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    if is_lazy(transactions) and segment is None:
        return _lazy_metrics.purchase_cycle(
            transactions,
            period=check_period(period),
            observation_end=observation_end,
            **columns,
        )
    tx, index = segmented_transactions(transactions, segment, **columns)
    period = check_period(period)
    end = tx.end if observation_end is None else as_moment(observation_end, "observation_end")
    if end < tx.end:
        raise InvalidDataError(
            f"'observation_end' must not be before the last transaction ({tx.end}); got {end}",
            field="observation_end",
        )
    ids, _ = tx.customer_index()
    n = index.n
    codes, periods = customer_periods(index.codes, tx.timestamp, period)
    new_customer = group_starts(codes)
    closed = ~new_customer[1:]
    gaps = np.diff(periods)[closed]
    gap_codes = codes[1:][closed]
    last_of_customer = np.append(new_customer[1:], True)
    open_gaps = period_index(np.array([end]), period)[0] - periods[last_of_customer]
    durations = np.concatenate((gaps, open_gaps))
    observed = np.concatenate((np.ones(gaps.size, bool), np.zeros(open_gaps.size, bool)))
    gap_group = index.group[gap_codes]
    curves = _grouped_kaplan_meier(
        durations,
        observed,
        np.concatenate((gap_group, index.group[codes[last_of_customer]])),
        index.n_groups,
    )
    naive = _grouped_kaplan_meier(gaps, np.ones(gaps.size, bool), gap_group, index.n_groups)
    has_gaps = np.bincount(gap_group, minlength=index.n_groups) > 0
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, index.codes, tx.timestamp.view(np.int64))
    n_gaps = np.bincount(gap_codes, minlength=n)
    median_gap = _sorted_group_medians(gap_codes, gaps, n)
    cycles = []
    for g, (times, at_risk, events, survival) in enumerate(curves):
        members = index.group == g
        closed_times, _, _, closed_survival = naive[g]
        cycles.append(
            PurchaseCycle(
                period=period,
                observation_end=end,
                times=times,
                at_risk=at_risk,
                events=events,
                survival=survival,
                naive_median=(
                    _first_reaching(closed_times, closed_survival, 0.5)
                    if has_gaps[g]
                    else math.nan
                ),
                customer_id=ids[index.customer[members]],
                n_gaps=n_gaps[members],
                median_gap=median_gap[members],
                last_purchase=last[members].view(tx.timestamp.dtype),
            )
        )
    return cycles[0] if segment is None else wrap(index, cycles)
