"""Tests of the MBG/NBD model (Batislam, Denizel & Filiztekin 2007)."""

from __future__ import annotations

import math
import warnings

import _model_checks as checks
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import ModifiedBetaGeoFitter
from strategies import customer_summaries, mbgnbd_parameters

import retention_kit as rk
from retention_kit.models.bgnbd import _WeightedLikelihood
from retention_kit.models.mbgnbd import log_likelihood, log_likelihood_gradient

PUBLISHED = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


@pytest.fixture(scope="module")
def cdnow() -> rk.CustomerSummary:
    return checks.cdnow_weekly()


@pytest.fixture(scope="module")
def fitted(cdnow: rk.CustomerSummary) -> rk.MBGNBD:
    return rk.MBGNBD.fit(cdnow)


def _lifetimes_log_likelihood(model: rk.MBGNBD, summary: rk.CustomerSummary) -> float:
    """lifetimes' weighted mean negative log-likelihood, turned back into a total."""
    weights = summary.weights()
    mean = ModifiedBetaGeoFitter._negative_log_likelihood(
        np.log(model.params),
        summary.frequency,
        summary.recency,
        summary.T,
        weights,
        0.0,
    )
    return -float(mean) * float(weights.sum())


# --- published figures ---


def test_published_cdnow_fit(fitted: rk.MBGNBD, cdnow: rk.CustomerSummary) -> None:
    for name, value in PUBLISHED.items():
        assert getattr(fitted, name) == pytest.approx(value, abs=1e-3), name
    checks.assert_fitted_to_cdnow(fitted, cdnow, -9582.1)


def test_fit_agrees_with_lifetimes(fitted: rk.MBGNBD, cdnow: rk.CustomerSummary) -> None:
    reference = ModifiedBetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    for name in PUBLISHED:
        assert getattr(fitted, name) == pytest.approx(reference.params_[name], rel=1e-4), name
    assert fitted.fit_result is not None
    # Ours is the maximum: it is at least as high as lifetimes' optimum.
    theirs = _lifetimes_log_likelihood(
        rk.MBGNBD(**{n: float(reference.params_[n]) for n in PUBLISHED}), cdnow
    )
    assert fitted.fit_result.log_likelihood >= theirs - 1e-6


def test_compressed_fit_equals_expanded_fit(fitted: rk.MBGNBD, cdnow: rk.CustomerSummary) -> None:
    checks.assert_same_fit_when_compressed(fitted, cdnow)
    assert fitted.fit_result is not None
    assert fitted.fit_result.n_customers == 2357


# --- agreement with lifetimes at the same parameters ---


def test_predictions_agree_with_lifetimes_on_cdnow(
    fitted: rk.MBGNBD, cdnow: rk.CustomerSummary
) -> None:
    checks.assert_predictions_match_lifetimes(
        fitted,
        checks.lifetimes_fitter(ModifiedBetaGeoFitter, fitted),
        cdnow,
        horizons=(1.0, 39.0, 78.0),
        times=(0.5, 1.0, 10.0, 39.0, 78.0, 500.0),
        counts=range(8),
    )
    assert float(fitted.log_likelihood(cdnow).sum()) == pytest.approx(
        _lifetimes_log_likelihood(fitted, cdnow), rel=1e-10
    )


@settings(max_examples=40)
@given(params=mbgnbd_parameters(), summary=customer_summaries(max_frequency=40, max_T=100.0))
def test_log_likelihood_agrees_with_lifetimes_row_by_row(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.MBGNBD(**params)
    ours = model.log_likelihood(summary)
    for i in range(len(summary)):
        row = summary.subset([i])
        assert ours[i] == pytest.approx(_lifetimes_log_likelihood(model, row), rel=1e-8)


@settings(max_examples=40)
@given(
    params=mbgnbd_parameters(),
    summary=customer_summaries(max_frequency=40, max_T=100.0),
    horizon=st.floats(0.1, 100.0),
)
def test_predictions_agree_with_lifetimes(
    params: dict[str, float], summary: rk.CustomerSummary, horizon: float
) -> None:
    model = rk.MBGNBD(**params)
    reference = checks.lifetimes_fitter(ModifiedBetaGeoFitter, model)
    checks.assert_alive_matches_lifetimes(model, reference, summary, rtol=1e-8)
    x, t_x, T = summary.frequency, summary.recency, summary.T
    with np.errstate(all="ignore"):
        theirs = reference.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
        expected = reference.expected_number_of_purchases_up_to_time(np.array([horizon]))
    # lifetimes evaluates scipy's 2F1 directly; compare where it is finite and not cancelling.
    sound = np.isfinite(theirs) & (abs(params["a"] - 1.0) > 1e-3)
    np.testing.assert_allclose(
        model.conditional_expected_purchases(horizon, summary)[sound], theirs[sound], rtol=1e-8
    )
    if np.isfinite(expected).all() and abs(params["a"] - 1.0) > 1e-3:
        np.testing.assert_allclose(model.expected_purchases([horizon]), expected, rtol=1e-8)


# --- accuracy against mpmath, on wide ranges ---


def _mp_log_likelihood(r, alpha, a, b, x, t_x, T):  # type: ignore[no-untyped-def]
    r, alpha, a, b, x, t_x, T = (mpmath.mpf(float(v)) for v in (r, alpha, a, b, x, t_x, T))
    common = mpmath.gamma(r + x) * alpha**r / mpmath.gamma(r) * mpmath.beta(a, b + x + 1)
    common /= mpmath.beta(a, b)
    return mpmath.log(common * ((alpha + T) ** -(r + x) + a / (b + x) * (alpha + t_x) ** -(r + x)))


def _wide_cases(seed: int, n: int) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        r, alpha, a, b = np.exp(rng.uniform(np.log(0.05), np.log(20.0), size=4))
        alpha *= 10.0
        x = float(rng.choice([0, 1, 3, 10, 50, 200]))
        T = float(np.exp(rng.uniform(np.log(0.5), np.log(500.0))))
        t_x = 0.0 if x == 0 else float(T * rng.uniform(0.01, 1.0))
        t = float(np.exp(rng.uniform(np.log(1e-3), np.log(1e3))))
        cases.append((r, alpha, a, b, x, t_x, T, t))
    return cases


def test_log_likelihood_and_alive_against_mpmath() -> None:
    with mpmath.workdps(40):
        for r, alpha, a, b, x, t_x, T, _ in _wide_cases(1, 200):
            model = rk.MBGNBD(r=r, alpha=alpha, a=a, b=b)
            summary = rk.CustomerSummary([x], [t_x], [T])
            exact = _mp_log_likelihood(r, alpha, a, b, x, t_x, T)
            assert float(model.log_likelihood(summary)[0]) == pytest.approx(
                float(exact), rel=1e-10
            )
            alive = 1 / (1 + a / (b + x) * ((alpha + mpmath.mpf(T)) / (alpha + t_x)) ** (r + x))
            assert float(model.probability_alive(summary)[0]) == pytest.approx(
                float(alive), rel=1e-10
            )


def test_expectations_against_mpmath() -> None:
    with mpmath.workdps(40):
        for r, alpha, a, b, x, t_x, T, t in _wide_cases(2, 80):
            model = rk.MBGNBD(r=r, alpha=alpha, a=a, b=b)
            summary = rk.CustomerSummary([x], [t_x], [T])
            case = (r, alpha, a, b, x, t_x, T, t)
            y = t / (alpha + T)
            # Given alive at T: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x + 1).
            given_alive = checks.mp_purchases_given_alive(r + x, a, b + x + 1, y)
            survive = mpmath.hyp2f1(r + x, a, a + b + x + 1, -mpmath.mpf(y))
            alive = float(model.probability_alive(summary)[0])
            got = float(model.conditional_expected_purchases(t, summary)[0])
            assert got == pytest.approx(alive * float(given_alive), rel=1e-8), case
            got = float(model.probability_alive(summary, t=t)[0])
            assert got == pytest.approx(alive * float(survive), rel=1e-8), case
            # Batislam et al. eq. 7 for a new customer.
            new = b / (a + b) * checks.mp_purchases_given_alive(r, a, b + 1, t / alpha)
            assert float(model.expected_purchases(t)) == pytest.approx(float(new), rel=1e-8), case


def test_expectations_near_a_equal_one() -> None:
    """The closed forms divide by a - 1; the model's values stay exact through a = 1."""
    summary = rk.CustomerSummary([0, 3, 40], [0.0, 20.0, 30.0], [39.0, 39.0, 39.0])
    for a in (1.0 - 1e-7, 1.0, 1.0 + 1e-9, 1.0 + 1e-3):
        model = rk.MBGNBD(r=0.5, alpha=6.0, a=a, b=1.6)
        for t in (1e-6, 0.5, 39.0, 1e4):
            given_alive = [
                checks.mp_purchases_given_alive(0.5 + x, a, 2.6 + x, t / 45.0) for x in (0, 3, 40)
            ]
            alive = model.probability_alive(summary)
            np.testing.assert_allclose(
                model.conditional_expected_purchases(t, summary),
                alive * np.array([float(v) for v in given_alive]),
                rtol=1e-8,
            )
            new = 1.6 / (a + 1.6) * checks.mp_purchases_given_alive(0.5, a, 2.6, t / 6.0)
            assert float(model.expected_purchases(t)) == pytest.approx(float(new), rel=1e-8)


def test_probability_of_purchases_against_mpmath() -> None:
    with mpmath.workdps(40):
        for r, alpha, a, b, x, _, _, t in _wide_cases(3, 100):
            model = rk.MBGNBD(r=r, alpha=alpha, a=a, b=b)
            n = int(x)
            mr, ma, mt = mpmath.mpf(r), mpmath.mpf(alpha), mpmath.mpf(t)
            q = ma / (ma + mt)
            nb = [
                mpmath.gamma(mr + j)
                / (mpmath.gamma(mr) * mpmath.factorial(j))
                * q**mr
                * (1 - q) ** j
                for j in range(n + 1)
            ]
            first = mpmath.beta(a, b + n + 1) / mpmath.beta(a, b) * nb[n]
            second = mpmath.beta(a + 1, b + n) / mpmath.beta(a, b) * (1 - mpmath.fsum(nb[:n]))
            exact = first + second
            assert float(model.probability_of_purchases(n, t)) == pytest.approx(
                float(exact), rel=1e-8
            ), (r, alpha, a, b, n, t)


# --- properties ---


@settings(max_examples=40)
@given(params=mbgnbd_parameters(), summary=customer_summaries(max_frequency=60, max_T=200.0))
def test_probability_alive_bounds_and_decay(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.MBGNBD(**params)
    now = model.probability_alive(summary)
    assert np.all((now > 0) & (now < 1))
    checks.assert_alive_falls_with_time(model, summary, (0.0, 1.0, 10.0, 100.0), slack=1e-12)
    # The customer with no repeat purchase may have dropped out at time 0.
    newcomer = rk.CustomerSummary([0], [0.0], [1e-9])
    assert float(model.probability_alive(newcomer)[0]) == pytest.approx(
        params["b"] / (params["a"] + params["b"]), rel=1e-6
    )


@settings(max_examples=40)
@given(params=mbgnbd_parameters(), summary=customer_summaries(max_frequency=60, max_T=200.0))
def test_expectations_increase_with_t(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.MBGNBD(**params)
    t = np.array([0.0, 0.1, 1.0, 10.0, 100.0, 1000.0])
    checks.assert_expectations_grow_with_time(model, summary, t, slack=0.0)
    # E[X(t)] grows strictly until it reaches, within rounding, its limit b / (a - 1) (for
    # a > 1): at t = 100 and 1000 both can be that limit to the last digit.
    unconditional = model.expected_purchases(t)
    growth = np.diff(unconditional)
    assert np.all(growth >= 0)
    limit = params["b"] / (params["a"] - 1.0) if params["a"] > 1.0 else math.inf
    saturated = unconditional[1:] >= limit * (1.0 - 1e-12)
    assert np.all((growth > 0) | saturated)
    assert np.all(model.conditional_expected_purchases(0.0, summary) == 0.0)


@settings(max_examples=30)
@given(params=mbgnbd_parameters(), t=st.floats(0.0, 50.0))
def test_probability_of_purchases_sums_to_one(params: dict[str, float], t: float) -> None:
    model = rk.MBGNBD(**params)
    n = np.arange(0, 4000)
    pmf = model.probability_of_purchases(n, t)
    assert np.all((pmf >= 0) & (pmf <= 1))
    assert math.fsum(pmf.tolist()) == pytest.approx(1.0, abs=1e-9)
    # Its mean is E[X(t)] (the tail beyond n is negligible at these scales).
    tail = 1.0 - math.fsum(pmf.tolist())
    if abs(tail) < 1e-12 and params["a"] > 1.5:
        assert math.fsum((n * pmf).tolist()) == pytest.approx(
            float(model.expected_purchases(t)), rel=1e-7
        )


@settings(max_examples=40)
@given(
    params=mbgnbd_parameters(),
    summary=customer_summaries(max_frequency=30, max_T=100.0),
    scale=st.floats(0.01, 100.0),
    horizon=st.floats(0.1, 100.0),
)
def test_scale_invariance(
    params: dict[str, float], summary: rk.CustomerSummary, scale: float, horizon: float
) -> None:
    model = rk.MBGNBD(**params)
    checks.assert_time_scale_invariant(model, summary, scale, horizon, rtol_alive=1e-9, rtol=1e-8)


def test_fit_is_scale_invariant(fitted: rk.MBGNBD, cdnow: rk.CustomerSummary) -> None:
    checks.assert_same_fit_in_days(fitted, cdnow, rel=1e-5)


@settings(max_examples=30)
@given(params=mbgnbd_parameters(), summary=customer_summaries(max_frequency=30, max_T=100.0))
def test_gradient_matches_finite_differences(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    theta = np.array([params[n] for n in rk.MBGNBD.parameter_names])
    x, t_x, T = summary.frequency, summary.recency, summary.T
    gradient = log_likelihood_gradient(theta, x, t_x, T).sum(axis=1)
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-6 * theta[j]
        upper = log_likelihood(theta + step, x, t_x, T).sum()
        lower = log_likelihood(theta - step, x, t_x, T).sum()
        numeric = (upper - lower) / (2 * step[j])
        scale = max(1.0, abs(upper)) / theta[j]
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-7 * scale)


@pytest.mark.parametrize(
    "truth",
    [
        {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
        {"r": 2.0, "alpha": 10.0, "a": 3.0, "b": 8.0},
    ],
)
def test_sample_then_fit_recovers_parameters(truth: dict[str, float]) -> None:
    model = rk.MBGNBD(**truth, unit="W")
    rng = np.random.default_rng(20240607)
    ages = rng.uniform(20.0, 80.0, size=30_000)
    summary = model.sample(30_000, ages, rng=rng)
    assert summary.unit == "W"
    fitted = checks.assert_fit_recovers(model, summary)
    for name, value in truth.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.25), name


def test_sample_matches_the_model() -> None:
    model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    summary = model.sample(40_000, 39.0, rng=3)
    assert summary.n_customers == 40_000
    assert np.all(summary.recency <= summary.T)
    assert np.all((summary.recency > 0) == (summary.frequency > 0))
    frequency = summary.frequency
    assert frequency.mean() == pytest.approx(
        float(model.expected_purchases(39.0)), abs=4 * frequency.std() / math.sqrt(40_000)
    )
    pmf = model.probability_of_purchases([0, 1, 2], 39.0)
    for n in range(3):
        share = np.mean(frequency == n)
        assert share == pytest.approx(pmf[n], abs=4 * math.sqrt(pmf[n] * (1 - pmf[n]) / 40_000))
    again = model.sample(40_000, 39.0, rng=3)
    assert again == summary


# --- conventions ---


def test_unit_refusal(fitted: rk.MBGNBD) -> None:
    assert fitted.unit == "W"
    checks.assert_refuses_another_unit(fitted, rk.CustomerSummary([1], [3.0], [10.0], unit="D"))


def test_json_round_trip(fitted: rk.MBGNBD) -> None:
    assert fitted.unit == "W"
    checks.assert_json_round_trip(fitted)


def test_bad_arguments() -> None:
    model = rk.MBGNBD(**PUBLISHED)
    summary = rk.CustomerSummary([1], [3.0], [10.0])
    checks.assert_refuses_bad_arguments(model, summary)
    with pytest.raises(rk.InvalidDataError, match="one value per row"):
        model.probability_alive(summary, t=[1.0, 2.0])
    with pytest.raises(rk.InvalidDataError, match="one value per row"):
        model.conditional_expected_purchases([[1.0]], summary)
    two = rk.CustomerSummary([1, 0], [3.0, 0.0], [10.0, 12.0])
    np.testing.assert_allclose(
        model.conditional_expected_purchases([1.0, 5.0], two),
        [
            model.conditional_expected_purchases(1.0, two)[0],
            model.conditional_expected_purchases(5.0, two)[1],
        ],
    )
    with pytest.raises(rk.InvalidDataError, match="`n` must be a non-negative integer"):
        model.probability_of_purchases(1.5, 3.0)
    with pytest.raises(rk.InvalidDataError, match="`n`"):
        model.probability_of_purchases(-1, 3.0)
    with pytest.raises(rk.InvalidDataError, match="'a'"):
        rk.MBGNBD(r=1.0, alpha=1.0, a=0.0, b=1.0)


def test_probability_of_purchases_broadcasts() -> None:
    model = rk.MBGNBD(**PUBLISHED)
    grid = model.probability_of_purchases(np.arange(3)[:, None], [1.0, 10.0])
    assert grid.shape == (3, 2)
    assert model.probability_of_purchases(0, 0.0) == 1.0
    assert model.probability_of_purchases(3, 0.0) == 0.0


def test_no_warnings_on_cdnow(cdnow: rk.CustomerSummary) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rk.MBGNBD.fit(cdnow)


@settings(max_examples=30)
@given(params=mbgnbd_parameters(), summary=customer_summaries(max_frequency=30, max_T=100.0))
def test_weighted_likelihood_is_the_weighted_sum_of_rows(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    """The fit's objective (BG/NBD's, shifted) is the weighted sum of the rows of eq. 4."""
    x, t_x, T = summary.frequency, summary.recency, summary.T
    w = np.random.default_rng(0).uniform(0.5, 3.0, len(summary))
    checks.assert_weighted_sum_of_rows(
        _WeightedLikelihood.build(x, t_x, T, w, shift=1.0),
        log_likelihood,
        log_likelihood_gradient,
        np.array(list(params.values())),
        summary,
        w,
    )
