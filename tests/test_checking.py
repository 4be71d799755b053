"""Tests of model checking: holdout reports, model comparison and the tracking curve."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from scipy import stats
from strategies import DAY, EPOCH, customer_summaries, transactions

import retention_kit as rk

matplotlib.use("Agg")

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"
LIFETIMES = {"BGNBD": BetaGeoFitter, "MBGNBD": ModifiedBetaGeoFitter, "ParetoNBD": ParetoNBDFitter}


@pytest.fixture(scope="module")
def cdnow() -> rk.Transactions:
    return rk.datasets.load_cdnow()


@pytest.fixture(scope="module")
def data(cdnow: rk.Transactions) -> rk.CalibrationHoldout:
    return rk.calibration_holdout(
        cdnow,
        calibration_end=CALIBRATION_END,
        observation_end=OBSERVATION_END,
        period="D",
        unit="W",
    )


@pytest.fixture(scope="module")
def fitted(data: rk.CalibrationHoldout) -> dict[str, Any]:
    return {
        "BGNBD": rk.BGNBD.fit(data.calibration),
        "MBGNBD": rk.MBGNBD.fit(data.calibration),
        "ParetoNBD": rk.ParetoNBD.fit(data.calibration),
    }


def _lifetimes_table(model: Any, data: rk.CalibrationHoldout, n: int) -> pd.DataFrame:
    """lifetimes' holdout-by-frequency table, read off the lines its plot draws."""
    from lifetimes.plotting import plot_calibration_purchases_vs_holdout_purchases
    from matplotlib import pyplot as plt

    reference = LIFETIMES[type(model).__name__]()
    reference.params_ = pd.Series(model.parameters())
    ax = plot_calibration_purchases_vs_holdout_purchases(reference, data.to_frame("pandas"), n=n)
    actual, predicted = ax.lines[0], ax.lines[1]
    table = pd.DataFrame(
        {"actual": actual.get_ydata(), "predicted": predicted.get_ydata()},
        index=np.asarray(actual.get_xdata(), dtype=np.float64),
    )
    plt.close(ax.figure)
    return table


# --- holdout report on CDNOW ---


@pytest.mark.parametrize("name", ["BGNBD", "MBGNBD", "ParetoNBD"])
def test_holdout_by_frequency_matches_lifetimes(
    name: str, fitted: dict[str, Any], data: rk.CalibrationHoldout
) -> None:
    model = fitted[name]
    # Every frequency in its own bin (x <= 29 on CDNOW), as lifetimes groups them.
    report = rk.holdout_report(model, data, max_frequency=30)
    table = _lifetimes_table(model, data, n=40)
    present = report.customers > 0
    np.testing.assert_array_equal(report.frequency[present], table.index)
    np.testing.assert_allclose(report.actual_holdout[present], table["actual"], rtol=1e-12)
    np.testing.assert_allclose(report.expected_holdout[present], table["predicted"], rtol=1e-8)
    # The default bins: 0..6 as lifetimes' first seven groups, and 7+ pooled.
    default = rk.holdout_report(model, data)
    first = _lifetimes_table(model, data, n=7)
    np.testing.assert_allclose(default.actual_holdout[:7], first["actual"], rtol=1e-12)
    np.testing.assert_allclose(default.expected_holdout[:7], first["predicted"], rtol=1e-8)
    pooled = data.calibration.frequency >= 7
    expected = model.conditional_expected_purchases(39.0, data.calibration)
    assert default.customers[7] == pooled.sum() == 64
    assert default.actual_holdout[7] == pytest.approx(data.holdout_frequency[pooled].mean())
    assert default.expected_holdout[7] == pytest.approx(expected[pooled].mean(), rel=1e-12)


def test_bgnbd_report_on_cdnow(fitted: dict[str, Any], data: rk.CalibrationHoldout) -> None:
    model = fitted["BGNBD"]
    report = rk.holdout_report(model, data)
    assert report.model == "BGNBD"
    assert report.n_customers == 2357
    assert report.n_parameters == 4
    assert report.holdout_duration == 39.0
    np.testing.assert_array_equal(report.frequency, np.arange(8))
    # Fader, Hardie & Lee (2005): 1,411 customers without a repeat purchase; LL -9582.4.
    assert report.customers[0] == 1411
    assert report.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    # The errors, from the per-customer forecasts.
    expected = model.conditional_expected_purchases(39.0, data.calibration)
    error = data.holdout_frequency - expected
    assert report.mae == pytest.approx(np.abs(error).mean(), rel=1e-12)
    assert report.rmse == pytest.approx(math.sqrt((error**2).mean()), rel=1e-12)
    assert report.mae <= report.rmse
    # Total holdout purchases: the bins' means times their sizes.
    assert report.customers @ report.actual_holdout == pytest.approx(1882)
    assert report.customers @ report.expected_holdout == pytest.approx(expected.sum())


@pytest.mark.parametrize("name", ["BGNBD", "MBGNBD", "ParetoNBD"])
def test_information_criteria(
    name: str, fitted: dict[str, Any], data: rk.CalibrationHoldout
) -> None:
    model = fitted[name]
    report = rk.holdout_report(model, data)
    result = model.fit_result
    assert report.log_likelihood == pytest.approx(result.log_likelihood, abs=1e-8)
    k, n, ll = 4, 2357, report.log_likelihood
    assert report.aic == pytest.approx(2 * k - 2 * ll, rel=1e-15)
    assert report.bic == pytest.approx(k * math.log(n) - 2 * ll, rel=1e-15)
    assert report.aic == pytest.approx(result.aic, abs=1e-7)
    assert report.bic == pytest.approx(result.bic, abs=1e-7)


@pytest.mark.parametrize("name", ["BGNBD", "MBGNBD", "ParetoNBD"])
def test_expected_histogram(
    name: str, fitted: dict[str, Any], data: rk.CalibrationHoldout
) -> None:
    model = fitted[name]
    report = rk.holdout_report(model, data)
    assert report.expected_customers.sum() == pytest.approx(2357, rel=1e-12)
    assert report.customers.sum() == 2357
    T = data.calibration.T
    for k in range(7):
        direct = model.probability_of_purchases(k, T).sum()
        assert report.expected_customers[k] == pytest.approx(direct, rel=1e-12)
    # The pooled bin is the tail of each customer's distribution, summed term by term.
    ages, counts = np.unique(T, return_counts=True)
    tail = model.probability_of_purchases(np.arange(7, 400)[:, None], ages[None, :]).sum(axis=0)
    assert report.expected_customers[7] == pytest.approx(tail @ counts, rel=1e-9)


def test_expected_histogram_matches_lifetimes(
    fitted: dict[str, Any], data: rk.CalibrationHoldout
) -> None:
    model = fitted["BGNBD"]
    reference = BetaGeoFitter()
    reference.params_ = pd.Series(model.parameters())
    ages, counts = np.unique(data.calibration.T, return_counts=True)
    theirs = [
        sum(
            c * float(reference.probability_of_n_purchases_up_to_time(t, k))
            for t, c in zip(ages, counts, strict=True)
        )
        for k in range(7)
    ]
    report = rk.holdout_report(model, data)
    np.testing.assert_allclose(report.expected_customers[:7], theirs, rtol=1e-8)


@pytest.mark.parametrize("name", ["BGNBD", "MBGNBD", "ParetoNBD"])
def test_chi_square_is_pearsons(
    name: str, fitted: dict[str, Any], data: rk.CalibrationHoldout
) -> None:
    report = rk.holdout_report(fitted[name], data)
    reference = stats.chisquare(report.customers, report.expected_customers, ddof=4)
    assert report.degrees_of_freedom == 8 - 1 - 4
    assert report.chi_square == pytest.approx(reference.statistic, rel=1e-12)
    assert report.p_value == pytest.approx(reference.pvalue, rel=1e-10)


def test_report_frame(fitted: dict[str, Any], data: rk.CalibrationHoldout) -> None:
    report = rk.holdout_report(fitted["BGNBD"], data, max_frequency=5)
    frame = report.to_frame("polars")
    assert frame["frequency"].to_list() == ["0", "1", "2", "3", "4", "5+"]
    assert frame["customers"].to_list() == report.customers.tolist()
    with pytest.raises(ValueError, match="read-only"):
        report.customers[0] = 0.0


def test_empty_bins_have_no_mean(fitted: dict[str, Any], data: rk.CalibrationHoldout) -> None:
    report = rk.holdout_report(fitted["BGNBD"], data, max_frequency=35)
    empty = report.customers == 0
    assert empty[30:].all()  # CDNOW's most frequent customer has x = 29
    assert np.isnan(report.actual_holdout[empty]).all()
    assert np.isnan(report.expected_holdout[empty]).all()
    assert not np.isnan(report.actual_holdout[~empty]).any()
    assert (report.expected_customers > 0).all()


# --- model comparison ---


def test_compare_models(fitted: dict[str, Any], data: rk.CalibrationHoldout) -> None:
    names = {"BG/NBD": "BGNBD", "Pareto/NBD": "ParetoNBD", "MBG/NBD": "MBGNBD"}
    table = rk.compare_models({label: fitted[key] for label, key in names.items()}, data)
    assert len(table) == 3
    assert table.name.tolist() == list(names)
    for i, key in enumerate(names.values()):
        report = rk.holdout_report(fitted[key], data)
        for column in ("log_likelihood", "aic", "bic", "mae", "rmse", "chi_square", "p_value"):
            assert getattr(table, column)[i] == getattr(report, column), column
        assert table.n_parameters[i] == 4
        assert table.degrees_of_freedom[i] == 3
    # The published log-likelihoods: BG/NBD -9582.4, Pareto/NBD -9595.0, MBG/NBD -9582.1.
    np.testing.assert_allclose(table.log_likelihood, [-9582.4, -9595.0, -9582.1], atol=0.05)
    frame = table.to_frame("pandas")
    assert frame["model"].tolist() == list(names)
    assert frame.shape == (3, 10)


def test_compare_models_refuses_bad_input(
    fitted: dict[str, Any], data: rk.CalibrationHoldout
) -> None:
    with pytest.raises(rk.InvalidDataError, match="non-empty dict"):
        rk.compare_models({}, data)
    with pytest.raises(rk.InvalidDataError, match="non-empty dict"):
        rk.compare_models([fitted["BGNBD"]], data)  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="keyed by names"):
        rk.compare_models({1: fitted["BGNBD"]}, data)  # type: ignore[dict-item]
    spend = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
    with pytest.raises(rk.InvalidDataError, match="GammaGamma"):
        rk.compare_models({"BG/NBD": fitted["BGNBD"], "spend": spend}, data)


# --- discrete-time data: BG/BB ---


@pytest.fixture(scope="module")
def weekly(cdnow: rk.Transactions) -> rk.CalibrationHoldout:
    return rk.calibration_holdout(
        cdnow, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END, period="W"
    )


def test_bgbb_on_weekly_opportunities(
    cdnow: rk.Transactions, weekly: rk.CalibrationHoldout
) -> None:
    discrete = rk.DiscreteSummary.from_transactions(
        cdnow, period="W", observation_end=CALIBRATION_END
    )
    model = rk.BGBB.fit(discrete)
    report = rk.holdout_report(model, weekly)
    assert report.model == "BGBB"
    expected = model.conditional_expected_purchases(weekly.holdout_duration, discrete)
    error = weekly.holdout_frequency - expected
    assert report.mae == pytest.approx(np.abs(error).mean(), rel=1e-12)
    assert report.rmse == pytest.approx(math.sqrt((error**2).mean()), rel=1e-12)
    assert report.log_likelihood == pytest.approx(model.fit_result.log_likelihood, abs=1e-8)
    assert report.expected_customers.sum() == pytest.approx(2357, rel=1e-12)
    for k in range(7):
        direct = model.probability_of_purchases(k, discrete.n_periods).sum()
        assert report.expected_customers[k] == pytest.approx(direct, rel=1e-12)
    # The same model in a comparison with a continuous-time one on the same weekly data.
    weeks = rk.BGNBD.fit(weekly.calibration)
    table = rk.compare_models({"BG/BB": model, "BG/NBD": weeks}, weekly)
    assert table.mae[0] == report.mae


def test_bgbb_refuses_fractional_times(data: rk.CalibrationHoldout) -> None:
    model = rk.BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    with pytest.raises(rk.InvalidDataError, match="whole number of periods") as error:
        rk.holdout_report(model, data)  # days in weeks: recency 30.43...
    assert error.value.field == "recency"
    calibration = rk.CustomerSummary([1, 0], [2.0, 0.0], [5.0, 5.0], unit="W")
    half = rk.CalibrationHoldout(calibration, [0, 1], holdout_duration=2.5)
    with pytest.raises(rk.InvalidDataError, match="holdout_duration"):
        rk.holdout_report(model, half)


def test_discrete_bins_beyond_the_opportunities_are_left_out() -> None:
    """With 6 opportunities x >= 7 is impossible: its empty bins are not degrees of freedom."""
    model = rk.BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    sample = model.sample(3000, 6, rng=1)
    calibration = rk.CustomerSummary(sample.frequency, sample.recency, sample.n_periods, unit="W")
    data = rk.CalibrationHoldout(calibration, np.zeros(3000), holdout_duration=3)
    report = rk.holdout_report(model, data, max_frequency=9)
    assert report.customers[7:].sum() == 0
    assert report.expected_customers[7:].max() < 1e-9
    assert report.degrees_of_freedom == 7 - 1 - 4
    used = slice(0, 7)
    statistic = (
        (report.customers[used] - report.expected_customers[used]) ** 2
        / report.expected_customers[used]
    ).sum()
    assert report.chi_square == pytest.approx(statistic, rel=1e-12)
    # At the true parameters, the sample passes.
    assert report.p_value > 0.01


def test_a_practically_impossible_count_makes_the_statistic_infinite() -> None:
    model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    sample = model.sample(2000, 39.0, rng=1)
    frequency = np.r_[sample.frequency, 300.0]  # 300 repeat purchases in one week
    recency, T = np.r_[sample.recency, 0.9], np.r_[sample.T, 1.0]
    calibration = rk.CustomerSummary(frequency, recency, T, unit="W")
    data = rk.CalibrationHoldout(calibration, np.zeros(2001), holdout_duration=39)
    report = rk.holdout_report(model, data, max_frequency=200)
    assert report.customers[200] == 1
    assert report.expected_customers[200] < 1e-12 * 2001  # round-off of the complement
    assert report.chi_square == math.inf
    assert report.p_value == 0.0


# --- data a model generated pass its checks ---


def simulate_log(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    drop_at_start: bool,
    days: int,
    acquisition_days: int,
    rng: int,
) -> rk.Transactions:
    """A transaction log of BG/NBD (or, dropping out at time 0 too, MBG/NBD) customers.

    Customer i is acquired on a day born_i; while alive she buys as a Poisson process of rate
    lambda_i ~ Gamma(r, alpha) per day and drops out right after each repeat purchase with
    probability p_i ~ Beta(a, b), so she makes min(N_i, G_i) of the N_i ~ Poisson(lambda_i w_i)
    purchases of a customer who never leaves (G_i ~ Geometric(p_i)); given N_i those are
    uniform on her window w_i, sorted, and she keeps the first min(N_i, G_i).
    """
    g = np.random.default_rng(rng)
    lam = g.gamma(r, 1 / alpha, n)
    p = np.clip(g.beta(a, b, n), 1e-12, 1.0)
    born = g.integers(0, acquisition_days, n)
    window = days - born
    count = g.poisson(lam * window)
    made = np.minimum(count, g.geometric(p))
    if drop_at_start:
        made = np.where(g.random(n) < p, 0, made)
    owner = np.repeat(np.arange(n), count)
    when = g.random(owner.size) * window[owner]
    order = np.lexsort((when, owner))
    owner, when = owner[order], when[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    keep = rank < made[owner]
    ids = np.concatenate([np.arange(n), owner[keep]])
    offsets = np.concatenate([born.astype(np.float64), born[owner[keep]] + when[keep]])
    return rk.Transactions(ids, EPOCH + np.round(offsets * 86_400).astype("timedelta64[s]"))


@pytest.mark.parametrize(
    ("cls", "params", "drop_at_start"),
    [(rk.BGNBD, (0.3, 150.0, 0.8, 2.5), False), (rk.MBGNBD, (0.5, 200.0, 0.9, 1.6), True)],
)
def test_a_model_passes_on_data_it_generated(
    cls: Any, params: tuple[float, ...], drop_at_start: bool
) -> None:
    # Purchases are days apart on average (alpha in days), so that merging purchases on the
    # same day, as summaries do, hardly changes the counts the model describes.
    log = simulate_log(
        5000, *params, drop_at_start=drop_at_start, days=2000, acquisition_days=365, rng=0
    )
    split = rk.calibration_holdout(
        log, calibration_end=EPOCH + 1000 * DAY, observation_end=EPOCH + 2000 * DAY, unit="D"
    )
    model = cls.fit(split.calibration)
    report = rk.holdout_report(model, split)
    assert report.p_value > 0.01, report.chi_square
    total = report.customers @ report.expected_holdout
    assert total == pytest.approx(split.holdout_frequency.sum(), rel=0.1)
    # Each bin's mean holdout purchases within 4 standard errors of its customers' actuals.
    bins = np.minimum(split.calibration.frequency, 7)
    for k in range(8):
        actual = split.holdout_frequency[bins == k]
        error = actual.std(ddof=1) / math.sqrt(actual.size)
        assert abs(actual.mean() - report.expected_holdout[k]) < 4 * error, k
    # At the true parameters the bins' expected counts are the sample's, within the noise.
    truth = cls(*params, unit="D")
    at_truth = rk.holdout_report(truth, split)
    assert stats.chi2.sf(at_truth.chi_square, 7) > 0.01


# --- refusals ---


def test_models_that_do_not_count_purchases_are_refused(data: rk.CalibrationHoldout) -> None:
    for model in (
        rk.GammaGamma(p=6.25, q=3.74, v=15.44),
        rk.ShiftedBetaGeometric(alpha=1, beta=2),
    ):
        with pytest.raises(rk.InvalidDataError, match="model of repeat purchases") as error:
            rk.holdout_report(model, data)
        assert error.value.field == "model"
    with pytest.raises(rk.InvalidDataError, match="model of repeat purchases"):
        rk.holdout_report("BGNBD", data)


def test_bad_arguments_are_refused(fitted: dict[str, Any], data: rk.CalibrationHoldout) -> None:
    model = fitted["BGNBD"]
    with pytest.raises(rk.InvalidDataError, match="must be a CalibrationHoldout") as error:
        rk.holdout_report(model, data.calibration)  # type: ignore[arg-type]
    assert error.value.field == "calibration_holdout"
    for bad in (0, -1, 2.5, True, "7"):
        with pytest.raises(rk.InvalidDataError) as error:
            rk.holdout_report(model, data, max_frequency=bad)  # type: ignore[arg-type]
        assert error.value.field == "max_frequency"
    # Four parameters leave no degree of freedom to 4 bins (0, 1, 2 and 3+).
    with pytest.raises(rk.InvalidDataError, match="at least one degree of freedom") as error:
        rk.holdout_report(model, data, max_frequency=3)
    assert "at least 5" in str(error.value)
    assert rk.holdout_report(model, data, max_frequency=5).degrees_of_freedom == 1
    days = rk.BGNBD(r=0.243, alpha=30.9, a=0.793, b=2.426, unit="D")
    with pytest.raises(rk.InvalidDataError, match="fitted in unit 'D'"):
        rk.holdout_report(days, data)
    empty = rk.CalibrationHoldout(
        rk.CustomerSummary(np.empty(0), np.empty(0), np.empty(0), unit="W"),
        np.empty(0),
        holdout_duration=39,
    )
    with pytest.raises(rk.InvalidDataError, match="at least one customer"):
        rk.holdout_report(model, empty)


# --- properties ---


@st.composite
def holdout_data(draw: st.DrawFn) -> tuple[rk.CalibrationHoldout, rk.CalibrationHoldout]:
    """The same customers twice: rows with integer weights, and the rows repeated."""
    summary = draw(customer_summaries(max_rows=15, max_frequency=12, max_T=60.0))
    n = len(summary)
    holdout = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), float)
    weight = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), float)
    duration = draw(st.floats(1.0, 60.0))
    weighted = rk.CustomerSummary(
        summary.frequency, summary.recency, summary.T, weight=weight, unit="W"
    )
    rows = np.repeat(np.arange(n), weight.astype(int))
    repeated = rk.CustomerSummary(
        summary.frequency[rows], summary.recency[rows], summary.T[rows], unit="W"
    )
    return (
        rk.CalibrationHoldout(weighted, holdout, holdout_duration=duration),
        rk.CalibrationHoldout(repeated, holdout[rows], holdout_duration=duration),
    )


@settings(max_examples=30)
@given(pair=holdout_data())
def test_weights_stand_for_repeated_customers(
    pair: tuple[rk.CalibrationHoldout, rk.CalibrationHoldout],
) -> None:
    model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    weighted, repeated = (rk.holdout_report(model, d, max_frequency=6) for d in pair)
    assert weighted.n_customers == repeated.n_customers
    np.testing.assert_array_equal(weighted.customers, repeated.customers)
    for name in ("mae", "rmse", "log_likelihood", "aic", "bic", "chi_square", "p_value"):
        assert getattr(weighted, name) == pytest.approx(getattr(repeated, name), rel=1e-9), name
    for name in ("expected_customers", "actual_holdout", "expected_holdout"):
        np.testing.assert_allclose(
            getattr(weighted, name), getattr(repeated, name), rtol=1e-9, equal_nan=True
        )
    assert weighted.expected_customers.sum() == pytest.approx(weighted.n_customers, rel=1e-12)
    assert np.all(weighted.expected_customers >= 0)
    assert weighted.mae <= weighted.rmse * (1 + 1e-12)


# --- tracking curve ---


def test_tracking_curve_on_cdnow(cdnow: rk.Transactions, fitted: dict[str, Any]) -> None:
    model = fitted["BGNBD"]
    curve = rk.tracking_curve(
        model, cdnow, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END, freq="D"
    )
    days = np.arange(np.datetime64("1997-01-01"), np.datetime64("1998-07-01"))
    np.testing.assert_array_equal(curve.period_end, days)
    np.testing.assert_array_equal(curve.period_start, days)
    assert curve.n_customers == 2357
    assert curve.freq == "D"
    # At the end of calibration and of observation: the sums over the summaries then.
    for moment in (CALIBRATION_END, OBSERVATION_END):
        summary = rk.summarize(cdnow, period="D", unit="W", observation_end=moment)
        row = int(np.flatnonzero(curve.period_end == np.datetime64(moment))[0])
        assert curve.actual[row] == summary.frequency.sum()
        assert curve.expected[row] == pytest.approx(
            model.expected_purchases(summary.T).sum(), rel=1e-12
        )
    assert curve.actual[-1] == 2457 + 1882  # calibration and holdout repeat purchases
    assert np.all(np.diff(curve.actual) >= 0)
    assert np.all(np.diff(curve.expected) >= 0)
    assert curve.expected[0] == 0.0


@pytest.mark.parametrize("freq", ["W", "M"])
def test_coarser_tracking_periods_sample_the_daily_curve(
    cdnow: rk.Transactions, fitted: dict[str, Any], freq: str
) -> None:
    model = fitted["MBGNBD"]
    daily = rk.tracking_curve(model, cdnow, calibration_end=CALIBRATION_END, freq="D")
    coarse = rk.tracking_curve(model, cdnow, calibration_end=CALIBRATION_END, freq=freq)
    rows = np.searchsorted(daily.period_end, coarse.period_end)
    np.testing.assert_array_equal(daily.period_end[rows], coarse.period_end)
    np.testing.assert_array_equal(coarse.actual, daily.actual[rows])
    np.testing.assert_allclose(coarse.expected, daily.expected[rows], rtol=1e-14)
    assert coarse.period_end[-1] == np.datetime64("1998-06-30")
    if freq == "M":
        assert len(coarse) == 18
        assert str(coarse.period_start[1]) == "1997-02-01"
        assert str(coarse.period_end[1]) == "1997-02-28"
    else:
        # Weeks start on Mondays (day 0, 1970-01-01, was a Thursday).
        assert np.all((coarse.period_start.view(np.int64) + 3) % 7 == 0)
        assert str(coarse.period_start[0]) == "1996-12-30"  # the Monday of 1997-01-01
    frame = coarse.to_frame("pandas")
    assert frame["actual_per_period"].sum() == coarse.actual[-1]
    assert frame["expected_per_period"].sum() == pytest.approx(coarse.expected[-1])


def test_weekly_purchase_periods(cdnow: rk.Transactions) -> None:
    summary = rk.summarize(cdnow, period="W", observation_end=OBSERVATION_END)
    model = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
    curve = rk.tracking_curve(
        model,
        cdnow,
        calibration_end=CALIBRATION_END,
        observation_end=OBSERVATION_END,
        freq="W",
        period="W",
    )
    assert curve.actual[-1] == summary.frequency.sum()
    assert curve.expected[-1] == pytest.approx(
        model.expected_purchases(summary.T).sum(), rel=1e-12
    )


def test_bgbb_tracks_opportunities(cdnow: rk.Transactions) -> None:
    model = rk.BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    curve = rk.tracking_curve(model, cdnow, calibration_end=CALIBRATION_END, freq="M", period="M")
    discrete = rk.DiscreteSummary.from_transactions(cdnow, period="M")
    assert curve.actual[-1] == discrete.frequency.sum()
    assert curve.expected[-1] == pytest.approx(
        model.expected_purchases(discrete.n_periods).sum(), rel=1e-12
    )


def test_customers_acquired_after_calibration_are_not_tracked() -> None:
    ids = ["a", "a", "a", "b", "b", "c", "c"]
    days = [0, 3, 10, 2, 2, 6, 8]  # b buys twice on day 2; c arrives after calibration
    stamps = (
        EPOCH + np.array(days) * DAY + np.array([0, 0, 0, 100, 200, 0, 0]).astype("timedelta64[s]")
    )
    frame = pd.DataFrame({"who": ids, "when": stamps})
    model = rk.BGNBD(r=0.5, alpha=5.0, a=1.0, b=3.0, unit="D")
    curve = rk.tracking_curve(
        model,
        frame,
        calibration_end=EPOCH + 4 * DAY,
        observation_end=EPOCH + 12 * DAY,
        freq="D",
        customer_id="who",
        timestamp="when",
    )
    assert curve.n_customers == 2
    assert len(curve) == 13
    np.testing.assert_array_equal(curve.actual, [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2])
    ages = np.arange(13.0)
    expected = (
        model.expected_purchases(ages) + np.r_[0.0, 0.0, model.expected_purchases(ages[:-2])]
    )
    np.testing.assert_allclose(curve.expected, expected, rtol=1e-14)


@settings(max_examples=25)
@given(
    log=transactions(max_customers=8, max_rows=30, max_days=60, with_amount=False),
    cut=st.floats(0.0, 1.0),
    freq=st.sampled_from(["D", "W", "M"]),
)
def test_every_point_is_a_summary(log: rk.Transactions, cut: float, freq: str) -> None:
    """At each point, actual and expected are the sums over `summarize` at that day."""
    start_day = log.start.astype("datetime64[D]")
    span = int((log.end.astype("datetime64[D]") - start_day).astype(int))
    calibration = start_day + np.timedelta64(int(cut * span), "D") + np.timedelta64(86_399, "s")
    end = log.end.astype("datetime64[D]") + np.timedelta64(86_399 + 86_400, "s")
    model = rk.BGNBD(r=0.5, alpha=5.0, a=1.0, b=3.0, unit="W")
    curve = rk.tracking_curve(
        model,
        log,
        calibration_end=calibration,
        observation_end=end,
        freq=freq,  # type: ignore[arg-type]
    )
    ids, codes = log.customer_index()
    acquired = np.zeros(ids.size, dtype=bool)
    acquired[codes[log.timestamp <= calibration]] = True
    tracked = rk.Transactions(log.customer_id[acquired[codes]], log.timestamp[acquired[codes]])
    assert curve.n_customers == acquired.sum()
    for day, actual, expected in zip(curve.period_end, curve.actual, curve.expected, strict=True):
        summary = rk.summarize(tracked, period="D", unit="W", observation_end=day)
        assert actual == summary.frequency.sum()
        assert expected == pytest.approx(model.expected_purchases(summary.T).sum(), rel=1e-12)
    assert np.all(np.diff(curve.actual) >= 0)


def test_tracking_refuses_bad_input(cdnow: rk.Transactions, fitted: dict[str, Any]) -> None:
    model = fitted["BGNBD"]
    with pytest.raises(rk.InvalidDataError, match="must equal 'period'") as error:
        rk.tracking_curve(model, cdnow, calibration_end=CALIBRATION_END, freq="M", period="W")
    assert error.value.field == "freq"
    with pytest.raises(rk.InvalidDataError) as error:
        rk.tracking_curve(model, cdnow, calibration_end=CALIBRATION_END, freq="Q")  # type: ignore[arg-type]
    assert error.value.field == "freq"
    with pytest.raises(rk.InvalidDataError, match="expected_purchases") as error:
        rk.tracking_curve(
            rk.ShiftedBetaGeometric(alpha=1.0, beta=2.0), cdnow, calibration_end=CALIBRATION_END
        )
    assert error.value.field == "model"
    with pytest.raises(rk.InvalidDataError, match="before the first purchase"):
        rk.tracking_curve(model, cdnow, calibration_end="1996-12-31")
    with pytest.raises(rk.InvalidDataError, match="after 'calibration_end'"):
        rk.tracking_curve(
            model, cdnow, calibration_end=CALIBRATION_END, observation_end=CALIBRATION_END
        )
    with pytest.raises(rk.InvalidDataError, match="calibration_end"):
        rk.tracking_curve(model, cdnow, calibration_end="not a date")
