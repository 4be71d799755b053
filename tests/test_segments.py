"""Segmented retention metrics and the bootstrap comparison of two segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

import retention_kit as rk
from tests.strategies import segmented_logs


def _customer_segments(tx: rk.Transactions, labels: np.ndarray) -> np.ndarray:
    """One label per customer (by code), spread over that customer's rows."""
    _, codes = tx.customer_index()
    return labels[codes]


@given(segmented_logs())
@settings(max_examples=40)
def test_additive_metrics_add_up_to_the_unsegmented_ones(
    case: tuple[rk.Transactions, np.ndarray],
) -> None:
    tx, segment = case
    start, end = tx.start + np.timedelta64(20, "D"), tx.start + np.timedelta64(80, "D")
    whole = rk.period_counts(tx, start=start, end=end, active_window=30)
    parts = rk.period_counts(tx, start=start, end=end, active_window=30, segment=segment)
    assert [sum(getattr(p, f) for p in parts.values()) for f in ("start", "end", "new")] == [
        whole.start,
        whole.end,
        whole.new,
    ]
    assert sum(p.reactivated for p in parts.values()) == whole.reactivated

    series = rk.retention_series(tx, freq="W", active_window=14)
    per = rk.retention_series(tx, freq="W", active_window=14, segment=segment)
    for name in ("start", "end", "new", "reactivated"):
        total = sum(getattr(s, name) for s in per.values())
        np.testing.assert_array_equal(total, getattr(series, name))

    sizes = np.bincount(tx.customer_index()[1])
    n_by_segment = {k: np.unique(tx.customer_id[segment == k]).size for k in per}
    rate = rk.repeat_purchase_rate(tx)
    rates = rk.repeat_purchase_rate(tx, segment=segment)
    assert sum(rates[k] * n_by_segment[k] for k in rates) == pytest.approx(rate * sizes.size)
    frequency = rk.purchase_frequency(tx, segment=segment)
    assert sum(frequency[k] * n_by_segment[k] for k in frequency) == pytest.approx(len(tx))

    table = rk.cohort_retention(tx, freq="W")
    tables = rk.cohort_retention(tx, freq="W", segment=segment)
    total_counts = np.zeros_like(table.counts)
    for part in tables.values():
        rows = np.searchsorted(table.cohorts, part.cohorts)
        total_counts[rows, : part.counts.shape[1]] += np.nan_to_num(part.counts)
    np.testing.assert_array_equal(total_counts, np.nan_to_num(table.counts))

    cycle = rk.purchase_cycle(tx)
    cycles = rk.purchase_cycle(tx, segment=segment)
    assert sum(c.n_gaps.sum() for c in cycles.values()) == cycle.n_gaps.sum()
    events = {}
    for c in cycles.values():
        for t, d in zip(c.times.tolist(), c.events.tolist(), strict=True):
            events[t] = events.get(t, 0) + d
    assert events == dict(zip(cycle.times.tolist(), cycle.events.tolist(), strict=True))


@given(segmented_logs())
@settings(max_examples=30)
def test_each_segment_equals_the_metric_of_its_own_rows(
    case: tuple[rk.Transactions, np.ndarray],
) -> None:
    tx, segment = case
    per_rate = rk.repeat_purchase_rate(tx, segment=segment)
    per_cycle = rk.purchase_cycle(tx, segment=segment, observation_end=tx.end)
    per_table = rk.cohort_retention(tx, freq="M", segment=segment)
    for value in per_rate:
        rows = segment == value
        alone = rk.Transactions(tx.customer_id[rows], tx.timestamp[rows], tx.amount[rows])
        assert per_rate[value] == rk.repeat_purchase_rate(alone)
        cycle = rk.purchase_cycle(alone, observation_end=tx.end)
        got = per_cycle[value]
        np.testing.assert_array_equal(got.times, cycle.times)
        np.testing.assert_allclose(got.survival, cycle.survival)
        np.testing.assert_array_equal(got.customer_id, cycle.customer_id)
        np.testing.assert_array_equal(got.median_gap, cycle.median_gap)
        assert got.naive_median == cycle.naive_median or (
            np.isnan(got.naive_median) and np.isnan(cycle.naive_median)
        )
        own = rk.cohort_retention(alone, freq="M")
        table = per_table[value]
        np.testing.assert_array_equal(table.cohorts, own.cohorts)
        np.testing.assert_array_equal(table.sizes, own.sizes)
        width = own.counts.shape[1]
        seen = ~np.isnan(own.counts)
        np.testing.assert_array_equal(table.counts[:, :width][seen], own.counts[seen])


def test_row_level_segments_split_a_customer() -> None:
    tx = rk.Transactions(
        [1, 1, 1, 2],
        np.array(["2024-01-01", "2024-01-05", "2024-02-01", "2024-01-03"], dtype="datetime64[D]"),
    )
    rates = rk.repeat_purchase_rate(tx, segment=["web", "shop", "web", "shop"])
    assert dict(rates) == {"shop": 0.0, "web": 1.0}
    frequency = rk.purchase_frequency(tx, segment=["web", "shop", "web", "shop"])
    assert dict(frequency) == {"shop": 1.0, "web": 2.0}


def test_segment_by_column_name_and_unsegmented_types() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-02", "2024-01-09"]),
            "channel": ["a", "a", "b", "a"],
        }
    )
    by_name = rk.repeat_purchase_rate(frame, segment="channel")
    by_values = rk.repeat_purchase_rate(frame, segment=frame["channel"].to_numpy())
    assert by_name == by_values
    assert isinstance(by_name, rk.Segmented)
    assert by_name["a"] == 0.5
    assert isinstance(rk.repeat_purchase_rate(frame), float)
    assert isinstance(rk.cohort_retention(frame), rk.CohortTable)
    with pytest.raises(KeyError):
        by_name["c"]
    assert len(by_name) == 2
    assert list(by_name) == ["a", "b"]


def test_cdnow_segments_by_cohort() -> None:
    tx = rk.datasets.load_cdnow()
    table = rk.cohort_retention(tx)
    first = table.cohorts[0]
    ids, codes = tx.customer_index()
    first_day = np.full(ids.size, np.datetime64("2100-01-01"), dtype="datetime64[s]")
    np.minimum.at(first_day, codes, tx.timestamp)
    january = np.where(first_day[codes] < first + np.timedelta64(31, "D"), "jan", "later")
    tables = rk.cohort_retention(tx, segment=january)
    np.testing.assert_array_equal(tables["jan"].counts[0], table.counts[0])
    assert tables["later"].sizes.tolist() == table.sizes[1:].tolist()


def test_bad_segments_are_refused() -> None:
    tx = rk.datasets.load_cdnow()
    with pytest.raises(rk.InvalidDataError, match="segment"):
        rk.repeat_purchase_rate(tx, segment=np.zeros(3))
    with pytest.raises(rk.InvalidDataError, match="column name"):
        rk.repeat_purchase_rate(tx, segment="channel")
    values = np.zeros(len(tx))
    values[4] = np.nan
    with pytest.raises(rk.InvalidDataError, match="row 4"):
        rk.purchase_frequency(tx, segment=values)
    frame = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"])})
    with pytest.raises(rk.InvalidDataError, match="no column"):
        rk.purchase_frequency(frame, segment="channel")


# --- compare_segments ---


def _two_groups(n: int, p_a: float, p_b: float, seed: int) -> tuple[rk.Transactions, np.ndarray]:
    """n customers per group; a customer repeats with probability p of the group."""
    rng = np.random.default_rng(seed)
    repeats = np.concatenate((rng.random(n) < p_a, rng.random(n) < p_b))
    ids = np.arange(2 * n)
    second = ids[repeats]
    customer = np.concatenate((ids, second))
    day = np.concatenate((np.zeros(2 * n, int), rng.integers(1, 60, second.size)))
    timestamp = np.datetime64("2024-01-01") + day.astype("timedelta64[D]")
    amount = rng.gamma(2.0, 20.0, customer.size)
    tx = rk.Transactions(customer, timestamp, amount)
    return tx, np.where(customer < n, "a", "b")


@pytest.mark.parametrize(
    "metric",
    ["repeat_purchase_rate", "purchase_frequency", "repeat_revenue_share", "average_order_value"],
)
def test_comparison_contains_its_estimate_and_shrinks_with_more_customers(metric: str) -> None:
    widths = []
    for n in (200, 3200):
        tx, segment = _two_groups(n, 0.5, 0.3, seed=n)
        result = rk.compare_segments(
            tx, segment=segment, a="a", b="b", metric=metric, n_resamples=400, rng=7
        )
        assert result.low <= result.difference <= result.high
        assert result.difference == pytest.approx(result.estimate_a - result.estimate_b)
        assert result.n_customers_a == result.n_customers_b == n
        widths.append(result.high - result.low)
    assert widths[1] < widths[0] / 2.5  # 16x the customers: about a quarter of the width


def test_comparison_estimates_are_the_segment_metrics_and_seeded() -> None:
    tx, segment = _two_groups(500, 0.6, 0.2, seed=3)
    result = rk.compare_segments(tx, segment=segment, a="a", b="b", rng=11)
    rates = rk.repeat_purchase_rate(tx, segment=segment)
    assert (result.estimate_a, result.estimate_b) == (rates["a"], rates["b"])
    again = rk.compare_segments(tx, segment=segment, a="a", b="b", rng=11)
    assert again == result
    assert result.low > 0.3  # true difference 0.4, 500 customers a side


def test_comparison_coverage_on_repeated_samples() -> None:
    hits = 0
    for seed in range(40):
        tx, segment = _two_groups(300, 0.5, 0.4, seed=100 + seed)
        result = rk.compare_segments(tx, segment=segment, a="a", b="b", n_resamples=300, rng=seed)
        hits += result.low <= 0.1 <= result.high
    assert hits >= 34  # 95% nominal: 38 expected, binomial sd ~1.4


def test_comparison_errors() -> None:
    tx, segment = _two_groups(50, 0.5, 0.5, seed=1)
    with pytest.raises(rk.InvalidDataError, match="'a'"):
        rk.compare_segments(tx, segment=segment, a="z", b="b")
    with pytest.raises(rk.InvalidDataError, match="metric"):
        rk.compare_segments(tx, segment=segment, a="a", b="b", metric="nope")  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="n_resamples"):
        rk.compare_segments(tx, segment=segment, a="a", b="b", n_resamples=5)
    with pytest.raises(rk.InvalidDataError, match="confidence_level"):
        rk.compare_segments(tx, segment=segment, a="a", b="b", confidence_level=1.5)
    no_money = rk.Transactions(tx.customer_id, tx.timestamp)
    with pytest.raises(rk.InvalidDataError, match="amount"):
        rk.compare_segments(no_money, segment=segment, a="a", b="b", metric="repeat_revenue_share")
