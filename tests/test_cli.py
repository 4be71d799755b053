"""The retention-kit command: shipped data, other exports, bad input, JSON and HTML output."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import transactions

import retention_kit as rk
from retention_kit import _readers, cli

ROOT = Path(__file__).parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retention_kit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def write_csv(path: Path, header: list[str], columns: list[np.ndarray], delimiter=",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(zip(*(c.tolist() for c in columns), strict=True))
    return path


@pytest.fixture(scope="module")
def cdnow() -> rk.Transactions:
    return rk.datasets.load_cdnow()


@pytest.fixture(scope="module")
def shipped_json() -> dict:
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", buffer)
        assert cli.main(["report", "--json"]) == 0
    return json.loads(buffer.getvalue())


@pytest.fixture(scope="module")
def renamed_csv(tmp_path_factory, cdnow) -> Path:
    """The CDNOW sample as a shop's export: other column names, dates as ISO strings."""
    days = cdnow.timestamp.astype("datetime64[D]").astype(str)
    path = tmp_path_factory.mktemp("export") / "orders.csv"
    return write_csv(
        path, ["Client", "Order Date", "Revenue"], [cdnow.customer_id, days, cdnow.amount]
    )


def in_process(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def same_numbers(a: dict, b: dict) -> None:
    for key in (
        "last_period",
        "periods",
        "repeat_purchase_rate",
        "purchase_frequency",
        "purchase_cycle",
        "cohorts",
        "bgnbd",
        "gamma_gamma",
        "top_customers",
    ):
        assert a[key] == b[key], key
    assert a["source"]["orders"] == b["source"]["orders"]


# --- the shipped data ---


def test_no_arguments_reports_the_shipped_data(cdnow):
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("Retention report: CDNOW 1/10 sample\n")
    series = rk.retention_series(cdnow, freq="M", active_window=90)
    counts = series.counts(-1)
    assert f"active at start (B) {counts.start}, at end (E) {counts.end}" in out
    assert f"customer retention rate {rk.retention_rate(counts):.1%}" in out
    summary = rk.summarize(cdnow, period="D", unit="W")
    model = rk.BGNBD.fit(summary)
    errors = model.fit_result.std_errors
    assert f"r = {model.r:.4g} (se {errors['r']:.3g})" in out
    assert "Gamma-Gamma spend model" in out
    alive = model.probability_alive(summary)
    best = np.flatnonzero(summary.frequency > 0)[
        np.argmax(alive[summary.frequency > 0])
    ]  # the top of the P(alive) ranking
    ranking = out.split("Most likely still active", 1)[1].splitlines()
    assert ranking[3].split()[0] == str(summary.customer_id[best])


def test_report_command_and_module_agree(capsys):
    status, out, _ = in_process(capsys, "report")
    assert status == 0
    assert cli.main([]) == 0
    assert capsys.readouterr().out == out


def test_json_numbers_are_the_library_numbers(shipped_json, cdnow):
    data = shipped_json
    series = rk.retention_series(cdnow, freq="M", active_window=90)
    last = data["last_period"]
    assert last["period_start"] == "1998-05-01"
    assert last["active_at_start"] == series.start[-1]
    assert last["retention_rate"] == pytest.approx(series.retention_rate[-1], rel=1e-15)
    assert data["repeat_purchase_rate"] == rk.repeat_purchase_rate(cdnow)
    cycle = rk.purchase_cycle(cdnow)
    assert data["purchase_cycle"]["median"] == cycle.median == 93
    assert data["purchase_cycle"]["overdue"] == cycle.overdue(cdnow.end).size
    assert data["cohorts"][0]["size"] == 781
    assert set(data["bgnbd"]["std_errors"]) == {"r", "alpha", "a", "b"}
    assert len(data["top_customers"]["clv"]) == 10
    values = [row["clv"] for row in data["top_customers"]["clv"]]
    assert values == sorted(values, reverse=True)
    assert data["source"] == {
        "name": "CDNOW 1/10 sample",
        "orders": 6919,
        "customers": 2357,
        "first_order": "1997-01-01",
        "last_order": "1998-06-30",
        "has_amounts": True,
    }


def test_options_change_the_report(capsys):
    status, out, _ = in_process(
        capsys, "--json", "--period", "W", "--active-window", "30", "--horizon", "6", "--top", "3"
    )
    assert status == 0
    data = json.loads(out)
    assert data["options"]["period"] == "W"
    assert len(data["top_customers"]["probability_alive"]) == 3
    assert data["last_period"]["period_start"] == "1998-06-22"  # a Monday
    cdnow = rk.datasets.load_cdnow()
    series = rk.retention_series(cdnow, freq="W", active_window=30)
    assert data["last_period"]["active_at_end"] == series.end[-1]


def test_horizon_and_discount_enter_the_clv(capsys, cdnow):
    _, out, _ = in_process(capsys, "--json", "--horizon", "6", "--discount-rate", "0")
    top = json.loads(out)["top_customers"]["clv"][0]
    summary = rk.summarize(cdnow, period="D", unit="W")
    model = rk.BGNBD.fit(summary)
    spend = rk.GammaGamma.fit(summary)
    row = summary.subset(np.flatnonzero(summary.customer_id == top["customer_id"]))
    # Undiscounted, the value is expected purchases over the horizon times expected spend.
    weeks = 6 * 365.25 / 12 / 7
    expected = model.conditional_expected_purchases(weeks, row) * spend.conditional_expected_spend(
        row
    )
    assert top["clv"] == pytest.approx(expected[0], rel=1e-9)
    assert top["expected_purchases"] == pytest.approx(
        model.conditional_expected_purchases(weeks, row)[0], rel=1e-12
    )


# --- other exports ---


def test_csv_with_other_column_names(capsys, renamed_csv, shipped_json):
    status, out, err = in_process(capsys, "report", str(renamed_csv), "--json")
    assert status == 0, err
    data = json.loads(out)
    same_numbers(data, shipped_json)
    assert data["source"]["name"] == "orders.csv"
    assert data["notes"][0] == (
        "columns used: customer id 'Client', timestamp 'Order Date', amount 'Revenue'"
    )


def test_named_columns_format_and_delimiter(capsys, tmp_path, cdnow, shipped_json):
    days = cdnow.timestamp.astype("datetime64[D]").astype(object)
    text_days = np.array([d.strftime("%d/%m/%Y") for d in days])
    path = write_csv(
        tmp_path / "export.txt.csv",
        ["who", "when", "paid", "channel"],
        [cdnow.customer_id, text_days, cdnow.amount, np.full(len(cdnow), "web")],
        delimiter=";",
    )
    args = ["--customer-id", "who", "--timestamp", "when", "--amount", "paid", "--json"]
    status, out, err = in_process(
        capsys, "report", str(path), *args, "--timestamp-format", "%d/%m/%Y"
    )
    assert status == 0, err
    same_numbers(json.loads(out), shipped_json)


@pytest.mark.parametrize("reader", ["csv", "pyarrow", "pandas"])
def test_every_reader_gives_the_same_report(capsys, renamed_csv, shipped_json, reader):
    status, out, err = in_process(capsys, str(renamed_csv), "--json", "--reader", reader)
    assert status == 0, err
    same_numbers(json.loads(out), shipped_json)


def test_core_install_reads_csv_with_the_standard_library(
    capsys, monkeypatch, renamed_csv, shipped_json
):
    monkeypatch.setattr(_readers, "_installed", lambda name: False)
    assert _readers._pick_reader(renamed_csv, "auto") == "csv"
    status, out, _ = in_process(capsys, str(renamed_csv), "--json")
    assert status == 0
    same_numbers(json.loads(out), shipped_json)


def test_parquet(capsys, tmp_path, renamed_csv, shipped_json, monkeypatch):
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    path = tmp_path / "orders.parquet"
    pq.write_table(pa_csv.read_csv(renamed_csv), path)
    for reader in ("auto", "pyarrow", "polars"):
        status, out, err = in_process(capsys, str(path), "--json", "--reader", reader)
        assert status == 0, err
        same_numbers(json.loads(out), shipped_json)
    status, _, err = in_process(capsys, str(path), "--reader", "csv")
    assert status == 1
    assert "cannot read Parquet" in err
    monkeypatch.setattr(_readers, "_installed", lambda name: False)
    status, _, err = in_process(capsys, str(path))
    assert status == 1
    assert err.strip().endswith("reading Parquet needs pyarrow or polars: pip install pyarrow")


def test_export_without_amounts(capsys, tmp_path, cdnow):
    path = write_csv(
        tmp_path / "visits.csv",
        ["customer_id", "timestamp"],
        [cdnow.customer_id, cdnow.timestamp.astype("datetime64[D]").astype(str)],
    )
    status, out, _ = in_process(capsys, str(path))
    assert status == 0
    assert "(no amounts)" in out
    assert "BG/NBD purchase model" in out
    assert "Gamma-Gamma" not in out
    assert "Highest customer lifetime value" not in out
    assert "no amount column: no spend model and no customer lifetime value" in out
    status, out, _ = in_process(capsys, str(path), "--json")
    assert json.loads(out)["top_customers"]["clv"] == []


def test_no_amount_option_ignores_the_column(capsys, renamed_csv):
    status, out, _ = in_process(capsys, str(renamed_csv), "--no-amount", "--json")
    data = json.loads(out)
    assert status == 0
    assert data["gamma_gamma"] is None
    assert data["source"]["has_amounts"] is False


def test_returns_refused_or_dropped(capsys, tmp_path):
    path = tmp_path / "returns.csv"
    path.write_text(
        "customer_id,timestamp,amount\n1,2024-01-01,10\n1,2024-02-01,-10\n2,2024-01-05,5\n"
        "1,2024-03-01,12\n2,2024-04-01,7\n3,2024-02-11,3\n"
    )
    status, out, err = in_process(capsys, str(path))
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "`amount` must be >= 0: 1 of 6 rows break it (first: row 1, amount=-10.0)" in err
    status, out, _ = in_process(capsys, str(path), "--drop-negative")
    assert status == 0
    assert "5 orders by 3 customers" in out


def test_time_zones_and_gzip_with_the_standard_library(capsys, tmp_path):
    import gzip

    rows = "customer_id,timestamp\na,2024-01-01T23:30:00-02:00\nb,2024-01-02T00:30:00Z\n"
    path = tmp_path / "aware.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(rows)
    tx, columns = _readers.read_transactions(path, reader="csv")
    assert columns.amount is None
    assert tx.timestamp.tolist() == [
        np.datetime64("2024-01-02T01:30:00", "us").item(),
        np.datetime64("2024-01-02T00:30:00", "us").item(),
    ]
    assert tx.customer_id.tolist() == ["a", "b"]


# --- bad input: one line on stderr, status 1, never a traceback ---


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: no header line"),
        (b"customer_id,timestamp\n", "has a header but no rows"),
        (b"customer_id,timestamp\n1,2024-01-01\n2\n", "line 3 of bad.csv has 1 fields"),
        (b"customer_id,timestamp\n1,yesterday\n", "`timestamp` must parse as dates"),
        (b"customer_id,timestamp,amount\n1,2024-01-01,ten\n", "`amount` must be numeric"),
        (b"customer_id,timestamp\n,2024-01-01\n", "`customer_id` must not be missing"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "bad.csv"),
    ],
)
@pytest.mark.parametrize("reader", ["csv", "auto"])
def test_malformed_files(capsys, tmp_path, content, message, reader):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    status, out, err = in_process(capsys, str(path), "--reader", reader)
    assert status == 1
    assert out == ""
    assert err.startswith("retention-kit: error: ")
    assert err.count("\n") == 1, err
    if reader == "csv" or message == "bad.csv":
        assert message in err


def test_malformed_file_in_a_subprocess(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("customer_id,timestamp\n1,2024-01-01\n2,2024-13-45\n")
    result = run("report", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("python -m retention_kit: error: ")
    assert result.stderr.count("\n") == 1


def test_missing_columns_list_the_columns_found(capsys, tmp_path):
    path = write_csv(
        tmp_path / "x.csv", ["who", "when"], [np.array([1, 2]), np.array(["2024-01-01"] * 2)]
    )
    status, _, err = in_process(capsys, str(path))
    assert status == 1
    assert err == (
        "retention-kit: error: no customer_id column in x.csv: columns found: ['who', "
        "'when']; name the columns with --customer-id, --timestamp and --amount\n"
    )
    status, _, err = in_process(capsys, str(path), "--customer-id", "who")
    assert "no timestamp column in x.csv" in err
    status, _, err = in_process(
        capsys, str(path), "--customer-id", "who", "--timestamp", "when", "--amount", "paid"
    )
    assert status == 1
    assert "column 'paid' (given with --amount) is not in x.csv; columns found: ['who', " in err


def test_missing_file_and_directory(capsys, tmp_path):
    status, _, err = in_process(capsys, str(tmp_path / "nope.csv"))
    assert status == 1
    assert err.strip().endswith("nope.csv: no such file")
    status, _, err = in_process(capsys, str(tmp_path))
    assert status == 1
    assert "is a directory" in err


def test_reader_not_installed(capsys, monkeypatch, renamed_csv):
    monkeypatch.setattr(_readers, "_installed", lambda name: name != "polars")
    status, _, err = in_process(capsys, str(renamed_csv), "--reader", "polars")
    assert status == 1
    assert "--reader polars needs polars: pip install polars" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--horizon", "0"],
        ["--active-window", "-5"],
        ["--discount-rate", "x"],
        ["--period", "Q"],
        ["--top", "0"],
        ["data.csv", "--full"],
        ["--amount", "a", "--no-amount"],
    ],
)
def test_usage_errors_exit_2(capsys, args):
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    assert stop.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_json_target_must_not_look_like_data(capsys, renamed_csv, tmp_path):
    # ``--json PATH`` would take the export's name: refuse to write over it.
    status, _, err = in_process(capsys, "report", "--json", str(renamed_csv))
    assert status == 1
    assert "refusing to write a report over a data file name" in err
    status, _, err = in_process(capsys, str(renamed_csv), "--html", str(tmp_path / "x" / "r.html"))
    assert status == 1
    assert "no such directory" in err


# --- output files ---


@pytest.mark.slow
def test_json_and_html_files(tmp_path, renamed_csv):
    json_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    result = run(str(renamed_csv), "--json", str(json_path), "--html", str(html_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Retention report: orders.csv\n")  # text still printed
    data = json.loads(json_path.read_text())
    assert data["source"]["customers"] == 2357
    page = html_path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img alt="[^"]+" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == 5
    for image in images:
        assert base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<h1>Retention report: orders.csv</h1>" in page
    assert "<th>P(alive)</th>" in page


def test_html_escapes_the_data(capsys, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(
        "customer_id,timestamp,amount\n<b>x</b>,2024-01-01,5\n<b>x</b>,2024-02-03,7\n"
        "y&z,2024-01-09,4\ny&z,2024-03-01,4\ny&z,2024-05-01,9\nw,2024-04-01,3\n"
    )
    target = tmp_path / "odd.html"
    status, _, err = in_process(capsys, str(path), "--html", str(target))
    assert status == 0, err
    page = target.read_text()
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert re.search(r'<img alt="cohort heatmap" src="data:image/png;base64,[A-Za-z0-9+/]', page)


def test_html_without_matplotlib(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, out, err = in_process(capsys, "--html", str(tmp_path / "r.html"))
    assert status == 1
    assert out == ""  # refused before any work
    assert 'pip install "retention_kit[plot]"' in err
    assert not (tmp_path / "r.html").exists()


def test_progress_on_a_terminal(monkeypatch, capsys, renamed_csv):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 0)
    assert cli.main([str(renamed_csv)]) == 0
    steps = terminal.getvalue().splitlines()
    assert steps[0].startswith("retention-kit: reading orders.csv ... done in ")
    assert any(s.startswith("retention-kit: fitting BG/NBD ... done in ") for s in steps)
    # Not a terminal: silent.
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli.main([str(renamed_csv)]) == 0
    assert sys.stderr.getvalue() == ""


def test_console_script_entry_point():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = meta["project"]["scripts"]["retention-kit"]
    module, name = target.split(":")
    assert (module, name) == ("retention_kit.cli", "main")
    assert getattr(__import__(module, fromlist=[name]), name) is cli.main


# --- the readers ---


def test_resolve_columns_aliases_and_exact_names():
    found = ["Order ID", "CustomerID", "InvoiceDate", "Quantity", "Price"]
    columns = _readers.resolve_columns(
        found, customer_id=None, timestamp=None, amount=None, source="x"
    )
    assert columns == _readers.Columns("CustomerID", "InvoiceDate", "Price")
    with pytest.raises(rk.InvalidDataError, match="must differ"):
        _readers.resolve_columns(
            ["id", "date"], customer_id="id", timestamp="date", amount="id", source="x"
        )


def test_delimiter_option(capsys, tmp_path):
    path = tmp_path / "tabs.tsv"
    path.write_text("customer_id\ttimestamp\n1\t2024-01-01\n1\t2024-02-01\n2\t2024-01-09\n")
    for name in ("tab", "\\t", "\t"):
        status, out, err = in_process(capsys, str(path), "--delimiter", name)
        assert status == 0, err
        assert "3 orders by 2 customers" in out
    status, _, err = in_process(capsys, str(path), "--delimiter", ";;")
    assert status == 1
    assert "--delimiter must be one character" in err


def test_sniffed_delimiters(tmp_path):
    for delimiter in (",", ";", "\t", "|"):
        path = tmp_path / "d.csv"
        path.write_text(delimiter.join(["a", "b", "c"]) + "\n1,2\n")
        assert _readers.sniff_delimiter(path) == delimiter


@settings(max_examples=30)
@given(transactions(max_customers=6, max_rows=25))
def test_csv_round_trip_any_log(tmp_path_factory, log):
    path = tmp_path_factory.mktemp("roundtrip") / "log.csv"
    stamps = np.datetime_as_string(log.timestamp, unit="s")
    write_csv(path, ["customer_id", "timestamp", "amount"], [log.customer_id, stamps, log.amount])
    for reader in ("csv", "polars"):
        tx, _ = _readers.read_transactions(path, reader=reader)
        assert tx.customer_id.tolist() == log.customer_id.tolist()
        assert np.array_equal(tx.timestamp.astype("datetime64[s]"), log.timestamp)
        np.testing.assert_array_equal(tx.amount, log.amount)
