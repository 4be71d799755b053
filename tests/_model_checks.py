"""Checks the tests of the purchase models share: BG/NBD, MBG/NBD, Pareto/NBD (and Gamma-Gamma).

The models share their argument checks, the plumbing of `fit` and of `sample` and their API, so
the tests of what they have in common are written once here: against lifetimes at the same
parameters, the time behaviour of the predictions, fits on compressed data, persistence, units
and bad arguments. Also the data and the mpmath references more than one test module uses.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import mpmath
import numpy as np
import pandas as pd
import pytest

import retention_kit as rk


def cdnow_weekly() -> rk.CustomerSummary:
    """CDNOW's 39-week calibration period (to 1997-09-30), by day, in weeks: the published fits."""
    return rk.summarize(
        rk.datasets.load_cdnow(), period="D", unit="W", observation_end="1997-09-30"
    )


def lifetimes_fitter(fitter_class: type, model: rk.Model) -> Any:
    """A lifetimes fitter of ``fitter_class`` set to the parameters of ``model``."""
    fitter = fitter_class()
    fitter.params_ = pd.Series(model.parameters())
    return fitter


def quiet(function: Callable[..., Any], *args: Any) -> Any:
    """Call lifetimes, whose pandas and numpy use raises warnings we do not test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def mp_shapes(a: float) -> list[Any]:
    """[a] at the working mpmath precision, or at a = 1 exactly, where the closed forms divide
    by a - 1, the pair 1 -+ 1e-30: the mean over it is their limit (smooth in a)."""
    if a != 1:
        return [mpmath.mpf(float(a))]
    return [1 - mpmath.mpf(10) ** -30, 1 + mpmath.mpf(10) ** -30]


def mp_purchases_given_alive(A: float, a: float, B: float, y: float) -> float:
    """E_p[(1 - (1 + p y)^-A) / p], p ~ Beta(a, B), from the closed form at high precision.

    (a + B - 1) / (a - 1) [1 - (1 + y)^-A 2F1(A, B; a + B - 1; y / (1 + y))] cancels, so it is
    evaluated at two precisions that must agree (at a = 1, see `mp_shapes`).
    """
    values = []
    for dps in (80, 160):
        with mpmath.workdps(dps):
            mA, mB, my = (mpmath.mpf(float(v)) for v in (A, B, y))
            shapes = mp_shapes(a)
            total = mpmath.mpf(0)
            for ma in shapes:
                c = ma + mB - 1
                bracket = 1 - (1 + my) ** -mA * mpmath.hyp2f1(mA, mB, c, my / (1 + my))
                total += c / (ma - 1) * bracket
            values.append(total / len(shapes))
    assert abs(values[0] - values[1]) < 1e-25 * abs(values[1])
    return float(values[1])


# --- agreement with lifetimes ---


def assert_alive_matches_lifetimes(
    model: Any, reference: Any, summary: rk.CustomerSummary, *, rtol: float
) -> None:
    """P(alive) of ``model`` is that of lifetimes' fitter ``reference`` (its params), to rtol."""
    np.testing.assert_allclose(
        model.probability_alive(summary),
        quiet(
            reference.conditional_probability_alive, summary.frequency, summary.recency, summary.T
        ),
        rtol=rtol,
    )


def assert_predictions_match_lifetimes(
    model: Any,
    reference: Any,
    summary: rk.CustomerSummary,
    *,
    horizons: Sequence[float],
    times: Sequence[float],
    counts: Iterable[int] = (),
    rtol_alive: float = 1e-8,
) -> None:
    """The predictions of ``model`` are those of lifetimes' fitter ``reference`` (its params).

    P(alive) to ``rtol_alive``; to 1e-8, E[Y(t) | x, t_x, T] at each horizon, E[X(t)] at the
    times and P(X(t) = n) for each of the counts at each horizon.
    """
    x, t_x, T = summary.frequency, summary.recency, summary.T
    assert_alive_matches_lifetimes(model, reference, summary, rtol=rtol_alive)
    for horizon in horizons:
        np.testing.assert_allclose(
            model.conditional_expected_purchases(horizon, summary),
            quiet(
                reference.conditional_expected_number_of_purchases_up_to_time, horizon, x, t_x, T
            ),
            rtol=1e-8,
        )
    np.testing.assert_allclose(
        model.expected_purchases(np.asarray(times)),
        quiet(reference.expected_number_of_purchases_up_to_time, np.asarray(times)),
        rtol=1e-8,
    )
    for n in counts:
        for horizon in horizons:
            assert float(model.probability_of_purchases(n, horizon)) == pytest.approx(
                float(quiet(reference.probability_of_n_purchases_up_to_time, horizon, n)),
                rel=1e-8,
            )


# --- properties of the predictions ---


def assert_alive_falls_with_time(
    model: Any, summary: rk.CustomerSummary, times: Iterable[float], *, slack: float
) -> None:
    """P(alive at T + t) is finite, >= 0 and, over the increasing ``times``, non-increasing
    (from 1), allowing a relative rounding ``slack``."""
    previous = np.ones(len(summary))
    for t in times:
        alive = model.probability_alive(summary, t=t)
        assert np.all(np.isfinite(alive))
        assert np.all((alive >= 0) & (alive <= previous * (1 + slack)))
        previous = alive


def assert_expectations_grow_with_time(
    model: Any, summary: rk.CustomerSummary, times: np.ndarray, *, slack: float
) -> None:
    """E[X(t)] is 0 at t = 0 and, like E[Y(t) | x, t_x, T], finite, >= 0 and non-decreasing
    over the increasing ``times``, allowing a relative rounding ``slack``."""
    new = model.expected_purchases(times)
    assert new[0] == 0.0
    assert np.all(new >= 0)
    assert np.all(np.diff(new) >= -slack * new[1:])
    previous = np.zeros(len(summary))
    for t in times:
        conditional = model.conditional_expected_purchases(t, summary)
        assert np.all(np.isfinite(conditional))
        assert np.all(conditional >= previous * (1 - slack))
        previous = conditional


def assert_time_scale_invariant(
    model: Any,
    summary: rk.CustomerSummary,
    scale: float,
    t: float,
    *,
    rtol_alive: float,
    rtol: float,
) -> None:
    """Time in units 1/scale as long, alpha scaled alike: the same predictions.

    P(alive at T) to ``rtol_alive``, the forecasts t ahead to ``rtol``; the likelihood, a
    density in time, gains -x log(scale).
    """
    scaled_model = type(model)(**{**model.parameters(), "alpha": model.alpha * scale})
    scaled = rk.CustomerSummary(summary.frequency, summary.recency * scale, summary.T * scale)
    np.testing.assert_allclose(
        scaled_model.probability_alive(scaled), model.probability_alive(summary), rtol=rtol_alive
    )
    np.testing.assert_allclose(
        scaled_model.probability_alive(scaled, t=t * scale),
        model.probability_alive(summary, t=t),
        rtol=rtol,
    )
    np.testing.assert_allclose(
        scaled_model.conditional_expected_purchases(t * scale, scaled),
        model.conditional_expected_purchases(t, summary),
        rtol=rtol,
    )
    assert float(scaled_model.expected_purchases(t * scale)) == pytest.approx(
        float(model.expected_purchases(t)), rel=rtol
    )
    np.testing.assert_allclose(
        scaled_model.probability_of_purchases([0, 1, 3, 5], t * scale),
        model.probability_of_purchases([0, 1, 3, 5], t),
        rtol=rtol,
    )
    np.testing.assert_allclose(
        scaled_model.log_likelihood(scaled),
        model.log_likelihood(summary) - summary.frequency * math.log(scale),
        rtol=1e-9,
        atol=1e-9,
    )


# --- fitting ---


def assert_weighted_sum_of_rows(
    likelihood: Callable[[Any], tuple[float, Any]],
    log_likelihood: Callable[..., Any],
    log_likelihood_gradient: Callable[..., Any],
    theta: Any,
    summary: rk.CustomerSummary,
    w: Any,
) -> None:
    """A fit's objective equals the weighted sum of the per-row log-likelihoods and gradients."""
    x, t_x, T = summary.frequency, summary.recency, summary.T
    total, gradient = likelihood(theta)
    assert total == pytest.approx(float(w @ log_likelihood(theta, x, t_x, T)), rel=1e-11)
    expected = log_likelihood_gradient(theta, x, t_x, T) @ w
    np.testing.assert_allclose(gradient, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


def assert_fitted_to_cdnow(fitted: Any, cdnow: rk.CustomerSummary, log_likelihood: float) -> None:
    """``fitted`` is the converged fit to ``cdnow`` (2357 customers, in weeks) with the published
    ``log_likelihood`` (to 0.05), the sum of the rows', and a standard error for each parameter."""
    assert cdnow.n_customers == 2357
    result = fitted.fit_result
    assert result is not None
    assert result.log_likelihood == pytest.approx(log_likelihood, abs=0.05)
    assert fitted.log_likelihood(cdnow).sum() == pytest.approx(result.log_likelihood, rel=1e-12)
    assert result.converged
    assert result.n_customers == 2357
    assert result.unit == "W"
    assert fitted.unit == "W"
    assert set(result.std_errors) == set(fitted.parameter_names)
    assert all(v > 0 for v in result.std_errors.values())
    assert result.covariance.shape == (len(fitted.parameter_names),) * 2


def assert_same_fit_in_days(fitted: Any, summary: rk.CustomerSummary, *, rel: float) -> None:
    """Fitted to ``summary`` (in weeks) counted in days, the model is ``fitted`` with its time
    scales (alpha, beta) seven times as large, to ``rel``, and the unit "D"."""
    days = rk.CustomerSummary(summary.frequency, summary.recency * 7, summary.T * 7, unit="D")
    in_days = type(fitted).fit(days)
    assert in_days.unit == "D"
    for name, value in fitted.parameters().items():
        expected = 7 * value if name in ("alpha", "beta") else value
        assert getattr(in_days, name) == pytest.approx(expected, rel=rel), name


def assert_same_fit_when_compressed(fitted: Any, summary: rk.CustomerSummary) -> None:
    """Fitted to the compressed ``summary``, the model is ``fitted`` (fitted to it) to the bit."""
    compressed = summary.compress()
    assert len(compressed) < len(summary)
    again = type(fitted).fit(compressed)
    assert again == fitted
    assert again.fit_result is not None
    assert fitted.fit_result is not None
    assert again.fit_result.log_likelihood == fitted.fit_result.log_likelihood
    assert again.fit_result.n_customers == fitted.fit_result.n_customers


def assert_fit_recovers(truth: Any, summary: rk.CustomerSummary) -> Any:
    """Fitted to ``summary``, drawn from ``truth``, the model converges within 4 standard
    errors of it; return the fitted model."""
    fitted = type(truth).fit(summary)
    result = fitted.fit_result
    assert result is not None
    assert result.converged
    for name, value in truth.parameters().items():
        assert abs(getattr(fitted, name) - value) < 4 * result.std_errors[name], name
    return fitted


# --- conventions ---


def assert_json_round_trip(model: Any) -> None:
    """The model comes back equal from JSON, by its class and by `rk.model_from_dict`."""
    data = json.loads(json.dumps(model.to_dict()))
    assert data["model"] == type(model).__name__
    assert type(model).from_dict(model.to_dict()) == model
    for restored in (type(model).from_dict(data), rk.model_from_dict(data)):
        assert type(restored) is type(model)
        assert restored == model
        assert restored.unit == model.unit
        assert restored.params.tolist() == model.params.tolist()
        assert restored.fit_result is not None
        assert model.fit_result is not None
        assert restored.fit_result.log_likelihood == model.fit_result.log_likelihood
        assert restored.fit_result.to_dict() == model.fit_result.to_dict()
        np.testing.assert_array_equal(restored.fit_result.covariance, model.fit_result.covariance)


def assert_refuses_another_unit(
    model: Any, summary: rk.CustomerSummary, *more: Callable[[rk.CustomerSummary], Any]
) -> None:
    """Every prediction from ``summary`` (in another unit) is refused, naming the model's unit;
    the same model without a unit predicts on it."""
    calls = (
        model.log_likelihood,
        model.probability_alive,
        lambda s: model.conditional_expected_purchases(1.0, s),
        *more,
    )
    for call in calls:
        with pytest.raises(rk.InvalidDataError, match=f"unit {model.unit!r}") as error:
            call(summary)
        assert error.value.field == "unit"
    unitless = type(model)(**model.parameters())
    assert unitless.probability_alive(summary).shape == (len(summary),)
    assert np.isfinite(unitless.log_likelihood(summary)).all()


def assert_refuses_bad_arguments(model: Any, summary: rk.CustomerSummary) -> None:
    """The argument checks the purchase models share, with their messages."""
    negative_t = "`t` must be finite and >= 0"
    t_per_row = "`t` must be a scalar or hold one value per"  # row of the summary, summary row
    T_per_customer = "`T` must be a scalar or hold one value per customer"
    with pytest.raises(rk.InvalidDataError, match=negative_t):
        model.expected_purchases([1.0, -1.0])
    with pytest.raises(rk.InvalidDataError, match=negative_t):
        model.expected_purchases([1.0, np.nan])
    for bad in (-2.0, np.nan):
        with pytest.raises(rk.InvalidDataError, match=negative_t):
            model.probability_alive(summary, t=bad)
        with pytest.raises(rk.InvalidDataError, match=negative_t):
            model.conditional_expected_purchases(bad, summary)
    with pytest.raises(rk.InvalidDataError, match=t_per_row):
        model.conditional_expected_purchases(np.ones(len(summary) + 1), summary)
    with pytest.raises(rk.InvalidDataError, match=t_per_row):
        model.probability_alive(summary, t=[[1.0]])
    with pytest.raises(rk.InvalidDataError, match="`n` must be"):
        model.probability_of_purchases([0, 1.5], 1.0)
    with pytest.raises(rk.InvalidDataError, match="`n`"):
        model.probability_of_purchases(-1, 1.0)
    with pytest.raises(rk.InvalidDataError, match="`n_customers` must be an integer >= 1"):
        model.sample(0, 10.0)
    with pytest.raises(rk.InvalidDataError, match=T_per_customer):
        model.sample(3, [1.0, 2.0])
    with pytest.raises(rk.InvalidDataError, match="`T` must be > 0"):
        model.sample(2, 0.0)
    with pytest.raises(rk.InvalidDataError, match="`T` must be > 0"):
        model.sample(2, [1.0, 0.0])
    with pytest.raises(ValueError, match=f"must hold {len(model.parameter_names)} values"):
        type(model).fit(summary, initial=[1.0, 2.0])
    with pytest.raises(ValueError, match="penalizer"):
        type(model).fit(summary, penalizer=-1.0)
