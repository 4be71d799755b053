"""Tests of the BG/BB model and the discrete-time summary it takes.

Golden values: the donations fit of Fader, Hardie & Shang (2010). Independent checks: the
likelihood and predictions in exact rational arithmetic (the beta-function ratios are rational
for rational parameters), the likelihood rebuilt from the generative model by enumerating every
purchase sequence and death time, mpmath, lifetimes' BetaGeoBetaBinomFitter, and simulation.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoBetaBinomFitter
from strategies import bgbb_parameters, discrete_summaries, transaction_arrays

import retention_kit as rk
from retention_kit.models import _bgbb_math as bgbb_math

DONATIONS = rk.datasets.load_donations()
PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
EXACT = {
    "alpha": Fraction(6, 5),
    "beta": Fraction(3, 4),
    "gamma": Fraction(2, 3),
    "delta": Fraction(11, 4),
}


@pytest.fixture(scope="module")
def fitted() -> rk.BGBB:
    return rk.BGBB.fit(DONATIONS)


def all_histories(n: int) -> rk.DiscreteSummary:
    """Every (x, t_x) a customer can show after n opportunities."""
    rows = [(0, 0)] + [(x, t) for t in range(1, n + 1) for x in range(1, t + 1)]
    x, t_x = np.array(rows, dtype=float).T
    return rk.DiscreteSummary(x, t_x, n)


def lifetimes_fitter(params: dict[str, float]) -> BetaGeoBetaBinomFitter:
    fitter = BetaGeoBetaBinomFitter()
    fitter.params_ = pd.Series(params)
    return fitter


# --- exact arithmetic --------------------------------------------------------------------------


def beta_ratio(a: Fraction, b: Fraction, i: int, j: int) -> Fraction:
    """B(a + i, b + j) / B(a, b) for integers i, j >= 0: a ratio of rising factorials."""
    out = Fraction(1)
    for k in range(i):
        out *= a + k
    for k in range(j):
        out *= b + k
    for k in range(i + j):
        out /= a + b + k
    return out


def exact_likelihood(p: dict[str, Fraction], x: int, t_x: int, n: int) -> Fraction:
    """Eq. (5) of Fader, Hardie & Shang (2010) in rational arithmetic."""
    a, b, g, d = p["alpha"], p["beta"], p["gamma"], p["delta"]
    total = beta_ratio(a, b, x, n - x) * beta_ratio(g, d, 0, n)
    for i in range(n - t_x):
        total += beta_ratio(a, b, x, t_x - x + i) * beta_ratio(g, d, 1, t_x + i)
    return total


def enumerated_histories(p: dict[str, Fraction], n: int) -> dict[tuple[int, int], Fraction]:
    """P(x, t_x) for a new customer, from the generative model alone.

    Every purchase sequence over opportunities 1..n and every death opportunity tau (dead
    from tau on; tau = n + 1 means alive throughout) is enumerated, with the expectations over
    p ~ Beta(alpha, beta) and theta ~ Beta(gamma, delta) taken exactly.
    """
    a, b, g, d = p["alpha"], p["beta"], p["gamma"], p["delta"]
    out: dict[tuple[int, int], Fraction] = {}
    for sequence in itertools.product((0, 1), repeat=n):
        for tau in range(1, n + 2):
            lived = tau - 1
            if any(sequence[lived:]):
                continue
            bought = sum(sequence)
            purchase = beta_ratio(a, b, bought, lived - bought)
            dropout = beta_ratio(g, d, 0, n) if tau == n + 1 else beta_ratio(g, d, 1, tau - 1)
            t_x = max((i + 1 for i, s in enumerate(sequence) if s), default=0)
            key = (bought, t_x)
            out[key] = out.get(key, Fraction(0)) + purchase * dropout
    return out


def as_floats(p: dict[str, Fraction]) -> dict[str, float]:
    return {k: float(v) for k, v in p.items()}


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
def test_likelihood_equals_the_generative_model(n: int) -> None:
    """Summed over the C(t_x - 1, x - 1) sequences of each (x, t_x), the enumerated
    probabilities are eq. (5), they sum to 1, and the float likelihood matches them."""
    probabilities = enumerated_histories(EXACT, n)
    assert sum(probabilities.values()) == 1
    histories = all_histories(n)
    model = rk.BGBB(**as_floats(EXACT))
    ours = model.log_likelihood(histories)
    for i, (x, t_x) in enumerate(zip(histories.frequency, histories.recency, strict=True)):
        x, t_x = int(x), int(t_x)
        sequences = math.comb(t_x - 1, x - 1) if x else 1
        exact = exact_likelihood(EXACT, x, t_x, n)
        assert probabilities[(x, t_x)] == sequences * exact
        assert ours[i] == pytest.approx(math.log(exact), rel=1e-14, abs=1e-14)


@pytest.mark.parametrize("n", [1, 6, 12])
def test_predictions_in_exact_arithmetic(n: int) -> None:
    a, b, g, d = EXACT["alpha"], EXACT["beta"], EXACT["gamma"], EXACT["delta"]
    model = rk.BGBB(**as_floats(EXACT))
    histories = all_histories(n)
    alive = model.probability_alive(histories)
    later = model.probability_alive(histories, t=3)
    ahead = model.conditional_expected_purchases(7, histories)
    for i, (x, t_x) in enumerate(zip(histories.frequency, histories.recency, strict=True)):
        x, t_x = int(x), int(t_x)
        likelihood = exact_likelihood(EXACT, x, t_x, n)
        buying = beta_ratio(a, b, x, n - x)
        assert alive[i] == pytest.approx(
            float(buying * beta_ratio(g, d, 0, n + 1) / likelihood), rel=1e-13
        )
        assert later[i] == pytest.approx(
            float(buying * beta_ratio(g, d, 0, n + 4) / likelihood), rel=1e-13
        )
        alive_sum = sum(beta_ratio(g, d, 0, t) for t in range(n + 1, n + 8))
        expected = beta_ratio(a, b, x + 1, n - x) * alive_sum / likelihood
        assert ahead[i] == pytest.approx(float(expected), rel=1e-13)
    mean = a / (a + b) * sum(beta_ratio(g, d, 0, t) for t in range(1, n + 1))
    assert model.expected_purchases(n) == pytest.approx(float(mean), rel=1e-13)
    counts = enumerated_histories(EXACT, min(n, 8))
    pmf = model.probability_of_purchases(np.arange(min(n, 8) + 1), min(n, 8))
    for x in range(min(n, 8) + 1):
        exact_pmf = sum(v for (k, _), v in counts.items() if k == x)
        assert pmf[x] == pytest.approx(float(exact_pmf), rel=1e-13)


# --- the published fit -------------------------------------------------------------------------


def test_donations_data() -> None:
    assert len(DONATIONS) == 22
    assert DONATIONS.n_customers == 11_104
    assert set(DONATIONS.n_periods.tolist()) == {6.0}
    assert DONATIONS.weight is not None
    assert DONATIONS.weight[(DONATIONS.frequency == 0)].tolist() == [3464.0]


def test_donations_fit_reproduces_the_paper(fitted: rk.BGBB) -> None:
    for name, value in PAPER.items():
        assert getattr(fitted, name) == pytest.approx(value, abs=1e-3)
    assert fitted.fit_result is not None
    assert fitted.fit_result.log_likelihood == pytest.approx(-33_225.6, abs=0.05)
    assert fitted.fit_result.converged
    assert fitted.fit_result.n_customers == 11_104
    assert fitted.unit is None
    # the total is the weighted sum of the per-row log-likelihoods
    total = DONATIONS.weights() @ fitted.log_likelihood(DONATIONS)
    assert total == pytest.approx(fitted.fit_result.log_likelihood, rel=1e-12)


def test_donations_fit_matches_lifetimes(fitted: rk.BGBB) -> None:
    frame = DONATIONS.to_frame()
    reference = BetaGeoBetaBinomFitter().fit(
        frame["frequency"], frame["recency"], frame["n_periods"], frame["weight"]
    )
    for name in PAPER:
        assert getattr(fitted, name) == pytest.approx(reference.params_[name], rel=1e-4)


def test_compressed_and_expanded_fits_agree(fitted: rk.BGBB) -> None:
    assert DONATIONS.weight is not None
    counts = DONATIONS.weight.astype(int)
    expanded = rk.DiscreteSummary(
        np.repeat(DONATIONS.frequency, counts),
        np.repeat(DONATIONS.recency, counts),
        np.repeat(DONATIONS.n_periods, counts),
    )
    assert len(expanded) == 11_104
    model = rk.BGBB.fit(expanded)
    assert model.fit_result is not None
    assert fitted.fit_result is not None
    np.testing.assert_allclose(model.params, fitted.params, rtol=1e-7)
    assert model.fit_result.log_likelihood == pytest.approx(
        fitted.fit_result.log_likelihood, rel=1e-12
    )
    assert model.fit_result.n_customers == 11_104
    assert expanded.compress() == DONATIONS


def test_sample_then_fit_recovers_the_parameters() -> None:
    truth = rk.BGBB(alpha=0.8, beta=2.5, gamma=0.9, delta=4.0)
    sample = truth.sample(30_000, 12, rng=2024)
    model = rk.BGBB.fit(sample)
    result = model.fit_result
    assert result is not None
    assert result.converged
    for name in truth.parameter_names:
        error = abs(getattr(model, name) - getattr(truth, name))
        assert error < 4 * result.std_errors[name], name


def test_sample_draws_the_model_distribution() -> None:
    """Cell frequencies of 200,000 draws against P(x, t_x) = C(t_x - 1, x - 1) L(x, t_x, n)."""
    model = rk.BGBB(alpha=1.5, beta=0.8, gamma=0.6, delta=1.7)
    n = 5
    sample = model.sample(200_000, n, rng=7).compress()
    histories = all_histories(n)
    probability = np.exp(model.log_likelihood(histories)) * np.array(
        [
            math.comb(int(t) - 1, int(x) - 1) if x else 1
            for x, t in zip(histories.frequency, histories.recency, strict=True)
        ]
    )
    assert probability.sum() == pytest.approx(1.0, rel=1e-12)
    observed = dict(
        zip(zip(sample.frequency, sample.recency, strict=True), sample.weights(), strict=True)
    )
    counts = np.array(
        [
            observed.get((x, t), 0.0)
            for x, t in zip(histories.frequency, histories.recency, strict=True)
        ]
    )
    expected = 200_000 * probability
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)


def test_sample_is_seeded_and_validated() -> None:
    model = rk.BGBB(**PAPER)
    assert model.sample(500, 6, rng=3) == model.sample(500, 6, rng=3)
    assert model.sample(500, 6, rng=np.random.default_rng(3)) == model.sample(500, 6, rng=3)
    mixed = model.sample(4, [0, 1, 5, 40], rng=1)
    assert mixed.n_periods.tolist() == [0.0, 1.0, 5.0, 40.0]
    assert mixed.recency[0] == 0
    for bad in (0, -3, 2.5, True):
        with pytest.raises(rk.InvalidDataError, match="n_customers"):
            model.sample(bad, 6)  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="n_periods"):
        model.sample(3, [1, 2])
    with pytest.raises(rk.InvalidDataError, match="n_periods"):
        model.sample(3, -1)


def test_sample_survives_extreme_parameters() -> None:
    for params in ((1e-3, 1e3, 1e-3, 1e3), (1e3, 1e-3, 1e3, 1e-3), (1e-3, 1e-3, 1e-3, 1e-3)):
        sample = rk.BGBB(*params).sample(2_000, 30, rng=5)
        assert len(sample) == 2_000  # a valid summary: every rule was checked


@pytest.mark.slow
def test_large_fit_with_many_opportunities() -> None:
    truth = rk.BGBB(**PAPER)
    sample = truth.sample(100_000, 200, rng=11)
    model = rk.BGBB.fit(sample)
    assert model.fit_result is not None
    assert model.fit_result.converged
    for name in truth.parameter_names:
        error = abs(getattr(model, name) - getattr(truth, name))
        assert error < 4 * model.fit_result.std_errors[name], name


def test_fit_options_and_errors(fitted: rk.BGBB) -> None:
    started = rk.BGBB.fit(DONATIONS, initial=[1.0, 1.0, 0.5, 3.0])
    np.testing.assert_allclose(started.params, fitted.params, rtol=1e-5)
    penalized = rk.BGBB.fit(DONATIONS, penalizer=0.1)
    assert penalized.fit_result is not None
    assert penalized.fit_result.penalizer == 0.1
    assert np.sum(penalized.params**2) < np.sum(fitted.params**2)
    with pytest.raises(ValueError, match="4 values"):
        rk.BGBB.fit(DONATIONS, initial=[1.0, 1.0])
    with pytest.raises(rk.InvalidDataError, match="DiscreteSummary"):
        rk.BGBB.fit(rk.CustomerSummary([0, 1], [0, 2.0], [5.0, 5.0]))  # type: ignore[arg-type]
    with pytest.raises(rk.InvalidDataError, match="at least one"):
        rk.BGBB.fit(rk.DiscreteSummary([], [], []))


def test_fit_without_repeat_customers_warns() -> None:
    """Nobody came back: no purchase probability fits better than the tiniest, so the
    parameters are not identified and the fit says so."""
    nobody = rk.DiscreteSummary([0, 0, 0], [0, 0, 0], [5, 5, 5])
    with pytest.warns((rk.ConvergenceWarning, RuntimeWarning)):
        model = rk.BGBB.fit(nobody)
    assert model.expected_purchases(5) < 1e-3


# --- lifetimes ---------------------------------------------------------------------------------


def lifetimes_offset(params: dict[str, float]) -> float:
    """What lifetimes adds to L: it starts its sum at 1e-15 before dividing by the betas."""
    from scipy.special import betaln

    log_base = betaln(params["alpha"], params["beta"]) + betaln(params["gamma"], params["delta"])
    return 1e-15 * math.exp(-log_base)


@pytest.mark.parametrize("n", [6, 11])
def test_agrees_with_lifetimes_at_the_published_parameters(n: int) -> None:
    model, reference = rk.BGBB(**PAPER), lifetimes_fitter(PAPER)
    histories = all_histories(n)
    x, t_x, periods = histories.frequency, histories.recency, histories.n_periods
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = {
            "log_likelihood": reference._loglikelihood(list(PAPER.values()), x, t_x, periods),
            "alive": reference.conditional_probability_alive(1, x, t_x, periods),
            "alive_later": reference.conditional_probability_alive(4, x, t_x, periods),
            "ahead": reference.conditional_expected_number_of_purchases_up_to_time(
                5, x, t_x, periods
            ),
        }
    ours = {
        "log_likelihood": model.log_likelihood(histories),
        "alive": model.probability_alive(histories),
        "alive_later": model.probability_alive(histories, t=3),
        "ahead": model.conditional_expected_purchases(5, histories),
    }
    for key, value in ours.items():
        np.testing.assert_allclose(value, theirs[key], rtol=1e-8, err_msg=key)


def test_pmf_agrees_with_lifetimes(fitted: rk.BGBB) -> None:
    params = fitted.parameters()
    reference = lifetimes_fitter(params)
    frame = DONATIONS.to_frame()
    reference.data = frame.rename(columns={"weight": "weights"})
    table = reference.expected_number_of_transactions_in_first_n_periods(6)
    x = table.index.to_numpy()
    ours = fitted.probability_of_purchases(x, 6) * DONATIONS.n_customers
    np.testing.assert_allclose(ours, table["model"].to_numpy(), rtol=1e-10)


@settings(max_examples=40)
@given(
    params=bgbb_parameters(0.2, 5.0),
    summary=discrete_summaries(max_rows=12, max_periods=12),
    ahead=st.integers(0, 10),
)
def test_agrees_with_lifetimes_up_to_its_offset(
    params: dict[str, float], summary: rk.DiscreteSummary, ahead: int
) -> None:
    """lifetimes' likelihood is ours plus 1e-15 / (B(a, b) B(g, d)); with that accounted for,
    the likelihood and the predictions built on it agree to 1e-10."""
    model, reference = rk.BGBB(**params), lifetimes_fitter(params)
    x, t_x, n = summary.frequency, summary.recency, summary.n_periods
    likelihood = np.exp(model.log_likelihood(summary))
    theirs_likelihood = likelihood + lifetimes_offset(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_l = reference._loglikelihood(list(params.values()), x, t_x, n)
        alive = reference.conditional_probability_alive(1, x, t_x, n)
        later = reference.conditional_expected_number_of_purchases_up_to_time(ahead, x, t_x, n)
    np.testing.assert_allclose(np.exp(log_l), theirs_likelihood, rtol=1e-10)
    scale = likelihood / theirs_likelihood
    np.testing.assert_allclose(model.probability_alive(summary) * scale, alive, rtol=1e-10)
    if abs(params["gamma"] - 1.0) > 1e-3:  # lifetimes divides by gamma - 1
        np.testing.assert_allclose(
            model.conditional_expected_purchases(ahead, summary) * scale,
            later,
            rtol=1e-8,
            atol=1e-300,
        )


# --- mpmath ------------------------------------------------------------------------------------


def mp_beta_ratio(a: float, b: float, i: float, j: float) -> mpmath.mpf:
    return mpmath.beta(mpmath.mpf(a) + i, mpmath.mpf(b) + j) / mpmath.beta(a, b)


def mp_likelihood(p: dict[str, float], x: int, t_x: int, n: int) -> mpmath.mpf:
    a, b, g, d = p["alpha"], p["beta"], p["gamma"], p["delta"]
    total = mp_beta_ratio(a, b, x, n - x) * mp_beta_ratio(g, d, 0, n)
    for i in range(n - t_x):
        total += mp_beta_ratio(a, b, x, t_x - x + i) * mp_beta_ratio(g, d, 1, t_x + i)
    return total


@settings(max_examples=40)
@given(params=bgbb_parameters(0.01, 100.0), n=st.integers(0, 60))
def test_expected_purchases_against_mpmath(params: dict[str, float], n: int) -> None:
    """E[X(n)] = a / (a + b) sum_{t <= n} B(g, d + t) / B(g, d), also at and near g = 1."""
    model = rk.BGBB(**params)
    with mpmath.workdps(30):
        a, b, g, d = params["alpha"], params["beta"], params["gamma"], params["delta"]
        exact = (
            mpmath.mpf(a)
            / (mpmath.mpf(a) + b)
            * mpmath.fsum(mp_beta_ratio(g, d, 0, t) for t in range(1, n + 1))
        )
    assert model.expected_purchases(n) == pytest.approx(float(exact), rel=1e-12, abs=1e-300)


@settings(max_examples=30)
@given(params=bgbb_parameters(0.01, 100.0), data=st.data())
def test_predictions_against_mpmath(params: dict[str, float], data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 40))
    t_x = data.draw(st.integers(0, n))
    x = data.draw(st.integers(1, t_x)) if t_x else 0
    ahead = data.draw(st.integers(0, 30))
    summary = rk.DiscreteSummary([x], [t_x], [n])
    model = rk.BGBB(**params)
    a, b, g, d = params["alpha"], params["beta"], params["gamma"], params["delta"]
    with mpmath.workdps(40):
        likelihood = mp_likelihood(params, x, t_x, n)
        alive = mp_beta_ratio(a, b, x, n - x) * mp_beta_ratio(g, d, 0, n + 1) / likelihood
        expected = (
            mp_beta_ratio(a, b, x + 1, n - x)
            * mpmath.fsum(mp_beta_ratio(g, d, 0, t) for t in range(n + 1, n + ahead + 1))
            / likelihood
        )
    assert model.log_likelihood(summary)[0] == pytest.approx(
        float(mpmath.log(likelihood)), rel=1e-12, abs=1e-12
    )
    assert model.probability_alive(summary)[0] == pytest.approx(float(alive), rel=1e-11)
    assert model.conditional_expected_purchases(ahead, summary)[0] == pytest.approx(
        float(expected), rel=1e-11, abs=1e-300
    )


@settings(max_examples=30)
@given(params=bgbb_parameters(0.01, 100.0), n=st.integers(0, 12))
def test_pmf_against_mpmath(params: dict[str, float], n: int) -> None:
    """P(X(n) = x) (eq. 7) is the sum of P(x, t_x) = C(t_x - 1, x - 1) L(x, t_x, n)."""
    with mpmath.workdps(30):
        pmf = [
            mpmath.fsum(
                (math.comb(t - 1, k - 1) if k else 1) * mp_likelihood(params, k, t, n)
                for t in range(k, n + 1)
                if (t == 0) == (k == 0)
            )
            for k in range(n + 1)
        ]
    ours = rk.BGBB(**params).probability_of_purchases(np.arange(n + 1), n)
    np.testing.assert_allclose(ours, [float(v) for v in pmf], rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize(
    ("params", "x", "t_x", "n"),
    [
        ((0.5, 0.05, 0.3, 5.0), 700, 1400, 1500),  # terms span > exp(600): summed in logs
        ((2.0, 0.01, 0.1, 1.0), 400, 900, 1000),
        ((0.01, 50.0, 5.0, 0.1), 1, 1, 800),
    ],
)
def test_likelihood_of_long_histories_against_mpmath(
    params: tuple[float, ...], x: int, t_x: int, n: int
) -> None:
    named = dict(zip(PAPER, params, strict=True))
    summary = rk.DiscreteSummary([x, x], [t_x, n], [n, n])
    with mpmath.workdps(30):
        exact = [float(mpmath.log(mp_likelihood(named, x, t, n))) for t in (t_x, n)]
    np.testing.assert_allclose(rk.BGBB(*params).log_likelihood(summary), exact, rtol=1e-12)


def test_linear_and_logarithmic_sums_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    sample = rk.BGBB(0.7, 2.0, 1.3, 4.0).sample(2_000, rng.integers(0, 60, 2_000), rng=5)
    layout = bgbb_math.build_layout(sample.frequency, sample.recency, sample.n_periods)
    weight = np.ones(len(sample))
    params = np.array([0.7, 2.0, 1.3, 4.0])
    linear = bgbb_math.total_log_likelihood(params, layout, weight)
    monkeypatch.setattr(bgbb_math, "_LINEAR_RANGE", 0.0)
    logarithmic = bgbb_math.total_log_likelihood(params, layout, weight)
    assert linear[0] == pytest.approx(logarithmic[0], rel=1e-13)
    np.testing.assert_allclose(linear[1], logarithmic[1], rtol=1e-11)


@settings(max_examples=15)
@given(params=bgbb_parameters(0.05, 20.0), summary=discrete_summaries(weighted=True))
def test_gradient_matches_finite_differences(
    params: dict[str, float], summary: rk.DiscreteSummary
) -> None:
    layout = bgbb_math.build_layout(summary.frequency, summary.recency, summary.n_periods)
    theta = np.array(list(params.values()))
    _, gradient = bgbb_math.total_log_likelihood(theta, layout, summary.weights())
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6 * theta[k]
        upper = bgbb_math.total_log_likelihood(theta + step, layout, summary.weights())[0]
        lower = bgbb_math.total_log_likelihood(theta - step, layout, summary.weights())[0]
        numeric = (upper - lower) / (2 * step[k])
        scale = max(abs(numeric), 1.0 / theta[k])
        assert abs(gradient[k] - numeric) <= 1e-5 * scale


# --- DERT --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.5])
def test_dert_is_the_discounted_stream_of_conditional_purchases(rate: float) -> None:
    """DERT = sum_k (1 + d)^-k E[purchase at n + k]: a direct, truncated series of eq. (13)'s
    increments."""
    model = rk.BGBB(**PAPER)
    histories = all_histories(6)
    horizon = int(40 / math.log1p(rate))  # (1 + d)^-horizon < e^-40
    ahead = np.arange(horizon + 1)
    repeated = rk.DiscreteSummary(
        np.tile(histories.frequency, ahead.size),
        np.tile(histories.recency, ahead.size),
        6,
    )
    cumulative = model.conditional_expected_purchases(
        np.repeat(ahead, len(histories)), repeated
    ).reshape(ahead.size, len(histories))
    increments = np.diff(cumulative, axis=0)
    series = (increments / (1 + rate) ** ahead[1:, None]).sum(axis=0)
    dert = model.discounted_expected_residual_transactions(histories, discount_rate=rate)
    np.testing.assert_allclose(dert, series, rtol=1e-9)


@settings(max_examples=30)
@given(
    params=bgbb_parameters(0.05, 50.0),
    rate=st.floats(1e-4, 2.0),
    data=st.data(),
)
def test_dert_against_mpmath(params: dict[str, float], rate: float, data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 300))
    t_x = data.draw(st.integers(0, min(n, 20)))
    x = data.draw(st.integers(1, t_x)) if t_x else 0
    a, b, g, d = params["alpha"], params["beta"], params["gamma"], params["delta"]
    with mpmath.workdps(30):
        likelihood = mp_likelihood(params, x, t_x, n)
        hyp = mpmath.hyp2f1(1, d + n + 1, g + d + n + 1, 1 / (1 + mpmath.mpf(rate)))
        exact = (
            mp_beta_ratio(a, b, x + 1, n - x)
            * mp_beta_ratio(g, d, 0, n + 1)
            / (1 + mpmath.mpf(rate))
            * hyp
            / likelihood
        )
    model = rk.BGBB(**params)
    ours = model.discounted_expected_residual_transactions(
        rk.DiscreteSummary([x], [t_x], [n]), discount_rate=rate
    )
    assert ours[0] == pytest.approx(float(exact), rel=1e-9)


def test_dert_without_discounting() -> None:
    histories = all_histories(6)
    lasting = rk.BGBB(alpha=1.2, beta=0.75, gamma=2.5, delta=2.8)
    at_zero = lasting.discounted_expected_residual_transactions(histories, discount_rate=0.0)
    nearly = lasting.discounted_expected_residual_transactions(histories, discount_rate=1e-9)
    np.testing.assert_allclose(at_zero, nearly, rtol=1e-6)
    everything = lasting.conditional_expected_purchases(10**7, histories)
    np.testing.assert_allclose(at_zero, everything, rtol=1e-6)
    dying_slowly = rk.BGBB(**PAPER)  # gamma <= 1: E[1 / theta] is infinite
    assert np.all(
        np.isinf(
            dying_slowly.discounted_expected_residual_transactions(histories, discount_rate=0)
        )
    )
    rates = np.linspace(0.05, 0.2, len(histories))
    per_row = dying_slowly.discounted_expected_residual_transactions(
        histories, discount_rate=rates
    )
    one_by_one = [
        dying_slowly.discounted_expected_residual_transactions(histories, discount_rate=r)[i]
        for i, r in enumerate(rates)
    ]
    np.testing.assert_allclose(per_row, one_by_one, rtol=1e-14)


def test_dert_rejects_bad_rates() -> None:
    model = rk.BGBB(**PAPER)
    for bad in (-0.1, np.nan, np.inf):
        with pytest.raises(rk.InvalidDataError, match="discount_rate"):
            model.discounted_expected_residual_transactions(DONATIONS, discount_rate=bad)
    with pytest.raises(rk.InvalidDataError, match="discount_rate"):
        model.discounted_expected_residual_transactions(DONATIONS, discount_rate="0.1")
    with pytest.raises(rk.InvalidDataError, match="one per summary row"):
        model.discounted_expected_residual_transactions(DONATIONS, discount_rate=[0.1, 0.2])


def test_residual_lifetime_value_uses_dert() -> None:
    model = rk.BGBB(**PAPER)
    value = rk.residual_lifetime_value(model, 25.0, DONATIONS, discount_rate=0.1)
    dert = model.discounted_expected_residual_transactions(DONATIONS, discount_rate=0.1)
    np.testing.assert_allclose(value, 25.0 * dert, rtol=1e-14)


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=40)
@given(params=bgbb_parameters(), summary=discrete_summaries())
def test_probability_alive_is_a_decreasing_probability(
    params: dict[str, float], summary: rk.DiscreteSummary
) -> None:
    model = rk.BGBB(**params)
    now = model.probability_alive(summary)
    later = model.probability_alive(summary, t=5)
    assert np.all((now > 0) & (now <= 1))
    assert np.all((later > 0) & (later <= now))
    per_row = model.probability_alive(summary, t=np.arange(len(summary)) % 3)
    assert per_row.shape == (len(summary),)


@settings(max_examples=40)
@given(params=bgbb_parameters(), n=st.integers(0, 80))
def test_pmf_sums_to_one_and_has_the_mean(params: dict[str, float], n: int) -> None:
    model = rk.BGBB(**params)
    pmf = model.probability_of_purchases(np.arange(n + 3), n)
    assert np.all(pmf >= 0)
    assert pmf[n + 1 :].tolist() == [0.0, 0.0]
    assert pmf.sum() == pytest.approx(1.0, rel=1e-12)
    mean = float(np.arange(n + 3) @ pmf)
    assert model.expected_purchases(n) == pytest.approx(mean, rel=1e-10, abs=1e-12)


@settings(max_examples=40)
@given(params=bgbb_parameters(0.01, 100.0))
def test_expected_purchases_grow_with_opportunities(params: dict[str, float]) -> None:
    model = rk.BGBB(**params)
    curve = model.expected_purchases(np.arange(0, 400))
    assert curve[0] == 0
    assert np.all(np.diff(curve) >= 0)
    mean_p = params["alpha"] / (params["alpha"] + params["beta"])
    assert np.all(curve <= mean_p * np.arange(0, 400) * (1 + 1e-12))
    assert model.expected_purchases([[3, 5]]).shape == (1, 2)


@settings(max_examples=30)
@given(params=bgbb_parameters(), n=st.integers(0, 15), ahead=st.integers(0, 20))
def test_conditional_predictions_average_to_the_population(
    params: dict[str, float], n: int, ahead: int
) -> None:
    """Over the customers' possible histories, the conditional predictions average back to the
    unconditional ones (the law of total expectation)."""
    model = rk.BGBB(**params)
    histories = all_histories(n)
    weight = np.exp(model.log_likelihood(histories)) * np.array(
        [
            math.comb(int(t) - 1, int(x) - 1) if x else 1
            for x, t in zip(histories.frequency, histories.recency, strict=True)
        ]
    )
    assert weight.sum() == pytest.approx(1.0, rel=1e-11)
    future = weight @ model.conditional_expected_purchases(ahead, histories)
    total = model.expected_purchases(n + ahead) - model.expected_purchases(n)
    assert future == pytest.approx(float(total), rel=1e-10, abs=1e-14)
    alive = weight @ model.probability_alive(histories)
    with mpmath.workdps(30):
        exact = mp_beta_ratio(params["gamma"], params["delta"], 0, n + 1)
    assert alive == pytest.approx(float(exact), rel=1e-10)
    growing = [model.conditional_expected_purchases(k, histories) for k in (0, 1, 5)]
    assert np.all(growing[0] == 0)
    assert np.all(np.diff(np.stack(growing), axis=0) >= 0)


def test_prediction_inputs_are_validated() -> None:
    model = rk.BGBB(**PAPER)
    for bad in (-1, 1.5, np.nan):
        with pytest.raises(rk.InvalidDataError, match="`t`"):
            model.probability_alive(DONATIONS, t=bad)
        with pytest.raises(rk.InvalidDataError, match="n_future"):
            model.conditional_expected_purchases(bad, DONATIONS)
        with pytest.raises(rk.InvalidDataError, match="`n`"):
            model.expected_purchases(bad)
        with pytest.raises(rk.InvalidDataError, match="`x`"):
            model.probability_of_purchases(bad, 5)
    with pytest.raises(rk.InvalidDataError, match="one per summary row"):
        model.probability_alive(DONATIONS, t=[1, 2])
    with pytest.raises(rk.InvalidDataError, match="numeric"):
        model.expected_purchases(["a"])
    with pytest.raises(rk.InvalidDataError, match="DiscreteSummary"):
        model.probability_alive(rk.CustomerSummary([0], [0.0], [3.0]))  # type: ignore[arg-type]


def test_parameters_are_validated() -> None:
    with pytest.raises(rk.InvalidDataError, match="'gamma'"):
        rk.BGBB(alpha=1.0, beta=1.0, gamma=-1.0, delta=1.0)
    with pytest.raises(rk.InvalidDataError, match="unit"):
        rk.BGBB(alpha=1.0, beta=1.0, gamma=1.0, delta=1.0, unit="W")


def test_json_round_trip(fitted: rk.BGBB) -> None:
    restored = rk.model_from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert isinstance(restored, rk.BGBB)
    assert restored == fitted
    assert restored.fit_result is not None
    assert fitted.fit_result is not None
    assert restored.fit_result.log_likelihood == fitted.fit_result.log_likelihood
    np.testing.assert_array_equal(restored.fit_result.covariance, fitted.fit_result.covariance)
    assert repr(restored).startswith("BGBB(alpha=1.20")


# --- DiscreteSummary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "field", "rule", "rows"),
    [
        ({"frequency": [0, 1.5, 1], "recency": [0, 2, 2]}, "frequency", "integer", (1,)),
        ({"frequency": [0, -1, 1], "recency": [0, 2, 2]}, "frequency", "integer", (1,)),
        ({"frequency": [0, 1, 1], "recency": [0, 2.5, 2]}, "recency", "integer", (1,)),
        ({"frequency": [0, 1, 1], "recency": [0, 2, -2]}, "recency", "integer", (2,)),
        ({"n_periods": [6, -1, 6]}, "n_periods", "integer", (1,)),
        ({"n_periods": [6, 6.5, 6]}, "n_periods", "integer", (1,)),
        ({"frequency": [0, 3, 3], "recency": [0, 2, 2]}, "frequency", "<= `recency`", (1, 2)),
        ({"frequency": [0, 1, 1], "recency": [0, 2, 7]}, "recency", "<= `n_periods`", (2,)),
        ({"frequency": [0, 1, 1], "recency": [3, 2, 2]}, "recency", "exactly when", (0,)),
        ({"frequency": [0, np.nan, 1]}, "frequency", "finite", (1,)),
        ({"n_periods": [6, np.inf, 6]}, "n_periods", "finite", (1,)),
        ({"weight": [1, 0, 2]}, "weight", "> 0", (1,)),
        ({"weight": [1, -2, 2]}, "weight", "> 0", (1,)),
    ],
)
def test_every_summary_rule_raises(
    columns: dict[str, list[float]], field: str, rule: str, rows: tuple[int, ...]
) -> None:
    values = {"frequency": [0, 1, 1], "recency": [0, 2, 2], "n_periods": [6, 6, 6]}
    values.update(columns)
    with pytest.raises(rk.InvalidDataError, match=rule) as caught:
        rk.DiscreteSummary(**values)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.rows == rows
    assert f"`{field}`" in str(caught.value)
    assert f"{len(rows)} of 3 rows" in str(caught.value)


def test_summary_shape_errors() -> None:
    with pytest.raises(rk.InvalidDataError, match="same length"):
        rk.DiscreteSummary([0, 1], [0, 1], [6, 6, 6])
    with pytest.raises(rk.InvalidDataError, match="same length"):
        rk.DiscreteSummary([0, 1], [0, 1], 6, weight=[1.0])
    with pytest.raises(rk.InvalidDataError, match="one-dimensional"):
        rk.DiscreteSummary([[0, 1]], [[0, 1]], 6)
    with pytest.raises(rk.InvalidDataError, match="numeric"):
        rk.DiscreteSummary(["a"], [0], 6)


def test_summary_is_read_only_and_leaves_inputs_alone() -> None:
    frequency = np.array([0.0, 2.0])
    recency = np.array([0.0, 3.0])
    summary = rk.DiscreteSummary(frequency, recency, 4, weight=np.array([2.0, 1.0]))
    assert frequency.flags.writeable
    assert recency.flags.writeable
    for column in (summary.frequency, summary.recency, summary.n_periods, summary.weight):
        assert column is not None
        assert not column.flags.writeable
    with pytest.raises(AttributeError):
        summary.frequency = frequency  # type: ignore[misc]
    assert summary.n_periods.tolist() == [4.0, 4.0]
    assert summary.n_customers == 3
    assert summary == rk.DiscreteSummary([0, 2], [0, 3], [4, 4], weight=[2, 1])
    assert summary != rk.DiscreteSummary([0, 2], [0, 3], [4, 4])
    assert summary != "summary"
    with pytest.raises(TypeError):
        hash(summary)


@settings(max_examples=40)
@given(summary=discrete_summaries(weighted=True))
def test_compress_keeps_customers_and_likelihood(summary: rk.DiscreteSummary) -> None:
    compressed = summary.compress()
    assert compressed.n_customers == summary.n_customers
    assert len(compressed) <= len(summary)
    keys = list(zip(compressed.frequency, compressed.recency, compressed.n_periods, strict=True))
    assert keys == sorted(set(keys))
    model = rk.BGBB(**PAPER)
    assert compressed.weights() @ model.log_likelihood(compressed) == pytest.approx(
        summary.weights() @ model.log_likelihood(summary), rel=1e-12
    )
    assert compressed.compress() == compressed


def test_to_frame() -> None:
    summary = rk.DiscreteSummary([0, 2], [0, 3], 4, weight=[5, 1], customer_id=["a", "b"])
    frame = summary.to_frame()
    assert list(frame.columns) == ["customer_id", "frequency", "recency", "n_periods", "weight"]
    assert frame["recency"].tolist() == [0, 3]
    assert frame["n_periods"].dtype == np.int64
    polars_frame = summary.to_frame("polars")
    assert isinstance(polars_frame, pl.DataFrame)
    assert polars_frame["frequency"].to_list() == [0, 2]
    assert rk.DiscreteSummary([0], [0], 1).to_frame().shape == (1, 3)


def brute_force_summary(
    ids: np.ndarray, periods: np.ndarray, last: int
) -> dict[object, tuple[int, int, int]]:
    """(x, t_x, n) per customer, one customer at a time."""
    out = {}
    for customer in np.unique(ids):
        own = sorted(set(periods[ids == customer].tolist()))
        first = own[0]
        out[customer] = (len(own) - 1, own[-1] - first, last - first)
    return out


@settings(max_examples=40)
@given(
    arrays=transaction_arrays(with_amount=False, max_days=1500),
    period=st.sampled_from(["D", "W", "M", "Y"]),
    cut=st.integers(0, 1500),
)
def test_from_transactions_against_brute_force(
    arrays: tuple[np.ndarray, np.ndarray, None], period: str, cut: int
) -> None:
    ids, timestamps, _ = arrays
    end = np.datetime64("2024-01-01T00:00:00", "s") + np.timedelta64(cut, "D")
    keep = timestamps <= end
    if not keep.any():
        with pytest.raises(rk.InvalidDataError, match="observation_end"):
            rk.DiscreteSummary.from_transactions(
                rk.Transactions(ids, timestamps), period=period, observation_end=end
            )
        return
    summary = rk.DiscreteSummary.from_transactions(
        rk.Transactions(ids, timestamps),
        period=period,
        observation_end=end,  # type: ignore[arg-type]
    )
    unit = {"D": "D", "W": "W", "M": "M", "Y": "Y"}[period]
    if unit == "W":
        days = timestamps[keep].astype("datetime64[D]").astype(np.int64)
        slots = (days + 3) // 7
        last = (int(end.astype("datetime64[D]").astype(np.int64)) + 3) // 7
    else:
        slots = timestamps[keep].astype(f"datetime64[{unit}]").astype(np.int64)
        last = int(end.astype(f"datetime64[{unit}]").astype(np.int64))
    expected = brute_force_summary(ids[keep], slots, last)
    assert summary.customer_id is not None
    assert summary.customer_id.tolist() == sorted(expected)
    got = zip(summary.frequency, summary.recency, summary.n_periods, strict=True)
    for customer, row in zip(summary.customer_id.tolist(), got, strict=True):
        assert tuple(int(v) for v in row) == expected[customer]


def test_from_transactions_reads_frames_and_checks_options() -> None:
    frame = pd.DataFrame(
        {
            "who": [1, 1, 1, 2, 2, 3],
            "when": pd.to_datetime(
                [
                    "2020-01-15",
                    "2020-03-02",
                    "2020-03-30",
                    "2020-02-01",
                    "2020-02-20",
                    "2020-09-09",
                ]
            ),
        }
    )
    summary = rk.DiscreteSummary.from_transactions(
        frame, period="M", observation_end="2020-06-30", customer_id="who", timestamp="when"
    )
    assert summary.customer_id is not None
    assert summary.customer_id.tolist() == [1, 2]
    assert summary.frequency.tolist() == [1.0, 0.0]
    assert summary.recency.tolist() == [2.0, 0.0]
    assert summary.n_periods.tolist() == [5.0, 4.0]
    by_default = rk.DiscreteSummary.from_transactions(
        frame, period="M", customer_id="who", timestamp="when"
    )
    assert by_default.n_periods.tolist() == [8.0, 7.0, 0.0]
    with pytest.raises(rk.InvalidDataError, match="'period'"):
        rk.DiscreteSummary.from_transactions(
            frame,
            period="Q",
            customer_id="who",
            timestamp="when",  # type: ignore[arg-type]
        )
    with pytest.raises(rk.InvalidDataError, match="observation_end"):
        rk.DiscreteSummary.from_transactions(
            frame, period="M", observation_end="2019-01-01", customer_id="who", timestamp="when"
        )
    with pytest.raises(rk.InvalidDataError, match="observation_end"):
        rk.DiscreteSummary.from_transactions(
            frame, period="M", observation_end="not a date", customer_id="who", timestamp="when"
        )


def test_from_transactions_feeds_the_model() -> None:
    """A yearly summary of a transaction log fits like the same histories typed in."""
    model = rk.BGBB(**PAPER)
    sample = model.sample(3_000, 6, rng=8)
    rows = []
    for customer, (x, t_x) in enumerate(zip(sample.frequency, sample.recency, strict=True)):
        offsets = [0]
        if x:
            earlier = np.random.default_rng(customer).choice(
                np.arange(1, int(t_x)), int(x) - 1, replace=False
            )
            offsets += [*sorted(earlier.tolist()), int(t_x)]
        rows += [(customer, f"{2000 + offset}-06-15") for offset in offsets]
    ids, dates = zip(*rows, strict=True)
    summary = rk.DiscreteSummary.from_transactions(
        rk.Transactions(np.array(ids), np.array(dates)), period="Y", observation_end="2006-12-31"
    )
    assert summary.compress() == sample.compress()
