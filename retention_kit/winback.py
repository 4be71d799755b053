"""Win-back timing: when each customer is due a "come back" message, under three rules.

- ``"fixed"``: a fixed delay after the last order (the e-commerce articles' six months);
- ``"cycle"``: overdue by the customer's own purchase cycle (`purchase_cycle`);
- ``"model"``: the moment a fitted buy-till-you-die model's P(alive) drops below a threshold.

`compare_winback` replays the rules on a calibration/holdout split and counts, for each rule,
whom it would have contacted and which of them bought again anyway or lapsed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._errors import InvalidDataError
from ._periods import as_moment
from ._typing import BoolArray, DatetimeArray, FloatArray, IntArray
from ._validation import readonly
from .cycle import purchase_cycle
from .data import Transactions, as_transactions
from .summarizing import summarize
from .summary import CustomerSummary

__all__ = ["WinbackComparison", "WinbackSchedule", "compare_winback", "winback_schedule"]

Rule = Literal["fixed", "cycle", "model"]

_DAY = np.timedelta64(1, "D")
_UNIT_DAYS = {"D": 1.0, "W": 7.0}


class AliveModel(Protocol):
    """A model with P(alive) t units after the end of observation (BG/NBD, Pareto/NBD, ...)."""

    @property
    def unit(self) -> Any: ...

    def probability_alive(self, summary: CustomerSummary, *, t: ArrayLike = ...) -> FloatArray:
        """P(alive at T + t)."""
        ...


@dataclass(frozen=True, slots=True, eq=False)
class WinbackSchedule:
    """Each customer's win-back due date under one rule (see `winback_schedule`).

    Attributes
    ----------
    customer_id : ndarray
        Sorted customer ids.
    last_purchase : ndarray of datetime64[s]
        Each customer's last purchase up to ``observation_end``.
    due : ndarray of datetime64[s]
        When the message is due; NaT when the rule never makes it due (an infinite cycle, a
        P(alive) that stays above the threshold within the search horizon).
    rule : str
    observation_end : numpy.datetime64

    Examples
    --------
    >>> import retention_kit as rk
    >>> schedule = rk.winback_schedule(rk.datasets.load_cdnow(), rule="fixed", delay=90)
    >>> schedule.rule, schedule.customer_id.size
    ('fixed', 2357)
    """

    customer_id: NDArray[Any]
    last_purchase: DatetimeArray
    due: DatetimeArray
    rule: Rule
    observation_end: np.datetime64

    def due_by(self, moment: Any) -> NDArray[Any]:
        """Return the ids of the customers due at or before ``moment``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> schedule = rk.winback_schedule(rk.datasets.load_cdnow(), rule="fixed")
        >>> schedule.due_by("1998-06-30").size
        1842
        """
        at = as_moment(moment, "moment")
        ids: NDArray[Any] = self.customer_id[~np.isnat(self.due) & (self.due <= at)]
        return ids


def _positive(value: object, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.number)
        or not (math.isfinite(float(value)) and float(value) > 0)
    ):
        raise InvalidDataError(f"'{name}' must be a finite number > 0; got {value!r}", field=name)
    return float(value)


def _days(value: float) -> np.timedelta64:
    return np.timedelta64(round(value * 86_400), "s")


def _solve_alive(
    model: AliveModel, summary: CustomerSummary, threshold: float, horizon: float
) -> FloatArray:
    """Per customer, the t >= 0 with P(alive at T + t) = threshold, by vectorized bisection.

    0 where P(alive at T) is already <= threshold; inf where P(alive at T + horizon) is still
    above it. P(alive at T + t) is non-increasing in t, so bisection on [0, horizon] holds.
    """
    n = len(summary)
    now = model.probability_alive(summary, t=0.0)
    end = model.probability_alive(summary, t=horizon)
    lo = np.zeros(n)
    hi = np.full(n, horizon)
    for _ in range(50):  # halves the bracket to horizon * 2**-50
        mid = (lo + hi) / 2.0
        above = model.probability_alive(summary, t=mid) > threshold
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    t = np.where(now <= threshold, 0.0, hi)
    out: FloatArray = np.where(end > threshold, np.inf, t)
    return out


def winback_schedule(
    transactions: Transactions | Any,
    *,
    rule: Rule = "fixed",
    delay: float = 182.0,
    factor: float = 1.0,
    model: AliveModel | None = None,
    threshold: float = 0.5,
    observation_end: Any = None,
    horizon: float = 3650.0,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> WinbackSchedule:
    r"""Return each customer's win-back due date under a documented rule.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The log; a frame is read with the column names below. Rows after ``observation_end``
        are ignored.
    rule : {"fixed", "cycle", "model"}, default "fixed"
        ``"fixed"``: ``delay`` days after the last purchase. ``"cycle"``: ``factor`` times the
        customer's expected purchase cycle after the last purchase day (their own median gap,
        else the population Kaplan-Meier median, as `PurchaseCycle.overdue`). ``"model"``: when
        ``model``'s P(alive) falls to ``threshold``.
    delay : float, default 182.0
        Days, for ``"fixed"`` (182 days: the articles' six months).
    factor : float, default 1.0
        Cycles, for ``"cycle"``.
    model : fitted model, optional
        Required for ``"model"``: anything with ``probability_alive(summary, *, t)`` and a
        ``unit`` (`BGNBD`, `ParetoNBD`, `MBGNBD`), fitted on daily purchase periods.
    threshold : float, default 0.5
        In (0, 1), for ``"model"``.
    observation_end : datetime64, datetime, date or ISO 8601 string, optional
        The moment the schedule is drawn up; default: the last transaction.
    horizon : float, default 3650.0
        Days to search ahead for the ``"model"`` rule; beyond it the due date is NaT.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    WinbackSchedule

    Raises
    ------
    InvalidDataError
        On an unknown rule, a non-positive delay, factor or horizon, a threshold outside
        (0, 1), a missing model, or no transaction by ``observation_end``.

    Notes
    -----
    With L the customer's last purchase and T the end of observation:

    - fixed: due = L + delay;
    - cycle: due = day(L) + factor * g, g the customer's median gap (in days) or, with no
      gap yet, the population median (NaT when that is infinite);
    - model: due = T + t*, the solution of

      .. math::

          P(\text{alive at } T + t^* \mid x, t_x, T) = \text{threshold},

      found per customer by bisection (P(alive at T + t) is non-increasing in t); t* = 0
      when P(alive at T) is already at or below the threshold. For BG/NBD the left side is
      P(alive at T) times 2F1(r + x, a; a + b + x; -t / (alpha + T)) (see
      `BGNBD.probability_alive`).

    Due dates before T mean "overdue already": send now.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> fixed = rk.winback_schedule(tx, rule="fixed", observation_end="1997-09-30")
    >>> str(fixed.due[0])[:10], str(fixed.last_purchase[0])[:10]
    ('1998-01-31', '1997-08-02')
    >>> cycle = rk.winback_schedule(tx, rule="cycle", observation_end="1997-09-30")
    >>> str(cycle.due[0])[:10]
    '1997-11-16'
    """
    if rule not in ("fixed", "cycle", "model"):
        raise InvalidDataError(
            "The 'rule' parameter of winback_schedule must be 'fixed', 'cycle' or 'model'; "
            f"got {rule!r} instead.",
            field="rule",
        )
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp, amount=amount)
    end = tx.end if observation_end is None else as_moment(observation_end, "observation_end")
    seen = tx.timestamp <= end
    if not seen.any():
        raise InvalidDataError(
            f"'observation_end' must not be before the first transaction ({tx.start}); got {end}",
            field="observation_end",
        )
    if not seen.all():
        tx = Transactions(
            tx.customer_id[seen],
            tx.timestamp[seen],
            None if tx.amount is None else tx.amount[seen],
        )
    cycle = purchase_cycle(tx, period="D", observation_end=end)
    last = cycle.last_purchase
    if rule == "fixed":
        due = last + _days(_positive(delay, "delay"))
    elif rule == "cycle":
        cycles = _positive(factor, "factor") * np.where(
            cycle.n_gaps > 0, cycle.median_gap, cycle.median
        )
        finite = np.isfinite(cycles)
        offset = np.round(np.where(finite, cycles, 0.0) * 86_400).astype(np.int64)
        due = last.astype("datetime64[D]").astype(last.dtype) + offset.astype("timedelta64[s]")
        due = np.where(finite, due, np.datetime64("NaT"))
    else:
        if model is None:
            raise InvalidDataError(
                "'model' is required for rule='model': pass a fitted BGNBD, ParetoNBD or MBGNBD",
                field="model",
            )
        level = _positive(threshold, "threshold")
        if level >= 1:
            raise InvalidDataError(
                f"'threshold' must be in (0, 1); got {threshold!r}", field="threshold"
            )
        unit: Literal["D", "W"] = "W" if model.unit == "W" else "D"
        summary = summarize(tx, period="D", unit=unit, observation_end=end)
        per_unit = _UNIT_DAYS[unit]
        t = _solve_alive(model, summary, level, _positive(horizon, "horizon") / per_unit)
        finite = np.isfinite(t)
        offset = np.round(np.where(finite, t, 0.0) * per_unit * 86_400).astype(np.int64)
        due = np.where(finite, end + offset.astype("timedelta64[s]"), np.datetime64("NaT"))
    return WinbackSchedule(
        customer_id=readonly(np.asarray(cycle.customer_id)),
        last_purchase=readonly(last.astype("datetime64[s]")),
        due=readonly(np.asarray(due).astype("datetime64[s]")),
        rule=rule,
        observation_end=end.astype("datetime64[s]"),
    )


@dataclass(frozen=True, slots=True)
class WinbackComparison:
    """How the win-back rules would have fared on a holdout period (see `compare_winback`).

    One entry per rule in each array, in the order of ``rules``.

    Attributes
    ----------
    rules : tuple of str
        Rule labels.
    contacted : ndarray of int
        Customers whose message fell due in the holdout (or was overdue at its start)
        without their having bought again first.
    bought_anyway : ndarray of int
        Of those contacted, the ones who bought again after the contact anyway (with no
        message sent: an upper bound on what a message could claim).
    lapsed : ndarray of int
        Of those contacted, the ones who did not buy again by the end of the holdout.
    returned_before_due : ndarray of int
        Customers who bought again in the holdout before their due date (never contacted).
    not_due : ndarray of int
        Customers not due within the holdout who did not buy.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> schedule = rk.winback_schedule(tx, rule="fixed", observation_end="1997-09-30")
    >>> result = rk.compare_winback(tx, {"six months": schedule}, holdout_end="1998-06-30")
    >>> result.lapse_rate.round(3).tolist()
    [0.809]
    """

    rules: tuple[str, ...]
    contacted: IntArray
    bought_anyway: IntArray
    lapsed: IntArray
    returned_before_due: IntArray
    not_due: IntArray

    @property
    def lapse_rate(self) -> FloatArray:
        """``lapsed / contacted``: the share of messages that reached a lapsed customer."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(
                self.contacted > 0, self.lapsed / np.maximum(self.contacted, 1), np.nan
            )
        return out


def compare_winback(
    transactions: Transactions | Any,
    schedules: dict[str, WinbackSchedule],
    *,
    holdout_end: Any,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> WinbackComparison:
    """Replay win-back schedules drawn up at the end of calibration on the holdout purchases.

    Parameters
    ----------
    transactions : Transactions or dataframe
        The full log, calibration and holdout.
    schedules : dict of str to WinbackSchedule
        Rule label -> schedule; all drawn up at the same ``observation_end`` (the calibration
        end), for the same customers.
    holdout_end : datetime64, datetime, date or ISO 8601 string
        End of the holdout, after the calibration end.
    customer_id, timestamp, amount : str
        Column names, used only when ``transactions`` is a frame.

    Returns
    -------
    WinbackComparison

    Raises
    ------
    InvalidDataError
        When the schedules disagree on customers or calibration end, or ``holdout_end`` is not
        after it.

    Notes
    -----
    With C the calibration end and H the holdout end, a customer's message goes out at
    s = max(due, C) when s <= H and the customer has not bought in (C, s) (a purchase before
    the message resets the schedule: ``returned_before_due``). A contacted customer
    ``bought_anyway`` when they bought in [s, H], else ``lapsed``. No message was sent in
    the data, so ``bought_anyway`` counts purchases a message would not have caused: a rule
    is better the fewer such wasted contacts and the more lapsed customers it reaches
    early. Customers first seen in the holdout are not scheduled.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> schedules = {r: rk.winback_schedule(tx, rule=r, observation_end="1997-09-30")
    ...              for r in ("fixed", "cycle")}
    >>> result = rk.compare_winback(tx, schedules, holdout_end="1998-06-30")
    >>> result.contacted.tolist(), result.bought_anyway.tolist()
    ([2069, 2274], [396, 601])
    """
    if not schedules:
        raise InvalidDataError("'schedules' must hold at least one schedule", field="schedules")
    labels = tuple(schedules)
    first = schedules[labels[0]]
    for label in labels[1:]:
        other = schedules[label]
        if other.observation_end != first.observation_end or not np.array_equal(
            other.customer_id, first.customer_id
        ):
            raise InvalidDataError(
                f"schedule {label!r} must cover the same customers and observation_end as "
                f"{labels[0]!r}",
                field="schedules",
            )
    calibration_end = first.observation_end
    holdout = as_moment(holdout_end, "holdout_end")
    if not holdout > calibration_end:
        raise InvalidDataError(
            f"'holdout_end' must be after the calibration end {calibration_end}; got {holdout}",
            field="holdout_end",
        )
    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp, amount=amount)
    later = (tx.timestamp > calibration_end) & (tx.timestamp <= holdout)
    position = np.searchsorted(first.customer_id, tx.customer_id[later])
    position = np.minimum(position, first.customer_id.size - 1)
    known = first.customer_id[position] == tx.customer_id[later]
    rows, times = position[known], tx.timestamp[later][known].astype("datetime64[s]")
    never = np.datetime64("NaT", "s")
    counts: dict[str, list[int]] = {k: [] for k in ("c", "b", "l", "r", "n")}
    for label in labels:
        due = schedules[label].due
        send = np.where(np.isnat(due), never, np.maximum(due, calibration_end))
        sent: BoolArray = ~np.isnat(send) & (send <= holdout)
        row_send = send[rows]
        before = _any(rows, ~np.isnat(row_send) & (times < row_send), due.size)
        before |= _any(rows, np.isnat(row_send), due.size)
        after = _any(rows, ~np.isnat(row_send) & (times >= row_send), due.size)
        contacted = sent & ~before
        counts["c"].append(int(contacted.sum()))
        counts["b"].append(int((contacted & after).sum()))
        counts["l"].append(int((contacted & ~after).sum()))
        counts["r"].append(int(before.sum()))
        counts["n"].append(int((~sent & ~before).sum()))
    return WinbackComparison(
        rules=labels,
        contacted=np.array(counts["c"]),
        bought_anyway=np.array(counts["b"]),
        lapsed=np.array(counts["l"]),
        returned_before_due=np.array(counts["r"]),
        not_due=np.array(counts["n"]),
    )


def _any(rows: IntArray, mask: BoolArray, n: int) -> BoolArray:
    flags = np.zeros(n, dtype=bool)
    flags[rows[mask]] = True
    return flags
