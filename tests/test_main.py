"""``python -m retention_kit``: the plain-text report, run as a user would."""

from __future__ import annotations

import re
import subprocess
import sys

import retention_kit as rk
from retention_kit.__main__ import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retention_kit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_prints_the_metrics_of_the_sample():
    result = run()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    tx = rk.datasets.load_cdnow()
    series = rk.retention_series(tx, active_window=90)
    counts = series.counts(len(series) - 1)
    assert out.startswith("Retention report: CDNOW 1/10 sample\n")
    assert "6,919 orders by 2,357 customers, 1997-01-01 to 1998-06-30" in out
    assert "1998-05-01 to 1998-06-01" in out
    assert f"active at start (B) {counts.start}, at end (E) {counts.end}" in out
    assert f"reactivated {counts.reactivated}" in out
    assert f"customer retention rate {rk.retention_rate(counts):.1%}" in out
    assert f"churn {rk.churn_rate(counts):.1%}" in out
    assert f"Repeat-purchase rate: {rk.repeat_purchase_rate(tx):.1%}" in out
    assert f"Purchase frequency: {rk.purchase_frequency(tx):.2f}" in out
    cycle = rk.purchase_cycle(tx)
    assert f"median {cycle.median:g} (Kaplan-Meier" in out
    assert f"{cycle.overdue(tx.end).size:,} customers" in out
    assert re.search(r"\n  1997-01 +781 +100\.0% +15\.9%", out)
    assert "BG/NBD purchase model" in out
    assert len(out.splitlines()) < 80


def test_full_cohort_option():
    result = run("--full")
    assert result.returncode == 0, result.stderr
    assert "69,659 orders by 23,570 customers" in result.stdout
    assert re.search(r"\n  1997-01 +7,846 +100\.0%", result.stdout)


def test_help_and_unknown_arguments():
    assert run("--help").returncode == 0
    bad = run("--bogus")
    assert bad.returncode == 2
    assert "unrecognized arguments: --bogus" in bad.stderr


def test_main_returns_zero(capsys):
    assert main([]) == 0
    assert "Monthly cohorts" in capsys.readouterr().out
