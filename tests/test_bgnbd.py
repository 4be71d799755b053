"""Tests of the BG/NBD model (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import _model_checks as checks
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter
from lifetimes.datasets import load_cdnow_summary
from reference import Sweep, assert_current, load
from strategies import customer_summaries, positive_parameter

import retention_kit as rk
from retention_kit.models.bgnbd import (
    _WeightedLikelihood,
    log_likelihood,
    log_likelihood_gradient,
)

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@st.composite
def bgnbd_parameters(draw: st.DrawFn, low: float = 0.05, high: float = 20.0) -> dict[str, float]:
    """BG/NBD parameters, log-uniform; alpha ten times wider (it carries the time unit)."""
    return {
        "r": draw(positive_parameter(low, high)),
        "alpha": draw(positive_parameter(low * 2, high * 5)),
        "a": draw(positive_parameter(low, high)),
        "b": draw(positive_parameter(low, high)),
    }


@pytest.fixture(scope="module")
def cdnow() -> rk.CustomerSummary:
    return checks.cdnow_weekly()


@pytest.fixture(scope="module")
def cdnow_two_decimals() -> rk.CustomerSummary:
    """lifetimes' cdnow_customers_summary.csv: the same table with t_x and T to 2 decimals."""
    frame = load_cdnow_summary(index_col=[0])
    return rk.CustomerSummary(frame["frequency"], frame["recency"], frame["T"], unit="W")


@pytest.fixture(scope="module")
def fitted(cdnow: rk.CustomerSummary) -> rk.BGNBD:
    return rk.BGNBD.fit(cdnow)


# --- published figures ---


def test_published_cdnow_fit(fitted: rk.BGNBD, cdnow: rk.CustomerSummary) -> None:
    assert cdnow.frequency.sum() == 2457
    for name, value in PUBLISHED.items():
        tolerance = 2e-3 if name == "b" else 1e-3
        assert getattr(fitted, name) == pytest.approx(value, abs=tolerance), name
    checks.assert_fitted_to_cdnow(fitted, cdnow, -9582.4)


def test_published_standard_errors(cdnow_two_decimals: rk.CustomerSummary) -> None:
    result = rk.BGNBD.fit(cdnow_two_decimals).fit_result
    assert result is not None
    published = {"r": 0.0126, "alpha": 0.378, "a": 0.186, "b": 0.705}
    for name, value in published.items():
        # Half a unit of the last published digit.
        digits = len(f"{value}".split(".")[1])
        assert result.std_errors[name] == pytest.approx(value, abs=0.5 * 10.0**-digits), name
    assert np.sqrt(np.diag(result.covariance)) == pytest.approx(
        [result.std_errors[n] for n in rk.BGNBD.parameter_names], rel=1e-12
    )


def test_published_customer_one(cdnow_two_decimals: rk.CustomerSummary) -> None:
    model = rk.BGNBD.fit(cdnow_two_decimals)
    customer = cdnow_two_decimals.subset([0])
    assert (customer.frequency[0], customer.recency[0], customer.T[0]) == (2, 30.43, 38.86)
    expected = model.conditional_expected_purchases(39.0, customer)
    assert round(float(expected[0]), 3) == 1.226


def test_published_probability_of_no_purchase() -> None:
    model = rk.BGNBD(**PUBLISHED, unit="W")
    assert float(model.probability_of_purchases(0, 39.0)) == pytest.approx(5.737864e-1, abs=5e-8)


# --- lifetimes ---


def test_fit_agrees_with_lifetimes(cdnow_two_decimals: rk.CustomerSummary) -> None:
    summary = cdnow_two_decimals
    ours = rk.BGNBD.fit(summary)
    frame = summary.to_frame()
    theirs = checks.quiet(BetaGeoFitter().fit, frame["frequency"], frame["recency"], frame["T"])
    for name in rk.BGNBD.parameter_names:
        assert getattr(ours, name) == pytest.approx(theirs.params_[name], rel=1e-5), name
    # lifetimes reports the mean negative log-likelihood on time rescaled so that max T = 1,
    # which divides each customer's likelihood by (max T)^x.
    result = ours.fit_result
    assert result is not None
    total_scaled = result.log_likelihood + summary.frequency.sum() * math.log(summary.T.max())
    assert -theirs._negative_log_likelihood_ * summary.n_customers == pytest.approx(
        total_scaled, rel=1e-6
    )
    # lifetimes' standard errors come from the same inverse Hessian.
    for name in rk.BGNBD.parameter_names:
        assert result.std_errors[name] == pytest.approx(
            theirs.summary.loc[name, "se(coef)"], rel=1e-3
        )


def test_predictions_agree_with_lifetimes_on_cdnow(
    fitted: rk.BGNBD, cdnow: rk.CustomerSummary
) -> None:
    checks.assert_predictions_match_lifetimes(
        fitted,
        checks.lifetimes_fitter(BetaGeoFitter, fitted),
        cdnow,
        horizons=(39.0,),
        times=(0.5, 1.0, 10.0, 39.0, 78.0, 520.0),
        counts=range(30),
        rtol_alive=1e-12,
    )


@settings(max_examples=40)
@given(params=bgnbd_parameters(), summary=customer_summaries(max_frequency=40, max_T=100.0))
def test_log_likelihood_agrees_with_lifetimes_row_by_row(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.BGNBD(**params)
    ours = model.log_likelihood(summary)
    theirs = [
        -BetaGeoFitter._negative_log_likelihood(
            np.log(model.params), np.array([x]), np.array([t_x]), np.array([T]), np.ones(1), 0.0
        )
        for x, t_x, T in zip(summary.frequency, summary.recency, summary.T, strict=True)
    ]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@settings(max_examples=40)
@given(
    params=bgnbd_parameters(),
    summary=customer_summaries(max_frequency=40, max_T=100.0),
    t=st.floats(0.1, 200.0),
)
def test_predictions_agree_with_lifetimes(
    params: dict[str, float], summary: rk.CustomerSummary, t: float
) -> None:
    model = rk.BGNBD(**params)
    reference = checks.lifetimes_fitter(BetaGeoFitter, model)
    checks.assert_alive_matches_lifetimes(model, reference, summary, rtol=1e-10)
    for n in (0, 1, 2, 5):
        assert float(model.probability_of_purchases(n, t)) == pytest.approx(
            float(checks.quiet(reference.probability_of_n_purchases_up_to_time, t, n)), rel=1e-8
        )
    if abs(params["a"] - 1.0) < 1e-2:
        # lifetimes' closed forms divide by a - 1 (NaN at a = 1, lost digits near it).
        return
    # lifetimes also returns NaN for x = 0 when b = 1 exactly (0 * a / (b + x - 1)).
    x, t_x, T = summary.frequency, summary.recency, summary.T
    theirs = checks.quiet(
        reference.conditional_expected_number_of_purchases_up_to_time, t, x, t_x, T
    )
    sound = np.isfinite(theirs)
    np.testing.assert_allclose(
        model.conditional_expected_purchases(t, summary)[sound], theirs[sound], rtol=1e-8
    )
    assert float(model.expected_purchases(t)) == pytest.approx(
        float(checks.quiet(reference.expected_number_of_purchases_up_to_time, t)), rel=1e-8
    )


# --- accuracy against mpmath, on the wide domain ---


def _positive_series(A, B, c, u):  # type: ignore[no-untyped-def]
    """2F1(A, B; c; u) for A, B, c > 0 and 0 <= u < 1, summed term by term (in the mpmath
    context of the caller) until a geometric bound on the tail is negligible."""
    assert c > 0, "the reference series needs c > 0"
    term = total = mpmath.mpf(1)
    k = 0
    tolerance = mpmath.mpf(10) ** -(mpmath.mp.dps - 5)
    while True:
        term *= (A + k) * (B + k) / ((c + k) * (k + 1)) * u
        total += term
        k += 1
        bound = u * max(1, (A + k) / (c + k)) * max(1, (B + k) / (k + 1))
        if bound < 1 and term * bound / (1 - bound) < tolerance * total:
            return total


def _agreed(first, second, fallback):  # type: ignore[no-untyped-def]
    """``second`` when two independent mpmath evaluations agree to 40 digits, else
    ``fallback()`` (mpmath's hyp2f1 can lose digits, or fail, for parameters in the
    thousands without noticing)."""
    try:
        one, two = first(), second()
        if abs(one - two) <= mpmath.mpf(10) ** -40 * abs(two):
            return two
    except (ValueError, ZeroDivisionError):
        pass
    return fallback()


def _mp_given_alive(A, a, B, y):  # type: ignore[no-untyped-def]
    """(purchases, survival) of a live customer with lambda ~ Gamma(A, .), p ~ Beta(a, B).

    Purchases: (a + B - 1) / (a - 1) [1 - 2F1(A, a - 1; a + B - 1; -y)], survival:
    2F1(A, a; a + B; -y), each checked against its Pfaff transform (1 + y)^-A 2F1(A, B; ...;
    y / (1 + y)), a series of positive terms summed directly where the two disagree; at 60
    digits, which absorbs the cancellation of the first bracket. At a = 1 exactly, the mean
    over a = 1 -+ 1e-30.
    """
    with mpmath.workdps(60):
        mA, mB, my = (mpmath.mpf(float(v)) for v in (A, B, y))
        u = my / (1 + my)
        shift = (1 + my) ** -mA
        shapes = checks.mp_shapes(a)
        purchases = mpmath.mpf(0)
        for ma in shapes:
            c = ma + mB - 1
            stay = _agreed(
                lambda ma=ma, c=c: mpmath.hyp2f1(mA, ma - 1, c, -my),
                lambda c=c: shift * mpmath.hyp2f1(mA, mB, c, u),
                lambda c=c: shift * _positive_series(mA, mB, c, u),
            )
            purchases += c / (ma - 1) * (1 - stay) / len(shapes)
        ma = shapes[0]
        survival = _agreed(
            lambda: mpmath.hyp2f1(mA, ma, ma + mB, -my),
            lambda: shift * mpmath.hyp2f1(mA, mB, ma + mB, u),
            lambda: shift * _positive_series(mA, mB, ma + mB, u),
        )
        return purchases, survival


def _wide_cases(
    seed: int, n: int, *, largest: float = 1e4, max_frequency: int = 30_000
) -> list[tuple[float, ...]]:
    """Parameters log-uniform in [1e-4, largest] (a near 1 a fifth of the time), frequencies
    up to ``max_frequency``, T up to 1e5 and horizons from 1e-3 to 1e5."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        r, alpha, a, b = 10.0 ** rng.uniform(-4, math.log10(largest), size=4)
        if rng.uniform() < 0.2:
            a = 1.0 + rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-12, -1)
        x = float(rng.choice([0, rng.integers(1, 30), rng.integers(30, max_frequency)]))
        T = float(10.0 ** rng.uniform(-1, 5))
        t_x = 0.0 if x == 0 else float(T * rng.uniform(0.01, 1.0))
        t = float(10.0 ** rng.uniform(-3, 5))
        cases.append((float(r), float(alpha), float(a), float(b), x, t_x, T, t))
    return cases


def _mp_reference(case: tuple[float, ...]) -> tuple[Any, ...]:
    """log L, P(alive), E[purchases in t] and P(alive at T + t) given alive at T, and E[X(t)]
    of a customer ``case`` = (r, alpha, a, b, x, t_x, T, t), by mpmath."""
    r, alpha, a, b, x, t_x, T, t = case
    with mpmath.workdps(40):
        m_r, m_alpha, m_a, m_b = (mpmath.mpf(v) for v in (r, alpha, a, b))
        odds = (
            mpmath.mpf(0)
            if x == 0
            else m_a / (m_b + x - 1) * ((m_alpha + T) / (m_alpha + t_x)) ** (m_r + x)
        )
        alive = 1 / (1 + odds)
        log_l = (
            mpmath.loggamma(m_r + x)
            - mpmath.loggamma(m_r)
            + m_r * mpmath.log(m_alpha)
            + mpmath.log(mpmath.beta(m_a, m_b + x) / mpmath.beta(m_a, m_b))
            - (m_r + x) * mpmath.log(m_alpha + T)
            + mpmath.log(1 + odds)
        )
    purchases, survival = _mp_given_alive(r + x, a, b + x, t / (alpha + T))
    new, _ = _mp_given_alive(r, a, b, t / alpha)
    return log_l, alive, purchases, survival, new


def _check_against_mpmath(
    cases: list[tuple[float, ...]], references: list[tuple[Any, ...] | None] | None = None
) -> None:
    """Compare with `_mp_reference` (``references``, one per case, else computed now)."""
    for i, (r, alpha, a, b, x, t_x, T, t) in enumerate(cases):
        case = (r, alpha, a, b, x, t_x, T, t)
        model = rk.BGNBD(r=r, alpha=alpha, a=a, b=b)
        summary = rk.CustomerSummary([x], [t_x], [T])
        reference = _mp_reference(case) if references is None else references[i]
        assert reference is not None, case
        log_l, alive, purchases, survival, new = reference
        assert float(model.log_likelihood(summary)[0]) == pytest.approx(
            float(log_l), rel=1e-10, abs=1e-10
        ), case
        assert float(model.probability_alive(summary)[0]) == pytest.approx(
            float(alive), rel=1e-10
        ), case
        got = float(model.conditional_expected_purchases(t, summary)[0])
        assert got == pytest.approx(float(alive * purchases), rel=1e-8), case
        got = float(model.probability_alive(summary, t=t)[0])
        assert got == pytest.approx(float(alive * survival), rel=1e-8), case
        assert float(model.expected_purchases(t)) == pytest.approx(float(new), rel=1e-8), case


def test_predictions_against_mpmath_on_wide_domain() -> None:
    _check_against_mpmath(_wide_cases(seed=11, n=20, largest=1e3, max_frequency=2000))


MANY_CASES: dict[str, Any] = {"seed": 12, "n": 300}

# The reference values of the 300 cases take 7 minutes: they are stored in
# tests/reference/bgnbd.json (python -m tests.reference.generate bgnbd).
SWEEP = Sweep(
    name="bgnbd",
    test="tests/test_bgnbd.py::test_predictions_against_mpmath_on_many_points",
    generator="tests/test_bgnbd.py::_wide_cases",
    arguments=MANY_CASES,
    reference="tests/test_bgnbd.py::_mp_reference",
    precision="40 digits (log L, P(alive)), 60 in _mp_given_alive",
    inputs=("r", "alpha", "a", "b", "x", "t_x", "T", "t"),
    outputs=(
        "log_likelihood",
        "probability_alive",
        "purchases_given_alive",
        "survival_given_alive",
        "expected_purchases",
    ),
    points=lambda: _wide_cases(**MANY_CASES),
    compute=_mp_reference,
)


@pytest.mark.slow
def test_predictions_against_mpmath_on_many_points() -> None:
    cases = _wide_cases(**MANY_CASES)
    _check_against_mpmath(cases, load(SWEEP).references_for(cases))


def test_reference_table_is_current() -> None:
    """The stored cases are the generator's, and the cheapest references recompute to them."""
    assert_current(SWEEP)


def test_expected_purchases_through_a_equal_one() -> None:
    """Eq. 9 divides by a - 1; the values stay exact through a = 1 (a removable singularity)."""
    summary = rk.CustomerSummary([0, 3, 40], [0.0, 20.0, 30.0], [39.0, 39.0, 39.0])
    for a in (1.0 - 1e-7, 1.0 + 1e-12, 1.0 + 1e-3):
        model = rk.BGNBD(r=0.25, alpha=4.0, a=a, b=2.5)
        for t in (1e-6, 0.5, 39.0, 1e4):
            new, _ = _mp_given_alive(0.25, a, 2.5, t / 4.0)
            assert float(model.expected_purchases(t)) == pytest.approx(float(new), rel=1e-8)
            given_alive = [_mp_given_alive(0.25 + x, a, 2.5 + x, t / 43.0)[0] for x in (0, 3, 40)]
            np.testing.assert_allclose(
                model.conditional_expected_purchases(t, summary),
                model.probability_alive(summary) * np.array([float(v) for v in given_alive]),
                rtol=1e-8,
            )
    # At a = 1 exactly, the limit of the neighbours.
    at_one = rk.BGNBD(r=0.25, alpha=4.0, a=1.0, b=2.5).expected_purchases(39.0)
    below = rk.BGNBD(r=0.25, alpha=4.0, a=1.0 - 1e-9, b=2.5).expected_purchases(39.0)
    above = rk.BGNBD(r=0.25, alpha=4.0, a=1.0 + 1e-9, b=2.5).expected_purchases(39.0)
    assert float(at_one) == pytest.approx(float((below + above) / 2), rel=1e-8)


def test_probability_of_purchases_against_mpmath() -> None:
    rng = np.random.default_rng(5)
    for _ in range(60):
        r, alpha, a, b = (float(v) for v in 10.0 ** rng.uniform(-3, 3, size=4))
        n = int(rng.choice([0, 1, 2, 7, 40, 300]))
        t = float(10.0 ** rng.uniform(-2, 4))
        model = rk.BGNBD(r=r, alpha=alpha, a=a, b=b)
        with mpmath.workdps(60):
            mr, mt = mpmath.mpf(r), mpmath.mpf(t)
            q = alpha / (alpha + mt)
            terms = [
                mpmath.exp(mpmath.loggamma(mr + j) - mpmath.loggamma(mr) - mpmath.loggamma(j + 1))
                * q**mr
                * (1 - q) ** j
                for j in range(n + 1)
            ]
            exact = mpmath.beta(a, b + n) / mpmath.beta(a, b) * terms[n]
            if n > 0:
                exact += (
                    mpmath.beta(a + 1, b + n - 1)
                    / mpmath.beta(a, b)
                    * (1 - mpmath.fsum(terms[:n]))
                )
        got = float(model.probability_of_purchases(n, t))
        if exact > 1e-300:
            assert got == pytest.approx(float(exact), rel=1e-8), (r, alpha, a, b, n, t)


def test_extreme_inputs_stay_finite() -> None:
    summary = rk.CustomerSummary(
        frequency=[0, 1, 50_000, 20_000, 30_000],
        recency=[0.0, 1e-3, 1e5, 5e4, 1.0],
        T=[1e5, 1e5, 1e5, 1e5, 1e5],
    )
    for params in (
        (1e-4, 1e-4, 1e-4, 1e-4),
        (1e4, 1e4, 1e4, 1e4),
        (1e-4, 1e4, 1.0, 1e4),
        (1e4, 1e-4, 1e-4, 1e-4),
        (0.243, 4.414, 0.793, 2.426),
    ):
        model = rk.BGNBD(*params)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            values = [
                model.log_likelihood(summary),
                log_likelihood_gradient(
                    model.params, summary.frequency, summary.recency, summary.T
                ),
                model.probability_alive(summary),
                model.probability_alive(summary, t=1e5),
                model.conditional_expected_purchases(1e5, summary),
                model.expected_purchases([1e-9, 1.0, 1e5]),
                model.probability_of_purchases([0, 10, 50_000], 1e5),
            ]
        for value in values:
            assert np.all(np.isfinite(value)), params
        alive = model.probability_alive(summary)
        assert np.all((alive > 0) & (alive <= 1)) or np.all(alive >= 0)


# --- properties ---


@settings(max_examples=40)
@given(params=bgnbd_parameters(), summary=customer_summaries(max_frequency=60, max_T=200.0))
def test_probability_alive_bounds_and_decay(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.BGNBD(**params)
    alive = model.probability_alive(summary)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[summary.frequency == 0] == 1.0)
    checks.assert_alive_falls_with_time(model, summary, (0.0, 0.5, 5.0, 50.0, 500.0), slack=1e-12)


@settings(max_examples=40)
@given(params=bgnbd_parameters(), summary=customer_summaries(max_frequency=60, max_T=200.0))
def test_expectations_increase_with_t(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    model = rk.BGNBD(**params)
    times = np.array([0.0, 0.01, 1.0, 10.0, 100.0, 1000.0])
    checks.assert_expectations_grow_with_time(model, summary, times, slack=1e-12)


@settings(max_examples=30)
@given(params=bgnbd_parameters(), t=st.floats(0.0, 50.0))
def test_probability_of_purchases_sums_to_one(params: dict[str, float], t: float) -> None:
    model = rk.BGNBD(**params)
    counts = np.arange(20_000)
    pmf = model.probability_of_purchases(counts, t)
    assert np.all((pmf >= 0) & (pmf <= 1))
    # The mass beyond 20,000 purchases is negligible when few purchases are expected.
    expected = float(model.expected_purchases(t))
    if expected < 200:
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert counts @ pmf == pytest.approx(expected, rel=1e-6, abs=1e-12)


@settings(max_examples=40)
@given(
    params=bgnbd_parameters(),
    summary=customer_summaries(max_frequency=40, max_T=100.0),
    scale=positive_parameter(1e-2, 1e2),
    t=st.floats(0.1, 100.0),
)
def test_scale_invariance(
    params: dict[str, float], summary: rk.CustomerSummary, scale: float, t: float
) -> None:
    """Measuring time in units 1/scale as long, with alpha scaled alike, changes nothing."""
    model = rk.BGNBD(**params)
    checks.assert_time_scale_invariant(model, summary, scale, t, rtol_alive=1e-10, rtol=1e-9)


def test_fit_is_scale_invariant(fitted: rk.BGNBD, cdnow: rk.CustomerSummary) -> None:
    checks.assert_same_fit_in_days(fitted, cdnow, rel=1e-6)


@settings(max_examples=30)
@given(params=bgnbd_parameters(), summary=customer_summaries(max_frequency=30, max_T=100.0))
def test_gradient_matches_finite_differences(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    theta = np.array(list(params.values()))
    x, t_x, T = summary.frequency, summary.recency, summary.T
    gradient = log_likelihood_gradient(theta, x, t_x, T).sum(axis=1)
    for j in range(4):
        step = 1e-6 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        numeric = (log_likelihood(up, x, t_x, T).sum() - log_likelihood(down, x, t_x, T).sum()) / (
            2 * step
        )
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-6 * (1 + abs(numeric)))


@settings(max_examples=30)
@given(params=bgnbd_parameters(), summary=customer_summaries(max_frequency=30, max_T=100.0))
def test_weighted_likelihood_is_the_weighted_sum_of_rows(
    params: dict[str, float], summary: rk.CustomerSummary
) -> None:
    x, t_x, T = summary.frequency, summary.recency, summary.T
    w = np.random.default_rng(0).uniform(0.5, 3.0, len(summary))
    checks.assert_weighted_sum_of_rows(
        _WeightedLikelihood.build(x, t_x, T, w),
        log_likelihood,
        log_likelihood_gradient,
        np.array(list(params.values())),
        summary,
        w,
    )


def test_compressed_fit_equals_expanded_fit(fitted: rk.BGNBD, cdnow: rk.CustomerSummary) -> None:
    checks.assert_same_fit_when_compressed(fitted, cdnow)
    # Monetary values play no part.
    with_money = rk.CustomerSummary(
        cdnow.frequency,
        cdnow.recency,
        cdnow.T,
        monetary_value=np.where(cdnow.frequency > 0, 10.0 + cdnow.frequency, 0.0),
        unit="W",
    )
    assert rk.BGNBD.fit(with_money) == fitted


@pytest.mark.parametrize(
    "truth",
    [
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        {"r": 2.0, "alpha": 10.0, "a": 3.0, "b": 8.0},
    ],
)
def test_sample_then_fit_recovers_parameters(truth: dict[str, float]) -> None:
    model = rk.BGNBD(**truth, unit="W")
    rng = np.random.default_rng(2024)
    summary = model.sample(30_000, rng.uniform(13.0, 78.0, 30_000), rng=rng)
    checks.assert_fit_recovers(model, summary)


def test_sample_matches_the_model() -> None:
    model = rk.BGNBD(**PUBLISHED, unit="W")
    summary = model.sample(200_000, 39.0, rng=7)
    assert summary.unit == "W"
    assert summary.n_customers == 200_000
    assert np.all(summary.T == 39.0)
    assert np.all((summary.recency > 0) == (summary.frequency > 0))
    assert np.all(summary.recency <= summary.T)
    counts = np.bincount(summary.frequency.astype(np.int64), minlength=6)[:6] / 200_000
    expected = model.probability_of_purchases(np.arange(6), 39.0)
    # Binomial standard error of a share near 0.5 with 200,000 draws is about 0.0011.
    np.testing.assert_allclose(counts, expected, atol=0.005)
    assert summary.frequency.mean() == pytest.approx(
        float(model.expected_purchases(39.0)), rel=0.02
    )
    again = model.sample(200_000, 39.0, rng=7)
    assert again == summary


def test_unit_refusal(fitted: rk.BGNBD, cdnow: rk.CustomerSummary) -> None:
    days = rk.CustomerSummary(cdnow.frequency, cdnow.recency * 7, cdnow.T * 7, unit="D")
    checks.assert_refuses_another_unit(fitted, days)


def test_json_round_trip(fitted: rk.BGNBD) -> None:
    assert fitted.unit == "W"
    checks.assert_json_round_trip(fitted)
    assert repr(fitted).startswith("BGNBD(r=0.24")


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.0, "alpha": 1.0, "a": 1.0, "b": 1.0},
        {"r": 1.0, "alpha": -1.0, "a": 1.0, "b": 1.0},
        {"r": 1.0, "alpha": 1.0, "a": math.nan, "b": 1.0},
        {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": math.inf},
        {"r": True, "alpha": 1.0, "a": 1.0, "b": 1.0},
        {"r": "1", "alpha": 1.0, "a": 1.0, "b": 1.0},
    ],
)
def test_invalid_parameters_raise(params: dict[str, object]) -> None:
    with pytest.raises(rk.InvalidDataError) as error:
        rk.BGNBD(**params)  # type: ignore[arg-type]
    assert error.value.field in params


def test_bad_arguments(fitted: rk.BGNBD, cdnow: rk.CustomerSummary) -> None:
    checks.assert_refuses_bad_arguments(fitted, cdnow)
    with pytest.raises(rk.InvalidDataError, match="`t`"):
        fitted.conditional_expected_purchases([1.0, 2.0], cdnow)
    with pytest.raises(rk.InvalidDataError, match="`n` must be a non-negative integer"):
        fitted.probability_of_purchases([0, 1.5], 1.0)
    with pytest.raises(rk.InvalidDataError, match="CustomerSummary"):
        rk.BGNBD.fit(cdnow.to_frame())  # type: ignore[arg-type]


def test_per_row_horizons_and_shapes(fitted: rk.BGNBD, cdnow: rk.CustomerSummary) -> None:
    horizons = np.linspace(0.0, 52.0, len(cdnow))
    per_row = fitted.conditional_expected_purchases(horizons, cdnow)
    one_by_one = [
        float(fitted.conditional_expected_purchases(h, cdnow.subset([i]))[0])
        for i, h in list(enumerate(horizons))[::97]
    ]
    np.testing.assert_allclose(per_row[::97], one_by_one, rtol=1e-14)
    assert fitted.expected_purchases(np.ones((2, 3))).shape == (2, 3)
    assert fitted.probability_of_purchases(np.arange(4)[:, None], [1.0, 2.0]).shape == (4, 2)
    assert float(fitted.probability_of_purchases(0, 0.0)) == 1.0
    assert float(fitted.probability_of_purchases(2, 0.0)) == 0.0


def test_initial_and_penalizer(cdnow: rk.CustomerSummary, fitted: rk.BGNBD) -> None:
    started = rk.BGNBD.fit(cdnow, initial=[1.0, 1.0, 1.0, 1.0])
    assert started.params == pytest.approx(fitted.params, rel=1e-5)
    penalized = rk.BGNBD.fit(cdnow, penalizer=0.1)
    assert penalized.fit_result is not None
    assert penalized.fit_result.penalizer == 0.1
    assert np.all(penalized.params != fitted.params)


def test_no_warnings_on_cdnow(cdnow: rk.CustomerSummary) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = rk.BGNBD.fit(cdnow)
        model.probability_alive(cdnow, t=10.0)
        model.conditional_expected_purchases(52.0, cdnow)
