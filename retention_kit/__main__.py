"""``python -m retention_kit``: a plain-text retention report of the shipped CDNOW data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from .cohorts import cohort_retention
from .cycle import purchase_cycle
from .datasets import load_cdnow
from .metrics import (
    churn_rate,
    purchase_frequency,
    repeat_purchase_rate,
    retention_rate,
    retention_series,
)

__all__ = ["main"]

ACTIVE_WINDOW_DAYS = 90
COHORT_AGES_SHOWN = 7


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m retention_kit",
        description="Print a retention report of the CDNOW data shipped with retention_kit.",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="use the full cohort (23,570 customers) instead of the 1/10 sample",
    )
    return parser


def _report(full: bool) -> list[str]:
    tx = load_cdnow(sample=not full)
    name = "CDNOW full cohort" if full else "CDNOW 1/10 sample"
    lines = [
        f"Retention report: {name}",
        f"  {len(tx):,} orders by {tx.n_customers:,} customers, "
        f"{str(tx.start)[:10]} to {str(tx.end)[:10]}",
        "",
    ]
    series = retention_series(tx, freq="M", active_window=ACTIVE_WINDOW_DAYS)
    counts = series.counts(len(series) - 1)
    lines += [
        f"Last complete month, {series.period_start[-1]} to {series.period_end[-1]} "
        f"(active = bought in the last {ACTIVE_WINDOW_DAYS} days):",
        f"  active at start (B) {counts.start:,}, at end (E) {counts.end:,}, "
        f"new (N) {counts.new:,}, reactivated {counts.reactivated:,}",
        f"  customer retention rate {retention_rate(counts):.1%}, churn {churn_rate(counts):.1%}",
        "",
        f"Repeat-purchase rate: {repeat_purchase_rate(tx):.1%} of customers bought on 2+ days",
        f"Purchase frequency: {purchase_frequency(tx):.2f} orders per customer",
        "",
    ]
    cycle = purchase_cycle(tx, period="D")
    overdue = cycle.overdue(tx.end)
    lines += [
        "Purchase cycle (days between purchase days):",
        f"  median {cycle.median:g} (Kaplan-Meier, open gaps censored); "
        f"{cycle.naive_median:g} counting closed gaps only",
        f"  overdue on {str(tx.end)[:10]}: {overdue.size:,} customers, longer since their "
        "last purchase than their usual cycle",
        "",
    ]
    table = cohort_retention(tx, freq="M")
    ages = min(COHORT_AGES_SHOWN, table.rates.shape[1])
    lines.append("Monthly cohorts: share buying k months after their first month")
    lines.append("  cohort     size " + "".join(f"{f'k={k}':>7}" for k in range(ages)))
    for cohort, size, rates in zip(table.cohorts, table.sizes, table.rates, strict=True):
        cells = "".join("      -" if np.isnan(r) else f"{r:7.1%}" for r in rates[:ages])
        lines.append(f"  {str(cohort)[:7]}  {size:6,} {cells}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the retention report; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.

    Examples
    --------
    >>> from retention_kit.__main__ import main
    >>> main([])
    Retention report: CDNOW 1/10 sample
    ...
    0
    """
    args = _parser().parse_args(argv)
    print("\n".join(_report(args.full)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
