"""Acquisition cohorts: who of each month's (week's, day's) new customers came back, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from . import _lazy_metrics
from ._activity import Columns, customer_periods, group_starts
from ._errors import InvalidDataError
from ._frames import is_lazy
from ._periods import check_period, period_start
from ._typing import DatetimeArray, FloatArray, IntArray, Period
from ._validation import check_rows, readonly
from .data import Transactions
from .segments import Segmented, segmented_transactions, wrap

__all__ = ["CohortTable", "cohort_retention"]


@dataclass(frozen=True, slots=True, eq=False)
class CohortTable:
    """Customers of each acquisition cohort buying in each period after it.

    Parameters
    ----------
    cohorts : array-like of datetime64[D]
        First day of each cohort's period, ascending.
    sizes : array-like of int
        Customers in each cohort (> 0).
    counts : array-like of float, shape (cohorts, ages)
        ``counts[i, k]``: customers of cohort i who bought in the k-th period after the cohort
        period (k = 0 is the cohort period itself); NaN where that period is beyond the data.
    freq : {"D", "W", "M"}
        The calendar period of cohorts and ages.

    Attributes
    ----------
    rates : ndarray of float64, shape (cohorts, ages)
        ``counts / sizes[:, None]``, NaN where ``counts`` is.

    Raises
    ------
    InvalidDataError
        When shapes disagree, a size is not positive, or a count is outside [0, size].

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> table = rk.CohortTable(
    ...     cohorts=np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
    ...     sizes=[4, 2], counts=[[4.0, 1.0], [2.0, np.nan]], freq="M")
    >>> table.rates
    array([[1.  , 0.25],
           [1.  ,  nan]])
    """

    cohorts: DatetimeArray
    sizes: IntArray
    counts: FloatArray
    freq: Period
    rates: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        check_period(self.freq, "freq")
        cohorts = np.asarray(self.cohorts, dtype="datetime64[D]")
        sizes = np.asarray(self.sizes)
        counts = np.asarray(self.counts, dtype=np.float64)
        if sizes.ndim != 1 or (sizes.size and sizes.dtype.kind not in "iu"):
            raise InvalidDataError(
                f"`sizes` must be a one-dimensional array of integers: got {sizes.dtype} of "
                f"shape {sizes.shape}",
                field="sizes",
            )
        sizes = sizes.astype(np.int64, copy=False)
        if (
            cohorts.ndim != 1
            or counts.ndim != 2
            or not (cohorts.size == sizes.size == counts.shape[0])
        ):
            raise InvalidDataError(
                "`counts` must have one row per cohort and `sizes` one entry per cohort: got "
                f"{cohorts.shape} cohorts, {sizes.shape} sizes and counts of shape "
                f"{counts.shape}",
                field="counts",
            )
        check_rows(sizes > 0, "sizes", "must be > 0", {"sizes": sizes})
        observed = ~np.isnan(counts)
        inside = (counts >= 0) & (counts <= sizes[:, None]) & (counts == np.floor(counts))
        check_rows(
            (inside | ~observed).all(axis=1),
            "counts",
            "must be whole numbers in [0, size] (or NaN beyond the data)",
            {"sizes": sizes},
        )
        object.__setattr__(self, "cohorts", readonly(cohorts))
        object.__setattr__(self, "sizes", readonly(sizes))
        object.__setattr__(self, "counts", readonly(counts))
        object.__setattr__(self, "rates", readonly(counts / sizes[:, None]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CohortTable):
            return NotImplemented
        return (
            self.freq == other.freq
            and np.array_equal(self.cohorts, other.cohorts)
            and np.array_equal(self.sizes, other.sizes)
            and self.counts.shape == other.counts.shape
            and np.array_equal(self.counts, other.counts, equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return int(self.sizes.size)

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the table in long form, one row per observed (cohort, age) cell.

        Columns: ``cohort`` (date: first day of the cohort period), ``size`` (customers in the
        cohort), ``age`` (k, periods since the cohort period), ``customers`` (``counts[i, k]``)
        and ``rate``. Cells beyond the data (NaN in `counts`) are left out. For the familiar
        triangle, pivot it: ``frame.pivot(index="cohort", columns="age", values="rate")``
        in pandas, ``frame.pivot(on="age", index="cohort", values="rate")`` in polars.

        Parameters
        ----------
        backend : {"pandas", "polars", "pyarrow"}, default "pandas"
            The dataframe library (which must be installed).

        Returns
        -------
        dataframe

        Examples
        --------
        >>> import retention_kit as rk
        >>> table = rk.cohort_retention(rk.datasets.load_cdnow())
        >>> frame = table.to_frame("pandas")
        >>> frame.columns.tolist()
        ['cohort', 'size', 'age', 'customers', 'rate']
        >>> frame.pivot(index="cohort", columns="age", values="rate").shape
        (3, 18)
        """
        import narwhals as nw

        row, age = np.nonzero(~np.isnan(self.counts))
        data: dict[str, NDArray[Any]] = {
            "cohort": self.cohorts[row],
            "size": self.sizes[row],
            "age": age.astype(np.int64),
            "customers": self.counts[row, age].astype(np.int64),
            "rate": self.rates[row, age],
        }
        return nw.from_dict(data, backend=backend).to_native()


@overload
def cohort_retention(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> CohortTable: ...
@overload
def cohort_retention(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[CohortTable]: ...
def cohort_retention(
    transactions: Transactions | Any,
    *,
    freq: Period = "M",
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> CohortTable | Segmented[CohortTable]:
    """Cohort table: of the customers acquired in each period, who bought k periods later.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below.
    freq : {"D", "W", "M"}, default "M"
        Calendar period of the cohorts and of the ages: day, week starting Monday, or month.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    CohortTable or Segmented of CohortTable
        One row per period in which at least one customer made a first purchase (periods
        acquiring nobody are left out), one column per age k = 0 .. K - 1, K the number of
        periods from the earliest cohort to the last transaction. With ``segment``, one table
        per segment, each with its own cohorts and K counted from its earliest cohort to the
        last transaction of the whole log (the end of the data).

    Notes
    -----
    A customer's cohort is the period of their first purchase, c. With q the period of each
    purchase,

        counts[i, k] = #{customers of cohort i with a purchase in period c_i + k}
        rates[i, k] = counts[i, k] / sizes[i]

    so ``counts[i, 0] == sizes[i]`` and ``rates[i, 0] == 1``. A customer counts once per
    period whatever the number of purchases in it. Cells whose period c_i + k comes after the
    period of the last transaction are NaN: the data cannot tell (which is why `counts` is
    float). The last observed column of each row covers the last period only up to the last
    transaction, so it may be partial.

    Computed from the distinct (customer, period) pairs (a boolean table of customers x
    periods when that is small, else a sort of int64 keys) and one ``bincount`` over the
    cells.

    Examples
    --------
    >>> import retention_kit as rk
    >>> table = rk.cohort_retention(rk.datasets.load_cdnow(), freq="M")
    >>> [str(c) for c in table.cohorts], table.sizes.tolist()
    (['1997-01-01', '1997-02-01', '1997-03-01'], [781, 857, 719])
    >>> table.counts[0, :4].tolist()
    [781.0, 124.0, 95.0, 70.0]
    >>> table.counts[2, -2:].tolist()
    [nan, nan]
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    if is_lazy(transactions) and segment is None:
        return _lazy_metrics.cohort_retention(
            transactions, freq=check_period(freq, "freq"), **columns
        )
    tx, index = segmented_transactions(transactions, segment, **columns)
    freq = check_period(freq, "freq")
    codes, periods = customer_periods(index.codes, tx.timestamp, freq)
    # Pairs are sorted by customer then period: each customer's first pair is the cohort.
    first_of_customer = group_starts(codes)
    cohort_of_customer = periods[first_of_customer]
    low = int(cohort_of_customer.min())
    last = int(periods.max())
    n_ages = last - low + 1
    n_groups = index.n_groups
    # One bincount over (segment, cohort period, age) cells for every segment at once.
    size_by_period = np.bincount(
        index.group * n_ages + cohort_of_customer - low, minlength=n_groups * n_ages
    ).reshape(n_groups, n_ages)
    cohort = cohort_of_customer[codes]
    cells = (index.group[codes] * n_ages + cohort - low) * n_ages + (periods - cohort)
    counts = (
        np.bincount(cells, minlength=n_groups * n_ages * n_ages)
        .reshape(n_groups, n_ages, n_ages)
        .astype(float)
    )
    beyond = np.arange(n_ages)[None, :] > (last - low - np.arange(n_ages))[:, None]
    counts[:, beyond] = np.nan
    tables = []
    for g in range(n_groups):
        acquiring = np.flatnonzero(size_by_period[g])
        width = n_ages - int(acquiring[0])
        tables.append(
            CohortTable(
                cohorts=period_start(acquiring + low, freq),
                sizes=size_by_period[g, acquiring],
                counts=counts[g, acquiring, :width],
                freq=freq,
            )
        )
    return tables[0] if segment is None else wrap(index, tables)
