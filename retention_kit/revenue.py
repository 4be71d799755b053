"""Revenue from returning customers: the repeat share of revenue and first vs repeat order value.

An order is a *first* order when it falls on the customer's first purchase day, a *repeat*
order when it falls on a later day (the purchase occasions of `repeat_purchase_rate`). The
split is reported per calendar period (when the money came in) or per acquisition cohort (who
brought it in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np

from ._activity import Columns
from ._errors import InvalidDataError
from ._periods import check_period, period_index, period_start
from ._typing import DatetimeArray, FloatArray, IntArray, Period
from ._validation import check_rows, check_same_length, readonly
from .data import Transactions
from .segments import Segmented, SegmentIndex, repeat_rows, segmented_transactions, wrap

__all__ = ["RevenueSplit", "revenue_by_cohort", "revenue_by_period"]


@dataclass(frozen=True, slots=True, eq=False)
class RevenueSplit:
    """Revenue and orders split into first and repeat purchases, per period or per cohort.

    Parameters
    ----------
    label : array-like of datetime64[D]
        First day of each row's calendar period (``by="period"``) or acquisition cohort
        (``by="cohort"``).
    first_revenue, repeat_revenue : array-like of float
        Revenue of first and of repeat orders, >= 0.
    first_orders, repeat_orders : array-like of int
        Number of first and of repeat orders (rows of the log), >= 0.
    freq : {"D", "W", "M"}
        The calendar period.
    by : {"period", "cohort"}
        What a row is.

    Attributes
    ----------
    revenue : ndarray
        ``first_revenue + repeat_revenue``.
    repeat_share : ndarray
        ``repeat_revenue / revenue``; NaN where there is no revenue.
    first_order_value, repeat_order_value : ndarray
        Average order value of first and of repeat orders; NaN where there are none.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> split = rk.RevenueSplit(
    ...     label=np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
    ...     first_revenue=[100.0, 50.0], repeat_revenue=[0.0, 150.0],
    ...     first_orders=[4, 2], repeat_orders=[0, 3], freq="M", by="period")
    >>> split.repeat_share.tolist(), split.repeat_order_value.tolist()
    ([0.0, 0.75], [nan, 50.0])
    """

    label: DatetimeArray
    first_revenue: FloatArray
    repeat_revenue: FloatArray
    first_orders: IntArray
    repeat_orders: IntArray
    freq: Period
    by: Literal["period", "cohort"]
    revenue: FloatArray = field(init=False)
    repeat_share: FloatArray = field(init=False)
    first_order_value: FloatArray = field(init=False)
    repeat_order_value: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        check_period(self.freq, "freq")
        if self.by not in ("period", "cohort"):
            raise InvalidDataError(
                f"'by' must be 'period' or 'cohort'; got {self.by!r}", field="by"
            )
        columns = {
            "label": np.asarray(self.label, dtype="datetime64[D]"),
            "first_revenue": np.asarray(self.first_revenue, dtype=np.float64),
            "repeat_revenue": np.asarray(self.repeat_revenue, dtype=np.float64),
            "first_orders": np.asarray(self.first_orders, dtype=np.int64),
            "repeat_orders": np.asarray(self.repeat_orders, dtype=np.int64),
        }
        check_same_length(**columns)
        for name in ("first_revenue", "repeat_revenue", "first_orders", "repeat_orders"):
            values = columns[name]
            check_rows(
                np.isfinite(values) & (values >= 0),
                name,
                "must be finite and >= 0",
                {name: values},
            )
        revenue = columns["first_revenue"] + columns["repeat_revenue"]
        with np.errstate(divide="ignore", invalid="ignore"):
            derived = {
                "revenue": revenue,
                "repeat_share": np.where(revenue > 0, columns["repeat_revenue"] / revenue, np.nan),
                "first_order_value": np.where(
                    columns["first_orders"] > 0,
                    columns["first_revenue"] / columns["first_orders"],
                    np.nan,
                ),
                "repeat_order_value": np.where(
                    columns["repeat_orders"] > 0,
                    columns["repeat_revenue"] / columns["repeat_orders"],
                    np.nan,
                ),
            }
        for name, value in (columns | derived).items():
            object.__setattr__(self, name, readonly(value))

    def __len__(self) -> int:
        return int(self.label.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RevenueSplit):
            return NotImplemented
        return (self.freq, self.by) == (other.freq, other.by) and all(
            np.array_equal(getattr(self, n), getattr(other, n))
            for n in ("label", "first_revenue", "repeat_revenue", "first_orders", "repeat_orders")
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def total_repeat_share(self) -> float:
        """Share of all revenue in the table that came from repeat orders (NaN without revenue)."""
        total = float(self.revenue.sum())
        return float(self.repeat_revenue.sum()) / total if total > 0 else float("nan")


def _split(
    transactions: Transactions | Any,
    segment: Any,
    freq: Period,
    by: Literal["period", "cohort"],
    columns: Columns,
) -> tuple[list[RevenueSplit], SegmentIndex]:
    tx, index = segmented_transactions(transactions, segment, **columns)
    freq = check_period(freq, "freq")
    if tx.amount is None:
        raise InvalidDataError(
            "`amount` is required for a revenue split: the transactions have no amounts "
            "(pass amount=<column> with a frame)",
            field="amount",
        )
    repeat = repeat_rows(index.codes, index.n, tx.timestamp)
    periods = period_index(tx.timestamp, freq)
    if by == "cohort":
        first = np.full(index.n, np.iinfo(np.int64).max)
        np.minimum.at(first, index.codes, periods)
        periods = first[index.codes]
    low = int(periods.min())
    width = int(periods.max()) - low + 1
    n_groups = index.n_groups
    # One bincount per quantity over (segment, repeat?, period) cells: every segment at once.
    cell = (index.group[index.codes] * 2 + repeat) * width + (periods - low)
    size = n_groups * 2 * width
    revenue = np.bincount(cell, weights=tx.amount, minlength=size).reshape(n_groups, 2, width)
    orders = np.bincount(cell, minlength=size).reshape(n_groups, 2, width)
    labels = period_start(np.arange(low, low + width), freq)
    results = []
    for g in range(n_groups):
        keep = orders[g].sum(axis=0) > 0 if by == "cohort" else np.ones(width, dtype=bool)
        results.append(
            RevenueSplit(
                label=labels[keep],
                first_revenue=revenue[g, 0, keep],
                repeat_revenue=revenue[g, 1, keep],
                first_orders=orders[g, 0, keep],
                repeat_orders=orders[g, 1, keep],
                freq=freq,
                by=by,
            )
        )
    return results, index


@overload
def revenue_by_period(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> RevenueSplit: ...
@overload
def revenue_by_period(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[RevenueSplit]: ...
def revenue_by_period(
    transactions: Transactions | Any,
    *,
    freq: Period = "M",
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> RevenueSplit | Segmented[RevenueSplit]:
    r"""Revenue of each calendar period split into first and repeat orders.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log, with amounts; a frame is read with the column names below.
    freq : {"D", "W", "M"}, default "M"
        Calendar period.
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame (``amount`` is then
        required).

    Returns
    -------
    RevenueSplit or Segmented of RevenueSplit
        One row per period from the first to the last transaction (``by="period"``).

    Raises
    ------
    InvalidDataError
        On an invalid log, or a log without amounts.

    Notes
    -----
    With f_c the first purchase day of customer c, an order of c on day d is a repeat order
    when d > f_c. For period p,

    .. math::

        \text{repeat share}_p = \frac{\sum_{\text{orders } o \in p,\ d_o > f_{c_o}} m_o}
        {\sum_{\text{orders } o \in p} m_o}

    and the average order value of first (repeat) orders is their revenue over their count.
    Early periods are mostly first orders by construction: the share is only comparable
    across periods once the customer base has aged.

    Examples
    --------
    >>> import retention_kit as rk
    >>> split = rk.revenue_by_period(rk.datasets.load_cdnow(), freq="M")
    >>> len(split), round(float(split.repeat_share[0]), 3), round(float(split.repeat_share[-1]), 3)
    (18, 0.113, 1.0)
    >>> round(split.total_repeat_share, 3)
    0.681
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    results, index = _split(transactions, segment, freq, "period", columns)
    return results[0] if segment is None else wrap(index, results)


@overload
def revenue_by_cohort(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    segment: None = None,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> RevenueSplit: ...
@overload
def revenue_by_cohort(
    transactions: Transactions | Any,
    *,
    freq: Period = ...,
    segment: Any,
    customer_id: str = ...,
    timestamp: str = ...,
    amount: str | None = ...,
) -> Segmented[RevenueSplit]: ...
def revenue_by_cohort(
    transactions: Transactions | Any,
    *,
    freq: Period = "M",
    segment: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> RevenueSplit | Segmented[RevenueSplit]:
    """Lifetime revenue of each acquisition cohort split into first and repeat orders.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log, with amounts; a frame is read with the column names below.
    freq : {"D", "W", "M"}, default "M"
        Calendar period of the cohorts (the period of each customer's first purchase).
    segment : array-like or str, optional
        One segment value per row, or the name of a column of the frame.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    RevenueSplit or Segmented of RevenueSplit
        One row per cohort that acquired customers (``by="cohort"``), with all the revenue
        its customers brought in up to the end of the log.

    Raises
    ------
    InvalidDataError
        On an invalid log, or a log without amounts.

    Notes
    -----
    The same first/repeat rule as `revenue_by_period`; rows are grouped by the customer's
    cohort instead of the order's period. Younger cohorts have had less time to repeat, so
    their repeat share is lower for that reason alone.

    Examples
    --------
    >>> import retention_kit as rk
    >>> split = rk.revenue_by_cohort(rk.datasets.load_cdnow())
    >>> [str(c) for c in split.label], split.repeat_share.round(3).tolist()
    (['1997-01-01', '1997-02-01', '1997-03-01'], [0.678, 0.675, 0.693])
    """
    columns: Columns = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    results, index = _split(transactions, segment, freq, "cohort", columns)
    return results[0] if segment is None else wrap(index, results)
