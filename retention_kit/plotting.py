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
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._errors import InvalidDataError
from ._plotting_base import (
    ContinuousModel,
    concise_dates,
    matrix,
    new_axes,
    percent,
    positive,
    unit_name,
)
from ._validation import float_column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .checking import HoldoutReport
    from .cohorts import CohortTable
    from .cycle import PurchaseCycle
    from .metrics import RetentionSeries
    from .models.bgbb import BGBB
    from .models.sbg import ShiftedBetaGeometric
    from .tracking import TrackingCurve

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

_ANNOTATED_CELLS = 300
"""Largest cohort table whose cells are labelled with their percentage."""


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
    ax = new_axes(ax)
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
    ax.set_xlabel(f"{unit_name(table.freq)} since the first purchase")
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
    ax = new_axes(ax)
    when = series.period_start.astype("datetime64[D]")
    ax.plot(when, series.retention_rate, marker="o", label="retention rate")
    ax.plot(when, series.churn_rate, marker="s", linestyle="--", label="churn rate")
    ax.set_ylim(-0.02, 1.02)
    percent(ax)
    ax.grid(alpha=0.3)
    ax.legend()
    days = int(series.active_window / np.timedelta64(1, "D"))
    ax.set_title(f"Retention and churn (active = bought in the last {days} days)")
    ax.set_xlabel("period start")
    ax.set_ylabel("share of the customers active at the period's start")
    concise_dates(ax)
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
    ax = new_axes(ax)
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
        percent(bars)
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
    unit = unit_name(cycle.period)
    median, naive_median = cycle.median, cycle.naive_median
    if math.isfinite(median):
        ax.axvline(median, color="C0", linewidth=0.8, linestyle=":")
    if math.isfinite(naive_median):
        ax.axvline(naive_median, color="C1", linewidth=0.8, linestyle=":")
    ax.set_ylim(0.0, 1.02)
    percent(ax)
    ax.legend(loc="upper right")
    ax.set_title(
        f"Purchase cycle: median {median:g} {unit} ({naive_median:g} counting closed gaps only)"
    )
    ax.set_xlabel(f"{unit} between purchases")
    ax.set_ylabel("share of gaps longer than this")
    return ax


# --- non-contractual models ---


def probability_alive_matrix(
    model: ContinuousModel | BGBB,
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
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> ax = rk.plotting.probability_alive_matrix(model, T=39, ax=Figure().subplots())
    >>> ax.get_title()
    'Probability alive at age 39 weeks'
    """
    ax, unit = matrix(
        model, T, max_frequency, resolution, lambda grid: model.probability_alive(grid), ax
    )
    ax.set_title(f"Probability alive at age {T:.4g} {unit}")
    return ax


def expected_purchases_matrix(
    model: ContinuousModel | BGBB,
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
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> ax = rk.plotting.expected_purchases_matrix(model, T=39, t=39, ax=Figure().subplots())
    >>> ax.get_title()
    'Expected purchases in the next 39 weeks, at age 39 weeks'
    """
    positive(t, "t")
    ax, unit = matrix(
        model,
        T,
        max_frequency,
        resolution,
        lambda grid: model.conditional_expected_purchases(t, grid),
        ax,
    )
    ax.set_title(f"Expected purchases in the next {t:.4g} {unit}, at age {T:.4g} {unit}")
    return ax


def holdout_by_frequency(report: HoldoutReport, *, ax: Axes | None = None) -> Axes:
    """Draw the mean holdout purchases, actual and expected, by calibration frequency.

    The standard check of a buy-till-you-die forecast (Fader, Hardie & Lee 2005, Figure 4):
    customers are grouped by their repeat purchases in the calibration window, and for each
    group the mean purchases in the holdout window are set against the model's conditional
    expectation over the holdout's length.

    Parameters
    ----------
    report : HoldoutReport
        From `retention_kit.holdout_report` (its ``max_frequency`` sets the groups).
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        One point per group, "K+" pooling the frequent buyers; empty groups are gaps.

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
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> report = rk.holdout_report(model, data)
    >>> ax = rk.plotting.holdout_by_frequency(report, ax=Figure().subplots())
    >>> ax.get_title()
    'BGNBD: holdout purchases by calibration frequency (holdout of 39)'
    """
    ax = new_axes(ax)
    top = report.max_frequency
    positions = np.arange(top + 1)
    ax.plot(positions, report.actual_holdout, marker="o", label="actual")
    ax.plot(positions, report.expected_holdout, marker="s", linestyle="--", label="model")
    ax.set_xticks(positions, [str(k) for k in range(top)] + [f"{top}+"])
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(
        f"{report.model}: holdout purchases by calibration frequency "
        f"(holdout of {report.holdout_duration:g})"
    )
    ax.set_xlabel("repeat purchases in the calibration window")
    ax.set_ylabel("mean purchases in the holdout window")
    return ax


def tracking_curve(curve: TrackingCurve, *, ax: Axes | None = None) -> Axes:
    """Draw cumulative repeat purchases over calendar time, actual against the model's.

    Parameters
    ----------
    curve : TrackingCurve
        From `retention_kit.tracking_curve` (``freq="D"`` for a daily curve).
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default a new figure's Axes.

    Returns
    -------
    matplotlib.axes.Axes
        Both curves at the end of each tracking period, and a dotted line at the end of the
        calibration window.

    Notes
    -----
    The expected curve is sum_i E[X(tau - t_0i)] over the tracked customers (Fader, Hardie
    & Lee 2005, Figure 2); see `retention_kit.tracking_curve`.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> import retention_kit as rk
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> curve = rk.tracking_curve(model, rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                           freq="D")
    >>> ax = rk.plotting.tracking_curve(curve, ax=Figure().subplots())
    >>> ax.get_title()
    'Cumulative repeat purchases of 2,357 customers'
    """
    ax = new_axes(ax)
    ax.plot(curve.period_end, curve.actual, label="actual")
    ax.plot(curve.period_end, curve.expected, linestyle="--", label="model")
    ax.axvline(
        curve.calibration_end.astype("datetime64[D]"),
        color="0.4",
        linewidth=0.8,
        linestyle=":",
        label="end of calibration",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"Cumulative repeat purchases of {curve.n_customers:,} customers")
    ax.set_xlabel("date")
    ax.set_ylabel("repeat purchases since the first purchase")
    concise_dates(ax)
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
    n = int(positive(n_periods, "n_periods", integer=True))
    periods = np.arange(n + 1)
    size = 1.0
    counts = None
    if actual is not None:
        counts = float_column(actual, "actual")
        if counts.size == 0 or counts[0] <= 0:
            raise InvalidDataError("`actual` must start with the cohort size, > 0", field="actual")
        size = float(counts[0])
    ax = new_axes(ax)
    ax.plot(periods, model.project(n, initial=size), label="model")
    if counts is not None:
        ax.plot(np.arange(counts.size), counts, "o", label="actual")
        ax.set_ylabel("customers still active")
    else:
        percent(ax)
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
