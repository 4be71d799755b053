"""Who bought when: the per-customer groupings the retention metrics are built on.

Everything here works on the integer customer codes of `Transactions.customer_index` packed
with period ordinals into int64 keys: a table or a sort of the rows, never a Python loop over
customers.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray

from ._periods import period_index
from ._typing import BoolArray, DatetimeArray, IntArray, Period

__all__ = ["Columns", "customer_periods", "distinct_pairs", "group_starts", "narrowest"]


class Columns(TypedDict):
    """The column names a frame is read with, as every metric passes them on.

    One dict of these goes to `segmented_transactions` and to the lazy engine alike, so a
    metric names its ``customer_id``, ``timestamp`` and ``amount`` arguments once.
    """

    customer_id: str
    timestamp: str
    amount: str | None


def group_starts(*keys: IntArray) -> BoolArray:
    """Mark the rows of sorted ``keys`` where a new group begins (any key changes)."""
    n = keys[0].size
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
        for key in keys:
            starts[1:] |= key[1:] != key[:-1]
    return starts


def narrowest(key: IntArray, size: int) -> NDArray[np.signedinteger[Any]]:
    """``key`` (values in [0, size)) as int32 when they fit: sorting it is then much faster."""
    return key.astype(np.int32) if size <= np.iinfo(np.int32).max else key


def distinct_pairs(
    codes: IntArray, values: IntArray, *, dense: bool | None = None
) -> tuple[IntArray, IntArray]:
    """Distinct ``(code, value)`` pairs, sorted by code then value.

    ``codes`` are non-negative integers below the number of rows, ``values`` any integers of
    the same length. Each pair is packed into one int64 key ``code * span + (value - min)``,
    which cannot overflow while ``rows * span < 2**63`` (a day ordinal spans a few million).

    When the keys' range is small (at most 4 per row, e.g. customers x months), the pairs
    are marked in a boolean table and read back in order, in linear time; otherwise the keys
    are sorted. ``dense`` forces one way (for tests).
    """
    if codes.size == 0:
        return codes.astype(np.int64), values.astype(np.int64)
    low = int(values.min())
    span = int(values.max()) - low + 1
    key = codes.astype(np.int64) * span
    key += values
    key -= low
    size = (int(codes.max()) + 1) * span
    if dense if dense is not None else size <= 4 * key.size:
        present = np.zeros(size, dtype=bool)
        present[key] = True
        key = np.flatnonzero(present)
    else:
        key = narrowest(key, size)
        key.sort()
        key = key[group_starts(key)].astype(np.int64, copy=False)
    pair_codes, offsets = np.divmod(key, span)
    offsets += low
    return pair_codes, offsets


def customer_periods(
    codes: IntArray, timestamps: DatetimeArray, period: Period
) -> tuple[IntArray, IntArray]:
    """Each customer's distinct purchase periods.

    ``codes`` holds, per row, the customer code of `Transactions.customer_index` or the code of
    the row's (segment, customer) pair of a `SegmentIndex`; ``timestamps`` the row's moment.

    Returns
    -------
    codes, periods : ndarray of int64
        One entry per (code, calendar period with a purchase), sorted by code then period
        ordinal (`period_index`).
    """
    return distinct_pairs(codes, period_index(timestamps, period))
