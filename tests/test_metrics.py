"""Retention rate, churn, period counts, retention series, repeat rate and purchase frequency."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit.metrics import _boundary_activity
from tests._reference import cdnow_master_frame
from tests.strategies import DAY, EPOCH, period_counts, transaction_arrays

# --- slow, obviously correct references ---------------------------------------------------


def reference_period_counts(ids, stamps, start, end, window) -> rk.PeriodCounts:
    """The contract's definitions, customer by customer, purchase by purchase."""
    purchases: dict[object, list[np.datetime64]] = {}
    for customer, moment in zip(ids.tolist(), stamps, strict=True):
        purchases.setdefault(customer, []).append(moment)

    def active(customer, m):
        return any(m - window < p <= m for p in purchases[customer])

    began = {c for c in purchases if active(c, start)}
    ended = {c for c in purchases if active(c, end)}
    new = {c for c in ended if start < min(purchases[c]) <= end}
    back = {c for c in ended - began if min(purchases[c]) <= start}
    return rk.PeriodCounts(start=len(began), end=len(ended), new=len(new), reactivated=len(back))


def reference_repeat_rate(ids, stamps) -> float:
    days: dict[object, set[np.datetime64]] = {}
    for customer, moment in zip(ids.tolist(), stamps, strict=True):
        days.setdefault(customer, set()).add(moment.astype("datetime64[D]"))
    return sum(len(d) >= 2 for d in days.values()) / len(days)


# --- strategies -----------------------------------------------------------------------------

windows = st.one_of(
    st.integers(1, 120),
    st.floats(0.25, 120.0),
    st.integers(1, 200).map(lambda h: np.timedelta64(h * 12, "h")),
    st.integers(1, 60).map(lambda d: dt.timedelta(days=d)),
)


@st.composite
def moments(draw, max_days: int = 420) -> np.datetime64:
    """A moment near the logs of `transaction_arrays`, often exactly at midnight."""
    day = draw(st.integers(-10, max_days))
    second = draw(st.one_of(st.just(0), st.integers(0, 86_399)))
    return EPOCH + day * DAY + np.timedelta64(second, "s")


@st.composite
def periods(draw) -> tuple[np.datetime64, np.datetime64]:
    start, end = draw(moments()), draw(moments())
    if start == end:
        end = end + DAY
    return (start, end) if start < end else (end, start)


# --- retention_rate and churn_rate -------------------------------------------------------


@given(period_counts())
def test_rates_are_bounded_and_complementary(counts):
    retention = rk.retention_rate(counts)
    churn = rk.churn_rate(counts)
    assert 0.0 <= retention <= 1.0
    assert 0.0 <= churn <= 1.0
    assert retention + churn == pytest.approx(1.0, abs=1e-15)
    assert retention == counts.retained / counts.start


def test_seed_formula_without_reactivations():
    counts = rk.PeriodCounts(start=200, end=180, new=40)
    assert rk.retention_rate(counts) == (180 - 40) / 200
    assert rk.churn_rate(counts) == pytest.approx(0.3)


def test_reactivated_customers_are_not_retained():
    counts = rk.PeriodCounts(start=100, end=100, new=0, reactivated=30)
    assert rk.retention_rate(counts) == 0.7


@pytest.mark.parametrize("rate", [rk.retention_rate, rk.churn_rate])
def test_no_starting_customers_is_invalid(rate):
    with pytest.raises(rk.InvalidDataError) as info:
        rate(rk.PeriodCounts(start=0, end=5, new=5))
    assert info.value.field == "start"
    assert "nobody" in str(info.value)


def test_rate_of_a_non_counts_is_invalid():
    with pytest.raises(rk.InvalidDataError) as info:
        rk.retention_rate((10, 8, 2))  # type: ignore[arg-type]
    assert info.value.field == "counts"


# --- period_counts ----------------------------------------------------------------------


@given(transaction_arrays(with_amount=False), periods(), windows)
def test_period_counts_match_the_reference(arrays, bounds, window):
    ids, stamps, _ = arrays
    start, end = bounds
    counts = rk.period_counts(
        rk.Transactions(ids, stamps), start=start, end=end, active_window=window
    )
    step = rk._periods.as_window(window)
    assert counts == reference_period_counts(ids, stamps, start, end, step)


@given(transaction_arrays(with_amount=False), periods(), st.integers(1, 90), st.randoms())
def test_period_counts_ignore_row_order_and_duplicate_rows(arrays, bounds, window, random):
    ids, stamps, _ = arrays
    start, end = bounds
    counts = rk.period_counts(
        rk.Transactions(ids, stamps), start=start, end=end, active_window=window
    )
    order = list(range(ids.size)) + random.choices(range(ids.size), k=ids.size)
    random.shuffle(order)
    shuffled = rk.Transactions(ids[order], stamps[order])
    assert rk.period_counts(shuffled, start=start, end=end, active_window=window) == counts


def test_period_counts_boundaries_are_exact():
    # A purchase exactly at `start` counts as active at start; one exactly `window` before
    # a moment does not.
    stamps = np.array(["2024-01-01", "2024-01-31", "2024-02-01", "2024-03-01"], "datetime64[s]")
    tx = rk.Transactions([1, 2, 3, 4], stamps)
    counts = rk.period_counts(tx, start="2024-01-31", end="2024-03-01", active_window=30)
    # start: active iff 2024-01-01 < p <= 2024-01-31 -> customer 2 (customer 1 is 30 days out).
    # end: active iff 2024-01-31 < p <= 2024-03-01 -> customers 3 and 4, both new.
    assert counts == rk.PeriodCounts(start=1, end=2, new=2, reactivated=0)


def test_period_counts_example_with_every_kind_of_customer():
    tx = rk.Transactions(
        [1, 1, 2, 3, 4, 4],
        np.array(
            ["2024-01-10", "2024-02-20", "2024-01-15", "2024-02-05", "2023-10-01", "2024-02-25"],
            dtype="datetime64[D]",
        ),
    )
    counts = rk.period_counts(tx, start="2024-02-01", end="2024-03-01", active_window=30)
    assert counts == rk.PeriodCounts(start=2, end=3, new=1, reactivated=1)
    assert rk.retention_rate(counts) == 0.5


def test_period_counts_accepts_frames_and_datetime_bounds():
    frame = pd.DataFrame(
        {"user": [1, 1, 2], "when": pd.to_datetime(["2024-01-05", "2024-02-03", "2024-01-20"])}
    )
    counts = rk.period_counts(
        frame,
        customer_id="user",
        timestamp="when",
        start=dt.datetime(2024, 2, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        end=dt.date(2024, 2, 10),
        active_window=np.timedelta64(30, "D"),
    )
    assert counts == rk.PeriodCounts(start=2, end=2, new=0, reactivated=0)
    polars_counts = rk.period_counts(
        pl.from_pandas(frame),
        customer_id="user",
        timestamp="when",
        start="2024-02-01",
        end="2024-02-10",
        active_window=30,
    )
    assert polars_counts == counts


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": "2024-02-01", "end": "2024-02-01", "active_window": 30}, "end"),
        ({"start": "2024-03-01", "end": "2024-02-01", "active_window": 30}, "end"),
        ({"start": "someday", "end": "2024-02-01", "active_window": 30}, "start"),
        ({"start": "2024-01-01", "end": "2024-02-01", "active_window": 0}, "active_window"),
        ({"start": "2024-01-01", "end": "2024-02-01", "active_window": -3}, "active_window"),
        ({"start": "2024-01-01", "end": "2024-02-01", "active_window": "30"}, "active_window"),
        (
            {"start": "2024-01-01", "end": "2024-02-01", "active_window": np.timedelta64(1, "M")},
            "active_window",
        ),
    ],
)
def test_period_counts_refuses_bad_arguments(kwargs, field):
    tx = rk.Transactions([1], ["2024-01-01"])
    with pytest.raises(rk.InvalidDataError) as info:
        rk.period_counts(tx, **kwargs)
    assert info.value.field == field


# --- retention_series -------------------------------------------------------------------


@settings(max_examples=80)
@given(
    transaction_arrays(with_amount=False, max_days=250),
    st.sampled_from(["D", "W", "M"]),
    windows,
)
def test_retention_series_agrees_with_period_counts(arrays, freq, window):
    ids, stamps, _ = arrays
    tx = rk.Transactions(ids, stamps)
    series = rk.retention_series(tx, freq=freq, active_window=window)
    assert len(series) == series.period_start.size
    for i in range(len(series)):
        expected = rk.period_counts(
            tx, start=series.period_start[i], end=series.period_end[i], active_window=window
        )
        assert series.counts(i) == expected, i
        if expected.start:
            assert series.retention_rate[i] == rk.retention_rate(expected)
            assert series.churn_rate[i] == rk.churn_rate(expected)
        else:
            assert math.isnan(series.retention_rate[i])
            assert math.isnan(series.churn_rate[i])


@given(transaction_arrays(with_amount=False, max_days=250), st.sampled_from(["D", "W", "M"]))
def test_retention_series_covers_every_complete_period(arrays, freq):
    ids, stamps, _ = arrays
    tx = rk.Transactions(ids, stamps)
    series = rk.retention_series(tx, freq=freq, active_window=30)
    starts = series.period_start
    if len(series):
        first = np.datetime64(tx.start, "D")
        assert starts[0] <= first < series.period_end[0]
        assert np.all(series.period_end[:-1] == starts[1:])
        assert series.period_end[-1] <= tx.end
    # The next period would end after the last transaction.
    following = rk._periods.period_start(
        rk._periods.period_index(np.array([tx.end]), freq) + 1, freq
    )[0]
    assert following > tx.end


@given(transaction_arrays(with_amount=False), st.integers(1, 60), st.randoms())
def test_retention_series_ignores_row_order_and_duplicate_rows(arrays, window, random):
    ids, stamps, _ = arrays
    series = rk.retention_series(rk.Transactions(ids, stamps), freq="W", active_window=window)
    order = list(range(ids.size)) * 2
    random.shuffle(order)
    again = rk.retention_series(
        rk.Transactions(ids[order], stamps[order]), freq="W", active_window=window
    )
    assert again == series


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=200),
    st.lists(st.integers(-5, 400), min_size=1, max_size=200),
    st.lists(st.integers(0, 400), min_size=2, max_size=12, unique=True),
    st.integers(1, 100),
    st.sampled_from([True, False, None]),
)
def test_boundary_activity_matches_brute_force(codes, times, bounds, window, dense):
    n = min(len(codes), len(times))
    codes_a, times_a = np.array(codes[:n]), np.array(times[:n])
    bounds_a = np.sort(np.array(bounds))
    active, new, retained = _boundary_activity(codes_a, times_a, bounds_a, window, dense=dense)
    is_active = np.array(
        [
            [np.any((codes_a == c) & (times_a <= b) & (times_a > b - window)) for b in bounds_a]
            for c in range(41)
        ]
    )
    first = np.array(
        [times_a[codes_a == c].min() if np.any(codes_a == c) else 10**9 for c in range(41)]
    )
    assert active.tolist() == is_active.sum(axis=0).tolist()
    both = is_active[:, :-1] & is_active[:, 1:]
    assert retained.tolist() == both.sum(axis=0).tolist()
    arrived = (first[:, None] > bounds_a[None, :-1]) & (first[:, None] <= bounds_a[None, 1:])
    assert new.tolist() == (arrived & is_active[:, 1:]).sum(axis=0).tolist()


def test_retention_series_on_cdnow_matches_period_counts_and_is_documented():
    tx = rk.datasets.load_cdnow()
    series = rk.retention_series(tx, freq="M", active_window=90)
    assert len(series) == 17
    assert str(series.period_start[0]) == "1997-01-01"
    assert str(series.period_end[-1]) == "1998-06-01"
    # The cohort was acquired in 1997 Q1: nobody is new afterwards.
    assert series.new[3:].tolist() == [0] * 14
    assert series.new[:3].sum() + series.start[0] == tx.n_customers
    for i in (0, 5, 16):
        assert series.counts(i) == rk.period_counts(
            tx, start=series.period_start[i], end=series.period_end[i], active_window=90
        )


def test_retention_series_rate_is_nan_without_starting_customers():
    tx = rk.Transactions([1, 2, 1], ["2024-01-05", "2024-01-20", "2024-02-10"])
    series = rk.retention_series(tx, freq="M", active_window=30)
    assert len(series) == 1
    assert series.counts(0) == rk.PeriodCounts(start=0, end=2, new=2, reactivated=0)
    assert math.isnan(series.retention_rate[0])
    assert math.isnan(series.churn_rate[0])


def test_retention_series_is_empty_for_a_log_shorter_than_a_period():
    tx = rk.Transactions([1, 2], ["2024-01-05", "2024-01-20"])
    series = rk.retention_series(tx, freq="M", active_window=30)
    assert len(series) == 0
    assert series.retention_rate.size == 0
    assert len(series.to_frame("pandas")) == 0


def test_retention_series_observation_end():
    tx = rk.datasets.load_cdnow()
    longer = rk.retention_series(tx, active_window=90, observation_end="1998-07-01")
    shorter = rk.retention_series(tx, active_window=90, observation_end="1997-06-15")
    full = rk.retention_series(tx, active_window=90)
    assert len(longer) == 18
    assert len(shorter) == 5
    assert np.array_equal(longer.start[:17], full.start)
    assert np.array_equal(shorter.end, full.end[:5])
    with pytest.raises(rk.InvalidDataError) as info:
        rk.retention_series(tx, active_window=90, observation_end="1996-12-31")
    assert info.value.field == "observation_end"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"freq": "Q", "active_window": 30}, "freq"), ({"active_window": None}, "active_window")],
)
def test_retention_series_refuses_bad_arguments(kwargs, field):
    with pytest.raises(rk.InvalidDataError) as info:
        rk.retention_series(rk.datasets.load_cdnow(), **kwargs)
    assert info.value.field == field


def test_retention_series_arrays_are_read_only_and_frames_agree():
    series = rk.retention_series(rk.datasets.load_cdnow(), active_window=90)
    for name in ("period_start", "start", "end", "new", "reactivated", "retention_rate"):
        assert not getattr(series, name).flags.writeable
    with pytest.raises(AttributeError):
        series.start = np.zeros(3)  # type: ignore[misc]
    frame = series.to_frame("pandas")
    assert frame["start"].tolist() == series.start.tolist()
    assert frame["retained"].tolist() == series.retained.tolist()
    np.testing.assert_array_equal(frame["retention_rate"].to_numpy(), series.retention_rate)
    polars_frame = series.to_frame("polars")
    assert polars_frame.columns == frame.columns.tolist()
    assert polars_frame["period_start"].dtype == pl.Date


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"new": [4, 4]}, "new"),
        ({"start": [0, 1]}, "end"),
        ({"end": [3, -1]}, "end"),
        ({"reactivated": [0]}, "reactivated"),
        ({"freq": "Y"}, "freq"),
    ],
)
def test_retention_series_validates_its_rows(change, field):
    values = {
        "period_start": np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
        "period_end": np.array(["2024-02-01", "2024-03-01"], dtype="datetime64[D]"),
        "start": [0, 10],
        "end": [3, 12],
        "new": [3, 4],
        "reactivated": [0, 1],
        "freq": "M",
        "active_window": np.timedelta64(30, "D"),
    }
    with pytest.raises(rk.InvalidDataError) as info:
        rk.RetentionSeries(**(values | change))
    assert info.value.field == field


# --- repeat_purchase_rate and purchase_frequency -----------------------------------------


@given(transaction_arrays())
def test_repeat_rate_and_frequency_match_the_reference(arrays):
    ids, stamps, amounts = arrays
    tx = rk.Transactions(ids, stamps, amounts)
    assert rk.repeat_purchase_rate(tx) == pytest.approx(reference_repeat_rate(ids, stamps), abs=0)
    assert rk.purchase_frequency(tx) == ids.size / len(set(ids.tolist()))
    assert 0.0 <= rk.repeat_purchase_rate(tx) <= 1.0
    assert rk.purchase_frequency(tx) >= 1.0


@given(transaction_arrays(with_amount=False), st.randoms())
def test_repeat_rate_ignores_order_and_same_day_rows(arrays, random):
    ids, stamps, _ = arrays
    rate = rk.repeat_purchase_rate(rk.Transactions(ids, stamps))
    # Extra orders on days a customer already bought on, at other times of the day.
    picks = random.choices(range(ids.size), k=ids.size)
    same_day = stamps[picks].astype("datetime64[D]") + np.timedelta64(
        random.randrange(86_400), "s"
    )
    more_ids = np.concatenate((ids, ids[picks]))
    more_stamps = np.concatenate((stamps, same_day))
    order = list(range(more_ids.size))
    random.shuffle(order)
    busier = rk.Transactions(more_ids[order], more_stamps[order])
    assert rk.repeat_purchase_rate(busier) == rate
    assert rk.purchase_frequency(busier) == 2 * rk.purchase_frequency(rk.Transactions(ids, stamps))


def test_repeat_rate_and_frequency_small_example():
    tx = rk.Transactions(
        ["a", "a", "b", "b", "c"],
        ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-02T18:00", "2024-01-05"],
    )
    assert rk.repeat_purchase_rate(tx) == 1 / 3
    assert rk.purchase_frequency(tx) == 5 / 3
    frame = pl.DataFrame({"customer_id": tx.customer_id, "timestamp": tx.timestamp})
    assert rk.repeat_purchase_rate(frame) == 1 / 3


def test_cdnow_full_cohort_repeat_rate_and_frequency_golden():
    frame = cdnow_master_frame()
    days = frame.groupby("customer_id")["timestamp"].nunique()
    assert (len(frame), len(days), int((days >= 2).sum())) == (69_659, 23_570, 11_516)
    tx = rk.datasets.load_cdnow(sample=False)
    assert rk.repeat_purchase_rate(tx) == 11_516 / 23_570
    assert rk.purchase_frequency(tx) == 69_659 / 23_570
    assert rk.repeat_purchase_rate(frame) == 11_516 / 23_570
