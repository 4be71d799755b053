"""Tests of the shifted-beta-geometric model of contractual retention."""

from __future__ import annotations

import json
import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from strategies import positive_parameter, survivor_matrices

import retention_kit as rk
from retention_kit.models.sbg import _log_likelihood_and_gradient, _tally, survivor_table

SEGMENTS = rk.datasets.load_retention_segments()


@pytest.fixture(scope="module")
def regular() -> rk.ShiftedBetaGeometric:
    return rk.ShiftedBetaGeometric.fit(SEGMENTS.regular[:8])


@pytest.fixture(scope="module")
def high_end() -> rk.ShiftedBetaGeometric:
    return rk.ShiftedBetaGeometric.fit(SEGMENTS.high_end[:8])


# --- the data set ---


def test_segments_data_set() -> None:
    assert SEGMENTS.year.tolist() == list(range(13))
    assert SEGMENTS.regular[[0, 7, 12]].tolist() == [1000, 241, 173]
    assert SEGMENTS.high_end[[0, 7, 12]].tolist() == [1000, 491, 394]
    assert SEGMENTS.regular.dtype == np.int64
    assert not SEGMENTS.regular.flags.writeable
    assert np.all(np.diff(SEGMENTS.regular) < 0)
    assert np.all(np.diff(SEGMENTS.high_end) < 0)


# --- published figures (Fader & Hardie 2007) ---


def test_published_fit_regular(regular: rk.ShiftedBetaGeometric) -> None:
    assert regular.alpha == pytest.approx(0.704, abs=1e-3)
    assert regular.beta == pytest.approx(1.182, abs=1e-3)
    assert regular.fit_result is not None
    assert regular.fit_result.log_likelihood == pytest.approx(-1680.27, abs=0.01)
    assert regular.fit_result.converged
    assert regular.fit_result.n_customers == 1000
    assert regular.unit is None


def test_published_fit_high_end(high_end: rk.ShiftedBetaGeometric) -> None:
    assert high_end.alpha == pytest.approx(0.668, abs=1e-3)
    assert high_end.beta == pytest.approx(3.806, abs=1e-3)
    assert high_end.fit_result is not None
    assert high_end.fit_result.log_likelihood == pytest.approx(-1611.16, abs=0.01)


@pytest.mark.parametrize(("segment", "undershoot"), [("regular", 2), ("high_end", 4)])
def test_projection_to_year_12(
    segment: str, undershoot: int, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(segment)
    actual = getattr(SEGMENTS, segment).astype(float)
    projected = model.project(12, initial=actual[0])
    assert projected.shape == (13,)
    # "Projected to year 12, the forecast undershoots the actual survivors by about 2% / 4%".
    gap = (actual[12] - projected[12]) / actual[12]
    assert round(100 * gap) == undershoot
    # The model under-forecasts every holdout year 8..12, by less than 5%.
    holdout = (actual[8:] - projected[8:]) / actual[8:]
    assert np.all(holdout > 0)
    assert np.all(holdout < 0.05)


def test_standard_errors_are_positive(regular: rk.ShiftedBetaGeometric) -> None:
    assert regular.fit_result is not None
    errors = regular.fit_result.std_errors
    assert 0 < errors["alpha"] < 0.2
    assert 0 < errors["beta"] < 0.5


# --- the formulas ---


@settings(max_examples=40)
@given(alpha=positive_parameter(1e-2, 1e3), beta=positive_parameter(1e-2, 1e3))
def test_survival_decreases_and_retention_increases(alpha: float, beta: float) -> None:
    model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    t = np.arange(0, 60)
    survival = model.survival(t)
    assert survival[0] == 1.0
    assert np.all(np.diff(survival) < 0)
    assert np.all((survival > 0) & (survival <= 1))
    rates = model.retention_rate(t[1:])
    assert np.all((rates > 0) & (rates < 1))
    assert np.all(np.diff(rates) > 0)
    # r_t = S(t) / S(t - 1)
    np.testing.assert_allclose(rates, survival[1:] / survival[:-1], rtol=1e-10)


@settings(max_examples=40)
@given(
    alpha=positive_parameter(1e-2, 1e3),
    beta=positive_parameter(1e-2, 1e3),
    n=st.integers(1, 500),
)
def test_churn_probabilities_and_survival_sum_to_one(alpha: float, beta: float, n: int) -> None:
    model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    lost = model.churn_probability(np.arange(1, n + 1))
    assert np.all(lost > 0)
    total = math.fsum(lost.tolist()) + float(model.survival(n))
    assert total == pytest.approx(1.0, rel=1e-11)
    # P(T = t) = S(t - 1) - S(t)
    steps = -np.diff(model.survival(np.arange(0, n + 1)))
    np.testing.assert_allclose(lost, steps, rtol=1e-7, atol=1e-13)


def test_formulas_against_mpmath() -> None:
    rng = np.random.default_rng(3)
    for alpha, beta in np.exp(rng.uniform(np.log(1e-2), np.log(1e3), size=(30, 2))):
        model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
        t = np.array([1, 2, 7, 40, 1000])
        a, b = mpmath.mpf(float(alpha)), mpmath.mpf(float(beta))
        exact_s = [mpmath.beta(a, b + int(k)) / mpmath.beta(a, b) for k in t]
        exact_p = [mpmath.beta(a + 1, b + int(k) - 1) / mpmath.beta(a, b) for k in t]
        np.testing.assert_allclose(model.survival(t), [float(v) for v in exact_s], rtol=1e-10)
        np.testing.assert_allclose(
            model.churn_probability(t), [float(v) for v in exact_p], rtol=1e-10
        )


def test_shapes_follow_the_input() -> None:
    model = rk.ShiftedBetaGeometric(alpha=0.7, beta=1.2)
    assert model.survival(3).shape == ()
    assert model.survival([[0, 1], [2, 3]]).shape == (2, 2)
    assert model.retention_rate(np.array([1, 2, 3])).shape == (3,)
    assert model.project(4, initial=[100, 200]).shape == (2, 5)
    np.testing.assert_allclose(
        model.project(4, initial=[100, 200])[1], 200 * model.survival(np.arange(5))
    )


def test_first_period_retention_is_beta_share() -> None:
    model = rk.ShiftedBetaGeometric(alpha=2.0, beta=6.0)
    assert float(model.retention_rate(1)) == pytest.approx(0.75)
    assert float(model.survival(1)) == pytest.approx(0.75)
    assert float(model.churn_probability(1)) == pytest.approx(0.25)


# --- expected lifetime and DERL ---


@settings(max_examples=15)
@given(alpha=positive_parameter(1.05, 200.0), beta=positive_parameter(1e-2, 1e3))
def test_expected_lifetime_is_mean_of_inverse_theta(alpha: float, beta: float) -> None:
    model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    # E[T] = E[1 / theta] for theta ~ Beta(alpha, beta), by quadrature over v = logit(theta),
    # where the integrand theta^(alpha - 1) (1 - theta)^beta / B(alpha, beta) is smooth.
    with mpmath.workdps(20):
        a, b = mpmath.mpf(alpha), mpmath.mpf(beta)
        mode = mpmath.log((a - 1) / b)
        width = mpmath.sqrt(1 / (a - 1) + 1 / b)
        value = mpmath.quad(
            lambda v: mpmath.exp(
                -(a - 1) * mpmath.log1p(mpmath.exp(-v)) - b * mpmath.log1p(mpmath.exp(v))
            ),
            [-mpmath.inf, *mpmath.linspace(mode - 20 * width, mode + 20 * width, 41), mpmath.inf],
        )
        value /= mpmath.beta(a, b)
    assert model.expected_lifetime() == pytest.approx(float(value), rel=1e-9)


def test_expected_lifetime_is_infinite_for_alpha_at_most_one() -> None:
    for alpha in (0.2, 0.704, 1.0):
        value = rk.ShiftedBetaGeometric(alpha=alpha, beta=1.182).expected_lifetime()
        assert value == math.inf
    assert rk.ShiftedBetaGeometric(alpha=3.0, beta=6.0).expected_lifetime() == 4.0


def _derl_series(model: rk.ShiftedBetaGeometric, d: float, renewals: int) -> float:
    n = renewals + 1
    k = np.arange(0, 20_000)
    terms = np.exp(
        special.betaln(model.alpha, model.beta + n + k)
        - special.betaln(model.alpha, model.beta + n - 1)
        - k * math.log1p(d)
    )
    return math.fsum(terms.tolist())


@settings(max_examples=40)
@given(
    alpha=positive_parameter(1e-2, 1e2),
    beta=positive_parameter(1e-2, 1e2),
    d=st.floats(0.01, 2.0),
    renewals=st.integers(0, 200),
)
def test_derl_equals_the_direct_series(alpha: float, beta: float, d: float, renewals: int) -> None:
    model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    value = model.discounted_expected_residual_lifetime(d, renewals=renewals)
    assert float(value) == pytest.approx(_derl_series(model, d, renewals), rel=1e-9)


def test_derl_on_wide_ranges_against_the_series() -> None:
    # mpmath's own 2F1 is no reference here: at 30 or 60 digits it returns 7e45 for
    # 2F1(1, 1976.6; 2456.9; 0.93), whose true value is 3.996 (120 digits agree with the series).
    rng = np.random.default_rng(11)
    for _ in range(150):
        alpha, beta = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), size=2))
        d = float(np.exp(rng.uniform(np.log(1e-3), np.log(1e2))))
        renewals = int(rng.integers(0, 2000))
        n = renewals + 1
        k = np.arange(0, int(60.0 / math.log1p(d)) + 10)
        terms = np.exp(
            special.betaln(alpha, beta + n + k)
            - special.betaln(alpha, beta + n - 1)
            - k * math.log1p(d)
        )
        series = math.fsum(terms.tolist())
        model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
        got = float(model.discounted_expected_residual_lifetime(d, renewals=renewals))
        assert got == pytest.approx(series, rel=1e-8), (alpha, beta, d, renewals)


def test_derl_where_mpmath_needs_many_digits() -> None:
    model = rk.ShiftedBetaGeometric(alpha=480.2719033204797, beta=99.64677510360686)
    with mpmath.workdps(150):
        n = 1877
        a, b = mpmath.mpf(model.alpha), mpmath.mpf(model.beta)
        exact = (
            mpmath.beta(a, b + n)
            / mpmath.beta(a, b + n - 1)
            * mpmath.hyp2f1(1, b + n, a + b + n, 1 / (1 + mpmath.mpf(0.07339976694620563)))
        )
    got = float(model.discounted_expected_residual_lifetime(0.07339976694620563, renewals=1876))
    assert got == pytest.approx(float(exact), rel=1e-10)


def test_derl_undiscounted_is_the_expected_residual_lifetime() -> None:
    model = rk.ShiftedBetaGeometric(alpha=3.0, beta=6.0)
    derl = model.discounted_expected_residual_lifetime(0.0, renewals=[0, 4])
    np.testing.assert_allclose(derl, [6.0 / 2.0, 10.0 / 2.0])
    # A new customer's DERL at d = 0 counts the periods after the first: E[T] - 1.
    assert float(derl[0]) == pytest.approx(model.expected_lifetime() - 1.0)
    heavy = rk.ShiftedBetaGeometric(alpha=0.7, beta=1.2)
    assert float(heavy.discounted_expected_residual_lifetime(0.0)) == math.inf


def test_derl_orderings() -> None:
    model = rk.ShiftedBetaGeometric(alpha=0.668, beta=3.806)
    by_rate = model.discounted_expected_residual_lifetime([0.05, 0.1, 0.2, 0.5])
    assert np.all(np.diff(by_rate) < 0)
    by_tenure = model.discounted_expected_residual_lifetime(0.1, renewals=np.arange(10))
    assert np.all(np.diff(by_tenure) > 0)  # survivors of many renewals are the loyal ones
    grid = model.discounted_expected_residual_lifetime(
        np.array([[0.1], [0.2]]), renewals=[0, 1, 2]
    )
    assert grid.shape == (2, 3)


def test_derl_refuses_bad_input() -> None:
    model = rk.ShiftedBetaGeometric(alpha=0.7, beta=1.2)
    with pytest.raises(rk.InvalidDataError, match="discount_rate"):
        model.discounted_expected_residual_lifetime(-0.1)
    with pytest.raises(rk.InvalidDataError, match="discount_rate"):
        model.discounted_expected_residual_lifetime(np.nan)
    with pytest.raises(rk.InvalidDataError, match="renewals"):
        model.discounted_expected_residual_lifetime(0.1, renewals=1.5)
    with pytest.raises(rk.InvalidDataError, match="renewals"):
        model.discounted_expected_residual_lifetime(0.1, renewals=-1)


# --- the likelihood ---


def _cohort_log_likelihood(alpha: float, beta: float, counts: np.ndarray) -> float:
    """Independent per-cohort log-likelihood, written term by term (FH 2007, eq. 9)."""
    counts = counts[~np.isnan(counts)]
    total = 0.0
    for t in range(1, counts.size):
        p = special.beta(alpha + 1, beta + t - 1) / special.beta(alpha, beta)
        total += (counts[t - 1] - counts[t]) * math.log(p)
    last = counts.size - 1
    return total + counts[-1] * math.log(
        special.beta(alpha, beta + last) / special.beta(alpha, beta)
    )


def test_log_likelihood_matches_a_term_by_term_sum() -> None:
    model = rk.ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    counts = SEGMENTS.regular[:8].astype(float)
    assert float(model.log_likelihood(counts)[0]) == pytest.approx(
        _cohort_log_likelihood(0.704, 1.182, counts), rel=1e-12
    )


@settings(max_examples=40)
@given(table=survivor_matrices(), alpha=positive_parameter(), beta=positive_parameter())
def test_matrix_log_likelihood_is_the_sum_over_cohorts(
    table: np.ndarray, alpha: float, beta: float
) -> None:
    model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    per_cohort = model.log_likelihood(table)
    assert per_cohort.shape == (table.shape[0],)
    for i, row in enumerate(table):
        expected = _cohort_log_likelihood(alpha, beta, row)
        assert per_cohort[i] == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert float(model.log_likelihood(row[~np.isnan(row)])[0]) == pytest.approx(
            per_cohort[i], rel=1e-12, abs=1e-12
        )
    total, _ = _log_likelihood_and_gradient(np.array([alpha, beta]), _tally(table))
    assert total == pytest.approx(per_cohort.sum(), rel=1e-10, abs=1e-9)


@settings(max_examples=30)
@given(table=survivor_matrices(), alpha=positive_parameter(), beta=positive_parameter())
def test_gradient_matches_finite_differences(table: np.ndarray, alpha: float, beta: float) -> None:
    tally = _tally(table)
    theta = np.array([alpha, beta])
    _, gradient = _log_likelihood_and_gradient(theta, tally)
    for j in range(2):
        step = np.zeros(2)
        step[j] = 1e-6 * theta[j]
        upper, _ = _log_likelihood_and_gradient(theta + step, tally)
        lower, _ = _log_likelihood_and_gradient(theta - step, tally)
        numeric = (upper - lower) / (2 * step[j])
        scale = max(1.0, abs(upper), abs(lower)) / theta[j]
        assert gradient[j] == pytest.approx(numeric, rel=1e-5, abs=1e-6 * scale)


def test_fit_on_a_matrix_equals_sum_of_cohort_likelihoods() -> None:
    table = np.array(
        [
            [1000, 631, 468, 382, 326, 289, 262, 241],
            [1000, 869, 743, 653, 593, 551, np.nan, np.nan],
            [500, 330, 250, np.nan, np.nan, np.nan, np.nan, np.nan],
        ]
    )
    model = rk.ShiftedBetaGeometric.fit(table)
    assert model.fit_result is not None
    assert model.fit_result.n_customers == 2500
    assert model.fit_result.log_likelihood == pytest.approx(
        sum(_cohort_log_likelihood(model.alpha, model.beta, row) for row in table), rel=1e-12
    )
    # The maximum: the gradient vanishes.
    _, gradient = _log_likelihood_and_gradient(model.params, _tally(table))
    np.testing.assert_allclose(gradient, 0.0, atol=1e-3)


def test_identical_cohorts_give_the_single_cohort_fit(regular: rk.ShiftedBetaGeometric) -> None:
    twice = np.tile(SEGMENTS.regular[:8], (2, 1))
    model = rk.ShiftedBetaGeometric.fit(twice)
    assert model.alpha == pytest.approx(regular.alpha, rel=1e-6)
    assert model.beta == pytest.approx(regular.beta, rel=1e-6)
    assert model.fit_result is not None
    assert regular.fit_result is not None
    assert model.fit_result.log_likelihood == pytest.approx(
        2 * regular.fit_result.log_likelihood, rel=1e-10
    )


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 1.2), (3.0, 8.0), (0.3, 5.0)])
def test_fit_recovers_simulated_parameters(alpha: float, beta: float) -> None:
    truth = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    rng = np.random.default_rng(2024)
    n_cohorts, n_periods = 12, 10
    table = np.full((n_cohorts, n_periods + 1), np.nan)
    for i in range(n_cohorts):
        observed = n_periods - i % 6  # cohorts of different ages, NaN beyond each one's data
        table[i, : observed + 1] = truth.sample(4000, observed, rng=rng)
    model = rk.ShiftedBetaGeometric.fit(table)
    assert model.fit_result is not None
    errors = model.fit_result.std_errors
    assert abs(model.alpha - alpha) < 4 * errors["alpha"]
    assert abs(model.beta - beta) < 4 * errors["beta"]
    assert model.alpha == pytest.approx(alpha, rel=0.15)
    assert model.beta == pytest.approx(beta, rel=0.15)


def test_sample_is_a_valid_seeded_survivor_curve() -> None:
    model = rk.ShiftedBetaGeometric(alpha=0.7, beta=1.2)
    counts = model.sample(5000, 12, rng=7)
    assert counts.shape == (13,)
    assert counts[0] == 5000
    assert np.all(np.diff(counts) <= 0)
    np.testing.assert_array_equal(counts, model.sample(5000, 12, rng=7))
    expected = model.project(12, initial=5000)
    # Binomial-scale agreement with the model's own projection.
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 5)
    extreme = rk.ShiftedBetaGeometric(alpha=1e-3, beta=1e3).sample(100, 5, rng=1)
    assert extreme[0] == 100
    assert np.all(np.diff(extreme) <= 0)


def test_penalizer_shrinks_parameters(regular: rk.ShiftedBetaGeometric) -> None:
    penalized = rk.ShiftedBetaGeometric.fit(SEGMENTS.regular[:8], penalizer=0.1)
    assert penalized.alpha**2 + penalized.beta**2 < regular.alpha**2 + regular.beta**2


def test_initial_is_accepted(regular: rk.ShiftedBetaGeometric) -> None:
    model = rk.ShiftedBetaGeometric.fit(SEGMENTS.regular[:8], initial=[2.0, 2.0])
    assert model.alpha == pytest.approx(regular.alpha, rel=1e-6)


def test_data_without_cancellations_cannot_be_fitted() -> None:
    with pytest.raises(rk.FitError, match="No customer cancelled"):
        rk.ShiftedBetaGeometric.fit([100, 100, 100, 100])
    with pytest.raises(rk.InvalidDataError, match="past period 0"):
        rk.ShiftedBetaGeometric.fit([[100], [200]])
    with pytest.raises(rk.InvalidDataError, match="past period 0"):
        rk.ShiftedBetaGeometric.fit([[100, np.nan], [200, np.nan]])


def test_everyone_cancelling_at_once_is_flagged_as_degenerate() -> None:
    # The likelihood keeps growing as beta / alpha -> 0: the fit says its errors are unreliable.
    with pytest.warns(RuntimeWarning, match="not positive definite"):
        model = rk.ShiftedBetaGeometric.fit([100, 0, 0])
    assert float(model.survival(1)) < 1e-6


# --- input handling ---


def test_accepts_cohort_tables_and_never_modifies_input() -> None:
    table = np.array([[1000.0, 631, 468], [800, 500, np.nan]])
    before = table.copy()
    frozen = table.copy()
    frozen.flags.writeable = False
    cohorts = rk.CohortTable(
        cohorts=np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"),
        sizes=[1000, 800],
        counts=frozen,
        freq="M",
    )
    from_array = rk.ShiftedBetaGeometric.fit(table)
    assert rk.ShiftedBetaGeometric.fit(cohorts) == from_array
    assert rk.ShiftedBetaGeometric.fit(frozen) == from_array
    np.testing.assert_array_equal(table, before)
    ints = rk.ShiftedBetaGeometric.fit([1000, 631, 468])
    floats = rk.ShiftedBetaGeometric.fit(np.array([1000.0, 631.0, 468.0]))
    assert ints == floats
    assert float(ints.log_likelihood([1000, 631, 468])[0]) == float(ints.log_likelihood(table)[0])


def test_fit_from_a_subscription_log_through_cohort_retention() -> None:
    """Monthly renewals simulated from the model, summarized by cohort_retention, refitted."""
    truth = rk.ShiftedBetaGeometric(alpha=0.9, beta=2.5)
    rng = np.random.default_rng(5)
    ids, months = [], []
    customer = 0
    for cohort in range(6):
        counts = truth.sample(3000, 11 - cohort, rng=rng)
        # Tenure of each customer: the number of months they paid for (1 = cancelled in month 1).
        tenures = np.repeat(np.arange(1, counts.size + 1), -np.diff(np.append(counts, 0)))
        for tenure in tenures:
            ids.extend([customer] * int(tenure))
            months.extend(range(cohort, cohort + int(tenure)))
            customer += 1
    start = np.datetime64("2023-01", "M")
    stamps = (start + np.array(months)).astype("datetime64[D]") + np.timedelta64(3, "D")
    last = start + 11  # observation runs to the end of month 11: nothing later is visible
    keep = stamps < (last + 1).astype("datetime64[D]")
    tx = rk.Transactions(np.array(ids)[keep], stamps[keep])
    table = rk.cohort_retention(tx, freq="M")
    assert table.counts.shape == (6, 12)
    np.testing.assert_array_equal(table.counts[:, 0], 3000)
    model = rk.ShiftedBetaGeometric.fit(table)
    assert model.fit_result is not None
    assert model.fit_result.n_customers == 18_000
    errors = model.fit_result.std_errors
    assert abs(model.alpha - truth.alpha) < 4 * errors["alpha"]
    assert abs(model.beta - truth.beta) < 4 * errors["beta"]


@pytest.mark.parametrize(
    ("survivors", "rule", "where"),
    [
        ([1000, 631, 700, 382], "non-increasing", "period 2"),
        ([1000, 631, -1, -2], "non-negative integers", "period 2"),
        ([1000, 631.5, 400], "non-negative integers", "period 1"),
        ([0, 0, 0], "cohort size > 0", "period 0"),
        ([1000, np.nan, 400], "NaN only after", "period 2"),
        ([np.nan, 100, 90], "cohort's size at period 0", "period 0"),
        ([1000, np.inf, 400], "finite", "period 1"),
        ([[100, 90, 80], [50, 60, np.nan]], "non-increasing", "cohort 1, period 1"),
    ],
)
def test_bad_survivors_name_the_position(survivors: object, rule: str, where: str) -> None:
    with pytest.raises(rk.InvalidDataError, match=rule) as info:
        rk.ShiftedBetaGeometric.fit(survivors)
    assert info.value.field == "survivors"
    assert where in str(info.value)


def test_bad_shapes_and_types() -> None:
    with pytest.raises(rk.InvalidDataError, match="1-D array"):
        rk.ShiftedBetaGeometric.fit(np.ones((2, 2, 2)))
    with pytest.raises(rk.InvalidDataError, match="1-D array"):
        rk.ShiftedBetaGeometric.fit([])
    with pytest.raises(rk.InvalidDataError, match="numeric"):
        rk.ShiftedBetaGeometric.fit(["a", "b"])


def test_bad_periods() -> None:
    model = rk.ShiftedBetaGeometric(alpha=0.7, beta=1.2)
    with pytest.raises(rk.InvalidDataError, match=">= 1"):
        model.retention_rate(0)
    with pytest.raises(rk.InvalidDataError, match=">= 1"):
        model.churn_probability([1, 0])
    with pytest.raises(rk.InvalidDataError, match="whole number"):
        model.survival([1, 2.5])
    with pytest.raises(rk.InvalidDataError, match="n_periods"):
        model.project(-1, initial=100)
    with pytest.raises(rk.InvalidDataError, match="initial"):
        model.project(3, initial=-5)
    with pytest.raises(rk.InvalidDataError, match="cohort_size"):
        model.sample(0, 3)


def test_parameters_and_unit_are_validated() -> None:
    with pytest.raises(rk.InvalidDataError, match="alpha"):
        rk.ShiftedBetaGeometric(alpha=-1.0, beta=1.0)
    with pytest.raises(rk.InvalidDataError, match="unit"):
        rk.ShiftedBetaGeometric(alpha=1.0, beta=1.0, unit="W")


def test_json_round_trip(regular: rk.ShiftedBetaGeometric) -> None:
    text = json.dumps(regular.to_dict())
    restored = rk.model_from_dict(json.loads(text))
    assert isinstance(restored, rk.ShiftedBetaGeometric)
    assert restored == regular
    assert restored.fit_result is not None
    assert regular.fit_result is not None
    assert restored.fit_result.log_likelihood == regular.fit_result.log_likelihood
    np.testing.assert_array_equal(restored.fit_result.covariance, regular.fit_result.covariance)
    assert rk.ShiftedBetaGeometric.from_dict(regular.to_dict()) == regular
    assert repr(regular).startswith("ShiftedBetaGeometric(alpha=0.70")


def test_survivor_table_is_a_copy() -> None:
    counts = np.array([10, 9, 8])
    table = survivor_table(counts)
    assert table.shape == (1, 3)
    table[0, 0] = 0
    assert counts[0] == 10


def test_no_warning_on_the_published_fit() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rk.ShiftedBetaGeometric.fit(SEGMENTS.high_end[:8])
