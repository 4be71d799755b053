"""Per-customer sufficient statistics of the buy-till-you-die models."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._errors import InvalidDataError
from ._typing import FloatArray, TimeUnit
from ._validation import check_rows, check_same_length, float_column, readonly

__all__ = ["CustomerSummary"]

_UNITS = ("D", "W")


def _arrays_equal(a: NDArray[Any] | None, b: NDArray[Any] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(a, b))


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
        order = np.lexsort(columns[::-1])  # lexsort's primary key is its last
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
