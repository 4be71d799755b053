"""The purchase cycle: gaps, Kaplan-Meier with censoring, per-customer medians, overdue."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit._periods import period_index
from retention_kit.cycle import _kaplan_meier
from tests.strategies import DAY, EPOCH, transaction_arrays

# --- slow, obviously correct references ---------------------------------------------------


def reference_gaps(ids, stamps, period, end):
    """Per customer (sorted ids): closed gaps and the open gap, by the definition."""
    buckets: dict[object, set[int]] = {}
    for customer, moment in zip(ids.tolist(), stamps, strict=True):
        buckets.setdefault(customer, set()).add(int(period_index(np.array([moment]), period)[0]))
    end_period = int(period_index(np.array([end]), period)[0])
    result = {}
    for customer in sorted(buckets):
        ordered = sorted(buckets[customer])
        closed = [b - a for a, b in itertools.pairwise(ordered)]
        result[customer] = (closed, end_period - ordered[-1])
    return result


def reference_kaplan_meier(durations, observed):
    """Product-limit estimate, one event time at a time."""
    times = sorted({d for d, o in zip(durations, observed, strict=True) if o})
    survival, curve = 1.0, []
    for t in times:
        at_risk = sum(d >= t for d in durations)
        events = sum(d == t and o for d, o in zip(durations, observed, strict=True))
        survival *= 1 - events / at_risk
        curve.append(survival)
    return times, curve


def reference_quantile(times, curve, q):
    for t, s in zip(times, curve, strict=True):
        if s <= 1 - q + 1e-12:
            return float(t)
    return math.inf


# --- properties -----------------------------------------------------------------------------


@given(
    transaction_arrays(with_amount=False),
    st.sampled_from(["D", "W", "M"]),
    st.integers(0, 90),
)
def test_cycle_matches_the_reference(arrays, period, extra_days):
    ids, stamps, _ = arrays
    tx = rk.Transactions(ids, stamps)
    end = tx.end + extra_days * DAY
    cycle = rk.purchase_cycle(tx, period=period, observation_end=end)
    gaps = reference_gaps(ids, stamps, period, end)
    assert cycle.customer_id.tolist() == list(gaps)
    assert cycle.n_gaps.tolist() == [len(closed) for closed, _ in gaps.values()]
    expected_medians = [statistics.median(c) if c else math.nan for c, _ in gaps.values()]
    np.testing.assert_array_equal(cycle.median_gap, expected_medians)
    durations = [g for closed, _ in gaps.values() for g in closed]
    observed = [True] * len(durations)
    durations += [open_gap for _, open_gap in gaps.values()]
    observed += [False] * len(gaps)
    times, curve = reference_kaplan_meier(durations, observed)
    assert cycle.times.tolist() == times
    np.testing.assert_allclose(cycle.survival, curve, rtol=1e-13, atol=0)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        assert cycle.quantile(q) == reference_quantile(times, curve, q)
    assert cycle.median == cycle.quantile(0.5)
    closed_gaps = [g for closed, _ in gaps.values() for g in closed]
    if closed_gaps:
        # The lower middle value: the first gap length reached by half of the closed gaps.
        assert cycle.naive_median == sorted(closed_gaps)[math.ceil(len(closed_gaps) / 2) - 1]
    else:
        assert math.isnan(cycle.naive_median)
    last = {c: max(s for i, s in zip(ids.tolist(), stamps, strict=True) if i == c) for c in gaps}
    assert cycle.last_purchase.tolist() == [last[c].tolist() for c in gaps]


@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=80),
    st.lists(st.booleans(), min_size=80, max_size=80),
)
def test_kaplan_meier_is_a_non_increasing_probability(durations, flags):
    d = np.array(durations)
    observed = np.array(flags[: d.size])
    times, at_risk, events, survival = _kaplan_meier(d, observed)
    assert np.all(np.diff(times) > 0)
    assert np.all((survival >= 0) & (survival <= 1))
    assert np.all(np.diff(survival) <= 0)
    assert np.all(events >= 1)
    assert np.all(events <= at_risk)
    assert events.sum() == observed.sum()


@given(st.lists(st.integers(1, 30), min_size=1, max_size=80))
def test_kaplan_meier_without_censoring_is_the_empirical_survival(durations):
    d = np.array(durations)
    times, _, _, survival = _kaplan_meier(d, np.ones(d.size, dtype=bool))
    empirical = [(d > t).mean() for t in times]
    np.testing.assert_allclose(survival, empirical, rtol=0, atol=1e-14)
    assert times.tolist() == sorted(set(durations))


@given(transaction_arrays(with_amount=False, max_days=120), st.randoms())
def test_cycle_without_open_gaps_is_the_empirical_distribution(arrays, random):
    ids, stamps, _ = arrays
    # Every customer also buys on the last day: no gap is left open.
    end_day = stamps.max().astype("datetime64[D]")
    ids = np.concatenate((ids, np.unique(ids)))
    stamps = np.concatenate((stamps, np.full(np.unique(ids).size, end_day, "datetime64[s]")))
    cycle = rk.purchase_cycle(rk.Transactions(ids, stamps))
    gaps = [
        g for closed, _ in reference_gaps(ids, stamps, "D", stamps.max()).values() for g in closed
    ]
    if not gaps:
        assert cycle.times.size == 0
        assert cycle.median == math.inf
        return
    gaps_a = np.array(gaps)
    np.testing.assert_allclose(
        cycle.survival, [(gaps_a > t).mean() for t in cycle.times], rtol=0, atol=1e-14
    )
    # With nothing censored the median is the empirical one (lower median on a tie).
    ordered = sorted(gaps)
    assert cycle.median == ordered[math.ceil(len(ordered) / 2) - 1]


@given(transaction_arrays(with_amount=False), st.randoms())
def test_cycle_ignores_row_order_and_same_day_rows(arrays, random):
    ids, stamps, _ = arrays
    tx = rk.Transactions(ids, stamps)
    cycle = rk.purchase_cycle(tx, observation_end=tx.end)
    picks = random.choices(range(ids.size), k=ids.size)
    # Same-day orders at or before the original one: the last purchase moment stays.
    earlier = stamps[picks].astype("datetime64[D]").astype("datetime64[s]")
    more_ids = np.concatenate((ids, ids[picks]))
    more_stamps = np.concatenate((stamps, earlier))
    order = list(range(more_ids.size))
    random.shuffle(order)
    again = rk.purchase_cycle(rk.Transactions(more_ids[order], more_stamps[order]))
    for name in ("times", "at_risk", "events", "survival", "n_gaps", "last_purchase"):
        assert np.array_equal(getattr(again, name), getattr(cycle, name)), name
    np.testing.assert_array_equal(again.median_gap, cycle.median_gap)
    assert again.median == cycle.median


@given(
    transaction_arrays(with_amount=False),
    st.integers(0, 200),
    st.floats(0.25, 4.0),
)
def test_overdue_matches_the_reference(arrays, days_after, factor):
    ids, stamps, _ = arrays
    tx = rk.Transactions(ids, stamps)
    cycle = rk.purchase_cycle(tx)
    at = tx.end + days_after * DAY
    today = int(period_index(np.array([at]), "D")[0])
    gaps = reference_gaps(ids, stamps, "D", tx.end)
    expected = []
    for customer, (closed, _) in gaps.items():
        last = max(s for i, s in zip(ids.tolist(), stamps, strict=True) if i == customer)
        elapsed = today - int(period_index(np.array([last]), "D")[0])
        cycle_length = statistics.median(closed) if closed else cycle.median
        if elapsed > factor * cycle_length:
            expected.append(customer)
    assert cycle.overdue(at, factor=factor).tolist() == expected


# --- examples ---------------------------------------------------------------------------------


def test_small_example_by_hand():
    tx = rk.Transactions(
        [1, 1, 1, 2, 2, 3],
        np.array(
            ["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-05", "2024-01-25", "2024-02-01"],
            dtype="datetime64[D]",
        ),
    )
    cycle = rk.purchase_cycle(tx, observation_end="2024-02-10")
    # Closed gaps: 10, 20 (customer 1) and 20 (customer 2); open: 10, 16 and 9.
    assert cycle.times.tolist() == [10, 20]
    assert cycle.at_risk.tolist() == [5, 2]
    assert cycle.events.tolist() == [1, 2]
    assert cycle.survival.tolist() == [0.8, 0.0]
    assert (cycle.median, cycle.naive_median) == (20.0, 20.0)
    assert cycle.quantile(0.2) == 10.0
    assert cycle.n_gaps.tolist() == [2, 1, 0]
    assert cycle.median_gap[:2].tolist() == [15.0, 20.0]
    assert math.isnan(cycle.median_gap[2])
    # On 2024-03-01: customer 1 is 30 days out (median 15), customer 2 36 (20), customer 3
    # 29 days out against the population median 20.
    assert cycle.overdue("2024-03-01").tolist() == [1, 2, 3]
    assert cycle.overdue("2024-03-01", factor=1.6).tolist() == [1, 2]
    assert cycle.overdue("2024-02-10").tolist() == []


def test_censoring_lengthens_the_cycle_on_cdnow():
    cycle = rk.purchase_cycle(rk.datasets.load_cdnow())
    # Most CDNOW customers never return: their long open gaps push the estimate up.
    assert cycle.naive_median < cycle.median
    assert cycle.quantile(0.99) == math.inf
    assert cycle.n_gaps.sum() == cycle.events.sum()
    assert cycle.customer_id.size == 2357


def test_weekly_and_monthly_units():
    tx = rk.Transactions([1, 1, 1], ["2024-01-07", "2024-01-08", "2024-03-31"])
    weekly = rk.purchase_cycle(tx, period="W")
    assert weekly.n_gaps.tolist() == [2]
    assert weekly.median_gap.tolist() == [6.0]  # weeks 0 -> 1 -> 12: gaps 1 and 11
    monthly = rk.purchase_cycle(tx, period="M")
    assert monthly.n_gaps.tolist() == [1]
    assert monthly.median_gap.tolist() == [2.0]


def test_never_reaching_a_quantile_is_infinite():
    tx = rk.Transactions([1, 2, 3], ["2024-01-01", "2024-01-02", "2024-01-03"])
    cycle = rk.purchase_cycle(tx, observation_end="2024-06-01")
    assert cycle.times.size == 0
    assert cycle.median == math.inf
    assert math.isnan(cycle.naive_median)
    assert cycle.overdue("2025-01-01").size == 0


@pytest.mark.parametrize("q", [0, -0.1, 1.5, math.nan, "half", True])
def test_bad_quantile_is_refused(q):
    cycle = rk.purchase_cycle(rk.datasets.load_cdnow())
    with pytest.raises(rk.InvalidDataError) as info:
        cycle.quantile(q)
    assert info.value.field == "q"


@pytest.mark.parametrize("factor", [0, -1.0, math.inf, math.nan, "2"])
def test_bad_factor_is_refused(factor):
    cycle = rk.purchase_cycle(rk.datasets.load_cdnow())
    with pytest.raises(rk.InvalidDataError) as info:
        cycle.overdue("1998-07-01", factor=factor)
    assert info.value.field == "factor"


def test_bad_arguments_are_refused():
    tx = rk.datasets.load_cdnow()
    with pytest.raises(rk.InvalidDataError) as info:
        rk.purchase_cycle(tx, observation_end="1998-06-01")
    assert info.value.field == "observation_end"
    with pytest.raises(rk.InvalidDataError) as info:
        rk.purchase_cycle(tx, period="Y")  # type: ignore[arg-type]
    assert info.value.field == "period"
    with pytest.raises(rk.InvalidDataError) as info:
        rk.purchase_cycle(tx).overdue("not a date")
    assert info.value.field == "at"


def test_frames_in_and_out():
    tx = rk.datasets.load_cdnow()
    frame = pd.DataFrame({"who": tx.customer_id, "when": tx.timestamp, "spend": tx.amount})
    cycle = rk.purchase_cycle(frame, customer_id="who", timestamp="when", amount="spend")
    assert np.array_equal(cycle.survival, rk.purchase_cycle(tx).survival)
    out = cycle.to_frame("pandas")
    assert out.columns.tolist() == ["customer_id", "n_gaps", "median_gap", "last_purchase"]
    assert out["n_gaps"].tolist() == cycle.n_gaps.tolist()
    polars_out = cycle.to_frame("polars")
    assert polars_out.shape == (2357, 4)
    assert polars_out["last_purchase"].dtype == pl.Datetime("us")
    for array in (cycle.times, cycle.survival, cycle.n_gaps, cycle.median_gap):
        assert not array.flags.writeable


def test_last_purchase_keeps_the_time_of_day():
    stamps = EPOCH + np.array([0, 3 * 86_400 + 3_600, 3 * 86_400 + 60], dtype="timedelta64[s]")
    cycle = rk.purchase_cycle(rk.Transactions([7, 7, 7], stamps))
    assert cycle.last_purchase.tolist() == [stamps[1].tolist()]
    assert cycle.n_gaps.tolist() == [1]
