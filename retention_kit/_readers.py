"""Reading a transaction export (CSV or Parquet) for the command-line report.

CSV is read by the fastest reader installed (polars, pyarrow, pandas) and, on a core install
with none of them, by the standard library's ``csv`` module; Parquet needs polars or pyarrow.
Column names are matched exactly, else among common aliases (case-insensitively), and a
mismatch is an `InvalidDataError` listing the columns found.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from numpy.typing import NDArray

from ._errors import InvalidDataError
from ._validation import check_rows
from .data import Transactions

__all__ = ["READERS", "Columns", "read_transactions", "resolve_columns"]

Reader = Literal["auto", "polars", "pyarrow", "pandas", "csv"]
READERS: tuple[Reader, ...] = ("auto", "polars", "pyarrow", "pandas", "csv")

_ALIASES = {
    "customer_id": (
        "customer_id",
        "customerid",
        "customer",
        "customer_number",
        "client_id",
        "client",
        "user_id",
        "userid",
        "user",
    ),
    "timestamp": (
        "timestamp",
        "date",
        "datetime",
        "order_date",
        "invoice_date",
        "invoicedate",
        "purchase_date",
        "transaction_date",
        "created_at",
        "time",
    ),
    "amount": (
        "amount",
        "revenue",
        "sales",
        "value",
        "total",
        "order_total",
        "order_value",
        "spend",
        "price",
    ),
}
_OPTIONS = {"customer_id": "--customer-id", "timestamp": "--timestamp", "amount": "--amount"}
_DELIMITERS = (",", ";", "\t", "|")
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns of an export holding each field (``amount`` None when there is none)."""

    customer_id: str
    timestamp: str
    amount: str | None


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in _PARQUET_SUFFIXES


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def sniff_delimiter(path: Path) -> str:
    """Return the most frequent of , ; tab | in the header line (a comma when none occurs)."""
    with _open_text(path) as text:
        header = text.readline()
    counts = [header.count(d) for d in _DELIMITERS]
    return _DELIMITERS[int(np.argmax(counts))] if max(counts) else ","


def _header(path: Path, delimiter: str) -> list[str]:
    if _is_parquet(path):
        if _installed("pyarrow"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if _installed("polars"):
            import polars as pl

            return list(pl.read_parquet_schema(path))
        raise InvalidDataError(
            "reading Parquet needs pyarrow or polars: pip install pyarrow", field="path"
        )
    with _open_text(path) as text:
        row = next(csv.reader(text, delimiter=delimiter), None)
    if not row:
        raise InvalidDataError(f"{path.name} is empty: no header line", field="path")
    return [name.strip() for name in row]


def resolve_columns(
    found: Sequence[str],
    *,
    customer_id: str | None,
    timestamp: str | None,
    amount: str | None,
    source: str,
) -> Columns:
    """Match each field to a column: the name given, else the first alias present.

    A name given must exist exactly; aliases match case-insensitively, ignoring spaces and
    dashes. A missing amount column is allowed unless one was named.
    """
    normalized = {
        name.lower().replace(" ", "_").replace("-", "_"): name for name in reversed(found)
    }
    chosen: dict[str, str | None] = {}
    for field, given in (
        ("customer_id", customer_id),
        ("timestamp", timestamp),
        ("amount", amount),
    ):
        if given is not None:
            if given not in found:
                raise InvalidDataError(
                    f"column {given!r} (given with {_OPTIONS[field]}) is not in {source}; "
                    f"columns found: {list(found)}",
                    field=field,
                )
            chosen[field] = given
            continue
        match = next((normalized[a] for a in _ALIASES[field] if a in normalized), None)
        if match is None and field != "amount":
            raise InvalidDataError(
                f"no {field} column in {source}: columns found: {list(found)}; name the "
                f"columns with --customer-id, --timestamp and --amount",
                field=field,
            )
        chosen[field] = match
    used = [name for name in chosen.values() if name is not None]
    if len(set(used)) < len(used):
        raise InvalidDataError(
            "the customer id, timestamp and amount columns must differ; got "
            f"{chosen['customer_id']!r}, {chosen['timestamp']!r} and {chosen['amount']!r}",
            field="customer_id",
        )
    id_column, ts_column = str(chosen["customer_id"]), str(chosen["timestamp"])
    return Columns(id_column, ts_column, chosen["amount"])


def _pick_reader(path: Path, reader: Reader) -> Reader:
    if reader != "auto":
        if reader != "csv" and not _installed(reader):
            raise InvalidDataError(
                f"--reader {reader} needs {reader}: pip install {reader}", field="reader"
            )
        if _is_parquet(path) and reader not in ("polars", "pyarrow"):
            raise InvalidDataError(
                f"--reader {reader} cannot read Parquet: use polars or pyarrow", field="reader"
            )
        return reader
    for name in ("polars", "pyarrow", "pandas"):
        if name == "pandas" and _is_parquet(path):
            break
        if _installed(name):
            return name
    if _is_parquet(path):
        raise InvalidDataError(
            "reading Parquet needs pyarrow or polars: pip install pyarrow", field="path"
        )
    return "csv"


def _read_frame(path: Path, columns: Columns, delimiter: str, reader: Reader) -> Any:
    """Read the named columns into a frame of ``reader``; CSV timestamps are kept as strings."""
    names = [c for c in (columns.customer_id, columns.timestamp, columns.amount) if c]
    if reader == "polars":
        import polars as pl

        if _is_parquet(path):
            return pl.read_parquet(path, columns=names)
        return pl.read_csv(
            path,
            separator=delimiter,
            columns=names,
            schema_overrides={columns.timestamp: pl.String},
            infer_schema_length=10_000,
        )
    if reader == "pyarrow":
        import pyarrow as pa

        if _is_parquet(path):
            import pyarrow.parquet as pq

            return pq.read_table(path, columns=names)
        from pyarrow import csv as pa_csv

        return pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(delimiter=delimiter),
            convert_options=pa_csv.ConvertOptions(
                include_columns=names, column_types={columns.timestamp: pa.string()}
            ),
        )
    import pandas as pd

    return pd.read_csv(path, sep=delimiter, usecols=names, dtype={columns.timestamp: str})


def _stdlib_columns(path: Path, columns: Columns, delimiter: str) -> dict[str, NDArray[np.str_]]:
    """Read the named columns as string arrays, row by row with the ``csv`` module."""
    with _open_text(path) as text:
        rows = csv.reader(text, delimiter=delimiter)
        header = [name.strip() for name in next(rows)]
        wanted = [c for c in (columns.customer_id, columns.timestamp, columns.amount) if c]
        positions = [header.index(name) for name in wanted]
        width = max(positions) + 1
        values: list[list[str]] = [[] for _ in wanted]
        for line, row in enumerate(rows, start=2):
            if not row:
                continue  # a blank line
            if len(row) < width:
                raise InvalidDataError(
                    f"line {line} of {path.name} has {len(row)} fields; the header has "
                    f"{len(header)}",
                    field="path",
                )
            for column, i in zip(values, positions, strict=True):
                column.append(row[i])
    if not values[0]:
        raise InvalidDataError(f"{path.name} has a header but no rows", field="path")
    return {name: np.array(column) for name, column in zip(wanted, values, strict=True)}


def _parse_each(text: str, fmt: str | None) -> dt.datetime | None:
    try:
        when = dt.datetime.strptime(text, fmt) if fmt else dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def parse_timestamps(values: NDArray[np.str_], name: str, fmt: str | None) -> NDArray[Any]:
    """Parse strings as datetimes (ISO 8601, or ``fmt``), once per distinct string.

    Aware values are converted to naive UTC. Unparseable ones are an `InvalidDataError`.
    """
    distinct, inverse = np.unique(np.char.strip(values), return_inverse=True)
    parsed = [_parse_each(str(text), fmt) for text in distinct]
    ok = np.array([p is not None for p in parsed], dtype=bool)
    how = f"with format {fmt!r}" if fmt else "as ISO 8601 (give --timestamp-format)"
    check_rows(ok[inverse], name, f"must parse as dates {how}", {name: values})
    stamps = np.array(parsed, dtype="datetime64[us]")
    out: NDArray[Any] = stamps[inverse.reshape(-1)]
    return out


def _ids(values: NDArray[np.str_], name: str) -> NDArray[Any]:
    """Integers when every id is one (as the frame readers infer), else the strings."""
    values = np.char.strip(values)
    check_rows(values != "", name, "must not be missing", {name: values})
    try:
        return values.astype(np.int64)
    except (ValueError, OverflowError):
        return values


def _amounts(values: NDArray[np.str_], name: str) -> NDArray[np.float64]:
    values = np.char.strip(values)
    check_rows(values != "", name, "must not be missing", {name: values})
    try:
        return values.astype(np.float64)
    except ValueError:
        distinct, inverse = np.unique(values, return_inverse=True)
        numeric = np.array([_is_number(str(v)) for v in distinct], dtype=bool)
        check_rows(numeric[inverse.reshape(-1)], name, "must be numeric", {name: values})
        numbers = np.array([float(v) for v in distinct])
        out: NDArray[np.float64] = numbers[inverse.reshape(-1)]
        return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_transactions(
    path: str | Path,
    *,
    customer_id: str | None = None,
    timestamp: str | None = None,
    amount: str | None = None,
    timestamp_format: str | None = None,
    delimiter: str | None = None,
    reader: Reader = "auto",
    negative_amounts: Literal["raise", "drop"] = "raise",
) -> tuple[Transactions, Columns]:
    """Read a CSV or Parquet export into `Transactions`, and say which columns were used.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        As ``open`` does.
    InvalidDataError
        For a missing column (listing those found), a reader that is not installed, a row
        with too few fields, and every rule of `Transactions`.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a file")
    with path.open("rb"):
        pass  # FileNotFoundError / PermissionError with the path, before any reader runs
    chosen_reader = _pick_reader(path, reader)
    sep = (
        delimiter
        if delimiter is not None
        else ("," if _is_parquet(path) else sniff_delimiter(path))
    )
    columns = resolve_columns(
        _header(path, sep),
        customer_id=customer_id,
        timestamp=timestamp,
        amount=amount,
        source=path.name,
    )
    if chosen_reader == "csv":
        raw = _stdlib_columns(path, columns, sep)
        tx = Transactions(
            _ids(raw[columns.customer_id], columns.customer_id),
            parse_timestamps(raw[columns.timestamp], columns.timestamp, timestamp_format),
            None if columns.amount is None else _amounts(raw[columns.amount], columns.amount),
            negative_amounts=negative_amounts,
        )
        return tx, columns
    frame = _read_frame(path, columns, sep, chosen_reader)
    tx = Transactions.from_frame(
        frame,
        customer_id=columns.customer_id,
        timestamp=columns.timestamp,
        amount=columns.amount,
        timestamp_format=timestamp_format,
        negative_amounts=negative_amounts,
    )
    return tx, columns


def first_line(error: BaseException) -> str:
    """Return the first non-empty line of an exception's message (its type when it has none)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def describe_read_error(error: BaseException, path: Path) -> str:
    """Return a one-line reason for a failure to read ``path`` (any reader's error)."""
    if isinstance(error, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(error, IsADirectoryError):
        return f"{path} is a directory, not a file"
    if isinstance(error, PermissionError):
        return f"{path}: permission denied"
    if isinstance(error, UnicodeDecodeError):
        return f"{path} is not UTF-8 text: is it a CSV file?"
    if isinstance(error, InvalidDataError):
        return first_line(error)
    kind = "Parquet" if _is_parquet(path) else "CSV"
    return f"could not read {path.name} as {kind}: {first_line(error)}"
