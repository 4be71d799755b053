"""Calendar period arithmetic and the distinct (customer, period) pairs built on it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retention_kit._activity import distinct_pairs
from retention_kit._periods import period_index, period_start


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns", "D", "h", "m"])
@pytest.mark.parametrize("period", ["D", "W", "M"])
@pytest.mark.parametrize(("low", "high"), [(-100_000, 100_000), (-400, 400), (0, 31)])
def test_period_index_agrees_with_numpy_calendar(unit, period, low, high):
    rng = np.random.default_rng(7)
    days = rng.integers(low, high, 3_000)
    seconds = rng.integers(0, 86_400, days.size).astype("timedelta64[s]")
    stamps = (days.astype("datetime64[D]") + seconds).astype(f"datetime64[{unit}]")
    day_numbers = stamps.astype("datetime64[D]").astype(np.int64)
    expected = {
        "D": day_numbers,
        "W": (day_numbers + 3) // 7,
        "M": stamps.astype("datetime64[M]").astype(np.int64),
    }[period]
    got = period_index(stamps, period)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    # Each timestamp lies in [start of its period, start of the next).
    starts = period_start(got, period)
    assert np.all(starts <= stamps.astype("datetime64[D]"))
    assert np.all(period_start(got + 1, period) > stamps.astype("datetime64[D]"))


def test_period_index_leaves_its_input_alone():
    stamps = np.array(["2024-01-31T23:59:59", "1969-12-31T12:00:00"], dtype="datetime64[s]")
    before = stamps.copy()
    assert period_index(stamps, "M").tolist() == [648, -1]
    assert period_index(stamps, "W").tolist() == [2822, 0]  # 1969-12-29 starts week 0
    np.testing.assert_array_equal(stamps, before)


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(-50, 50)), min_size=1, max_size=200))
def test_distinct_pairs_both_ways(pairs):
    codes = np.array([c for c, _ in pairs])
    values = np.array([v for _, v in pairs])
    expected = sorted(set(pairs))
    for dense in (True, False, None):
        got_codes, got_values = distinct_pairs(codes, values, dense=dense)
        assert list(zip(got_codes.tolist(), got_values.tolist(), strict=True)) == expected
