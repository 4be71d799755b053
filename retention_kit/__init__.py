"""retention_kit: customer retention metrics and buy-till-you-die models.

How many customers did we keep, how many did we lose, how often do they come back, when is each
one due to buy again, which of them are still "alive", and what is each one worth.

Examples
--------
>>> import retention_kit as rk
>>> tx = rk.datasets.load_cdnow()
>>> tx.n_customers
2357
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import datasets
from ._errors import ConvergenceWarning, FitError, InvalidDataError, SpendCorrelationWarning
from .checking import HoldoutReport, ModelComparison, compare_models, holdout_report
from .clv import customer_lifetime_value, residual_lifetime_value
from .cohorts import CohortTable, cohort_retention
from .cycle import PurchaseCycle, purchase_cycle
from .data import PeriodCounts, Transactions
from .metrics import (
    RetentionSeries,
    churn_rate,
    period_counts,
    purchase_frequency,
    repeat_purchase_rate,
    retention_rate,
    retention_series,
)
from .models._base import model_from_dict
from .models._mle import FitResult
from .models.bgbb import BGBB
from .models.bgnbd import BGNBD
from .models.gammagamma import GammaGamma
from .models.mbgnbd import MBGNBD
from .models.paretonbd import ParetoNBD
from .models.sbg import ShiftedBetaGeometric
from .revenue import RevenueSplit, revenue_by_cohort, revenue_by_period
from .scoring import lazy_summary, score
from .segments import SegmentComparison, Segmented, compare_segments
from .summarizing import CalibrationHoldout, calibration_holdout, summarize
from .summary import CustomerSummary, DiscreteSummary
from .tracking import TrackingCurve, tracking_curve
from .uncertainty import PredictionInterval, parameter_draws, prediction_interval
from .whatif import RetentionWhatIf, retention_whatif
from .winback import WinbackComparison, WinbackSchedule, compare_winback, winback_schedule

# rk.plotting is imported on first use: matplotlib is optional.
if TYPE_CHECKING:
    from . import plotting

__version__ = "0.1.0"

__all__ = [
    "BGBB",
    "BGNBD",
    "MBGNBD",
    "CalibrationHoldout",
    "CohortTable",
    "ConvergenceWarning",
    "CustomerSummary",
    "DiscreteSummary",
    "FitError",
    "FitResult",
    "GammaGamma",
    "HoldoutReport",
    "InvalidDataError",
    "ModelComparison",
    "ParetoNBD",
    "PeriodCounts",
    "PredictionInterval",
    "PurchaseCycle",
    "RetentionSeries",
    "RetentionWhatIf",
    "RevenueSplit",
    "SegmentComparison",
    "Segmented",
    "ShiftedBetaGeometric",
    "SpendCorrelationWarning",
    "TrackingCurve",
    "Transactions",
    "WinbackComparison",
    "WinbackSchedule",
    "__version__",
    "calibration_holdout",
    "churn_rate",
    "cohort_retention",
    "compare_models",
    "compare_segments",
    "compare_winback",
    "customer_lifetime_value",
    "datasets",
    "holdout_report",
    "lazy_summary",
    "model_from_dict",
    "parameter_draws",
    "period_counts",
    "plotting",
    "prediction_interval",
    "purchase_cycle",
    "purchase_frequency",
    "repeat_purchase_rate",
    "residual_lifetime_value",
    "retention_rate",
    "retention_series",
    "retention_whatif",
    "revenue_by_cohort",
    "revenue_by_period",
    "score",
    "summarize",
    "tracking_curve",
    "winback_schedule",
]


def __getattr__(name: str) -> Any:
    """Import ``rk.plotting`` when first used, so ``import retention_kit`` stays light."""
    if name == "plotting":
        import importlib

        return importlib.import_module(f"{__name__}.plotting")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
