"""Customer retention rate, churn, repeat purchases and purchase frequency of a transaction log.

The customer retention rate (CRR) of a period is the share of the customers active at its start
who are still active at its end. With B customers active at the start, E at the end, N of E
new in the period and R of E lapsed customers who came back,

    CRR = (E - N - R) / B,

which is the textbook (E - N) / B when nobody came back. Activity is defined by a window: a
customer is active at a moment when they bought within the ``active_window`` before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from . import _lazy_metrics
from ._activity import Columns, customer_periods, group_starts
from ._errors import InvalidDataError
from ._frames import is_lazy
from ._periods import as_moment, as_window, check_period, period_index, period_start
from ._typing import BoolArray, DatetimeArray, FloatArray, IntArray, Period
from ._validation import check_rows, check_same_length, readonly
from .data import PeriodCounts, Transactions
from .segments import Segmented, SegmentIndex, per_group, segmented_transactions, wrap

__all__ = [
    "RetentionSeries",
    "churn_rate",
    "period_counts",
    "purchase_frequency",
    "repeat_purchase_rate",
    "retention_rate",
    "retention_series",
]


def retention_rate(counts: PeriodCounts) -> float:
    r"""Return the customer retention rate of one period: the share of its starting customers kept.

    Parameters
    ----------
    counts : PeriodCounts
        B (``start``), E (``end``), N (``new``) and the ``reactivated`` customers of the period.

    Returns
    -------
    float
        ``(end - new - reactivated) / start``, in [0, 1].

    Raises
    ------
    InvalidDataError
        When ``counts`` is not a `PeriodCounts`, or when B = 0 (``field="start"``): with nobody
        to retain the rate is undefined.

    Notes
    -----
    .. math::

        \mathrm{CRR} = \frac{E - N - R}{B}

    where R counts lapsed customers who came back. With R = 0 this is the usual
    (E - N) / B; counting R separately keeps the rate the share of B still active at the end,
    so it never exceeds 1.

    Examples
    --------
    >>> import retention_kit as rk
    >>> rk.retention_rate(rk.PeriodCounts(start=200, end=180, new=40))
    0.7
    >>> rk.retention_rate(rk.PeriodCounts(start=200, end=180, new=40, reactivated=10))
    0.65
    """
    if not isinstance(counts, PeriodCounts):
        raise InvalidDataError(
            f"'counts' must be a PeriodCounts; got {type(counts).__name__}", field="counts"
        )
    if counts.start == 0:
        raise InvalidDataError(
            "`start` must be > 0 for a retention rate: nobody was active at the start of the "
            f"period, so there is nobody to retain (got start=0, end={counts.end})",
            field="start",
        )
    return counts.retained / counts.start


def churn_rate(counts: PeriodCounts) -> float:
    r"""Return the churn rate of one period: the share of its starting customers lost.

    Parameters
    ----------
    counts : PeriodCounts
        B, E, N and reactivated of the period.

    Returns
    -------
    float
        ``1 - retention_rate(counts)``, in [0, 1].

    Raises
    ------
    InvalidDataError
        As `retention_rate`: B = 0 names ``field="start"``.

    Notes
    -----
    .. math::

        \mathrm{churn} = 1 - \mathrm{CRR} = \frac{B - (E - N - R)}{B}

    Examples
    --------
    >>> import retention_kit as rk
    >>> round(rk.churn_rate(rk.PeriodCounts(start=200, end=180, new=40)), 10)
    0.3
    """
    return 1.0 - retention_rate(counts)


def _active(codes: IntArray, n: int, mask: BoolArray) -> BoolArray:
    """Flag the customers (by code) with at least one row selected by ``mask``."""
    flags = np.zeros(n, dtype=bool)
    flags[codes[mask]] = True
    return flags


@overload
def period_counts(
    transactions: Transactions | Any,
    *,
    start: Any,
    end: Any,
    active_window: Any,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> PeriodCounts: ...
@overload
def period_counts(
    transactions: Transactions | Any,
    *,
    start: Any,
    end: Any,
    active_window: Any,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[PeriodCounts]: ...
def period_counts(
    transactions: Transactions | Any,
    *,
    start: Any,
    end: Any,
    active_window: Any,
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> PeriodCounts | Segmented[PeriodCounts]:
    """Count B, E, N and the reactivated customers of one period of a transaction log.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below (see `Transactions.from_frame`).
    start, end : datetime64, datetime, date or ISO 8601 string
        The period's bounds, ``start < end``. Aware datetimes are converted to UTC.
    active_window : numpy.timedelta64, datetime.timedelta or float
        How recent a purchase keeps a customer active; a number is a count of days.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame: the counts are then
        made per segment (see `retention_kit.segments`).
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    PeriodCounts or Segmented of PeriodCounts
        ``start`` = B, ``end`` = E, ``new`` = N, ``reactivated``; one per segment when
        ``segment`` is given (they add up to the unsegmented counts when each customer has
        one segment).

    Raises
    ------
    InvalidDataError
        On an invalid log, moment or window, or when ``end <= start``.

    Notes
    -----
    A customer is active at moment m when they have a purchase p with
    m - w < p <= m (w the active window). Then

    - B = customers active at ``start``; E = customers active at ``end``;
    - N = customers of E whose first purchase f satisfies start < f <= end;
    - reactivated = customers of E not active at ``start`` with f <= start.

    So E - N - reactivated is exactly the number of B still active at ``end``, and
    ``retention_rate(counts)`` is the share of B retained. The log is taken to be complete: a
    customer with no row in a window is not active in it.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> tx = rk.Transactions(
    ...     customer_id=[1, 1, 2, 3, 4, 4],
    ...     timestamp=np.array(["2024-01-10", "2024-02-20", "2024-01-15", "2024-02-05",
    ...                         "2023-10-01", "2024-02-25"], dtype="datetime64[D]"),
    ... )
    >>> counts = rk.period_counts(tx, start="2024-02-01", end="2024-03-01", active_window=30)
    >>> counts
    PeriodCounts(start=2, end=3, new=1, reactivated=1)
    >>> rk.retention_rate(counts)
    0.5
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    if is_lazy(transactions) and segment is None:
        return _lazy_metrics.period_counts(
            transactions, start=start, end=end, active_window=active_window, **columns
        )
    tx, index = segmented_transactions(transactions, segment, **columns)
    begin = as_moment(start, "start")
    finish = as_moment(end, "end")
    if not finish > begin:
        raise InvalidDataError(
            f"'end' must be later than 'start': got start={begin}, end={finish}", field="end"
        )
    counts = _period_counts(index, tx.timestamp, begin, finish, as_window(active_window))
    results = [PeriodCounts(*(int(c) for c in row)) for row in counts]
    return results[0] if segment is None else wrap(index, results)


def _period_counts(
    index: SegmentIndex,
    ts: DatetimeArray,
    begin: np.datetime64,
    finish: np.datetime64,
    window: np.timedelta64,
) -> IntArray:
    """B, E, N and reactivated of each segment: shape (segments, 4)."""
    codes, n = index.codes, index.n
    before_start = ts <= begin
    active_start = _active(codes, n, before_start & (ts > begin - window))
    active_end = _active(codes, n, (ts <= finish) & (ts > finish - window))
    seen_by_start = _active(codes, n, before_start)
    flags = (
        active_start,
        active_end,
        active_end & ~seen_by_start,
        active_end & ~active_start & seen_by_start,
    )
    return np.stack([per_group(index, f.astype(float)) for f in flags], axis=1).astype(np.int64)


def _boundary_activity(
    codes: IntArray,
    t: IntArray,
    bounds: IntArray,
    window: int,
    *,
    dense: bool | None = None,
    group: IntArray | None = None,
    n_groups: int = 1,
) -> tuple[IntArray, IntArray, IntArray]:
    """Active, new and retained customer counts at consecutive boundaries, in one pass.

    ``t``, ``bounds`` (sorted, J + 1 of them) and ``window`` are integers in one time unit.
    Returns ``active`` (J + 1: customers active at each boundary), ``new`` and ``retained``
    (J: for the period between boundary j and j + 1, the customers active at j + 1 whose first
    purchase falls in (b_j, b_{j+1}], and the customers active at both). With ``group`` (the
    segment of each customer code, ``n_groups`` segments) each is counted per segment and has
    a leading axis of ``n_groups``; without it that axis is dropped.

    Each purchase p is filed under ``lo``, the first boundary at or after it. Within a
    (customer, lo) group only the latest purchase m matters: it keeps the customer active at
    the boundaries j >= lo with b_j < m + w, up to the customer's next group. These ranges of
    boundaries are disjoint per customer; contiguous ones are merged, and both counts become
    difference arrays over boundary indices.

    The groups come from a table of customers x boundaries when it is small (at most 2 cells
    per row), else from sorting the rows by group; ``dense`` forces one way (for tests).
    """
    n_bounds = bounds.size
    lo = np.searchsorted(bounds, t, side="left")
    inside = lo < n_bounds
    key = codes[inside] * n_bounds
    key += lo[inside]
    times = t[inside]
    cells = (int(codes.max()) + 1) * n_bounds if codes.size else 0
    if dense if dense is not None else cells <= 2 * key.size:
        # Few cells (customers x boundaries): the latest purchase of each, in linear time.
        empty = np.iinfo(np.int64).min
        latest_of_cell = np.full(cells, empty)
        np.maximum.at(latest_of_cell, key, times)
        group_key = np.flatnonzero(latest_of_cell != empty)
        latest = latest_of_cell[group_key]
    else:
        order = np.argsort(key)
        key = key[order]
        firsts = np.flatnonzero(group_starts(key))
        latest = np.maximum.reduceat(times[order], firsts) if firsts.size else firsts
        group_key = key[firsts]
    group_code, group_lo = np.divmod(group_key, n_bounds)
    stop = np.searchsorted(bounds, latest + window, side="left")
    same_customer_next = group_code[1:] == group_code[:-1]
    stop[:-1] = np.where(same_customer_next, np.minimum(stop[:-1], group_lo[1:]), stop[:-1])
    covers = stop > group_lo
    segment_of = np.zeros(group_code.size, dtype=np.int64) if group is None else group[group_code]
    # New in the period before boundary lo: the customer's first group, active at lo.
    is_new = group_starts(group_code) & covers & (group_lo >= 1)
    width = max(n_bounds - 1, 1)
    new = np.bincount(
        segment_of[is_new] * width + group_lo[is_new] - 1, minlength=n_groups * width
    ).reshape(n_groups, width)[:, : n_bounds - 1]
    # Merge each customer's contiguous ranges of boundaries into runs [run_lo, run_stop).
    r_code, r_lo, r_stop = group_code[covers], group_lo[covers], stop[covers]
    joined = np.zeros(r_code.size, dtype=bool)
    joined[1:] = (r_code[1:] == r_code[:-1]) & (r_stop[:-1] == r_lo[1:])
    run_first = np.flatnonzero(~joined)
    run_lo = r_lo[run_first]
    run_stop = r_stop[np.append(run_first[1:] - 1, r_code.size - 1)] if run_first.size else run_lo
    run_offset = segment_of[covers][run_first] * (n_bounds + 1)
    size = n_groups * (n_bounds + 1)

    def per_segment(positions: IntArray) -> IntArray:
        return np.bincount(run_offset + positions, minlength=size).reshape(n_groups, -1)

    opened = per_segment(run_lo)
    active = np.cumsum(opened - per_segment(run_stop), axis=1)[:, :n_bounds]
    retained = np.cumsum(opened - per_segment(run_stop - 1), axis=1)[:, : n_bounds - 1]
    if group is None:
        return active[0], new[0], retained[0]
    return active, new, retained


def _int_column(values: Any, name: str) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise InvalidDataError(
            f"`{name}` must be a one-dimensional array of integers: got {array.dtype} "
            f"of shape {array.shape}",
            field=name,
        )
    return readonly(array.astype(np.int64, copy=False))


@dataclass(frozen=True, slots=True, eq=False)
class RetentionSeries:
    """Retention counts and rates of consecutive calendar periods (see `retention_series`).

    Parameters
    ----------
    period_start, period_end : array-like of datetime64[D]
        Each period's first day and the first day of the next period: the moments at which B
        and E are counted.
    start, end, new, reactivated : array-like of int
        B, E, N and the reactivated customers of each period, as in `PeriodCounts`.
    freq : {"D", "W", "M"}
        The calendar period.
    active_window : numpy.timedelta64
        The active window the counts were made with.

    Attributes
    ----------
    retention_rate : ndarray of float64
        ``(end - new - reactivated) / start``; NaN where ``start`` is 0 (undefined: nobody to
        retain).
    churn_rate : ndarray of float64
        ``1 - retention_rate``; NaN where ``start`` is 0.

    Raises
    ------
    InvalidDataError
        When the arrays differ in length or a row breaks a rule of `PeriodCounts`.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> series = rk.RetentionSeries(
    ...     period_start=np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
    ...     period_end=np.array(["2024-02-01", "2024-03-01"], dtype="datetime64[D]"),
    ...     start=[0, 10], end=[10, 12], new=[10, 4], reactivated=[0, 1],
    ...     freq="M", active_window=np.timedelta64(30, "D"))
    >>> series.retention_rate
    array([nan, 0.7])
    >>> series.counts(1)
    PeriodCounts(start=10, end=12, new=4, reactivated=1)
    """

    period_start: DatetimeArray
    period_end: DatetimeArray
    start: IntArray
    end: IntArray
    new: IntArray
    reactivated: IntArray
    freq: Period
    active_window: np.timedelta64
    retention_rate: FloatArray = field(init=False)
    churn_rate: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        check_period(self.freq, "freq")
        window = as_window(self.active_window)
        period_start = readonly(np.asarray(self.period_start, dtype="datetime64[D]"))
        period_end = readonly(np.asarray(self.period_end, dtype="datetime64[D]"))
        start = _int_column(self.start, "start")
        end = _int_column(self.end, "end")
        new = _int_column(self.new, "new")
        reactivated = _int_column(self.reactivated, "reactivated")
        check_same_length(
            period_start=period_start,
            period_end=period_end,
            start=start,
            end=end,
            new=new,
            reactivated=reactivated,
        )
        columns = {"start": start, "end": end, "new": new, "reactivated": reactivated}
        for name, values in columns.items():
            check_rows(values >= 0, name, "must be >= 0", {name: values})
        check_rows(new + reactivated <= end, "new", "+ `reactivated` must be <= `end`", columns)
        retained = end - new - reactivated
        check_rows(retained <= start, "end", "- `new` - `reactivated` must be <= `start`", columns)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(start > 0, retained / np.maximum(start, 1), np.nan)
        for name, value in (
            ("period_start", period_start),
            ("period_end", period_end),
            ("start", start),
            ("end", end),
            ("new", new),
            ("reactivated", reactivated),
            ("active_window", window),
            ("retention_rate", readonly(rate)),
            ("churn_rate", readonly(1.0 - rate)),
        ):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return int(self.start.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetentionSeries):
            return NotImplemented
        return (
            self.freq == other.freq
            and self.active_window == other.active_window
            and all(
                np.array_equal(getattr(self, name), getattr(other, name))
                for name in ("period_start", "period_end", "start", "end", "new", "reactivated")
            )
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def retained(self) -> IntArray:
        """Customers active at both the start and the end of each period: E - N - reactivated."""
        return readonly(self.end - self.new - self.reactivated)

    def counts(self, i: int) -> PeriodCounts:
        """Return period ``i``'s counts as a `PeriodCounts`.

        Examples
        --------
        >>> import retention_kit as rk
        >>> series = rk.retention_series(rk.datasets.load_cdnow(), active_window=90)
        >>> bool(rk.retention_rate(series.counts(-1)) == series.retention_rate[-1])
        True
        """
        return PeriodCounts(
            start=int(self.start[i]),
            end=int(self.end[i]),
            new=int(self.new[i]),
            reactivated=int(self.reactivated[i]),
        )

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return one row per period as a dataframe of ``backend`` (which must be installed).

        Columns: ``period_start``, ``period_end`` (dates), ``start``, ``end``, ``new``,
        ``reactivated``, ``retained`` (integers), ``retention_rate`` and ``churn_rate``
        (floats, NaN where ``start`` is 0).

        Examples
        --------
        >>> import retention_kit as rk
        >>> series = rk.retention_series(rk.datasets.load_cdnow(), active_window=90)
        >>> series.to_frame("pandas").columns.tolist()[:4]
        ['period_start', 'period_end', 'start', 'end']
        """
        import narwhals as nw

        data: dict[str, NDArray[Any]] = {
            "period_start": np.asarray(self.period_start),
            "period_end": np.asarray(self.period_end),
            "start": np.asarray(self.start),
            "end": np.asarray(self.end),
            "new": np.asarray(self.new),
            "reactivated": np.asarray(self.reactivated),
            "retained": np.asarray(self.retained),
            "retention_rate": np.asarray(self.retention_rate),
            "churn_rate": np.asarray(self.churn_rate),
        }
        return nw.from_dict(data, backend=backend).to_native()


@overload
def retention_series(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    active_window: Any,
    observation_end: Any = ...,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> RetentionSeries: ...
@overload
def retention_series(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    active_window: Any,
    observation_end: Any = ...,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[RetentionSeries]: ...
def retention_series(
    transactions: Transactions | Any,
    *,
    freq: Period = "M",
    active_window: Any,
    observation_end: Any = None,
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> RetentionSeries | Segmented[RetentionSeries]:
    """Retention counts and rates of every complete calendar period of a transaction log.

    Period i runs from the start of calendar period i to the start of period i + 1, and its
    counts are exactly ``period_counts(transactions, start=<start of i>, end=<start of i + 1>,
    active_window=active_window)``.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below.
    freq : {"D", "W", "M"}, default "M"
        Calendar period: day, week starting Monday, or month.
    active_window : numpy.timedelta64, datetime.timedelta or float
        How recent a purchase keeps a customer active; a number is a count of days.
    observation_end : datetime64, datetime, date or ISO 8601 string, optional
        The moment up to which the log is complete; default: the last transaction.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    RetentionSeries or Segmented of RetentionSeries
        One entry per period; with ``segment``, one series per segment over the same periods
        (the periods of the whole log), all from the same pass over the rows.

    Raises
    ------
    InvalidDataError
        On an invalid log, period, window, or an ``observation_end`` before the first
        transaction.

    Notes
    -----
    The periods included are those from the period of the first transaction up to the last
    one that ends by ``observation_end`` (its end boundary, the start of the next period, is
    <= ``observation_end``): E cannot be counted at a moment the log does not cover. A log
    shorter than one period gives an empty series. B of the first period counts only the
    purchases made at its very first moment (none, unless timestamps are dates at midnight).
    Where B = 0 the rates are NaN, "undefined: nobody to retain", while N is still counted.

    See `period_counts` for the definitions of B, E, N and the reactivated. All periods are
    computed together by grouping the rows by (customer, boundary): a table of customers x
    boundaries when that is small (linear time), else a sort (O(n log n)); never by looping
    over customers or periods.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> series = rk.retention_series(tx, freq="M", active_window=90)
    >>> len(series), str(series.period_start[0]), str(series.period_end[-1])
    (17, '1997-01-01', '1998-06-01')
    >>> series.counts(16)
    PeriodCounts(start=376, end=345, new=0, reactivated=47)
    >>> round(float(series.retention_rate[16]), 4)
    0.7926
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    if is_lazy(transactions) and segment is None:
        return _lazy_metrics.retention_series(
            transactions,
            freq=check_period(freq, "freq"),
            active_window=active_window,
            observation_end=observation_end,
            **columns,
        )
    tx, index = segmented_transactions(transactions, segment, **columns)
    freq = check_period(freq, "freq")
    window = as_window(active_window)
    until = tx.end if observation_end is None else as_moment(observation_end, "observation_end")
    if until < tx.start:
        raise InvalidDataError(
            f"'observation_end' must not be before the first transaction ({tx.start}); "
            f"got {until}",
            field="observation_end",
        )
    first, last = period_index(np.array([tx.start, until]), freq)
    bounds_days = period_start(np.arange(first, max(last, first) + 1), freq)
    ts_unit, _ = np.datetime_data(tx.timestamp.dtype)
    in_ts_unit = window.astype(f"timedelta64[{ts_unit}]")
    if in_ts_unit == window:  # exact in the timestamps' unit: no copy of them is needed
        window = in_ts_unit
    unit = (tx.timestamp[:1] + window).dtype
    t = tx.timestamp.astype(unit, copy=False).view(np.int64)
    bounds = bounds_days.astype(unit).view(np.int64)
    step = int(window.astype(unit.str.replace("M8", "m8")).astype(np.int64))
    active, new, retained = _boundary_activity(
        index.codes, t, bounds, step, group=index.group, n_groups=index.n_groups
    )
    results = [
        RetentionSeries(
            period_start=bounds_days[:-1],
            period_end=bounds_days[1:],
            start=active[g, :-1],
            end=active[g, 1:],
            new=new[g],
            reactivated=active[g, 1:] - new[g] - retained[g],
            freq=freq,
            active_window=window,
        )
        for g in range(index.n_groups)
    ]
    return results[0] if segment is None else wrap(index, results)


@overload
def repeat_purchase_rate(
    transactions: Transactions | Any,
    *,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> float: ...
@overload
def repeat_purchase_rate(
    transactions: Transactions | Any,
    *,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[float]: ...
def repeat_purchase_rate(
    transactions: Transactions | Any,
    *,
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> float | Segmented[float]:
    r"""Return the share of customers who bought on two or more distinct days.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    float or Segmented of float
        In [0, 1]; one per segment when ``segment`` is given.

    Notes
    -----
    .. math::

        \text{repeat purchase rate} = \frac{\#\{c : d_c \ge 2\}}{\#\{\text{customers}\}}

    where d_c is the number of distinct calendar days (of the timestamps, UTC for time-zone
    aware input) on which customer c bought. Several orders on one day count as one purchase
    occasion, so the rate does not change when same-day rows are split or duplicated.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.Transactions(["a", "a", "b", "b", "c"],
    ...                      ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-02T18:00",
    ...                       "2024-01-05"])
    >>> rk.repeat_purchase_rate(tx)
    0.3333333333333333
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    if is_lazy(transactions) and segment is None:
        return _lazy_metrics.repeat_purchase_rate(transactions, **columns)
    tx, index = segmented_transactions(transactions, segment, **columns)
    codes, _ = customer_periods(index.codes, tx.timestamp, "D")
    days_per_customer = np.bincount(codes, minlength=index.n)
    repeaters = per_group(index, (days_per_customer >= 2).astype(float))
    rates = repeaters / np.bincount(index.group, minlength=index.n_groups)
    return float(rates[0]) if segment is None else wrap(index, [float(r) for r in rates])


@overload
def purchase_frequency(
    transactions: Transactions | Any,
    *,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> float: ...
@overload
def purchase_frequency(
    transactions: Transactions | Any,
    *,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[float]: ...
def purchase_frequency(
    transactions: Transactions | Any,
    *,
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> float | Segmented[float]:
    r"""Return the mean number of orders (rows of the log) per customer.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    float or Segmented of float
        >= 1; one per segment when ``segment`` is given.

    Notes
    -----
    .. math::

        \text{purchase frequency} = \frac{\#\{\text{rows}\}}{\#\{\text{customers}\}}

    Every row is an order, including several on the same day (unlike `repeat_purchase_rate`,
    which counts purchase days). Rows dropped by ``negative_amounts="drop"`` are not orders.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.Transactions(["a", "a", "b", "b", "c"],
    ...                      ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-02T18:00",
    ...                       "2024-01-05"])
    >>> rk.purchase_frequency(tx)
    1.6666666666666667
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    if is_lazy(transactions) and segment is None:
        return _lazy_metrics.purchase_frequency(transactions, **columns)
    tx, index = segmented_transactions(transactions, segment, **columns)
    if segment is None:
        return len(tx) / tx.n_customers
    orders = np.bincount(index.group[index.codes], minlength=index.n_groups)
    frequency = orders / np.bincount(index.group, minlength=index.n_groups)
    return wrap(index, [float(f) for f in frequency])
