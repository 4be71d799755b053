"""The retention report of the command line: computed once, rendered as text, JSON or HTML.

`build_report` runs the metrics and fits the models; `sections` lays the results out as
titled lines and tables that the text and HTML renderers share; `report_json` gives the same
numbers as plain JSON values.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from . import __version__
from ._errors import FitError, InvalidDataError
from ._typing import FloatArray, IntArray, Period
from .clv import customer_lifetime_value
from .cohorts import CohortTable, cohort_retention
from .cycle import PurchaseCycle, purchase_cycle
from .data import Transactions
from .metrics import RetentionSeries, purchase_frequency, repeat_purchase_rate, retention_series
from .models.bgnbd import BGNBD
from .models.gammagamma import GammaGamma
from .summarizing import summarize
from .summary import CustomerSummary

__all__ = [
    "Options",
    "Progress",
    "Report",
    "Section",
    "Table",
    "build_report",
    "rankings",
    "render_text",
    "report_json",
    "sections",
]

WEEKS_PER_MONTH = 365.25 / 12 / 7
"""An average calendar month in weeks, the discounting step of the CLV."""
_PERIOD_NAMES = {"D": "day", "W": "week", "M": "month"}
_RECENT_PERIODS = 6
_COHORTS_SHOWN = 12
_AGES_SHOWN = 7


@dataclass(frozen=True, slots=True)
class Options:
    """What the report computes: its period, activity window, CLV horizon and ranking size."""

    period: Period = "M"
    active_window: float = 90.0
    horizon: int = 12
    discount_rate: float = 0.01
    top: int = 10


class Progress:
    """One line per long step on ``stream`` ("step ... done in 1.2 s"), when enabled."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Announce ``label`` before the step and its duration after it."""
        if not self.enabled:
            yield
            return
        self.stream.write(f"retention-kit: {label} ...")
        self.stream.flush()
        began = time.perf_counter()
        yield
        self.stream.write(f" done in {time.perf_counter() - began:.1f} s\n")
        self.stream.flush()


@dataclass(slots=True)
class Report:
    """Everything the report shows, with the objects its plots are drawn from."""

    source: str
    tx: Transactions
    options: Options
    series: RetentionSeries
    cohorts: CohortTable
    cycle: PurchaseCycle
    overdue: int
    repeat_rate: float
    frequency: float
    summary: CustomerSummary
    bgnbd: BGNBD | None = None
    gamma_gamma: GammaGamma | None = None
    probability_alive: FloatArray | None = None
    expected_purchases: FloatArray | None = None
    clv: FloatArray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def horizon_weeks(self) -> float:
        """The CLV and forecast horizon in weeks (the models' unit)."""
        return self.options.horizon * WEEKS_PER_MONTH


def _fit(report: Report, name: str, fit: Any) -> Any:
    """Run ``fit()``; turn its warnings and a failure into notes of the report."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = fit()
        except (FitError, InvalidDataError) as error:
            report.notes.append(f"{name} not fitted: {error}")
            model = None
    report.notes.extend(f"{name}: {w.message}" for w in caught)
    return model


def _spend_and_value(report: Report, model: BGNBD) -> None:
    """Fit Gamma-Gamma on the customers it can take and value them all (NaN for the rest)."""
    summary = report.summary
    money = summary.monetary_value
    if money is None:
        report.notes.append("no amount column: no spend model and no customer lifetime value")
        return
    valid = (summary.frequency == 0) | (money > 0)
    if not valid.all():
        left_out = int((~valid).sum())
        who = (
            "customer whose repeat purchases all have"
            if left_out == 1
            else ("customers whose repeat purchases all have")
        )
        report.notes.append(
            f"{left_out:,} repeat {who} amount 0: left out of the spend model and the "
            "lifetime values"
        )
    rows = np.flatnonzero(valid)
    kept = summary.subset(rows)
    spend_model: GammaGamma | None = _fit(report, "Gamma-Gamma", lambda: GammaGamma.fit(kept))
    if spend_model is None:
        return
    report.gamma_gamma = spend_model
    value = np.full(len(summary), np.nan)
    value[rows] = customer_lifetime_value(
        model,
        spend_model,
        kept,
        horizon=report.options.horizon * WEEKS_PER_MONTH,
        step=WEEKS_PER_MONTH,
        discount_rate=report.options.discount_rate,
    )
    report.clv = value


def rankings(report: Report) -> tuple[IntArray, IntArray]:
    """Rows of the top repeat customers by P(alive), and of the top customers by CLV.

    P(alive) ties (common: every recent buyer is near 1) go to the larger expected purchases.
    Either is empty when its model is missing.
    """
    empty = np.zeros(0, dtype=np.int64)
    alive, expected, value = report.probability_alive, report.expected_purchases, report.clv
    if alive is None or expected is None:
        return empty, empty
    top = report.options.top
    repeat = np.flatnonzero(report.summary.frequency > 0)
    by_alive = repeat[np.lexsort((-expected[repeat], -alive[repeat]))][:top]
    if value is None:
        return by_alive, empty
    ranked = np.flatnonzero(np.isfinite(value))
    return by_alive, ranked[np.argsort(-value[ranked], kind="stable")][:top]


def build_report(
    tx: Transactions, source: str, options: Options, progress: Progress | None = None
) -> Report:
    """Compute the metrics and fit BG/NBD (and Gamma-Gamma when there are amounts)."""
    progress = progress if progress is not None else Progress(enabled=False)
    with progress.step("retention metrics"):
        series = retention_series(tx, freq=options.period, active_window=options.active_window)
        cohorts = cohort_retention(tx, freq=options.period)
        cycle = purchase_cycle(tx, period="D")
        report = Report(
            source=source,
            tx=tx,
            options=options,
            series=series,
            cohorts=cohorts,
            cycle=cycle,
            overdue=int(cycle.overdue(tx.end).size),
            repeat_rate=repeat_purchase_rate(tx),
            frequency=purchase_frequency(tx),
            summary=summarize(tx, period="D", unit="W"),
        )
    with progress.step("fitting BG/NBD"):
        model: BGNBD | None = _fit(report, "BG/NBD", lambda: BGNBD.fit(report.summary))
    if model is None:
        return report
    report.bgnbd = model
    with progress.step("scoring customers"):
        report.probability_alive = model.probability_alive(report.summary)
        report.expected_purchases = model.conditional_expected_purchases(
            report.horizon_weeks, report.summary
        )
    with progress.step("fitting Gamma-Gamma and valuing customers"):
        _spend_and_value(report, model)
    return report


# --- layout shared by the text and HTML renderers ---


@dataclass(frozen=True, slots=True)
class Table:
    """A header and rows of already formatted cells; the first column is a label."""

    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled block of lines and an optional table; ``plots`` names the HTML figures."""

    title: str
    lines: list[str] = field(default_factory=list)
    table: Table | None = None
    plots: tuple[str, ...] = ()


def _day(moment: Any) -> str:
    return str(np.datetime64(moment, "D"))


def _rate(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.1%}"


def _estimate(model: BGNBD | GammaGamma) -> str:
    errors = model.fit_result.std_errors if model.fit_result is not None else {}
    parts = []
    for name, value in model.parameters().items():
        error = errors.get(name, math.nan)
        shown = f" (se {error:.3g})" if math.isfinite(error) else ""
        parts.append(f"{name} = {value:.4g}{shown}")
    return ", ".join(parts)


def _period_section(report: Report) -> Section:
    series, name = report.series, _PERIOD_NAMES[report.options.period]
    window = f"active = bought in the last {report.options.active_window:g} days"
    if len(series) == 0:
        return Section(
            f"Retention by {name}",
            [f"The data span less than one complete {name}: no retention rate ({window})."],
        )
    last = series.counts(len(series) - 1)
    lines = [
        f"Last complete {name}, {series.period_start[-1]} to {series.period_end[-1]} ({window}):",
        f"active at start (B) {last.start:,}, at end (E) {last.end:,}, new (N) {last.new:,}, "
        f"reactivated {last.reactivated:,}",
        f"customer retention rate {_rate(series.retention_rate[-1])}, "
        f"churn {_rate(series.churn_rate[-1])}",
    ]
    recent = range(max(0, len(series) - _RECENT_PERIODS), len(series))
    rows = [
        [
            str(series.period_start[i]),
            f"{series.start[i]:,}",
            f"{series.end[i]:,}",
            f"{series.new[i]:,}",
            f"{series.reactivated[i]:,}",
            _rate(series.retention_rate[i]),
            _rate(series.churn_rate[i]),
        ]
        for i in recent
    ]
    header = [f"{name} from", "B", "E", "N", "reactivated", "retention", "churn"]
    return Section(
        f"Retention by {name}", lines, Table(header, rows), plots=("retention_over_time",)
    )


def _cohort_section(report: Report) -> Section:
    table, name = report.cohorts, _PERIOD_NAMES[report.options.period]
    ages = min(_AGES_SHOWN, table.rates.shape[1])
    first = max(0, len(table) - _COHORTS_SHOWN)
    label = "M" if table.freq == "M" else "D"
    rows = [
        [str(table.cohorts[i].astype(f"datetime64[{label}]")), f"{table.sizes[i]:,}"]
        + [_rate(r) for r in table.rates[i, :ages]]
        for i in range(first, len(table))
    ]
    lines = [f"Share of each cohort buying k {name}s after its first {name}:"]
    if first:
        lines.append(f"({first:,} earlier cohorts not shown)")
    header = ["cohort", "size"] + [f"k={k}" for k in range(ages)]
    title = {"D": "Daily", "W": "Weekly", "M": "Monthly"}[table.freq] + " cohorts"
    return Section(title, lines, Table(header, rows), plots=("cohort_heatmap",))


def _model_sections(report: Report) -> list[Section]:
    model, summary = report.bgnbd, report.summary
    if model is None or model.fit_result is None:
        return []
    months = report.options.horizon
    fit = model.fit_result
    lines = [
        f"fitted on {fit.n_customers:,} customers, time in weeks, to {_day(report.tx.end)}:",
        _estimate(model),
        f"log-likelihood {fit.log_likelihood:,.1f}; "
        + ("converged" if fit.converged else "did NOT converge"),
    ]
    out = [
        Section(
            "BG/NBD purchase model (Fader, Hardie & Lee 2005)",
            lines,
            plots=("probability_alive_matrix", "tracking_curve"),
        )
    ]
    spend = report.gamma_gamma
    if spend is not None and spend.fit_result is not None:
        out.append(
            Section(
                "Gamma-Gamma spend model (Fader, Hardie & Lee 2005)",
                [
                    f"fitted on the {spend.fit_result.n_customers:,} repeat customers:",
                    _estimate(spend),
                    f"expected spend per purchase of a new customer {spend.expected_spend():,.2f}",
                ],
            )
        )
    alive, expected = report.probability_alive, report.expected_purchases
    if alive is None or expected is None:
        return out
    ids = summary.customer_id if summary.customer_id is not None else np.arange(len(summary))
    last = report.cycle.last_purchase
    by_alive, by_value = rankings(report)
    rows = [
        [
            str(ids[i]),
            f"{int(summary.frequency[i]):,}",
            _day(last[i]),
            f"{alive[i]:.3f}",
            f"{expected[i]:.2f}",
        ]
        for i in by_alive
    ]
    out.append(
        Section(
            "Most likely still active",
            [
                "repeat customers by P(alive); under BG/NBD a one-time buyer's P(alive) is 1",
            ],
            Table(
                [
                    "customer",
                    "repeat purchases",
                    "last purchase",
                    "P(alive)",
                    f"purchases next {months} months",
                ],
                rows,
            ),
        )
    )
    if report.clv is not None:
        value = report.clv
        rows = [
            [
                str(ids[i]),
                f"{int(summary.frequency[i]):,}",
                f"{alive[i]:.3f}",
                f"{expected[i]:.2f}",
                f"{value[i]:,.2f}",
            ]
            for i in by_value
        ]
        out.append(
            Section(
                "Highest customer lifetime value",
                [
                    f"next {months} months, discounted {report.options.discount_rate:.2%} a "
                    f"month; total {np.nansum(value):,.0f} over "
                    f"{int(np.isfinite(value).sum()):,} customers",
                ],
                Table(
                    [
                        "customer",
                        "repeat purchases",
                        "P(alive)",
                        f"purchases next {months} months",
                        "CLV",
                    ],
                    rows,
                ),
            )
        )
    return out


def sections(report: Report) -> list[Section]:
    """Lay the report out as titled sections (the text and HTML renderers share them)."""
    tx, cycle = report.tx, report.cycle
    out = [
        Section(
            f"Retention report: {report.source}",
            [
                f"{len(tx):,} orders by {tx.n_customers:,} customers, "
                f"{_day(tx.start)} to {_day(tx.end)}"
                + ("" if tx.amount is not None else " (no amounts)")
            ],
        ),
        _period_section(report),
        Section(
            "Repeat purchases",
            [
                f"Repeat-purchase rate: {report.repeat_rate:.1%} of customers bought on 2+ days",
                f"Purchase frequency: {report.frequency:.2f} orders per customer",
            ],
        ),
        Section(
            "Purchase cycle (days between purchase days)",
            [
                f"median {cycle.median:g} (Kaplan-Meier, open gaps censored); "
                f"{cycle.naive_median:g} counting closed gaps only",
                f"overdue on {_day(tx.end)}: {report.overdue:,} customers, longer since their "
                "last purchase than their usual cycle",
            ],
            plots=("purchase_cycle_survival",),
        ),
        _cohort_section(report),
        *_model_sections(report),
    ]
    if report.notes:
        out.append(Section("Notes", [f"- {note}" for note in report.notes]))
    return out


def _table_lines(table: Table) -> list[str]:
    cells = [table.header, *table.rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(table.header))]
    return [
        "  ".join(
            cell.ljust(width) if j == 0 else cell.rjust(width)
            for j, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]


def render_text(parts: list[Section]) -> str:
    """Return the sections as plain text: titles flush left, everything else indented."""
    lines: list[str] = []
    for part in parts:
        lines.append(part.title)
        lines.extend(f"  {line}" for line in part.lines)
        if part.table is not None:
            lines.extend(f"  {line}" for line in _table_lines(part.table))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# --- JSON ---


def _number(value: Any) -> float | None:
    """Return a finite float, or None (JSON has no NaN or infinity)."""
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    """Return a numpy scalar as the Python value JSON writes (ids: int or str)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _number(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _model_json(model: BGNBD | GammaGamma | None) -> dict[str, Any] | None:
    if model is None or model.fit_result is None:
        return None
    fit = model.fit_result
    return {
        "parameters": model.parameters(),
        "std_errors": {k: _number(v) for k, v in fit.std_errors.items()},
        "log_likelihood": fit.log_likelihood,
        "n_customers": fit.n_customers,
        "converged": fit.converged,
        "unit": model.unit,
    }


def _customers(report: Report, order: IntArray) -> list[dict[str, Any]]:
    summary, alive, expected = report.summary, report.probability_alive, report.expected_purchases
    if alive is None or expected is None:
        return []
    ids = summary.customer_id if summary.customer_id is not None else np.arange(len(summary))
    return [
        {
            "customer_id": _plain(ids[i]),
            "frequency": int(summary.frequency[i]),
            "recency_weeks": float(summary.recency[i]),
            "T_weeks": float(summary.T[i]),
            "last_purchase": _day(report.cycle.last_purchase[i]),
            "probability_alive": float(alive[i]),
            "expected_purchases": float(expected[i]),
            "clv": None if report.clv is None else _number(report.clv[i]),
        }
        for i in order.tolist()
    ]


def report_json(report: Report) -> dict[str, Any]:
    """Return the report's numbers as a JSON-safe dict (None for undefined values)."""
    tx, series, cycle, options = report.tx, report.series, report.cycle, report.options
    periods = [
        {
            "period_start": str(series.period_start[i]),
            "period_end": str(series.period_end[i]),
            "active_at_start": int(series.start[i]),
            "active_at_end": int(series.end[i]),
            "new": int(series.new[i]),
            "reactivated": int(series.reactivated[i]),
            "retention_rate": _number(series.retention_rate[i]),
            "churn_rate": _number(series.churn_rate[i]),
        }
        for i in range(len(series))
    ]
    by_alive, by_value = rankings(report)
    top = {
        "probability_alive": _customers(report, by_alive),
        "clv": _customers(report, by_value),
    }
    return {
        "retention_kit": __version__,
        "source": {
            "name": report.source,
            "orders": len(tx),
            "customers": tx.n_customers,
            "first_order": _day(tx.start),
            "last_order": _day(tx.end),
            "has_amounts": tx.amount is not None,
        },
        "options": {
            "period": options.period,
            "active_window_days": options.active_window,
            "horizon_months": options.horizon,
            "discount_rate_per_month": options.discount_rate,
            "top": options.top,
        },
        "last_period": periods[-1] if periods else None,
        "periods": periods,
        "repeat_purchase_rate": report.repeat_rate,
        "purchase_frequency": report.frequency,
        "purchase_cycle": {
            "unit": "days",
            "median": _number(cycle.median),
            "naive_median": _number(cycle.naive_median),
            "overdue": report.overdue,
            "judged_on": _day(tx.end),
        },
        "cohorts": [
            {
                "cohort": str(report.cohorts.cohorts[i]),
                "size": int(report.cohorts.sizes[i]),
                "rates": [_number(r) for r in report.cohorts.rates[i]],
            }
            for i in range(len(report.cohorts))
        ],
        "bgnbd": _model_json(report.bgnbd),
        "gamma_gamma": _model_json(report.gamma_gamma),
        "top_customers": top,
        "notes": list(report.notes),
    }
