"""Retention metrics of a lazy transaction log, computed inside its engine.

Each function mirrors the public metric of the same name on a `LazyLog`: the engine groups the
rows and returns counts per customer, period or cohort cell, and the numpy code of the eager
path finishes the job on those aggregates.

Two metrics need each customer's purchases in time order (the gaps between purchase periods;
the boundaries a customer stays active across). The engines that have ordered window functions
(DuckDB, Polars, Spark) compute them with ``over(order_by=...)``; Dask has none, so there the
rows are shuffled so that each customer's rows share a partition, and every partition runs the
eager path's numpy functions on its own customers, whose results add up.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import narwhals as nw
import numpy as np

from ._activity import distinct_pairs, group_starts
from ._errors import InvalidDataError
from ._lazy import (
    DAY,
    PERIOD,
    TIME,
    TS,
    C,
    LazyLog,
    collect,
    day_number,
    distinct,
    int_array,
    micros,
    month_number,
    past_midnight,
    period_expressions,
    sorted_by_customer,
)
from ._periods import as_moment, as_window, period_index, period_start
from ._typing import FloatArray, IntArray, Period
from .data import PeriodCounts

if TYPE_CHECKING:
    from .cohorts import CohortTable
    from .cycle import PurchaseCycle
    from .metrics import RetentionSeries

__all__ = [
    "cohort_retention",
    "period_counts",
    "purchase_cycle",
    "purchase_frequency",
    "repeat_purchase_rate",
    "retention_series",
]


def _read(data: Any, customer_id: str, timestamp: str, amount: str | None) -> LazyLog:
    return LazyLog.read(data, customer_id=customer_id, timestamp=timestamp, amount=amount)


def _window_us(window: np.timedelta64) -> int:
    """Return the active window in microseconds, rounded down."""
    return int(window.astype("timedelta64[us]").astype(np.int64))


def period_counts(
    data: Any,
    *,
    start: Any,
    end: Any,
    active_window: Any,
    customer_id: str,
    timestamp: str,
    amount: str | None,
) -> PeriodCounts:
    """`retention_kit.period_counts`: flags per customer, then their sums, in the engine."""
    log = _read(data, customer_id, timestamp, amount)
    begin = as_moment(start, "start")
    finish = as_moment(end, "end")
    if not finish > begin:
        raise InvalidDataError(
            f"'end' must be later than 'start': got start={begin}, end={finish}", field="end"
        )
    window = as_window(active_window)
    t = nw.col(TIME)
    b, f = micros(begin), micros(finish)
    flags = {
        "rk_start": (t <= b) & (t > micros(begin - window)),
        "rk_end": (t <= f) & (t > micros(finish - window)),
        "rk_seen": t <= b,
    }
    per_customer = (
        log.frame.with_columns(flag.cast(nw.Int64).alias(name) for name, flag in flags.items())
        .group_by(C)
        .agg(nw.col(name).max() for name in flags)
    )
    active_end, active_start, seen = nw.col("rk_end"), nw.col("rk_start"), nw.col("rk_seen")
    totals = per_customer.select(
        active_start.sum().alias("start"),
        active_end.sum().alias("end"),
        (active_end * (1 - seen)).sum().alias("new"),
        (active_end * (1 - active_start) * seen).sum().alias("reactivated"),
    )
    found = {name: int_array(values)[0] for name, values in collect(totals).items()}
    return PeriodCounts(**{name: int(value) for name, value in found.items()})


def _boundaries_below(ts: nw.Expr, period: Period, first: int, n_bounds: int) -> nw.Expr:
    """How many boundaries (starts of periods ``first``, ``first + 1``, ...) are < ``ts``.

    That is ``numpy.searchsorted(bounds, ts, side="left")``. A boundary is midnight of a
    period's first day, so it is below ``ts`` when its day is before ``ts``'s day, or is that
    day and ``ts`` is past midnight: before the "ceiling day" of ``ts``.
    """
    beyond_midnight = past_midnight(ts)
    if period == "M":
        # The month of the day before the ceiling day: the month of ts, unless ts is midnight
        # of the first of the month.
        counted = (
            month_number(ts)
            - first
            + nw.when(beyond_midnight | (ts.dt.day() > 1)).then(1).otherwise(0)
        )
    else:
        ceiling = day_number(ts) + nw.when(beyond_midnight).then(1).otherwise(0)
        first_day = int(period_start(np.array([first]), period).view(np.int64)[0])
        counted = ceiling - first_day if period == "D" else (ceiling - first_day + 6) // 7
    return nw.min_horizontal(nw.max_horizontal(counted, nw.lit(0)), nw.lit(n_bounds))


def retention_series(
    data: Any,
    *,
    freq: Period,
    active_window: Any,
    observation_end: Any,
    customer_id: str,
    timestamp: str,
    amount: str | None,
) -> RetentionSeries:
    """`retention_kit.retention_series`: activity runs per customer, as events per boundary.

    With the boundaries b_0 < ... < b_J, each row p is filed under lo, the first boundary at
    or after it; per (customer, lo) group the latest purchase m keeps the customer active at
    the boundaries lo <= j < stop, stop the first boundary at or after m + window. Both are
    non-decreasing in lo, so in lo order each group adds the boundaries from
    max(lo, previous stop) to its stop: +1 and -1 events whose running sums count the active
    customers (and, one boundary apart, the retained ones).
    """
    from .metrics import RetentionSeries

    log = _read(data, customer_id, timestamp, amount)
    window = as_window(active_window)
    start = log.moment(log.start)
    until = (
        log.moment(log.end)
        if observation_end is None
        else as_moment(observation_end, "observation_end")
    )
    if until < start:
        raise InvalidDataError(
            f"'observation_end' must not be before the first transaction ({start}); got {until}",
            field="observation_end",
        )
    first, last = period_index(np.array([start, until]), freq)
    bounds_days = period_start(np.arange(first, max(last, first) + 1), freq)
    n_bounds = bounds_days.size
    if log.implementation is nw.Implementation.DASK:
        active, new, retained = _dask_boundary_activity(log, bounds_days, _window_us(window))
    else:
        active, new, retained = _boundary_activity(log, freq, int(first), n_bounds, window)
    end = active[1:]
    return RetentionSeries(
        period_start=bounds_days[:-1],
        period_end=bounds_days[1:],
        start=active[:-1],
        end=end,
        new=new,
        reactivated=end - new - retained,
        freq=freq,
        active_window=window,
    )


def _boundary_activity(
    log: LazyLog, freq: Period, first: int, n_bounds: int, window: np.timedelta64
) -> tuple[IntArray, IntArray, IntArray]:
    """Active customers per boundary, new and retained per period, from ordered windows."""
    lo, stop, latest = "rk_lo", "rk_stop", "rk_latest"
    groups = (
        log.frame.with_columns(_boundaries_below(nw.col(TS), freq, first, n_bounds).alias(lo))
        .filter(nw.col(lo) < n_bounds)
        .group_by(C, lo)
        .agg(nw.col(TS).max().alias(latest))
    )
    shifted = nw.col(latest) + nw.lit(window.astype("timedelta64[us]").item())
    groups = groups.with_columns(
        _boundaries_below(shifted, freq, first, n_bounds).alias(stop),
        nw.col(lo).min().over(C).alias("rk_first_lo"),
    )
    covers = nw.col(stop) > nw.col(lo)
    new_at = (
        nw.when((nw.col(lo) == nw.col("rk_first_lo")) & (nw.col(lo) >= 1))
        .then(nw.col(lo) - 1)
        .otherwise(-1)
    )
    previous = nw.col(stop).shift(1).over(C, order_by=lo)
    keys = ["rk_from", stop, "rk_join", "rk_new_at"]
    pieces = (
        groups.filter(covers)
        .with_columns(previous.alias("rk_previous"), new_at.alias("rk_new_at"))
        .with_columns(
            nw.max_horizontal(nw.col(lo), nw.col("rk_previous").fill_null(-1)).alias("rk_from"),
            (nw.col("rk_previous").fill_null(-1) >= nw.col(lo)).cast(nw.Int64).alias("rk_join"),
        )
        .group_by(keys)
        .agg(nw.len().alias("rk_customers"))
    )
    found = {name: int_array(values) for name, values in collect(pieces).items()}
    start, stop_at, join, new_at_, n = (found[k] for k in [*keys, "rk_customers"])
    size = n_bounds + 1

    def events(at: IntArray, keep: Any = slice(None)) -> IntArray:
        return np.bincount(at[keep], weights=n[keep], minlength=size).astype(np.int64)

    active = np.cumsum(events(start) - events(stop_at))[:n_bounds]
    retained = np.cumsum(events(start - join) - events(stop_at - 1))[: n_bounds - 1]
    new = events(new_at_, new_at_ >= 0)[: n_bounds - 1]
    return active, new, retained


def _dask_partitions(frame: nw.LazyFrame[Any], columns: list[str]) -> Any:
    """Return the native Dask frame of these columns with each customer in one partition."""
    return frame.select(columns).to_native().shuffle(on=C)


def _dask_boundary_activity(
    log: LazyLog, bounds_days: Any, window_us: int
) -> tuple[IntArray, IntArray, IntArray]:
    """`metrics._boundary_activity` per partition of customers, summed."""
    import pandas as pd

    from .metrics import _boundary_activity as boundary_activity

    bounds = bounds_days.astype("datetime64[us]").view(np.int64)
    n_bounds = bounds.size

    def counts(part: Any) -> Any:
        codes = part[C].factorize()[0].astype(np.int64)
        active = np.zeros(n_bounds, dtype=np.int64)
        new = np.zeros(n_bounds, dtype=np.int64)
        retained = np.zeros(n_bounds, dtype=np.int64)
        if codes.size:
            t = part[TIME].to_numpy(dtype=np.int64)
            active, partial_new, partial_retained = boundary_activity(codes, t, bounds, window_us)
            new[: n_bounds - 1] = partial_new
            retained[: n_bounds - 1] = partial_retained
        return pd.DataFrame({"active": active, "new": new, "retained": retained})

    meta = pd.DataFrame(
        {name: pd.Series(dtype=np.int64) for name in ("active", "new", "retained")}
    )
    parts = _dask_partitions(log.frame, [C, TIME]).map_partitions(counts, meta=meta).compute()
    total = parts.groupby(level=0).sum().sort_index()
    active = total["active"].to_numpy(dtype=np.int64)
    return (
        active,
        total["new"].to_numpy(dtype=np.int64)[: n_bounds - 1],
        total["retained"].to_numpy(dtype=np.int64)[: n_bounds - 1],
    )


def repeat_purchase_rate(
    data: Any, *, customer_id: str, timestamp: str, amount: str | None
) -> float:
    """`retention_kit.repeat_purchase_rate`: purchase days per customer, counted in the engine."""
    log = _read(data, customer_id, timestamp, amount)
    days = distinct(log.frame, [C, DAY]).group_by(C).agg(nw.len().alias("rk_days"))
    found = collect(
        days.select(
            (nw.col("rk_days") >= 2).cast(nw.Int64).sum().alias("repeat"),
            nw.len().alias("customers"),
        )
    )
    repeat, customers = int(int_array(found["repeat"])[0]), int(int_array(found["customers"])[0])
    return float(repeat / customers)


def purchase_frequency(
    data: Any, *, customer_id: str, timestamp: str, amount: str | None
) -> float:
    """`retention_kit.purchase_frequency`: rows over distinct customers."""
    log = _read(data, customer_id, timestamp, amount)
    found = collect(log.frame.select(nw.col(C).n_unique().alias("customers")))
    return log.rows / int(int_array(found["customers"])[0])


def cohort_retention(
    data: Any, *, freq: Period, customer_id: str, timestamp: str, amount: str | None
) -> CohortTable:
    """`retention_kit.cohort_retention`: customers per (cohort, age) cell, from the engine."""
    from .cohorts import CohortTable

    log = _read(data, customer_id, timestamp, amount)
    ordinal, _ = period_expressions(freq)
    periods = distinct(log.frame.with_columns(ordinal.alias(PERIOD)), [C, PERIOD])
    cohorts = periods.group_by(C).agg(nw.col(PERIOD).min().alias("rk_cohort"))
    cells = (
        periods.join(cohorts, on=C)
        .with_columns((nw.col(PERIOD) - nw.col("rk_cohort")).alias("rk_age"))
        .group_by("rk_cohort", "rk_age")
        .agg(nw.len().alias("rk_customers"))
    )
    found = collect(cells)
    cohort = int_array(found["rk_cohort"])
    age = int_array(found["rk_age"])
    customers = int_array(found["rk_customers"])
    low = int(cohort.min())
    last = log.period_of(log.end, freq)
    n_ages = last - low + 1
    size_by_period = np.zeros(n_ages, dtype=np.int64)
    size_by_period[cohort[age == 0] - low] = customers[age == 0]
    row_of_period = np.cumsum(size_by_period > 0) - 1
    acquiring = np.flatnonzero(size_by_period)
    counts = np.zeros((acquiring.size, n_ages))
    counts[row_of_period[cohort - low], age] = customers
    beyond = np.arange(n_ages)[None, :] > (last - low - acquiring)[:, None]
    counts[beyond] = np.nan
    return CohortTable(
        cohorts=period_start(acquiring + low, freq),
        sizes=size_by_period[acquiring],
        counts=counts,
        freq=freq,
    )


def _kaplan_meier(
    closed: IntArray, ending: IntArray, n_gaps: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Compute `cycle._kaplan_meier` from counts instead of durations.

    ``closed[t]`` closed gaps have length t, ``ending[t]`` gaps (closed or open) have length t,
    and there are ``n_gaps`` gaps in all.
    """
    at_risk = n_gaps - np.concatenate(([0], np.cumsum(ending)[:-1]))
    times = np.flatnonzero(closed)
    d, n = closed[times], at_risk[times]
    return times, n, d, np.cumprod(1.0 - d / n)


def purchase_cycle(
    data: Any,
    *,
    period: Period,
    observation_end: Any,
    customer_id: str,
    timestamp: str,
    amount: str | None,
) -> PurchaseCycle:
    """`retention_kit.purchase_cycle`: gaps per customer and their histogram, from the engine."""
    from .cycle import PurchaseCycle, _first_reaching

    log = _read(data, customer_id, timestamp, amount)
    last_moment = log.moment(log.end)
    end = last_moment if observation_end is None else as_moment(observation_end, "observation_end")
    if end < last_moment:
        raise InvalidDataError(
            f"'observation_end' must not be before the last transaction ({last_moment}); "
            f"got {end}",
            field="observation_end",
        )
    if log.implementation is nw.Implementation.DASK:
        customers, histogram = _dask_gaps(log, period)
    else:
        customers, histogram = _gaps(log, period)
    customers = sorted_by_customer(customers)
    gap_length, gap_count = int_array(histogram["rk_gap"]), int_array(histogram["rk_count"])
    last_period = int_array(customers["rk_last_period"])
    open_gaps = int(period_index(np.array([end]), period)[0]) - last_period
    size = max(int(gap_length.max(initial=0)), int(open_gaps.max(initial=0))) + 1
    closed = np.zeros(size, dtype=np.int64)
    closed[gap_length] = gap_count
    ending = closed + np.bincount(open_gaps, minlength=size)
    n_closed = int(gap_count.sum())
    times, at_risk, events, survival = _kaplan_meier(closed, ending, n_closed + open_gaps.size)
    naive_median = math.nan
    if n_closed:
        closed_times, _, _, closed_survival = _kaplan_meier(closed, closed, n_closed)
        naive_median = _first_reaching(closed_times, closed_survival, 0.5)
    median_gap = np.asarray(customers["rk_median_gap"], dtype=np.float64)
    return PurchaseCycle(
        period=period,
        observation_end=end,
        times=times,
        at_risk=at_risk,
        events=events,
        survival=survival,
        naive_median=naive_median,
        customer_id=customers[C],
        n_gaps=int_array(customers["rk_gaps"]),
        median_gap=median_gap,
        last_purchase=int_array(customers["rk_last_time"]).astype("datetime64[us]"),
    )


def _gaps(log: LazyLog, period: Period) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per customer and as a histogram: the gaps between consecutive purchase periods."""
    ordinal, _ = period_expressions(period)
    periods = (
        log.frame.with_columns(ordinal.alias(PERIOD))
        .group_by(C, PERIOD)
        .agg(nw.col(TIME).max().alias("rk_last_time"))
        .with_columns(nw.col(PERIOD).diff().over(C, order_by=PERIOD).alias("rk_gap"))
    )
    customers = periods.group_by(C).agg(
        nw.col("rk_gap").count().alias("rk_gaps"),
        nw.col("rk_gap").median().alias("rk_median_gap"),
        nw.col(PERIOD).max().alias("rk_last_period"),
        nw.col("rk_last_time").max(),
    )
    histogram = (
        periods.filter(~nw.col("rk_gap").is_null())
        .group_by("rk_gap")
        .agg(nw.len().alias("rk_count"))
    )
    return collect(customers), collect(histogram)


def _partition_gaps(part: Any) -> tuple[Any, IntArray, IntArray, IntArray, IntArray]:
    """Find the gaps of the customers of one partition, as the eager `purchase_cycle` does.

    Returns the customer ids, each customer's last purchase period and last timestamp (us),
    and each closed gap with the position of its customer among the ids.
    """
    codes, ids = part[C].factorize()
    codes = codes.astype(np.int64)
    pair_codes, periods = distinct_pairs(codes, part[PERIOD].to_numpy(dtype=np.int64))
    new_customer = group_starts(pair_codes)
    closed = ~new_customer[1:]
    last_of_customer = np.append(new_customer[1:], True) if periods.size else new_customer
    last_time = np.full(len(ids), np.iinfo(np.int64).min)
    np.maximum.at(last_time, codes, part[TIME].to_numpy(dtype=np.int64))
    gaps = np.diff(periods)[closed].astype(np.int64)
    return ids, periods[last_of_customer], last_time, pair_codes[1:][closed], gaps


def _dask_gaps(log: LazyLog, period: Period) -> tuple[dict[str, Any], dict[str, Any]]:
    """`_gaps` per partition of customers, with the eager path's numpy functions."""
    import dask.base
    import pandas as pd

    from .cycle import _sorted_group_medians

    ordinal, _ = period_expressions(period)
    parts = _dask_partitions(log.frame.with_columns(ordinal.alias(PERIOD)), [C, PERIOD, TIME])

    def customers(part: Any) -> Any:
        ids, last_period, last_time, gap_codes, gaps = _partition_gaps(part)
        n = len(ids)
        return pd.DataFrame(
            {
                C: np.asarray(ids),
                "rk_gaps": np.bincount(gap_codes, minlength=n).astype(np.int64),
                "rk_median_gap": _sorted_group_medians(gap_codes, gaps, n),
                "rk_last_period": last_period,
                "rk_last_time": last_time,
            }
        )

    def histogram(part: Any) -> Any:
        counts = np.bincount(_partition_gaps(part)[4])
        lengths = np.flatnonzero(counts)
        return pd.DataFrame({"rk_gap": lengths.astype(np.int64), "rk_count": counts[lengths]})

    meta_customers = pd.DataFrame(
        {
            C: pd.Series(dtype=parts.dtypes[C]),
            "rk_gaps": pd.Series(dtype=np.int64),
            "rk_median_gap": pd.Series(dtype=np.float64),
            "rk_last_period": pd.Series(dtype=np.int64),
            "rk_last_time": pd.Series(dtype=np.int64),
        }
    )
    meta_histogram = pd.DataFrame(
        {"rk_gap": pd.Series(dtype=np.int64), "rk_count": pd.Series(dtype=np.int64)}
    )
    compute: Any = dask.base.compute  # untyped
    per_customer, per_length = compute(
        parts.map_partitions(customers, meta=meta_customers),
        parts.map_partitions(histogram, meta=meta_histogram),
    )
    lengths = per_length.groupby("rk_gap")["rk_count"].sum()
    return (
        {name: per_customer[name].to_numpy() for name in per_customer.columns},
        {"rk_gap": lengths.index.to_numpy(), "rk_count": lengths.to_numpy()},
    )
