"""The maximum-likelihood driver shared by every model.

A model hands the driver its weighted log-likelihood and analytic gradient as functions of its
natural (positive) parameters. The driver maximizes over log-parameters with BFGS (in a wide
box) from one or more starting points, checks the answer is finite, and derives standard errors
from a symmetrised finite-difference Hessian of the analytic gradient.

Working on log-parameters makes a change of time unit a translation of the search space: a
time-scale parameter such as BG/NBD's alpha moves by log(c) when time is multiplied by c and
nothing else changes. Models therefore rescale time by choosing data-driven starting points in
the caller's unit (alpha near the mean customer age), which is exactly equivalent to fitting on
rescaled time and converting back, without a conversion step that could lose digits.

The optimizer is a few dozen lines of BFGS on at most five variables, in plain numpy, rather than
`scipy.optimize`: scipy's L-BFGS-B calls LAPACK on tiny matrices every iteration, which wakes
multi-threaded BLAS and slows every fit on a machine with more than one core (by a third for
BG/NBD on a million customers), and importing `scipy.optimize` costs a fifth of a second.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from .._errors import ConvergenceWarning, FitError
from .._typing import FloatArray, IntArray

__all__ = [
    "FitResult",
    "LogLikelihood",
    "distinct_frequencies",
    "dot",
    "maximize_likelihood",
    "sum_by",
]

LogLikelihood = Callable[[FloatArray], tuple[float, FloatArray]]
"""Natural parameters -> (weighted total log-likelihood, its gradient in those parameters)."""

_LOG_BOUND = math.log(1e12)
_HESSIAN_STEP = 1e-4
_STALL_GRADIENT = 1e-6
"""Largest gradient (of the mean objective, in log-parameters) of a run that counts as converged
when its line search stalled: about a 1e-6 relative change of the parameters."""
_GRADIENT_TOLERANCE = 1e-10
"""Converged when no gradient component (of the mean objective, in log-parameters) exceeds this."""
_REDUCTION_TOLERANCE = 1e-15
"""Converged when a step lowers the objective by less than this, relative to its size."""
_SUFFICIENT_DECREASE = 1e-4
_MAX_BACKTRACKS = 20
_MEMORY = 10


@dataclass(frozen=True, slots=True, eq=False)
class FitResult:
    """What a maximum-likelihood fit found, and how well it is determined.

    Attributes
    ----------
    parameters : dict of str to float
        The estimates, keyed by parameter name.
    log_likelihood : float
        The weighted total log-likelihood over all customers at the estimates (without the
        penalty).
    n_customers : int
        The number of customers the fit saw (the sum of the weights).
    converged : bool
        Whether the optimizer met its convergence criterion.
    iterations : int
        Optimizer iterations, summed over the starting points tried.
    std_errors : dict of str to float
        Asymptotic standard errors from the inverse Hessian of the negative log-likelihood.
    covariance : ndarray
        Asymptotic covariance of the estimates, in the order of ``parameters``.
    unit : str or None
        The time unit of the data, for models of time; None for spend and contractual models.
    penalizer : float
        The L2 penalty coefficient the fit used.
    message : str
        The optimizer's final message.

    Examples
    --------
    >>> import retention_kit as rk
    >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
    ...                        observation_end="1997-09-30")
    >>> result = rk.BGNBD.fit(summary).fit_result
    >>> round(result.log_likelihood, 1), result.n_customers, result.converged
    (-9582.4, 2357, True)
    """

    parameters: dict[str, float]
    log_likelihood: float
    n_customers: int
    converged: bool
    iterations: int
    std_errors: dict[str, float]
    covariance: FloatArray
    unit: str | None = None
    penalizer: float = 0.0
    message: str = ""

    @property
    def n_parameters(self) -> int:
        """Number of estimated parameters."""
        return len(self.parameters)

    @property
    def aic(self) -> float:
        """Akaike information criterion, 2k - 2 LL."""
        return 2.0 * self.n_parameters - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """Bayesian information criterion, k log(n) - 2 LL."""
        return self.n_parameters * math.log(self.n_customers) - 2.0 * self.log_likelihood

    def confidence_intervals(
        self, confidence_level: float = 0.95
    ) -> dict[str, tuple[float, float]]:
        """Return Wald intervals for each parameter, built on the log scale.

        The interval for log(theta) is log(theta) +/- z * se / theta (the delta method), and is
        transformed back, so bounds are always positive and asymmetric around the estimate.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Coverage probability, in (0, 1).

        Returns
        -------
        dict of str to (float, float)
            Lower and upper bounds per parameter.

        Examples
        --------
        >>> import retention_kit as rk
        >>> summary = rk.summarize(rk.datasets.load_cdnow(), period="D", unit="W",
        ...                        observation_end="1997-09-30")
        >>> low, high = rk.BGNBD.fit(summary).fit_result.confidence_intervals()["r"]
        >>> round(low, 3), round(high, 3)
        (0.219, 0.268)
        """
        if not 0.0 < confidence_level < 1.0:
            raise ValueError(
                "The 'confidence_level' parameter of confidence_intervals must be in (0, 1); "
                f"got {confidence_level!r} instead."
            )
        z = float(special.ndtri(0.5 + confidence_level / 2.0))  # the normal quantile
        intervals = {}
        for name, value in self.parameters.items():
            spread = z * self.std_errors[name] / value
            intervals[name] = (value * math.exp(-spread), value * math.exp(spread))
        return intervals

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (see `from_dict`).

        Examples
        --------
        >>> import json
        >>> import retention_kit as rk
        >>> survivors = rk.datasets.load_retention_segments().regular[:8]
        >>> result = rk.ShiftedBetaGeometric.fit(survivors).fit_result
        >>> sorted(json.loads(json.dumps(result.to_dict())))[:4]
        ['converged', 'covariance', 'iterations', 'log_likelihood']
        """
        return {
            "parameters": dict(self.parameters),
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "converged": self.converged,
            "iterations": self.iterations,
            "std_errors": dict(self.std_errors),
            "covariance": self.covariance.tolist(),
            "unit": self.unit,
            "penalizer": self.penalizer,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitResult:
        """Rebuild a `FitResult` from `to_dict` output.

        Examples
        --------
        >>> import json
        >>> import retention_kit as rk
        >>> survivors = rk.datasets.load_retention_segments().regular[:8]
        >>> result = rk.ShiftedBetaGeometric.fit(survivors).fit_result
        >>> copy = rk.FitResult.from_dict(json.loads(json.dumps(result.to_dict())))
        >>> copy.log_likelihood == result.log_likelihood, copy.std_errors == result.std_errors
        (True, True)
        """
        values = dict(data)
        values["covariance"] = np.array(values["covariance"], dtype=np.float64)
        return cls(**values)


def dot(u: FloatArray, v: FloatArray) -> float:
    """Return sum(u * v) by numpy's pairwise summation.

    ``u @ v`` may start BLAS threads for long vectors, which cost more than they save on a
    machine that is already busy; ``einsum`` sums in one pass, and its larger rounding noise
    makes the optimizer's line searches near the optimum take more steps.
    """
    return float(np.sum(u * v))


def distinct_frequencies(x: FloatArray) -> tuple[FloatArray, IntArray]:
    """Return the distinct frequencies (sorted) and each row's position among them.

    Likelihoods compute their gamma-function terms once per distinct frequency: a few hundred
    values even for millions of customers. Frequencies are whole numbers, so unless they are
    huge a counting pass replaces the sort of ``np.unique``.
    """
    if x.size and float(x.max()) <= 4 * x.size + 1024:
        codes = x.astype(np.int64)
        present = np.bincount(codes) > 0
        position = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present).astype(np.float64), position[codes]
    values, index = np.unique(x, return_inverse=True)
    return values.astype(np.float64), index.reshape(-1).astype(np.int64)


def sum_by(index: IntArray, weight: FloatArray, size: int) -> FloatArray:
    """Return the sums of ``weight`` over the rows with each value of ``index`` in [0, size)."""
    out: FloatArray = np.bincount(index, weights=weight, minlength=size).astype(np.float64)
    return out


@dataclass(slots=True)
class _Objective:
    """Penalized mean negative log-likelihood over log-parameters.

    It remembers the log-likelihood at every point it evaluated, so that the driver does not
    evaluate it again at the estimates.
    """

    loglik: LogLikelihood
    total_weight: float
    penalizer: float
    seen: dict[bytes, float] = field(default_factory=dict)

    def __call__(self, log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = self.loglik(params)
        self.seen[log_params.tobytes()] = float(ll)
        value = -ll / self.total_weight + self.penalizer * float(params @ params)
        gradient = (-grad / self.total_weight + 2.0 * self.penalizer * params) * params
        if not (math.isfinite(value) and np.all(np.isfinite(gradient))):
            # Steer the line search away from regions where the likelihood under- or overflows.
            return math.inf, np.zeros_like(log_params)
        return value, gradient


def _log_gradient(loglik: LogLikelihood, log_params: FloatArray) -> FloatArray:
    params = np.exp(log_params)
    with np.errstate(all="ignore"):
        return loglik(params)[1] * params


def _covariance(loglik: LogLikelihood, params: FloatArray) -> FloatArray:
    """Covariance of the natural parameters from the Hessian in log-parameters.

    The Hessian of the negative log-likelihood in phi = log(theta) is the central finite
    difference of the analytic gradient, symmetrised (the penalty is left out: the errors are
    those of the likelihood). At the optimum the covariance of theta is
    D H_phi^-1 D with D = diag(theta), which equals the inverse Hessian in theta.
    """
    k = params.size
    phi = np.log(params)
    hessian = np.empty((k, k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = _HESSIAN_STEP
        upper = _log_gradient(loglik, phi + step)
        lower = _log_gradient(loglik, phi - step)
        hessian[:, j] = -(upper - lower) / (2.0 * _HESSIAN_STEP)
    hessian = (hessian + hessian.T) / 2.0
    if not np.all(np.isfinite(hessian)):
        warnings.warn(
            "The Hessian at the estimates is not finite; standard errors are NaN.",
            RuntimeWarning,
            stacklevel=4,
        )
        return np.full((k, k), np.nan)
    eigenvalues = np.linalg.eigvalsh(hessian)
    if eigenvalues.min() <= 1e-12 * max(1.0, abs(eigenvalues).max()):
        warnings.warn(
            "The Hessian at the estimates is not positive definite (a flat or degenerate "
            "likelihood); standard errors use its pseudo-inverse and may be unreliable.",
            RuntimeWarning,
            stacklevel=4,
        )
        inverse = np.linalg.pinv(hessian)
    else:
        inverse = np.linalg.inv(hessian)
    scale = np.diag(params)
    covariance: FloatArray = scale @ inverse @ scale
    return (covariance + covariance.T) / 2.0


@dataclass(frozen=True, slots=True)
class _Run:
    """Where one run of `_minimize` stopped."""

    x: FloatArray
    fun: float
    jac: FloatArray
    nit: int
    success: bool
    stalled: bool
    message: str

    def stalled_at_optimum(self) -> bool:
        """Whether the line search failed at the optimum itself.

        Near the minimum the objective stops changing in float64, and no step along the search
        direction lowers it although the gradient is already negligible; such a run has
        converged.
        """
        return (
            self.stalled
            and bool(np.all(np.isfinite(self.jac)))
            and float(np.max(np.abs(self.jac), initial=0.0)) <= _STALL_GRADIENT
        )


def _projected(x: FloatArray, gradient: FloatArray) -> FloatArray:
    """Return the gradient without the components whose descent leaves the box."""
    out = gradient.copy()
    out[((x <= -_LOG_BOUND) & (gradient > 0)) | ((x >= _LOG_BOUND) & (gradient < 0))] = 0.0
    return out


def _direction(
    gradient: FloatArray, pairs: list[tuple[FloatArray, FloatArray, float]]
) -> FloatArray:
    """Return -H g for the L-BFGS inverse Hessian H of the stored (s, y, 1 / s'y) pairs.

    The two-loop recursion of Nocedal & Wright (algorithm 7.4), with the initial inverse
    Hessian s'y / y'y times the identity from the newest pair (their eq. 7.20).
    """
    q = gradient.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * float(s @ q)
        q -= alpha * y
        alphas.append(alpha)
    if pairs:
        s, y, rho = pairs[-1]
        q *= 1.0 / (rho * float(y @ y))
    for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
        q += (alpha - rho * float(y @ q)) * s
    return -q


def _minimize(objective: _Objective, start: FloatArray, max_iterations: int) -> _Run:
    """Minimize ``objective`` over the box [-_LOG_BOUND, _LOG_BOUND]^k by L-BFGS.

    The search direction comes from the last `_MEMORY` steps (`_direction`); a pair is kept
    only when the step shows positive curvature. Each line search starts from the full step
    (a step of one unit on the first iteration), cut short at the box, and backtracks by
    quadratic interpolation until the objective decreases enough (Armijo's condition); a
    coordinate at a bound that the direction would push outwards stays there.
    """
    x = np.clip(start, -_LOG_BOUND, _LOG_BOUND)
    f, gradient = objective(x)
    if not math.isfinite(f):
        return _Run(x, f, gradient, 0, False, False, "the objective is not finite at the start")
    pairs: list[tuple[FloatArray, FloatArray, float]] = []
    for iteration in range(1, max_iterations + 1):
        if float(np.max(np.abs(_projected(x, gradient)))) <= _GRADIENT_TOLERANCE:
            return _Run(x, f, gradient, iteration - 1, True, False, "CONVERGENCE: gradient")
        # Along -H g, without moves out through a bound; if that is no descent direction
        # (the curvature pairs mislead), start afresh from the projected steepest descent.
        direction = -_projected(x, -_direction(gradient, pairs))
        if not float(direction @ gradient) < 0.0:
            pairs.clear()
            direction = -_projected(x, gradient)
        room = np.where(direction > 0, _LOG_BOUND - x, -_LOG_BOUND - x)
        moving = direction != 0.0
        step = min(1.0, float(np.min(room[moving] / direction[moving], initial=np.inf)))
        if not pairs:  # no curvature known yet: a first step of at most one unit
            step = min(step, 1.0 / float(np.max(np.abs(direction))))
        slope = float(direction @ gradient)
        for _ in range(_MAX_BACKTRACKS):
            trial = np.clip(x + step * direction, -_LOG_BOUND, _LOG_BOUND)
            f_trial, g_trial = objective(trial)
            if math.isfinite(f_trial) and f_trial <= f + _SUFFICIENT_DECREASE * step * slope:
                break
            if math.isfinite(f_trial):
                curvature = f_trial - f - slope * step
                step = min(max(-slope * step * step / (2.0 * curvature), 0.1 * step), 0.5 * step)
            else:
                step *= 0.1
        else:
            message = "the line search found no decrease"
            return _Run(x, f, gradient, iteration, False, True, message)
        s_step, y_step = trial - x, g_trial - gradient
        reduction = (f - f_trial) / max(abs(f), abs(f_trial), 1.0)
        x, f, gradient = trial, f_trial, g_trial
        sy = float(s_step @ y_step)
        if sy > 1e-12 * float(np.linalg.norm(s_step) * np.linalg.norm(y_step)):
            pairs.append((s_step, y_step, 1.0 / sy))
            del pairs[:-_MEMORY]
        if reduction <= _REDUCTION_TOLERANCE:
            return _Run(x, f, gradient, iteration, True, False, "CONVERGENCE: relative reduction")
    return _Run(x, f, gradient, max_iterations, False, False, "the iteration limit was reached")


def maximize_likelihood(
    loglik: LogLikelihood,
    initial: Sequence[Sequence[float]] | FloatArray,
    *,
    names: Sequence[str],
    n_customers: int,
    total_weight: float,
    unit: str | None,
    penalizer: float = 0.0,
    max_iterations: int = 1000,
) -> tuple[FloatArray, FitResult]:
    """Maximize a weighted log-likelihood over positive parameters.

    Parameters
    ----------
    loglik : callable
        ``loglik(theta) -> (total, gradient)``: the weighted total log-likelihood and its
        gradient with respect to the natural parameters ``theta``.
    initial : sequence of parameter vectors
        Starting points (natural parameters); the best optimum reached wins.
    names : sequence of str
        Parameter names, in the order of ``theta``.
    n_customers : int
        Number of customers (for the result and the BIC).
    total_weight : float
        Sum of the weights; the objective is the mean over customers, so that tolerances do not
        depend on the size of the data.
    unit : str or None
        Recorded in the result.
    penalizer : float, default 0
        Coefficient of the L2 penalty ``penalizer * sum(theta**2)`` added to the mean negative
        log-likelihood.
    max_iterations : int, default 1000
        BFGS iteration limit per starting point.

    Returns
    -------
    theta : ndarray
        The estimates.
    result : FitResult

    Raises
    ------
    FitError
        When no starting point leads to finite estimates.

    Warns
    -----
    ConvergenceWarning
        When the best run stopped before converging, or stopped at the edge of the search box.
    """
    if penalizer < 0 or not math.isfinite(penalizer):
        raise ValueError(
            f"The 'penalizer' parameter of fit must be a finite number >= 0; got {penalizer!r} "
            "instead."
        )
    starts = np.atleast_2d(np.asarray(initial, dtype=np.float64))
    objective = _Objective(loglik, total_weight, penalizer)
    best: _Run | None = None
    iterations = 0
    for start in starts:
        if not (np.all(np.isfinite(start)) and np.all(start > 0)):
            raise ValueError(
                f"initial parameters must be finite and > 0; got {start.tolist()} instead."
            )
        run = _minimize(objective, np.log(start), max_iterations)
        iterations += run.nit
        if math.isfinite(run.fun) and (best is None or run.fun < best.fun):
            best = run
    if best is None or not np.all(np.isfinite(best.x)):
        raise FitError(
            "The fit found no finite maximum of the likelihood from any starting point. "
            "Try: checking the summary's unit and scale, passing `initial=` near plausible "
            "values, or a small `penalizer=` (e.g. 0.001) to keep parameters bounded."
        )
    theta = np.exp(best.x)
    ll = objective.seen[best.x.tobytes()]
    if not math.isfinite(ll):
        raise FitError(f"The log-likelihood at the estimates {theta.tolist()} is not finite.")
    converged = best.success
    message = best.message
    if not converged and best.stalled_at_optimum():
        converged = True
        message = "CONVERGENCE: the line search stalled at the optimum (negligible gradient)"
    at_edge = np.abs(best.x) >= _LOG_BOUND * (1 - 1e-9)
    if at_edge.any():
        converged = False
        message = (
            f"parameter(s) {[n for n, e in zip(names, at_edge, strict=True) if e]} reached the "
            "edge of the search box (1e-12 to 1e12); the model may be degenerate for this data"
        )
    if not converged:
        warnings.warn(
            f"The fit did not converge: {message}. Try a different `initial=`, a small "
            "`penalizer=`, or check that the data suit the model.",
            ConvergenceWarning,
            stacklevel=3,
        )
    covariance = _covariance(loglik, theta)
    std_errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    result = FitResult(
        parameters={n: float(v) for n, v in zip(names, theta, strict=True)},
        log_likelihood=float(ll),
        n_customers=int(n_customers),
        converged=converged,
        iterations=iterations,
        std_errors={n: float(s) for n, s in zip(names, std_errors, strict=True)},
        covariance=covariance,
        unit=unit,
        penalizer=float(penalizer),
        message=message,
    )
    return theta, result
