"""What-if: the value of a churn reduction under the sBG, BG/NBD and Pareto/NBD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_kit as rk
from tests.strategies import positive_parameter


@pytest.fixture(scope="module")
def sbg() -> rk.ShiftedBetaGeometric:
    return rk.ShiftedBetaGeometric.fit(rk.datasets.load_retention_segments().regular[:8])


@given(positive_parameter(0.1, 10), positive_parameter(0.1, 10), st.integers(1, 60))
@settings(max_examples=30)
def test_sbg_baseline_is_the_discounted_survival_sum(alpha: float, beta: float, h: int) -> None:
    model = rk.ShiftedBetaGeometric(alpha=alpha, beta=beta)
    t = np.arange(h)
    exact = (model.survival(t) * 1.1**-t).sum()
    result = rk.retention_whatif(model, churn_reduction=0.0, horizon=h, discount_rate=0.1)
    assert result.baseline == pytest.approx(exact, rel=1e-10)
    assert result.change == 0.0
    assert np.isnan(result.low)  # built from parameters: nothing to draw from


@pytest.mark.slow
def test_sbg_long_horizon_matches_derl(sbg: rk.ShiftedBetaGeometric) -> None:
    result = rk.retention_whatif(sbg, churn_reduction=0.0, horizon=3000, discount_rate=0.1)
    derl = float(sbg.discounted_expected_residual_lifetime(0.1))
    assert result.baseline == pytest.approx(1.0 + derl / 1.1, rel=1e-8)


def test_purchase_models_match_their_expected_purchases() -> None:
    bgnbd = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    pareto = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
    for model in (bgnbd, pareto):
        result = rk.retention_whatif(model, churn_reduction=0.0, horizon=52, discount_rate=0.0)
        assert result.baseline == pytest.approx(float(model.expected_purchases(52.0)), rel=1e-10)
    # Pareto/NBD: scaling mu by k is beta / k exactly.
    k = 0.8
    scaled = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669 / k, unit="W")
    result = rk.retention_whatif(pareto, churn_reduction=1 - k, horizon=52, discount_rate=0.0)
    assert result.improved == pytest.approx(float(scaled.expected_purchases(52.0)), rel=1e-12)
    # BG/NBD: with a -> many draws of p the scaled model is checked by simulation elsewhere;
    # here, no dropout at all (k = 0) leaves Poisson purchases at rate r / alpha.
    full = rk.retention_whatif(bgnbd, churn_reduction=1.0, horizon=52, discount_rate=0.0)
    assert full.improved == pytest.approx(0.243 / 4.414 * 52, rel=1e-12)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
@settings(max_examples=30)
def test_value_rises_with_the_reduction(x: float, y: float) -> None:
    model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    lo, hi = sorted((x, y))
    a = rk.retention_whatif(model, churn_reduction=lo, horizon=26, discount_rate=0.01)
    b = rk.retention_whatif(model, churn_reduction=hi, horizon=26, discount_rate=0.01)
    assert b.improved >= a.improved - 1e-12
    assert a.baseline == b.baseline


def test_interval_contains_estimate_zero_change_and_shrinks(
    sbg: rk.ShiftedBetaGeometric,
) -> None:
    zero = rk.retention_whatif(sbg, churn_reduction=0.0, horizon=10, discount_rate=0.1, rng=1)
    assert (zero.change, zero.low, zero.high) == (0.0, 0.0, 0.0)
    result = rk.retention_whatif(
        sbg, churn_reduction=0.05, horizon=10, discount_rate=0.1, n_draws=300, rng=1
    )
    assert result.low < result.change < result.high
    assert result.relative_low < result.relative_change < result.relative_high
    survivors = rk.datasets.load_retention_segments().regular[:8]
    bigger = rk.ShiftedBetaGeometric.fit(np.asarray(survivors) * 16)
    wide = rk.retention_whatif(
        bigger, churn_reduction=0.05, horizon=10, discount_rate=0.1, n_draws=300, rng=1
    )
    assert wide.change == pytest.approx(result.change, rel=1e-4)
    assert (wide.high - wide.low) < (result.high - result.low) / 2.5
    again = rk.retention_whatif(
        sbg, churn_reduction=0.05, horizon=10, discount_rate=0.1, n_draws=300, rng=1
    )
    assert again == result


def test_bgnbd_on_cdnow_with_interval() -> None:
    summary = rk.summarize(
        rk.datasets.load_cdnow(), period="D", unit="W", observation_end="1997-09-30"
    )
    model = rk.BGNBD.fit(summary)
    result = rk.retention_whatif(
        model,
        churn_reduction=0.05,
        horizon=52,
        discount_rate=0.002,
        customers=1000,
        value=35.0,
        n_draws=300,
        rng=3,
    )
    assert result.low < result.change < result.high
    assert 0 < result.relative_change < 0.05


def test_errors(sbg: rk.ShiftedBetaGeometric) -> None:
    with pytest.raises(rk.InvalidDataError, match="churn_reduction"):
        rk.retention_whatif(sbg, churn_reduction=1.5, horizon=10, discount_rate=0.1)
    with pytest.raises(rk.InvalidDataError, match="horizon"):
        rk.retention_whatif(sbg, churn_reduction=0.1, horizon=2.5, discount_rate=0.1)
    with pytest.raises(rk.InvalidDataError, match="discount_rate"):
        rk.retention_whatif(sbg, churn_reduction=0.1, horizon=10, discount_rate=-0.1)
    with pytest.raises(rk.InvalidDataError, match="model"):
        rk.retention_whatif(
            rk.GammaGamma(p=1, q=1, v=1),
            churn_reduction=0.1,
            horizon=1,  # type: ignore[arg-type]
            discount_rate=0.1,
        )
