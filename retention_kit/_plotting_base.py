"""What the plots of `retention_kit.plotting` share: Axes, formatting, argument checks, grids.

matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ._errors import InvalidDataError
from ._typing import FloatArray, TimeUnit
from .summary import CustomerSummary, DiscreteSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .models.bgbb import BGBB

__all__ = [
    "ContinuousModel",
    "concise_dates",
    "matrix",
    "new_axes",
    "percent",
    "positive",
    "unit_name",
]

_MISSING = 'retention_kit.plotting needs matplotlib: pip install "retention_kit[plot]"'
_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}


class ContinuousModel(Protocol):
    """A continuous-time model of purchases: `BGNBD`, `MBGNBD`, `ParetoNBD`."""

    @property
    def unit(self) -> TimeUnit | None:
        """The time unit the model was fitted in."""
        ...

    def probability_alive(self, summary: CustomerSummary) -> FloatArray:
        """P(alive at T) per row."""
        ...

    def conditional_expected_purchases(self, t: Any, summary: CustomerSummary) -> FloatArray:
        """E[Y(t) | x, t_x, T] per row."""
        ...


def new_axes(ax: Axes | None) -> Axes:
    """Return ``ax``, or the Axes of a new pyplot figure; say how to install matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(_MISSING) from error
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots()
    return new


def percent(ax: Axes, axis: str = "y") -> None:
    """Format an axis of fractions as percentages."""
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(1.0))


def concise_dates(ax: Axes) -> None:
    """Label a date x axis compactly, without rotating the labels of the whole figure."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def unit_name(unit: str | None) -> str:
    """Return the plural name of a time unit ("weeks")."""
    return _UNIT_NAMES.get(unit or "", "time units")


def positive(value: Any, name: str, *, integer: bool = False) -> float:
    """Return ``value`` as a float when it is a finite number (integer) > 0, else raise."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value) == math.floor(float(value))
    if not ok or not (math.isfinite(float(value)) and float(value) > 0):
        kind = "an integer" if integer else "a finite number"
        raise InvalidDataError(f"'{name}' must be {kind} > 0; got {value!r}", field=name)
    return float(value)


def _continuous_grid(
    model: ContinuousModel, T: float, max_frequency: int, resolution: int
) -> tuple[CustomerSummary, FloatArray, FloatArray]:
    """Return a summary of x = 0..max_frequency by recency at ``resolution`` cell centres."""
    x = np.arange(max_frequency + 1, dtype=np.float64)
    edges = np.linspace(0.0, T, resolution + 1)
    centres = (edges[:-1] + edges[1:]) / 2.0
    frequency = np.repeat(x, resolution)
    recency = np.where(frequency > 0, np.tile(centres, x.size), 0.0)
    unit = model.unit if model.unit is not None else "D"
    summary = CustomerSummary(frequency, recency, np.full(frequency.size, T), unit=unit)
    return summary, np.arange(-0.5, max_frequency + 1.0), edges


def matrix(
    model: ContinuousModel | BGBB,
    T: float,
    max_frequency: int,
    resolution: int,
    quantity: Callable[[Any], FloatArray],
    ax: Axes | None,
) -> tuple[Axes, str]:
    """Draw ``quantity`` of a grid of frequency and recency; return the Axes and the unit."""
    from .models.bgbb import BGBB

    positive(max_frequency, "max_frequency", integer=True)
    positive(resolution, "resolution", integer=True)
    if isinstance(model, BGBB):
        n = int(positive(T, "T", integer=True))
        frequencies = min(int(max_frequency), n)
        x, t_x = np.meshgrid(np.arange(frequencies + 1), np.arange(n + 1), indexing="ij")
        feasible = ((x == 0) & (t_x == 0)) | ((x >= 1) & (x <= t_x))
        summary = DiscreteSummary(x[feasible], t_x[feasible], n_periods=np.full(feasible.sum(), n))
        values = np.full(x.shape, np.nan)
        values[feasible] = quantity(summary)
        y_edges = np.arange(-0.5, frequencies + 1.0)
        x_edges = np.arange(-0.5, n + 1.0)
        unit = "opportunities"
    else:
        T = positive(T, "T")
        grid, y_edges, x_edges = _continuous_grid(model, T, int(max_frequency), int(resolution))
        values = quantity(grid).reshape(int(max_frequency) + 1, int(resolution))
        unit = unit_name(model.unit)
    ax = new_axes(ax)
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(values), cmap="viridis")
    ax.figure.colorbar(mesh, ax=ax)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"recency: age at the last purchase ({unit})")
    ax.set_ylabel("frequency: repeat purchases")
    return ax, unit
