"""From a transaction log to the per-customer statistics of the buy-till-you-die models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from . import _lazy
from ._errors import InvalidDataError
from ._frames import is_lazy
from ._periods import as_moment, check_period, period_index, period_start
from ._typing import FloatArray, IntArray, Period, TimeUnit
from ._validation import check_rows, check_same_length, float_column
from .data import Transactions, as_transactions
from .summary import CustomerSummary

__all__ = ["CalibrationHoldout", "calibration_holdout", "summarize"]

_UNIT_DAYS = {"D": 1, "W": 7}
_PERIOD_NAMES = {"D": "day", "W": "week", "M": "month"}
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


def _span_error(periods: IntArray, n_customers: int) -> InvalidDataError:
    return InvalidDataError(
        f"`timestamp` must span fewer periods: {int(periods.max()) - int(periods.min()) + 1} "
        f"periods for {n_customers} customers is too many to index (the first and last "
        "periods are millions of years apart); check the log for corrupt dates",
        field="timestamp",
    )


@dataclass(frozen=True, slots=True)
class _Rows:
    """The columns of a log that summaries are computed from.

    Customers are integer codes (positions in the sorted unique ids) and periods are offsets
    from the first period of the log, in the narrowest integer type that holds the combined
    key ``code * span + offset`` of every row: int32 when it fits (half the memory and a faster
    sort), else int64.
    """

    ids: NDArray[Any]
    codes: IntArray
    offsets: NDArray[Any]
    amounts: FloatArray | None
    low: int
    span: int

    @classmethod
    def of(cls, tx: Transactions, period: Period) -> _Rows:
        ids, codes = tx.customer_index()
        periods = period_index(tx.timestamp, period)
        low = int(periods.min())
        span = int(periods.max()) - low + 1
        if ids.size * span > _INT64_MAX:
            raise _span_error(periods, ids.size)
        dtype = np.int32 if ids.size * span <= _INT32_MAX else np.int64
        offsets = np.empty(periods.size, dtype=dtype)
        np.subtract(periods, low, out=offsets, casting="same_kind")
        return cls(ids, codes, offsets, tx.amount, low, span)

    def where(self, keep: NDArray[np.bool_]) -> _Rows:
        """Return the rows selected by ``keep`` (no copy when every row is kept)."""
        if keep.all():
            return self
        amounts = None if self.amounts is None else self.amounts[keep]
        return _Rows(self.ids, self.codes[keep], self.offsets[keep], amounts, self.low, self.span)

    def purchase_periods(self) -> tuple[IntArray, IntArray, IntArray]:
        """Return each customer's number of distinct purchase periods, first and last period.

        Each row becomes one integer key, ``code * span + offset``; one sort brings equal keys
        together and each customer's periods into order, so the distinct keys hold each
        customer's periods as one sorted run, found by a binary search for ``code * span``.
        Customers without rows get a count of 0 (and meaningless first and last periods).
        """
        n_customers = self.ids.size
        dtype = self.offsets.dtype
        keys = np.empty(self.codes.size, dtype=dtype)
        np.multiply(self.codes, self.span, out=keys, casting="same_kind")
        keys += self.offsets
        keys.sort()
        distinct = np.empty(keys.size, dtype=bool)
        distinct[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
        pairs = keys[distinct]
        del keys, distinct
        bases = np.arange(n_customers + 1, dtype=np.int64) * self.span
        bounds = np.searchsorted(pairs, bases.astype(dtype))
        count = np.diff(bounds)
        present = count > 0
        first = np.zeros(n_customers, dtype=np.int64)
        last = np.zeros(n_customers, dtype=np.int64)
        first[present] = pairs[bounds[:-1][present]] - bases[:-1][present] + self.low
        last[present] = pairs[bounds[1:][present] - 1] - bases[:-1][present] + self.low
        return count, first, last

    def spend(self, *, skip_first: IntArray | None = None) -> FloatArray:
        """Return each customer's total amount, leaving out the rows of period ``skip_first``."""
        assert self.amounts is not None
        amounts = self.amounts
        if skip_first is not None:
            first = (skip_first - self.low).astype(self.offsets.dtype)
            amounts = np.where(self.offsets != first[self.codes], amounts, 0.0)
        total = np.bincount(self.codes, weights=amounts, minlength=self.ids.size)
        return total.astype(np.float64, copy=False)


def _mean_per_period(total: FloatArray, n_periods: FloatArray) -> FloatArray:
    """Return ``total / n_periods``, and 0 where ``n_periods`` is 0."""
    out = np.zeros(total.size)
    np.divide(total, n_periods, out=out, where=n_periods > 0)
    return out


def _summary(
    rows: _Rows, *, end: int, period: Period, unit: TimeUnit
) -> tuple[CustomerSummary, NDArray[np.bool_]]:
    """Summarize the customers with rows, observed to the start of period ``end``.

    Also returns which customer codes have rows (the summary's customers, in code order).
    """
    count, first, last = rows.purchase_periods()
    present = count > 0
    frequency = (count[present] - 1).astype(np.float64)
    first_day = _days(first[present], period)
    days_per_unit = _UNIT_DAYS[unit]
    recency = (_days(last[present], period) - first_day) / days_per_unit
    T = (_days(np.array([end]), period) - first_day) / days_per_unit
    money = None
    if rows.amounts is not None:
        money = _mean_per_period(rows.spend(skip_first=first)[present], frequency)
    summary = CustomerSummary(
        frequency=frequency,
        recency=recency,
        T=T,
        monetary_value=money,
        customer_id=rows.ids if present.all() else rows.ids[present],
        unit=unit,
    )
    return summary, present


def summarize(
    transactions: Transactions | Any,
    *,
    period: Period = "D",
    unit: TimeUnit | None = None,
    observation_end: Any = None,
    compress: bool = False,
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
        The log; an eager dataframe narwhals reads is converted with
        `Transactions.from_frame`. A lazy one (Polars LazyFrame, DuckDB relation, Dask or
        PySpark DataFrame) is grouped inside its engine and only the result is collected.
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
    compress : bool, default False
        Return the weighted form, ``summary.compress()``: one row per distinct (frequency,
        recency, T[, monetary_value]) with the number of customers it stands for, which every
        model's fit takes. On a lazy frame only these rows leave the engine.
    customer_id, timestamp, amount : str
        Column names when ``transactions`` is a dataframe.

    Returns
    -------
    CustomerSummary
        One row per customer, in the order of the sorted customer ids (``customer_id``), with
        ``monetary_value`` when the log has amounts, in ``unit``; with ``compress``, the
        distinct rows and their ``weight`` (no customer ids).

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
    These are the statistics (x, t_x, T) through which alone a customer's purchase history
    enters the Pareto/NBD and BG/NBD likelihoods (Fader, Hardie & Lee 2005, where a purchase is
    a day with a purchase, in weeks: ``period="D", unit="W"``), computed exactly as lifetimes'
    ``summary_data_from_transaction_data``: ``period="D"`` and ``"W"``
    are its ``freq="D"`` and ``"W"``, and ``period="D", unit="W"`` is ``freq="D",
    freq_multiplier=7``. The mean repeat spend is summed row by row rather than period by
    period, so it may differ from lifetimes' in the last digit.

    The work is one sort of an integer key per row, combining the customer and the period, and
    a few bincounts: no loop over customers. The keys are 32-bit integers when customers times
    periods fit (an int32 sort is faster), so the extra memory is a few bytes per row.

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
    if is_lazy(transactions):
        return _lazy.summarize(
            transactions,
            period=period,
            unit=unit,
            observation_end=observation_end,
            compress=compress,
            customer_id=customer_id,
            timestamp=timestamp,
            amount=amount,
        )
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp, amount=amount)
    rows = _Rows.of(tx, period)
    if observation_end is None:
        end = rows.low + rows.span - 1
    else:
        end = _period_of(as_moment(observation_end, "observation_end"), period)
        if end < rows.low:
            raise InvalidDataError(
                f"'observation_end' must not be before the {_PERIOD_NAMES[period]} of the first "
                f"purchase ({tx.start}); got {observation_end!r}",
                field="observation_end",
            )
        rows = rows.where(rows.offsets <= end - rows.low)
    summary, _ = _summary(rows, end=end, period=period, unit=unit)
    return summary.compress() if compress else summary


@dataclass(frozen=True, slots=True, eq=False)
class CalibrationHoldout:
    """A calibration summary and what the same customers bought in the holdout window after it.

    The data of a forecast check: fit a model on ``calibration``, predict each customer's
    purchases over ``holdout_duration`` and compare with ``holdout_frequency``.

    Parameters
    ----------
    calibration : CustomerSummary
        The summary of the calibration window.
    holdout_frequency : array-like of int
        x*, each calibration customer's number of periods with a purchase in the holdout
        window, row for row with ``calibration``.
    holdout_duration : float
        t*, the length of the holdout window in ``calibration.unit``.
    holdout_monetary_value : array-like of float, optional
        The mean amount per holdout purchase period (0 without holdout purchases).

    Raises
    ------
    InvalidDataError
        When ``calibration`` is not a `CustomerSummary`, the holdout columns do not have one row
        per calibration row, a holdout frequency is negative or fractional, a monetary value is
        negative or a value is not finite, or ``holdout_duration`` is not a positive number.

    See Also
    --------
    calibration_holdout : build one from a transaction log.

    Examples
    --------
    >>> import retention_kit as rk
    >>> calibration = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
    >>> data = rk.CalibrationHoldout(calibration, holdout_frequency=[1, 0], holdout_duration=39)
    >>> len(data), data.unit, data.holdout_frequency.tolist()
    (2, 'W', [1.0, 0.0])
    """

    calibration: CustomerSummary
    holdout_frequency: FloatArray
    holdout_duration: float
    holdout_monetary_value: FloatArray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.calibration, CustomerSummary):
            raise InvalidDataError(
                f"'calibration' must be a CustomerSummary; got {type(self.calibration).__name__}",
                field="calibration",
            )
        frequency = float_column(self.holdout_frequency, "holdout_frequency")
        check_rows(
            (frequency >= 0) & (frequency == np.floor(frequency)),
            "holdout_frequency",
            "must be a non-negative integer",
            {"holdout_frequency": frequency},
        )
        money = None
        if self.holdout_monetary_value is not None:
            money = float_column(self.holdout_monetary_value, "holdout_monetary_value")
            check_rows(
                money >= 0,
                "holdout_monetary_value",
                "must be >= 0",
                {"holdout_monetary_value": money},
            )
        check_same_length(
            calibration=self.calibration.frequency,
            holdout_frequency=frequency,
            holdout_monetary_value=money,
        )
        duration = self.holdout_duration
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int | float | np.integer | np.floating)
            or not np.isfinite(duration)
            or duration <= 0
        ):
            raise InvalidDataError(
                f"'holdout_duration' must be a finite number > 0; got {duration!r}",
                field="holdout_duration",
            )
        object.__setattr__(self, "holdout_frequency", frequency)
        object.__setattr__(self, "holdout_monetary_value", money)
        object.__setattr__(self, "holdout_duration", float(duration))

    def __len__(self) -> int:
        return len(self.calibration)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CalibrationHoldout):
            return NotImplemented
        same_money = (
            self.holdout_monetary_value is None and other.holdout_monetary_value is None
        ) or (
            self.holdout_monetary_value is not None
            and other.holdout_monetary_value is not None
            and np.array_equal(self.holdout_monetary_value, other.holdout_monetary_value)
        )
        return (
            self.calibration == other.calibration
            and np.array_equal(self.holdout_frequency, other.holdout_frequency)
            and self.holdout_duration == other.holdout_duration
            and same_money
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def unit(self) -> TimeUnit:
        """The unit of the calibration times and of ``holdout_duration``."""
        return self.calibration.unit

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the data as a dataframe of the given backend (which must be installed).

        The columns are those of lifetimes' ``calibration_and_holdout_data``:
        ``customer_id`` (when known), ``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``monetary_value_cal`` (when present), ``frequency_holdout``,
        ``monetary_value_holdout`` (when present), ``duration_holdout``, and ``weight`` when
        the calibration summary is weighted.

        Examples
        --------
        >>> import retention_kit as rk
        >>> calibration = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], unit="W")
        >>> data = rk.CalibrationHoldout(calibration, [1, 0], holdout_duration=39)
        >>> data.to_frame("pandas").columns.tolist()
        ['frequency_cal', 'recency_cal', 'T_cal', 'frequency_holdout', 'duration_holdout']
        """
        import narwhals as nw

        calibration = self.calibration
        data: dict[str, Any] = {}
        if calibration.customer_id is not None:
            data["customer_id"] = np.asarray(calibration.customer_id)
        data.update(
            frequency_cal=calibration.frequency.astype(np.int64),
            recency_cal=calibration.recency,
            T_cal=calibration.T,
        )
        if calibration.monetary_value is not None:
            data["monetary_value_cal"] = calibration.monetary_value
        data["frequency_holdout"] = self.holdout_frequency.astype(np.int64)
        if self.holdout_monetary_value is not None:
            data["monetary_value_holdout"] = self.holdout_monetary_value
        data["duration_holdout"] = np.full(len(self), self.holdout_duration)
        if calibration.weight is not None:
            data["weight"] = calibration.weight
        return nw.from_dict(data, backend=backend).to_native()


def calibration_holdout(
    transactions: Transactions | Any,
    *,
    calibration_end: Any,
    observation_end: Any = None,
    period: Period = "D",
    unit: TimeUnit | None = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> CalibrationHoldout:
    """Split a transaction log into a calibration summary and the holdout purchases after it.

    The calibration window holds the rows up to ``calibration_end`` (inclusive) and is
    summarized as by `summarize` with ``observation_end=calibration_end``. The holdout window
    holds the rows after ``calibration_end`` up to ``observation_end`` (inclusive); for each
    customer of the calibration summary it counts the periods with a holdout purchase and their
    mean amount. Customers first seen in the holdout window are left out.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; an eager dataframe narwhals reads is converted with
        `Transactions.from_frame`. A lazy one (Polars LazyFrame, DuckDB relation, Dask or
        PySpark DataFrame) is grouped inside its engine and only the result is collected.
    calibration_end : date, datetime or ISO 8601 string
        The last moment of the calibration window. Timestamps are compared with it as they are:
        a date means its midnight, so with times of day pass the end of the day (for instance
        ``"1997-09-30T23:59:59"``) to keep that day's later purchases in calibration.
    observation_end : date, datetime or ISO 8601 string, optional
        The last moment of the holdout window, default the last transaction. It must fall in a
        later period than ``calibration_end``.
    period : {"D", "W", "M"}, default "D"
        The calendar period purchases are grouped into, as in `summarize`.
    unit : {"D", "W"}, optional
        The unit of the times, as in `summarize`.
    customer_id, timestamp, amount : str
        Column names when ``transactions`` is a dataframe.

    Returns
    -------
    CalibrationHoldout
        ``calibration`` (a `CustomerSummary`), ``holdout_frequency``,
        ``holdout_monetary_value`` (when the log has amounts) and ``holdout_duration``, the
        time from the start of the period of ``calibration_end`` to the start of the period of
        ``observation_end``.

    Raises
    ------
    InvalidDataError
        On an unknown ``period`` or ``unit``, an unparseable moment, a ``calibration_end``
        before the first purchase, an ``observation_end`` not in a later period than
        ``calibration_end``, and for every rule of `Transactions` when a dataframe is given.

    See Also
    --------
    summarize : the summary of a single window.

    Notes
    -----
    The windows, x* and t* are those of lifetimes' ``calibration_and_holdout_data`` with
    ``freq`` and ``freq_multiplier`` as in `summarize`, and the holdout check of Fader, Hardie &
    Lee (2005), section 4 (CDNOW: calibration to week 39, holdout weeks 40 to 78). One
    difference: lifetimes' ``monetary_value_holdout`` is the mean amount per transaction row,
    while ``holdout_monetary_value`` here is the mean amount per holdout purchase period, the
    amounts of a period summed, which is how the calibration ``monetary_value`` (and so the
    spend a Gamma-Gamma model predicts) is defined. The two agree when no customer has two
    holdout rows in one period.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy Way:
       An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.

    Examples
    --------
    The CDNOW forecast check of Fader, Hardie & Lee (2005): calibration to 1997-09-30, holdout
    to 1998-06-30, in weeks.

    >>> import retention_kit as rk
    >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", period="D", unit="W")
    >>> int(data.calibration.frequency.sum()), int(data.holdout_frequency.sum())
    (2457, 1882)
    >>> data.holdout_duration
    39.0
    """
    period = check_period(period)
    unit = _check_unit(unit, period, "calibration_holdout")
    if is_lazy(transactions):
        return _lazy.calibration_holdout(
            transactions,
            calibration_end=calibration_end,
            observation_end=observation_end,
            period=period,
            unit=unit,
            customer_id=customer_id,
            timestamp=timestamp,
            amount=amount,
        )
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp, amount=amount)
    cal_moment = as_moment(calibration_end, "calibration_end")
    end_moment = (
        tx.end if observation_end is None else as_moment(observation_end, "observation_end")
    )
    if not cal_moment < end_moment:
        raise InvalidDataError(
            f"'calibration_end' must be before 'observation_end': got {cal_moment} and "
            f"{end_moment}",
            field="calibration_end",
        )
    cal_end, obs_end = _period_of(cal_moment, period), _period_of(end_moment, period)
    if cal_end == obs_end:
        raise InvalidDataError(
            f"'observation_end' must fall in a later {_PERIOD_NAMES[period]} than "
            f"'calibration_end', or the holdout window has no length: got {cal_moment} and "
            f"{end_moment}",
            field="observation_end",
        )
    in_calibration = tx.timestamp <= cal_moment
    if not in_calibration.any():
        raise InvalidDataError(
            f"'calibration_end' must not be before the first purchase ({tx.start}); "
            f"got {calibration_end!r}",
            field="calibration_end",
        )
    rows = _Rows.of(tx, period)
    calibration, customers = _summary(
        rows.where(in_calibration), end=cal_end, period=period, unit=unit
    )
    in_holdout = ~in_calibration
    in_holdout &= tx.timestamp <= end_moment
    holdout = rows.where(in_holdout)
    count = holdout.purchase_periods()[0][customers].astype(np.float64)
    money = None
    if holdout.amounts is not None:
        money = _mean_per_period(holdout.spend()[customers], count)
    duration = (_days(np.array([obs_end]), period) - _days(np.array([cal_end]), period))[0]
    return CalibrationHoldout(
        calibration,
        holdout_frequency=count,
        holdout_duration=float(duration) / _UNIT_DAYS[unit],
        holdout_monetary_value=money,
    )
