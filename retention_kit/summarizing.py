"""From a transaction log to the per-customer statistics of the buy-till-you-die models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import InvalidDataError
from ._periods import as_moment, check_period, period_index, period_start
from ._typing import FloatArray, IntArray, Period, TimeUnit
from .data import Transactions, as_transactions
from .summary import CustomerSummary

__all__ = ["summarize"]

_UNIT_DAYS = {"D": 1, "W": 7}
_INT32_MAX = int(np.iinfo(np.int32).max)
_INT64_MAX = int(np.iinfo(np.int64).max)


def _check_unit(unit: str | None, period: Period, caller: str) -> TimeUnit:
    """Return the unit of the output: ``unit``, or by default the period (days for months)."""
    if unit is None:
        return "W" if period == "W" else "D"
    if unit not in _UNIT_DAYS:
        raise InvalidDataError(
            f"The 'unit' parameter of {caller} must be 'D' (day) or 'W' (week of 7 days); "
            f"got {unit!r} instead.",
            field="unit",
        )
    return unit  # type: ignore[return-value]


def _period_of(moment: np.datetime64, period: Period) -> int:
    """Ordinal of the calendar period holding ``moment``."""
    return int(period_index(np.array([moment]), period)[0])


def _days(index: IntArray, period: Period) -> IntArray:
    """Day number (since the epoch) of the first day of each period."""
    return period_start(index, period).view(np.int64)


def _pair_keys(codes: IntArray, periods: IntArray, n_customers: int) -> tuple[NDArray[Any], int]:
    """One sortable integer per row, ``code * span + (period - first period)``.

    Returns the keys and ``span``. The keys are int32 when they fit (a faster sort, half the
    memory), else int64.
    """
    low = int(periods.min())
    span = int(periods.max()) - low + 1
    dtype = np.int32 if n_customers * span <= _INT32_MAX else np.int64
    keys = np.empty(codes.size, dtype=dtype)
    np.subtract(periods, low, out=keys, casting="same_kind")
    offsets = np.empty(codes.size, dtype=dtype)
    np.multiply(codes, span, out=offsets, casting="same_kind")
    np.add(keys, offsets, out=keys)
    return keys, span


def _purchase_periods(
    codes: IntArray, periods: IntArray, n_customers: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct purchase periods of each customer: their number, the first and the last.

    Each row becomes one integer key combining its customer code and period; one sort brings
    equal keys together and each customer's periods into order, so the distinct keys give the
    counts (a bincount) and the first and last period of each customer (the ends of its run).
    Customers without rows get a count of 0 (and meaningless first and last periods).
    """
    count = np.zeros(n_customers, dtype=np.int64)
    first = np.zeros(n_customers, dtype=np.int64)
    last = np.zeros(n_customers, dtype=np.int64)
    if codes.size == 0:
        return count, first, last
    values: IntArray | None = None
    if n_customers * (int(periods.max()) - int(periods.min()) + 1) > _INT64_MAX:
        # Timestamps millions of years apart: number the distinct periods instead (their count
        # is at most the number of rows, so the keys fit).
        values, periods = np.unique(periods, return_inverse=True)
        periods = periods.reshape(-1)
    keys, span = _pair_keys(codes, periods, n_customers)
    low = int(periods.min())
    keys.sort()
    distinct = np.empty(keys.size, dtype=bool)
    distinct[0] = True
    np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
    pairs = keys[distinct]
    del keys, distinct
    customer = pairs // span
    offset = pairs - customer * span
    count += np.bincount(customer, minlength=n_customers)
    present = np.flatnonzero(count)
    ends = np.cumsum(count[present]) - 1
    starts = ends - count[present] + 1
    first[present] = offset[starts].astype(np.int64) + low
    last[present] = offset[ends].astype(np.int64) + low
    if values is not None:
        first[present] = values[first[present]]
        last[present] = values[last[present]]
    return count, first, last


def _repeat_spend(
    codes: IntArray, periods: IntArray, amounts: FloatArray, first: IntArray, n_customers: int
) -> FloatArray:
    """Total amount of each customer's rows outside their first purchase period."""
    repeat = np.not_equal(periods, first[codes])
    spend = np.bincount(codes, weights=np.where(repeat, amounts, 0.0), minlength=n_customers)
    return spend.astype(np.float64, copy=False)


def _mean_per_period(total: FloatArray, n_periods: FloatArray) -> FloatArray:
    """``total / n_periods``, and 0 where ``n_periods`` is 0."""
    out = np.zeros(total.size)
    np.divide(total, n_periods, out=out, where=n_periods > 0)
    return out


@dataclass(frozen=True, slots=True)
class _Rows:
    """The columns of a log the summaries are computed from, customers as integer codes."""

    ids: NDArray[Any]
    codes: IntArray
    periods: IntArray
    amounts: FloatArray | None

    @classmethod
    def of(cls, tx: Transactions, period: Period) -> _Rows:
        ids, codes = tx.customer_index()
        return cls(ids, codes, period_index(tx.timestamp, period), tx.amount)

    def where(self, keep: NDArray[np.bool_]) -> _Rows:
        """Return the rows selected by ``keep`` (no copy when every row is kept)."""
        if keep.all():
            return self
        amounts = None if self.amounts is None else self.amounts[keep]
        return _Rows(self.ids, self.codes[keep], self.periods[keep], amounts)


def _summary(
    rows: _Rows, *, end: int, period: Period, unit: TimeUnit
) -> tuple[CustomerSummary, NDArray[np.bool_]]:
    """Summary of the customers with rows, observed to the start of period ``end``.

    Also returns which customer codes have rows (the summary's customers, in code order).
    """
    n_customers = rows.ids.size
    count, first, last = _purchase_periods(rows.codes, rows.periods, n_customers)
    present = count > 0
    frequency = (count[present] - 1).astype(np.float64)
    first_day = _days(first[present], period)
    days_per_unit = _UNIT_DAYS[unit]
    recency = (_days(last[present], period) - first_day) / days_per_unit
    T = (_days(np.array([end]), period) - first_day) / days_per_unit
    money = None
    if rows.amounts is not None:
        spend = _repeat_spend(rows.codes, rows.periods, rows.amounts, first, n_customers)
        money = _mean_per_period(spend[present], frequency)
    summary = CustomerSummary(
        frequency=frequency,
        recency=recency,
        T=T,
        monetary_value=money,
        customer_id=rows.ids[present] if not present.all() else rows.ids,
        unit=unit,
    )
    return summary, present


def summarize(
    transactions: Transactions | Any,
    *,
    period: Period = "D",
    unit: TimeUnit | None = None,
    observation_end: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> CustomerSummary:
    """Summarize a transaction log into each customer's frequency, recency and age.

    Purchases are grouped into calendar periods: several purchases of a customer in one period
    count as one (their amounts summed). For each customer who bought in a period up to the one
    holding ``observation_end``:

    - ``frequency`` x: the number of periods with a purchase, minus one (the first);
    - ``recency`` t_x: the time from the start of the first to the start of the last purchase
      period (0 when x = 0);
    - ``T``: the time from the start of the first purchase period to the start of the period
      holding ``observation_end``;
    - ``monetary_value`` (when the log has amounts): the mean amount per repeat purchase
      period, the first period left out (0 when x = 0).

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a dataframe narwhals reads is converted with `Transactions.from_frame`.
    period : {"D", "W", "M"}, default "D"
        The calendar period purchases are grouped into: day, week starting Monday, or month.
    unit : {"D", "W"}, optional
        The unit of ``recency`` and ``T``: days, or weeks of 7 days. Default: the period, and
        days for months (months differ in length, so the time between two month starts is
        counted in days).
    observation_end : date, datetime or ISO 8601 string, optional
        The end of observation, default the last transaction. Its whole period is observed:
        rows in later periods are left out, and so are the customers whose first purchase
        falls after it.
    customer_id, timestamp, amount : str
        Column names when ``transactions`` is a dataframe.

    Returns
    -------
    CustomerSummary
        One row per customer, in the order of the sorted customer ids (``customer_id``), with
        ``monetary_value`` when the log has amounts, in ``unit``.

    Raises
    ------
    InvalidDataError
        On an unknown ``period`` or ``unit``, an unparseable ``observation_end``, an
        ``observation_end`` before the period of the first purchase, and for every rule of
        `Transactions` when a dataframe is given.

    See Also
    --------
    calibration_holdout : the summary of a calibration window and the purchases after it.
    CustomerSummary.from_frame : bring a summary computed elsewhere.

    Notes
    -----
    These are the sufficient statistics (x, t_x, T) of the Pareto/NBD and BG/NBD likelihoods
    (Fader, Hardie & Lee 2005, section 2, where a "purchase" is a day with a purchase), computed
    exactly as lifetimes' ``summary_data_from_transaction_data``: ``period="D"`` and ``"W"``
    are its ``freq="D"`` and ``"W"``, and ``period="D", unit="W"`` is ``freq="D",
    freq_multiplier=7``. The mean repeat spend is summed row by row rather than period by
    period, so it may differ from lifetimes' in the last digit.

    The work is one sort of an integer key per row (customer, period) and a few bincounts: no
    loop over customers, and no copy of the log.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy Way:
       An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.

    Examples
    --------
    The calibration data of Fader, Hardie & Lee (2005): the CDNOW sample up to 1997-09-30,
    in weeks.

    >>> import retention_kit as rk
    >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
    ...                        observation_end="1997-09-30")
    >>> summary.n_customers, int(summary.frequency.sum()), int(summary.frequency.max())
    (2357, 2457, 29)
    >>> print(summary.customer_id[0], summary.frequency[0], summary.recency[0], summary.T[0])
    1 2.0 30.428571428571427 38.857142857142854

    A dataframe works too:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "user": ["a", "a", "a", "b"],
    ...     "day": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-03"]),
    ...     "spend": [10.0, 5.0, 20.0, 7.5],
    ... })
    >>> summary = rk.summarize(frame, customer_id="user", timestamp="day", amount="spend")
    >>> summary.frequency.tolist(), summary.recency.tolist(), summary.T.tolist()
    ([1.0, 0.0], [7.0, 0.0], [7.0, 5.0])
    >>> summary.monetary_value.tolist()
    [20.0, 0.0]
    """
    period = check_period(period)
    unit = _check_unit(unit, period, "summarize")
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp, amount=amount)
    rows = _Rows.of(tx, period)
    if observation_end is None:
        end = int(rows.periods.max())
    else:
        moment = as_moment(observation_end, "observation_end")
        end = _period_of(moment, period)
        if end < int(rows.periods.min()):
            raise InvalidDataError(
                f"'observation_end' must not be before the first purchase "
                f"({tx.start}); got {observation_end!r}",
                field="observation_end",
            )
        rows = rows.where(rows.periods <= end)
    summary, _ = _summary(rows, end=end, period=period, unit=unit)
    return summary
