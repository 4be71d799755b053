"""Segments: every retention metric per customer group, and the difference between two groups.

A segment labels each row of a transaction log (a channel, a loyalty-programme flag, a
region). The metrics group rows by customer through integer customer codes; with a segment
those codes become codes of (segment, customer) pairs, so each metric's core computes every
segment in the same vectorized pass and the unsegmented call is the one-segment case. A
customer whose rows carry several segments counts in each of them, with only those rows.

Segmented results are `Segmented` mappings: segment value -> the result the unsegmented call
returns (a float, `PeriodCounts`, `RetentionSeries`, `CohortTable`, `PurchaseCycle`, ...),
in sorted segment order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._activity import distinct_pairs
from ._errors import InvalidDataError
from ._periods import period_index
from ._typing import BoolArray, FloatArray, IntArray
from ._validation import check_rows, readonly
from .data import Transactions, as_transactions

__all__ = [
    "SegmentComparison",
    "SegmentIndex",
    "Segmented",
    "compare_segments",
    "segment_index",
    "segmented_transactions",
]

R = TypeVar("R")

ComparedMetric = Literal[
    "repeat_purchase_rate",
    "purchase_frequency",
    "repeat_revenue_share",
    "average_order_value",
]


@dataclass(frozen=True, slots=True, eq=False)
class Segmented(Mapping[Any, R], Generic[R]):
    """A metric's result per segment: a read-only mapping segment value -> result.

    Parameters
    ----------
    segments : array-like
        The distinct segment values, sorted.
    results : tuple
        One result per segment, in the order of ``segments``; each of the type the
        metric returns without a segment.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> tx = rk.Transactions(["a", "a", "b", "c"],
    ...                      ["2024-01-01", "2024-01-09", "2024-01-02", "2024-01-05"])
    >>> rates = rk.repeat_purchase_rate(tx, segment=["web", "web", "shop", "web"])
    >>> list(rates), rates["web"], rates["shop"]
    (['shop', 'web'], 0.5, 0.0)
    """

    segments: NDArray[Any]
    results: tuple[R, ...]
    _lookup: dict[Any, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        values = readonly(np.asarray(self.segments))
        if values.ndim != 1 or values.size != len(self.results):
            raise InvalidDataError(
                f"`segments` must hold one value per result: got {values.shape} segments "
                f"and {len(self.results)} results",
                field="segments",
            )
        object.__setattr__(self, "segments", values)
        object.__setattr__(self, "results", tuple(self.results))
        object.__setattr__(self, "_lookup", {v: i for i, v in enumerate(values.tolist())})

    def __getitem__(self, key: Any) -> R:
        if isinstance(key, np.generic):
            key = key.item()
        try:
            return self.results[self._lookup[key]]
        except (KeyError, TypeError):
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.segments.tolist())

    def __len__(self) -> int:
        return len(self.results)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segmented):
            return NotImplemented
        return np.array_equal(self.segments, other.segments) and all(
            bool(np.all(a == b)) for a, b in zip(self.results, other.results, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        items = ", ".join(f"{k!r}: {v!r}" for k, v in self.items())
        return f"Segmented({{{items}}})"


@dataclass(frozen=True, slots=True)
class SegmentIndex:
    """Codes of (segment, customer) pairs: the grouping every segmented metric shares.

    Attributes
    ----------
    segments : ndarray
        Sorted distinct segment values (one entry ``None`` for the unsegmented case).
    codes : ndarray of int64
        Per row, the code of its (segment, customer) pair; pairs are numbered in order of
        segment, then customer id.
    group : ndarray of int64
        Per pair, the position of its segment in ``segments``.
    customer : ndarray of int64
        Per pair, the customer's position in ``Transactions.customer_index()[0]``.
    """

    segments: NDArray[Any]
    codes: IntArray
    group: IntArray
    customer: IntArray

    @property
    def n(self) -> int:
        """Number of (segment, customer) pairs."""
        return int(self.group.size)

    @property
    def n_groups(self) -> int:
        """Number of segments."""
        return int(self.segments.size)


def _segment_values(tx: Transactions, segment: Any, frame: Any) -> NDArray[Any]:
    if isinstance(segment, str):
        if frame is None:
            raise InvalidDataError(
                f"'segment' may be a column name only when the transactions are a frame; got "
                f"the name {segment!r} with a Transactions: pass the values, one per row",
                field="segment",
            )
        import narwhals as nw

        native = nw.from_native(frame)
        if isinstance(native, nw.LazyFrame):
            native = native.select(segment).collect()
        if segment not in native.columns:
            raise InvalidDataError(
                f"'segment' names no column of the frame: {segment!r} not in {native.columns}",
                field="segment",
            )
        values = np.asarray(native[segment].to_numpy())
    else:
        values = np.asarray(segment)
    if values.ndim != 1 or values.size != len(tx):
        raise InvalidDataError(
            f"`segment` must hold one value per transaction: got shape {values.shape} for "
            f"{len(tx)} transactions",
            field="segment",
        )
    if values.dtype.kind == "f":
        check_rows(~np.isnan(values), "segment", "must not be missing", {"segment": values})
    elif values.dtype.kind == "O":
        missing = np.fromiter((v is None or v != v for v in values), bool, values.size)
        check_rows(~missing, "segment", "must not be missing", {"segment": values})
    return values


def segmented_transactions(
    transactions: Transactions | Any,
    segment: Any,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> tuple[Transactions, SegmentIndex]:
    """Read a log and its segment (values or a column of the frame) into a `SegmentIndex`.

    ``segment=None`` gives the one-segment index whose codes are the customer codes.
    """
    frame = None if isinstance(transactions, Transactions) else transactions
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp, amount=amount)
    if segment is None:
        return tx, segment_index(tx, None)
    return tx, segment_index(tx, _segment_values(tx, segment, frame))


def segment_index(tx: Transactions, segment: NDArray[Any] | None) -> SegmentIndex:
    """Codes of the (segment, customer) pairs of ``tx`` (``segment`` one value per row)."""
    ids, customer_codes = tx.customer_index()
    if segment is None:
        n = ids.size
        return SegmentIndex(
            segments=np.array([None], dtype=object),
            codes=customer_codes,
            group=np.zeros(n, dtype=np.int64),
            customer=np.arange(n, dtype=np.int64),
        )
    try:
        values, seg_codes = np.unique(segment, return_inverse=True)
    except TypeError:
        raise InvalidDataError(
            "`segment` must hold values of one comparable type (e.g. all strings)",
            field="segment",
        ) from None
    pair_group, pair_customer = distinct_pairs(seg_codes.reshape(-1), customer_codes)
    key = seg_codes.reshape(-1).astype(np.int64) * ids.size + customer_codes
    pair_key = pair_group * ids.size + pair_customer
    codes = np.searchsorted(pair_key, key)
    return SegmentIndex(
        segments=readonly(values),
        codes=readonly(codes.astype(np.int64)),
        group=readonly(pair_group),
        customer=readonly(pair_customer),
    )


def per_group(index: SegmentIndex, values: NDArray[Any]) -> FloatArray:
    """Sum a per-pair quantity within each segment."""
    return _sums(index.group, values, index.n_groups)


def _sums(codes: IntArray, weights: NDArray[Any], n: int) -> FloatArray:
    """Sum of ``weights`` per code 0..n-1 (float64)."""
    return np.bincount(codes, weights=weights, minlength=n).astype(np.float64)


def wrap(index: SegmentIndex, results: list[R] | tuple[R, ...]) -> Segmented[R]:
    """Package per-segment results as a `Segmented` mapping."""
    return Segmented(segments=index.segments, results=tuple(results))


# --- comparing two segments ---


def _customer_ratio(
    tx: Transactions, index: SegmentIndex, metric: str
) -> tuple[FloatArray, FloatArray]:
    """Each pair's numerator and denominator: the metric of a group is sum(num) / sum(den)."""
    n = index.n
    if metric == "repeat_purchase_rate":
        pair_codes, _ = distinct_pairs(index.codes, period_index(tx.timestamp, "D"))
        days = np.bincount(pair_codes, minlength=n)
        return (days >= 2).astype(float), np.ones(n)
    if metric == "purchase_frequency":
        return np.bincount(index.codes, minlength=n).astype(float), np.ones(n)
    if tx.amount is None:
        raise InvalidDataError(
            f"'metric' {metric!r} needs amounts: the transactions have none", field="amount"
        )
    repeat = repeat_rows(index.codes, n, tx.timestamp)
    if metric == "repeat_revenue_share":
        return _sums(index.codes[repeat], tx.amount[repeat], n), _sums(index.codes, tx.amount, n)
    if metric == "average_order_value":
        return _sums(index.codes, tx.amount, n), _sums(index.codes, np.ones(len(tx)), n)
    raise InvalidDataError(
        f"The 'metric' parameter of compare_segments must be one of "
        f"{list(ComparedMetric.__args__)}; got {metric!r} instead.",  # type: ignore[attr-defined]
        field="metric",
    )


def repeat_rows(codes: IntArray, n: int, timestamp: NDArray[Any]) -> BoolArray:
    """Rows on a later day than the first purchase day of their (segment, customer) pair."""
    days = period_index(timestamp, "D")
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, days)
    repeat: BoolArray = days > first[codes]
    return repeat


@dataclass(frozen=True, slots=True)
class SegmentComparison:
    """The difference of a metric between two segments, with its bootstrap interval.

    Attributes
    ----------
    metric : str
        The metric compared.
    a, b : object
        The two segment values.
    estimate_a, estimate_b : float
        The metric of each segment.
    difference : float
        ``estimate_a - estimate_b``.
    low, high : float
        Bounds of the ``confidence_level`` interval for the difference.
    confidence_level : float
    n_resamples : int
    n_customers_a, n_customers_b : int
        Customers in each segment.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> parity = np.where(tx.customer_id % 2 == 0, "even", "odd")
    >>> result = rk.compare_segments(tx, segment=parity, a="even", b="odd",
    ...                              metric="purchase_frequency", rng=1)
    >>> result.n_customers_a, result.n_customers_b
    (1178, 1179)
    """

    metric: str
    a: Any
    b: Any
    estimate_a: float
    estimate_b: float
    difference: float
    low: float
    high: float
    confidence_level: float
    n_resamples: int
    n_customers_a: int
    n_customers_b: int


def _bootstrap_ratios(
    num: FloatArray, den: FloatArray, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    """sum(w num) / sum(w den) for multinomial customer weights w, one per resample."""
    n = num.size
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = (weights @ num) / (weights @ den)
    return out


def compare_segments(
    transactions: Transactions | Any,
    *,
    segment: Any,
    a: Any,
    b: Any,
    metric: ComparedMetric = "repeat_purchase_rate",
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> SegmentComparison:
    r"""Compare a metric between segments ``a`` and ``b`` with a customer bootstrap interval.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below.
    segment : array-like or str
        One segment value per row, or the name of a column of the frame.
    a, b : object
        The two segment values to compare (``a`` minus ``b``).
    metric : str, default "repeat_purchase_rate"
        One of "repeat_purchase_rate", "purchase_frequency", "repeat_revenue_share",
        "average_order_value": the share of customers with two or more purchase days;
        orders per customer; the share of revenue from orders after the customer's first
        purchase day; revenue per order.
    n_resamples : int, default 2000
        Bootstrap resamples, >= 100.
    confidence_level : float, default 0.95
        In (0, 1).
    rng : numpy.random.Generator or int, optional
        Random generator or seed: the same seed gives the same interval.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    SegmentComparison

    Raises
    ------
    InvalidDataError
        When a segment value is absent, the metric unknown, amounts are missing for a revenue
        metric, or a segment's denominator is zero (no revenue, for the revenue share).

    Notes
    -----
    Each metric is a ratio of customer sums, m = sum_c u_c / sum_c v_c (for the repeat
    purchase rate u_c = 1{two or more purchase days}, v_c = 1). The bootstrap resamples
    *customers* with replacement within each segment, never rows, so the dependence between a
    customer's orders is kept: resample j weighs customer c by a multinomial count w_cj and
    gives m_j = sum_c w_cj u_c / sum_c w_cj v_c. The interval is the normal interval with the
    bootstrap standard error,

    .. math::

        \hat\Delta \pm z_{(1+\gamma)/2}\,
        \mathrm{sd}_j\left(m^{(a)}_j - m^{(b)}_j\right),

    which is centred on the estimate (so it always contains it) and shrinks like
    1 / sqrt(customers).

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall,
       1993, ch. 6 and 13.

    Examples
    --------
    >>> import numpy as np
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> parity = np.where(tx.customer_id % 2 == 0, "even", "odd")
    >>> result = rk.compare_segments(tx, segment=parity, a="even", b="odd", rng=1)
    >>> round(result.estimate_a, 3), round(result.estimate_b, 3), round(result.difference, 3)
    (0.481, 0.485, -0.004)
    >>> bool(result.low < result.difference < result.high)
    True
    """
    n_boot = _count(n_resamples)
    level = _confidence(confidence_level)
    tx, index = segmented_transactions(
        transactions, segment, customer_id=customer_id, timestamp=timestamp, amount=amount
    )
    if segment is None:
        raise InvalidDataError("'segment' is required to compare segments", field="segment")
    num, den = _customer_ratio(tx, index, metric)
    generator = np.random.default_rng(rng)
    estimates = []
    draws = []
    sizes = []
    for value, name in ((a, "a"), (b, "b")):
        hits = np.flatnonzero(index.segments == value)
        if hits.size != 1:
            raise InvalidDataError(
                f"'{name}' must be one of the segment values {index.segments.tolist()}; "
                f"got {value!r}",
                field=name,
            )
        members = index.group == hits[0]
        total = den[members].sum()
        if not total > 0:
            raise InvalidDataError(
                f"segment {value!r} has a zero denominator for {metric!r}: the metric is "
                "undefined there",
                field="segment",
            )
        estimates.append(float(num[members].sum() / total))
        draws.append(_bootstrap_ratios(num[members], den[members], n_boot, generator))
        sizes.append(int(members.sum()))
    difference = draws[0] - draws[1]
    finite = difference[np.isfinite(difference)]
    spread = float(np.std(finite, ddof=1)) if finite.size > 1 else 0.0
    from scipy.special import ndtri

    z = float(ndtri(0.5 + level / 2.0))
    point = estimates[0] - estimates[1]
    return SegmentComparison(
        metric=metric,
        a=a,
        b=b,
        estimate_a=estimates[0],
        estimate_b=estimates[1],
        difference=point,
        low=point - z * spread,
        high=point + z * spread,
        confidence_level=level,
        n_resamples=n_boot,
        n_customers_a=sizes[0],
        n_customers_b=sizes[1],
    )


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 100:
        raise InvalidDataError(
            f"'n_resamples' must be an integer >= 100; got {value!r}", field="n_resamples"
        )
    return int(value)


def _confidence(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.number)
        or not (math.isfinite(float(value)) and 0 < float(value) < 1)
    ):
        raise InvalidDataError(
            f"'confidence_level' must be a number in (0, 1); got {value!r}",
            field="confidence_level",
        )
    return float(value)
