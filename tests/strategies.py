"""Shared hypothesis strategies: transaction logs, period counts, summaries and parameters."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import retention_kit as rk

EPOCH = np.datetime64("2024-01-01T00:00:00", "s")
DAY = np.timedelta64(86_400, "s")


@st.composite
def transaction_arrays(
    draw: st.DrawFn,
    *,
    max_customers: int = 12,
    max_rows: int = 60,
    max_days: int = 400,
    with_amount: bool = True,
    same_day_times: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(customer_id, timestamp, amount) arrays of a valid log: ids 0..k, seconds resolution."""
    n = draw(st.integers(1, max_rows))
    ids = np.array(draw(st.lists(st.integers(0, max_customers - 1), min_size=n, max_size=n)))
    days = np.array(draw(st.lists(st.integers(0, max_days), min_size=n, max_size=n)))
    seconds = (
        np.array(draw(st.lists(st.integers(0, 86_399), min_size=n, max_size=n)))
        if same_day_times
        else np.zeros(n, dtype=np.int64)
    )
    timestamps = EPOCH + days * DAY + seconds.astype("timedelta64[s]")
    amount = (
        np.array(
            draw(
                st.lists(
                    st.floats(0, 1000, allow_nan=False, allow_infinity=False),
                    min_size=n,
                    max_size=n,
                )
            )
        )
        if with_amount
        else None
    )
    return ids, timestamps, amount


@st.composite
def transactions(draw: st.DrawFn, **kwargs: object) -> rk.Transactions:
    """A valid `Transactions` (see `transaction_arrays` for the options)."""
    ids, timestamps, amount = draw(transaction_arrays(**kwargs))  # type: ignore[arg-type]
    return rk.Transactions(ids, timestamps, amount)


@st.composite
def period_counts(draw: st.DrawFn, max_count: int = 10_000) -> rk.PeriodCounts:
    """Valid counts with B >= 1."""
    start = draw(st.integers(1, max_count))
    retained = draw(st.integers(0, start))
    new = draw(st.integers(0, max_count))
    reactivated = draw(st.integers(0, max_count))
    return rk.PeriodCounts(
        start=start, end=retained + new + reactivated, new=new, reactivated=reactivated
    )


@st.composite
def customer_summaries(
    draw: st.DrawFn,
    *,
    max_rows: int = 30,
    max_frequency: int = 60,
    max_T: float = 200.0,
    unit: str = "W",
    with_monetary: bool = False,
) -> rk.CustomerSummary:
    """Valid summaries: integer frequency >= 0, 0 <= recency <= T, recency 0 iff frequency 0."""
    n = draw(st.integers(1, max_rows))
    T = np.array(draw(st.lists(st.floats(0.5, max_T), min_size=n, max_size=n)))
    frequency = np.array(draw(st.lists(st.integers(0, max_frequency), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    recency = np.where(frequency > 0, T * share, 0.0)
    money = None
    if with_monetary:
        spend = np.array(draw(st.lists(st.floats(0.5, 500.0), min_size=n, max_size=n)))
        money = np.where(frequency > 0, spend, 0.0)
    return rk.CustomerSummary(frequency, recency, T, monetary_value=money, unit=unit)  # type: ignore[arg-type]


def positive_parameter(low: float = 1e-2, high: float = 1e2) -> st.SearchStrategy[float]:
    """A model parameter drawn log-uniformly from [low, high]."""
    return st.floats(np.log(low), np.log(high)).map(lambda v: float(np.exp(v)))


@st.composite
def survivor_matrices(
    draw: st.DrawFn, *, max_cohorts: int = 5, max_periods: int = 12, max_size: int = 10_000
) -> np.ndarray:
    """Survivor counts of contractual cohorts: one row each, non-increasing, NaN-padded.

    Each row starts with a cohort size >= 1, is observed for 1..max_periods + 1 periods and is
    NaN after its last observed period; at least one row is observed past period 0.
    """
    n_cohorts = draw(st.integers(1, max_cohorts))
    width = draw(st.integers(2, max_periods + 1))
    table = np.full((n_cohorts, width), np.nan)
    for i in range(n_cohorts):
        observed = width if i == 0 else draw(st.integers(1, width))
        size = draw(st.integers(1, max_size))
        shares = draw(st.lists(st.floats(0.0, 1.0), min_size=observed - 1, max_size=observed - 1))
        counts = [size]
        for share in shares:
            counts.append(int(np.floor(counts[-1] * share)))
        table[i, :observed] = counts
    return table


@st.composite
def mbgnbd_parameters(draw: st.DrawFn) -> dict[str, float]:
    """MBG/NBD parameters (r, alpha, a, b) over wide, log-uniform ranges."""
    return {
        "r": draw(positive_parameter(0.05, 20.0)),
        "alpha": draw(positive_parameter(0.1, 100.0)),
        "a": draw(positive_parameter(0.05, 20.0)),
        "b": draw(positive_parameter(0.05, 20.0)),
    }


@st.composite
def discrete_summaries(
    draw: st.DrawFn, *, max_rows: int = 30, max_periods: int = 30, weighted: bool = False
) -> rk.DiscreteSummary:
    """Valid discrete summaries: integers with 0 <= x <= t_x <= n and t_x = 0 iff x = 0."""
    k = draw(st.integers(1, max_rows))
    n = np.array(draw(st.lists(st.integers(0, max_periods), min_size=k, max_size=k)))
    last = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    count = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    recency = np.minimum(np.floor(last * (n + 1)), n)
    frequency = np.where(recency > 0, 1 + np.minimum(np.floor(count * recency), recency - 1), 0)
    weight = None
    if weighted:
        weight = np.array(draw(st.lists(st.integers(1, 50), min_size=k, max_size=k)))
    return rk.DiscreteSummary(frequency, recency, n, weight=weight)


@st.composite
def bgbb_parameters(draw: st.DrawFn, low: float = 0.05, high: float = 20.0) -> dict[str, float]:
    """BG/BB parameters (alpha, beta, gamma, delta), log-uniform; gamma also near and at 1."""
    gamma = draw(
        st.one_of(
            positive_parameter(low, high),
            st.floats(0.9, 1.1),
            st.sampled_from([1.0, 1.0 + 1e-9, 1.0 - 1e-7]),
        )
    )
    return {
        "alpha": draw(positive_parameter(low, high)),
        "beta": draw(positive_parameter(low, high)),
        "gamma": gamma,
        "delta": draw(positive_parameter(low, high)),
    }


@st.composite
def paretonbd_parameters(
    draw: st.DrawFn, low: float = 0.05, high: float = 20.0
) -> dict[str, float]:
    """Pareto/NBD parameters (r, alpha, s, beta), log-uniform; s also near and at 1."""
    s = draw(st.one_of(positive_parameter(low, high), st.sampled_from([1.0, 1.0 + 1e-9])))
    return {
        "r": draw(positive_parameter(low, high)),
        "alpha": draw(positive_parameter(0.1, 100.0)),
        "s": s,
        "beta": draw(positive_parameter(0.1, 100.0)),
    }


@st.composite
def segmented_logs(
    draw: st.DrawFn, *, n_segments: int = 3, **kwargs: object
) -> tuple[rk.Transactions, np.ndarray]:
    """A log with amounts and one segment label per customer ("s0", "s1", ...), per row."""
    ids, timestamps, amount = draw(transaction_arrays(**kwargs))  # type: ignore[arg-type]
    labels = np.array(
        draw(
            st.lists(
                st.integers(0, n_segments - 1),
                min_size=int(ids.max()) + 1,
                max_size=int(ids.max()) + 1,
            )
        )
    )
    segment = np.array([f"s{k}" for k in range(n_segments)])[labels[ids]]
    return rk.Transactions(ids, timestamps, amount), segment
