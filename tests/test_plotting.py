"""rk.plotting: each plot renders headless, honours ax=, labels itself and draws the right data."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings

matplotlib.use("Agg")

import matplotlib.image
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from strategies import transactions

import retention_kit as rk
from retention_kit import plotting

CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def tx() -> rk.Transactions:
    return rk.datasets.load_cdnow()


@pytest.fixture(scope="module")
def holdout(tx: rk.Transactions) -> rk.CalibrationHoldout:
    return rk.calibration_holdout(
        tx, calibration_end="1997-09-30", observation_end="1998-06-30", unit="W"
    )


@pytest.fixture(scope="module")
def model() -> rk.BGNBD:
    return rk.BGNBD(**CDNOW_BGNBD, unit="W")


@pytest.fixture(scope="module")
def sbg() -> rk.ShiftedBetaGeometric:
    return rk.ShiftedBetaGeometric.fit(rk.datasets.load_retention_segments().regular[:8])


def new_ax() -> Axes:
    return Figure(figsize=(6, 4), layout="constrained").subplots()


def pixels(ax: Axes) -> np.ndarray:
    """The rendered PNG of ``ax``'s figure, cropped to the inside of ``ax``'s frame."""
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=ax.figure.dpi)
    buffer.seek(0)
    image = matplotlib.image.imread(buffer, format="png")
    box = ax.get_window_extent()
    height = image.shape[0]
    top, bottom = int(height - box.y1) + 3, int(height - box.y0) - 3
    return image[top:bottom, int(box.x0) + 3 : int(box.x1) - 3]


def plots(tx, holdout, model, sbg):
    """(name, call drawing on the given ax) for every plot."""
    seg = rk.datasets.load_retention_segments()
    return {
        "cohort_heatmap": lambda ax: plotting.cohort_heatmap(rk.cohort_retention(tx), ax=ax),
        "retention_over_time": lambda ax: plotting.retention_over_time(
            rk.retention_series(tx, active_window=90), ax=ax
        ),
        "purchase_cycle_survival": lambda ax: plotting.purchase_cycle_survival(
            rk.purchase_cycle(tx), ax=ax
        ),
        "probability_alive_matrix": lambda ax: plotting.probability_alive_matrix(
            model, T=39, ax=ax
        ),
        "expected_purchases_matrix": lambda ax: plotting.expected_purchases_matrix(
            model, T=39, t=39, ax=ax
        ),
        "holdout_by_frequency": lambda ax: plotting.holdout_by_frequency(
            rk.holdout_report(model, holdout), ax=ax
        ),
        "tracking_curve": lambda ax: plotting.tracking_curve(
            rk.tracking_curve(model, tx, calibration_end="1997-09-30", freq="D"), ax=ax
        ),
        "survival_projection": lambda ax: plotting.survival_projection(
            sbg, 12, actual=seg.regular, calibration_periods=7, ax=ax
        ),
    }


NAMES = [
    "cohort_heatmap",
    "retention_over_time",
    "purchase_cycle_survival",
    "probability_alive_matrix",
    "expected_purchases_matrix",
    "holdout_by_frequency",
    "tracking_curve",
    "survival_projection",
]


def test_an_empty_axes_is_blank_inside():
    assert float(pixels(new_ax()).var()) == 0.0


def test_every_public_plot_is_covered():
    assert sorted(NAMES) == sorted(plotting.__all__)


@pytest.mark.parametrize("name", NAMES)
def test_renders_on_the_given_axes_with_labels(name, tx, holdout, model, sbg):
    ax = new_ax()
    drawn = plots(tx, holdout, model, sbg)[name](ax)
    assert drawn is ax
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    image = pixels(ax)
    assert image.shape[0] > 50
    assert image.shape[1] > 50
    assert float(image.var()) > 1e-3
    # Something other than the axes frame was drawn on this very Axes.
    assert ax.lines or ax.images or ax.collections


@pytest.mark.parametrize("name", ["cohort_heatmap", "survival_projection"])
def test_without_ax_draws_on_a_new_pyplot_figure(name, tx, holdout, model, sbg):
    before = set(plt.get_fignums())
    ax = plots(tx, holdout, model, sbg)[name](None)
    try:
        assert isinstance(ax, Axes)
        assert set(plt.get_fignums()) - before == {ax.figure.number}
    finally:
        plt.close(ax.figure)


def test_missing_matplotlib_names_the_extra(monkeypatch, tx):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "retention_kit\[plot\]"'):
        plotting.cohort_heatmap(rk.cohort_retention(tx))


def test_import_retention_kit_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "import retention_kit as rk\n"
        "assert 'matplotlib' not in sys.modules, 'imported by retention_kit'\n"
        "assert 'retention_kit.plotting' not in sys.modules\n"
        "assert 'plotting' in rk.__all__\n"
        "module = rk.plotting\n"
        "assert module.__name__ == 'retention_kit.plotting'\n"
        "assert 'matplotlib' not in sys.modules, 'imported by retention_kit.plotting'\n"
        "rk.not_a_name\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1
    assert "AttributeError: module 'retention_kit' has no attribute 'not_a_name'" in (
        result.stderr
    )
    assert "AssertionError" not in result.stderr


# --- what is drawn ---


def test_heatmap_shows_the_rates(tx):
    table = rk.cohort_retention(tx)
    ax = plotting.cohort_heatmap(table, ax=new_ax())
    shown = ax.images[0].get_array()
    assert np.array_equal(shown.mask, np.isnan(table.rates))
    np.testing.assert_array_equal(shown.filled(np.nan), table.rates)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1997-01", "1997-02", "1997-03"]
    # The colour scale spans ages >= 1, so age 0 (100%) does not flatten the rest.
    assert ax.images[0].get_clim() == (0.0, float(np.nanmax(table.rates[:, 1:])))


def test_series_lines_are_the_rates(tx):
    series = rk.retention_series(tx, active_window=90)
    ax = plotting.retention_over_time(series, ax=new_ax())
    retention, churn = ax.lines
    np.testing.assert_array_equal(retention.get_ydata(), series.retention_rate)
    np.testing.assert_array_equal(churn.get_ydata(), series.churn_rate)


def test_empty_series_is_refused():
    day = np.array([], dtype="datetime64[D]")
    empty = rk.RetentionSeries(day, day, [], [], [], [], freq="M", active_window=30)
    with pytest.raises(rk.InvalidDataError, match="at least one period"):
        plotting.retention_over_time(empty, ax=new_ax())


def test_cycle_curves(tx):
    cycle = rk.purchase_cycle(tx)
    ax = plotting.purchase_cycle_survival(cycle, ax=new_ax())
    km, naive = ax.lines[:2]
    np.testing.assert_array_equal(km.get_ydata(), np.concatenate(([1.0], cycle.survival)))
    closed = np.repeat(cycle.times, cycle.events)  # every closed gap, once
    share_longer = (closed[None, :] > cycle.times[:, None]).mean(axis=1)
    np.testing.assert_allclose(naive.get_ydata()[1:], share_longer, atol=1e-12)
    # The histogram's bars add up to all closed gaps.
    bars = next(a for a in ax.figure.axes if a is not ax)
    assert sum(p.get_height() for p in bars.patches) == pytest.approx(1.0)


def test_cycle_without_closed_gaps():
    one_each = rk.Transactions([1, 2], np.array(["2024-01-01", "2024-01-05"], "datetime64[D]"))
    ax = plotting.purchase_cycle_survival(rk.purchase_cycle(one_each), ax=new_ax())
    assert len(ax.lines) == 1
    assert "median inf" in ax.get_title()


def test_alive_matrix_values(model):
    ax = plotting.probability_alive_matrix(
        model, T=39, max_frequency=5, resolution=13, ax=new_ax()
    )
    values = ax.collections[0].get_array().reshape(6, 13)
    centres = (np.arange(13) + 0.5) * 3.0
    x, j = 4, 7
    one = rk.CustomerSummary([x], [centres[j]], [39.0], unit="W")
    assert values[x, j] == pytest.approx(model.probability_alive(one)[0], rel=1e-12)
    never = rk.CustomerSummary([0], [0.0], [39.0], unit="W")
    np.testing.assert_allclose(values[0], model.probability_alive(never)[0], rtol=1e-12)
    assert ax.get_title() == "Probability alive at age 39 weeks"


def test_expected_matrix_values(model):
    ax = plotting.expected_purchases_matrix(
        model, T=39, t=10, max_frequency=3, resolution=4, ax=new_ax()
    )
    values = ax.collections[0].get_array().reshape(4, 4)
    one = rk.CustomerSummary([2], [39 * 3.5 / 4], [39.0], unit="W")
    assert values[2, 3] == pytest.approx(
        model.conditional_expected_purchases(10.0, one)[0], rel=1e-12
    )


def test_bgbb_matrix_shows_feasible_patterns_only():
    model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    ax = plotting.probability_alive_matrix(model, T=6, ax=new_ax())
    shown = ax.collections[0].get_array()
    values = shown.filled(np.nan).reshape(7, 7)
    x, t_x = np.meshgrid(np.arange(7), np.arange(7), indexing="ij")
    feasible = ((x == 0) & (t_x == 0)) | ((x >= 1) & (x <= t_x))
    assert np.array_equal(np.isfinite(values), feasible)
    pattern = rk.DiscreteSummary([3], [5], n_periods=6)
    assert values[3, 5] == pytest.approx(model.probability_alive(pattern)[0], rel=1e-12)
    assert ax.get_title() == "Probability alive at age 6 opportunities"


@pytest.mark.parametrize(
    ("keywords", "field"),
    [
        ({"T": 0}, "T"),
        ({"T": 39, "max_frequency": 0}, "max_frequency"),
        ({"T": 39, "max_frequency": 2.5}, "max_frequency"),
        ({"T": 39, "resolution": -1}, "resolution"),
        ({"T": float("nan")}, "T"),
    ],
)
def test_matrix_arguments_are_checked(model, keywords, field):
    with pytest.raises(rk.InvalidDataError) as error:
        plotting.probability_alive_matrix(model, ax=new_ax(), **keywords)
    assert error.value.field == field


def test_bgbb_age_must_be_whole():
    model = rk.BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    with pytest.raises(rk.InvalidDataError, match="'T' must be an integer"):
        plotting.probability_alive_matrix(model, T=5.5, ax=new_ax())
    with pytest.raises(rk.InvalidDataError, match="'t' must be"):
        plotting.expected_purchases_matrix(model, T=5, t=0, ax=new_ax())


def test_holdout_bins_are_the_report_and_a_groupby(model, holdout):
    report = rk.holdout_report(model, holdout, max_frequency=5)
    ax = plotting.holdout_by_frequency(report, ax=new_ax())
    actual, predicted = ax.lines
    np.testing.assert_array_equal(actual.get_ydata(), report.actual_holdout)
    np.testing.assert_array_equal(predicted.get_ydata(), report.expected_holdout)
    # Cross-check the drawn points with a plain pandas group-by of the customers.
    frame = holdout.to_frame("pandas")
    frame["predicted"] = model.conditional_expected_purchases(39.0, holdout.calibration)
    frame["bin"] = frame["frequency_cal"].clip(upper=5)
    means = frame.groupby("bin")[["frequency_holdout", "predicted"]].mean()
    np.testing.assert_allclose(actual.get_ydata(), means["frequency_holdout"], rtol=1e-12)
    np.testing.assert_allclose(predicted.get_ydata(), means["predicted"], rtol=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3", "4", "5+"]
    assert ax.get_title().startswith("BGNBD: holdout purchases")


def test_tracking_lines_are_the_curve(model, tx):
    curve = rk.tracking_curve(model, tx, calibration_end="1997-09-30", freq="D")
    ax = plotting.tracking_curve(curve, ax=new_ax())
    actual, expected, calibration = ax.lines
    np.testing.assert_array_equal(actual.get_ydata(), curve.actual)
    np.testing.assert_array_equal(expected.get_ydata(), curve.expected)
    dates = actual.get_xdata()
    assert dates[0] == np.datetime64("1997-01-01")
    assert dates[-1] == np.datetime64("1998-06-30")
    assert actual.get_ydata()[-1] == 2457 + 1882  # calibration + holdout, REFERENCES.md
    assert calibration.get_xdata()[0] == np.datetime64("1997-09-30")
    assert ax.get_title() == "Cumulative repeat purchases of 2,357 customers"


@settings(max_examples=15)
@given(transactions(max_customers=8, max_rows=40, max_days=500))
def test_heatmap_of_any_log_shows_its_rates(log):
    table = rk.cohort_retention(log, freq="M")
    ax = plotting.cohort_heatmap(table, ax=new_ax())
    shown = ax.images[0].get_array()
    np.testing.assert_array_equal(shown.filled(np.nan), table.rates)
    assert len(ax.get_yticklabels()) == len(table)


def test_projection_lines(sbg):
    regular = rk.datasets.load_retention_segments().regular
    ax = plotting.survival_projection(sbg, 12, actual=regular, calibration_periods=7, ax=new_ax())
    curve, points = ax.lines[:2]
    np.testing.assert_allclose(curve.get_ydata(), sbg.project(12, initial=1000), rtol=1e-12)
    np.testing.assert_array_equal(points.get_ydata(), regular)
    share = plotting.survival_projection(sbg, 5, ax=new_ax())
    np.testing.assert_allclose(share.lines[0].get_ydata(), sbg.survival(np.arange(6)), rtol=1e-12)
    assert share.get_ylabel() == "share of the cohort still active"


def test_projection_arguments_are_checked(sbg):
    with pytest.raises(rk.InvalidDataError, match="n_periods"):
        plotting.survival_projection(sbg, 0, ax=new_ax())
    with pytest.raises(rk.InvalidDataError, match="cohort size"):
        plotting.survival_projection(sbg, 3, actual=[0, 0], ax=new_ax())
    with pytest.raises(rk.InvalidDataError, match="must be finite"):
        plotting.survival_projection(sbg, 3, actual=[100, np.nan], ax=new_ax())


def test_date_plots_leave_the_other_axes_of_the_figure_alone(tx):
    figure = Figure(figsize=(8, 3))
    left, right = figure.subplots(1, 2)
    left.plot([0, 1, 2], [0, 1, 4])
    plotting.retention_over_time(rk.retention_series(tx, active_window=90), ax=right)
    figure.canvas.draw()
    assert all(label.get_rotation() == 0 for label in left.get_xticklabels())
    assert right.get_xticklabels()[0].get_text()  # dates are labelled
