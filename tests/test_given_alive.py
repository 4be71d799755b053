"""Tests of the expectations for a customer known to be alive (BG/NBD-family models)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from _model_checks import mp_purchases_given_alive

from retention_kit.models._given_alive import (
    _log_expected_quadrature,
    _negative_binomial_series,
    log_expected_purchases,
    log_survival,
)


def _points(seed: int, n: int, *, near_one: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r, a, b = np.exp(rng.uniform(np.log(0.01), np.log(100.0), size=(3, n)))
    if near_one:
        a = 1.0 + rng.choice([-1.0, 1.0], n) * np.exp(rng.uniform(np.log(1e-9), np.log(0.5), n))
    x = rng.choice([0.0, 1.0, 3.0, 10.0, 50.0, 200.0, 2000.0], n)
    y = np.exp(rng.uniform(np.log(1e-8), np.log(1e6), n))
    A, B = r + x, b + x + 1.0
    keep = A * np.log1p(y) < 600.0  # keeps the mpmath reference affordable
    return np.stack([A, a, B, y])[:, keep]


@pytest.mark.parametrize(("seed", "near_one"), [(1, False), (2, True)])
def test_expected_purchases_against_mpmath(seed: int, near_one: bool) -> None:
    A, a, B, y = _points(seed, 150, near_one=near_one)
    got = np.exp(log_expected_purchases(A, a, B, y))
    for i in range(A.size):
        exact = mp_purchases_given_alive(A[i], a[i], B[i], y[i])
        assert got[i] == pytest.approx(exact, rel=1e-9), (A[i], a[i], B[i], y[i])


def test_each_route_alone_against_mpmath() -> None:
    A, a, B, y = _points(3, 120)
    exact = np.array([mp_purchases_given_alive(*point) for point in zip(A, a, B, y, strict=True)])
    log_series, converged = _negative_binomial_series(A, a, B, y)
    assert 0 < converged.sum() < A.size
    np.testing.assert_allclose(np.exp(log_series[converged]), exact[converged], rtol=1e-10)
    quadrature = np.exp(_log_expected_quadrature(A, a, B, y))
    np.testing.assert_allclose(quadrature, exact, rtol=1e-9)


def test_a_equal_to_one_and_tiny_horizons() -> None:
    A = np.array([0.5, 3.5, 40.5, 0.02, 2000.0])
    B = np.array([2.6, 5.6, 42.6, 41.0, 2001.0])
    for a in (1.0, 1.0 - 1e-9, 1.0 + 1e-6, 0.02, 50.0):
        for y in (1e-12, 1e-6, 0.3, 30.0, 3e5):
            got = np.exp(log_expected_purchases(A, a, B, y))
            exact = [mp_purchases_given_alive(A[i], a, B[i], y) for i in range(A.size)]
            np.testing.assert_allclose(got, exact, rtol=1e-9, err_msg=f"a={a}, y={y}")


def test_limits_and_shapes() -> None:
    assert log_expected_purchases(2.0, 1.5, 3.0, 0.0) == -np.inf
    assert log_survival(2.0, 1.5, 3.0, 0.0) == 0.0
    assert log_expected_purchases([[1.0], [2.0]], 1.5, 3.0, [0.1, 1.0, 10.0]).shape == (2, 3)
    # Small horizons: about A y E[1] = A y purchases.
    assert float(np.exp(log_expected_purchases(3.0, 2.0, 5.0, 1e-9))) == pytest.approx(
        3e-9, rel=1e-8
    )
    # Long horizons with a > 1: all the purchases before dropping out, A / alpha * E[1 / p]
    # grows without bound in y, but the mean of (1 - (1 + p y)^-A) / p tends to E[1 / p].
    far = float(np.exp(log_expected_purchases(3.0, 2.0, 5.0, 1e12)))
    assert far == pytest.approx((2.0 + 5.0 - 1.0) / (2.0 - 1.0), rel=1e-6)


def test_survival_against_mpmath() -> None:
    A, a, B, y = _points(4, 120)
    got = np.exp(log_survival(A, a, B, y))
    assert np.all((got > 0) & (got <= 1))
    for i in range(A.size):
        with mpmath.workdps(60):
            # E_p[(1 + p y)^-A] by its Euler transform, a series in y / (1 + y) with no
            # cancellation that mpmath sums reliably.
            u = mpmath.mpf(y[i]) / (1 + mpmath.mpf(y[i]))
            exact = (1 - u) ** A[i] * mpmath.hyp2f1(A[i], B[i], a[i] + B[i], u)
        assert got[i] == pytest.approx(float(exact), rel=1e-9), (A[i], a[i], B[i], y[i])
