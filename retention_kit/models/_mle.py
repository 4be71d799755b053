"""The maximum-likelihood driver shared by every model.

A model hands the driver its weighted log-likelihood and analytic gradient as functions of its
natural (positive) parameters. The driver maximizes over log-parameters with L-BFGS-B from one
or more starting points, checks the answer is finite, and derives standard errors from a
symmetrised finite-difference Hessian of the analytic gradient.

Working on log-parameters makes a change of time unit a translation of the search space: a
time-scale parameter such as BG/NBD's alpha moves by log(c) when time is multiplied by c and
nothing else changes. Models therefore rescale time by choosing data-driven starting points in
the caller's unit (alpha near the mean customer age), which is exactly equivalent to fitting on
rescaled time and converting back, without a conversion step that could lose digits.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

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
    """Penalized mean negative log-likelihood over log-parameters, caching the last point."""

    loglik: LogLikelihood
    total_weight: float
    penalizer: float
    evaluations: int = 0
    last: dict[bytes, tuple[float, FloatArray]] = field(default_factory=dict)

    def __call__(self, log_params: FloatArray) -> tuple[float, FloatArray]:
        self.evaluations += 1
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = self.loglik(params)
        value = -ll / self.total_weight + self.penalizer * float(params @ params)
        gradient = (-grad / self.total_weight + 2.0 * self.penalizer * params) * params
        if not (math.isfinite(value) and np.all(np.isfinite(gradient))):
            # Steer L-BFGS-B away from regions where the likelihood under- or overflows.
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


def _stalled_at_optimum(run: optimize.OptimizeResult) -> bool:
    """Whether L-BFGS-B's line search failed at the optimum itself.

    Near the maximum the objective stops changing in float64, and the line search can end
    "ABNORMAL" (status 2) although the gradient is already negligible; such a run has converged.
    """
    gradient = np.asarray(run.jac, dtype=np.float64)
    return bool(
        run.status == 2
        and np.all(np.isfinite(gradient))
        and np.max(np.abs(gradient), initial=0.0) <= _STALL_GRADIENT
    )


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
        L-BFGS-B iteration limit per starting point.

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
    best: optimize.OptimizeResult | None = None
    iterations = 0
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(names)
    for start in starts:
        if not (np.all(np.isfinite(start)) and np.all(start > 0)):
            raise ValueError(
                f"initial parameters must be finite and > 0; got {start.tolist()} instead."
            )
        run = optimize.minimize(
            objective,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-10},
        )
        iterations += int(run.nit)
        if math.isfinite(run.fun) and (best is None or run.fun < best.fun):
            best = run
    if best is None or not np.all(np.isfinite(best.x)):
        raise FitError(
            "The fit found no finite maximum of the likelihood from any starting point. "
            "Try: checking the summary's unit and scale, passing `initial=` near plausible "
            "values, or a small `penalizer=` (e.g. 0.001) to keep parameters bounded."
        )
    theta = np.exp(best.x)
    ll, _ = loglik(theta)
    if not math.isfinite(ll):
        raise FitError(f"The log-likelihood at the estimates {theta.tolist()} is not finite.")
    converged = bool(best.success)
    message = str(best.message)
    if not converged and _stalled_at_optimum(best):
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
