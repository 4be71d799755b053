"""The tracking curve: actual and expected cumulative repeat purchases over calendar time.

The aggregate check of a buy-till-you-die model of Fader, Hardie & Lee (2005), Figure 2: do
the repeat purchases of a cohort of customers, as they happen, follow what the model expects
of customers of their ages? The per-customer checks are in `retention_kit.checking`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._activity import distinct_pairs, group_starts
from ._errors import InvalidDataError
from ._periods import as_moment, check_period, period_index, period_start
from ._typing import DatetimeArray, FloatArray, IntArray, Period
from ._validation import readonly
from .data import Transactions, as_transactions
from .models._base import Model
from .models.bgbb import BGBB

__all__ = ["TrackingCurve", "tracking_curve"]

_BLOCK = 1 << 20
"""Largest number of expected values held at once (8 MB of float64)."""

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


@dataclass(frozen=True, slots=True, eq=False)
class TrackingCurve:
    """Actual and expected cumulative repeat purchases over calendar time.

    Attributes
    ----------
    period_start : ndarray of datetime64[D]
        The first day of each tracking period (day, week starting Monday, or month).
    period_end : ndarray of datetime64[D]
        The last day counted in each period: the period's last day, or for the last period
        the day of the observation end.
    actual : ndarray
        Repeat purchases of the tracked customers up to the end of each period, cumulated.
    expected : ndarray
        The model's expectation of the same, sum_i E[X(tau - t_0i)].
    calibration_end : numpy.datetime64
        Customers whose first purchase is after it are not tracked.
    observation_end : numpy.datetime64
        Purchases after it are not counted.
    n_customers : int
        The number of tracked customers.
    freq : {"D", "W", "M"}
        The tracking period.

    See Also
    --------
    tracking_curve : compute one.
    retention_kit.plotting.tracking_curve : draw the daily curve.

    Examples
    --------
    >>> import retention_kit as rk
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> curve = rk.tracking_curve(model, rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                           observation_end="1998-06-30", freq="M")
    >>> curve.to_frame("pandas").columns.tolist()[:4]
    ['period_start', 'period_end', 'actual', 'expected']
    """

    period_start: DatetimeArray
    period_end: DatetimeArray
    actual: FloatArray
    expected: FloatArray
    calibration_end: np.datetime64
    observation_end: np.datetime64
    n_customers: int
    freq: Period

    def __post_init__(self) -> None:
        for name in ("period_start", "period_end"):
            object.__setattr__(
                self, name, readonly(np.array(getattr(self, name), dtype="datetime64[D]"))
            )
        for name in ("actual", "expected"):
            object.__setattr__(self, name, readonly(np.array(getattr(self, name), np.float64)))

    def __len__(self) -> int:
        return int(self.actual.size)

    @property
    def actual_per_period(self) -> FloatArray:
        """Actual repeat purchases in each period (the increments of ``actual``)."""
        return np.diff(self.actual, prepend=0.0)

    @property
    def expected_per_period(self) -> FloatArray:
        """Expected repeat purchases in each period (the increments of ``expected``)."""
        return np.diff(self.expected, prepend=0.0)

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the curve as a dataframe, one row per period.

        Columns: ``period_start``, ``period_end``, ``actual``, ``expected`` (cumulative) and
        ``actual_per_period``, ``expected_per_period``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> curve = rk.tracking_curve(model, rk.datasets.load_cdnow(),
        ...                           calibration_end="1997-09-30", freq="M")
        >>> curve.to_frame("pandas").shape
        (18, 6)
        """
        import narwhals as nw

        data = {
            "period_start": self.period_start,
            "period_end": self.period_end,
            "actual": self.actual,
            "expected": self.expected,
            "actual_per_period": self.actual_per_period,
            "expected_per_period": self.expected_per_period,
        }
        return nw.from_dict(data, backend=backend).to_native()


def _tracked_model(model: object) -> Model:
    if not isinstance(model, Model) or not hasattr(model, "expected_purchases"):
        raise InvalidDataError(
            "tracking_curve needs a model of repeat purchases with expected_purchases "
            f"(BGNBD, ParetoNBD, MBGNBD or BGBB); got {type(model).__name__}",
            field="model",
        )
    return model


def _expected_cumulative(
    model: Any, ends: IntArray, births: IntArray, period: Period
) -> FloatArray:
    """sum_i E[X(age of customer i at the end of each period)], per distinct birth period.

    ``ends`` and ``births`` are period ordinals. A discrete-time model's age is counted in
    periods (opportunities); a continuous-time model's is the days between the periods'
    first days, in the model's unit (by default the period's, as `summarize` chooses).
    """
    born, count = np.unique(births, return_counts=True)
    weight = count.astype(np.float64)
    discrete = isinstance(model, BGBB)
    if discrete:
        end_time, birth_time = ends, born
        scale = 1.0
    else:
        end_time = period_start(ends, period).astype(np.int64)
        birth_time = period_start(born, period).astype(np.int64)
        unit = model.unit or ("W" if period == "W" else "D")
        scale = _UNIT_DAYS[unit]
    oldest = max(int(end_time.max() - birth_time.min()), 0)
    ages = np.arange(oldest + 1, dtype=np.float64)
    per_age = np.asarray(
        model.expected_purchases(ages if discrete else ages / scale), dtype=np.float64
    )
    expected = np.empty(ends.size)
    block = max(1, _BLOCK // born.size)
    for start in range(0, ends.size, block):
        stop = min(start + block, ends.size)
        age = end_time[start:stop, None] - birth_time[None, :]
        values = np.where(age >= 0, per_age[np.clip(age, 0, oldest)], 0.0)
        expected[start:stop] = values @ weight
    return expected


def tracking_curve(
    model: Any,
    transactions: Transactions | Any,
    *,
    calibration_end: Any,
    observation_end: Any = None,
    freq: Period = "W",
    period: Period = "D",
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
) -> TrackingCurve:
    r"""Return actual and expected cumulative repeat purchases at the end of each period.

    The aggregate check of a buy-till-you-die model over calendar time (Fader, Hardie & Lee
    2005, Figure 2): the customers acquired up to ``calibration_end`` are followed through the
    calibration window and beyond, and their repeat purchases, as counted, are set against
    what the model expects for customers of their ages.

    Parameters
    ----------
    model : BGNBD, ParetoNBD, MBGNBD or BGBB
        With ``expected_purchases``, usually fitted on the calibration summary of
        ``transactions``. A continuous-time model's ages are in its unit (for a model built
        without one, in the unit `summarize` gives ``period``: weeks for ``"W"``, else days);
        a `BGBB`'s are counted in periods of ``period`` (its transaction opportunities).
    transactions : Transactions or dataframe
        The whole log (calibration and holdout); a frame names its columns with
        ``customer_id`` and ``timestamp``.
    calibration_end : date, datetime or ISO 8601 string
        The end of the calibration window: only customers whose first purchase is at or
        before it are tracked.
    observation_end : date, datetime or ISO 8601 string, optional
        The end of the curve, default the last transaction; after ``calibration_end``.
    freq : {"D", "W", "M"}, default "W"
        The tracking period: a point at the end of each day, week (Monday to Sunday) or
        month.
    period : {"D", "W", "M"}, default "D"
        The purchase period of the model's summary, as in `summarize`: several purchases of a
        customer in one period count once. With ``period`` other than ``"D"``, ``freq`` must
        equal it (a curve point inside a purchase period would be ambiguous).
    customer_id, timestamp : str
        Column names when ``transactions`` is a frame.

    Returns
    -------
    TrackingCurve
        One point per tracking period, from the one of the first purchase to the one of
        ``observation_end``.

    Raises
    ------
    InvalidDataError
        When ``model`` has no ``expected_purchases``, ``freq`` or ``period`` is unknown or
        they do not nest, a moment cannot be parsed, ``calibration_end`` is before the first
        purchase, or ``observation_end`` is not after ``calibration_end``.

    Notes
    -----
    With t_0i the first purchase period of customer i and tau the end of a tracking period,
    the expected cumulative repeat purchases are

    .. math::

        \sum_{i:\, t_{0i} \le \tau} E[X(\tau - t_{0i})],

    with E[X(t)] the model's ``expected_purchases`` (BG/NBD: Fader, Hardie & Lee 2005, eq. 9)
    and tau - t_0i the age `summarize` would give customer i with ``observation_end`` = tau
    (so at ``observation_end`` the expected value is the sum of E[X(T_i)] over the summary's
    customers). The actual value counts each tracked customer's purchase periods after the
    first, up to tau: the sum of `summarize`'s frequencies at tau. The model is evaluated once
    per distinct age; the sum runs over distinct acquisition periods, in blocks that bound
    memory.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy Way:
       An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> data = rk.calibration_holdout(tx, calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", unit="W")
    >>> model = rk.BGNBD.fit(data.calibration)
    >>> curve = rk.tracking_curve(model, tx, calibration_end="1997-09-30",
    ...                           observation_end="1998-06-30", freq="W")
    >>> len(curve), str(curve.period_end[-1])
    (79, '1998-06-30')
    >>> int(curve.actual[-1]), round(float(curve.expected[-1]), 1)
    (4339, 4160.6)
    """
    purchases = _tracked_model(model)
    freq = check_period(freq, "freq")
    period = check_period(period, "period")
    if period != "D" and freq != period:
        raise InvalidDataError(
            f"The 'freq' parameter must equal 'period' when period is not 'D': a {freq!r} "
            f"point would fall inside a {period!r} purchase period; got freq={freq!r}, "
            f"period={period!r}",
            field="freq",
        )
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp)
    cal = as_moment(calibration_end, "calibration_end")
    end = tx.end if observation_end is None else as_moment(observation_end, "observation_end")
    if not cal < end:
        raise InvalidDataError(
            f"'observation_end' must be after 'calibration_end': got {end} and {cal}",
            field="observation_end",
        )
    stamps = tx.timestamp
    early = stamps <= cal
    if not early.any():
        raise InvalidDataError(
            f"'calibration_end' must not be before the first purchase ({tx.start}); got "
            f"{calibration_end!r}",
            field="calibration_end",
        )
    ids, codes = tx.customer_index()
    acquired = np.zeros(ids.size, dtype=bool)
    acquired[codes[early]] = True
    kept = (stamps <= end) & acquired[codes]
    owner, purchase_period = distinct_pairs(codes[kept], period_index(stamps[kept], period))
    first = group_starts(owner)
    births = purchase_period[first]
    repeats = np.sort(purchase_period[~first])

    last_day = np.array([end]).astype("datetime64[D]")[0]
    first_slot = int(period_index(np.array([stamps[kept].min()]), freq)[0])
    last_slot = int(period_index(np.array([last_day]), freq)[0])
    slots = np.arange(first_slot, last_slot + 1)
    starts = period_start(slots, freq)
    ends = period_start(slots + 1, freq) - np.timedelta64(1, "D")
    ends[-1] = min(ends[-1], last_day)
    end_periods = period_index(ends, period)
    actual = np.searchsorted(repeats, end_periods, side="right").astype(np.float64)
    expected = _expected_cumulative(purchases, end_periods, births, period)
    return TrackingCurve(
        period_start=starts,
        period_end=ends,
        actual=actual,
        expected=expected,
        calibration_end=cal,
        observation_end=end,
        n_customers=int(births.size),
        freq=freq,
    )
