"""The maximum-likelihood driver: its L-BFGS over log-parameters, the box, warnings, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit import ConvergenceWarning, FitError
from retention_kit.models._mle import maximize_likelihood

NAMES = ("first", "second", "third")


def _fit(loglik, start, **options):  # type: ignore[no-untyped-def]
    k = len(start)
    return maximize_likelihood(
        loglik,
        [start],
        names=NAMES[:k],
        n_customers=options.pop("n_customers", 100),
        total_weight=options.pop("total_weight", 100.0),
        unit=None,
        **options,
    )


def test_closed_form_estimates_and_standard_errors() -> None:
    """Exponential waiting times (rate lam) and Poisson counts (mean mu): the MLEs are n / sum(x)
    and mean(k), with asymptotic standard errors lam / sqrt(n) and sqrt(mu / n)."""
    rng = np.random.default_rng(3)
    n = 500
    waits, counts = rng.exponential(2.0, n), rng.poisson(7.0, n)
    total_wait, total_count = float(waits.sum()), float(counts.sum())

    def loglik(theta):  # type: ignore[no-untyped-def]
        lam, mu = theta
        value = n * math.log(lam) - lam * total_wait + total_count * math.log(mu) - n * mu
        return value, np.array([n / lam - total_wait, total_count / mu - n])

    theta, result = _fit(loglik, [1.0, 1.0], n_customers=n, total_weight=float(n))
    lam, mu = n / total_wait, total_count / n
    np.testing.assert_allclose(theta, [lam, mu], rtol=1e-9)
    assert result.converged
    np.testing.assert_allclose(
        [result.std_errors["first"], result.std_errors["second"]],
        [lam / math.sqrt(n), math.sqrt(mu / n)],
        rtol=1e-6,
    )


@given(
    centre=st.lists(st.floats(-8.0, 8.0), min_size=3, max_size=3),
    scales=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_quadratic_in_log_parameters(centre: list[float], scales: list[float], seed: int) -> None:
    """A concave quadratic in log(theta), with condition number up to 1e4, peaks at its centre."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    curvature = rotation @ np.diag(10.0 ** np.array(scales)) @ rotation.T
    c = np.array(centre)

    def loglik(theta):  # type: ignore[no-untyped-def]
        gap = np.log(theta) - c
        return -0.5 * float(gap @ curvature @ gap), -(curvature @ gap) / theta

    theta, result = _fit(loglik, [1.0, 1.0, 1.0])
    assert result.converged
    np.testing.assert_allclose(np.log(theta), c, atol=1e-6)


def test_curved_valley() -> None:
    """Rosenbrock's function of log(theta): a narrow curved valley with its floor at theta = e."""

    def loglik(theta):  # type: ignore[no-untyped-def]
        u, v = np.log(theta)
        value = -(100.0 * (v - u * u) ** 2 + (1.0 - u) ** 2)
        d_u = 400.0 * u * (v - u * u) + 2.0 * (1.0 - u)
        d_v = -200.0 * (v - u * u)
        return value, np.array([d_u, d_v]) / theta

    theta, result = _fit(loglik, [math.exp(-1.2), math.exp(1.0)])
    assert result.converged
    np.testing.assert_allclose(theta, [math.e, math.e], rtol=1e-6)


def test_steps_into_a_region_where_the_likelihood_is_not_finite_are_cut_back() -> None:
    """The likelihood is NaN beyond theta = 5; the maximum, at 4, is still reached."""

    def loglik(theta):  # type: ignore[no-untyped-def]
        (t,) = theta
        if t >= 5.0:
            return math.nan, np.array([math.nan])
        return -((t - 4.0) ** 2) * 100.0, np.array([-200.0 * (t - 4.0)])

    theta, result = _fit(loglik, [0.01])
    assert result.converged
    assert theta[0] == pytest.approx(4.0, rel=1e-8)


def test_a_parameter_running_to_the_edge_of_the_box_is_reported() -> None:
    """A likelihood that grows without bound in one parameter: the fit stops at the edge of
    the search box (1e12) and says so."""

    def loglik(theta):  # type: ignore[no-untyped-def]
        free, settled = theta
        value = math.log(free) - (settled - 2.0) ** 2
        return value, np.array([1.0 / free, -2.0 * (settled - 2.0)])

    with (
        pytest.warns(ConvergenceWarning, match=r"'first'.*edge of the search box"),
        pytest.warns(RuntimeWarning, match="not positive definite"),  # flat in log(free)
    ):
        theta, result = _fit(loglik, [1.0, 1.0])
    assert not result.converged
    assert theta[0] == pytest.approx(1e12, rel=1e-9)
    assert theta[1] == pytest.approx(2.0, rel=1e-6)


def test_a_likelihood_that_is_nowhere_finite_is_a_fit_error() -> None:
    def loglik(theta):  # type: ignore[no-untyped-def]
        return -math.inf, np.zeros_like(theta)

    with pytest.raises(FitError, match="no finite maximum"):
        _fit(loglik, [1.0, 1.0])


def test_the_iteration_limit_is_reported() -> None:
    def loglik(theta):  # type: ignore[no-untyped-def]
        gap = np.log(theta) - np.array([3.0, -2.0])
        return -float(gap @ gap), -2.0 * gap / theta

    with pytest.warns(ConvergenceWarning, match="iteration limit"):
        _, result = _fit(loglik, [1.0, 1.0], max_iterations=1)
    assert not result.converged
    assert result.iterations == 1


def test_the_best_of_several_starts_wins_and_bad_starts_are_refused() -> None:
    """Two local maxima in log(theta), at -1 (lower) and +2 (higher)."""

    def loglik(theta):  # type: ignore[no-untyped-def]
        (u,) = np.log(theta)
        value = -((u + 1.0) ** 2) * ((u - 2.0) ** 2) + 0.5 * u
        d_u = -2.0 * (u + 1.0) * (u - 2.0) * (2.0 * u - 1.0) + 0.5
        return value, np.array([d_u / theta[0]])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theta, _ = maximize_likelihood(
            loglik,
            [[math.exp(-1.5)], [math.exp(2.5)]],
            names=("u",),
            n_customers=1,
            total_weight=1.0,
            unit=None,
        )
    assert math.log(theta[0]) == pytest.approx(2.0, abs=0.1)
    with pytest.raises(ValueError, match="finite and > 0"):
        _fit(loglik, [-1.0])


def test_never_at_a_worse_optimum_than_scipy_lbfgsb() -> None:
    """On BG/NBD bases drawn over a wide range of parameters, the fit's log-likelihood is at
    least scipy's L-BFGS-B's on the same objective, from the same starting points."""
    from scipy import optimize

    from retention_kit.models import _mle, bgnbd

    rng = np.random.default_rng(5)
    for seed in range(12):
        truth = dict(zip(("r", "alpha", "a", "b"), 10.0 ** rng.uniform(-1, 1, 4), strict=True))
        summary = rk.BGNBD(**truth).sample(1500, float(rng.uniform(20, 80)), rng=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = rk.BGNBD.fit(summary).fit_result.log_likelihood
        data = summary.compress()
        x, t_x, T, w = data.frequency, data.recency, data.T, data.weights()
        objective = _mle._Objective(
            bgnbd._WeightedLikelihood.build(x, t_x, T, w), float(w.sum()), 0.0
        )
        theirs = -min(
            optimize.minimize(
                objective,
                np.log(start),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-27.6, 27.6)] * 4,
                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
            ).fun
            for start in bgnbd._starting_points(x, T, w)
        ) * float(w.sum())
        assert ours >= theirs - 1e-9 * abs(theirs), (truth, ours, theirs)
