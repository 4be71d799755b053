"""CustomerSummary: validation rules, compression, subsets, frames and immutability."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import retention_kit as rk
from tests.strategies import customer_summaries


def _summary(**overrides: object) -> rk.CustomerSummary:
    columns: dict[str, object] = {
        "frequency": [2, 0, 1, 0],
        "recency": [30.0, 0.0, 4.0, 0.0],
        "T": [38.0, 38.0, 10.0, 5.0],
        "monetary_value": [22.5, 0.0, 10.0, 0.0],
        "customer_id": ["a", "b", "c", "d"],
        "unit": "W",
    }
    columns.update(overrides)
    return rk.CustomerSummary(**columns)  # type: ignore[arg-type]


# --- validation ---


@pytest.mark.parametrize(
    ("overrides", "field", "rule", "rows"),
    [
        ({"frequency": [2, -1, 1, 0]}, "frequency", "must be a non-negative integer", (1,)),
        ({"frequency": [2.5, 0, 1, 0]}, "frequency", "must be a non-negative integer", (0,)),
        ({"frequency": [2, 0, np.nan, 0]}, "frequency", "must be finite", (2,)),
        ({"recency": [30.0, 0.0, -4.0, 0.0]}, "recency", "must be >= 0", (2,)),
        ({"recency": [39.0, 0.0, 11.0, 0.0]}, "recency", "must be <= `T`", (0, 2)),
        ({"recency": [0.0, 0.0, 4.0, 0.0]}, "recency", "must be 0 exactly when", (0,)),
        ({"recency": [30.0, 1.0, 4.0, 0.0]}, "recency", "must be 0 exactly when", (1,)),
        ({"recency": [30.0, 0.0, np.inf, 0.0]}, "recency", "must be finite", (2,)),
        ({"T": [38.0, 38.0, 10.0, np.nan]}, "T", "must be finite", (3,)),
        ({"monetary_value": [22.5, 0.0, -1.0, 0.0]}, "monetary_value", "must be >= 0", (2,)),
        ({"monetary_value": [np.nan, 0.0, 1.0, 0.0]}, "monetary_value", "must be finite", (0,)),
        ({"weight": [1.0, 0.0, 2.0, -3.0]}, "weight", "must be > 0", (1, 3)),
        ({"weight": [1.0, 1.0, np.inf, 1.0]}, "weight", "must be finite", (2,)),
    ],
)
def test_every_rule_names_field_rule_and_rows(
    overrides: dict[str, object], field: str, rule: str, rows: tuple[int, ...]
) -> None:
    with pytest.raises(rk.InvalidDataError, match=rule) as caught:
        _summary(**overrides)
    error = caught.value
    assert error.field == field
    assert error.rows == rows
    message = str(error)
    assert f"`{field}`" in message
    assert f"{len(rows)} of 4 rows break it" in message
    assert f"row {rows[0]}" in message


def test_message_lists_at_most_five_rows() -> None:
    n = 12
    with pytest.raises(rk.InvalidDataError) as caught:
        rk.CustomerSummary(frequency=-np.ones(n), recency=np.zeros(n), T=np.ones(n))
    assert caught.value.rows == (0, 1, 2, 3, 4)
    assert "12 of 12 rows" in str(caught.value)
    assert "row 5" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recency": [30.0, 0.0, 4.0]}, "recency"),
        ({"T": [38.0, 38.0, 10.0, 5.0, 6.0]}, "T"),
        ({"monetary_value": [1.0]}, "monetary_value"),
        ({"customer_id": ["a", "b"]}, "customer_id"),
        ({"weight": [1.0, 2.0, 3.0]}, "weight"),
    ],
)
def test_lengths_must_match(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(rk.InvalidDataError, match="same length") as caught:
        _summary(**overrides)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("overrides", "field", "match"),
    [
        ({"unit": "M"}, "unit", "'unit' parameter"),
        ({"frequency": ["2", "0", "1", "0"]}, "frequency", "numeric"),
        ({"T": [[38.0, 38.0], [10.0, 5.0]]}, "T", "one-dimensional"),
        ({"customer_id": [["a", "b"], ["c", "d"]]}, "customer_id", "one-dimensional"),
    ],
)
def test_bad_arguments(overrides: dict[str, object], field: str, match: str) -> None:
    with pytest.raises(rk.InvalidDataError, match=match) as caught:
        _summary(**overrides)
    assert caught.value.field == field


def test_invalid_data_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        _summary(recency=[30.0, 0.0, -4.0, 0.0])


def test_edge_values_are_valid() -> None:
    summary = rk.CustomerSummary(frequency=[0, 3], recency=[0.0, 5.0], T=[0.0, 5.0])
    assert len(summary) == 2
    assert summary.unit == "D"
    assert summary.monetary_value is None
    assert summary.customer_id is None
    assert len(rk.CustomerSummary(frequency=[], recency=[], T=[])) == 0


# --- immutability ---


def test_arrays_are_read_only_and_callers_arrays_untouched() -> None:
    frequency = np.array([2.0, 0.0])
    recency = np.array([30.0, 0.0])
    T = np.array([38.0, 38.0])
    money = np.array([22.5, 0.0])
    weight = np.array([1.0, 3.0])
    ids = np.array([7, 9])
    copies = [a.copy() for a in (frequency, recency, T, money, weight, ids)]
    summary = rk.CustomerSummary(frequency, recency, T, money, ids, weight, unit="W")
    for name in ("frequency", "recency", "T", "monetary_value", "weight", "customer_id"):
        values = getattr(summary, name)
        assert not values.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 1
    for original, copy in zip((frequency, recency, T, money, weight, ids), copies, strict=True):
        assert original.flags.writeable
        np.testing.assert_array_equal(original, copy)
    with pytest.raises(AttributeError):
        summary.unit = "D"  # type: ignore[misc]
    summary.compress()
    summary.subset([1, 0])
    summary.to_frame("pandas")
    for original, copy in zip((frequency, recency, T, money, weight, ids), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_integer_lists_are_stored_as_floats() -> None:
    summary = rk.CustomerSummary([1, 0], [2, 0], [3, 3])
    for values in (summary.frequency, summary.recency, summary.T):
        assert values.dtype == np.float64


# --- equality ---


def test_equality() -> None:
    assert _summary() == _summary()
    assert _summary() != _summary(unit="D")
    assert _summary() != _summary(customer_id=None)
    assert _summary() != _summary(monetary_value=None)
    assert _summary() != _summary(weight=[1.0, 1.0, 1.0, 1.0])
    assert _summary() != _summary(T=[38.0, 38.0, 10.0, 6.0])
    assert _summary().__eq__("summary") is NotImplemented
    with pytest.raises(TypeError, match="unhashable"):
        hash(_summary())


# --- weights, compress, subset ---


def test_weights() -> None:
    assert _summary().weights().tolist() == [1.0, 1.0, 1.0, 1.0]
    weighted = _summary(weight=[1.0, 2.0, 3.0, 4.0])
    assert weighted.weights().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert weighted.n_customers == 10
    assert _summary().n_customers == 4


def test_compress_merges_identical_rows() -> None:
    summary = rk.CustomerSummary(
        frequency=[0, 1, 0, 1, 0],
        recency=[0.0, 2.0, 0.0, 2.0, 0.0],
        T=[5.0, 5.0, 5.0, 5.0, 7.0],
        customer_id=[1, 2, 3, 4, 5],
        unit="W",
    )
    compressed = summary.compress()
    assert compressed.frequency.tolist() == [0.0, 0.0, 1.0]
    assert compressed.recency.tolist() == [0.0, 0.0, 2.0]
    assert compressed.T.tolist() == [5.0, 7.0, 5.0]
    assert compressed.weight is not None
    assert compressed.weight.tolist() == [2.0, 1.0, 2.0]
    assert compressed.customer_id is None
    assert compressed.unit == "W"
    assert compressed.n_customers == summary.n_customers
    assert compressed.compress() == compressed


@given(
    days=st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 70_000), st.integers(0, 70_000)),
        min_size=1,
        max_size=60,
    ),
    per_unit=st.sampled_from([1.0, 7.0, 3.0]),
    spread=st.sampled_from([1, 10_000]),
)
def test_compress_equals_sorting_the_distinct_rows(
    days: list[tuple[int, int, int]], per_unit: float, spread: int
) -> None:
    """Whole days (in days or weeks: sorted as 16-bit integers) and other values (sorted as
    floats) give the distinct rows in lexicographic order, with their counts."""
    rows = []
    for x, a, b in days:  # recency > 0 exactly when there are repeat purchases, up to T
        recency = max(min(a, b) // spread, 1) if x > 0 else 0
        rows.append((x, recency, max(max(a, b) // spread, recency)))
    table = np.array(rows, dtype=float)
    summary = rk.CustomerSummary(table[:, 0], table[:, 1] / per_unit, table[:, 2] / per_unit)
    compressed = summary.compress()
    table = np.stack([summary.frequency, summary.recency, summary.T], axis=1)
    distinct, counts = np.unique(table, axis=0, return_counts=True)
    np.testing.assert_array_equal(
        np.stack([compressed.frequency, compressed.recency, compressed.T], axis=1), distinct
    )
    assert compressed.weight is not None
    np.testing.assert_array_equal(compressed.weight, counts)


def test_compress_keeps_monetary_value_apart() -> None:
    summary = rk.CustomerSummary(
        frequency=[1, 1, 1], recency=[2.0, 2.0, 2.0], T=[5.0, 5.0, 5.0], monetary_value=[3, 4, 3]
    )
    compressed = summary.compress()
    assert compressed.monetary_value is not None
    assert compressed.monetary_value.tolist() == [3.0, 4.0]
    assert compressed.weight is not None
    assert compressed.weight.tolist() == [2.0, 1.0]


def test_compress_of_empty_summary() -> None:
    compressed = rk.CustomerSummary([], [], []).compress()
    assert len(compressed) == 0
    assert compressed.n_customers == 0


@given(customer_summaries(with_monetary=True), st.integers(1, 4))
def test_compress_keeps_the_multiset_of_rows(summary: rk.CustomerSummary, copies: int) -> None:
    # Repeat every row `copies` times: the compressed form is the same, weights multiplied.
    repeated = summary.subset(np.repeat(np.arange(len(summary)), copies)).compress()
    compressed = summary.compress()
    assert compressed.weight is not None
    assert repeated.weight is not None
    np.testing.assert_array_equal(repeated.weight, compressed.weight * copies)
    assert repeated.subset(np.arange(len(repeated))).frequency.tolist() == (
        compressed.frequency.tolist()
    )
    assert compressed.n_customers == summary.n_customers
    # Expanding the compressed rows by their weights gives back the original rows, sorted.
    expanded = compressed.subset(
        np.repeat(np.arange(len(compressed)), compressed.weight.astype(int))
    )
    original = np.lexsort((summary.monetary_value, summary.T, summary.recency, summary.frequency))
    for name in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(getattr(summary, name)[original], getattr(expanded, name))
    # Compressing twice changes nothing.
    assert compressed.compress() == compressed


def test_subset_by_mask_and_positions() -> None:
    summary = _summary(weight=[1.0, 2.0, 3.0, 4.0])
    repeat = summary.subset(summary.frequency > 0)
    assert repeat.customer_id is not None
    assert repeat.customer_id.tolist() == ["a", "c"]
    assert repeat.weight is not None
    assert repeat.weight.tolist() == [1.0, 3.0]
    assert repeat.unit == "W"
    picked = summary.subset([3, -4])
    assert picked.customer_id is not None
    assert picked.customer_id.tolist() == ["d", "a"]
    assert picked.T.tolist() == [5.0, 38.0]
    assert len(summary.subset([])) == 0
    assert len(summary.subset(np.zeros(4, dtype=bool))) == 0
    assert summary.subset(np.arange(4)) == summary


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (np.ones(3, dtype=bool), "one entry per row"),
        ([0, 4], r"must be in \[-4, 4\)"),
        ([-5], r"must be in \[-4, 4\)"),
        ([0.5, 1.0], "boolean mask or integer positions"),
        ([[0, 1]], "boolean mask or integer positions"),
    ],
)
def test_subset_refuses_bad_rows(rows: object, match: str) -> None:
    with pytest.raises(rk.InvalidDataError, match=match) as caught:
        _summary().subset(rows)  # type: ignore[arg-type]
    assert caught.value.field == "rows"


# --- frames ---


def test_to_frame_pandas() -> None:
    frame = _summary(weight=[1.0, 2.0, 3.0, 4.0]).to_frame("pandas")
    assert frame.columns.tolist() == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "weight",
    ]
    assert frame["frequency"].dtype == np.int64
    assert frame["frequency"].tolist() == [2, 0, 1, 0]
    assert frame["customer_id"].tolist() == ["a", "b", "c", "d"]
    assert frame["T"].tolist() == [38.0, 38.0, 10.0, 5.0]


def test_to_frame_polars_and_pyarrow() -> None:
    pl = pytest.importorskip("polars")
    frame = _summary(monetary_value=None, customer_id=None).to_frame("polars")
    assert isinstance(frame, pl.DataFrame)
    assert frame.columns == ["frequency", "recency", "T"]
    assert frame["recency"].to_list() == [30.0, 0.0, 4.0, 0.0]
    pytest.importorskip("pyarrow")
    table = _summary().to_frame("pyarrow")
    assert table.column_names == ["customer_id", "frequency", "recency", "T", "monetary_value"]


def test_from_frame_round_trip() -> None:
    summary = _summary(weight=[1.0, 2.0, 3.0, 4.0])
    frame = summary.to_frame("pandas")
    again = rk.CustomerSummary.from_frame(
        frame,
        monetary_value="monetary_value",
        customer_id="customer_id",
        weight="weight",
        unit="W",
    )
    assert again == summary


def test_from_frame_polars_lazy_and_pyarrow() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {"x": [2, 0], "t_x": [30.43, 0.0], "age": [38.86, 38.86], "who": ["a", "b"]}
    )
    expected = rk.CustomerSummary([2, 0], [30.43, 0.0], [38.86, 38.86], customer_id=["a", "b"])
    names = {"frequency": "x", "recency": "t_x", "T": "age", "customer_id": "who"}
    assert rk.CustomerSummary.from_frame(frame, **names) == expected
    assert rk.CustomerSummary.from_frame(frame.lazy(), **names) == expected
    assert rk.CustomerSummary.from_frame(frame.to_arrow(), **names) == expected


def test_from_frame_errors() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"frequency": [1, 0], "recency": [2.0, 0.0], "T": [3.0, 3.0]})
    with pytest.raises(rk.InvalidDataError, match="'age' is not in the frame") as caught:
        rk.CustomerSummary.from_frame(frame, T="age")
    assert caught.value.field == "age"
    assert "columns found: ['frequency', 'recency', 'T']" in str(caught.value)
    with pytest.raises(rk.InvalidDataError, match="'monetary_value' is not in the frame"):
        rk.CustomerSummary.from_frame(frame, monetary_value="monetary_value")
    missing = frame.assign(T=[3.0, None])
    with pytest.raises(rk.InvalidDataError, match="must not be missing") as caught:
        rk.CustomerSummary.from_frame(missing)
    assert caught.value.field == "T"
    assert caught.value.rows == (1,)
    broken = frame.assign(recency=[4.0, 0.0])
    with pytest.raises(rk.InvalidDataError, match="must be <= `T`"):
        rk.CustomerSummary.from_frame(broken)
    with pytest.raises(rk.InvalidDataError, match="must be a dataframe"):
        rk.CustomerSummary.from_frame({"frequency": [1]})


def test_from_frame_reads_lifetimes_cdnow_summary() -> None:
    pytest.importorskip("lifetimes")
    from lifetimes.datasets import load_cdnow_summary

    table = load_cdnow_summary(index_col=[0])
    summary = rk.CustomerSummary.from_frame(table.reset_index(), customer_id="ID", unit="W")
    assert summary.n_customers == 2357
    assert int(summary.frequency.sum()) == 2457
    assert summary.customer_id is not None
    assert summary.customer_id[0] == 1
    assert (summary.frequency[0], summary.recency[0], summary.T[0]) == (2.0, 30.43, 38.86)
