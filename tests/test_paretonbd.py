"""Tests of the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

Golden values: the CDNOW estimates of Fader, Hardie & Lee (2005), fitted from the raw log.
Cross-checks: lifetimes' ParetoNBDFitter at the same parameters, and 30-50 digit mpmath
references computed from the textbook form of each formula (the likelihood as
F + s * integral from t_x to T, DERT as a numerical integral over the future), which the library
does not use.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import _model_checks as checks
import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import ParetoNBDFitter
from reference import Sweep, assert_current, load
from strategies import customer_summaries, paretonbd_parameters

import retention_kit as rk
from retention_kit.models._paretonbd_math import (
    log_likelihood,
    log_likelihood_gradient,
    log_probability_alive,
)

PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
WEEKLY_15 = math.log(1.15) / 52  # 15% a year, compounded continuously, per week


@pytest.fixture(scope="module")
def cdnow() -> rk.CustomerSummary:
    return checks.cdnow_weekly()


@pytest.fixture(scope="module")
def fitted(cdnow: rk.CustomerSummary) -> rk.ParetoNBD:
    return rk.ParetoNBD.fit(cdnow)


@pytest.fixture(scope="module")
def published() -> rk.ParetoNBD:
    return rk.ParetoNBD(**PUBLISHED, unit="W")


def _one(x: float, t_x: float, T: float, unit: str = "W") -> rk.CustomerSummary:
    return rk.CustomerSummary([x], [t_x], [T], unit=unit)  # type: ignore[arg-type]


# --- mpmath references, from the textbook forms ---


def _breaks(low: mp.mpf, high: mp.mpf, scale: mp.mpf) -> list[mp.mpf]:
    """low, low + scale, low + 2 scale, low + 4 scale, ... up to high."""
    points, step = [low], scale
    while low + step < high:
        points.append(low + step)
        step *= 2
    points.append(high)
    return points


def _reference(
    params: dict[str, float], x: float, t_x: float, T: float, dps: int = 50
) -> tuple[mp.mpf, list[mp.mpf], mp.mpf]:
    """log L, its gradient and P(alive) from L = C [F + s * int_{t_x}^T f(y) dy].

    C = Gamma(r + x) alpha^r beta^s / Gamma(r), F = (alpha + T)^-(r+x) (beta + T)^-s and
    f(y) = (alpha + y)^-(r+x) (beta + y)^-(s+1) (Fader & Hardie 2005, eqs. 11-18). Each partial
    derivative is differentiated under the integral sign, and the integrals are taken by
    tanh-sinh quadrature on intervals that double from t_x (f decreases from there).
    """
    with mp.workdps(dps):
        r, alpha, s, beta = (mp.mpf(params[k]) for k in ("r", "alpha", "s", "beta"))
        x_, t_x_, T_ = mp.mpf(x), mp.mpf(t_x), mp.mpf(T)
        a = r + x_
        F = (alpha + T_) ** (-a) * (beta + T_) ** (-s)

        def f(y: mp.mpf) -> mp.mpf:
            return (alpha + y) ** (-a) * (beta + y) ** (-(s + 1))

        if t_x_ < T_:
            scale = 1 / (a / (alpha + t_x_) + (s + 1) / (beta + t_x_))
            points = _breaks(t_x_, T_, scale / 4)

            def integral(g):  # type: ignore[no-untyped-def]
                return mp.quad(lambda y: f(y) * g(y), points)
        else:

            def integral(g):  # type: ignore[no-untyped-def]
                return mp.mpf(0)

        I = integral(lambda y: 1)  # noqa: E741
        bracket = F + s * I
        log_c = mp.loggamma(a) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
        value = log_c + mp.log(bracket)
        d_r = (
            mp.digamma(a)
            - mp.digamma(r)
            + mp.log(alpha)
            + (-F * mp.log(alpha + T_) - s * integral(lambda y: mp.log(alpha + y))) / bracket
        )
        d_alpha = (
            r / alpha
            + (-a * F / (alpha + T_) - s * a * integral(lambda y: 1 / (alpha + y))) / bracket
        )
        d_s = (
            mp.log(beta)
            + (-F * mp.log(beta + T_) + I - s * integral(lambda y: mp.log(beta + y))) / bracket
        )
        d_beta = (
            s / beta
            + (-s * F / (beta + T_) - s * (s + 1) * integral(lambda y: 1 / (beta + y))) / bracket
        )
        return value, [d_r, d_alpha, d_s, d_beta], F / bracket


def _gradient_scale(params: dict[str, float]) -> np.ndarray:
    """The size of the terms each derivative is a difference of.

    d/d alpha = r / alpha - E[lambda | data], d/d r = log(alpha) - digamma(r) + E[log lambda |
    data], and likewise for (s, beta): a derivative near 0 is a near-cancellation of these,
    known only to their precision.
    """
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    return np.array(
        [
            1.0 + abs(math.log(alpha)) + abs(float(mp.digamma(r))),
            r / alpha,
            1.0 + abs(math.log(beta)) + abs(float(mp.digamma(s))),
            s / beta,
        ]
    )


def _random_points(
    seed: int, n: int, *, low: float, high: float, max_x: float, max_T: float
) -> list[tuple[dict[str, float], float, float, float]]:
    rng = np.random.default_rng(seed)

    def log_uniform(a: float, b: float) -> float:
        return float(np.exp(rng.uniform(math.log(a), math.log(b))))

    points = []
    for _ in range(n):
        params = {k: log_uniform(low, high) for k in ("r", "alpha", "s", "beta")}
        x = float(np.floor(log_uniform(1.0, max_x))) if rng.random() < 0.75 else 0.0
        T = log_uniform(1e-2, max_T)
        t_x = float(T * rng.uniform(0.001, 1.0)) if x > 0 else 0.0
        points.append((params, x, t_x, T))
    return points


def _check_against_reference(points, dps: int, references=None) -> None:  # type: ignore[no-untyped-def]
    """Compare with `_reference` at ``dps`` digits (``references``, one per point as
    `_flat_reference` gives them, else computed now)."""
    for i, (params, x, t_x, T) in enumerate(points):
        if references is None:
            value, gradient, alive = _reference(params, x, t_x, T, dps=dps)
        else:
            value, *gradient, alive = references[i]
        theta = np.array([params[k] for k in ("r", "alpha", "s", "beta")])
        args = (np.array([x]), np.array([t_x]), np.array([T]))
        ours = log_likelihood(theta, *args)[0]
        ours_gradient = log_likelihood_gradient(theta, *args)[:, 0]
        where = f"params={params}, x={x}, t_x={t_x}, T={T}"
        # log L to 1e-8 relative (absolutely where |log L| < 1, so L itself to 1e-8 there).
        assert abs(ours - float(value)) <= 1e-8 * max(1.0, abs(float(value))), where
        reference = np.array([float(v) for v in gradient])
        scale = np.maximum(np.abs(reference), _gradient_scale(params))
        assert np.all(np.abs(ours_gradient - reference) <= 1e-8 * scale), where
        model = rk.ParetoNBD(**params)
        p_alive = model.probability_alive(rk.CustomerSummary([x], [t_x], [T]))[0]
        assert p_alive == pytest.approx(float(alive), rel=1e-8, abs=1e-300), where


# --- published figures ---


def test_published_cdnow_fit(fitted: rk.ParetoNBD, cdnow: rk.CustomerSummary) -> None:
    assert fitted.r == pytest.approx(0.553, abs=1e-3)
    assert fitted.alpha == pytest.approx(10.578, abs=1e-3)
    assert fitted.s == pytest.approx(0.606, abs=1e-3)
    assert fitted.beta == pytest.approx(11.669, rel=2e-3)
    checks.assert_fitted_to_cdnow(fitted, cdnow, -9595.0)
    assert set(fitted.parameter_names) == {"r", "alpha", "s", "beta"}


def test_fit_total_matches_the_rows(fitted: rk.ParetoNBD, cdnow: rk.CustomerSummary) -> None:
    assert fitted.fit_result is not None
    total = float(fitted.log_likelihood(cdnow).sum())
    assert total == pytest.approx(fitted.fit_result.log_likelihood, rel=1e-12)


def test_fit_is_no_worse_than_lifetimes(fitted: rk.ParetoNBD, cdnow: rk.CustomerSummary) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ParetoNBDFitter().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    theirs = rk.ParetoNBD(**dict(reference.params_.items()), unit="W")
    assert fitted.fit_result is not None
    assert fitted.fit_result.log_likelihood >= theirs.log_likelihood(cdnow).sum() - 1e-9


# --- agreement with lifetimes where it is numerically sound ---


def test_log_likelihood_matches_lifetimes(
    published: rk.ParetoNBD, cdnow: rk.CustomerSummary
) -> None:
    ours = published.log_likelihood(cdnow)
    theirs = ParetoNBDFitter._conditional_log_likelihood(
        published.params, cdnow.frequency, cdnow.recency, cdnow.T
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_predictions_match_lifetimes(published: rk.ParetoNBD, cdnow: rk.CustomerSummary) -> None:
    checks.assert_predictions_match_lifetimes(
        published,
        checks.lifetimes_fitter(ParetoNBDFitter, published),
        cdnow,
        horizons=(1.0, 39.0, 520.0),
        times=(0.5, 10.0, 39.0, 78.0, 1000.0),
    )


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.553, "alpha": 74.0, "s": 0.606, "beta": 81.7},  # CDNOW in days
        {"r": 2.0, "alpha": 3.0, "s": 1.5, "beta": 200.0},  # alpha << beta
        {"r": 0.3, "alpha": 90.0, "s": 4.0, "beta": 2.0},  # alpha >> beta
    ],
)
def test_predictions_match_lifetimes_on_synthetic_customers(params: dict[str, float]) -> None:
    model = rk.ParetoNBD(**params, unit="D")
    ages = np.random.default_rng(8).uniform(30.0, 730.0, 3000)
    summary = model.sample(3000, ages, rng=9)
    sound = summary.subset(summary.frequency < 200)  # lifetimes' 2F1 form is sound there
    x, t_x, T = sound.frequency, sound.recency, sound.T
    reference = checks.lifetimes_fitter(ParetoNBDFitter, model)
    with np.errstate(all="ignore"):
        theirs = ParetoNBDFitter._conditional_log_likelihood(model.params, x, t_x, T)
    np.testing.assert_allclose(model.log_likelihood(sound), theirs, rtol=1e-8)
    np.testing.assert_allclose(
        model.probability_alive(sound),
        reference.conditional_probability_alive(x, t_x, T),
        rtol=1e-8,
        atol=1e-300,
    )
    np.testing.assert_allclose(
        model.conditional_expected_purchases(90.0, sound),
        reference.conditional_expected_number_of_purchases_up_to_time(90.0, x, t_x, T),
        rtol=1e-8,
        atol=1e-300,
    )


def test_finite_where_lifetimes_returns_nan() -> None:
    params = {"r": 0.396, "alpha": 9.819, "s": 0.321, "beta": 176.347}
    x, t_x, T = 770.0, 82.51, 152.29
    with np.errstate(all="ignore"):
        theirs = ParetoNBDFitter._conditional_log_likelihood(
            np.array(list(params.values())), np.array([x]), np.array([t_x]), np.array([T])
        )
    assert np.isnan(theirs[0])
    model = rk.ParetoNBD(**params, unit="W")
    summary = _one(x, t_x, T)
    value, gradient, alive = _reference(params, x, t_x, T, dps=30)
    assert model.log_likelihood(summary)[0] == pytest.approx(float(value), rel=1e-12)
    assert model.probability_alive(summary)[0] == pytest.approx(float(alive), rel=1e-9)
    theta = model.params
    ours = log_likelihood_gradient(theta, summary.frequency, summary.recency, summary.T)[:, 0]
    np.testing.assert_allclose(ours, [float(g) for g in gradient], rtol=1e-9)
    for method in (
        lambda: model.conditional_expected_purchases(52.0, summary),
        lambda: model.discounted_expected_residual_transactions(summary, discount_rate=0.01),
    ):
        assert np.all(np.isfinite(method()))


# --- mpmath references over wide ranges ---


def test_log_likelihood_and_gradient_match_mpmath() -> None:
    points = _random_points(7, 6, low=1e-3, high=1e3, max_x=1e4, max_T=1e5)
    _check_against_reference(points, dps=30)


MANY_POINTS: dict[str, Any] = {
    "seed": 11,
    "n": 40,
    "low": 1e-3,
    "high": 1e3,
    "max_x": 1e4,
    "max_T": 1e5,
}
_NAMES = ("r", "alpha", "s", "beta")


def _flat(point: tuple[dict[str, float], float, float, float]) -> tuple[float, ...]:
    """(r, alpha, s, beta, x, t_x, T) of a point of `_random_points`."""
    params, x, t_x, T = point
    return (*(params[k] for k in _NAMES), x, t_x, T)


def _flat_reference(flat: tuple[float, ...]) -> tuple[Any, ...]:
    """(log L, its gradient in r, alpha, s, beta, P(alive)) by `_reference` at 50 digits."""
    r, alpha, s, beta, x, t_x, T = flat
    value, gradient, alive = _reference(
        {"r": r, "alpha": alpha, "s": s, "beta": beta}, x, t_x, T, dps=50
    )
    return (value, *gradient, alive)


# The reference values of the 40 points take half a minute: they are stored in
# tests/reference/paretonbd.json (python -m tests.reference.generate paretonbd).
SWEEP = Sweep(
    name="paretonbd",
    test="tests/test_paretonbd.py::test_log_likelihood_and_gradient_match_mpmath_many_points",
    generator="tests/test_paretonbd.py::_random_points",
    arguments=MANY_POINTS,
    reference="tests/test_paretonbd.py::_reference",
    precision="50 digits",
    inputs=("r", "alpha", "s", "beta", "x", "t_x", "T"),
    outputs=("log_likelihood", "d_r", "d_alpha", "d_s", "d_beta", "probability_alive"),
    points=lambda: [_flat(p) for p in _random_points(**MANY_POINTS)],
    compute=_flat_reference,
)


@pytest.mark.slow
def test_log_likelihood_and_gradient_match_mpmath_many_points() -> None:
    points = _random_points(**MANY_POINTS)
    references = load(SWEEP).references_for([_flat(p) for p in points])
    _check_against_reference(points, dps=50, references=references)


def test_reference_table_is_current() -> None:
    """The stored points are the generator's, and the cheapest references recompute to them."""
    assert_current(SWEEP)


@pytest.mark.slow
def test_wide_ranges_match_mpmath() -> None:
    # Tens of thousands of purchases, ages up to 1e5, parameters from 1e-4 to 1e4.
    points = _random_points(5, 25, low=1e-4, high=1e4, max_x=5e4, max_T=1e5)
    _check_against_reference(points, dps=30)
    for params, x, t_x, T in points[:10]:
        model = rk.ParetoNBD(**params)
        summary = rk.CustomerSummary([x], [t_x], [T])
        purchases, dert = _conditional_reference(params, x, t_x, T, 30.0, 1e-3)
        where = f"params={params}, x={x}, t_x={t_x}, T={T}"
        ours = model.conditional_expected_purchases(30.0, summary)[0]
        assert ours == pytest.approx(float(purchases), rel=1e-9, abs=1e-300), where
        ours = model.discounted_expected_residual_transactions(summary, discount_rate=1e-3)[0]
        assert ours == pytest.approx(float(dert), rel=1e-9, abs=1e-300), where


def _conditional_reference(
    params: dict[str, float], x: float, t_x: float, T: float, t: float, delta: float
) -> tuple[mp.mpf, mp.mpf]:
    """E[Y(t) | data] and DERT by integrating the expected purchase rate over the future.

    Given alive at T (probability from `_reference`), lambda ~ Gamma(r + x, alpha + T) and the
    chance of surviving u more units is ((beta + T) / (beta + T + u))^s.
    """
    with mp.workdps(30):
        _, _, alive = _reference(params, x, t_x, T, dps=30)
        r, alpha, s, beta = (mp.mpf(params[k]) for k in ("r", "alpha", "s", "beta"))
        rate = alive * (r + x) / (alpha + T)
        b = beta + T

        def survival(u: mp.mpf) -> mp.mpf:
            return (b / (b + u)) ** s

        purchases = rate * mp.quad(survival, _breaks(mp.mpf(0), mp.mpf(t), b / 8))
        horizon = [mp.mpf(0), *(k / mp.mpf(delta) for k in (1, 4, 16, 64)), mp.inf]
        points = sorted({*horizon, b})
        dert = rate * mp.quad(lambda u: survival(u) * mp.exp(-delta * u), points)
        return purchases, dert


def test_conditional_predictions_match_mpmath() -> None:
    cases = [
        (PUBLISHED, 2.0, 30.43, 38.86, 39.0, WEEKLY_15),
        (PUBLISHED, 0.0, 0.0, 38.86, 52.0, 0.01),
        ({"r": 2.5, "alpha": 0.01, "s": 0.002, "beta": 3000.0}, 25000.0, 800.0, 1e5, 365.0, 1e-4),
        ({"r": 1e-4, "alpha": 1e4, "s": 1e4, "beta": 1e-4}, 3.0, 5.0, 90.0, 7.0, 0.5),
        ({"r": 0.8, "alpha": 50.0, "s": 1.0, "beta": 80.0}, 12.0, 300.0, 700.0, 90.0, 3e-4),
    ]
    for params, x, t_x, T, t, delta in cases:
        model = rk.ParetoNBD(**params)
        summary = rk.CustomerSummary([x], [t_x], [T])
        purchases, dert = _conditional_reference(params, x, t_x, T, t, delta)
        where = f"params={params}, x={x}, t_x={t_x}, T={T}"
        ours = model.conditional_expected_purchases(t, summary)[0]
        assert ours == pytest.approx(float(purchases), rel=1e-9, abs=1e-300), where
        ours = model.discounted_expected_residual_transactions(summary, discount_rate=delta)[0]
        assert ours == pytest.approx(float(dert), rel=1e-9, abs=1e-300), where


def _pmf_reference(params: dict[str, float], n: int, t: float) -> mp.mpf:
    """P(X(t) = n): alive at t with n purchases, or dead at tau < t after n purchases."""
    with mp.workdps(30):
        r, alpha, s, beta = (mp.mpf(params[k]) for k in ("r", "alpha", "s", "beta"))
        t_ = mp.mpf(t)
        count = mp.exp(mp.loggamma(r + n) - mp.loggamma(r) - mp.loggamma(n + 1))
        alive = count * (alpha / (alpha + t_)) ** r * (t_ / (alpha + t_)) ** n
        alive *= (beta / (beta + t_)) ** s

        def dead_at(tau: mp.mpf) -> mp.mpf:
            return tau**n * (alpha + tau) ** (-(r + n)) * (beta + tau) ** (-(s + 1))

        scales = sorted({alpha, beta, mp.mpf(n) * alpha / (r + s + 1)} - {mp.mpf(0)})
        points = [mp.mpf(0), *(v for v in scales if v < t_), t_]
        dead = count * alpha**r * s * beta**s * mp.quad(dead_at, points)
        return alive + dead


def test_probability_of_purchases_matches_mpmath() -> None:
    cases = [
        (PUBLISHED, [0, 1, 2, 7, 30], 39.0),
        ({"r": 3.0, "alpha": 0.5, "s": 0.05, "beta": 2000.0}, [0, 10, 400, 1200, 3000], 365.0),
        ({"r": 0.01, "alpha": 5e3, "s": 20.0, "beta": 0.05}, [0, 1, 3], 1e4),
        ({"r": 0.7, "alpha": 7.0, "s": 1.0, "beta": 9.0}, [0, 1, 5], 1e-3),
    ]
    for params, counts, t in cases:
        model = rk.ParetoNBD(**params)
        ours = model.probability_of_purchases(counts, t)
        reference = [float(_pmf_reference(params, n, t)) for n in counts]
        np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-300)


# --- properties ---


@settings(max_examples=25)
@given(params=paretonbd_parameters(), summary=customer_summaries(max_frequency=300))
def test_probability_alive_is_a_probability_falling_with_time(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.ParetoNBD(**params, unit="W")
    checks.assert_alive_falls_with_time(model, summary, (0.0, 0.5, 5.0, 50.0, 5000.0), slack=0.0)
    # Positive even where it is below the floating-point range (a frequent buyer long gone).
    log_alive = log_probability_alive(model.params, summary.frequency, summary.recency, summary.T)
    assert np.all(np.isfinite(log_alive))
    assert np.all(log_alive <= 0.0)


@settings(max_examples=25)
@given(params=paretonbd_parameters(), summary=customer_summaries(max_frequency=300))
def test_expected_purchases_grow_with_time(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.ParetoNBD(**params, unit="W")
    times = np.array([0.0, 0.1, 1.0, 10.0, 100.0, 1e4])
    checks.assert_expectations_grow_with_time(model, summary, times, slack=0.0)


@settings(max_examples=15)
@given(params=paretonbd_parameters(0.2, 5.0), t=st.floats(0.1, 20.0))
def test_purchase_distribution_sums_to_one(params: dict[str, float], t: float) -> None:
    params = {**params, "alpha": max(params["alpha"], 1.0)}
    model = rk.ParetoNBD(**params, unit="W")
    mean = float(model.expected_purchases(t))
    # The counts decay at least like (t / (alpha + t))^n n^(r - 1): stop where that is < e^-50.
    last = (60.0 + 10.0 * params["r"]) / math.log1p(params["alpha"] / t) + 100.0
    counts = np.arange(int(last))
    pmf = model.probability_of_purchases(counts, t)
    assert np.all(pmf >= 0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    # Its mean is E[X(t)] (the tail beyond the counts is negligible for these parameters).
    assert counts @ pmf == pytest.approx(mean, rel=1e-6, abs=1e-9)


@settings(max_examples=25)
@given(
    params=paretonbd_parameters(),
    summary=customer_summaries(max_frequency=200),
    scale=st.sampled_from([1 / 7, 7.0, 1000.0]),
)
def test_time_scale_invariance(
    params: dict[str, float], summary: rk.CustomerSummary, scale: float
) -> None:
    """Measuring time in other units (alpha, beta, t_x, T all times c) changes nothing but the
    density of the x purchase times, which gains c^-x."""
    model = rk.ParetoNBD(**params)
    stretched = rk.ParetoNBD(
        r=params["r"], alpha=params["alpha"] * scale, s=params["s"], beta=params["beta"] * scale
    )
    x = summary.frequency
    longer = rk.CustomerSummary(x, summary.recency * scale, summary.T * scale)
    plain = rk.CustomerSummary(x, summary.recency, summary.T)
    np.testing.assert_allclose(
        stretched.log_likelihood(longer),
        model.log_likelihood(plain) - x * math.log(scale),
        rtol=1e-10,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        stretched.probability_alive(longer, t=3.0 * scale),
        model.probability_alive(plain, t=3.0),
        rtol=1e-10,
        atol=1e-300,
    )
    np.testing.assert_allclose(
        stretched.conditional_expected_purchases(10.0 * scale, longer),
        model.conditional_expected_purchases(10.0, plain),
        rtol=1e-10,
        atol=1e-300,
    )
    np.testing.assert_allclose(
        stretched.discounted_expected_residual_transactions(longer, discount_rate=0.01 / scale),
        model.discounted_expected_residual_transactions(plain, discount_rate=0.01),
        rtol=1e-9,
        atol=1e-300,
    )


def test_expected_purchases_at_s_equal_one_is_continuous() -> None:
    times = np.array([0.5, 5.0, 500.0])
    at_one = rk.ParetoNBD(r=0.5, alpha=4.0, s=1.0, beta=9.0).expected_purchases(times)
    near = rk.ParetoNBD(r=0.5, alpha=4.0, s=1.0 + 1e-9, beta=9.0).expected_purchases(times)
    np.testing.assert_allclose(at_one, 0.5 / 4.0 * 9.0 * np.log1p(times / 9.0), rtol=1e-14)
    np.testing.assert_allclose(near, at_one, rtol=1e-8)


# --- fitting ---


def test_compressed_fit_equals_expanded_fit(
    fitted: rk.ParetoNBD, cdnow: rk.CustomerSummary
) -> None:
    checks.assert_same_fit_when_compressed(fitted, cdnow)
    # Repeating every row three times is the same data with three times the weight.
    compressed = cdnow.compress()
    tripled = rk.CustomerSummary(
        np.repeat(compressed.frequency, 3),
        np.repeat(compressed.recency, 3),
        np.repeat(compressed.T, 3),
        weight=np.repeat(compressed.weights(), 3),
        unit="W",
    )
    np.testing.assert_allclose(rk.ParetoNBD.fit(tripled).params, fitted.params, rtol=1e-6)


def test_sample_then_fit_recovers_the_parameters() -> None:
    truth = rk.ParetoNBD(r=0.8, alpha=12.0, s=0.7, beta=25.0, unit="W")
    ages = np.random.default_rng(3).uniform(20.0, 80.0, 20_000)
    checks.assert_fit_recovers(truth, truth.sample(20_000, ages, rng=4))


def test_sample_is_seeded_and_valid() -> None:
    model = rk.ParetoNBD(**PUBLISHED, unit="W")
    a = model.sample(2000, 39.0, rng=12)
    b = model.sample(2000, 39.0, rng=np.random.default_rng(12))
    assert a == b
    assert a.unit == "W"
    assert np.all(a.recency <= a.T)
    assert np.all((a.recency > 0) == (a.frequency > 0))
    # The sample mean of X(T) is the model's E[X(39)] (within 4 standard errors).
    mean = float(model.expected_purchases(39.0))
    spread = a.frequency.std() / math.sqrt(len(a))
    assert abs(a.frequency.mean() - mean) <= 4 * spread


def test_fit_from_initial_and_penalizer(cdnow: rk.CustomerSummary) -> None:
    start = rk.ParetoNBD.fit(cdnow, initial=[0.5, 10.0, 0.5, 10.0])
    assert start.r == pytest.approx(0.553, abs=1e-3)
    shrunk = rk.ParetoNBD.fit(cdnow, penalizer=0.01)
    assert shrunk.fit_result is not None
    assert shrunk.fit_result.penalizer == 0.01
    assert shrunk.beta < 11.669
    with pytest.raises(ValueError, match="4 values"):
        rk.ParetoNBD.fit(cdnow, initial=[1.0, 2.0])


# --- persistence, units, validation ---


def test_json_round_trip(fitted: rk.ParetoNBD) -> None:
    assert fitted.unit == "W"
    checks.assert_json_round_trip(fitted)
    assert repr(fitted).startswith("ParetoNBD(r=")


def test_refuses_a_summary_in_another_unit(published: rk.ParetoNBD) -> None:
    checks.assert_refuses_another_unit(
        published,
        _one(2.0, 213.0, 272.0, unit="D"),
        lambda s: published.discounted_expected_residual_transactions(s, discount_rate=0.01),
    )


def test_bad_inputs_raise_invalid_data(published: rk.ParetoNBD) -> None:
    summary = _one(2.0, 30.43, 38.86)
    checks.assert_refuses_bad_arguments(published, summary)
    with pytest.raises(rk.InvalidDataError, match="one value per summary row"):
        published.conditional_expected_purchases([1.0, 2.0], summary)
    with pytest.raises(rk.InvalidDataError, match="whole number"):
        published.probability_of_purchases([1.5], 3.0)
    with pytest.raises(rk.InvalidDataError, match="discount_rate"):
        published.discounted_expected_residual_transactions(summary, discount_rate=0.0)
    with pytest.raises(rk.InvalidDataError, match="discount_rate"):
        published.discounted_expected_residual_transactions(summary, discount_rate="5%")  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="CustomerSummary"):
        published.probability_alive("not a summary")  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="beta"):
        rk.ParetoNBD(r=1.0, alpha=1.0, s=1.0, beta=-2.0)
    with pytest.raises(rk.InvalidDataError, match="empty"):
        rk.ParetoNBD.fit(rk.CustomerSummary(np.array([]), np.array([]), np.array([])))


def test_probability_of_purchases_shapes_and_edges(published: rk.ParetoNBD) -> None:
    grid = published.probability_of_purchases(np.arange(3)[:, None], [0.0, 1.0, 39.0])
    assert grid.shape == (3, 3)
    np.testing.assert_array_equal(grid[:, 0], [1.0, 0.0, 0.0])  # nothing happens in no time
    assert published.probability_of_purchases(0, 39.0).shape == ()
    # An empty summary gives empty predictions.
    empty = rk.CustomerSummary(np.array([]), np.array([]), np.array([]), unit="W")
    assert published.probability_alive(empty).shape == (0,)
    assert published.log_likelihood(empty).shape == (0,)
    assert published.conditional_expected_purchases(5.0, empty).shape == (0,)
    dert = published.discounted_expected_residual_transactions(empty, discount_rate=0.01)
    assert dert.shape == (0,)
    # Predictions do not modify the caller's arrays.
    times = np.array([1.0, 2.0])
    published.expected_purchases(times)
    np.testing.assert_array_equal(times, [1.0, 2.0])


def test_dert_for_many_ages_matches_the_exact_values() -> None:
    # With more distinct ages than interpolation nodes, the discount factor is interpolated in
    # log(omega) (see log_discount_factor); it must agree with the exact one-at-a-time values.
    for params in (PUBLISHED, {"r": 2.0, "alpha": 0.5, "s": 3.5, "beta": 0.01}):
        model = rk.ParetoNBD(**params, unit="W")
        summary = model.sample(3000, np.random.default_rng(1).uniform(0.01, 5000.0, 3000), rng=2)
        many = model.discounted_expected_residual_transactions(summary, discount_rate=0.003)
        rows = np.random.default_rng(3).choice(len(summary), 40, replace=False)
        one_by_one = [
            model.discounted_expected_residual_transactions(
                summary.subset([i]), discount_rate=0.003
            )[0]
            for i in rows
        ]
        np.testing.assert_allclose(many[rows], one_by_one, rtol=1e-12)
