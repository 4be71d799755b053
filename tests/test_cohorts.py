"""Cohort tables: definitions, invariances, frames and the CDNOW golden row."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit._periods import period_index, period_start
from tests._reference import cdnow_master_frame
from tests.strategies import transaction_arrays


def reference_cohorts(ids, stamps, freq):
    """Cohort rows, sizes and counts by the definition, one customer at a time."""
    periods: dict[object, set[int]] = {}
    for customer, moment in zip(ids.tolist(), stamps, strict=True):
        periods.setdefault(customer, set()).add(int(period_index(np.array([moment]), freq)[0]))
    last = max(max(p) for p in periods.values())
    cohorts = sorted({min(p) for p in periods.values()})
    width = last - cohorts[0] + 1
    sizes = [sum(min(p) == c for p in periods.values()) for c in cohorts]
    counts = [
        [
            float(sum(min(p) == c and c + k in p for p in periods.values()))
            if c + k <= last
            else math.nan
            for k in range(width)
        ]
        for c in cohorts
    ]
    return period_start(np.array(cohorts), freq), sizes, counts


@given(transaction_arrays(with_amount=False), st.sampled_from(["D", "W", "M"]))
def test_cohort_table_matches_the_reference(arrays, freq):
    ids, stamps, _ = arrays
    table = rk.cohort_retention(rk.Transactions(ids, stamps), freq=freq)
    cohorts, sizes, counts = reference_cohorts(ids, stamps, freq)
    assert np.array_equal(table.cohorts, cohorts)
    assert table.sizes.tolist() == sizes
    np.testing.assert_array_equal(table.counts, np.array(counts))


@given(transaction_arrays(with_amount=False), st.sampled_from(["D", "W", "M"]))
def test_cohort_table_bounds(arrays, freq):
    ids, stamps, _ = arrays
    tx = rk.Transactions(ids, stamps)
    table = rk.cohort_retention(tx, freq=freq)
    observed = ~np.isnan(table.counts)
    assert observed[:, 0].all()
    assert np.array_equal(table.counts[:, 0], table.sizes)
    assert np.all(table.rates[:, 0] == 1.0)
    assert np.all(table.counts[observed] >= 0)
    assert np.all((table.counts <= table.sizes[:, None])[observed])
    assert np.all((table.rates >= 0)[observed] & (table.rates <= 1)[observed])
    assert table.sizes.sum() == tx.n_customers
    assert np.all(table.sizes > 0)
    assert np.all(np.diff(table.cohorts.astype(np.int64)) > 0)
    # Observed cells form a staircase: row i is observed for exactly the periods up to the
    # last transaction's.
    last = period_index(np.array([tx.end]), freq)[0]
    first = period_index(table.cohorts.astype("datetime64[s]"), freq)
    assert observed.sum(axis=1).tolist() == (last - first + 1).tolist()
    assert np.isnan(table.rates[~observed]).all()


@given(transaction_arrays(with_amount=False), st.randoms())
def test_cohort_table_ignores_row_order_and_same_period_rows(arrays, random):
    ids, stamps, _ = arrays
    table = rk.cohort_retention(rk.Transactions(ids, stamps), freq="M")
    picks = random.choices(range(ids.size), k=ids.size)
    # Another purchase in the same month as an existing one.
    month_start = stamps[picks].astype("datetime64[M]").astype("datetime64[s]")
    extra = month_start + np.timedelta64(random.randrange(28 * 86_400), "s")
    more_ids = np.concatenate((ids, ids[picks]))
    more_stamps = np.concatenate((stamps, extra))
    order = list(range(more_ids.size))
    random.shuffle(order)
    again = rk.cohort_retention(rk.Transactions(more_ids[order], more_stamps[order]), freq="M")
    assert again == table


def test_small_example():
    tx = rk.Transactions(
        ["a", "a", "b", "c", "c", "d"],
        np.array(
            ["2024-01-03", "2024-03-09", "2024-01-20", "2024-02-01", "2024-02-28", "2024-03-30"],
            dtype="datetime64[D]",
        ),
    )
    table = rk.cohort_retention(tx)
    assert [str(c) for c in table.cohorts] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert table.sizes.tolist() == [2, 1, 1]
    np.testing.assert_array_equal(table.counts, [[2, 0, 1], [1, 0, np.nan], [1, np.nan, np.nan]])
    np.testing.assert_array_equal(table.rates, [[1, 0, 0.5], [1, 0, np.nan], [1, np.nan, np.nan]])


def test_months_without_new_customers_have_no_row():
    tx = rk.Transactions([1, 2, 1], ["2024-01-05", "2024-04-01", "2024-02-10"])
    table = rk.cohort_retention(tx)
    assert [str(c) for c in table.cohorts] == ["2024-01-01", "2024-04-01"]
    assert table.counts.shape == (2, 4)
    assert table.counts[0].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_weekly_cohorts_start_on_monday():
    tx = rk.Transactions([1, 2], ["2024-01-07", "2024-01-08"])  # a Sunday, then a Monday
    table = rk.cohort_retention(tx, freq="W")
    assert [str(c) for c in table.cohorts] == ["2024-01-01", "2024-01-08"]
    assert table.counts.tolist()[0] == [1.0, 0.0]


def test_cdnow_full_cohort_first_row_golden():
    # Computed independently with pandas from the raw file.
    frame = cdnow_master_frame()
    frame["month"] = frame["timestamp"].dt.to_period("M")
    cohort = frame.groupby("customer_id")["month"].transform("min")
    frame["age"] = (frame["month"] - cohort).map(lambda offset: offset.n)
    january = frame[cohort == pd.Period("1997-01", "M")]
    by_age = january.groupby("age")["customer_id"].nunique()
    golden = [
        7846, 1157, 964, 810, 679, 736, 720, 582, 559, 594, 673, 634, 528, 511, 664, 472, 497,
        498,
    ]  # fmt: skip
    assert by_age.tolist() == golden
    table = rk.cohort_retention(rk.datasets.load_cdnow(sample=False))
    assert table.sizes.tolist() == [7846, 8476, 7248]
    assert table.counts[0].tolist() == golden
    assert table.rates[0, 1] == 1157 / 7846
    assert np.isnan(table.counts[2, -2:]).all()


def test_frames_long_form():
    tx = rk.datasets.load_cdnow()
    table = rk.cohort_retention(tx)
    frame = table.to_frame("pandas")
    assert frame.columns.tolist() == ["cohort", "size", "age", "customers", "rate"]
    assert len(frame) == int((~np.isnan(table.counts)).sum())
    wide = frame.pivot(index="cohort", columns="age", values="customers")
    np.testing.assert_array_equal(wide.to_numpy(), table.counts)
    polars_frame = table.to_frame("polars")
    assert polars_frame.shape == frame.shape
    assert polars_frame["cohort"].dtype == pl.Date
    assert polars_frame["customers"].to_list() == frame["customers"].tolist()
    from_frame = rk.cohort_retention(
        pl.DataFrame({"who": tx.customer_id, "when": tx.timestamp.astype("datetime64[us]")}),
        customer_id="who",
        timestamp="when",
    )
    assert from_frame == table


def test_arrays_are_read_only():
    table = rk.cohort_retention(rk.datasets.load_cdnow())
    for array in (table.cohorts, table.sizes, table.counts, table.rates):
        assert not array.flags.writeable
    with pytest.raises(AttributeError):
        table.sizes = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sizes": [0, 2]}, "sizes"),
        ({"sizes": [1.5, 2]}, "sizes"),
        ({"counts": [[4.0, 5.0], [2.0, np.nan]]}, "counts"),
        ({"counts": [[4.0, -1.0], [2.0, np.nan]]}, "counts"),
        ({"counts": [[4.0, 0.5], [2.0, np.nan]]}, "counts"),
        ({"counts": [[4.0, 1.0]]}, "counts"),
        ({"freq": "Q"}, "freq"),
    ],
)
def test_table_validation(change, field):
    values = {
        "cohorts": np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
        "sizes": [4, 2],
        "counts": [[4.0, 1.0], [2.0, np.nan]],
        "freq": "M",
    }
    with pytest.raises(rk.InvalidDataError) as info:
        rk.CohortTable(**(values | change))
    assert info.value.field == field


def test_bad_freq_is_refused():
    with pytest.raises(rk.InvalidDataError) as info:
        rk.cohort_retention(rk.datasets.load_cdnow(), freq="Y")  # type: ignore[arg-type]
    assert info.value.field == "freq"
