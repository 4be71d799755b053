"""Tests of customer lifetime value: discounting mechanics, properties, lifetimes agreement."""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter
from numpy.typing import ArrayLike
from strategies import customer_summaries, positive_parameter

import retention_kit as rk
from retention_kit import clv

MONTH = 4.345  # lifetimes' month of weeks


# --- stand-in models with closed forms ---


class Steady:
    """E[Y(t)] = lambda t with lambda = (x + 1) / (T + 1): a constant purchase rate."""

    def conditional_expected_purchases(
        self, t: ArrayLike, summary: rk.CustomerSummary
    ) -> np.ndarray:
        return np.asarray(t) * (summary.frequency + 1) / (summary.T + 1)


class Fading:
    """E[Y(t)] = c (1 - exp(-t / tau)) with c = x + 0.5: purchases that die out."""

    def __init__(self, tau: float) -> None:
        self.tau = tau
        self.calls = 0

    def conditional_expected_purchases(
        self, t: ArrayLike, summary: rk.CustomerSummary
    ) -> np.ndarray:
        self.calls += 1
        return (summary.frequency + 0.5) * -np.expm1(-np.asarray(t) / self.tau)


class OwnSpend:
    """Expected spend = the customer's own mean spend (10 for one-time buyers)."""

    def conditional_expected_spend(self, summary: rk.CustomerSummary) -> np.ndarray:
        assert summary.monetary_value is not None
        return np.where(summary.frequency > 0, summary.monetary_value, 10.0)


class FixedDert:
    """DERT = 2 + x, whatever the rate (only the plumbing is tested with it)."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def discounted_expected_residual_transactions(
        self, summary: rk.CustomerSummary, *, discount_rate: float
    ) -> np.ndarray:
        self.rates.append(discount_rate)
        return 2.0 + summary.frequency


def small_summary() -> rk.CustomerSummary:
    return rk.CustomerSummary(
        [2, 0, 5, 1],
        [30.43, 0.0, 20.0, 1.71],
        [38.86, 38.86, 30.0, 38.86],
        monetary_value=[22.35, 0.0, 40.0, 11.77],
        unit="W",
    )


def loop_clv(
    model: object,
    spend: np.ndarray,
    summary: rk.CustomerSummary,
    n_steps: int,
    step: float,
    d: float,
) -> np.ndarray:
    """The definition, one step at a time."""
    total = np.zeros(len(summary))
    for k in range(1, n_steps + 1):
        now = model.conditional_expected_purchases(k * step, summary)  # type: ignore[attr-defined]
        before = (
            model.conditional_expected_purchases((k - 1) * step, summary)  # type: ignore[attr-defined]
            if k > 1
            else 0.0
        )
        total += (now - before) * spend / (1 + d) ** k
    return total


# --- mechanics with closed forms ---


def test_constant_rate_is_a_geometric_sum() -> None:
    summary = small_summary()
    rate = (summary.frequency + 1) / (summary.T + 1)
    spend = OwnSpend().conditional_expected_spend(summary)
    value = rk.customer_lifetime_value(
        Steady(), OwnSpend(), summary, horizon=12.0, discount_rate=0.05, step=3.0
    )
    factor = sum(1.05**-k for k in range(1, 5))
    np.testing.assert_allclose(value, rate * 3.0 * factor * spend, rtol=1e-13)
    undiscounted = rk.customer_lifetime_value(
        Steady(), OwnSpend(), summary, horizon=12.0, discount_rate=0.0, step=3.0
    )
    np.testing.assert_allclose(undiscounted, rate * 12.0 * spend, rtol=1e-13)


@given(
    tau=positive_parameter(0.5, 200.0),
    n_steps=st.integers(1, 40),
    step=positive_parameter(0.1, 30.0),
    d=st.floats(0.0, 0.5),
    summary=customer_summaries(with_monetary=True),
)
def test_matches_the_step_by_step_definition(
    tau: float, n_steps: int, step: float, d: float, summary: rk.CustomerSummary
) -> None:
    model = Fading(tau)
    spend = OwnSpend().conditional_expected_spend(summary)
    value = rk.customer_lifetime_value(
        model, OwnSpend(), summary, horizon=n_steps * step, discount_rate=d, step=step
    )
    assert model.calls == 1  # every step and customer in one call
    expected = loop_clv(Fading(tau), spend, summary, n_steps, step, d)
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)


def test_blocks_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 1000
    x = rng.integers(0, 20, size=n).astype(float)
    T = rng.uniform(1.0, 50.0, size=n)
    recency = np.where(x > 0, T * rng.uniform(0.01, 1.0, size=n), 0.0)
    money = np.where(x > 0, rng.uniform(1.0, 100.0, size=n), 0.0)
    summary = rk.CustomerSummary(x, recency, T, monetary_value=money, unit="W")
    whole = rk.customer_lifetime_value(
        Fading(8.0), OwnSpend(), summary, horizon=52.0, discount_rate=0.01, step=4.0
    )
    monkeypatch.setattr(clv, "_CHUNK_ELEMENTS", 100)  # 7 customers x 13 steps per block
    model = Fading(8.0)
    blocked = rk.customer_lifetime_value(
        model, OwnSpend(), summary, horizon=52.0, discount_rate=0.01, step=4.0
    )
    assert model.calls == -(-n // 7)
    np.testing.assert_allclose(blocked, whole, rtol=1e-14)


def test_does_not_modify_the_summary() -> None:
    summary = small_summary()
    before = [a.copy() for a in (summary.frequency, summary.recency, summary.T)]
    rk.customer_lifetime_value(Steady(), OwnSpend(), summary, horizon=4.0, discount_rate=0.1)
    for a, b in zip(before, (summary.frequency, summary.recency, summary.T), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("options", "field", "match"),
    [
        ({"horizon": 10.0, "discount_rate": -0.01}, "discount_rate", ">= 0"),
        ({"horizon": 10.0, "discount_rate": float("nan")}, "discount_rate", "finite"),
        ({"horizon": 10.0, "discount_rate": float("inf")}, "discount_rate", "finite"),
        ({"horizon": 10.0, "discount_rate": "1%"}, "discount_rate", "number"),
        ({"horizon": 10.0, "discount_rate": True}, "discount_rate", "number"),
        ({"horizon": 0.0, "discount_rate": 0.01}, "horizon", "> 0"),
        ({"horizon": -5.0, "discount_rate": 0.01}, "horizon", "> 0"),
        ({"horizon": float("inf"), "discount_rate": 0.01}, "horizon", "finite"),
        ({"horizon": 10.0, "discount_rate": 0.01, "step": 0.0}, "step", "> 0"),
        ({"horizon": 10.0, "discount_rate": 0.01, "step": 3.0}, "horizon", "whole number"),
        ({"horizon": 2.0, "discount_rate": 0.01, "step": 3.0}, "horizon", "whole number"),
    ],
)
def test_invalid_options(options: dict[str, object], field: str, match: str) -> None:
    with pytest.raises(rk.InvalidDataError, match=match) as error:
        rk.customer_lifetime_value(Steady(), OwnSpend(), small_summary(), **options)  # type: ignore[arg-type]
    assert error.value.field == field


def test_horizon_within_rounding_of_a_multiple_is_accepted() -> None:
    # 12 * 4.345 / 4.345 is not exactly 12 in floating point.
    value = rk.customer_lifetime_value(
        Steady(), OwnSpend(), small_summary(), horizon=12 * MONTH, discount_rate=0.0, step=MONTH
    )
    summary = small_summary()
    rate = (summary.frequency + 1) / (summary.T + 1)
    np.testing.assert_allclose(
        value, rate * 12 * MONTH * OwnSpend().conditional_expected_spend(summary), rtol=1e-13
    )


def test_model_returning_wrong_shape_is_refused() -> None:
    class Broken:
        def conditional_expected_spend(self, summary: rk.CustomerSummary) -> np.ndarray:
            return np.ones(len(summary) + 1)

    with pytest.raises(rk.InvalidDataError, match="one value per summary row"):
        rk.customer_lifetime_value(Steady(), Broken(), small_summary(), horizon=1, discount_rate=0)


def test_protocols_describe_the_models() -> None:
    assert isinstance(Steady(), clv.TransactionModel)
    assert isinstance(rk.GammaGamma(p=6.25, q=3.74, v=15.44), clv.SpendModel)
    assert isinstance(FixedDert(), clv.ResidualTransactionModel)
    assert not isinstance(OwnSpend(), clv.TransactionModel)


def test_spend_given_as_numbers() -> None:
    summary = small_summary()
    rate = (summary.frequency + 1) / (summary.T + 1)
    options = {"horizon": 6.0, "discount_rate": 0.0, "step": 2.0}
    flat = rk.customer_lifetime_value(Steady(), 25.0, summary, **options)  # type: ignore[arg-type]
    np.testing.assert_allclose(flat, rate * 6.0 * 25.0, rtol=1e-13)
    per_row = [1.0, 2.0, 3.0, 4.0]
    values = rk.customer_lifetime_value(Steady(), per_row, summary, **options)  # type: ignore[arg-type]
    np.testing.assert_allclose(values, rate * 6.0 * np.array(per_row), rtol=1e-13)


@pytest.mark.parametrize("spend", ["lots", [1.0, 2.0], [[1.0] * 4], [1.0, np.nan, 1.0, 1.0]])
def test_invalid_spend_numbers(spend: object) -> None:
    with pytest.raises(rk.InvalidDataError, match="spend_model"):
        rk.customer_lifetime_value(
            Steady(),
            spend,  # type: ignore[arg-type]
            small_summary(),
            horizon=1.0,
            discount_rate=0.0,
        )


def test_gamma_gamma_refuses_a_discrete_summary() -> None:
    donors = rk.DiscreteSummary(frequency=[0, 3], recency=[0, 4], n_periods=6)
    spend = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
    with pytest.raises(rk.InvalidDataError, match="needs a CustomerSummary") as error:
        spend.conditional_expected_spend(donors)  # type: ignore[arg-type]
    assert error.value.field == "summary"


# --- residual lifetime value ---


def test_residual_value_is_dert_times_spend() -> None:
    summary = small_summary()
    model = FixedDert()
    spend = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
    value = rk.residual_lifetime_value(model, spend, summary, discount_rate=0.002)
    expected = (2.0 + summary.frequency) * spend.conditional_expected_spend(summary)
    np.testing.assert_allclose(value, expected, rtol=1e-15)
    assert model.rates == [0.002]


@pytest.mark.parametrize("rate", [0.0, -0.1, float("nan"), float("inf")])
def test_residual_value_needs_a_positive_rate(rate: float) -> None:
    with pytest.raises(rk.InvalidDataError, match="discount_rate") as error:
        rk.residual_lifetime_value(FixedDert(), OwnSpend(), small_summary(), discount_rate=rate)
    assert error.value.field == "discount_rate"


# --- on CDNOW, with any transaction model ---


@pytest.fixture(scope="module")
def cdnow_spend() -> tuple[rk.CustomerSummary, rk.GammaGamma]:
    summary = rk.summarize(
        rk.datasets.load_cdnow(), period="D", unit="W", observation_end="1997-09-30"
    )
    return summary, rk.GammaGamma.fit(summary)


def lifetimes_gamma_gamma(spend: rk.GammaGamma) -> GammaGammaFitter:
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series(spend.parameters())
    return ggf


def test_cdnow_clv_with_mbgnbd_matches_lifetimes(
    cdnow_spend: tuple[rk.CustomerSummary, rk.GammaGamma],
) -> None:
    """Any transaction model will do: the MBG/NBD against lifetimes' ModifiedBetaGeoFitter."""
    summary, spend = cdnow_spend
    purchases = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    ours = rk.customer_lifetime_value(
        purchases, spend, summary, horizon=12 * MONTH, discount_rate=0.01, step=MONTH
    )
    reference = ModifiedBetaGeoFitter()
    reference.params_ = pd.Series(purchases.parameters())
    reference.predict = reference.conditional_expected_number_of_purchases_up_to_time
    theirs = lifetimes_clv(reference, spend, summary, 12, 0.01)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


beta_geometric_parameters = st.tuples(
    positive_parameter(0.05, 5.0),
    positive_parameter(0.5, 50.0),
    positive_parameter(0.1, 5.0),
    positive_parameter(0.1, 10.0),
)


def check_clv_properties(
    purchases: clv.TransactionModel[rk.CustomerSummary],
    summary: rk.CustomerSummary,
    n_steps: int,
    step: float,
    rates: list[float],
) -> None:
    """CLV >= 0, non-decreasing in the horizon, non-increasing in the rate, telescoping at 0."""
    spend = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
    low, high = sorted(rates)

    def value(horizon_steps: int, d: float) -> np.ndarray:
        return rk.customer_lifetime_value(
            purchases, spend, summary, horizon=horizon_steps * step, discount_rate=d, step=step
        )

    base = value(n_steps, low)
    assert np.all(np.isfinite(base))
    assert np.all(base >= 0)
    tolerance = 1e-12 * np.maximum(base, 1.0)
    assert np.all(value(n_steps + 1, low) >= base - tolerance)
    assert np.all(value(n_steps, high) <= base + tolerance)
    # Without discounting the steps telescope to E[Y(horizon)] E[Z].
    expected = purchases.conditional_expected_purchases(
        n_steps * step, summary
    ) * spend.conditional_expected_spend(summary)
    np.testing.assert_allclose(value(n_steps, 0.0), expected, rtol=1e-9, atol=1e-12)


clv_property_cases = {
    "summary": customer_summaries(with_monetary=True),
    "params": beta_geometric_parameters,
    "n_steps": st.integers(1, 30),
    "step": positive_parameter(0.5, 10.0),
    "rates": st.lists(st.floats(0.0, 0.3), min_size=2, max_size=2),
}


@pytest.mark.parametrize("model_class", [rk.BGNBD, rk.MBGNBD])
@settings(max_examples=20)
@given(**clv_property_cases)
def test_clv_properties(
    model_class: type[rk.BGNBD] | type[rk.MBGNBD],
    summary: rk.CustomerSummary,
    params: tuple[float, float, float, float],
    n_steps: int,
    step: float,
    rates: list[float],
) -> None:
    check_clv_properties(model_class(*params, unit="W"), summary, n_steps, step, rates)


# --- with the discrete-time BG/BB model ---

DONATIONS = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)


@given(
    frequency=st.lists(st.integers(0, 6), min_size=1, max_size=15),
    n_future=st.integers(1, 12),
    discount_rate=st.floats(0.0, 0.3),
    value=st.floats(1.0, 500.0),
)
def test_bgbb_clv_sums_discounted_opportunities(
    frequency: list[int], n_future: int, discount_rate: float, value: float
) -> None:
    x = np.array(frequency)
    donors = rk.DiscreteSummary(frequency=x, recency=np.where(x > 0, 6, 0), n_periods=6)
    clv_value = rk.customer_lifetime_value(
        DONATIONS, value, donors, horizon=n_future, discount_rate=discount_rate
    )
    expected = sum(
        (
            DONATIONS.conditional_expected_purchases(k, donors)
            - DONATIONS.conditional_expected_purchases(k - 1, donors)
        )
        / (1 + discount_rate) ** k
        for k in range(1, n_future + 1)
    )
    np.testing.assert_allclose(clv_value, value * expected, rtol=1e-10)


def test_bgbb_residual_value_is_the_limit_of_clv() -> None:
    """DERT at rate d is the discounted sum over all future opportunities (eq. 14)."""
    donors = rk.DiscreteSummary(frequency=[0, 3, 6, 2], recency=[0, 4, 6, 2], n_periods=6)
    residual = rk.residual_lifetime_value(DONATIONS, 50.0, donors, discount_rate=0.1)
    np.testing.assert_allclose(
        residual,
        50.0 * DONATIONS.discounted_expected_residual_transactions(donors, discount_rate=0.1),
        rtol=1e-15,
    )
    long_run = rk.customer_lifetime_value(DONATIONS, 50.0, donors, horizon=400, discount_rate=0.1)
    np.testing.assert_allclose(long_run, residual, rtol=1e-9)


# --- with the BG/NBD and Gamma-Gamma models ---


@pytest.fixture(scope="module")
def cdnow_models(
    cdnow_spend: tuple[rk.CustomerSummary, rk.GammaGamma],
) -> tuple[rk.CustomerSummary, rk.BGNBD, rk.GammaGamma]:
    summary, spend = cdnow_spend
    return summary, rk.BGNBD.fit(summary), spend


def lifetimes_bgnbd(purchases: rk.BGNBD) -> BetaGeoFitter:
    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(purchases.parameters())
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by its fit
    return bgf


def lifetimes_clv(
    purchases: Any,
    spend: rk.GammaGamma,
    summary: rk.CustomerSummary,
    months: int,
    discount_rate: float,
) -> np.ndarray:
    """lifetimes' CLV of a summary in weeks, from its fitter of the purchases (with `predict`
    set) and the Gamma-Gamma spend model."""
    ggf = lifetimes_gamma_gamma(spend)
    assert summary.monetary_value is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' own FutureWarnings
        values = ggf.customer_lifetime_value(
            purchases,
            pd.Series(summary.frequency),
            pd.Series(summary.recency),
            pd.Series(summary.T),
            pd.Series(summary.monetary_value),
            time=months,
            discount_rate=discount_rate,
            freq="W",
        )
    return values.to_numpy()


@pytest.mark.parametrize(("months", "discount_rate"), [(12, 0.01), (3, 0.0), (24, 0.15)])
def test_cdnow_clv_matches_lifetimes(
    cdnow_models: tuple[rk.CustomerSummary, rk.BGNBD, rk.GammaGamma],
    months: int,
    discount_rate: float,
) -> None:
    summary, purchases, spend = cdnow_models
    ours = rk.customer_lifetime_value(
        purchases,
        spend,
        summary,
        horizon=months * MONTH,
        discount_rate=discount_rate,
        step=MONTH,
    )
    theirs = lifetimes_clv(lifetimes_bgnbd(purchases), spend, summary, months, discount_rate)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


@settings(max_examples=25)
@given(
    summary=customer_summaries(with_monetary=True, max_frequency=30),
    r=positive_parameter(0.05, 5.0),
    alpha=positive_parameter(0.5, 50.0),
    a=positive_parameter(0.1, 5.0),
    b=positive_parameter(0.1, 10.0),
    q=positive_parameter(1.5, 20.0),
    months=st.integers(1, 24),
    discount_rate=st.floats(0.0, 0.2),
)
def test_clv_matches_lifetimes_at_given_parameters(
    summary: rk.CustomerSummary,
    r: float,
    alpha: float,
    a: float,
    b: float,
    q: float,
    months: int,
    discount_rate: float,
) -> None:
    # Where lifetimes' BG/NBD expectation is numerically sound: it divides by a - 1 (a removable
    # singularity, losing every digit near a = 1), returns NaN from 2F1 when its third argument
    # a + b + x - 1 is negative, and computes 0 * a / (b + x - 1) = NaN for x = 0 at b = 1.
    assume(abs(a - 1.0) > 0.05 and a + b > 1.05 and b != 1.0)
    purchases = rk.BGNBD(r=r, alpha=alpha, a=a, b=b, unit="W")
    spend = rk.GammaGamma(p=3.0, q=q, v=20.0)
    ours = rk.customer_lifetime_value(
        purchases,
        spend,
        summary,
        horizon=months * MONTH,
        discount_rate=discount_rate,
        step=MONTH,
    )
    theirs = lifetimes_clv(lifetimes_bgnbd(purchases), spend, summary, months, discount_rate)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


def test_unit_mismatch_is_refused(
    cdnow_models: tuple[rk.CustomerSummary, rk.BGNBD, rk.GammaGamma],
) -> None:
    summary, purchases, spend = cdnow_models
    in_days = rk.CustomerSummary(
        summary.frequency,
        summary.recency * 7,
        summary.T * 7,
        monetary_value=summary.monetary_value,
        unit="D",
    )
    with pytest.raises(ValueError, match="unit"):
        rk.customer_lifetime_value(
            purchases, spend, in_days, horizon=30.0, discount_rate=0.01, step=30.0
        )


def test_models_round_trip_and_give_the_same_value(
    cdnow_models: tuple[rk.CustomerSummary, rk.BGNBD, rk.GammaGamma],
) -> None:
    summary, purchases, spend = cdnow_models
    loaded_purchases = rk.model_from_dict(json.loads(json.dumps(purchases.to_dict())))
    loaded_spend = rk.model_from_dict(json.loads(json.dumps(spend.to_dict())))
    options = {"horizon": 12 * MONTH, "discount_rate": 0.01, "step": MONTH}
    np.testing.assert_array_equal(
        rk.customer_lifetime_value(loaded_purchases, loaded_spend, summary, **options),  # type: ignore[arg-type]
        rk.customer_lifetime_value(purchases, spend, summary, **options),
    )


def test_customer_one_of_cdnow(
    cdnow_models: tuple[rk.CustomerSummary, rk.BGNBD, rk.GammaGamma],
) -> None:
    """The paper's worked example: x = 2, t_x = 30.43, T = 38.86, zbar = 22.35."""
    summary, purchases, spend = cdnow_models
    one = summary.subset(summary.customer_id == 1)
    value = rk.customer_lifetime_value(
        purchases, spend, one, horizon=39.0, discount_rate=0.0, step=39.0
    )
    expected_purchases = purchases.conditional_expected_purchases(39.0, one)
    assert expected_purchases[0] == pytest.approx(1.226, abs=2e-3)
    assert value[0] == pytest.approx(
        expected_purchases[0] * spend.conditional_expected_spend(one)[0], rel=1e-12
    )


# --- residual lifetime value with the Pareto/NBD ---


def test_pareto_nbd_residual_value_is_the_limit_of_clv(
    cdnow_spend: tuple[rk.CustomerSummary, rk.GammaGamma],
) -> None:
    """RLV = E[Z] int_0^inf e^(-delta t) dE[Y(t)]; CLV with steps of h, discounted per step at
    e^(delta h) - 1 over a long horizon, is its right-endpoint sum: between e^(-delta h) RLV
    and RLV, and 1 - delta h / 2 + O((delta h)^2) of it whatever the purchase rate's shape."""
    summary, spend = cdnow_spend
    customers = summary.subset(np.flatnonzero(summary.frequency > 0)[:20])
    purchases = rk.ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, unit="W")
    delta = 0.01
    residual = rk.residual_lifetime_value(purchases, spend, customers, discount_rate=delta)
    np.testing.assert_allclose(
        residual,
        purchases.discounted_expected_residual_transactions(customers, discount_rate=delta)
        * spend.conditional_expected_spend(customers),
        rtol=1e-15,
    )
    for h in (1.0, 0.5):
        value = rk.customer_lifetime_value(
            purchases,
            spend,
            customers,
            horizon=3000.0,  # e^(-30) of the value lies beyond
            step=h,
            discount_rate=math.expm1(delta * h),
        )
        ratio = value / residual
        assert np.all(ratio <= 1.0)
        assert np.all(ratio >= math.exp(-delta * h))
        np.testing.assert_allclose(ratio, 1 - delta * h / 2, atol=5e-5)
