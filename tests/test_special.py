"""Tests of the guarded special functions: log 2F1 against mpmath, closed forms and properties."""

from __future__ import annotations

import math
from typing import Any

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import Sweep, assert_current, load
from strategies import positive_parameter

from retention_kit.models._special import (
    hyp2f1,
    log_beta,
    log_gamma_ratio,
    log_hyp2f1,
    sinh_quadrature,
)


class Undecided(Exception):
    """mpmath could not settle the reference value."""


def _log_positive_series(a: mp.mpf, b: mp.mpf, c: mp.mpf, z: mp.mpf, budget: int) -> mp.mpf:
    """log of the series of 2F1 for a, b >= 0, c > 0 and 0 <= z < 1, term by term until a
    geometric bound on the tail is negligible (at most ``budget`` terms)."""
    term = total = mp.mpf(1)
    tolerance = mp.mpf(10) ** -(mp.mp.dps - 5)
    for k in range(budget):
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        j = k + 1
        bound = z * max(1, (a + j) / (c + j)) * max(1, (b + j) / (j + 1))
        if bound < 1 and term * bound / (1 - bound) < tolerance * total:
            return mp.log(total)
    raise Undecided


def reference_log_hyp2f1(a: float, b: float, c: float, z: float) -> mp.mpf:
    """log 2F1 by mpmath at 50 digits, from two transformations that must agree to 30 digits.

    mpmath's hyp2f1 can return wrong digits for parameters in the thousands without noticing
    (stable across precisions, yet off in the 12th digit) or give up; so the value is accepted
    only when the direct evaluation agrees with Euler's transform (z >= 0) or Pfaff's (z < 0),
    and otherwise taken from a series with positive terms summed directly.
    """
    with mp.workdps(50):
        ma, mb, mc, mz = (mp.mpf(v) for v in (a, b, c, z))
        try:
            direct = mp.log(mp.hyp2f1(ma, mb, mc, mz, maxterms=10**6))
            if mz >= 0:
                other = (mc - ma - mb) * mp.log1p(-mz) + mp.log(
                    mp.hyp2f1(mc - ma, mc - mb, mc, mz, maxterms=10**6)
                )
            else:
                low, high = min(ma, mb), max(ma, mb)
                other = -high * mp.log1p(-mz) + mp.log(
                    mp.hyp2f1(high, mc - low, mc, mz / (mz - 1), maxterms=10**6)
                )
            if abs(direct - other) <= mp.mpf(10) ** -30 * max(1, abs(direct)):
                return direct
        except (ValueError, ZeroDivisionError):
            pass
        if mz >= 0:
            return _log_positive_series(ma, mb, mc, mz, 300_000)
        low, high = min(ma, mb), max(ma, mb)
        if mc < low:
            raise Undecided
        return -high * mp.log1p(-mz) + _log_positive_series(
            high, mc - low, mc, mz / (mz - 1), 300_000
        )


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


def reference_or_none(point: tuple[float, ...]) -> tuple[mp.mpf] | None:
    """(`reference_log_hyp2f1` at ``point``,), or None where it is `Undecided`."""
    try:
        return (reference_log_hyp2f1(*point),)
    except Undecided:
        return None


def check_against_mpmath(
    points: list[tuple[float, ...]],
    *,
    undecided: float = 0.0,
    references: list[tuple[mp.mpf, ...] | None] | None = None,
) -> None:
    """Compare with the reference (``references``, one per point, else computed now); at most a
    share ``undecided`` of points may have none."""
    values = np.array(points)
    got = log_hyp2f1(*values.T)
    skipped = 0
    for i, (point, value) in enumerate(zip(points, got, strict=True)):
        reference = reference_or_none(point) if references is None else references[i]
        if reference is None:
            skipped += 1
            continue
        (expected,) = reference
        # The relative error of 2F1 is the absolute error of its log. Both carry the rounding
        # of terms such as b log(t), of the size of the parameters: 1e-16 x 1e5 x a few.
        tolerance = 1e-10 if abs(expected) < 700 else 1e-13 * float(abs(expected))
        assert abs(value - float(expected)) < tolerance, (point, value, expected)
    assert skipped <= undecided * len(points)


def test_matches_mpmath_on_random_points() -> None:
    check_against_mpmath(random_domain_points(seed=20240601, n=60, high=1e3))


MANY_POINTS: dict[str, Any] = {"seed": 7, "n": 300, "high": 1e5}

# The reference values of the 300 points take 15 minutes: they are stored in
# tests/reference/log_hyp2f1.json (python -m tests.reference.generate log_hyp2f1).
SWEEP = Sweep(
    name="log_hyp2f1",
    test="tests/test_special.py::test_matches_mpmath_on_many_random_points",
    generator="tests/test_special.py::random_domain_points",
    arguments=MANY_POINTS,
    reference="tests/test_special.py::reference_log_hyp2f1",
    precision="50 digits",
    inputs=("a", "b", "c", "z"),
    outputs=("log_hyp2f1",),
    points=lambda: random_domain_points(**MANY_POINTS),
    compute=reference_or_none,
)


@pytest.mark.slow
def test_matches_mpmath_on_many_random_points() -> None:
    points = random_domain_points(**MANY_POINTS)
    references = load(SWEEP).references_for(points)
    check_against_mpmath(points, undecided=0.05, references=references)


def test_reference_table_is_current() -> None:
    """The stored points are the generator's, and the cheapest references recompute to them."""
    assert_current(SWEEP)


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


def test_log_beta_and_log_gamma_ratio_against_mpmath() -> None:
    rng = np.random.default_rng(3)
    x = 10.0 ** rng.uniform(-4, 6, 400)
    y = 10.0 ** rng.uniform(-4, 6, 400)
    s = 10.0 ** rng.uniform(-4, 4, 400)
    betas, ratios = log_beta(x, y), log_gamma_ratio(x, s)
    with mp.workdps(40):
        for i in range(x.size):
            expected = mp.log(mp.beta(x[i], y[i]))
            assert abs(betas[i] - float(expected)) <= 1e-14 * max(1.0, abs(float(expected)))
            expected = mp.loggamma(mp.mpf(x[i]) + s[i]) - mp.loggamma(x[i])
            assert abs(ratios[i] - float(expected)) <= 1e-14 * max(1.0, abs(float(expected)))
    assert log_gamma_ratio(5.0, 0.0) == 0.0
    assert log_gamma_ratio([[1.0], [20.0]], [0.5, 1.0, 2.0]).shape == (2, 3)
