"""The command-line report as one self-contained HTML file, its plots embedded as PNG."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._report import Report, Section
from .tracking import tracking_curve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["render_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2rem 0.7rem; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.8rem 0; }
footer { margin-top: 3rem; color: #777; font-size: 0.85rem; }
"""


def _plotters(report: Report) -> dict[str, Callable[[Axes], Any]]:
    """How to draw each plot a section may name (matplotlib is imported by the caller)."""
    from . import plotting

    drawers: dict[str, Callable[[Axes], Any]] = {
        "cohort_heatmap": lambda ax: plotting.cohort_heatmap(report.cohorts, ax=ax),
        "purchase_cycle_survival": lambda ax: plotting.purchase_cycle_survival(
            report.cycle, ax=ax
        ),
    }
    if len(report.series):
        drawers["retention_over_time"] = lambda ax: plotting.retention_over_time(
            report.series, ax=ax
        )
    model = report.bgnbd
    if model is not None:
        summary = report.summary
        age = max(1.0, float(np.round(np.median(summary.T))))
        top = int(np.clip(np.quantile(summary.frequency, 0.99), 5, 40))
        drawers["probability_alive_matrix"] = lambda ax: plotting.probability_alive_matrix(
            model, T=age, max_frequency=top, ax=ax
        )
        # The model saw every purchase: "calibration" runs to the last day. Customers
        # acquired on that day have no repeat purchase and expect none, so tracking the
        # ones acquired before it loses nothing.
        tx = report.tx
        before_last_day = tx.end.astype("datetime64[D]") - np.timedelta64(1, "us")
        if before_last_day >= tx.start:
            curve = tracking_curve(model, tx, calibration_end=before_last_day, freq="D")
            drawers["tracking_curve"] = lambda ax: plotting.tracking_curve(curve, ax=ax)
    return drawers


def _png(draw: Callable[[Axes], Any]) -> str:
    """Draw on a new figure (not managed by pyplot) and return it as base64 PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), layout="constrained")
    draw(figure.subplots())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report, parts: list[Section]) -> str:
    """Return the report as an HTML page with every plot embedded as a base64 PNG.

    Raises
    ------
    ImportError
        When matplotlib is not installed (naming the ``plot`` extra).
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(
            'the HTML report draws plots with matplotlib: pip install "retention_kit[plot]"'
        ) from error
    drawers = _plotters(report)
    body = []
    for i, part in enumerate(parts):
        tag = "h1" if i == 0 else "h2"
        body.append(f"<{tag}>{html.escape(part.title)}</{tag}>")
        body.extend(f"<p>{html.escape(line)}</p>" for line in part.lines)
        if part.table is not None:
            body.append(_table(part.table.header, part.table.rows))
        for name in part.plots:
            if name in drawers:
                alt = html.escape(name.replace("_", " "))
                body.append(f'<img alt="{alt}" src="data:image/png;base64,{_png(drawers[name])}">')
    title = html.escape(parts[0].title if parts else "Retention report")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n<footer>Made with retention_kit.</footer>\n</body></html>\n"
    )
