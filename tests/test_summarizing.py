"""summarize and calibration_holdout: lifetimes' semantics, the CDNOW tables, properties."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit._periods import period_index, period_start
from tests.strategies import DAY, transaction_arrays

pd = pytest.importorskip("pandas")

# (period, unit) and lifetimes' (freq, freq_multiplier) for the same summary.
LIFETIMES_OPTIONS = [("D", None, "D", 1), ("W", None, "W", 1), ("D", "W", "D", 7)]
SECOND = np.timedelta64(1, "s")


@pytest.fixture(scope="module")
def cdnow() -> rk.Transactions:
    return rk.datasets.load_cdnow()


def _frame(ids: np.ndarray, timestamps: np.ndarray, amount: np.ndarray | None) -> Any:
    columns = {"customer_id": ids, "timestamp": timestamps.astype("datetime64[ns]")}
    if amount is not None:
        columns["amount"] = amount
    return pd.DataFrame(columns)


def _lifetimes_summary(
    frame: Any, *, freq: str, multiplier: int, observation_end: object = None
) -> Any:
    utils = pytest.importorskip("lifetimes.utils")
    return utils.summary_data_from_transaction_data(
        frame,
        "customer_id",
        "timestamp",
        monetary_value_col="amount" if "amount" in frame else None,
        observation_period_end=observation_end,
        freq=freq,
        freq_multiplier=multiplier,
    )


def _assert_matches_lifetimes(summary: rk.CustomerSummary, reference: Any) -> None:
    """Row for row: the same customers, frequency, recency and T exactly, spend to rounding."""
    assert summary.customer_id is not None
    assert sorted(reference.index.tolist()) == summary.customer_id.tolist()
    reference = reference.loc[summary.customer_id]
    np.testing.assert_array_equal(summary.frequency, reference["frequency"].to_numpy())
    np.testing.assert_array_equal(summary.recency, reference["recency"].to_numpy())
    np.testing.assert_array_equal(summary.T, reference["T"].to_numpy())
    if "monetary_value" in reference:
        assert summary.monetary_value is not None
        # lifetimes sums each period then averages the sums; summarize sums the repeat rows
        # at once: the same number up to the order of the floating-point additions.
        np.testing.assert_allclose(
            summary.monetary_value, reference["monetary_value"].to_numpy(), rtol=1e-12, atol=0
        )
    else:
        assert summary.monetary_value is None


def _period_start_date(moment: np.datetime64, period: str) -> dt.date:
    """The first day of the day, Monday week or month holding ``moment``, by the calendar."""
    day = moment.astype("datetime64[D]").item()
    if period == "W":
        return day - dt.timedelta(days=day.weekday())
    if period == "M":
        return day.replace(day=1)
    return day


def _python_summary(
    ids: np.ndarray,
    timestamps: np.ndarray,
    amount: np.ndarray | None,
    *,
    period: str,
    unit: str,
    observation_end: np.datetime64 | None = None,
) -> dict[Any, tuple[int, float, float, float | None]]:
    """An independent summary in plain Python: customer -> (x, t_x, T, monetary value)."""

    def start(moment: np.datetime64) -> dt.date:
        return _period_start_date(moment, period)

    end = start(observation_end if observation_end is not None else timestamps.max())
    spend: dict[Any, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for i, (customer, moment) in enumerate(zip(ids.tolist(), timestamps, strict=True)):
        if start(moment) <= end:
            spend[customer][start(moment)] += 0.0 if amount is None else float(amount[i])
    days = 7 if unit == "W" else 1
    out = {}
    for customer, by_period in spend.items():
        periods = sorted(by_period)
        repeat = [by_period[p] for p in periods[1:]]
        money = None if amount is None else (sum(repeat) / len(repeat) if repeat else 0.0)
        out[customer] = (
            len(periods) - 1,
            (periods[-1] - periods[0]).days / days,
            (end - periods[0]).days / days,
            money,
        )
    return out


# --- CDNOW ---


def test_cdnow_calibration_table(cdnow: rk.Transactions) -> None:
    """The calibration data of Fader, Hardie & Lee (2005) rebuilt from the raw log."""
    summary = rk.summarize(cdnow, period="D", unit="W", observation_end="1997-09-30")
    assert summary.unit == "W"
    assert summary.n_customers == 2357
    assert int(summary.frequency.sum()) == 2457
    assert int((summary.frequency == 0).sum()) == 1411
    assert int(summary.frequency.max()) == 29
    assert summary.customer_id is not None
    np.testing.assert_array_equal(summary.customer_id, np.arange(1, 2358))
    # Customer 1: purchases on 1997-01-01, 01-18 and 08-02; observed to 1997-09-30.
    assert summary.frequency[0] == 2
    assert summary.recency[0] == 213 / 7
    assert summary.T[0] == 272 / 7
    assert round(summary.recency[0], 2) == 30.43
    assert round(summary.T[0], 2) == 38.86
    # Every first purchase is in the first quarter of 1997 (the cohort), so T >= 183 days.
    assert summary.T.min() >= (272 - 89) / 7
    assert summary.T.max() == 272 / 7
    assert summary.monetary_value is not None
    assert summary.monetary_value[0] == pytest.approx((29.73 + 14.96) / 2)


def test_cdnow_equals_lifetimes_shipped_summary(cdnow: rk.Transactions) -> None:
    """lifetimes' cdnow_customers_summary.csv is this table with t_x and T to 2 decimals."""
    pytest.importorskip("lifetimes")
    from lifetimes.datasets import load_cdnow_summary

    shipped = load_cdnow_summary(index_col=[0])
    summary = rk.summarize(cdnow, period="D", unit="W", observation_end="1997-09-30")
    np.testing.assert_array_equal(shipped.index.to_numpy(), summary.customer_id)
    np.testing.assert_array_equal(shipped["frequency"].to_numpy(), summary.frequency)
    np.testing.assert_array_equal(shipped["recency"].to_numpy(), np.round(summary.recency, 2))
    np.testing.assert_array_equal(shipped["T"].to_numpy(), np.round(summary.T, 2))
    # The rounding leaves no row with recency > T in the shipped file.
    assert not (shipped["recency"] > shipped["T"]).any()


def test_cdnow_holdout(cdnow: rk.Transactions) -> None:
    """Holdout weeks 40 to 78: 1,882 repeat purchases by the same 2,357 customers."""
    data = rk.calibration_holdout(
        cdnow, calibration_end="1997-09-30", observation_end="1998-06-30", period="D", unit="W"
    )
    assert data.calibration == rk.summarize(
        cdnow, period="D", unit="W", observation_end="1997-09-30"
    )
    assert int(data.holdout_frequency.sum()) == 1882
    assert data.holdout_duration == 273 / 7 == 39.0
    assert data.unit == "W"
    assert len(data) == 2357
    # Customer 1 bought once more, on 1997-12-12, for $26.48.
    assert data.holdout_frequency[0] == 1
    assert data.holdout_monetary_value is not None
    assert data.holdout_monetary_value[0] == pytest.approx(26.48)


@pytest.mark.parametrize(("period", "unit", "freq", "multiplier"), LIFETIMES_OPTIONS)
@pytest.mark.parametrize("observation_end", [None, "1997-09-30", "1998-01-03"])
def test_cdnow_matches_lifetimes(
    cdnow: rk.Transactions,
    period: str,
    unit: str | None,
    freq: str,
    multiplier: int,
    observation_end: str | None,
) -> None:
    frame = _frame(cdnow.customer_id, cdnow.timestamp, cdnow.amount)
    reference = _lifetimes_summary(
        frame, freq=freq, multiplier=multiplier, observation_end=observation_end
    )
    summary = rk.summarize(cdnow, period=period, unit=unit, observation_end=observation_end)  # type: ignore[arg-type]
    _assert_matches_lifetimes(summary, reference)


@pytest.mark.parametrize(("period", "unit", "freq", "multiplier"), LIFETIMES_OPTIONS)
def test_cdnow_calibration_holdout_matches_lifetimes(
    cdnow: rk.Transactions, period: str, unit: str | None, freq: str, multiplier: int
) -> None:
    utils = pytest.importorskip("lifetimes.utils")
    frame = _frame(cdnow.customer_id, cdnow.timestamp, cdnow.amount)
    reference = utils.calibration_and_holdout_data(
        frame,
        "customer_id",
        "timestamp",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq=freq,
        freq_multiplier=multiplier,
    )
    data = rk.calibration_holdout(
        cdnow,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        period=period,  # type: ignore[arg-type]
        unit=unit,  # type: ignore[arg-type]
    )
    reference = reference.loc[data.calibration.customer_id]
    np.testing.assert_array_equal(data.calibration.frequency, reference["frequency_cal"])
    np.testing.assert_array_equal(data.calibration.recency, reference["recency_cal"])
    np.testing.assert_array_equal(data.calibration.T, reference["T_cal"])
    np.testing.assert_array_equal(data.holdout_frequency, reference["frequency_holdout"])
    assert data.holdout_duration == reference["duration_holdout"].iloc[0]


def test_cdnow_as_frames(cdnow: rk.Transactions) -> None:
    frame = _frame(cdnow.customer_id, cdnow.timestamp, cdnow.amount)
    expected = rk.summarize(cdnow, period="W")
    assert rk.summarize(frame, period="W", amount="amount") == expected
    pl = pytest.importorskip("polars")
    assert rk.summarize(pl.from_pandas(frame), period="W", amount="amount") == expected
    # A lazy frame is summarized by its engine, which adds up the spend in its own order.
    lazy = rk.summarize(pl.from_pandas(frame).lazy(), period="W", amount="amount")
    for name in ("customer_id", "frequency", "recency", "T"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(expected, name))
    np.testing.assert_allclose(lazy.monetary_value, expected.monetary_value, rtol=1e-12)
    renamed = frame.rename(columns={"customer_id": "who", "timestamp": "when"})
    no_amounts = rk.summarize(renamed, period="W", customer_id="who", timestamp="when")
    assert no_amounts.monetary_value is None
    assert no_amounts.frequency.tolist() == expected.frequency.tolist()
    data = rk.calibration_holdout(
        frame, calibration_end="1997-09-30", observation_end="1998-06-30", amount="amount"
    )
    assert data == rk.calibration_holdout(
        cdnow, calibration_end="1997-09-30", observation_end="1998-06-30"
    )


# --- hypothesis: lifetimes and an independent reference ---


@st.composite
def logs_and_ends(
    draw: st.DrawFn, *, with_amount: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.datetime64 | None]:
    """A log with times of day, and None or a moment from before its start to after its end."""
    ids, timestamps, amount = draw(
        transaction_arrays(max_days=120, with_amount=with_amount, same_day_times=True)
    )
    end = None
    if draw(st.booleans()):
        end = timestamps.min() + draw(st.integers(-3 * 86_400, 130 * 86_400)) * SECOND
    return ids, timestamps, amount, end


def _first_period_after(end: np.datetime64 | None, timestamps: np.ndarray, period: str) -> bool:
    """True when ``end`` falls in a period before that of the first purchase."""
    if end is None:
        return False
    return bool(period_index(np.array([end]), period)[0] < period_index(timestamps, period).min())  # type: ignore[arg-type]


@pytest.mark.parametrize(("period", "unit", "freq", "multiplier"), LIFETIMES_OPTIONS)
@settings(max_examples=40)
@given(log=logs_and_ends(), with_amount=st.booleans())
def test_matches_lifetimes(
    period: str,
    unit: str | None,
    freq: str,
    multiplier: int,
    log: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.datetime64 | None],
    with_amount: bool,
) -> None:
    ids, timestamps, amount, end = log
    amount = amount if with_amount else None
    assume(not _first_period_after(end, timestamps, period))
    frame = _frame(ids, timestamps, amount)
    reference = _lifetimes_summary(
        frame,
        freq=freq,
        multiplier=multiplier,
        observation_end=None if end is None else pd.Timestamp(end),
    )
    tx = rk.Transactions(ids, timestamps, amount)
    summary = rk.summarize(tx, period=period, unit=unit, observation_end=end)  # type: ignore[arg-type]
    _assert_matches_lifetimes(summary, reference)


@pytest.mark.parametrize("period", ["D", "W", "M"])
@pytest.mark.parametrize("unit", ["D", "W"])
@given(log=logs_and_ends())
def test_matches_python_reference(
    period: str,
    unit: str,
    log: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.datetime64 | None],
) -> None:
    ids, timestamps, amount, end = log
    assume(not _first_period_after(end, timestamps, period))
    summary = rk.summarize(
        rk.Transactions(ids, timestamps, amount),
        period=period,  # type: ignore[arg-type]
        unit=unit,  # type: ignore[arg-type]
        observation_end=end,
    )
    expected = _python_summary(
        ids, timestamps, amount, period=period, unit=unit, observation_end=end
    )
    assert summary.customer_id is not None
    assert summary.customer_id.tolist() == sorted(expected)
    assert summary.monetary_value is not None
    for i, customer in enumerate(summary.customer_id.tolist()):
        x, t_x, T, money = expected[customer]
        assert (summary.frequency[i], summary.recency[i], summary.T[i]) == (x, t_x, T)
        assert summary.monetary_value[i] == pytest.approx(money, rel=1e-12, abs=1e-300)


@st.composite
def calibration_logs(
    draw: st.DrawFn, period: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.datetime64, np.datetime64]:
    """A log, a calibration end before its last purchase, an observation end in a later period."""
    ids, timestamps, amount = draw(transaction_arrays(max_days=120, same_day_times=True))
    assert amount is not None
    span = int((timestamps.max() - timestamps.min()) / SECOND)
    calibration = timestamps.min() + draw(st.integers(0, max(span - 1, 0))) * SECOND
    if draw(st.booleans()):  # to the end of the log, or a little beyond
        observation = timestamps.max() + draw(st.integers(0, 5 * 86_400)) * SECOND
    else:
        observation = calibration + draw(st.integers(1, 125 * 86_400)) * SECOND
    next_period = period_index(np.array([calibration]), period) + 1  # type: ignore[arg-type]
    next_start = period_start(next_period, period)[0].astype("datetime64[s]")  # type: ignore[arg-type]
    observation = max(observation, next_start + draw(st.integers(0, 86_399)) * SECOND)
    return ids, timestamps, amount, calibration, observation


@pytest.mark.parametrize(("period", "unit", "freq", "multiplier"), LIFETIMES_OPTIONS)
@settings(max_examples=40)
@given(data=st.data())
def test_calibration_holdout_matches_lifetimes(
    period: str, unit: str | None, freq: str, multiplier: int, data: st.DataObject
) -> None:
    log = data.draw(calibration_logs(period))
    ids, timestamps, amount, calibration_end, observation_end = log
    in_holdout = (timestamps > calibration_end) & (timestamps <= observation_end)
    data = rk.calibration_holdout(
        rk.Transactions(ids, timestamps, amount),
        calibration_end=calibration_end,
        observation_end=observation_end,
        period=period,  # type: ignore[arg-type]
        unit=unit,  # type: ignore[arg-type]
    )
    calibration = data.calibration
    assert calibration.customer_id is not None
    if not in_holdout.any():  # lifetimes refuses an empty holdout; here it is all zeros
        event("empty holdout")
        assert not data.holdout_frequency.any()
        return
    utils = pytest.importorskip("lifetimes.utils")
    reference = utils.calibration_and_holdout_data(
        _frame(ids, timestamps, amount),
        "customer_id",
        "timestamp",
        calibration_period_end=pd.Timestamp(calibration_end),
        observation_period_end=pd.Timestamp(observation_end),
        freq=freq,
        freq_multiplier=multiplier,
        monetary_value_col="amount",
    )
    assert sorted(reference.index.tolist()) == calibration.customer_id.tolist()
    reference = reference.loc[calibration.customer_id]
    np.testing.assert_array_equal(calibration.frequency, reference["frequency_cal"])
    np.testing.assert_array_equal(calibration.recency, reference["recency_cal"])
    np.testing.assert_array_equal(calibration.T, reference["T_cal"])
    np.testing.assert_allclose(
        calibration.monetary_value,  # type: ignore[arg-type]
        reference["monetary_value_cal"],
        rtol=1e-12,
        atol=0,
    )
    np.testing.assert_array_equal(data.holdout_frequency, reference["frequency_holdout"])
    assert data.holdout_duration == reference["duration_holdout"].iloc[0]
    # lifetimes averages the holdout rows; here the holdout periods (amounts summed per
    # period), so they agree for the customers with at most one holdout row per period.
    holdout = rk.Transactions(ids[in_holdout], timestamps[in_holdout])
    rows = np.bincount(holdout.customer_index()[1], minlength=holdout.n_customers)
    periods = rk.summarize(holdout, period=period).frequency + 1  # type: ignore[arg-type]
    single = np.isin(calibration.customer_id, holdout.customer_index()[0][rows == periods])
    assert data.holdout_monetary_value is not None
    np.testing.assert_allclose(
        data.holdout_monetary_value[single],
        reference["monetary_value_holdout"].to_numpy()[single],
        rtol=1e-12,
        atol=0,
    )


@pytest.mark.parametrize("period", ["D", "W", "M"])
@settings(max_examples=40)
@given(data=st.data())
def test_holdout_matches_python_reference(period: str, data: st.DataObject) -> None:
    ids, timestamps, amount, calibration_end, observation_end = data.draw(calibration_logs(period))
    data = rk.calibration_holdout(
        rk.Transactions(ids, timestamps, amount),
        calibration_end=calibration_end,
        observation_end=observation_end,
        period=period,  # type: ignore[arg-type]
        unit="D",
    )
    in_calibration = timestamps <= calibration_end
    expected = _python_summary(
        ids[in_calibration],
        timestamps[in_calibration],
        amount[in_calibration],
        period=period,
        unit="D",
        observation_end=calibration_end,
    )
    assert data.calibration.customer_id is not None
    assert data.calibration.customer_id.tolist() == sorted(expected)
    in_holdout = ~in_calibration & (timestamps <= observation_end)
    holdout = _python_summary(
        ids[in_holdout],
        timestamps[in_holdout],
        amount[in_holdout],
        period=period,
        unit="D",
        observation_end=observation_end,
    )
    assert data.holdout_monetary_value is not None
    for i, customer in enumerate(data.calibration.customer_id.tolist()):
        x, _, _, _ = holdout.get(customer, (-1, 0.0, 0.0, 0.0))
        assert data.holdout_frequency[i] == x + 1
        # The mean over all holdout periods: the first holdout period counts too.
        total = float(amount[in_holdout & (ids == customer)].sum())
        mean = total / (x + 1) if x >= 0 else 0.0
        assert data.holdout_monetary_value[i] == pytest.approx(mean, rel=1e-12, abs=1e-300)
    length = _period_start_date(observation_end, period) - _period_start_date(
        calibration_end, period
    )
    assert data.holdout_duration == length.days


# --- properties ---


@pytest.mark.parametrize("period", ["D", "W", "M"])
@given(log=transaction_arrays(max_days=200), data=st.data())
def test_row_order_does_not_matter(
    period: str, log: tuple[np.ndarray, np.ndarray, np.ndarray | None], data: st.DataObject
) -> None:
    ids, timestamps, amount = log
    assert amount is not None
    order = np.array(data.draw(st.permutations(range(ids.size))), dtype=np.intp)
    before = rk.summarize(rk.Transactions(ids, timestamps, amount), period=period)  # type: ignore[arg-type]
    after = rk.summarize(
        rk.Transactions(ids[order], timestamps[order], amount[order]),
        period=period,  # type: ignore[arg-type]
    )
    for name in ("customer_id", "frequency", "recency", "T"):
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))
    np.testing.assert_allclose(
        before.monetary_value, after.monetary_value, rtol=1e-12, atol=1e-300
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("period", ["D", "W", "M"])
@given(log=transaction_arrays(max_days=200, with_amount=False), data=st.data())
def test_bounds(
    period: str, log: tuple[np.ndarray, np.ndarray, np.ndarray | None], data: st.DataObject
) -> None:
    ids, timestamps, _ = log
    summary = rk.summarize(rk.Transactions(ids, timestamps), period=period)  # type: ignore[arg-type]
    assert summary.customer_id is not None
    days = timestamps.astype("datetime64[D]")
    distinct_days = np.array([np.unique(days[ids == c]).size for c in summary.customer_id])
    if period == "D":
        np.testing.assert_array_equal(summary.frequency, distinct_days - 1)
    else:
        assert (summary.frequency <= distinct_days - 1).all()
    assert (summary.recency >= 0).all()
    assert (summary.recency <= summary.T).all()
    assert ((summary.recency == 0) == (summary.frequency == 0)).all()
    # The customer(s) who bought last are observed for exactly their recency.
    assert (summary.recency == summary.T).any()


@pytest.mark.parametrize("period", ["D", "W", "M"])
@given(log=transaction_arrays(max_days=200), data=st.data())
def test_same_period_duplicates_change_nothing_but_spend(
    period: str, log: tuple[np.ndarray, np.ndarray, np.ndarray | None], data: st.DataObject
) -> None:
    ids, timestamps, amount = log
    assert amount is not None
    picked = np.array(
        data.draw(st.lists(st.integers(0, ids.size - 1), min_size=1, max_size=20)), dtype=np.intp
    )
    # Copies of some rows at another second of the same day (so of the same period).
    day_start = timestamps[picked].astype("datetime64[D]").astype(timestamps.dtype)
    seconds = np.array(
        data.draw(st.lists(st.integers(0, 86_399), min_size=picked.size, max_size=picked.size))
    )
    copies = day_start + seconds * SECOND
    tx = rk.Transactions(ids, timestamps, amount)
    doubled = rk.Transactions(
        np.concatenate([ids, ids[picked]]),
        np.concatenate([timestamps, copies]),
        np.concatenate([amount, amount[picked]]),
    )
    before = rk.summarize(tx, period=period)  # type: ignore[arg-type]
    after = rk.summarize(doubled, period=period)  # type: ignore[arg-type]
    for name in ("customer_id", "frequency", "recency", "T"):
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))
    assert after.monetary_value is not None
    assert before.monetary_value is not None
    assert (after.monetary_value >= before.monetary_value * (1 - 1e-12)).all()


@pytest.mark.parametrize("period", ["D", "W", "M"])
@given(log=logs_and_ends(with_amount=False))
def test_weeks_are_days_over_seven(
    period: str, log: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.datetime64 | None]
) -> None:
    ids, timestamps, _, end = log
    assume(not _first_period_after(end, timestamps, period))
    tx = rk.Transactions(ids, timestamps)
    in_days = rk.summarize(tx, period=period, unit="D", observation_end=end)  # type: ignore[arg-type]
    in_weeks = rk.summarize(tx, period=period, unit="W", observation_end=end)  # type: ignore[arg-type]
    assert in_weeks.unit == "W"
    np.testing.assert_array_equal(in_weeks.frequency, in_days.frequency)
    np.testing.assert_array_equal(in_weeks.recency, in_days.recency / 7)
    np.testing.assert_array_equal(in_weeks.T, in_days.T / 7)
    if period == "W":
        np.testing.assert_array_equal(in_weeks.T, np.round(in_weeks.T))
        assert rk.summarize(tx, period="W", observation_end=end) == in_weeks


@given(log=transaction_arrays(max_days=200))
def test_observation_end_drops_later_rows_and_customers(
    log: tuple[np.ndarray, np.ndarray, np.ndarray | None],
) -> None:
    ids, timestamps, amount = log
    tx = rk.Transactions(ids, timestamps, amount)
    middle = timestamps.min() + (timestamps.max() - timestamps.min()) // 2
    end_of_day = middle.astype("datetime64[D]") + DAY - SECOND
    kept = timestamps <= end_of_day
    cut = rk.summarize(tx, observation_end=middle)
    alone = rk.summarize(rk.Transactions(ids[kept], timestamps[kept], amount[kept]))  # type: ignore[index]
    for name in ("customer_id", "frequency", "recency"):
        np.testing.assert_array_equal(getattr(cut, name), getattr(alone, name))
    np.testing.assert_allclose(cut.monetary_value, alone.monetary_value, rtol=1e-12, atol=1e-300)  # type: ignore[arg-type]
    # T runs to the observation day, whatever the last kept purchase.
    shift = (middle.astype("datetime64[D]") - timestamps[kept].max().astype("datetime64[D]")) / DAY
    np.testing.assert_array_equal(cut.T, alone.T + shift)


# --- examples and edges ---


def test_small_log_by_hand() -> None:
    # Monday 2024-01-01 ... : a buys twice on day 0 and on days 2 and 9, b on day 3 only,
    # c on day 12 only (after the observation end of day 10 below).
    tx = rk.Transactions(
        customer_id=["a", "a", "a", "b", "a", "c"],
        timestamp=np.array(
            [
                "2024-01-01T08:00",
                "2024-01-01T20:00",
                "2024-01-03T10:00",
                "2024-01-04T12:00",
                "2024-01-10T23:59",
                "2024-01-13T09:00",
            ],
            dtype="datetime64[m]",
        ),
        amount=[5.0, 10.0, 3.0, 7.0, 9.0, 1.0],
    )
    days = rk.summarize(tx, observation_end="2024-01-11")
    assert days.customer_id is not None
    assert days.customer_id.tolist() == ["a", "b"]
    assert days.frequency.tolist() == [2.0, 0.0]
    assert days.recency.tolist() == [9.0, 0.0]
    assert days.T.tolist() == [10.0, 7.0]
    assert days.monetary_value is not None
    assert days.monetary_value.tolist() == [6.0, 0.0]
    weeks = rk.summarize(tx, period="W")
    assert weeks.customer_id is not None
    assert weeks.customer_id.tolist() == ["a", "b", "c"]
    assert weeks.frequency.tolist() == [1.0, 0.0, 0.0]
    assert weeks.recency.tolist() == [1.0, 0.0, 0.0]
    assert weeks.T.tolist() == [1.0, 1.0, 0.0]
    assert weeks.monetary_value is not None
    assert weeks.monetary_value.tolist() == [9.0, 0.0, 0.0]
    months = rk.summarize(tx, period="M", observation_end="2024-03-15")
    assert months.unit == "D"
    assert months.frequency.tolist() == [0.0, 0.0, 0.0]
    assert months.T.tolist() == [60.0, 60.0, 60.0]  # 2024-01-01 to 2024-03-01
    months_in_weeks = rk.summarize(tx, period="M", unit="W", observation_end="2024-03-15")
    assert months_in_weeks.T.tolist() == [60 / 7] * 3


def test_months_are_counted_between_month_starts() -> None:
    tx = rk.Transactions([1, 1, 1, 2], ["2023-01-31", "2023-02-01", "2023-03-15", "2023-02-28"])
    summary = rk.summarize(tx, period="M", observation_end="2024-02-29")
    assert summary.frequency.tolist() == [2.0, 0.0]
    assert summary.recency.tolist() == [31.0 + 28.0, 0.0]
    assert summary.T.tolist() == [396.0, 365.0]


def test_calibration_boundaries_compare_timestamps() -> None:
    # As in lifetimes: a purchase at 10:00 on the calibration day is after its midnight,
    # so it belongs to the holdout window; the end of the day keeps it in calibration.
    tx = rk.Transactions(
        [1, 1, 1, 2],
        np.array(
            ["2024-01-01T09:00", "2024-01-05T10:00", "2024-01-09T12:00", "2024-01-08T00:00"],
            dtype="datetime64[m]",
        ),
        [1.0, 2.0, 4.0, 8.0],
    )
    midnight = rk.calibration_holdout(
        tx, calibration_end="2024-01-05", observation_end="2024-01-09"
    )
    assert midnight.calibration.customer_id is not None
    assert midnight.calibration.customer_id.tolist() == [1]
    assert midnight.calibration.frequency.tolist() == [0.0]
    assert midnight.calibration.T.tolist() == [4.0]
    assert midnight.holdout_frequency.tolist() == [1.0]
    assert midnight.holdout_monetary_value is not None
    assert midnight.holdout_monetary_value.tolist() == [2.0]
    assert midnight.holdout_duration == 4.0
    evening = rk.calibration_holdout(
        tx, calibration_end="2024-01-05T23:59:59", observation_end="2024-01-09T23:59:59"
    )
    assert evening.calibration.frequency.tolist() == [1.0]
    assert evening.holdout_frequency.tolist() == [1.0]
    assert evening.holdout_monetary_value is not None
    assert evening.holdout_monetary_value.tolist() == [4.0]
    default_end = rk.calibration_holdout(tx, calibration_end="2024-01-05T23:59:59")
    assert default_end == evening


def test_holdout_spend_is_per_period() -> None:
    tx = rk.Transactions(
        [1, 1, 1, 1],
        ["2024-01-01", "2024-01-10", "2024-01-10", "2024-01-12"],
        [1.0, 2.0, 4.0, 6.0],
    )
    data = rk.calibration_holdout(tx, calibration_end="2024-01-05", observation_end="2024-01-31")
    assert data.holdout_frequency.tolist() == [2.0]
    assert data.holdout_monetary_value is not None
    assert data.holdout_monetary_value.tolist() == [6.0]  # (2 + 4 + 6) / 2 periods
    assert data.holdout_duration == 26.0


def test_string_ids_and_callers_arrays_untouched() -> None:
    ids = np.array(["x", "y", "x", "z"])
    timestamps = np.array(
        ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03"], "datetime64[D]"
    )
    amount = np.array([1.0, 2.0, 3.0, 4.0])
    copies = [ids.copy(), timestamps.copy(), amount.copy()]
    tx = rk.Transactions(ids, timestamps, amount)
    summary = rk.summarize(tx, observation_end="2024-01-04")
    rk.calibration_holdout(tx, calibration_end="2024-01-02")
    assert summary.customer_id is not None
    assert summary.customer_id.tolist() == ["x", "y", "z"]
    assert summary.frequency.tolist() == [0.0, 0.0, 0.0]
    for array, copy in zip((ids, timestamps, amount), copies, strict=True):
        np.testing.assert_array_equal(array, copy)
        assert array.flags.writeable
    np.testing.assert_array_equal(tx.customer_index()[1], [0, 1, 0, 2])
    for name in ("frequency", "recency", "T", "monetary_value", "customer_id"):
        assert not getattr(summary, name).flags.writeable


def test_wide_keys() -> None:
    # 100,000 customers over 90 years: customer x day keys need 64 bits.
    n = 100_000
    ids = np.repeat(np.arange(n), 2)
    first = np.datetime64("1900-01-01") + (np.arange(n) % 7).astype("timedelta64[D]")
    timestamps = np.empty(2 * n, dtype="datetime64[D]")
    timestamps[0::2] = first
    timestamps[1::2] = np.datetime64("1990-01-01")
    summary = rk.summarize(rk.Transactions(ids, timestamps), unit="W")
    assert summary.n_customers == n
    assert (summary.frequency == 1).all()
    expected = (np.datetime64("1990-01-01") - first) / np.timedelta64(7, "D")
    np.testing.assert_array_equal(summary.recency, expected)
    np.testing.assert_array_equal(summary.T, expected)


def test_absurd_span_is_refused() -> None:
    n = 50_000
    timestamps = np.full(n, np.datetime64(9 * 10**18, "s"))
    timestamps[0] = np.datetime64(-9 * 10**18, "s")
    with pytest.raises(rk.InvalidDataError, match="`timestamp` must span fewer periods") as caught:
        rk.summarize(rk.Transactions(np.arange(n), timestamps))
    assert caught.value.field == "timestamp"


# --- bad input ---


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"period": "Q"}, "period", "'period' parameter must be one of"),
        ({"period": "d"}, "period", "'period' parameter must be one of"),
        ({"unit": "M"}, "unit", "'unit' parameter of summarize must be 'D'"),
        ({"observation_end": "1996-12-31"}, "observation_end", "must not be before the day"),
        ({"period": "W", "observation_end": "1996-12-29"}, "observation_end", "the week"),
        ({"observation_end": "not a date"}, "observation_end", "ISO 8601"),
        ({"observation_end": np.datetime64("NaT")}, "observation_end", "NaT"),
    ],
)
def test_summarize_refuses_bad_arguments(
    cdnow: rk.Transactions, kwargs: dict[str, Any], field: str, match: str
) -> None:
    with pytest.raises(rk.InvalidDataError, match=match) as caught:
        rk.summarize(cdnow, **kwargs)
    assert caught.value.field == field


def test_summarize_allows_observation_end_in_the_first_week(cdnow: rk.Transactions) -> None:
    # 1997-01-01 was a Wednesday: Monday 1996-12-30 is in the week of the first purchase.
    summary = rk.summarize(cdnow, period="W", observation_end="1996-12-30")
    assert summary.customer_id is not None
    assert (summary.T == 0).all()
    assert (
        summary.n_customers
        == np.unique(cdnow.customer_id[cdnow.timestamp < np.datetime64("1997-01-06")]).size
    )


def test_summarize_refuses_bad_frames() -> None:
    frame = pd.DataFrame({"customer_id": [1, 2], "timestamp": ["2024-01-01", None]})
    with pytest.raises(rk.InvalidDataError, match="must not be missing"):
        rk.summarize(frame)
    with pytest.raises(rk.InvalidDataError, match="'spend' is not in the frame"):
        rk.summarize(frame, amount="spend")
    with pytest.raises(rk.InvalidDataError, match="must be a dataframe"):
        rk.summarize([1, 2, 3])


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        (
            {"calibration_end": "1997-09-30", "observation_end": "1997-09-30"},
            "calibration_end",
            "must be before 'observation_end'",
        ),
        (
            {"calibration_end": "1998-01-01", "observation_end": "1997-09-30"},
            "calibration_end",
            "must be before 'observation_end'",
        ),
        (
            {"calibration_end": "1998-06-30"},
            "calibration_end",
            "must be before 'observation_end'",
        ),
        (
            {"calibration_end": "1997-09-30", "observation_end": "1997-09-30T12:00"},
            "observation_end",
            "later day",
        ),
        (
            {"calibration_end": "1997-09-30", "observation_end": "1997-10-02", "period": "W"},
            "observation_end",
            "later week",
        ),
        (
            {"calibration_end": "1996-12-31", "observation_end": "1997-09-30"},
            "calibration_end",
            "must not be before the first purchase",
        ),
        (
            {"calibration_end": "1997-09-30", "period": "Y"},
            "period",
            "'period' parameter",
        ),
        (
            {"calibration_end": "1997-09-30", "unit": "Y"},
            "unit",
            "'unit' parameter of calibration_holdout",
        ),
        ({"calibration_end": "soon"}, "calibration_end", "ISO 8601"),
    ],
)
def test_calibration_holdout_refuses_bad_arguments(
    cdnow: rk.Transactions, kwargs: dict[str, Any], field: str, match: str
) -> None:
    with pytest.raises(rk.InvalidDataError, match=match) as caught:
        rk.calibration_holdout(cdnow, **kwargs)
    assert caught.value.field == field


# --- CalibrationHoldout ---


def _calibration() -> rk.CustomerSummary:
    return rk.CustomerSummary(
        [2, 0, 1], [3.0, 0.0, 1.0], [5.0, 5.0, 2.0], [4.0, 0.0, 1.5], ["a", "b", "c"], unit="W"
    )


def test_calibration_holdout_class() -> None:
    frequency = np.array([1.0, 0.0, 4.0])
    money = np.array([2.0, 0.0, 3.0])
    data = rk.CalibrationHoldout(_calibration(), frequency, 39, money)
    assert data.holdout_duration == 39.0
    assert isinstance(data.holdout_duration, float)
    assert len(data) == 3
    assert data.unit == "W"
    for values in (data.holdout_frequency, data.holdout_monetary_value):
        assert values is not None
        assert not values.flags.writeable
    assert frequency.flags.writeable
    assert data == rk.CalibrationHoldout(_calibration(), [1, 0, 4], 39.0, [2.0, 0.0, 3.0])
    assert data != rk.CalibrationHoldout(_calibration(), [1, 0, 4], 39.0)
    assert data != rk.CalibrationHoldout(_calibration(), [1, 0, 4], 40.0, money)
    assert data != rk.CalibrationHoldout(_calibration(), [1, 0, 3], 39.0, money)
    assert data.__eq__(1) is NotImplemented
    with pytest.raises(TypeError, match="unhashable"):
        hash(data)
    with pytest.raises(AttributeError):
        data.holdout_duration = 2.0  # type: ignore[misc]


def test_calibration_holdout_to_frame() -> None:
    data = rk.CalibrationHoldout(_calibration(), [1, 0, 4], 39.0, [2.0, 0.0, 3.0])
    frame = data.to_frame("pandas")
    assert frame.columns.tolist() == [
        "customer_id",
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    assert frame["frequency_holdout"].tolist() == [1, 0, 4]
    assert frame["duration_holdout"].tolist() == [39.0] * 3
    pl = pytest.importorskip("polars")
    weighted = rk.CalibrationHoldout(_calibration().compress(), [1, 0, 4], 39.0)
    table = weighted.to_frame("polars")
    assert isinstance(table, pl.DataFrame)
    assert table.columns == [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "duration_holdout",
        "weight",
    ]


@pytest.mark.parametrize(
    ("args", "field", "match"),
    [
        (([1, 0], 39.0), "holdout_frequency", "same length"),
        (([1, -1, 0], 39.0), "holdout_frequency", "must be a non-negative integer"),
        (([1, 0.5, 0], 39.0), "holdout_frequency", "must be a non-negative integer"),
        (([1, np.nan, 0], 39.0), "holdout_frequency", "must be finite"),
        (([1, 0, 0], 0.0), "holdout_duration", "must be a finite number > 0"),
        (([1, 0, 0], np.inf), "holdout_duration", "must be a finite number > 0"),
        (([1, 0, 0], "39"), "holdout_duration", "must be a finite number > 0"),
        (([1, 0, 0], True), "holdout_duration", "must be a finite number > 0"),
        (([1, 0, 0], 39.0, [1.0, -2.0, 0.0]), "holdout_monetary_value", "must be >= 0"),
        (([1, 0, 0], 39.0, [1.0, 0.0]), "holdout_monetary_value", "same length"),
    ],
)
def test_calibration_holdout_class_rules(args: tuple[Any, ...], field: str, match: str) -> None:
    with pytest.raises(rk.InvalidDataError, match=match) as caught:
        rk.CalibrationHoldout(_calibration(), *args)
    assert caught.value.field == field


def test_calibration_must_be_a_summary() -> None:
    with pytest.raises(rk.InvalidDataError, match="must be a CustomerSummary") as caught:
        rk.CalibrationHoldout({"frequency": [1]}, [1], 39.0)  # type: ignore[arg-type]
    assert caught.value.field == "calibration"
