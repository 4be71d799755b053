"""Validation of the input data classes: every rule, its error and its message."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given

import retention_kit as rk
from tests.strategies import period_counts, transaction_arrays

DAYS = np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
IDS = np.array([1, 2, 1, 3])
AMOUNTS = np.array([10.0, 20.0, 5.0, 7.5])


def raises_invalid(field: str, count: str | None = None, rows: tuple[int, ...] = ()):
    """Context manager checking the error type, the field, the count and the first rows."""

    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(rk.InvalidDataError)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            error = self.info.value
            assert isinstance(error, ValueError)
            assert error.field == field, str(error)
            message = str(error)
            assert f"`{field}`" in message or f"'{field}'" in message, message
            if count is not None:
                assert count in message, message
            if rows:
                assert error.rows == rows, message
                shown = re.findall(r"row (\d+)", message)
                assert tuple(int(r) for r in shown) == rows, message
            return handled

    return _Check()


# --- the log's shape ----------------------------------------------------------------------


def test_empty_log_is_refused():
    with raises_invalid("customer_id"):
        rk.Transactions([], np.array([], dtype="datetime64[s]"))


def test_empty_frame_is_refused():
    frame = pl.DataFrame({"customer_id": [1], "timestamp": [dt.datetime(2024, 1, 1)]}).head(0)
    with raises_invalid("customer_id"):
        rk.Transactions.from_frame(frame)


@pytest.mark.parametrize(
    ("ids", "timestamps", "amounts", "field"),
    [
        (IDS[:3], DAYS, None, "timestamp"),
        (IDS, DAYS[:2], None, "timestamp"),
        (IDS, DAYS, AMOUNTS[:3], "amount"),
    ],
)
def test_mismatched_lengths_name_the_column(ids, timestamps, amounts, field):
    with raises_invalid(field) as info:
        rk.Transactions(ids, timestamps, amounts)
    assert "same length" in str(info.value)


def test_two_dimensional_ids_are_refused():
    with raises_invalid("customer_id"):
        rk.Transactions(IDS.reshape(2, 2), DAYS)


# --- customer ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        np.array([1, None, 2, None], dtype=object),
        np.array([1.0, np.nan, 2.0, np.nan]),
        np.array(["a", pd.NA, "b", pd.NA], dtype=object),
        pd.array([1, pd.NA, 2, pd.NA], dtype="Int64"),
        pd.Series(["a", None, "b", None]),
        pl.Series([1, None, 2, None]),
    ],
    ids=["None", "NaN", "pandas NA", "pandas Int64 NA", "pandas None", "polars null"],
)
def test_missing_customer_ids_are_refused(ids):
    with raises_invalid("customer_id", "2 of 4 rows", rows=(1, 3)) as info:
        rk.Transactions(ids, DAYS)
    assert "must not be missing" in str(info.value)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"customer_id": [1, 2, None, 4], "timestamp": DAYS}),
        pd.DataFrame({"customer_id": ["a", "b", None, "d"], "timestamp": DAYS}),
        pd.DataFrame(
            {"customer_id": pd.array([1, 2, pd.NA, 4], dtype="Int64"), "timestamp": DAYS}
        ),
        pl.DataFrame({"customer_id": [1, 2, None, 4], "timestamp": DAYS}),
        pl.DataFrame({"customer_id": [1.0, 2.0, float("nan"), 4.0], "timestamp": DAYS}),
        pa.table({"customer_id": [1, 2, None, 4], "timestamp": DAYS}),
    ],
    ids=["pandas NaN", "pandas None", "pandas NA", "polars null", "polars NaN", "pyarrow"],
)
def test_missing_customer_ids_in_frames_are_refused(frame):
    with raises_invalid("customer_id", "1 of 4 rows", rows=(2,)):
        rk.Transactions.from_frame(frame)


def test_ids_that_do_not_compare_are_refused_at_construction():
    ids = np.array([1, 2, "c", 4], dtype=object)
    with raises_invalid("customer_id", "1 of 4 rows", rows=(2,)) as info:
        rk.Transactions(ids, DAYS)
    assert "int, str" in str(info.value)


# --- timestamps -------------------------------------------------------------------------


def test_nat_timestamps_are_refused():
    stamps = np.array(["2024-01-01", "NaT", "2024-01-03", "NaT"], dtype="datetime64[s]")
    with raises_invalid("timestamp", "2 of 4 rows", rows=(1, 3)) as info:
        rk.Transactions(IDS, stamps)
    assert "timestamp=NaT" in str(info.value)


@pytest.mark.parametrize(
    "make", [pd.DataFrame, pl.DataFrame, pa.table], ids=["pandas", "polars", "pyarrow"]
)
def test_missing_timestamps_in_frames_are_refused(make):
    stamps = [dt.datetime(2024, 1, 1), None, dt.datetime(2024, 1, 3), None]
    frame = make({"customer_id": IDS.tolist(), "timestamp": stamps})
    with raises_invalid("timestamp", "2 of 4 rows", rows=(1, 3)):
        rk.Transactions.from_frame(frame)


def test_mixed_naive_and_aware_timestamps_are_refused():
    aware = dt.datetime(2024, 1, 2, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2024, 1, 1, 5)
    stamps = np.array([naive, aware, naive, naive], dtype=object)
    with raises_invalid("timestamp", "1 of 4 rows", rows=(1,)) as info:
        rk.Transactions(IDS, stamps)
    assert "aware or all naive" in str(info.value)
    frame = pd.DataFrame({"customer_id": IDS, "timestamp": stamps})
    with raises_invalid("timestamp", "1 of 4 rows", rows=(1,)):
        rk.Transactions.from_frame(frame)


def test_aware_timestamps_are_converted_to_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    stamps = [dt.datetime(2024, 1, 1, 0, 30, tzinfo=paris)] * 4
    tx = rk.Transactions(IDS, np.array(stamps, dtype=object))
    assert tx.timestamp[0] == np.datetime64("2023-12-31T23:30")
    series = pd.Series(pd.to_datetime(["2024-01-01 00:30"] * 4)).dt.tz_localize("Europe/Paris")
    frames = [
        pd.DataFrame({"customer_id": IDS, "timestamp": series}),
        pl.DataFrame({"customer_id": IDS, "timestamp": series}),
        pa.Table.from_pandas(pd.DataFrame({"customer_id": IDS, "timestamp": series})),
    ]
    for frame in frames:
        got = rk.Transactions.from_frame(frame).timestamp
        assert got.dtype.kind == "M"
        assert (got == np.datetime64("2023-12-31T23:30")).all(), type(frame)
    assert rk.Transactions(IDS, series).timestamp[0] == np.datetime64("2023-12-31T23:30")


def test_iso_strings_and_dates_are_parsed():
    tx = rk.Transactions(IDS, ["2024-01-01", "2024-01-02T10:30", "2024-02-01", "2024-03-01"])
    assert tx.timestamp[1] == np.datetime64("2024-01-02T10:30")
    dates = [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]
    assert rk.Transactions(IDS, dates).timestamp[3] == np.datetime64("2024-01-04")


def test_unparseable_strings_are_refused_with_the_hint():
    with raises_invalid("timestamp") as info:
        rk.Transactions(IDS, ["2024-01-01", "01/02/2024", "2024-02-01", "2024-03-01"])
    assert "timestamp_format" in str(info.value)


def test_non_datetime_timestamps_are_refused():
    with raises_invalid("timestamp") as info:
        rk.Transactions(IDS, [1, 2, 3, 4])
    assert "int64" in str(info.value)


@pytest.mark.parametrize("make", [pd.DataFrame, pl.DataFrame, pa.table], ids=["pd", "pl", "pa"])
def test_string_timestamps_are_parsed_with_timestamp_format(make):
    frame = make(
        {
            "customer_id": IDS.tolist(),
            "timestamp": ["01/02/2024", "03/02/2024", "05/02/2024", "29/02/2024"],
        }
    )
    tx = rk.Transactions.from_frame(frame, timestamp_format="%d/%m/%Y")
    expected = np.array(["2024-02-01", "2024-02-03", "2024-02-05", "2024-02-29"], "datetime64[D]")
    assert np.array_equal(tx.timestamp.astype("datetime64[D]"), expected)


def test_timestamp_format_mismatch_is_refused():
    frame = pd.DataFrame(
        {"customer_id": IDS, "timestamp": ["20240101", "2024-01-02", "20240103", "20240104"]}
    )
    with raises_invalid("timestamp") as info:
        rk.Transactions.from_frame(frame, timestamp_format="%Y%m%d")
    assert "'%Y%m%d'" in str(info.value)


def test_day_resolution_is_stored_in_seconds():
    tx = rk.Transactions(IDS, DAYS)
    assert tx.timestamp.dtype == np.dtype("datetime64[s]")
    assert str(tx.start) == "2024-01-01T00:00:00"


# --- amounts ----------------------------------------------------------------------------


def test_nan_amounts_are_refused():
    with raises_invalid("amount", "2 of 4 rows", rows=(0, 2)) as info:
        rk.Transactions(IDS, DAYS, [np.nan, 1.0, np.nan, 2.0])
    assert "amount=nan" in str(info.value)


def test_infinite_amounts_are_refused():
    with raises_invalid("amount", "1 of 4 rows", rows=(3,)):
        rk.Transactions(IDS, DAYS, [1.0, 1.0, 2.0, np.inf])


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"customer_id": IDS, "timestamp": DAYS, "amount": [1.0, np.nan, 2.0, 3.0]}),
        pl.DataFrame({"customer_id": IDS, "timestamp": DAYS, "amount": [1.0, None, 2.0, 3.0]}),
        pl.DataFrame(
            {"customer_id": IDS, "timestamp": DAYS, "amount": [1.0, float("nan"), 2.0, 3.0]}
        ),
        pd.DataFrame(
            {
                "customer_id": IDS,
                "timestamp": DAYS,
                "amount": pd.array([1.0, pd.NA, 2.0, 3.0], dtype="Float64"),
            }
        ),
    ],
    ids=["pandas NaN", "polars null", "polars NaN", "pandas NA"],
)
def test_missing_amounts_in_frames_are_refused(frame):
    with raises_invalid("amount", "1 of 4 rows", rows=(1,)):
        rk.Transactions.from_frame(frame, amount="amount")


@pytest.mark.parametrize(
    "amounts",
    [
        np.array(["1", "x", "2", "3"]),
        np.array([1.0, "x", 2.0, "y"], dtype=object),
    ],
    ids=["strings", "object"],
)
def test_non_numeric_amounts_are_refused(amounts):
    with raises_invalid(
        "amount", rows=(1, 3) if amounts.dtype.kind == "O" else (0, 1, 2, 3)
    ) as info:
        rk.Transactions(IDS, DAYS, amounts)
    assert "must be numeric" in str(info.value)


@pytest.mark.parametrize("make", [pd.DataFrame, pl.DataFrame], ids=["pandas", "polars"])
def test_non_numeric_amount_column_is_refused(make):
    frame = make({"customer_id": IDS, "timestamp": DAYS, "amount": ["1", "x", "2", "3"]})
    with raises_invalid("amount", "4 of 4 rows", rows=(0, 1, 2, 3)):
        rk.Transactions.from_frame(frame, amount="amount")


def test_none_amounts_are_refused():
    with raises_invalid("amount", "1 of 4 rows", rows=(2,)):
        rk.Transactions(IDS, DAYS, np.array([1.0, 2.0, None, 3.0], dtype=object))


def test_negative_amounts_are_refused_with_the_hint():
    with raises_invalid("amount", "2 of 4 rows", rows=(1, 2)) as info:
        rk.Transactions(IDS, DAYS, [1.0, -2.0, -0.5, 3.0])
    assert "negative_amounts='drop'" in str(info.value)


def test_negative_amounts_can_be_dropped_from_all_counts():
    tx = rk.Transactions(IDS, DAYS, [1.0, -2.0, 5.0, 3.0], negative_amounts="drop")
    assert len(tx) == 3
    assert tx.n_customers == 2  # customer 2 only returned something
    assert tx.amount.tolist() == [1.0, 5.0, 3.0]
    assert rk.purchase_frequency(tx) == 1.5
    frame = pd.DataFrame({"customer_id": IDS, "timestamp": DAYS, "amount": [1.0, -2.0, 5.0, 3.0]})
    assert rk.Transactions.from_frame(frame, amount="amount", negative_amounts="drop") == tx


def test_all_negative_amounts_leave_nothing():
    with raises_invalid("amount"):
        rk.Transactions(IDS, DAYS, -AMOUNTS, negative_amounts="drop")


def test_unknown_negative_amounts_option_is_refused_even_without_negatives():
    with raises_invalid("negative_amounts"):
        rk.Transactions(IDS, DAYS, AMOUNTS, negative_amounts="keep")  # type: ignore[arg-type]


# --- frames -----------------------------------------------------------------------------


def test_missing_column_lists_the_columns_found():
    frame = pd.DataFrame({"user": IDS, "timestamp": DAYS})
    with raises_invalid("customer_id") as info:
        rk.Transactions.from_frame(frame)
    assert "['user', 'timestamp']" in str(info.value)


def test_non_frame_is_refused():
    with raises_invalid("frame"):
        rk.Transactions.from_frame({"customer_id": [1], "timestamp": ["2024-01-01"]})


@pytest.mark.parametrize(
    "make",
    [pd.DataFrame, pl.DataFrame, pa.table, lambda d: pl.DataFrame(d).lazy()],
    ids=["pandas", "polars", "pyarrow", "polars lazy"],
)
def test_every_frame_library_gives_the_same_log(make):
    frame = make({"user": IDS.tolist(), "day": DAYS, "spend": AMOUNTS.tolist()})
    tx = rk.Transactions.from_frame(frame, customer_id="user", timestamp="day", amount="spend")
    assert tx == rk.Transactions(IDS, DAYS, AMOUNTS)


def test_caller_frames_are_not_modified():
    frame = pd.DataFrame(
        {
            "customer_id": IDS,
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": AMOUNTS,
        }
    )
    before = frame.copy(deep=True)
    rk.Transactions.from_frame(frame, amount="amount")
    pd.testing.assert_frame_equal(frame, before)
    polars_frame = pl.DataFrame(before)
    polars_before = polars_frame.clone()
    rk.Transactions.from_frame(polars_frame, amount="amount")
    assert polars_frame.equals(polars_before)


# --- immutability -----------------------------------------------------------------------


def test_arrays_are_read_only_and_callers_arrays_untouched():
    ids, stamps, amounts = IDS.copy(), DAYS.astype("datetime64[s]"), AMOUNTS.copy()
    tx = rk.Transactions(ids, stamps, amounts)
    for array in (tx.customer_id, tx.timestamp, tx.amount, *tx.customer_index()):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0] = array[1]
    assert ids.flags.writeable
    assert stamps.flags.writeable
    assert amounts.flags.writeable
    assert np.array_equal(ids, IDS)
    assert np.array_equal(amounts, AMOUNTS)
    with pytest.raises(AttributeError):
        tx.amount = None  # type: ignore[misc]


def test_metrics_leave_the_callers_arrays_untouched():
    ids, stamps = IDS.copy(), DAYS.astype("datetime64[s]")
    tx = rk.Transactions(ids, stamps)
    rk.cohort_retention(tx)
    rk.purchase_cycle(tx)
    rk.retention_series(tx, freq="D", active_window=2)
    rk.period_counts(tx, start="2024-01-02", end="2024-01-04", active_window=2)
    assert np.array_equal(ids, IDS)
    assert np.array_equal(stamps, DAYS.astype("datetime64[s]"))


# --- properties of the log --------------------------------------------------------------


@given(transaction_arrays())
def test_len_customers_start_end(arrays):
    ids, stamps, amounts = arrays
    tx = rk.Transactions(ids, stamps, amounts)
    assert len(tx) == ids.size
    assert tx.n_customers == len(set(ids.tolist()))
    assert tx.start == stamps.min()
    assert tx.end == stamps.max()
    unique, codes = tx.customer_index()
    assert np.array_equal(unique[codes], ids)
    assert np.all(np.diff(unique) > 0)


def test_customer_index_of_sparse_and_string_ids():
    sparse = rk.Transactions([10**12, 5, 10**12, -3], DAYS)
    unique, codes = sparse.customer_index()
    assert unique.tolist() == [-3, 5, 10**12]
    assert codes.tolist() == [2, 1, 2, 0]
    strings = rk.Transactions(["b", "a", "b", "c"], DAYS)
    assert strings.customer_index()[1].tolist() == [1, 0, 1, 2]


# --- PeriodCounts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": -1, "end": 0, "new": 0}, "start"),
        ({"start": 1, "end": -1, "new": 0}, "end"),
        ({"start": 1, "end": 1, "new": -1}, "new"),
        ({"start": 1, "end": 1, "new": 0, "reactivated": -1}, "reactivated"),
        ({"start": 1.5, "end": 1, "new": 0}, "start"),
        ({"start": True, "end": 1, "new": 0}, "start"),
        ({"start": "3", "end": 1, "new": 0}, "start"),
        ({"start": 5, "end": 3, "new": 2, "reactivated": 2}, "new"),
        ({"start": 1, "end": 5, "new": 1, "reactivated": 1}, "end"),
    ],
)
def test_period_counts_rules(kwargs, field):
    with raises_invalid(field):
        rk.PeriodCounts(**kwargs)


def test_period_counts_accepts_integral_floats_and_numpy_ints():
    counts = rk.PeriodCounts(start=np.int64(10), end=8.0, new=np.int32(2))
    assert counts == rk.PeriodCounts(10, 8, 2, 0)
    assert isinstance(counts.end, int)
    assert counts.retained == 6


@given(period_counts())
def test_period_counts_retained_is_within_start(counts):
    assert 0 <= counts.retained <= counts.start


# --- import weight ----------------------------------------------------------------------


def test_import_pulls_in_no_dataframe_or_plotting_library():
    code = (
        "import sys, retention_kit\n"
        "heavy = [m for m in ('pandas', 'polars', 'pyarrow', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
