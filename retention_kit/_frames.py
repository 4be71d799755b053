"""Reading transaction columns out of any dataframe through narwhals."""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from ._errors import InvalidDataError
from ._validation import check_rows

__all__ = [
    "frame_columns",
    "is_lazy",
    "require_columns",
    "to_narwhals",
    "transaction_columns",
]


def to_narwhals(frame: Any) -> nw.DataFrame[Any] | nw.LazyFrame[Any]:
    """Wrap ``frame`` with narwhals, or raise `InvalidDataError` when it is not a dataframe."""
    try:
        wrapped: nw.DataFrame[Any] | nw.LazyFrame[Any] = nw.from_native(frame)
        return wrapped
    except TypeError:
        raise InvalidDataError(
            "'frame' must be a dataframe narwhals supports (pandas, polars, pyarrow, ...); "
            f"got {type(frame).__name__}",
            field="frame",
        ) from None


def is_lazy(data: Any) -> bool:
    """Whether ``data`` is a lazy frame (Polars LazyFrame, DuckDB, Dask, PySpark, narwhals).

    Nothing is imported: narwhals recognizes the engines already loaded.
    """
    if isinstance(data, nw.LazyFrame):
        return True
    if isinstance(data, nw.DataFrame | np.ndarray | list | tuple) or data is None:
        return False
    return isinstance(nw.from_native(data, pass_through=True), nw.LazyFrame)


def require_columns(frame: nw.DataFrame[Any] | nw.LazyFrame[Any], *names: str | None) -> None:
    """Raise `InvalidDataError` naming the missing columns and listing the ones found."""
    found = frame.collect_schema().names()
    missing = [name for name in names if name is not None and name not in found]
    if missing:
        raise InvalidDataError(
            f"column {missing[0]!r} is not in the frame; columns found: {found}",
            field=missing[0],
        )


def _as_naive_utc(column: nw.Expr, dtype: Any, name: str, fmt: str | None) -> nw.Expr:
    if dtype == nw.String:
        column = column.str.to_datetime(format=fmt)
    elif dtype == nw.Date:
        column = column.cast(nw.Datetime("us"))
    elif isinstance(dtype, nw.Datetime) and dtype.time_zone is not None:
        column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return column.alias(name)


def transaction_columns(
    frame: Any,
    *,
    customer_id: str,
    timestamp: str,
    amount: str | None,
    timestamp_format: str | None,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None]:
    """Return the id, timestamp and amount columns of ``frame`` as numpy arrays.

    String timestamps are parsed (with ``timestamp_format`` when given), dates become
    datetimes and time-zone aware datetimes are converted to naive UTC.
    """
    df = to_narwhals(frame)
    require_columns(df, customer_id, timestamp, amount)
    names = [customer_id, timestamp] + ([amount] if amount is not None else [])
    df = df.select(names)
    if isinstance(df, nw.LazyFrame):
        df = df.collect()
    ts_dtype = df.schema[timestamp]
    try:
        df = df.with_columns(
            _as_naive_utc(nw.col(timestamp), ts_dtype, timestamp, timestamp_format)
        )
    except Exception as error:  # the engine's own parse error, whatever its type
        raise InvalidDataError(
            f"`{timestamp}` strings could not be parsed as timestamps"
            + (f" with format {timestamp_format!r}" if timestamp_format else "")
            + f": {str(error).splitlines()[0] if str(error) else type(error).__name__}",
            field=timestamp,
        ) from None
    for name in names:
        nulls = df[name].is_null().to_numpy()
        check_rows(~nulls, name, "must not be missing")
    ids = df[customer_id].to_numpy()
    timestamps = df[timestamp].to_numpy()
    amounts = None if amount is None else df[amount].to_numpy()
    if amount is not None and amounts is not None and amounts.dtype.kind not in "biuf":
        numeric = np.array([isinstance(v, int | float | np.number) for v in amounts], bool)
        check_rows(numeric, amount, "must be numeric", {amount: amounts})
    return ids, timestamps, amounts


def frame_columns(frame: Any, names: dict[str, str | None]) -> dict[str, NDArray[Any]]:
    """Return the named columns of ``frame`` as numpy arrays, keyed like ``names``.

    ``names`` maps each field to its column name; fields mapped to None are skipped. A lazy
    frame is collected (only these columns). Raises `InvalidDataError` for a column that is not
    in the frame and for missing values (None, NaN of a nullable column, NaT).
    """
    df = to_narwhals(frame)
    chosen = {field: name for field, name in names.items() if name is not None}
    require_columns(df, *chosen.values())
    df = df.select(list(dict.fromkeys(chosen.values())))
    if isinstance(df, nw.LazyFrame):
        df = df.collect()
    out = {}
    for field, name in chosen.items():
        check_rows(~df[name].is_null().to_numpy(), name, "must not be missing")
        out[field] = df[name].to_numpy()
    return out
