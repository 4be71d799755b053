"""Per-customer sufficient statistics of the buy-till-you-die models (continuous and discrete)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._errors import InvalidDataError
from ._periods import as_moment, check_period, period_index
from ._typing import FloatArray, IntArray, TimeUnit
from ._validation import check_rows, check_same_length, float_column, readonly
from .data import Transactions, as_transactions

__all__ = ["CustomerSummary", "DiscreteSummary"]

_UNITS = ("D", "W")


def _arrays_equal(a: NDArray[Any] | None, b: NDArray[Any] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(a, b))


_DAYS_PER_UNIT = (1.0, 7.0)
_RADIX_SPAN = 2**16


def _sort_key(column: FloatArray) -> NDArray[Any]:
    """Return a key that sorts like ``column``, as 16-bit integers when that is exact.

    Summaries hold whole numbers of days, in days or in weeks of 7 days, and their frequencies
    are whole numbers; numpy sorts 16-bit integers by radix, ten times faster than floats. The
    column itself is the key when its values are not whole days or span 65,536 or more.
    """
    if column.size == 0:
        return column
    for days_per_unit in _DAYS_PER_UNIT:
        days = np.rint(column * days_per_unit)
        low = float(days.min())
        if float(days.max()) - low < _RADIX_SPAN and np.array_equal(days / days_per_unit, column):
            return (days - low).astype(np.uint16)
    return column


@dataclass(frozen=True, slots=True, eq=False)
class CustomerSummary:
    """Frequency, recency and age of each customer, the input of every transaction model.

    Parameters
    ----------
    frequency : array-like of int
        x, the number of repeat purchase periods (purchase periods minus one).
    recency : array-like of float
        t_x, the time from the first to the last purchase period.
    T : array-like of float
        The time from the first purchase period to the end of observation.
    monetary_value : array-like of float, optional
        Mean amount of the repeat purchase periods (0 when frequency is 0).
    customer_id : array-like, optional
        One id per row.
    weight : array-like of float, optional
        How many identical customers each row stands for (the compressed form).
    unit : {"D", "W"}, default "D"
        The unit ``recency`` and ``T`` are measured in: days, or weeks of 7 days.

    Raises
    ------
    InvalidDataError
        When a value is not finite, a frequency is negative or fractional, recency is outside
        [0, T], recency is 0 for a repeat buyer or positive for a one-time buyer, a monetary
        value is negative, a weight is not positive, or the lengths differ.

    Examples
    --------
    >>> import retention_kit as rk
    >>> summary = rk.CustomerSummary(frequency=[2, 0, 0], recency=[30.43, 0, 0],
    ...                              T=[38.86, 38.86, 38.86], unit="W")
    >>> summary.n_customers
    3
    >>> compressed = summary.compress()
    >>> compressed.weight.tolist(), compressed.n_customers
    ([2.0, 1.0], 3)
    """

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None = None
    customer_id: NDArray[Any] | None = None
    weight: FloatArray | None = None
    unit: TimeUnit = "D"

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise InvalidDataError(
                f"The 'unit' parameter of CustomerSummary must be 'D' or 'W'; "
                f"got {self.unit!r} instead.",
                field="unit",
            )
        frequency = float_column(self.frequency, "frequency")
        recency = float_column(self.recency, "recency")
        T = float_column(self.T, "T")
        money = (
            None
            if self.monetary_value is None
            else float_column(self.monetary_value, "monetary_value")
        )
        weight = None if self.weight is None else float_column(self.weight, "weight")
        ids = None if self.customer_id is None else readonly(np.asarray(self.customer_id))
        if ids is not None and ids.ndim != 1:
            raise InvalidDataError(
                f"`customer_id` must be one-dimensional: got shape {ids.shape}",
                field="customer_id",
            )
        check_same_length(
            frequency=frequency,
            recency=recency,
            T=T,
            monetary_value=money,
            customer_id=ids,
            weight=weight,
        )
        columns = {"frequency": frequency, "recency": recency, "T": T}
        check_rows(
            (frequency >= 0) & (frequency == np.floor(frequency)),
            "frequency",
            "must be a non-negative integer",
            {"frequency": frequency},
        )
        check_rows(recency >= 0, "recency", "must be >= 0", {"recency": recency})
        check_rows(recency <= T, "recency", "must be <= `T`", columns)
        check_rows(
            (recency == 0) == (frequency == 0),
            "recency",
            "must be 0 exactly when `frequency` is 0",
            columns,
        )
        if money is not None:
            check_rows(money >= 0, "monetary_value", "must be >= 0", {"monetary_value": money})
        if weight is not None:
            check_rows(weight > 0, "weight", "must be > 0", {"weight": weight})
        object.__setattr__(self, "frequency", frequency)
        object.__setattr__(self, "recency", recency)
        object.__setattr__(self, "T", T)
        object.__setattr__(self, "monetary_value", money)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "customer_id", ids)

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "T",
        monetary_value: str | None = None,
        customer_id: str | None = None,
        weight: str | None = None,
        unit: TimeUnit = "D",
    ) -> CustomerSummary:
        """Build a summary from the columns of any dataframe narwhals reads.

        Brings summaries computed elsewhere, such as the tables of lifetimes'
        ``summary_data_from_transaction_data``, into the models.

        Parameters
        ----------
        frame : dataframe
            Eager or lazy frame (pandas, polars, pyarrow, ...); a lazy one is collected (only
            the named columns).
        frequency, recency, T : str
            Column names of x, t_x and T.
        monetary_value, customer_id, weight : str, optional
            Column names of the optional columns; None leaves the column out. A pandas index
            is not a column: lifetimes keeps the customer id in the index, so pass
            ``frame.reset_index()`` and the index's name.
        unit : {"D", "W"}, default "D"
            The unit ``recency`` and ``T`` are measured in.

        Returns
        -------
        CustomerSummary

        Raises
        ------
        InvalidDataError
            When a column is absent (the message lists the columns found) or has missing
            values, and for every rule of `CustomerSummary`.

        Examples
        --------
        >>> import pandas as pd
        >>> import retention_kit as rk
        >>> frame = pd.DataFrame({"ID": [1, 2, 3], "frequency": [2, 1, 0],
        ...                       "recency": [30.43, 1.71, 0.0], "T": [38.86, 38.86, 38.86]})
        >>> summary = rk.CustomerSummary.from_frame(frame, customer_id="ID", unit="W")
        >>> summary.customer_id.tolist(), summary.frequency.tolist(), summary.unit
        ([1, 2, 3], [2.0, 1.0, 0.0], 'W')
        """
        from ._frames import frame_columns

        columns = frame_columns(
            frame,
            {
                "frequency": frequency,
                "recency": recency,
                "T": T,
                "monetary_value": monetary_value,
                "customer_id": customer_id,
                "weight": weight,
            },
        )
        return cls(**columns, unit=unit)

    def __len__(self) -> int:
        return int(self.frequency.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CustomerSummary):
            return NotImplemented
        return self.unit == other.unit and all(
            _arrays_equal(getattr(self, f.name), getattr(other, f.name))
            for f in fields(self)
            if f.name != "unit"
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def n_customers(self) -> int:
        """Number of customers: the sum of the weights, or the number of rows."""
        if self.weight is None:
            return len(self)
        return round(float(self.weight.sum()))

    def weights(self) -> FloatArray:
        """Return each row's weight (ones when the summary is not compressed).

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.CustomerSummary([0, 1], [0, 2.0], [5.0, 5.0]).weights().tolist()
        [1.0, 1.0]
        """
        if self.weight is None:
            return np.ones(len(self))
        return self.weight

    def compress(self) -> CustomerSummary:
        """Return the weighted form: one row per distinct (frequency, recency, T[, monetary]).

        Every model's fit gives the same answer on the compressed summary as on the original,
        at a cost proportional to the number of distinct rows. Customer ids are dropped.

        Returns
        -------
        CustomerSummary
            Distinct rows in lexicographic order (by frequency, then recency, T and monetary
            value), with ``weight`` summing the weights of the rows each stands for.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([0, 0, 1], [0, 0, 3.0], [9.0, 9.0, 9.0])
        >>> summary.compress().weight.tolist()
        [2.0, 1.0]
        """
        columns = [self.frequency, self.recency, self.T]
        if self.monetary_value is not None:
            columns.append(self.monetary_value)
        order = np.lexsort([_sort_key(c) for c in columns[::-1]])  # primary key: the last
        stacked = [c[order] for c in columns]
        change = np.zeros(len(self), dtype=bool)
        if len(self):
            change[0] = True
        for c in stacked:
            change[1:] |= c[1:] != c[:-1]
        starts = np.flatnonzero(change)
        weight = np.add.reduceat(self.weights()[order], starts) if starts.size else np.empty(0)
        firsts = [c[starts] for c in stacked]
        return CustomerSummary(
            frequency=firsts[0],
            recency=firsts[1],
            T=firsts[2],
            monetary_value=firsts[3] if self.monetary_value is not None else None,
            weight=weight,
            unit=self.unit,
        )

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the summary as a dataframe of the given backend (which must be installed).

        Columns: ``customer_id`` (when known), ``frequency``, ``recency``, ``T``, and
        ``monetary_value`` and ``weight`` when present.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.CustomerSummary([0, 1], [0, 2.0], [5.0, 5.0]).to_frame("pandas").shape
        (2, 3)
        """
        import narwhals as nw

        data: dict[str, Any] = {}
        if self.customer_id is not None:
            data["customer_id"] = np.asarray(self.customer_id)
        data.update(frequency=self.frequency.astype(np.int64), recency=self.recency, T=self.T)
        if self.monetary_value is not None:
            data["monetary_value"] = self.monetary_value
        if self.weight is not None:
            data["weight"] = self.weight
        return nw.from_dict(data, backend=backend).to_native()

    def subset(self, rows: ArrayLike) -> CustomerSummary:
        """Return the rows selected by a boolean mask or integer positions.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.CustomerSummary([0, 1], [0, 2.0], [5.0, 5.0])
        >>> len(summary.subset(summary.frequency > 0))
        1
        """
        n = len(self)
        index = np.atleast_1d(np.asarray(rows))
        if index.size == 0 and index.dtype.kind != "b":
            index = index.astype(np.intp)
        if index.ndim != 1 or index.dtype.kind not in "biu":
            raise InvalidDataError(
                "'rows' must be a boolean mask or integer positions; got an array of shape "
                f"{index.shape} and dtype {index.dtype}",
                field="rows",
            )
        if index.dtype.kind == "b" and index.size != n:
            raise InvalidDataError(
                f"'rows' as a boolean mask must have one entry per row: got {index.size}, "
                f"expected {n}",
                field="rows",
            )
        if index.dtype.kind != "b":
            check_rows(
                (index >= -n) & (index < n), "rows", f"must be in [-{n}, {n})", {"rows": index}
            )

        def pick(values: NDArray[Any] | None) -> NDArray[Any] | None:
            return None if values is None else values[index]

        return CustomerSummary(
            frequency=self.frequency[index],
            recency=self.recency[index],
            T=self.T[index],
            monetary_value=pick(self.monetary_value),
            customer_id=pick(self.customer_id),
            weight=pick(self.weight),
            unit=self.unit,
        )


_OPPORTUNITIES = ("D", "W", "M", "Y")


def _whole_numbers(values: ArrayLike, field: str) -> FloatArray:
    """Return a read-only float column, checking that its entries are non-negative integers."""
    column = float_column(values, field)
    check_rows(
        (column >= 0) & (column == np.floor(column)),
        field,
        "must be a non-negative integer",
        {field: column},
    )
    return column


def _opportunity_index(timestamps: NDArray[np.datetime64], period: str) -> IntArray:
    """Ordinal of the calendar period (day, Monday week, month or year) of each timestamp."""
    if period == "Y":
        return timestamps.astype("datetime64[Y]").astype(np.int64)
    return period_index(timestamps, check_period(period))


@dataclass(frozen=True, slots=True, eq=False)
class DiscreteSummary:
    """Frequency and recency of each customer over discrete transaction opportunities.

    The input of the discrete-time models (`BGBB`): time is a count of opportunities (years of
    a fund-raising campaign, issues of a catalogue, monthly billing runs...), at each of which a
    customer either transacts once or not at all. Opportunity 0 is the customer's first
    transaction (the acquisition, not counted); opportunities 1, ..., n follow it.

    Parameters
    ----------
    frequency : array-like of int
        x, the number of opportunities 1..n with a transaction.
    recency : array-like of int
        t_x, the opportunity of the last transaction (0 when x = 0).
    n_periods : int or array-like of int
        n, the number of opportunities observed after the acquisition; a single number applies
        to every row.
    weight : array-like of float, optional
        How many identical customers each row stands for (the compressed form).
    customer_id : array-like, optional
        One id per row.

    Raises
    ------
    InvalidDataError
        When a value is not finite, frequency, recency or n_periods is negative or fractional,
        frequency > recency or recency > n_periods, recency is 0 for a repeat customer or
        positive for one without repeat transactions, a weight is not positive, or the lengths
        differ.

    See Also
    --------
    CustomerSummary : the continuous-time counterpart.

    Examples
    --------
    The first rows of the donations data: 3,464 supporters gave nothing in the 6 years after
    their first donation, 1,091 gave once, in the first year.

    >>> import retention_kit as rk
    >>> summary = rk.DiscreteSummary(frequency=[0, 1, 6], recency=[0, 1, 6], n_periods=6,
    ...                              weight=[3464, 1091, 1203])
    >>> summary.n_customers, summary.n_periods.tolist()
    (5758, [6.0, 6.0, 6.0])
    """

    frequency: FloatArray
    recency: FloatArray
    n_periods: FloatArray
    weight: FloatArray | None = None
    customer_id: NDArray[Any] | None = None

    def __post_init__(self) -> None:
        frequency = _whole_numbers(self.frequency, "frequency")
        recency = _whole_numbers(self.recency, "recency")
        n_periods: Any = self.n_periods
        if np.ndim(n_periods) == 0:
            n_periods = np.full(frequency.size, n_periods)
        periods = _whole_numbers(n_periods, "n_periods")
        weight = None if self.weight is None else float_column(self.weight, "weight")
        ids = None if self.customer_id is None else readonly(np.asarray(self.customer_id))
        check_same_length(
            frequency=frequency,
            recency=recency,
            n_periods=periods,
            weight=weight,
            customer_id=ids,
        )
        columns = {"frequency": frequency, "recency": recency, "n_periods": periods}
        check_rows(frequency <= recency, "frequency", "must be <= `recency`", columns)
        check_rows(recency <= periods, "recency", "must be <= `n_periods`", columns)
        check_rows(
            (recency == 0) == (frequency == 0),
            "recency",
            "must be 0 exactly when `frequency` is 0",
            columns,
        )
        if weight is not None:
            check_rows(weight > 0, "weight", "must be > 0", {"weight": weight})
        object.__setattr__(self, "frequency", frequency)
        object.__setattr__(self, "recency", recency)
        object.__setattr__(self, "n_periods", periods)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "customer_id", ids)

    def __len__(self) -> int:
        return int(self.frequency.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DiscreteSummary):
            return NotImplemented
        return all(
            _arrays_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def n_customers(self) -> int:
        """Number of customers: the sum of the weights, or the number of rows."""
        if self.weight is None:
            return len(self)
        return round(float(self.weight.sum()))

    def weights(self) -> FloatArray:
        """Return each row's weight (ones when the summary is not compressed).

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.DiscreteSummary([0, 2], [0, 3], 4).weights().tolist()
        [1.0, 1.0]
        """
        if self.weight is None:
            return np.ones(len(self))
        return self.weight

    def compress(self) -> DiscreteSummary:
        """Return the weighted form: one row per distinct (frequency, recency, n_periods).

        A model fitted to the compressed summary is the one fitted to the original; with few
        opportunities there are few distinct rows (at most 22 for 6 opportunities), however
        many customers. Customer ids are dropped.

        Returns
        -------
        DiscreteSummary
            Distinct rows sorted by frequency, then recency, then n_periods, with ``weight``
            summing the weights of the rows each stands for.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.DiscreteSummary([1, 0, 1], [2, 0, 2], [3, 3, 3])
        >>> compressed = summary.compress()
        >>> compressed.frequency.tolist(), compressed.weight.tolist()
        ([0.0, 1.0], [1.0, 2.0])
        """
        columns = [self.frequency, self.recency, self.n_periods]
        order = np.lexsort(columns[::-1])
        stacked = [c[order] for c in columns]
        change = np.zeros(len(self), dtype=bool)
        if len(self):
            change[0] = True
        for c in stacked:
            change[1:] |= c[1:] != c[:-1]
        starts = np.flatnonzero(change)
        weight = np.add.reduceat(self.weights()[order], starts) if starts.size else np.empty(0)
        return DiscreteSummary(
            frequency=stacked[0][starts],
            recency=stacked[1][starts],
            n_periods=stacked[2][starts],
            weight=weight,
        )

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the summary as a dataframe of the given backend (which must be installed).

        Columns: ``customer_id`` (when known), ``frequency``, ``recency`` and ``n_periods`` as
        integers, and ``weight`` when present.

        Examples
        --------
        >>> import retention_kit as rk
        >>> rk.DiscreteSummary([0, 1], [0, 2], 4).to_frame("pandas").shape
        (2, 3)
        """
        import narwhals as nw

        data: dict[str, Any] = {}
        if self.customer_id is not None:
            data["customer_id"] = np.asarray(self.customer_id)
        data.update(
            frequency=self.frequency.astype(np.int64),
            recency=self.recency.astype(np.int64),
            n_periods=self.n_periods.astype(np.int64),
        )
        if self.weight is not None:
            data["weight"] = self.weight
        return nw.from_dict(data, backend=backend).to_native()

    @classmethod
    def from_transactions(
        cls,
        transactions: Transactions | Any,
        *,
        period: Literal["D", "W", "M", "Y"],
        observation_end: Any = None,
        customer_id: str = "customer_id",
        timestamp: str = "timestamp",
    ) -> DiscreteSummary:
        """Summarize a transaction log with calendar periods as the transaction opportunities.

        Each customer's first period with a transaction is the acquisition (opportunity 0);
        the periods after it, up to the one holding ``observation_end``, are opportunities
        1..n. Several transactions in one period count once.

        Parameters
        ----------
        transactions : Transactions or dataframe
            The log; a frame is read with the ``customer_id`` and ``timestamp`` columns.
        period : {"D", "W", "M", "Y"}
            The opportunity: a calendar day, week (starting Monday), month or year.
        observation_end : date, datetime or ISO 8601 string, optional
            The end of observation (default: the last transaction). Transactions after it are
            ignored and customers whose first transaction is after it are left out; the
            period holding it is the last opportunity, so n = (its period) - (first period).
        customer_id, timestamp : str
            Column names when ``transactions`` is a frame.

        Returns
        -------
        DiscreteSummary
            One row per customer, in the order of the sorted customer ids, with
            ``customer_id`` set: x = the number of periods after the first with a transaction,
            t_x = the last such period minus the first (0 when x = 0), n as above.

        Raises
        ------
        InvalidDataError
            When ``period`` is not one of the four, ``observation_end`` cannot be parsed or
            precedes every transaction, or the log itself is invalid.

        Examples
        --------
        >>> import retention_kit as rk
        >>> tx = rk.Transactions(
        ...     ["a", "a", "a", "b", "b"],
        ...     ["2019-05-01", "2020-03-01", "2020-09-01", "2019-02-01", "2022-07-01"],
        ... )
        >>> summary = rk.DiscreteSummary.from_transactions(tx, period="Y",
        ...                                                observation_end="2024-12-31")
        >>> summary.customer_id.tolist(), summary.frequency.tolist(), summary.recency.tolist()
        (['a', 'b'], [1.0, 1.0], [1.0, 3.0])
        >>> summary.n_periods.tolist()
        [5.0, 5.0]
        """
        if period not in _OPPORTUNITIES:
            raise InvalidDataError(
                "The 'period' parameter of DiscreteSummary.from_transactions must be one of "
                "'D' (day), 'W' (week starting Monday), 'M' (month) or 'Y' (year); "
                f"got {period!r} instead.",
                field="period",
            )
        tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp)
        ids, codes = tx.customer_index()
        stamps = tx.timestamp
        end = (
            stamps.max()
            if observation_end is None
            else as_moment(observation_end, "observation_end")
        )
        kept = stamps <= end
        if not kept.any():
            raise InvalidDataError(
                f"'observation_end' must not precede every transaction: got {observation_end!r}, "
                f"but the first transaction is at {stamps.min()}",
                field="observation_end",
            )
        owner = codes[kept]
        slot = _opportunity_index(stamps[kept], period)
        last_slot = int(_opportunity_index(np.array([end]), period)[0])
        order = np.lexsort((slot, owner))
        owner, slot = owner[order], slot[order]
        distinct = np.ones(owner.size, dtype=bool)
        distinct[1:] = (owner[1:] != owner[:-1]) | (slot[1:] != slot[:-1])
        owner, slot = owner[distinct], slot[distinct]
        first_row = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        last_row = np.r_[first_row[1:], owner.size] - 1
        first = slot[first_row]
        return cls(
            frequency=(last_row - first_row).astype(np.float64),
            recency=(slot[last_row] - first).astype(np.float64),
            n_periods=(last_slot - first).astype(np.float64),
            customer_id=ids[owner[first_row]],
        )
