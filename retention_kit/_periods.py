"""Calendar periods and moments: the time arithmetic shared by metrics and summaries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ._errors import InvalidDataError
from ._typing import DatetimeArray, IntArray, Period

__all__ = ["as_moment", "as_window", "check_period", "period_index", "period_start"]

_PERIODS = ("D", "W", "M")
# 1970-01-01 was a Thursday: shifting day numbers by 3 makes weeks start on Monday.
_MONDAY_SHIFT = 3


def check_period(period: str, name: str = "period") -> Period:
    """Return ``period`` when it is "D", "W" or "M"; raise `InvalidDataError` otherwise."""
    if period not in _PERIODS:
        raise InvalidDataError(
            f"The '{name}' parameter must be one of 'D' (day), 'W' (week starting Monday) or "
            f"'M' (month); got {period!r} instead.",
            field=name,
        )
    return period  # type: ignore[return-value]


_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _day_numbers(timestamps: DatetimeArray) -> IntArray:
    """Days since the epoch of each timestamp, as a new int64 array (floor for earlier ones)."""
    unit, count = np.datetime_data(timestamps.dtype)
    if count == 1 and unit in _PER_DAY:
        # Integer floor division is several times faster than numpy's calendar conversion.
        return timestamps.view(np.int64) // _PER_DAY[unit]
    return timestamps.astype("datetime64[D]").astype(np.int64)


def period_index(timestamps: DatetimeArray, period: Period) -> IntArray:
    """Ordinal of the calendar period holding each timestamp (consecutive periods differ by 1).

    Days and months count from the epoch; weeks count Monday-to-Sunday weeks.
    """
    days = _day_numbers(np.asarray(timestamps))
    if period == "M":
        low = int(days.min()) if days.size else 0
        span = int(days.max()) - low + 1 if days.size else 0
        if 0 < span <= days.size:
            # Look each day's month up in a table of the days spanned: a gather, not a
            # calendar conversion per row.
            table = np.arange(low, low + span).astype("datetime64[D]").astype("datetime64[M]")
            days -= low
            return np.take(table.astype(np.int64), days)
        return days.astype("datetime64[D]").astype("datetime64[M]").view(np.int64)
    if period == "W":
        days += _MONDAY_SHIFT
        days //= 7
    return days


def period_start(index: IntArray, period: Period) -> DatetimeArray:
    """First day (``datetime64[D]``) of the periods with the given ordinals."""
    if period == "M":
        return np.asarray(index, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]")
    days = np.asarray(index, dtype=np.int64)
    if period == "W":
        days = days * 7 - _MONDAY_SHIFT
    return days.astype("datetime64[D]")


def as_moment(value: Any, name: str) -> np.datetime64:
    """Parse a moment: ``numpy.datetime64``, ``datetime``/``date`` or an ISO 8601 string.

    A bare date means its midnight. Time-zone aware datetimes are converted to naive UTC.
    """
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    try:
        moment = np.datetime64(value)
    except (TypeError, ValueError):
        raise InvalidDataError(
            f"'{name}' must be a date, a datetime or an ISO 8601 string; got {value!r}",
            field=name,
        ) from None
    if np.isnat(moment):
        raise InvalidDataError(f"'{name}' must not be NaT", field=name)
    return moment


def as_window(value: Any, name: str = "active_window") -> np.timedelta64:
    """Parse a positive duration: ``numpy.timedelta64``, ``datetime.timedelta`` or days."""
    if isinstance(value, dt.timedelta):
        window = np.timedelta64(value)
    elif isinstance(value, np.timedelta64):
        window = value
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise InvalidDataError(f"'{name}' must be finite; got {value!r}", field=name)
        window = np.timedelta64(round(float(value) * 86_400_000_000), "us")
    else:
        raise InvalidDataError(
            f"'{name}' must be a numpy.timedelta64, a datetime.timedelta or a number of days; "
            f"got {value!r}",
            field=name,
        )
    unit, _ = np.datetime_data(window.dtype)
    if not np.isnat(window) and unit in ("Y", "M", "generic"):
        raise InvalidDataError(
            f"'{name}' must be a fixed duration: months and years vary in length, use days; "
            f"got {value!r}",
            field=name,
        )
    if np.isnat(window) or window <= np.timedelta64(0, "s"):
        raise InvalidDataError(f"'{name}' must be > 0; got {value!r}", field=name)
    return window
