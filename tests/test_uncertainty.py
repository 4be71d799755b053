"""Tests of parameter confidence intervals and of prediction intervals by parametric bootstrap."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from strategies import customer_summaries

import retention_kit as rk

AGES = np.random.default_rng(0).choice(np.arange(20.0, 53.0), size=8000)


def _spend_summary(n: int, rng: int) -> rk.CustomerSummary:
    """Repeat buyers whose mean spends follow the Gamma-Gamma model (p=6, q=4, v=20)."""
    generator = np.random.default_rng(rng)
    x = generator.integers(1, 10, size=n)
    nu = generator.gamma(4.0, 1 / 20.0, size=n)
    spend = generator.gamma(6.0 * x, 1 / (nu * x))
    return rk.CustomerSummary(x, np.ones(n), np.full(n, 2.0), monetary_value=spend, unit="W")


@functools.cache
def _fit_pair(name: str) -> tuple[Any, Any]:
    """The model fitted on 2,000 and on 8,000 customers simulated from it (nested samples)."""
    if name == "BGNBD":
        truth: Any = rk.BGNBD(r=0.25, alpha=4.0, a=0.8, b=2.5, unit="W")
        data: Any = truth.sample(8000, AGES, rng=1)
        small: Any = data.subset(np.arange(2000))
    elif name == "ParetoNBD":
        truth = rk.ParetoNBD(r=0.55, alpha=10.5, s=0.6, beta=11.7, unit="W")
        data = truth.sample(8000, AGES, rng=1)
        small = data.subset(np.arange(2000))
    elif name == "MBGNBD":
        truth = rk.MBGNBD(r=0.5, alpha=6.0, a=0.9, b=1.6, unit="W")
        data = truth.sample(8000, AGES, rng=1)
        small = data.subset(np.arange(2000))
    elif name == "BGBB":
        truth = rk.BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
        data = truth.sample(8000, 6, rng=1)
        small = rk.DiscreteSummary(
            data.frequency[:2000], data.recency[:2000], data.n_periods[:2000]
        )
    elif name == "ShiftedBetaGeometric":
        truth = rk.ShiftedBetaGeometric(alpha=0.7, beta=1.2)
        small = truth.sample(1000, 7, rng=1)
        data = truth.sample(4000, 7, rng=2)
    else:
        data = _spend_summary(8000, 1)
        small = data.subset(np.arange(2000))
        truth = rk.GammaGamma
    cls = type(truth) if not isinstance(truth, type) else truth
    return cls.fit(small), cls.fit(data)


MODELS = ("BGNBD", "ParetoNBD", "MBGNBD", "BGBB", "ShiftedBetaGeometric", "GammaGamma")


@pytest.fixture(scope="module", params=MODELS)
def fitted_pair(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return _fit_pair(request.param)


# --- FitResult.confidence_intervals, for every model ---


def test_confidence_intervals_contain_the_estimate(fitted_pair: tuple[Any, Any]) -> None:
    for model in fitted_pair:
        result = model.fit_result
        intervals = result.confidence_intervals()
        assert list(intervals) == list(model.parameter_names)
        for name, (low, high) in intervals.items():
            value = getattr(model, name)
            assert 0 < low < value < high, name
            # Log-scale Wald interval: symmetric around log(theta).
            assert math.log(value) - math.log(low) == pytest.approx(
                math.log(high) - math.log(value), rel=1e-12
            )


def test_confidence_intervals_narrow_with_more_data(fitted_pair: tuple[Any, Any]) -> None:
    small, large = fitted_pair
    narrow, wide = large.fit_result.confidence_intervals(), small.fit_result.confidence_intervals()
    for name in small.parameter_names:
        # Four times the customers: about half the width on the log scale (1 / sqrt(4)),
        # less where a parameter is weakly identified in the smaller sample (Pareto/NBD's s
        # and beta, BG/BB's gamma and delta).
        ratio = math.log(narrow[name][1] / narrow[name][0]) / math.log(
            wide[name][1] / wide[name][0]
        )
        assert 0.25 < ratio < 0.75, (name, ratio)


def test_confidence_level_orders_the_intervals(fitted_pair: tuple[Any, Any]) -> None:
    result = fitted_pair[0].fit_result
    for name in fitted_pair[0].parameter_names:
        low80, high80 = result.confidence_intervals(0.8)[name]
        low99, high99 = result.confidence_intervals(0.99)[name]
        assert low99 < low80
        assert high80 < high99


# --- parameter draws ---


def test_draws_follow_the_log_normal_approximation(fitted_pair: tuple[Any, Any]) -> None:
    model = fitted_pair[1]
    n = 40_000
    draws = rk.parameter_draws(model, n, rng=7)
    assert draws.shape == (n, len(model.parameter_names))
    logs = np.log(draws)
    scale = 1.0 / model.params
    expected = model.fit_result.covariance * np.outer(scale, scale)
    se = np.sqrt(np.diag(expected))
    # Mean within 5 Monte Carlo standard errors, covariance within a few percent.
    assert np.all(np.abs(logs.mean(axis=0) - np.log(model.params)) < 5 * se / math.sqrt(n))
    standardized = (np.cov(logs.T) - expected) / np.outer(se, se)
    assert np.abs(standardized).max() < 0.03


def test_draw_quantiles_are_the_confidence_intervals(fitted_pair: tuple[Any, Any]) -> None:
    model = fitted_pair[1]
    n = 40_000
    draws = rk.parameter_draws(model, n, rng=11)
    intervals = model.fit_result.confidence_intervals(0.95)
    # Monte Carlo standard error of a 2.5% normal quantile, in units of the log-scale sd.
    quantile_se = math.sqrt(0.025 * 0.975 / n) / stats.norm.pdf(stats.norm.ppf(0.025))
    for j, name in enumerate(model.parameter_names):
        sd = model.fit_result.std_errors[name] / getattr(model, name)
        low, high = np.quantile(draws[:, j], [0.025, 0.975])
        assert abs(math.log(low) - math.log(intervals[name][0])) < 5 * quantile_se * sd, name
        assert abs(math.log(high) - math.log(intervals[name][1])) < 5 * quantile_se * sd, name


def test_draws_are_seeded() -> None:
    model = _fit_pair("BGNBD")[0]
    np.testing.assert_array_equal(
        rk.parameter_draws(model, 50, rng=3), rk.parameter_draws(model, 50, rng=3)
    )
    assert not np.array_equal(
        rk.parameter_draws(model, 50, rng=3), rk.parameter_draws(model, 50, rng=4)
    )
    generator = np.random.default_rng(3)
    np.testing.assert_array_equal(
        rk.parameter_draws(model, 50, rng=generator), rk.parameter_draws(model, 50, rng=3)
    )


def test_a_singular_covariance_draws_along_its_support() -> None:
    model = _fit_pair("BGNBD")[0]
    result = model.fit_result
    covariance = np.zeros((4, 4))
    covariance[0, 0] = result.covariance[0, 0]
    singular = dataclasses.replace(
        model, fit_result=dataclasses.replace(result, covariance=covariance)
    )
    draws = rk.parameter_draws(singular, 100, rng=1)
    assert np.ptp(draws[:, 0]) > 0
    np.testing.assert_array_equal(draws[:, 1:], np.broadcast_to(model.params[1:], (100, 3)))


# --- prediction intervals ---


@pytest.fixture(scope="module")
def bgnbd_pair() -> tuple[rk.BGNBD, rk.BGNBD]:
    return _fit_pair("BGNBD")


@pytest.fixture(scope="module")
def customers() -> rk.CustomerSummary:
    """Customers to forecast: a spread of histories, at ages within the data's."""
    frequency = np.array([0, 1, 2, 5, 10, 0, 3, 20])
    recency = np.array([0.0, 5.0, 30.0, 40.0, 45.0, 0.0, 10.0, 50.0])
    T = np.array([30.0, 40.0, 38.0, 52.0, 48.0, 20.0, 50.0, 52.0])
    return rk.CustomerSummary(frequency, recency, T, unit="W")


def _alive(model: Any, summary: Any) -> Any:
    return model.probability_alive(summary)


def _purchases(model: Any, summary: Any) -> Any:
    return model.conditional_expected_purchases(26.0, summary)


STATISTICS: dict[str, Callable[[Any, Any], Any]] = {"alive": _alive, "purchases": _purchases}


@pytest.mark.parametrize("name", ["BGNBD", "ParetoNBD", "MBGNBD"])
@pytest.mark.parametrize("statistic", sorted(STATISTICS))
def test_intervals_contain_the_estimate_and_narrow(
    name: str, statistic: str, customers: rk.CustomerSummary
) -> None:
    small, large = _fit_pair(name)
    function = STATISTICS[statistic]
    wide = rk.prediction_interval(function, small, customers, rng=1)
    narrow = rk.prediction_interval(function, large, customers, rng=1)
    for interval, model in ((wide, small), (narrow, large)):
        np.testing.assert_array_equal(interval.estimate, function(model, customers))
        assert np.all(interval.lower <= interval.estimate)
        assert np.all(interval.estimate <= interval.upper)
        assert interval.n_draws == 200
        assert interval.confidence_level == 0.95
    moving = wide.upper > wide.lower  # BG/NBD: P(alive) = 1 at x = 0 whatever the parameters
    assert moving.sum() >= 5
    ratio = (narrow.upper - narrow.lower)[moving] / (wide.upper - wide.lower)[moving]
    assert np.all(ratio < 0.85), ratio


@pytest.mark.parametrize("name", ["BGNBD", "ParetoNBD", "MBGNBD"])
def test_probability_alive_intervals_stay_in_the_unit_interval(
    name: str, customers: rk.CustomerSummary
) -> None:
    model = _fit_pair(name)[0]
    interval = rk.prediction_interval(_alive, model, customers, n_draws=300, rng=2)
    assert np.all(interval.lower >= 0)
    assert np.all(interval.upper <= 1)
    assert np.all(interval.lower <= interval.upper)


def test_bgnbd_alive_is_certain_without_repeat_purchases(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    interval = rk.prediction_interval(_alive, bgnbd_pair[0], customers, rng=1)
    none = customers.frequency == 0
    np.testing.assert_array_equal(interval.lower[none], 1.0)
    np.testing.assert_array_equal(interval.upper[none], 1.0)


def test_same_seed_same_interval(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    model = bgnbd_pair[0]
    first = rk.prediction_interval(_purchases, model, customers, n_draws=50, rng=5)
    assert first == rk.prediction_interval(_purchases, model, customers, n_draws=50, rng=5)
    other = rk.prediction_interval(_purchases, model, customers, n_draws=50, rng=6)
    assert first != other
    np.testing.assert_array_equal(first.estimate, other.estimate)


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1000])
def test_chunked_equals_unchunked(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary, chunk_size: int
) -> None:
    model = bgnbd_pair[0]
    whole = rk.prediction_interval(_purchases, model, customers, n_draws=60, rng=9)
    chunked = rk.prediction_interval(
        _purchases, model, customers, n_draws=60, rng=9, chunk_size=chunk_size
    )
    assert chunked == whole


@settings(max_examples=15)
@given(
    summary=customer_summaries(max_rows=25, max_frequency=30, max_T=60.0),
    chunk_size=st.integers(1, 30),
    n_draws=st.integers(2, 40),
    level=st.floats(0.5, 0.99),
)
def test_chunking_never_changes_the_interval(
    summary: rk.CustomerSummary, chunk_size: int, n_draws: int, level: float
) -> None:
    model = _fit_pair("BGNBD")[0]
    kwargs: dict[str, Any] = {"n_draws": n_draws, "confidence_level": level, "rng": 4}
    whole = rk.prediction_interval(_alive, model, summary, **kwargs)
    chunked = rk.prediction_interval(_alive, model, summary, chunk_size=chunk_size, **kwargs)
    assert chunked == whole
    assert np.all(whole.lower <= whole.upper)
    assert np.all((whole.lower >= 0) & (whole.upper <= 1))


def test_memory_is_bounded_by_the_chunk(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    seen: list[int] = []

    def statistic(model: Any, summary: Any) -> Any:
        seen.append(len(summary))
        return model.probability_alive(summary)

    rk.prediction_interval(statistic, bgnbd_pair[0], customers, n_draws=10, chunk_size=3)
    assert max(seen) == 3
    assert sum(seen) == 11 * len(customers)


def test_several_models_for_clv() -> None:
    summary = rk.summarize(
        rk.datasets.load_cdnow(), period="D", unit="W", observation_end="1997-09-30"
    )
    purchases = rk.BGNBD.fit(summary)
    spend = rk.GammaGamma.fit(summary)
    rows = summary.subset(np.arange(10))

    def clv(m: Any, g: Any, s: Any) -> Any:
        return rk.customer_lifetime_value(m, g, s, horizon=52.0, discount_rate=0.0)

    both = rk.prediction_interval(clv, (purchases, spend), rows, n_draws=100, rng=1)
    np.testing.assert_array_equal(both.estimate, clv(purchases, spend, rows))
    assert np.all(both.lower <= both.estimate)
    assert np.all(both.estimate <= both.upper)
    # With the spend model's parameters fixed, only the purchase model's uncertainty remains.
    only_purchases = rk.prediction_interval(
        lambda m, s: clv(m, spend, s), purchases, rows, n_draws=100, rng=1
    )
    assert np.all(only_purchases.upper - only_purchases.lower < both.upper - both.lower)


def test_contractual_survival_over_periods() -> None:
    survivors = rk.datasets.load_retention_segments().regular[:8]
    model = rk.ShiftedBetaGeometric.fit(survivors)
    periods = np.arange(13)
    interval = rk.prediction_interval(lambda m, t: m.survival(t), model, periods, rng=1)
    np.testing.assert_array_equal(interval.estimate, model.survival(periods))
    assert interval.lower[0] == interval.upper[0] == 1.0
    assert np.all(np.diff(interval.upper) < 0)
    assert np.all(np.diff(interval.lower) < 0)
    width = interval.upper - interval.lower
    assert width[12] > width[1]  # the further the projection, the less certain
    assert interval == rk.prediction_interval(
        lambda m, t: m.survival(t), model, periods, rng=1, chunk_size=4
    )


def test_the_summary_is_not_modified(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    before = dataclasses.replace(customers)
    rk.prediction_interval(_alive, bgnbd_pair[0], customers, n_draws=5, rng=1, chunk_size=2)
    assert customers == before


def test_interval_frame() -> None:
    interval = rk.PredictionInterval([0.5, 0.2], [0.4, 0.1], [0.6, 0.3], 200, 0.95)
    frame = interval.to_frame("polars")
    assert frame.columns == ["estimate", "lower", "upper"]
    assert frame["upper"].to_list() == [0.6, 0.3]
    with pytest.raises(ValueError, match="read-only"):
        interval.lower[0] = 1.0


# --- errors ---


def test_a_model_without_a_fit_is_refused(customers: rk.CustomerSummary) -> None:
    model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    with pytest.raises(rk.InvalidDataError, match="has no fit_result") as error:
        rk.prediction_interval(_alive, model, customers)
    assert error.value.field == "models"


def test_a_covariance_that_is_not_finite_is_refused(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    model = bgnbd_pair[0]
    broken = dataclasses.replace(
        model, fit_result=dataclasses.replace(model.fit_result, covariance=np.full((4, 4), np.nan))
    )
    with pytest.raises(rk.InvalidDataError, match="covariance is not finite") as error:
        rk.prediction_interval(_alive, broken, customers)
    assert error.value.field == "covariance"
    # One bad model in a tuple is enough.
    with pytest.raises(rk.InvalidDataError, match="covariance is not finite"):
        rk.prediction_interval(lambda a, b, s: a.probability_alive(s), (model, broken), customers)


def test_an_indefinite_or_misshapen_covariance_is_refused(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    model = bgnbd_pair[0]
    result = model.fit_result
    negative = dataclasses.replace(
        model, fit_result=dataclasses.replace(result, covariance=-np.eye(4))
    )
    with pytest.raises(rk.InvalidDataError, match="not positive semi-definite"):
        rk.prediction_interval(_alive, negative, customers)
    small = dataclasses.replace(
        model, fit_result=dataclasses.replace(result, covariance=np.eye(3))
    )
    with pytest.raises(rk.InvalidDataError, match="must be 4 x 4"):
        rk.prediction_interval(_alive, small, customers)


def test_overflowing_draws_are_refused(bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD]) -> None:
    model = bgnbd_pair[0]
    huge = np.diag(model.params**2) * 1e6  # a log-scale sd of 1000
    wild = dataclasses.replace(
        model, fit_result=dataclasses.replace(model.fit_result, covariance=huge)
    )
    with pytest.raises(rk.InvalidDataError, match="overflow or underflow"):
        rk.parameter_draws(wild, 100, rng=1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_draws": 1}, "n_draws"),
        ({"n_draws": 10.0}, "n_draws"),
        ({"n_draws": True}, "n_draws"),
        ({"confidence_level": 1.0}, "confidence_level"),
        ({"confidence_level": 0}, "confidence_level"),
        ({"confidence_level": "0.9"}, "confidence_level"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
    ],
)
def test_bad_options_are_refused(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD],
    customers: rk.CustomerSummary,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(rk.InvalidDataError) as error:
        rk.prediction_interval(_alive, bgnbd_pair[0], customers, **kwargs)
    assert error.value.field == field


def test_bad_statistics_and_models_are_refused(
    bgnbd_pair: tuple[rk.BGNBD, rk.BGNBD], customers: rk.CustomerSummary
) -> None:
    model = bgnbd_pair[0]
    with pytest.raises(rk.InvalidDataError, match="one number per summary row") as error:
        rk.prediction_interval(lambda m, s: m.probability_alive(s)[:-1], model, customers)
    assert error.value.field == "statistic"
    with pytest.raises(rk.InvalidDataError, match="finite values") as error:
        rk.prediction_interval(
            lambda m, s: np.where(s.frequency > 5, np.nan, 0.0), model, customers, n_draws=3
        )
    assert error.value.rows == (4, 7)
    with pytest.raises(rk.InvalidDataError, match="a fitted retention_kit model"):
        rk.prediction_interval(_alive, "BGNBD", customers)  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="at least one model"):
        rk.prediction_interval(_alive, (), customers)
    with pytest.raises(rk.InvalidDataError, match="'summary' must be"):
        rk.prediction_interval(_alive, model, 3.0)
    days = rk.CustomerSummary([1], [2.0], [10.0], unit="D")
    with pytest.raises(rk.InvalidDataError, match="fitted in unit 'W'"):
        rk.prediction_interval(_alive, model, days)


def test_prediction_interval_validates_its_fields() -> None:
    with pytest.raises(rk.InvalidDataError, match="same length"):
        rk.PredictionInterval([0.5], [0.4, 0.1], [0.6], 10, 0.9)
    with pytest.raises(rk.InvalidDataError, match="one-dimensional"):
        rk.PredictionInterval([[0.5]], [[0.4]], [[0.6]], 10, 0.9)
    with pytest.raises(rk.InvalidDataError):
        rk.PredictionInterval([0.5], [0.4], [0.6], 1, 0.9)
