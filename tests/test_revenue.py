"""Revenue from returning customers: repeat share per period and cohort, first vs repeat AOV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

import retention_kit as rk
from tests.strategies import segmented_logs


def _reference(tx: rk.Transactions, by: str) -> pd.DataFrame:
    """The split computed row by row with pandas, for comparison."""
    frame = pd.DataFrame({"c": tx.customer_id, "t": tx.timestamp, "m": tx.amount})
    frame["day"] = frame["t"].dt.floor("D")
    frame["repeat"] = frame["day"] > frame.groupby("c")["day"].transform("min")
    frame["month"] = frame["t"].dt.to_period("M").dt.start_time
    frame["key"] = (
        frame["month"] if by == "period" else frame.groupby("c")["month"].transform("min")
    )
    return frame.groupby(["key", "repeat"])["m"].agg(["sum", "size"]).unstack(fill_value=0)


@given(segmented_logs())
@settings(max_examples=40)
def test_split_matches_pandas_and_segments_add_up(
    case: tuple[rk.Transactions, np.ndarray],
) -> None:
    tx, segment = case
    for by, function in (("period", rk.revenue_by_period), ("cohort", rk.revenue_by_cohort)):
        split = function(tx, freq="M")
        ref = _reference(tx, by)
        labels = split.label.astype("datetime64[ns]")
        present = np.isin(labels, ref.index.to_numpy())
        assert (split.first_orders[~present] + split.repeat_orders[~present] == 0).all()
        rows = ref.reindex(labels[present], fill_value=0)
        for flag, revenue, orders in (
            (False, split.first_revenue, split.first_orders),
            (True, split.repeat_revenue, split.repeat_orders),
        ):
            want_sum = rows.get(("sum", flag), 0.0)
            want_size = rows.get(("size", flag), 0)
            np.testing.assert_allclose(revenue[present], want_sum, rtol=1e-9, atol=1e-6)
            np.testing.assert_array_equal(orders[present], want_size)
        assert split.first_orders.sum() + split.repeat_orders.sum() == len(tx)
        np.testing.assert_allclose(split.revenue.sum(), tx.amount.sum(), rtol=1e-9, atol=1e-6)
        parts = function(tx, freq="M", segment=segment)
        for name in ("first_revenue", "repeat_revenue", "first_orders", "repeat_orders"):
            total = np.zeros(len(split))
            for part in parts.values():
                total[np.searchsorted(split.label, part.label)] += getattr(part, name)
            np.testing.assert_allclose(total, getattr(split, name), rtol=1e-9, atol=1e-6)


def test_cdnow_first_orders_only_in_the_acquisition_quarter() -> None:
    tx = rk.datasets.load_cdnow()
    split = rk.revenue_by_period(tx)
    # CDNOW's cohort was acquired in the first quarter of 1997: no first orders after March.
    assert split.first_orders[3:].sum() == 0
    assert split.first_orders[:3].sum() >= tx.n_customers  # several orders on a first day
    np.testing.assert_array_equal(split.repeat_share[3:], 1.0)
    by_cohort = rk.revenue_by_cohort(tx)
    assert by_cohort.first_orders.sum() + by_cohort.repeat_orders.sum() == len(tx)
    assert by_cohort.total_repeat_share == pytest.approx(split.total_repeat_share)


def test_derived_columns_and_validation() -> None:
    split = rk.RevenueSplit(
        label=np.array(["2024-01-01"], dtype="datetime64[D]"),
        first_revenue=[0.0],
        repeat_revenue=[0.0],
        first_orders=[0],
        repeat_orders=[0],
        freq="M",
        by="cohort",
    )
    assert np.isnan(split.repeat_share[0])
    assert np.isnan(split.first_order_value[0])
    assert np.isnan(split.total_repeat_share)
    with pytest.raises(rk.InvalidDataError, match="repeat_revenue"):
        rk.RevenueSplit(
            label=np.array(["2024-01-01"], dtype="datetime64[D]"),
            first_revenue=[1.0],
            repeat_revenue=[-1.0],
            first_orders=[1],
            repeat_orders=[1],
            freq="M",
            by="period",
        )
    no_money = rk.Transactions([1, 1], ["2024-01-01", "2024-02-01"])
    with pytest.raises(rk.InvalidDataError, match="amount"):
        rk.revenue_by_period(no_money)


def test_same_day_orders_are_all_first_orders() -> None:
    tx = rk.Transactions(
        [1, 1, 1], ["2024-01-01T09:00", "2024-01-01T18:00", "2024-01-02"], [10.0, 20.0, 30.0]
    )
    split = rk.revenue_by_period(tx, freq="D")
    assert split.first_orders.tolist() == [2, 0]
    assert split.repeat_revenue.tolist() == [0.0, 30.0]
    assert split.first_order_value[0] == 15.0
