"""Win-back due dates under the fixed, cycle and model rules, and their holdout comparison."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import retention_kit as rk
from tests.strategies import transactions

CALIBRATION_END = "1997-09-30"


@pytest.fixture(scope="module")
def cdnow() -> rk.Transactions:
    return rk.datasets.load_cdnow()


@pytest.fixture(scope="module")
def bgnbd(cdnow: rk.Transactions) -> rk.BGNBD:
    summary = rk.summarize(cdnow, period="D", unit="W", observation_end=CALIBRATION_END)
    return rk.BGNBD.fit(summary)


@given(transactions(max_customers=8, max_rows=30))
@settings(max_examples=30)
def test_fixed_and_cycle_rules_follow_their_definitions(tx: rk.Transactions) -> None:
    fixed = rk.winback_schedule(tx, rule="fixed", delay=30)
    cycle = rk.purchase_cycle(tx)
    np.testing.assert_array_equal(fixed.customer_id, cycle.customer_id)
    np.testing.assert_array_equal(fixed.due - fixed.last_purchase, np.timedelta64(30, "D"))
    by_cycle = rk.winback_schedule(tx, rule="cycle", factor=2.0)
    # Due strictly before a later day <=> overdue by more than two cycles on that day.
    for days in (10, 45, 200):
        at = (tx.end + np.timedelta64(days, "D")).astype("datetime64[D]")
        due_before = set(by_cycle.customer_id[~np.isnat(by_cycle.due) & (by_cycle.due < at)])
        assert due_before == set(cycle.overdue(at, factor=2.0).tolist())


def test_model_rule_solves_probability_alive_equals_threshold(
    cdnow: rk.Transactions, bgnbd: rk.BGNBD
) -> None:
    schedule = rk.winback_schedule(
        cdnow, rule="model", model=bgnbd, threshold=0.4, observation_end=CALIBRATION_END
    )
    summary = rk.summarize(cdnow, period="D", unit="W", observation_end=CALIBRATION_END)
    np.testing.assert_array_equal(schedule.customer_id, summary.customer_id)
    end = np.datetime64(CALIBRATION_END, "s")
    t = (schedule.due - end) / np.timedelta64(7, "D")
    now = bgnbd.probability_alive(summary)
    later = ~np.isnat(schedule.due) & (t > 0)
    assert later.sum() > 100
    alive = bgnbd.probability_alive(summary, t=np.where(later, t, 0.0))
    np.testing.assert_allclose(alive[later], 0.4, atol=1e-5)  # due dates are rounded to seconds
    np.testing.assert_array_equal(t[now <= 0.4], 0.0)
    never = np.isnat(schedule.due)
    far = bgnbd.probability_alive(summary, t=3650 / 7)
    assert (far[never] > 0.4).all()
    higher = rk.winback_schedule(
        cdnow, rule="model", model=bgnbd, threshold=0.6, observation_end=CALIBRATION_END
    )
    both = ~np.isnat(higher.due) & ~never
    assert (higher.due[both] <= schedule.due[both]).all()


def test_comparison_on_cdnow_holdout(cdnow: rk.Transactions, bgnbd: rk.BGNBD) -> None:
    schedules = {
        "six months": rk.winback_schedule(cdnow, rule="fixed", observation_end=CALIBRATION_END),
        "cycle": rk.winback_schedule(cdnow, rule="cycle", observation_end=CALIBRATION_END),
        "P(alive) < 0.5": rk.winback_schedule(
            cdnow, rule="model", model=bgnbd, observation_end=CALIBRATION_END
        ),
    }
    result = rk.compare_winback(cdnow, schedules, holdout_end="1998-06-30")
    n = schedules["cycle"].customer_id.size
    totals = result.contacted + result.returned_before_due + result.not_due
    np.testing.assert_array_equal(totals, n)
    np.testing.assert_array_equal(result.bought_anyway + result.lapsed, result.contacted)
    assert result.rules == ("six months", "cycle", "P(alive) < 0.5")
    assert result.contacted.tolist() == [2069, 2274, 495]
    assert result.bought_anyway.tolist() == [396, 601, 167]
    assert ((result.lapse_rate > 0) & (result.lapse_rate < 1)).all()


def test_comparison_counts_by_hand() -> None:
    tx = rk.Transactions(
        [1, 2, 3, 1, 2],
        np.array(
            ["2024-01-01", "2024-01-01", "2024-01-01", "2024-03-15", "2024-01-20"],
            dtype="datetime64[D]",
        ),
    )
    schedule = rk.winback_schedule(tx, rule="fixed", delay=60, observation_end="2024-01-10")
    result = rk.compare_winback(tx, {"60 days": schedule}, holdout_end="2024-06-30")
    # 1: contacted on 03-01, bought 03-15 (anyway); 2: bought 01-20 before due; 3: lapsed.
    assert result.contacted.tolist() == [2]
    assert result.bought_anyway.tolist() == [1]
    assert result.lapsed.tolist() == [1]
    assert result.returned_before_due.tolist() == [1]


def test_errors(cdnow: rk.Transactions) -> None:
    with pytest.raises(rk.InvalidDataError, match="rule"):
        rk.winback_schedule(cdnow, rule="soon")  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="model"):
        rk.winback_schedule(cdnow, rule="model")
    with pytest.raises(rk.InvalidDataError, match="delay"):
        rk.winback_schedule(cdnow, rule="fixed", delay=-1)
    with pytest.raises(rk.InvalidDataError, match="threshold"):
        rk.winback_schedule(cdnow, rule="model", model=rk.BGNBD(1, 1, 1, 1), threshold=1.5)
    with pytest.raises(rk.InvalidDataError, match="observation_end"):
        rk.winback_schedule(cdnow, observation_end="1990-01-01")
    a = rk.winback_schedule(cdnow, observation_end="1997-09-30")
    b = rk.winback_schedule(cdnow, observation_end="1997-10-30")
    with pytest.raises(rk.InvalidDataError, match="same customers"):
        rk.compare_winback(cdnow, {"a": a, "b": b}, holdout_end="1998-06-30")
    with pytest.raises(rk.InvalidDataError, match="holdout_end"):
        rk.compare_winback(cdnow, {"a": a}, holdout_end="1997-01-01")
