"""Transaction logs that stay in their engine: summaries computed by DuckDB, Polars, Dask, Spark.

A lazy frame (a Polars LazyFrame, a DuckDB relation, a Dask or PySpark DataFrame, or any frame
narwhals wraps as a ``LazyFrame``) is never collected here: the functions build one narwhals
query per result, the engine runs it, and only aggregates come back (one row per customer, per
distinct summary row, per period or per cohort cell). The numpy arithmetic of the eager path is
then applied to those aggregates, so both paths give the same numbers.

Time is integer arithmetic on calendar parts, which every engine has: the day number (days
since 1970-01-01) from the year and the day of the year, the time of day in microseconds from
hours, minutes, seconds and microseconds, and from these the period ordinals and period starts
of `retention_kit._periods` (weeks start on Monday). Lazy logs are read at microsecond
resolution, the finest that DuckDB and Spark store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from ._errors import InvalidDataError
from ._frames import _as_naive_utc, require_columns
from ._periods import as_moment, period_index, period_start
from ._typing import FloatArray, IntArray, Period, TimeUnit
from .summary import CustomerSummary

if TYPE_CHECKING:
    from .summarizing import CalibrationHoldout

__all__ = [
    "LazyLog",
    "collect",
    "customer_periods",
    "customer_table",
    "day_number",
    "distinct",
    "divided",
    "micros",
    "month_number",
    "past_midnight",
    "period_expressions",
    "sorted_by_customer",
]

DAY_US: Final = 86_400_000_000
"""Microseconds per day."""

# Column names of the prepared log (the only columns it has).
C: Final = "rk_customer"
TS: Final = "rk_timestamp"
AMOUNT: Final = "rk_amount"
DAY: Final = "rk_day"
TIME: Final = "rk_time"
MONTH: Final = "rk_month"
DOM: Final = "rk_day_of_month"
# Columns of the per-customer aggregates.
N: Final = "rk_periods"
FIRST: Final = "rk_first"
LAST: Final = "rk_last"
SPEND: Final = "rk_spend"
REPEAT: Final = "rk_repeat_spend"
PERIOD: Final = "rk_period"

# Days from 1970-01-01 to January 1st of year y, with y' = y - 1:
# 365 (y - 1970) + y' // 4 - y' // 100 + y' // 400 - 477 (477 leap days before 1970).
_LEAP_DAYS_BEFORE_1970: Final = 1969 // 4 - 1969 // 100 + 1969 // 400
_MONTH_1970: Final = 1970 * 12 + 1
_US_PER_SECOND: Final = 1_000_000


def micros(moment: np.datetime64) -> int:
    """Microseconds since the epoch of ``moment``, rounded down (as a lazy log compares)."""
    return int(moment.astype("datetime64[us]").astype(np.int64))


def day_number(ts: nw.Expr) -> nw.Expr:
    """Days since 1970-01-01 of the timestamps ``ts`` (proleptic Gregorian calendar)."""
    year = ts.dt.year().cast(nw.Int64)
    before = year - 1
    return (
        (year - 1970) * 365
        + before // 4
        - before // 100
        + before // 400
        - _LEAP_DAYS_BEFORE_1970
        + ts.dt.ordinal_day().cast(nw.Int64)
        - 1
    )


def month_number(ts: nw.Expr) -> nw.Expr:
    """Months since January 1970 of the timestamps ``ts``: the ordinal of `period_index`."""
    return ts.dt.year().cast(nw.Int64) * 12 + ts.dt.month().cast(nw.Int64) - _MONTH_1970


def past_midnight(ts: nw.Expr) -> nw.Expr:
    """Whether the timestamps ``ts`` are later than the midnight starting their day."""
    dt = ts.dt
    return (dt.hour() > 0) | (dt.minute() > 0) | (dt.second() > 0) | (dt.microsecond() != 0)


def _calendar_columns(ts: str) -> list[nw.Expr]:
    """Day number, time of day (us), month ordinal and day of month of the timestamps ``ts``."""
    dt = nw.col(ts).dt
    # Normalized: Spark counts the microseconds of times before 1970 as negative.
    fraction = (dt.microsecond().cast(nw.Int64) % _US_PER_SECOND + _US_PER_SECOND) % (
        _US_PER_SECOND
    )
    seconds = (
        dt.hour().cast(nw.Int64) * 3600
        + dt.minute().cast(nw.Int64) * 60
        + dt.second().cast(nw.Int64)
    )
    return [
        day_number(nw.col(ts)).alias(DAY),
        (seconds * _US_PER_SECOND + fraction).alias(TIME),
        month_number(nw.col(ts)).alias(MONTH),
        dt.day().cast(nw.Int64).alias(DOM),
    ]


def period_expressions(period: Period) -> tuple[nw.Expr, nw.Expr]:
    """Return the period ordinal (`period_index`) and the day number of the period's start."""
    day = nw.col(DAY)
    if period == "D":
        return day, day
    if period == "W":
        return (day + 3) // 7, day - (day + 3) % 7
    return nw.col(MONTH), day - (nw.col(DOM) - 1)


def collect(frame: nw.LazyFrame[Any]) -> dict[str, NDArray[Any]]:
    """Run the query and return its columns as numpy arrays (the result is an aggregate)."""
    result = frame.collect()
    return {name: result[name].to_numpy() for name in result.columns}


def _int(value: Any) -> int:
    """Return a count from an engine as an int (DuckDB returns sums as decimals)."""
    return 0 if value is None else int(value)


def sorted_by_customer(columns: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """Reorder per-customer columns by customer id, the order of the eager path."""
    order = np.argsort(columns[C], kind="stable")
    return {name: values[order] for name, values in columns.items()}


def _rule_broken(field: str, rule: str, bad: int, rows: int, hint: str = "") -> InvalidDataError:
    message = (
        f"`{field}` {rule}: {bad} of {rows} rows break it (a lazy frame has no row positions: "
        "filter the frame on this rule to find them)"
    )
    return InvalidDataError(message + (f". {hint}" if hint else ""), field=field)


_UTC_NAMES: Final = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "+00:00"})


def _check_session_time_zone(frame: nw.LazyFrame[Any], dtype: Any, timestamp: str) -> None:
    """Refuse Spark ``TIMESTAMP`` columns outside a UTC session.

    Spark reads the calendar parts of a ``TIMESTAMP`` (an instant) in the session's time zone,
    so days would be counted in local time; narwhals cannot convert them to UTC there.
    """
    spark = (nw.Implementation.PYSPARK, nw.Implementation.PYSPARK_CONNECT)
    if frame.implementation not in spark or not isinstance(dtype, nw.Datetime):
        return
    if dtype.time_zone is None:  # TIMESTAMP_NTZ: wall-clock times, taken as they are
        return
    zone = frame.to_native().sparkSession.conf.get("spark.sql.session.timeZone")
    if zone not in _UTC_NAMES:
        raise InvalidDataError(
            f"`{timestamp}` holds Spark TIMESTAMP values, which Spark reads in the session time "
            f"zone ({zone}) while retention_kit counts days in UTC; set "
            "spark.sql.session.timeZone to UTC, or cast the column to TIMESTAMP_NTZ in UTC",
            field=timestamp,
        )


@dataclass(frozen=True, slots=True)
class LazyLog:
    """A validated transaction log inside its engine.

    ``frame`` has the columns ``C`` (customer id), ``TS`` (naive UTC timestamp), ``DAY`` (day
    number), ``TIME`` (microseconds since the epoch), ``MONTH`` (month ordinal), ``DOM`` (day of
    month) and ``AMOUNT`` (float) when the log has amounts. ``start`` and ``end`` are the first
    and last timestamps in microseconds since the epoch.
    """

    frame: nw.LazyFrame[Any]
    customer_id: str
    timestamp: str
    amount: str | None
    rows: int
    start: int
    end: int

    @classmethod
    def read(
        cls,
        data: Any,
        *,
        customer_id: str,
        timestamp: str,
        amount: str | None,
    ) -> LazyLog:
        """Prepare the columns and check the rules of `Transactions` in one pass of the engine.

        Raises `InvalidDataError` for absent columns, an empty log, missing ids or timestamps,
        unparseable timestamp strings, and missing, non-finite or negative amounts.
        """
        frame: nw.LazyFrame[Any] = data if isinstance(data, nw.LazyFrame) else nw.from_native(data)
        require_columns(frame, customer_id, timestamp, amount)
        schema = frame.collect_schema()
        ts_dtype = schema[timestamp]
        if not (ts_dtype in (nw.String, nw.Date) or isinstance(ts_dtype, nw.Datetime)):
            raise InvalidDataError(
                f"`{timestamp}` must hold dates, datetimes or ISO 8601 strings: got {ts_dtype}",
                field=timestamp,
            )
        _check_session_time_zone(frame, ts_dtype, timestamp)
        if amount is not None and not schema[amount].is_numeric():
            raise InvalidDataError(
                f"`{amount}` must be numeric: got {schema[amount]}", field=amount
            )
        try:
            columns = [
                nw.col(customer_id).alias(C),
                _as_naive_utc(nw.col(timestamp), ts_dtype, TS, None),
            ]
            if amount is not None:
                columns.append(nw.col(amount).cast(nw.Float64).alias(AMOUNT))
            prepared = frame.select(columns)
            prepared = prepared.with_columns(_calendar_columns(TS))
            prepared = prepared.with_columns((nw.col(DAY) * DAY_US + nw.col(TIME)).alias(TIME))
        except NotImplementedError as error:
            if ts_dtype == nw.String:  # an engine that parses strings only with a format
                problem = "strings that the engine does not parse without a format"
                fix = "cast the column to timestamps first"
            else:  # an engine that keeps the time zone in the session, not in the column
                problem = "time-zone aware timestamps that the engine cannot convert to UTC"
                fix = "set the session time zone to UTC or pass naive UTC timestamps"
            raise InvalidDataError(
                f"`{timestamp}` holds {problem} ({error}); {fix}", field=timestamp
            ) from None
        stats = [
            nw.len().alias("rows"),
            nw.col(C).is_null().cast(nw.Int64).sum().alias("missing_id"),
            nw.col(TS).is_null().cast(nw.Int64).sum().alias("missing_ts"),
            nw.col(TIME).min().alias("start"),
            nw.col(TIME).max().alias("end"),
        ]
        if amount is not None:
            spend = nw.col(AMOUNT)
            stats += [
                spend.is_null().cast(nw.Int64).sum().alias("missing_amount"),
                (~spend.is_finite()).cast(nw.Int64).sum().alias("infinite_amount"),
                (spend < 0).cast(nw.Int64).sum().alias("negative_amount"),
            ]
        try:
            found = {name: values[0] for name, values in collect(prepared.select(stats)).items()}
        except Exception as error:  # the engine's own parse error, whatever its type
            if ts_dtype != nw.String:
                raise
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InvalidDataError(
                f"`{timestamp}` strings could not be parsed as timestamps: {reason}",
                field=timestamp,
            ) from None
        rows = _int(found["rows"])
        if rows == 0:
            raise InvalidDataError(
                f"`{customer_id}` must hold at least one transaction: the log is empty",
                field=customer_id,
            )
        checks = [
            (customer_id, "must not be missing", "missing_id"),
            (timestamp, "must not be missing", "missing_ts"),
        ]
        if amount is not None:
            checks += [
                (amount, "must not be missing", "missing_amount"),
                (amount, "must be finite", "infinite_amount"),
                (amount, "must be >= 0", "negative_amount"),
            ]
        for field, rule, key in checks:
            if bad := _int(found[key]):
                hint = ""
                if key == "negative_amount":
                    hint = "Negative amounts are returns: filter them out first"
                raise _rule_broken(field, rule, bad, rows, hint)
        return cls(
            frame=prepared,
            customer_id=customer_id,
            timestamp=timestamp,
            amount=amount,
            rows=rows,
            start=_int(found["start"]),
            end=_int(found["end"]),
        )

    @property
    def implementation(self) -> nw.Implementation:
        """The engine holding the log."""
        engine: nw.Implementation = self.frame.implementation
        return engine

    def moment(self, us: int) -> np.datetime64:
        """Return a moment of the log (microseconds since the epoch) as a datetime64."""
        return np.datetime64(us, "us")

    def period_of(self, us: int, period: Period) -> int:
        """Ordinal of the calendar period holding the moment ``us``."""
        return int(period_index(np.array([us], dtype="datetime64[us]"), period)[0])


def period_start_day(ordinal: int, period: Period) -> int:
    """Day number of the first day of the period with this ordinal."""
    return int(period_start(np.array([ordinal]), period).view(np.int64)[0])


def customer_periods(frame: nw.LazyFrame[Any], *, with_spend: bool, by: list[str]) -> Any:
    """Distinct (customer, ``PERIOD``, ``by``...) rows, with the period's total ``SPEND``."""
    keys = [C, PERIOD, *by]
    if with_spend:
        return frame.group_by(keys).agg(nw.col(AMOUNT).sum().alias(SPEND))
    return distinct(frame, keys)


def distinct(frame: nw.LazyFrame[Any], keys: list[str]) -> nw.LazyFrame[Any]:
    """Return the distinct rows of the ``keys`` columns, as a grouping (which engines hash)."""
    return frame.group_by(keys).agg(nw.len().alias("rk_rows")).drop("rk_rows")


def divided(days: nw.Expr, unit_days: int) -> nw.Expr:
    """Return ``days / unit_days`` as floats, rounded as numpy rounds the division.

    The divisor is a column, not a constant: Polars multiplies by the reciprocal of a constant
    divisor, which is often 1 ulp away from the quotient.
    """
    if unit_days == 1:
        return days.cast(nw.Float64)
    return days / (days * 0 + unit_days)


def customer_table(periods: nw.LazyFrame[Any], *, with_spend: bool) -> nw.LazyFrame[Any]:
    """Group the distinct purchase periods by customer.

    Per customer: periods with a purchase ``N``, ``FIRST`` and ``LAST`` period start, and
    ``REPEAT``, the spend of every period but the first (with ``with_spend``).
    """
    if not with_spend:
        return periods.group_by(C).agg(
            nw.len().alias(N), nw.col(PERIOD).min().alias(FIRST), nw.col(PERIOD).max().alias(LAST)
        )
    firsts = periods.group_by(C).agg(nw.col(PERIOD).min().alias(FIRST))
    repeat = nw.when(nw.col(PERIOD) != nw.col(FIRST)).then(nw.col(SPEND)).otherwise(0.0)
    return (
        periods.join(firsts, on=C)
        .with_columns(repeat.alias(REPEAT))
        .group_by(C)
        .agg(
            nw.len().alias(N),
            nw.col(FIRST).min(),
            nw.col(PERIOD).max().alias(LAST),
            nw.col(REPEAT).sum(),
        )
    )


def mean_per_period(total: FloatArray, n_periods: FloatArray) -> FloatArray:
    """Return ``total / n_periods``, and 0 where ``n_periods`` is 0 (as the eager path)."""
    out = np.zeros(total.size)
    np.divide(total, n_periods, out=out, where=n_periods > 0)
    return out


@dataclass(frozen=True, slots=True)
class SummaryQuery:
    """The per-customer summary of a lazy log, as a query: what `summarize` collects."""

    table: nw.LazyFrame[Any]
    with_spend: bool
    end_day: int
    unit_days: int

    @classmethod
    def build(
        cls,
        log: LazyLog,
        *,
        period: Period,
        unit_days: int,
        observation_end: Any,
        period_names: dict[str, str],
    ) -> SummaryQuery:
        """Group the log's rows up to the period of ``observation_end`` by customer."""
        ordinal, start = period_expressions(period)
        frame = log.frame.with_columns(start.alias(PERIOD))
        if observation_end is None:
            end = log.period_of(log.end, period)
        else:
            end = int(
                period_index(np.array([as_moment(observation_end, "observation_end")]), period)[0]
            )
            if end < log.period_of(log.start, period):
                raise InvalidDataError(
                    f"'observation_end' must not be before the {period_names[period]} of the "
                    f"first purchase ({log.moment(log.start)}); got {observation_end!r}",
                    field="observation_end",
                )
            frame = frame.filter(ordinal <= end)
        with_spend = log.amount is not None
        table = customer_table(
            customer_periods(frame, with_spend=with_spend, by=[]), with_spend=with_spend
        )
        return cls(table, with_spend, period_start_day(end, period), unit_days)

    def money(self) -> nw.Expr:
        """Return the mean spend per repeat period, 0 without repeat periods."""
        return nw.when(nw.col(N) > 1).then(nw.col(REPEAT) / (nw.col(N) - 1)).otherwise(0.0)

    def summary(self, unit: TimeUnit) -> CustomerSummary:
        """Collect one row per customer, in customer id order."""
        columns = sorted_by_customer(collect(self.table))
        frequency = columns[N].astype(np.float64) - 1.0
        first = columns[FIRST].astype(np.int64)
        money = None
        if self.with_spend:
            money = mean_per_period(columns[REPEAT].astype(np.float64), frequency)
        return CustomerSummary(
            frequency=frequency,
            recency=(columns[LAST].astype(np.int64) - first) / self.unit_days,
            T=(self.end_day - first) / self.unit_days,
            monetary_value=money,
            customer_id=columns[C],
            unit=unit,
        )

    def compressed(self, unit: TimeUnit) -> CustomerSummary:
        """Collect only the distinct (frequency, recency, T[, monetary value]) rows, weighted."""
        keys = [N, "rk_recency", FIRST] + (["rk_money"] if self.with_spend else [])
        table = self.table.with_columns((nw.col(LAST) - nw.col(FIRST)).alias("rk_recency"))
        if self.with_spend:
            table = table.with_columns(self.money().alias("rk_money"))
        columns = collect(table.group_by(keys).agg(nw.len().alias("rk_weight")))
        first = columns[FIRST].astype(np.int64)
        weighted = CustomerSummary(
            frequency=columns[N].astype(np.float64) - 1.0,
            recency=columns["rk_recency"].astype(np.int64) / self.unit_days,
            T=(self.end_day - first) / self.unit_days,
            monetary_value=columns["rk_money"].astype(np.float64) if self.with_spend else None,
            weight=columns["rk_weight"].astype(np.float64),
            unit=unit,
        )
        return weighted.compress()  # the eager path's row order

    def lazy(self, *, customer_id: str = "customer_id") -> nw.LazyFrame[Any]:
        """Return the summary as a lazy frame: id, frequency, recency, T[, monetary_value]."""
        first = nw.col(FIRST)
        columns = [
            nw.col(C).alias(customer_id),
            (nw.col(N) - 1).cast(nw.Int64).alias("frequency"),
            divided(nw.col(LAST) - first, self.unit_days).alias("recency"),
            divided(self.end_day - first, self.unit_days).alias("T"),
        ]
        if self.with_spend:
            columns.append(self.money().cast(nw.Float64).alias("monetary_value"))
        return self.table.select(columns)


def int_array(values: NDArray[Any]) -> IntArray:
    """Integers collected from an engine (DuckDB may hand back decimals) as int64."""
    return np.asarray(values).astype(np.int64)


_PERIOD_NAMES: Final = {"D": "day", "W": "week", "M": "month"}
_UNIT_DAYS: Final = {"D": 1, "W": 7}


def summarize(
    data: Any,
    *,
    period: Period,
    unit: TimeUnit,
    observation_end: Any,
    compress: bool,
    customer_id: str,
    timestamp: str,
    amount: str | None,
) -> CustomerSummary:
    """`retention_kit.summarize` of a lazy frame: the grouping runs in its engine."""
    log = LazyLog.read(data, customer_id=customer_id, timestamp=timestamp, amount=amount)
    query = SummaryQuery.build(
        log,
        period=period,
        unit_days=_UNIT_DAYS[unit],
        observation_end=observation_end,
        period_names=_PERIOD_NAMES,
    )
    return query.compressed(unit) if compress else query.summary(unit)


def calibration_holdout(
    data: Any,
    *,
    calibration_end: Any,
    observation_end: Any,
    period: Period,
    unit: TimeUnit,
    customer_id: str,
    timestamp: str,
    amount: str | None,
) -> CalibrationHoldout:
    """`retention_kit.calibration_holdout` of a lazy frame: one grouping query in its engine."""
    from .summarizing import CalibrationHoldout

    log = LazyLog.read(data, customer_id=customer_id, timestamp=timestamp, amount=amount)
    cal_moment = as_moment(calibration_end, "calibration_end")
    end_moment = (
        log.moment(log.end)
        if observation_end is None
        else as_moment(observation_end, "observation_end")
    )
    if not cal_moment < end_moment:
        raise InvalidDataError(
            f"'calibration_end' must be before 'observation_end': got {cal_moment} and "
            f"{end_moment}",
            field="calibration_end",
        )
    cal_end, obs_end = period_index(np.array([cal_moment, end_moment]), period)
    if cal_end == obs_end:
        raise InvalidDataError(
            f"'observation_end' must fall in a later {_PERIOD_NAMES[period]} than "
            f"'calibration_end', or the holdout window has no length: got {cal_moment} and "
            f"{end_moment}",
            field="observation_end",
        )
    cal_us, end_us = micros(cal_moment), micros(end_moment)
    if log.start > cal_us:
        raise InvalidDataError(
            f"'calibration_end' must not be before the first purchase "
            f"({log.moment(log.start)}); got {calibration_end!r}",
            field="calibration_end",
        )
    _, start = period_expressions(period)
    holdout = "rk_holdout"
    frame = log.frame.filter(nw.col(TIME) <= end_us).with_columns(
        start.alias(PERIOD), (nw.col(TIME) > cal_us).alias(holdout)
    )
    with_spend = log.amount is not None
    periods = customer_periods(frame, with_spend=with_spend, by=[holdout])
    in_calibration = ~nw.col(holdout)
    firsts = periods.filter(in_calibration).group_by(C).agg(nw.col(PERIOD).min().alias(FIRST))
    joined = periods.join(firsts, on=C).with_columns(
        in_calibration.cast(nw.Int64).alias(N),
        nw.col(holdout).cast(nw.Int64).alias("rk_holdout_periods"),
        nw.when(in_calibration).then(nw.col(PERIOD)).alias(LAST),
    )
    aggregates = [
        nw.col(N).sum(),
        nw.col(FIRST).min(),
        nw.col(LAST).max(),
        nw.col("rk_holdout_periods").sum(),
    ]
    if with_spend:
        joined = joined.with_columns(
            nw.when(in_calibration & (nw.col(PERIOD) != nw.col(FIRST)))
            .then(nw.col(SPEND))
            .otherwise(0.0)
            .alias(REPEAT),
            nw.when(nw.col(holdout)).then(nw.col(SPEND)).otherwise(0.0).alias("rk_holdout_spend"),
        )
        aggregates += [nw.col(REPEAT).sum(), nw.col("rk_holdout_spend").sum()]
    columns = sorted_by_customer(collect(joined.group_by(C).agg(aggregates)))
    unit_days = _UNIT_DAYS[unit]
    end_day = period_start_day(int(cal_end), period)
    frequency = int_array(columns[N]).astype(np.float64) - 1.0
    first = int_array(columns[FIRST])
    count = int_array(columns["rk_holdout_periods"]).astype(np.float64)
    calibration = CustomerSummary(
        frequency=frequency,
        recency=(int_array(columns[LAST]) - first) / unit_days,
        T=(end_day - first) / unit_days,
        monetary_value=(
            mean_per_period(columns[REPEAT].astype(np.float64), frequency) if with_spend else None
        ),
        customer_id=columns[C],
        unit=unit,
    )
    duration = period_start_day(int(obs_end), period) - end_day
    return CalibrationHoldout(
        calibration,
        holdout_frequency=count,
        holdout_duration=float(duration) / unit_days,
        holdout_monetary_value=(
            mean_per_period(columns["rk_holdout_spend"].astype(np.float64), count)
            if with_spend
            else None
        ),
    )
