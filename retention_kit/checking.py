"""Model checking: how well a fitted purchase model forecasts a holdout and fits its data.

`holdout_report` checks a model against a calibration/holdout split (forecast errors, the
holdout purchases by calibration frequency, a chi-square test of the calibration frequency
histogram, log-likelihood, AIC and BIC); `compare_models` puts several models' checks in one
table. These are the checks of Fader, Hardie & Lee (2005), figures 3 and 4; the tracking
curve of their Figure 2 is `retention_kit.tracking.tracking_curve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ._errors import InvalidDataError
from ._typing import FloatArray, IntArray
from ._validation import check_rows, readonly
from .models._base import Model
from .models.bgbb import BGBB
from .summarizing import CalibrationHoldout
from .summary import CustomerSummary, DiscreteSummary

__all__ = [
    "HoldoutReport",
    "ModelComparison",
    "compare_models",
    "holdout_report",
]

_BLOCK = 1 << 20
"""Largest number of model evaluations held at once (8 MB of float64)."""

_IMPOSSIBLE = 1e-12
"""Expected share of the customers below which a frequency bin counts as impossible."""

_METHODS = ("conditional_expected_purchases", "probability_of_purchases", "log_likelihood")


# --- the model and its data -------------------------------------------------------------------


def _purchase_model(model: object, caller: str) -> Model:
    """Return ``model`` when it forecasts purchase counts; raise a clear error otherwise."""
    if not isinstance(model, Model) or not all(hasattr(model, name) for name in _METHODS):
        raise InvalidDataError(
            f"{caller} needs a model of repeat purchases (BGNBD, ParetoNBD, MBGNBD, or BGBB on "
            f"discrete data); got {type(model).__name__}, which has no "
            "conditional_expected_purchases and probability_of_purchases",
            field="model",
        )
    return model


def _as_discrete(summary: CustomerSummary, holdout_duration: float) -> DiscreteSummary:
    """Return the calibration summary as transaction opportunities, one per unit of time.

    A summary made with ``period`` equal to ``unit`` (``period="W", unit="W"`` or
    ``period="D", unit="D"``) counts whole periods: x purchase periods among the t_x and T
    periods after the first, exactly the x, t_x and n of the discrete-time models.
    """
    whole = (summary.recency == np.floor(summary.recency)) & (np.floor(summary.T) == summary.T)
    check_rows(
        whole,
        "recency",
        "must be a whole number of periods, as must `T`, for a discrete-time model (BGBB)",
        {"recency": summary.recency, "T": summary.T},
        hint="Summarize with period equal to unit (e.g. period='W', unit='W') so that each "
        "unit of time is one transaction opportunity",
    )
    if holdout_duration != math.floor(holdout_duration):
        raise InvalidDataError(
            "'holdout_duration' must be a whole number of periods for a discrete-time model "
            f"(BGBB); got {holdout_duration!r}",
            field="holdout_duration",
        )
    return DiscreteSummary(
        frequency=summary.frequency,
        recency=summary.recency,
        n_periods=summary.T,
        weight=summary.weight,
    )


def _model_data(model: Model, calibration: CustomerSummary, duration: float) -> Any:
    """Return the calibration summary in the form the model takes."""
    if isinstance(model, BGBB):
        return _as_discrete(calibration, duration)
    return calibration


def _max_frequency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidDataError(
            f"The 'max_frequency' parameter must be an integer >= 1; got {value!r} instead.",
            field="max_frequency",
        )
    return int(value)


def _bin_means(
    bins: IntArray, values: FloatArray, weights: FloatArray, counts: FloatArray
) -> FloatArray:
    """Weighted mean of ``values`` per bin; NaN for an empty bin."""
    totals = np.bincount(bins, weights=weights * values, minlength=counts.size)
    means = np.full(counts.size, np.nan)
    np.divide(totals, counts, out=means, where=counts > 0)
    return means


def _expected_histogram(model: Any, ages: FloatArray, weights: FloatArray, top: int) -> FloatArray:
    """Return the expected customers with x = 0, ..., top - 1 and x >= top.

    Each is a sum over customers of P(X(T_i) = k), the last of P(X(T_i) >= top).

    The model's pmf is evaluated once per distinct age, in blocks that bound memory.
    """
    distinct, inverse = np.unique(ages, return_inverse=True)
    per_age = np.bincount(inverse.reshape(-1), weights=weights, minlength=distinct.size)
    counts = np.arange(top, dtype=np.float64)[:, None]
    expected = np.zeros(top + 1)
    block = max(1, _BLOCK // top)
    for start in range(0, distinct.size, block):
        stop = min(start + block, distinct.size)
        pmf = np.asarray(
            model.probability_of_purchases(counts, distinct[None, start:stop]), dtype=np.float64
        )
        weight = per_age[start:stop]
        expected[:top] += pmf @ weight
        # The pooled bin x >= top: what the other bins leave of each customer's probability.
        expected[top] += float(np.clip(1.0 - pmf.sum(axis=0), 0.0, 1.0) @ weight)
    return expected


@dataclass(frozen=True, slots=True)
class _ChiSquare:
    statistic: float
    degrees_of_freedom: int
    p_value: float


def _chi_square(
    observed: FloatArray, expected: FloatArray, n_parameters: int, top: int
) -> _ChiSquare:
    """Pearson's chi-square over the bins the model gives a positive expected count.

    A bin the model makes impossible (an expected count of 0 up to round-off: for a
    discrete-time model, more transactions than opportunities) carries no information when it
    is empty too, and is left out of the statistic and the degrees of freedom; when it is not
    empty the statistic is infinite (and the p-value 0).
    """
    possible = expected > _IMPOSSIBLE * expected.sum()
    used = possible | (observed > 0)
    dof = int(used.sum()) - 1 - n_parameters
    if dof < 1:
        raise InvalidDataError(
            f"The chi-square test needs at least one degree of freedom: {int(used.sum())} "
            f"frequency bins - 1 - {n_parameters} parameters = {dof}. Raise 'max_frequency' "
            f"(got {top}) to at least {top + 1 - dof}.",
            field="max_frequency",
        )
    with np.errstate(divide="ignore"):
        terms = np.where(
            possible, (observed - expected) ** 2 / np.where(possible, expected, 1.0), np.inf
        )
    terms[~used] = 0.0
    statistic = float(terms.sum())
    return _ChiSquare(statistic, dof, float(special.chdtrc(dof, statistic)))


# --- holdout report ---------------------------------------------------------------------------


def _labels(top: int) -> list[str]:
    return [str(k) for k in range(top)] + [f"{top}+"]


@dataclass(frozen=True, slots=True, eq=False)
class HoldoutReport:
    """How a fitted purchase model forecasts a holdout window and fits its calibration data.

    Attributes
    ----------
    model : str
        The model's class name.
    n_customers : int
        Customers in the calibration summary (the sum of its weights).
    n_parameters : int
        k, the model's number of parameters.
    holdout_duration : float
        t*, the length of the holdout window, in the calibration summary's unit.
    mae, rmse : float
        Mean absolute and root mean squared error, over customers, of the expected holdout
        purchases E[Y(t*) | x, t_x, T] against the actual holdout frequency x*.
    max_frequency : int
        K: the bins are x = 0, ..., K - 1 and the pooled bin x >= K.
    frequency : ndarray of int
        The bins' lower ends 0, 1, ..., K (the last bin pools x >= K).
    customers : ndarray
        The number of calibration customers in each bin (the observed histogram of x).
    expected_customers : ndarray
        The model's expected number in each bin, sum_i P(X(T_i) = k) (the pooled bin
        sum_i P(X(T_i) >= K)); the bins sum to ``n_customers``.
    actual_holdout : ndarray
        Mean actual holdout purchases of each bin's customers (NaN for an empty bin).
    expected_holdout : ndarray
        Mean expected holdout purchases of each bin's customers (NaN for an empty bin).
    chi_square : float
        Pearson's statistic sum_k (O_k - E_k)^2 / E_k over the bins.
    degrees_of_freedom : int
        Bins - 1 - k (empty bins that the model makes impossible, such as more transactions
        than opportunities for `BGBB`, are not counted).
    p_value : float
        P(chi-square with these degrees of freedom > ``chi_square``).
    log_likelihood : float
        The weighted total log-likelihood of the calibration summary.
    aic, bic : float
        2k - 2 LL and k log(n) - 2 LL, with n = ``n_customers``.

    See Also
    --------
    holdout_report : compute one.
    compare_models : several models' reports in one table.

    Examples
    --------
    >>> import retention_kit as rk
    >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", period="D", unit="W")
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> report = rk.holdout_report(model, data)
    >>> report.to_frame("pandas").columns.tolist()
    ['frequency', 'customers', 'expected_customers', 'actual_holdout', 'expected_holdout']
    """

    model: str
    n_customers: int
    n_parameters: int
    holdout_duration: float
    mae: float
    rmse: float
    max_frequency: int
    frequency: IntArray
    customers: FloatArray
    expected_customers: FloatArray
    actual_holdout: FloatArray
    expected_holdout: FloatArray
    chi_square: float
    degrees_of_freedom: int
    p_value: float
    log_likelihood: float
    aic: float
    bic: float

    def __post_init__(self) -> None:
        for name in (
            "frequency",
            "customers",
            "expected_customers",
            "actual_holdout",
            "expected_holdout",
        ):
            object.__setattr__(self, name, readonly(np.array(getattr(self, name))))

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the table by calibration frequency as a dataframe of the given backend.

        Columns: ``frequency`` (the bin's label, ``"7+"`` for the pooled bin), ``customers``,
        ``expected_customers``, ``actual_holdout`` and ``expected_holdout``.

        Examples
        --------
        >>> import retention_kit as rk
        >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(),
        ...                               calibration_end="1997-09-30",
        ...                               observation_end="1998-06-30", unit="W")
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> frame = rk.holdout_report(model, data, max_frequency=5).to_frame("pandas")
        >>> frame["frequency"].tolist()
        ['0', '1', '2', '3', '4', '5+']
        """
        import narwhals as nw

        data = {
            "frequency": np.array(_labels(self.max_frequency)),
            "customers": self.customers,
            "expected_customers": self.expected_customers,
            "actual_holdout": self.actual_holdout,
            "expected_holdout": self.expected_holdout,
        }
        return nw.from_dict(data, backend=backend).to_native()


def holdout_report(
    model: Any, calibration_holdout: CalibrationHoldout, *, max_frequency: int = 7
) -> HoldoutReport:
    r"""Check a fitted purchase model on a calibration/holdout split.

    Parameters
    ----------
    model : BGNBD, ParetoNBD, MBGNBD or BGBB
        Fitted (or built) in the unit of ``calibration_holdout``, usually on its
        ``calibration`` summary. A `BGBB` takes the calibration as transaction opportunities,
        one per unit of time: its recency, T and the holdout duration must be whole numbers
        (a summary made with ``period`` equal to ``unit``).
    calibration_holdout : CalibrationHoldout
        From `retention_kit.calibration_holdout`.
    max_frequency : int, default 7
        K, the first calibration frequency pooled into the last bin ("K+"); >= 1, and large
        enough for the chi-square test to keep a degree of freedom (K >= k + 1 for a model of
        k parameters).

    Returns
    -------
    HoldoutReport

    Raises
    ------
    InvalidDataError
        When ``model`` is not a model of repeat purchases (a spend or contractual model),
        ``calibration_holdout`` is not a `CalibrationHoldout` or has no customers,
        ``max_frequency`` is out of range, the data are not discrete for a `BGBB`, or the
        model refuses the summary (another time unit).

    Notes
    -----
    - **Forecast errors**: with E_i = E[Y(t*) | x_i, t_x,i, T_i] (Fader, Hardie & Lee 2005,
      eq. 10 for BG/NBD) and x*_i the actual holdout frequency, ``MAE = mean |x*_i - E_i|``
      and ``RMSE = sqrt(mean (x*_i - E_i)^2)``, weighted by the summary's weights.
    - **Holdout by calibration frequency** (their Figure 4): the mean of x*_i and of E_i over
      the customers with x_i = k, for k < K, and x_i >= K.
    - **Calibration fit** (their Figure 3): the expected number of customers with x = k is
      E_k = sum_i P(X(T_i) = k), from the model's ``probability_of_purchases`` at each
      customer's own age T_i, and the pooled bin gets the rest, so the bins sum to the
      number of customers. Pearson's statistic sum_k (O_k - E_k)^2 / E_k is compared with a
      chi-square of (bins - 1 - k) degrees of freedom, k parameters having been estimated from
      the same data. The approximation wants expected counts of about 5 or more in each bin:
      lower ``max_frequency`` for small data. The parameters come from the individual data,
      not from the binned counts, so the statistic's null distribution lies between the
      chi-square of bins - 1 - k and of bins - 1 degrees of freedom (Chernoff & Lehmann
      1954): the p-value errs on the low side, a strict check.
    - **Information criteria**: LL is the weighted total log-likelihood of the calibration
      summary at the model's parameters (for a model fitted on it, its
      ``fit_result.log_likelihood``), AIC = 2k - 2 LL, BIC = k log(n) - 2 LL.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy Way:
       An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.
    .. [2] H. Chernoff and E. L. Lehmann, "The Use of Maximum Likelihood Estimates in
       chi-square Tests for Goodness of Fit", Annals of Mathematical Statistics 25(3),
       579-586, 1954.

    Examples
    --------
    The BG/NBD forecast check of Fader, Hardie & Lee (2005) on CDNOW (their Figure 4):

    >>> import retention_kit as rk
    >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", period="D", unit="W")
    >>> report = rk.holdout_report(rk.BGNBD.fit(data.calibration), data)
    >>> round(report.log_likelihood, 1), round(report.aic, 1), round(report.bic, 1)
    (-9582.4, 19172.9, 19195.9)
    >>> report.actual_holdout.round(2)
    array([0.24, 0.7 , 1.39, 1.56, 2.53, 2.95, 3.86, 6.36])
    >>> report.expected_holdout.round(2)
    array([0.23, 0.52, 1.04, 1.52, 2.16, 2.65, 3.5 , 6.16])
    >>> round(report.mae, 3), round(report.rmse, 3)
    (0.785, 1.608)
    >>> round(report.chi_square, 2), report.degrees_of_freedom, round(report.p_value, 3)
    (4.82, 3, 0.185)
    """
    purchases = _purchase_model(model, "holdout_report")
    if not isinstance(calibration_holdout, CalibrationHoldout):
        raise InvalidDataError(
            "'calibration_holdout' must be a CalibrationHoldout (from "
            f"rk.calibration_holdout); got {type(calibration_holdout).__name__}",
            field="calibration_holdout",
        )
    top = _max_frequency(max_frequency)
    calibration = calibration_holdout.calibration
    if len(calibration) == 0:
        raise InvalidDataError(
            "'calibration_holdout' must hold at least one customer: got 0 rows",
            field="calibration_holdout",
        )
    duration = calibration_holdout.holdout_duration
    data = _model_data(purchases, calibration, duration)
    weights = calibration.weights()
    total = float(weights.sum())

    expected = np.asarray(
        purchases.conditional_expected_purchases(duration, data),  # type: ignore[attr-defined]
        dtype=np.float64,
    )
    error = calibration_holdout.holdout_frequency - expected
    mae = float(weights @ np.abs(error)) / total
    rmse = math.sqrt(float(weights @ error**2) / total)

    bins = np.minimum(calibration.frequency, top).astype(np.intp)
    customers = np.bincount(bins, weights=weights, minlength=top + 1).astype(np.float64)
    actual_holdout = _bin_means(bins, calibration_holdout.holdout_frequency, weights, customers)
    expected_holdout = _bin_means(bins, expected, weights, customers)

    k = len(purchases.parameter_names)
    expected_customers = _expected_histogram(purchases, calibration.T, weights, top)
    test = _chi_square(customers, expected_customers, k, top)

    row_log_likelihood = np.asarray(
        purchases.log_likelihood(data),  # type: ignore[attr-defined]
        dtype=np.float64,
    )
    log_likelihood = float(weights @ row_log_likelihood)
    n = calibration.n_customers
    return HoldoutReport(
        model=type(purchases).__name__,
        n_customers=n,
        n_parameters=k,
        holdout_duration=duration,
        mae=mae,
        rmse=rmse,
        max_frequency=top,
        frequency=np.arange(top + 1),
        customers=customers,
        expected_customers=expected_customers,
        actual_holdout=actual_holdout,
        expected_holdout=expected_holdout,
        chi_square=test.statistic,
        degrees_of_freedom=test.degrees_of_freedom,
        p_value=test.p_value,
        log_likelihood=log_likelihood,
        aic=2.0 * k - 2.0 * log_likelihood,
        bic=k * math.log(n) - 2.0 * log_likelihood,
    )


# --- model comparison -------------------------------------------------------------------------


_COMPARED = (
    "log_likelihood",
    "n_parameters",
    "aic",
    "bic",
    "mae",
    "rmse",
    "chi_square",
    "degrees_of_freedom",
    "p_value",
)


@dataclass(frozen=True, slots=True, eq=False)
class ModelComparison:
    """Several models checked on the same calibration/holdout data, one row per model.

    Attributes
    ----------
    name : ndarray of str
        The models' names (the keys given to `compare_models`).
    log_likelihood, aic, bic : ndarray
        Of each model on the calibration summary (see `HoldoutReport`).
    n_parameters : ndarray of int
        k of each model.
    mae, rmse : ndarray
        Forecast errors of the holdout purchases, per customer.
    chi_square, p_value : ndarray
        The chi-square test of the calibration frequency histogram.
    degrees_of_freedom : ndarray of int
        Of each model's chi-square test.

    See Also
    --------
    compare_models : compute one.

    Examples
    --------
    >>> import retention_kit as rk
    >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", unit="W")
    >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> table = rk.compare_models({"BG/NBD": model}, data)
    >>> table.to_frame("pandas").columns.tolist()[:5]
    ['model', 'log_likelihood', 'n_parameters', 'aic', 'bic']
    """

    name: NDArray[np.str_]
    log_likelihood: FloatArray
    n_parameters: IntArray
    aic: FloatArray
    bic: FloatArray
    mae: FloatArray
    rmse: FloatArray
    chi_square: FloatArray
    degrees_of_freedom: IntArray
    p_value: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", readonly(np.array(self.name, dtype=np.str_)))
        for column in _COMPARED:
            values = np.array(getattr(self, column))
            if values.shape != self.name.shape:
                raise InvalidDataError(
                    f"`{column}` must hold one value per model ({self.name.size}); got shape "
                    f"{values.shape}",
                    field=column,
                )
            object.__setattr__(self, column, readonly(values))

    def __len__(self) -> int:
        return int(self.name.size)

    def to_frame(self, backend: Literal["pandas", "polars", "pyarrow"] = "pandas") -> Any:
        """Return the table as a dataframe: a ``model`` column and one column per measure.

        Examples
        --------
        >>> import retention_kit as rk
        >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(),
        ...                               calibration_end="1997-09-30",
        ...                               observation_end="1998-06-30", unit="W")
        >>> model = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
        >>> rk.compare_models({"BG/NBD": model}, data).to_frame("pandas").shape
        (1, 10)
        """
        import narwhals as nw

        data: dict[str, Any] = {"model": self.name}
        data.update({column: getattr(self, column) for column in _COMPARED})
        return nw.from_dict(data, backend=backend).to_native()


def compare_models(
    models: dict[str, Any], calibration_holdout: CalibrationHoldout, *, max_frequency: int = 7
) -> ModelComparison:
    """Check several fitted purchase models on the same data and tabulate the results.

    Parameters
    ----------
    models : dict of str to model
        Names and fitted models (BGNBD, ParetoNBD, MBGNBD, or BGBB on discrete data), each
        in the unit of ``calibration_holdout``.
    calibration_holdout : CalibrationHoldout
        From `retention_kit.calibration_holdout`.
    max_frequency : int, default 7
        As in `holdout_report`: the first calibration frequency pooled in the chi-square test.

    Returns
    -------
    ModelComparison
        One row per model, in the order of ``models``.

    Raises
    ------
    InvalidDataError
        When ``models`` is empty or not a dict of named models, and whatever
        `holdout_report` raises for one of them.

    Notes
    -----
    Each row is the `holdout_report` of one model. Lower AIC and BIC, lower forecast errors
    and a higher chi-square p-value are better; log-likelihoods and information criteria are
    comparable because every model is scored on the same calibration summary.

    Examples
    --------
    >>> import retention_kit as rk
    >>> data = rk.calibration_holdout(rk.datasets.load_cdnow(), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", unit="W")
    >>> bgnbd = rk.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> mbgnbd = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    >>> table = rk.compare_models({"BG/NBD": bgnbd, "MBG/NBD": mbgnbd}, data)
    >>> table.name.tolist(), table.log_likelihood.round(1).tolist()
    (['BG/NBD', 'MBG/NBD'], [-9582.4, -9582.1])
    """
    if not isinstance(models, dict) or not models:
        raise InvalidDataError(
            "'models' must be a non-empty dict of names to fitted models; got "
            f"{type(models).__name__}" + (" (empty)" if isinstance(models, dict) else ""),
            field="models",
        )
    names = list(models)
    for name in names:
        if not isinstance(name, str):
            raise InvalidDataError(
                f"'models' must be keyed by names (str); got key {name!r}", field="models"
            )
    reports = [
        holdout_report(model, calibration_holdout, max_frequency=max_frequency)
        for model in models.values()
    ]
    columns = {column: [getattr(r, column) for r in reports] for column in _COMPARED}
    return ModelComparison(
        name=np.array(names, dtype=np.str_),
        log_likelihood=np.array(columns["log_likelihood"], dtype=np.float64),
        n_parameters=np.array(columns["n_parameters"], dtype=np.int64),
        aic=np.array(columns["aic"], dtype=np.float64),
        bic=np.array(columns["bic"], dtype=np.float64),
        mae=np.array(columns["mae"], dtype=np.float64),
        rmse=np.array(columns["rmse"], dtype=np.float64),
        chi_square=np.array(columns["chi_square"], dtype=np.float64),
        degrees_of_freedom=np.array(columns["degrees_of_freedom"], dtype=np.int64),
        p_value=np.array(columns["p_value"], dtype=np.float64),
    )
