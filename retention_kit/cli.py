"""The ``retention-kit`` command (also ``python -m retention_kit``): a retention report.

``retention-kit report [PATH]`` reads a transaction export (CSV or Parquet), or the CDNOW data
shipped with the package when no path is given, and prints the period's retention and churn,
new and reactivated customers, repeat-purchase rate and purchase frequency, the purchase
cycle and the customers overdue, the fitted BG/NBD (and Gamma-Gamma when there are amounts)
with standard errors, and the top customers by P(alive) and by lifetime value. ``--json``
and ``--html`` write the same report as JSON or as one self-contained HTML page with plots.

Bad input ends the command with status 1 and a one-line reason on stderr; wrong usage with
status 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from . import __version__
from ._errors import InvalidDataError
from ._readers import READERS, describe_read_error, first_line, read_transactions
from ._report import Options, Progress, build_report, render_text, report_json, sections
from .data import Transactions
from .datasets import load_cdnow

__all__ = ["main"]

COMMANDS = ("report",)
PROGRESS_MIN_BYTES = 5_000_000
"""Inputs at least this large report their progress on stderr (when it is a terminal)."""
_DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".gz", ".parquet", ".pq")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t"}


class CommandError(Exception):
    """Bad input or options: the message is the one line printed before exiting with 1."""


def _number(kind: type[float] | type[int], low: float, *, inclusive: bool) -> Any:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (value >= low if inclusive else value > low) or value != value:
            raise argparse.ArgumentTypeError(
                f"must be {'>=' if inclusive else '>'} {low:g}: got {text}"
            )
        return value

    return parse


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Customer retention report of a transaction log (default command: report).",
    )
    parser.add_argument("--version", action="version", version=f"retention_kit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{report}")
    report = commands.add_parser(
        "report",
        help="print the retention report of a CSV or Parquet export (default: CDNOW data)",
        description="Print the retention report of a transaction export: one row per order "
        "with a customer id, a timestamp and optionally an amount. Without PATH, the CDNOW "
        "data shipped with retention_kit.",
    )
    report.add_argument("path", nargs="?", metavar="PATH", help="CSV (.csv, .csv.gz) or Parquet")
    data = report.add_argument_group("input")
    data.add_argument("--customer-id", metavar="COL", help="customer id column")
    data.add_argument("--timestamp", metavar="COL", help="order time or date column")
    amount = data.add_mutually_exclusive_group()
    amount.add_argument("--amount", metavar="COL", help="order value column")
    amount.add_argument("--no-amount", action="store_true", help="ignore any amount column")
    data.add_argument(
        "--timestamp-format",
        metavar="FMT",
        help="strptime format, e.g. %%d/%%m/%%Y (default: ISO)",
    )
    data.add_argument(
        "--delimiter", metavar="CHAR", help="CSV delimiter, or 'tab' (default: sniffed)"
    )
    data.add_argument(
        "--reader", choices=READERS, default="auto", help="CSV reader (default: fastest installed)"
    )
    data.add_argument(
        "--drop-negative",
        action="store_true",
        help="drop rows with a negative amount (returns) instead of refusing them",
    )
    data.add_argument(
        "--full", action="store_true", help="without PATH: the full CDNOW cohort (23,570)"
    )
    what = report.add_argument_group("report")
    what.add_argument(
        "--period", choices=("D", "W", "M"), default="M", help="retention period (default: M)"
    )
    what.add_argument(
        "--active-window",
        type=_number(float, 0, inclusive=False),
        default=90.0,
        metavar="DAYS",
        help="a customer is active if they bought in the last DAYS days (default: 90)",
    )
    what.add_argument(
        "--horizon",
        type=_number(int, 1, inclusive=True),
        default=12,
        metavar="MONTHS",
        help="forecast and lifetime-value horizon (default: 12)",
    )
    what.add_argument(
        "--discount-rate",
        type=_number(float, 0, inclusive=True),
        default=0.01,
        metavar="RATE",
        help="monthly discount rate of the lifetime value (default: 0.01)",
    )
    what.add_argument(
        "--top",
        type=_number(int, 1, inclusive=True),
        default=10,
        metavar="N",
        help="customers listed in each ranking (default: 10)",
    )
    out = report.add_argument_group("output")
    out.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the report as JSON to FILE, or to stdout instead of the text",
    )
    out.add_argument(
        "--html", metavar="FILE", help="write a self-contained HTML report with plots"
    )
    return parser


def _with_command(argv: list[str]) -> list[str]:
    """Put the default command in front when none is named."""
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version")):
        return argv
    return ["report", *argv]


def _check_target(target: str, option: str, source: Path | None) -> Path:
    path = Path(target)
    if source is not None and path.resolve() == source.resolve():
        raise CommandError(f"{option} {target} would overwrite the input file")
    if path.suffix.lower() in _DATA_SUFFIXES:
        raise CommandError(
            f"{option} {target}: refusing to write a report over a data file name; give the "
            f"input first (report PATH {option} FILE)"
        )
    if path.parent != Path() and not path.parent.is_dir():
        raise CommandError(f"{option} {target}: no such directory {path.parent}")
    return path


def _load(args: argparse.Namespace, progress: Progress) -> tuple[Transactions, str, str]:
    """Read the transactions; return them, the source's name and the columns used."""
    if args.path is None:
        name = "CDNOW full cohort" if args.full else "CDNOW 1/10 sample"
        return load_cdnow(sample=not args.full), name, ""
    path = Path(args.path)
    delimiter = _DELIMITER_NAMES.get(args.delimiter, args.delimiter)
    if delimiter is not None and len(delimiter) != 1:
        raise CommandError(f"--delimiter must be one character (or 'tab'); got {delimiter!r}")
    try:
        with progress.step(f"reading {path.name}"):
            tx, columns = read_transactions(
                path,
                customer_id=args.customer_id,
                timestamp=args.timestamp,
                amount=args.amount,
                timestamp_format=args.timestamp_format,
                delimiter=delimiter,
                reader=args.reader,
                negative_amounts="drop" if args.drop_negative else "raise",
            )
    except Exception as error:  # any reader's parse error, whatever its type
        raise CommandError(describe_read_error(error, path)) from None
    if args.no_amount and tx.amount is not None:
        tx = Transactions(tx.customer_id, tx.timestamp)
    used = f"customer id {columns.customer_id!r}, timestamp {columns.timestamp!r}, " + (
        f"amount {columns.amount!r}"
        if columns.amount is not None and not args.no_amount
        else "no amount"
    )
    return tx, path.name, used


def _progress_enabled(args: argparse.Namespace, stream: IO[str]) -> bool:
    if not stream.isatty() or args.path is None:
        return False
    try:
        return Path(args.path).stat().st_size >= PROGRESS_MIN_BYTES
    except OSError:
        return False


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.full and args.path is not None:
        parser.error("--full applies to the shipped CDNOW data: give it without PATH")
    if args.amount is not None and args.no_amount:
        parser.error("--amount and --no-amount exclude each other")
    source = Path(args.path) if args.path is not None else None
    json_target = None
    if args.json is not None and args.json != "-":
        json_target = _check_target(args.json, "--json", source)
    html_target = _check_target(args.html, "--html", source) if args.html else None
    if html_target is not None:
        try:
            import matplotlib  # noqa: F401  (fail before the work, not after it)
        except ImportError:
            raise CommandError(
                'the HTML report draws plots with matplotlib: pip install "retention_kit[plot]"'
            ) from None
    progress = Progress(_progress_enabled(args, sys.stderr))
    tx, name, used = _load(args, progress)
    options = Options(
        period=args.period,
        active_window=args.active_window,
        horizon=args.horizon,
        discount_rate=args.discount_rate,
        top=args.top,
    )
    report = build_report(tx, name, options, progress)
    if used:
        report.notes.insert(0, f"columns used: {used}")
    parts = sections(report)
    if args.json == "-":
        json.dump(report_json(report), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(parts))
    if json_target is not None:
        text = json.dumps(report_json(report), indent=2, allow_nan=False)
        json_target.write_text(text + "\n", encoding="utf-8")
    if html_target is not None:
        from ._html import render_html

        with progress.step("drawing the HTML report"):
            page = render_html(report, parts)
        html_target.write_text(page, encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = "retention-kit") -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``). Without a command,
        ``report`` is assumed, so ``retention-kit`` alone reports on the shipped CDNOW data.
    prog : str, default "retention-kit"
        The program name shown in help and error messages.

    Returns
    -------
    int
        0 on success, 1 for bad input (a one-line reason on stderr), 2 for wrong usage.

    Examples
    --------
    >>> from retention_kit.cli import main
    >>> main(["report", "--top", "3"])
    Retention report: CDNOW 1/10 sample
    ...
    0
    """
    parser = _parser(prog)
    args = parser.parse_args(_with_command(list(sys.argv[1:] if argv is None else argv)))
    try:
        return _run(args, parser)
    except CommandError as error:
        message = str(error)
    except (InvalidDataError, OSError, ImportError) as error:
        message = first_line(error)
    sys.stderr.write(f"{prog}: error: {message}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
