"""Plots of the retention metrics and the models, drawn with matplotlib.

Each function takes the result object it plots (a `CohortTable`, a `RetentionSeries`, a
fitted model, ...) and an optional ``ax``, draws on that Axes (or on a new figure's) and
returns it, so plots compose into the caller's own figures. Nothing here changes global
matplotlib state beyond what `matplotlib.pyplot` does when ``ax`` is omitted.

matplotlib is an optional dependency (``pip install "retention_kit[plot]"``); it is imported
when a function is called, never by ``import retention_kit``.

Examples
--------
Headless, onto an Axes of a figure that pyplot does not manage:

>>> from matplotlib.figure import Figure
>>> import retention_kit as rk
>>> ax = Figure().subplots()
>>> rk.plotting.cohort_heatmap(rk.cohort_retention(rk.datasets.load_cdnow()), ax=ax) is ax
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from ._errors import InvalidDataError
from ._typing import DatetimeArray, FloatArray, Period, TimeUnit
from ._validation import float_column
from .summary import CustomerSummary, DiscreteSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .cohorts import CohortTable
    from .cycle import PurchaseCycle
    from .data import Transactions
    from .metrics import RetentionSeries
    from .models.bgbb import BGBB
    from .models.sbg import ShiftedBetaGeometric
    from .summarizing import CalibrationHoldout

__all__ = [
    "cohort_heatmap",
    "expected_purchases_matrix",
    "holdout_by_frequency",
    "probability_alive_matrix",
    "purchase_cycle_survival",
    "retention_over_time",
    "survival_projection",
    "tracking_curve",
]

_MISSING = 'retention_kit.plotting needs matplotlib: pip install "retention_kit[plot]"'
_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
_ANNOTATED_CELLS = 300
"""Largest cohort table whose cells are labelled with their percentage."""


class _ContinuousModel(Protocol):
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

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] of a customer just acquired."""
        ...


def _new_axes(ax: Axes | None) -> Axes:
    """``ax``, or the Axes of a new pyplot figure; a clear message when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(_MISSING) from error
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots()
    return new


def _percent(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(1.0))


def _unit_name(unit: str | None) -> str:
    return _UNIT_NAMES.get(unit or "", "time units")


def _positive(value: Any, name: str, *, integer: bool = False) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value) == math.floor(float(value))
    if not ok or not (math.isfinite(float(value)) and float(value) > 0):
        kind = "an integer" if integer else "a finite number"
        raise InvalidDataError(f"'{name}' must be {kind} > 0; got {value!r}", field=name)
    return float(value)


# --- retention metrics ---


def cohort_heatmap(table: CohortTable, *, ax: Axes | None = None) -> Axes:
    """Draw a cohort table as a heatmap: one row per cohort, one column per period of age.

    Parameters
    ----------
    table : CohortTable
        From `retention_kit.cohort_retention`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        With a colorbar of the share of each cohort buying in each period. Cells beyond the
        data are left blank; small tables (up to 300 cells) are labelled with their values.

    Notes
    -----
    Age 0, the cohort's own period, is 100% by definition; the colour scale spans ages 1 and
    later so that their differences stay visible (age 0 shows at the top of the scale).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> table = rk.cohort_retention(rk.datasets.load_cdnow(), freq="M")
    >>> ax = rk.plotting.cohort_heatmap(table, ax=Figure().subplots())
    >>> ax.get_title(), ax.get_xlabel()
    ('Cohort retention', 'months since the first purchase')
    """
    ax = _new_axes(ax)
    rates = np.ma.masked_invalid(table.rates)
    later = table.rates[:, 1:]
    top = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
    image = ax.imshow(
        rates, aspect="auto", cmap="viridis", vmin=0.0, vmax=max(top, 1e-9), origin="upper"
    )
    colorbar = ax.figure.colorbar(image, ax=ax, format="{x:.0%}")
    colorbar.set_label("share of the cohort buying")
    unit = "M" if table.freq == "M" else "D"
    labels = [str(c.astype(f"datetime64[{unit}]")) for c in table.cohorts]
    step = max(1, len(labels) // 24)
    ax.set_yticks(np.arange(0, len(labels), step), labels[::step])
    n_ages = table.rates.shape[1]
    if table.rates.size <= _ANNOTATED_CELLS:
        rows, ages = np.nonzero(np.isfinite(table.rates))
        for i, k in zip(rows.tolist(), ages.tolist(), strict=True):
            value = float(table.rates[i, k])
            dark = value < 0.6 * top
            ax.text(
                k,
                i,
                f"{value:.0%}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    ax.set_xticks(np.arange(0, n_ages, max(1, n_ages // 12)))
    ax.set_title("Cohort retention")
    ax.set_xlabel(f"{_unit_name(table.freq)} since the first purchase")
    ax.set_ylabel("cohort (period of the first purchase)")
    return ax


def retention_over_time(series: RetentionSeries, *, ax: Axes | None = None) -> Axes:
    """Draw the retention and churn rates of consecutive periods.

    Parameters
    ----------
    series : RetentionSeries
        From `retention_kit.retention_series`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        Both rates against the first day of each period; periods with nobody active at their
        start (undefined rates) are gaps in the lines.

    Raises
    ------
    InvalidDataError
        When the series is empty (a log shorter than one period).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> series = rk.retention_series(rk.datasets.load_cdnow(), freq="M", active_window=90)
    >>> ax = rk.plotting.retention_over_time(series, ax=Figure().subplots())
    >>> ax.get_title()
    'Retention and churn (active = bought in the last 90 days)'
    """
    if len(series) == 0:
        raise InvalidDataError(
            "`series` must hold at least one period to plot: the log is shorter than one "
            f"period of {series.freq!r}",
            field="series",
        )
    ax = _new_axes(ax)
    when = series.period_start.astype("datetime64[D]")
    ax.plot(when, series.retention_rate, marker="o", label="retention rate")
    ax.plot(when, series.churn_rate, marker="s", linestyle="--", label="churn rate")
    ax.set_ylim(-0.02, 1.02)
    _percent(ax)
    ax.grid(alpha=0.3)
    ax.legend()
    days = int(series.active_window / np.timedelta64(1, "D"))
    ax.set_title(f"Retention and churn (active = bought in the last {days} days)")
    ax.set_xlabel("period start")
    ax.set_ylabel("share of the customers active at the period's start")
    ax.figure.autofmt_xdate()
    return ax


def purchase_cycle_survival(cycle: PurchaseCycle, *, ax: Axes | None = None) -> Axes:
    """Draw the Kaplan-Meier survival of the gap between purchases, with the closed gaps.

    The solid step curve is S(t), the estimated share of gaps lasting longer than t when the
    gaps still open at the end of the data count as censored; the dashed one is the same
    share among the closed gaps only, which drops too fast because long gaps are the ones
    most likely still open. The bars (right axis) are the histogram of the closed gaps and the
    vertical lines the two medians.

    Parameters
    ----------
    cycle : PurchaseCycle
        From `retention_kit.purchase_cycle`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes. The histogram goes on a twin Axes
        sharing its x axis.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes of the survival curves.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> cycle = rk.purchase_cycle(rk.datasets.load_cdnow(), period="D")
    >>> ax = rk.plotting.purchase_cycle_survival(cycle, ax=Figure().subplots())
    >>> ax.get_title(), ax.get_xlabel()
    ('Purchase cycle: median 93 days (34 counting closed gaps only)', 'days between purchases')
    """
    ax = _new_axes(ax)
    times = np.concatenate(([0], cycle.times))
    ax.step(times, np.concatenate(([1.0], cycle.survival)), where="post", label="Kaplan-Meier")
    closed = int(cycle.events.sum())
    if closed:
        naive = 1.0 - np.cumsum(cycle.events) / closed
        ax.step(
            times,
            np.concatenate(([1.0], naive)),
            where="post",
            linestyle="--",
            label="closed gaps only",
        )
        bars = ax.twinx()
        width = max(1, math.ceil(float(cycle.times[-1]) / 60))
        bins = np.arange(0, int(cycle.times[-1]) + 2 * width, width).tolist()
        bars.hist(cycle.times, bins=bins, weights=cycle.events / closed, color="0.6", alpha=0.35)
        bars.set_ylabel("share of the closed gaps")
        _percent(bars)
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
    unit = _unit_name(cycle.period)
    median, naive_median = cycle.median, cycle.naive_median
    if math.isfinite(median):
        ax.axvline(median, color="C0", linewidth=0.8, linestyle=":")
    if math.isfinite(naive_median):
        ax.axvline(naive_median, color="C1", linewidth=0.8, linestyle=":")
    ax.set_ylim(0.0, 1.02)
    _percent(ax)
    ax.legend(loc="upper right")
    ax.set_title(
        f"Purchase cycle: median {median:g} {unit} ({naive_median:g} counting closed gaps only)"
    )
    ax.set_xlabel(f"{unit} between purchases")
    ax.set_ylabel("share of gaps longer than this")
    return ax


# --- non-contractual models ---


def _continuous_grid(
    model: _ContinuousModel, T: float, max_frequency: int, resolution: int
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


def _matrix(
    model: _ContinuousModel | BGBB,
    T: float,
    max_frequency: int,
    resolution: int,
    quantity: Callable[[Any], FloatArray],
    ax: Axes | None,
) -> tuple[Axes, str]:
    from .models.bgbb import BGBB

    _positive(max_frequency, "max_frequency", integer=True)
    _positive(resolution, "resolution", integer=True)
    if isinstance(model, BGBB):
        n = int(_positive(T, "T", integer=True))
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
        T = _positive(T, "T")
        grid, y_edges, x_edges = _continuous_grid(model, T, int(max_frequency), int(resolution))
        values = quantity(grid).reshape(int(max_frequency) + 1, int(resolution))
        unit = _unit_name(model.unit)
    ax = _new_axes(ax)
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(values), cmap="viridis")
    ax.figure.colorbar(mesh, ax=ax)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"recency: age at the last purchase ({unit})")
    ax.set_ylabel("frequency: repeat purchases")
    return ax, unit


def probability_alive_matrix(
    model: _ContinuousModel | BGBB,
    *,
    T: float,
    max_frequency: int = 20,
    resolution: int = 60,
    ax: Axes | None = None,
) -> Axes:
    """Draw P(alive) over a grid of frequency and recency, for customers of age ``T``.

    Parameters
    ----------
    model : BGNBD, MBGNBD, ParetoNBD or BGBB
        Any non-contractual model (fitted, or built from parameters).
    T : float
        The customers' age at the end of observation, in the model's unit (for `BGBB`, the
        number of opportunities n, an integer).
    max_frequency : int, default 20
        The largest frequency shown (for `BGBB`, at most n).
    resolution : int, default 60
        Recency cells of a continuous-time model across [0, T].
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        Frequency upwards, recency to the right, colour the probability. A customer without a
        repeat purchase has no recency: in continuous time the row x = 0 shows their single
        value across the width; in discrete time the infeasible cells (x > t_x) are blank.

    Raises
    ------
    InvalidDataError
        When ``T``, ``max_frequency`` or ``resolution`` is not > 0 (or, for `BGBB`, ``T`` is
        not a whole number).

    Notes
    -----
    The probability of each model's ``probability_alive``: for BG/NBD, for instance,
    P(alive | x, t_x, T) = 1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))
    for x > 0 (Fader, Hardie & Lee 2005, eq. 11). The familiar picture: a frequent buyer who
    has not bought for a long while is the least likely to be alive.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    >>> ax = rk.plotting.probability_alive_matrix(model, T=39, ax=Figure().subplots())
    >>> ax.get_title()
    'Probability alive at age 39 weeks'
    """
    ax, unit = _matrix(
        model, T, max_frequency, resolution, lambda grid: model.probability_alive(grid), ax
    )
    ax.set_title(f"Probability alive at age {T:g} {unit}")
    return ax


def expected_purchases_matrix(
    model: _ContinuousModel | BGBB,
    *,
    T: float,
    t: float,
    max_frequency: int = 20,
    resolution: int = 60,
    ax: Axes | None = None,
) -> Axes:
    """Draw the expected purchases in the next ``t`` over a grid of frequency and recency.

    Parameters
    ----------
    model : BGNBD, MBGNBD, ParetoNBD or BGBB
        Any non-contractual model (fitted, or built from parameters).
    T : float
        The customers' age at the end of observation, in the model's unit (for `BGBB`, the
        number of opportunities n, an integer).
    t : float
        The forecast horizon, in the model's unit (for `BGBB`, future opportunities).
    max_frequency : int, default 20
        The largest frequency shown (for `BGBB`, at most n).
    resolution : int, default 60
        Recency cells of a continuous-time model across [0, T].
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        Laid out as in `probability_alive_matrix`, colour the conditional expectation
        E[Y(t) | x, t_x, T].

    Raises
    ------
    InvalidDataError
        As `probability_alive_matrix`, and when ``t`` is not > 0.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    >>> ax = rk.plotting.expected_purchases_matrix(model, T=39, t=39, ax=Figure().subplots())
    >>> ax.get_title()
    'Expected purchases in the next 39 weeks, at age 39 weeks'
    """
    _positive(t, "t")
    ax, unit = _matrix(
        model,
        T,
        max_frequency,
        resolution,
        lambda grid: model.conditional_expected_purchases(t, grid),
        ax,
    )
    ax.set_title(f"Expected purchases in the next {t:g} {unit}, at age {T:g} {unit}")
    return ax


def _weighted_bin_means(
    bins: FloatArray, values: FloatArray, weights: FloatArray, n_bins: int
) -> FloatArray:
    index = bins.astype(np.intp)
    total = np.bincount(index, weights=weights * values, minlength=n_bins)
    count = np.bincount(index, weights=weights, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means: FloatArray = np.where(count > 0, total / np.maximum(count, 1e-300), np.nan)
    return means


def holdout_by_frequency(
    model: _ContinuousModel,
    data: CalibrationHoldout,
    *,
    max_frequency: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """Draw the mean holdout purchases, actual and predicted, by calibration frequency.

    The standard check of a buy-till-you-die forecast (Fader, Hardie & Lee 2005, Figure 4):
    customers are grouped by their repeat purchases in the calibration window, and for each
    group the mean purchases in the holdout window are compared with the model's conditional
    expectation over the holdout's length.

    Parameters
    ----------
    model : BGNBD, MBGNBD or ParetoNBD
        Fitted on ``data.calibration``, in its unit.
    data : CalibrationHoldout
        From `retention_kit.calibration_holdout`.
    max_frequency : int, default 7
        The last group, "max_frequency+", holds every customer with that many calibration
        purchases or more.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidDataError
        When ``max_frequency`` is not an integer > 0, or the model refuses the summary
        (another time unit).

    Notes
    -----
    For group g the points are the weighted means of x* and of E[Y(t*) | x, t_x, T] over
    its customers (weights from a compressed calibration summary).

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy Way:
       An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", unit="W")
    >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    >>> ax = rk.plotting.holdout_by_frequency(model, data, ax=Figure().subplots())
    >>> ax.get_title()
    'Holdout purchases by calibration frequency (39 weeks)'
    """
    top = int(_positive(max_frequency, "max_frequency", integer=True))
    calibration = data.calibration
    predicted = model.conditional_expected_purchases(data.holdout_duration, calibration)
    group = np.minimum(calibration.frequency, top)
    weights = calibration.weights()
    actual_mean = _weighted_bin_means(group, data.holdout_frequency, weights, top + 1)
    predicted_mean = _weighted_bin_means(group, predicted, weights, top + 1)
    ax = _new_axes(ax)
    positions = np.arange(top + 1)
    ax.plot(positions, actual_mean, marker="o", label="actual")
    ax.plot(positions, predicted_mean, marker="s", linestyle="--", label="model")
    labels = [str(k) for k in range(top)] + [f"{top}+"]
    ax.set_xticks(positions, labels)
    ax.grid(alpha=0.3)
    ax.legend()
    unit = _unit_name(calibration.unit)
    ax.set_title(f"Holdout purchases by calibration frequency ({data.holdout_duration:g} {unit})")
    ax.set_xlabel("repeat purchases in the calibration window")
    ax.set_ylabel("mean purchases in the holdout window")
    return ax


def _tracking(
    model: _ContinuousModel, tx: Transactions, period: Period
) -> tuple[DatetimeArray, FloatArray, FloatArray]:
    """Days, and the actual and expected cumulative repeat purchases at the end of each."""
    from ._activity import customer_periods, group_starts
    from ._periods import period_index, period_start

    codes, periods = customer_periods(tx, period)
    first = group_starts(codes)
    days = period_start(periods, period).astype(np.int64)
    low = int(days.min())
    n_days = int(period_index(np.array([tx.end]), "D")[0]) - low + 1
    births = np.bincount(days[first] - low, minlength=n_days)
    repeats = np.bincount(days[~first] - low, minlength=n_days)
    scale = 7.0 if model.unit == "W" else 1.0
    # Customers acquired on day b contribute E[X(d - b)] on day d: a convolution over ages.
    per_age = model.expected_purchases(np.arange(n_days) / scale)
    expected: FloatArray = np.convolve(births, per_age)[:n_days]
    actual: FloatArray = np.cumsum(repeats).astype(np.float64)
    dates: DatetimeArray = (np.arange(n_days) + low).astype("datetime64[D]")
    return dates, actual, expected


def tracking_curve(
    model: _ContinuousModel,
    transactions: Transactions | Any,
    *,
    calibration_end: Any = None,
    period: Period = "D",
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    ax: Axes | None = None,
) -> Axes:
    """Draw cumulative repeat purchases over calendar time, actual against the model's.

    Parameters
    ----------
    model : BGNBD, MBGNBD or ParetoNBD
        Fitted in unit ``"D"`` or ``"W"`` on the summary of ``transactions``.
    transactions : Transactions or dataframe
        The whole log (calibration and holdout); a frame names its columns with
        ``customer_id`` and ``timestamp``.
    calibration_end : datetime64, datetime, date or ISO 8601 string, optional
        Drawn as a vertical line: the end of the data the model was fitted on.
    period : {"D", "W", "M"}, default "D"
        The purchase period the model's summary was made with (repeat purchases are counted
        as distinct periods with a purchase, minus the first).
    customer_id, timestamp : str
        Column names, when ``transactions`` is a frame.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        The two curves at the end of each day, from the first purchase to the last.

    Notes
    -----
    The expected cumulative repeat purchases at calendar time tau are
    sum_i E[X(tau - t_0i)] over the customers acquired at t_0i < tau
    (Fader, Hardie & Lee 2005, Figure 2), computed once per distinct acquisition day.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    >>> tx = rk.datasets.load_cdnow()
    >>> ax = rk.plotting.tracking_curve(model, tx, calibration_end="1997-09-30",
    ...                                 ax=Figure().subplots())
    >>> ax.get_title()
    'Cumulative repeat purchases'
    """
    from ._periods import as_moment, check_period
    from .data import as_transactions

    tx = as_transactions(transactions, customer_id=customer_id, timestamp=timestamp)
    dates, actual, expected = _tracking(model, tx, check_period(period))
    ax = _new_axes(ax)
    ax.plot(dates, actual, label="actual")
    ax.plot(dates, expected, linestyle="--", label="model")
    if calibration_end is not None:
        moment = as_moment(calibration_end, "calibration_end").astype("datetime64[D]")
        ax.axvline(moment, color="0.4", linewidth=0.8, linestyle=":", label="end of calibration")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Cumulative repeat purchases")
    ax.set_xlabel("date")
    ax.set_ylabel("repeat purchases since the start")
    ax.figure.autofmt_xdate()
    return ax


# --- contractual model ---


def survival_projection(
    model: ShiftedBetaGeometric,
    n_periods: int,
    *,
    actual: ArrayLike | None = None,
    calibration_periods: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw a shifted-beta-geometric model's survival curve, with the actual survivors.

    Parameters
    ----------
    model : ShiftedBetaGeometric
    n_periods : int
        The last period of the projection, >= 1.
    actual : array-like, optional
        Observed survivors at periods 0, 1, ... (counts, the first being the cohort size).
        When given, the curve is scaled to the cohort size and the counts are drawn as points.
    calibration_periods : int, optional
        The last period the model was fitted on: drawn as a vertical line.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidDataError
        When ``n_periods`` is not an integer >= 1, or ``actual`` is not a sequence of finite
        counts with a first value > 0.

    Notes
    -----
    The curve is S(t) = B(alpha, beta + t) / B(alpha, beta) (Fader & Hardie 2007, eq. 8),
    times the cohort size when ``actual`` is given.

    References
    ----------
    .. [1] P. S. Fader and B. G. S. Hardie, "How to Project Customer Retention", Journal of
       Interactive Marketing 21(1), 76-90, 2007.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> regular = rk.datasets.load_retention_segments().regular
    >>> model = rk.ShiftedBetaGeometric.fit(regular[:8])
    >>> ax = rk.plotting.survival_projection(model, 12, actual=regular, calibration_periods=7,
    ...                                      ax=Figure().subplots())
    >>> ax.get_ylabel()
    'customers still active'
    """
    n = int(_positive(n_periods, "n_periods", integer=True))
    periods = np.arange(n + 1)
    size = 1.0
    counts = None
    if actual is not None:
        counts = float_column(actual, "actual")
        if counts.size == 0 or counts[0] <= 0:
            raise InvalidDataError("`actual` must start with the cohort size, > 0", field="actual")
        size = float(counts[0])
    ax = _new_axes(ax)
    ax.plot(periods, model.project(n, initial=size), label="model")
    if counts is not None:
        ax.plot(np.arange(counts.size), counts, "o", label="actual")
        ax.set_ylabel("customers still active")
    else:
        _percent(ax)
        ax.set_ylabel("share of the cohort still active")
    if calibration_periods is not None:
        ax.axvline(
            calibration_periods, color="0.4", linewidth=0.8, linestyle=":", label="end of fit"
        )
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"Survival: alpha = {model.alpha:.3g}, beta = {model.beta:.3g}")
    ax.set_xlabel("period")
    return ax
