"""Tests of the guarded special functions: log 2F1 against mpmath, closed forms and properties."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention_kit.models._special import hyp2f1, log_hyp2f1, sinh_quadrature
from tests.strategies import positive_parameter


def reference_log_hyp2f1(a: float, b: float, c: float, z: float) -> mp.mpf:
    """log 2F1 by mpmath, raising the precision until two precisions agree.

    mpmath's hyp2f1 can return wrong digits at a fixed precision for large parameters (it
    does not always detect cancellation), so agreement across precisions is required.
    """
    previous = None
    for digits in (50, 100, 200, 400, 800):
        with mp.workdps(digits):
            value = mp.log(mp.hyp2f1(a, b, c, z, maxterms=10**6))
        if previous is not None and abs(value - previous) <= mp.mpf(10) ** -25 * max(
            1, abs(value)
        ):
            return value
        previous = value
    raise AssertionError(f"mpmath did not settle on 2F1{(a, b, c, z)}")


def random_domain_points(seed: int, n: int, high: float = 1e4) -> list[tuple[float, ...]]:
    """Points of the documented domain: parameters log-uniform in [1e-4, high], z of 3 kinds."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(n):
        a, b, c = 10.0 ** rng.uniform(-4, math.log10(high), 3)
        kind = rng.integers(3)
        if kind == 0:
            z = 1.0 - 10.0 ** rng.uniform(-12, 0)
        elif kind == 1:
            z = -(10.0 ** rng.uniform(-4, 8))
        else:
            z = rng.uniform(0, 1)
        if z < 0 and c < min(a, b):
            c = min(a, b) * (1.0 + rng.uniform(0, 2))
        elif c <= min(a, b) - 8:
            u = rng.uniform(0, 1)
            c = max(min(a, b) - 8 * u, min(a, b) * u)
        points.append((float(a), float(b), float(c), float(z)))
    return points


def check_against_mpmath(points: list[tuple[float, ...]]) -> None:
    values = np.array(points)
    got = log_hyp2f1(*values.T)
    for point, value in zip(points, got, strict=True):
        expected = reference_log_hyp2f1(*point)
        # The relative error of 2F1 is the absolute error of its log; where 2F1 overflows,
        # the log itself carries rounding of about |log 2F1| units in the last place.
        tolerance = 1e-10 if abs(expected) < 700 else 1e-14 * float(abs(expected))
        assert abs(value - float(expected)) < tolerance, (point, value, expected)


def test_matches_mpmath_on_random_points() -> None:
    check_against_mpmath(random_domain_points(seed=20240601, n=60, high=1e3))


@pytest.mark.slow
def test_matches_mpmath_on_many_random_points() -> None:
    check_against_mpmath(random_domain_points(seed=7, n=400, high=1e5))


@pytest.mark.parametrize(
    ("a", "b", "c", "z", "expected"),
    [
        # -log(1 - z) / z
        (1.0, 1.0, 2.0, 0.5, 2 * math.log(2.0)),
        (1.0, 1.0, 2.0, 1 - 2.0**-40, 40 * math.log(2.0) / (1 - 2.0**-40)),
        # arctan(sqrt(-z)) / sqrt(-z)
        (0.5, 1.0, 1.5, -1e8, math.atan(1e4) / 1e4),
        (0.5, 1.0, 1.5, -0.25, math.atan(0.5) / 0.5),
        # (1 - z)^-a when b = c
        (3.5, 2.0, 2.0, 0.9, 10.0**3.5),
        (3.5, 2.0, 2.0, -9.0, 10.0**-3.5),
        (2.0, 7.0, 2.0, 0.999, 1000.0**7),
    ],
)
def test_closed_forms(a: float, b: float, c: float, z: float, expected: float) -> None:
    assert float(hyp2f1(a, b, c, z)) == pytest.approx(expected, rel=1e-13)


def test_outside_the_domain_is_nan_and_broadcasting_keeps_shapes() -> None:
    values = log_hyp2f1(
        [1.0, -1.0, 1.0, 1.0, 5.0],
        [1.0, 1.0, 1.0, 1.0, 3.0],
        [2.0, 2.0, 2.0, 2.0, 1.0],
        [
            0.5,
            0.5,
            1.0,
            np.nan,
            -2.0,
        ],
    )
    assert np.isfinite(values[0])
    assert np.isnan(values[1:]).all()
    assert log_hyp2f1(np.ones((2, 3)), 1.0, 2.0, 0.25).shape == (2, 3)
    assert float(log_hyp2f1(2.0, 3.0, 4.0, 0.0)) == 0.0


def test_overflowing_values_stay_finite_in_logs() -> None:
    # 2F1(2000, 3000; 2500; z) ~ (1 - z)^-2500: far beyond the floating-point range.
    value = float(log_hyp2f1(2000.0, 3000.0, 2500.0, 1 - 1e-9))
    expected = reference_log_hyp2f1(2000.0, 3000.0, 2500.0, 1 - 1e-9)
    assert value == pytest.approx(float(expected), rel=1e-14)
    assert float(hyp2f1(2000.0, 3000.0, 2500.0, 1 - 1e-9)) == math.inf


@settings(max_examples=40)
@given(
    a=positive_parameter(1e-3, 1e3),
    b=positive_parameter(1e-3, 1e3),
    c=positive_parameter(1e-3, 1e3),
    z=st.floats(-1e6, 0.999999),
)
def test_symmetric_in_a_and_b_and_consistent_with_euler(
    a: float, b: float, c: float, z: float
) -> None:
    if z < 0 and c < min(a, b):
        c = min(a, b) + c
    if c <= min(a, b) - 8:
        c = min(a, b)
    value = float(log_hyp2f1(a, b, c, z))
    assert math.isfinite(value)
    assert float(log_hyp2f1(b, a, c, z)) == pytest.approx(value, abs=1e-10 * max(1, abs(value)))
    if z >= 0 and c >= max(a, b):
        # Euler's transformation: 2F1(a, b; c; z) = (1 - z)^(c-a-b) 2F1(c-a, c-b; c; z).
        other = (c - a - b) * math.log1p(-z)
        if c > a and c > b:
            other += float(log_hyp2f1(c - a, c - b, c, z))
        assert other == pytest.approx(value, abs=1e-10 * max(1, abs(value)))


@settings(max_examples=30)
@given(
    a=positive_parameter(1e-3, 1e3),
    b=positive_parameter(1e-3, 1e3),
    c=positive_parameter(1e-3, 1e3),
    z=st.lists(st.floats(-1e4, 0.9999), min_size=2, max_size=2, unique=True),
)
def test_increasing_in_z(a: float, b: float, c: float, z: list[float]) -> None:
    # With positive parameters, 2F1 is E[(1 - zP)^-a]: increasing in z.
    c = max(c, min(a, b))
    low, high = sorted(z)
    assert float(log_hyp2f1(a, b, c, low)) <= float(log_hyp2f1(a, b, c, high)) + 1e-12


def test_sinh_quadrature_of_a_narrow_peak_and_a_slow_tail() -> None:
    center = np.array([3.0, 0.0])
    scale = np.array([1e-3, 1.0])
    # A narrow Gaussian (integral sqrt(2 pi) 1e-3) and the density exp(y/1e3 - e^(y/1e3))
    # (integral 1e3), whose left tail decays slowly.
    low = np.array([3.0 - 0.05, -1e6])
    high = np.array([3.0 + 0.05, 1e4])

    def log_integrand(y: np.ndarray, args: tuple[np.ndarray, ...]) -> np.ndarray:
        (which,) = args
        gaussian = -0.5 * ((y - 3.0) / 1e-3) ** 2
        gumbel = y / 1e3 - np.exp(np.minimum(y / 1e3, 700.0))
        return np.where(which == 0, gaussian, gumbel)

    logs = sinh_quadrature(log_integrand, center, scale, low, high, (np.array([0.0, 1.0]),))
    assert np.exp(logs) == pytest.approx([math.sqrt(2 * math.pi) * 1e-3, 1e3], rel=1e-12)
