"""Input data classes: a transaction log and the counts behind the retention rate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._errors import InvalidDataError
from ._typing import DatetimeArray, FloatArray, IntArray, NegativeAmounts
from ._validation import check_rows, check_same_length, float_column, readonly

__all__ = ["PeriodCounts", "Transactions", "as_transactions"]

_KEPT_UNITS = ("s", "ms", "us", "ns")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are the values unequal to themselves
    except TypeError:  # pandas.NA, whose comparisons have no truth value
        return True


def _missing_mask(values: NDArray[Any]) -> NDArray[np.bool_]:
    """Rows holding None, NaN or NaT."""
    kind = values.dtype.kind
    if kind == "f":
        return np.asarray(np.isnan(values))
    if kind in "mM":
        return np.asarray(np.isnat(values))
    if kind == "O":
        return np.fromiter(
            (_is_missing(v) for v in values),
            dtype=bool,
            count=values.size,
        )
    return np.zeros(values.shape, dtype=bool)


def _customer_ids(values: ArrayLike) -> NDArray[Any]:
    ids = np.asarray(values)
    if ids.ndim != 1:
        raise InvalidDataError(
            f"`customer_id` must be one-dimensional: got shape {ids.shape}", field="customer_id"
        )
    check_rows(~_missing_mask(ids), "customer_id", "must not be missing", {"customer_id": ids})
    return readonly(ids)


def _python_datetimes(values: NDArray[Any]) -> DatetimeArray:
    """Convert an object array of datetimes, converting aware ones to naive UTC."""
    aware = np.fromiter(
        (isinstance(v, dt.datetime) and v.tzinfo is not None for v in values),
        dtype=bool,
        count=values.size,
    )
    if aware.any() and not aware.all():
        # The less common kind is the odd one out.
        check_rows(
            aware if 2 * aware.sum() >= aware.size else ~aware,
            "timestamp",
            "must be all time-zone aware or all naive, not a mix",
            {"timestamp": values},
        )
    if aware.any():
        values = np.array(
            [v.astimezone(dt.UTC).replace(tzinfo=None) for v in values], dtype=object
        )
    try:
        return np.asarray(values, dtype="datetime64[us]")
    except (TypeError, ValueError) as error:
        raise InvalidDataError(
            f"`timestamp` must hold dates or datetimes: {error}", field="timestamp"
        ) from None


def _timestamps(values: ArrayLike) -> DatetimeArray:
    ts = np.asarray(values)
    if ts.ndim != 1:
        raise InvalidDataError(
            f"`timestamp` must be one-dimensional: got shape {ts.shape}", field="timestamp"
        )
    if ts.dtype.kind == "O":
        check_rows(~_missing_mask(ts), "timestamp", "must not be missing", {"timestamp": ts})
        ts = _python_datetimes(ts)
    elif ts.dtype.kind in "US":
        try:
            ts = ts.astype("datetime64[us]")
        except ValueError as error:
            raise InvalidDataError(
                f"`timestamp` strings must be ISO 8601 dates or datetimes: {error}; "
                "use Transactions.from_frame(..., timestamp_format=...) for other formats",
                field="timestamp",
            ) from None
    elif ts.dtype.kind != "M":
        raise InvalidDataError(
            f"`timestamp` must be datetime64, datetimes or ISO 8601 strings: got dtype {ts.dtype}",
            field="timestamp",
        )
    unit, _ = np.datetime_data(ts.dtype)
    if unit not in _KEPT_UNITS:
        ts = ts.astype("datetime64[s]")
    check_rows(~np.isnat(ts), "timestamp", "must not be NaT", {"timestamp": ts})
    return readonly(ts)


def _integer_codes(ids: NDArray[Any]) -> tuple[NDArray[Any], IntArray]:
    """Sorted unique ids and each row's position among them."""
    n = ids.size
    if ids.dtype.kind in "iu" and n:
        low, high = ids.min(), ids.max()
        span = int(high) - int(low) + 1
        if span <= 4 * n + 1024:
            offsets = (ids - low).astype(np.intp, copy=False)
            present = np.zeros(span, dtype=bool)
            present[offsets] = True
            rank = np.cumsum(present, dtype=np.int64) - 1
            unique = np.flatnonzero(present).astype(ids.dtype) + low
            return unique, rank[offsets]
    try:
        unique, codes = np.unique(ids, return_inverse=True)
    except TypeError:  # an object column mixing values that do not compare (int and str)
        kinds = np.array([type(v).__name__ for v in ids])
        names, counts = np.unique(kinds, return_counts=True)
        check_rows(
            kinds == names[np.argmax(counts)],
            "customer_id",
            f"must hold values of one comparable type (found {', '.join(names)})",
            {"customer_id": ids},
        )
        raise
    return unique, codes.astype(np.int64, copy=False).reshape(-1)


@dataclass(frozen=True, slots=True, eq=False)
class Transactions:
    """A transaction log: one row per purchase.

    Parameters
    ----------
    customer_id : array-like
        Who bought; any hashable, sortable values (integers, strings). Never missing.
    timestamp : array-like
        When: ``datetime64`` (any resolution; day and coarser are stored in seconds), Python
        datetimes (time-zone aware ones are converted to UTC) or ISO 8601 strings.
    amount : array-like, optional
        What was spent, finite floats.
    negative_amounts : {"raise", "drop"}, default "raise"
        Negative amounts are returns. ``"raise"`` refuses them; ``"drop"`` removes those rows so
        they count neither as purchases nor as spend.

    Raises
    ------
    InvalidDataError
        On an empty log, mismatched lengths, missing ids, ids of types that do not compare
        (such as integers mixed with strings), NaT or unparseable timestamps, a mix of
        time-zone aware and naive timestamps, and missing, non-numeric or negative amounts.

    Notes
    -----
    The arrays are stored as read-only views: the caller's data is never modified, and a
    ``Transactions`` cannot be modified either.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> tx = rk.Transactions(
    ...     customer_id=[1, 1, 2],
    ...     timestamp=np.array(["2024-01-03", "2024-02-10", "2024-01-05"], dtype="datetime64[D]"),
    ...     amount=[10.0, 25.5, 8.0],
    ... )
    >>> len(tx), tx.n_customers, str(tx.start), str(tx.end)
    (3, 2, '2024-01-03T00:00:00', '2024-02-10T00:00:00')
    """

    customer_id: NDArray[Any]
    timestamp: DatetimeArray
    amount: FloatArray | None = None
    negative_amounts: NegativeAmounts = field(default="raise", kw_only=True, compare=False)
    _index: tuple[NDArray[Any], IntArray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.negative_amounts not in ("raise", "drop"):
            raise InvalidDataError(
                "The 'negative_amounts' parameter of Transactions must be 'raise' or "
                f"'drop'; got {self.negative_amounts!r} instead.",
                field="negative_amounts",
            )
        ids = _customer_ids(self.customer_id)
        timestamps = np.asarray(self.timestamp)
        amounts = None if self.amount is None else np.asarray(self.amount)
        n = check_same_length(customer_id=ids, timestamp=timestamps, amount=amounts)
        if n == 0:
            raise InvalidDataError(
                "`customer_id` must hold at least one transaction: the log is empty",
                field="customer_id",
            )
        timestamps = _timestamps(timestamps)
        if amounts is not None:
            if amounts.dtype.kind == "O":
                check_rows(
                    ~_missing_mask(amounts), "amount", "must not be missing", {"amount": amounts}
                )
            amounts = float_column(amounts, "amount")
            negative = amounts < 0
            if negative.any():
                if self.negative_amounts == "drop":
                    keep = ~negative
                    ids, timestamps, amounts = (
                        readonly(ids[keep]),
                        readonly(timestamps[keep]),
                        readonly(amounts[keep]),
                    )
                    if ids.size == 0:
                        raise InvalidDataError(
                            "`amount` must leave at least one purchase after dropping "
                            f"negative amounts: all {n} rows are negative",
                            field="amount",
                        )
                else:
                    check_rows(
                        ~negative,
                        "amount",
                        "must be >= 0",
                        {"amount": amounts},
                        hint="Negative amounts are returns: filter them out first, or pass "
                        "negative_amounts='drop' to leave them out of all counts",
                    )
        object.__setattr__(self, "customer_id", ids)
        object.__setattr__(self, "timestamp", timestamps)
        object.__setattr__(self, "amount", amounts)
        if ids.dtype.kind == "O":
            self.customer_index()  # object ids must sort: check now, not in the first metric

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        customer_id: str = "customer_id",
        timestamp: str = "timestamp",
        amount: str | None = None,
        timestamp_format: str | None = None,
        negative_amounts: NegativeAmounts = "raise",
    ) -> Transactions:
        """Build a log from any dataframe narwhals reads (pandas, polars, pyarrow, ...).

        Parameters
        ----------
        frame : dataframe
            Eager or lazy frame; a lazy one is collected (only the named columns).
        customer_id, timestamp, amount : str
            Column names.
        timestamp_format : str, optional
            ``strftime`` format used to parse a string timestamp column (e.g. ``"%Y%m%d"``);
            without it the engine infers the format.
        negative_amounts : {"raise", "drop"}, default "raise"
            See `Transactions`.

        Returns
        -------
        Transactions

        Raises
        ------
        InvalidDataError
            When a column is absent (the message lists the columns found), when strings do not
            parse as timestamps, and for every rule of `Transactions`.

        Examples
        --------
        >>> import pandas as pd
        >>> import retention_kit as rk
        >>> frame = pd.DataFrame({"user": ["a", "b", "a"],
        ...                       "day": ["2024-01-03", "2024-01-05", "2024-02-10"]})
        >>> rk.Transactions.from_frame(frame, customer_id="user", timestamp="day").n_customers
        2
        """
        from ._frames import transaction_columns

        ids, timestamps, amounts = transaction_columns(
            frame,
            customer_id=customer_id,
            timestamp=timestamp,
            amount=amount,
            timestamp_format=timestamp_format,
        )
        return cls(ids, timestamps, amounts, negative_amounts=negative_amounts)

    def __len__(self) -> int:
        return int(self.customer_id.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transactions):
            return NotImplemented
        same_amounts = (self.amount is None and other.amount is None) or (
            self.amount is not None
            and other.amount is not None
            and np.array_equal(self.amount, other.amount)
        )
        return (
            np.array_equal(self.customer_id, other.customer_id)
            and np.array_equal(self.timestamp, other.timestamp)
            and same_amounts
        )

    __hash__ = None  # type: ignore[assignment]

    def customer_index(self) -> tuple[NDArray[Any], IntArray]:
        """Return the sorted unique customer ids and each row's position among them.

        Computed once and cached. Integer ids over a compact range are indexed in linear time.

        Returns
        -------
        ids : ndarray
            Sorted unique customer ids.
        codes : ndarray of int64
            ``ids[codes]`` equals ``customer_id``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> tx = rk.Transactions(["b", "a", "b"], ["2024-01-01", "2024-01-02", "2024-01-03"])
        >>> ids, codes = tx.customer_index()
        >>> ids.tolist(), codes.tolist()
        (['a', 'b'], [1, 0, 1])
        """
        if self._index is None:
            unique, codes = _integer_codes(self.customer_id)
            object.__setattr__(self, "_index", (readonly(unique), readonly(codes)))
        assert self._index is not None
        return self._index

    @property
    def n_customers(self) -> int:
        """Number of distinct customers."""
        return int(self.customer_index()[0].size)

    @property
    def start(self) -> np.datetime64:
        """Earliest timestamp."""
        return self.timestamp.min()  # type: ignore[no-any-return]

    @property
    def end(self) -> np.datetime64:
        """Latest timestamp."""
        return self.timestamp.max()  # type: ignore[no-any-return]


def _nonnegative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float | np.floating) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidDataError(
                f"`{name}` must be a non-negative integer: got {value!r}", field=name
            )
    if value < 0:
        raise InvalidDataError(f"`{name}` must be >= 0: got {value!r}", field=name)
    return int(value)


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """The customer counts behind the retention rate of one period.

    Parameters
    ----------
    start : int
        B, customers active at the start of the period.
    end : int
        E, customers active at the end of the period.
    new : int
        N, customers of E whose first purchase fell inside the period.
    reactivated : int, default 0
        Customers of E who were neither active at the start nor new: lapsed customers who came
        back.

    Raises
    ------
    InvalidDataError
        When a count is negative or not an integer, when ``new + reactivated > end``, or when
        ``end - new - reactivated > start`` (more retained customers than there were).

    Examples
    --------
    >>> import retention_kit as rk
    >>> counts = rk.PeriodCounts(start=200, end=180, new=40)
    >>> counts.retained
    140
    """

    start: int
    end: int
    new: int
    reactivated: int = 0

    def __post_init__(self) -> None:
        for name in ("start", "end", "new", "reactivated"):
            object.__setattr__(self, name, _nonnegative_int(getattr(self, name), name))
        if self.new + self.reactivated > self.end:
            raise InvalidDataError(
                "`new` + `reactivated` must be <= `end`: got "
                f"new={self.new}, reactivated={self.reactivated}, end={self.end}",
                field="new",
            )
        if self.retained > self.start:
            raise InvalidDataError(
                "`end` - `new` - `reactivated` (the retained customers) must be <= `start`: got "
                f"{self.retained} retained, start={self.start}",
                field="end",
            )

    @property
    def retained(self) -> int:
        """Customers active at both the start and the end: E - N - reactivated."""
        return self.end - self.new - self.reactivated


def as_transactions(
    data: Transactions | Any,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> Transactions:
    """Return ``data`` when it is a `Transactions`, else read it as a frame with these columns.

    Every public function that takes ``transactions`` goes through this, so each also accepts
    any eager frame narwhals reads.
    """
    if isinstance(data, Transactions):
        return data
    return Transactions.from_frame(
        data, customer_id=customer_id, timestamp=timestamp, amount=amount
    )
