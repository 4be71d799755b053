"""Validation helpers: read-only views and row-level rule checks with precise messages."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._errors import InvalidDataError

__all__ = [
    "MAX_ROWS_SHOWN",
    "check_rows",
    "check_same_length",
    "float_column",
    "readonly",
]

MAX_ROWS_SHOWN = 5


def readonly(values: NDArray[Any]) -> NDArray[Any]:
    """Return a read-only view of ``values``; the caller's array keeps its own flags."""
    view = values.view()
    view.flags.writeable = False
    return view


def _show(value: Any) -> str:
    if isinstance(value, np.datetime64 | np.timedelta64) and np.isnat(value):
        return "NaT"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def check_rows(
    ok: NDArray[np.bool_],
    field: str,
    rule: str,
    columns: dict[str, NDArray[Any]] | None = None,
    *,
    hint: str = "",
) -> None:
    """Raise `InvalidDataError` when any entry of ``ok`` is False.

    The message reads "`field` rule: k of n rows break it (first: row i, col=value, ...)",
    listing up to `MAX_ROWS_SHOWN` rows with the values of ``columns`` (default: ``field``).
    """
    if ok.all():
        return
    bad = np.flatnonzero(~ok)
    shown = bad[:MAX_ROWS_SHOWN]
    cols = columns if columns is not None else {}
    parts = []
    for i in shown:
        values = ", ".join(f"{name}={_show(col[i])}" for name, col in cols.items())
        parts.append(f"row {int(i)}" + (f", {values}" if values else ""))
    message = (
        f"`{field}` {rule}: {bad.size} of {ok.size} rows break it (first: {'; '.join(parts)})"
    )
    if hint:
        message += f". {hint}"
    raise InvalidDataError(message, field=field, rows=tuple(int(i) for i in shown))


def check_same_length(**arrays: NDArray[Any] | None) -> int:
    """Return the common length of the given 1-D arrays, or raise naming the mismatch."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    first_name, n = next(iter(lengths.items()))
    for name, length in lengths.items():
        if length != n:
            raise InvalidDataError(
                f"`{name}` must have the same length as `{first_name}`: "
                f"got {length} rows, expected {n}",
                field=name,
            )
    return n


def float_column(values: ArrayLike, field: str) -> NDArray[np.float64]:
    """Convert ``values`` to a read-only 1-D float64 array, refusing non-numeric and non-finite.

    No copy is made when ``values`` already is a float64 array.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidDataError(
            f"`{field}` must be one-dimensional: got shape {array.shape}", field=field
        )
    if array.dtype.kind not in "biuf":
        if array.dtype.kind == "O":
            numeric = np.array([isinstance(v, int | float | np.number) for v in array], bool)
            check_rows(numeric, field, "must be numeric", {field: array})
        else:
            check_rows(
                np.zeros(array.shape, dtype=bool),
                field,
                f"must be numeric (got dtype {array.dtype})",
                {field: array},
            )
    out = array.astype(np.float64, copy=False)
    check_rows(np.isfinite(out), field, "must be finite", {field: out})
    return readonly(out)
