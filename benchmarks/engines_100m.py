"""Summarize, fit and score a 100-million-row transaction log through DuckDB.

The rows never enter Python: DuckDB writes the synthetic log to Parquet with SQL, and
retention_kit reads it back as a DuckDB relation, so every grouping runs inside DuckDB and only
aggregates come back (the compressed summary, the retention counts, the cohort cells). Not
run in CI; from the repository root::

    python -m benchmarks.engines_100m                       # 100M rows, 10M customers
    python -m benchmarks.engines_100m --rows 10_000_000 --customers 2_000_000
    python -m benchmarks.engines_100m --json results.json --dir /data/rk

Each stage runs in a fresh interpreter and reports its wall time and the peak resident set
size of that whole process (``VmHWM``: DuckDB's memory included, since it runs in the process).

The log: each of the ``--rows`` orders goes to customer ``hash(i) mod customers``. Customer ``c``
is acquired on day ``hash(c) mod 365`` of 2023; half the customers stay active to the end of
2024, the others leave after a uniform number of days; each order falls at a uniformly drawn
second of its customer's active days, for an amount of 5 to 205. The summary is weekly
(``period="W"``): a few hundred thousand distinct (frequency, recency, T) rows, whatever the
number of customers, which is what makes fitting 10 million customers quick.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STAGES = ("generate", "summarize_fit", "metrics", "score")


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _connection(threads: int | None) -> Any:
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    return connection


def generate(path: Path, rows: int, customers: int, threads: int | None) -> dict[str, Any]:
    """Write the synthetic log to ``path`` (Parquet) with one SQL statement."""
    connection = _connection(threads)
    start = time.perf_counter()
    connection.execute(
        f"""
        COPY (
            WITH orders AS (
                SELECT i, CAST(hash(i) % {customers} AS BIGINT) AS customer_id
                FROM range({rows}) AS t(i)
            ), acquired AS (
                SELECT i, customer_id,
                       CAST(hash(customer_id * 7 + 3) % 365 AS BIGINT) AS acquired
                FROM orders
            ), active AS (
                -- half the customers stay to the end, the others leave after a uniform time
                SELECT i, customer_id, acquired,
                       CASE WHEN hash(customer_id * 13 + 1) % 2 = 0 THEN 731 - acquired
                            ELSE 1 + CAST(hash(customer_id * 11 + 5) % (731 - acquired)
                                          AS BIGINT)
                       END AS active_days
                FROM acquired
            )
            SELECT
                customer_id,
                TIMESTAMP '2023-01-01' + to_seconds(
                    acquired * 86400 + CAST(hash(i * 3 + 1) % (active_days * 86400) AS BIGINT)
                ) AS timestamp,
                5 + CAST(hash(i * 5 + 2) % 20001 AS DOUBLE) / 100 AS amount
            FROM active
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
        """
    )
    seconds = time.perf_counter() - start
    size = path.stat().st_size / 1e6
    return {"seconds": seconds, "parquet_mb": size}


def summarize_fit(path: Path, threads: int | None) -> dict[str, Any]:
    """Compressed weekly summary in DuckDB, then a BG/NBD fit on the distinct rows."""
    import retention_kit as rk

    log = _connection(threads).read_parquet(str(path))
    start = time.perf_counter()
    summary = rk.summarize(log, period="W", compress=True)
    summarized = time.perf_counter()
    model_class = getattr(rk, "BGNBD", None) or rk.MBGNBD
    model = model_class.fit(summary)
    fitted = time.perf_counter()
    assert model.fit_result is not None
    return {
        "summarize_seconds": summarized - start,
        "fit_seconds": fitted - summarized,
        "customers": summary.n_customers,
        "distinct_rows": len(summary),
        "model": repr(model),
        "converged": bool(model.fit_result.converged),
    }


def metrics(path: Path, threads: int | None) -> dict[str, Any]:
    """Monthly retention series, monthly cohort table and repeat-purchase rate in DuckDB."""
    import retention_kit as rk

    log = _connection(threads).read_parquet(str(path))
    out: dict[str, Any] = {}
    start = time.perf_counter()
    series = rk.retention_series(log, freq="M", active_window=90)
    out["retention_series_seconds"] = time.perf_counter() - start
    out["last_retention_rate"] = float(series.retention_rate[-1])
    start = time.perf_counter()
    table = rk.cohort_retention(log, freq="M")
    out["cohort_retention_seconds"] = time.perf_counter() - start
    out["cohorts"] = len(table)
    start = time.perf_counter()
    out["repeat_purchase_rate"] = rk.repeat_purchase_rate(log)
    out["repeat_purchase_rate_seconds"] = time.perf_counter() - start
    return out


def score(path: Path, threads: int | None) -> dict[str, Any]:
    """Lazy weekly summary and scores inside DuckDB; only their totals come back."""
    import retention_kit as rk

    connection = _connection(threads)
    log = connection.read_parquet(str(path))
    model_class = getattr(rk, "BGNBD", None) or rk.MBGNBD
    sample = connection.sql(f"SELECT * FROM read_parquet('{path}') WHERE customer_id < 100000")
    model = model_class.fit(rk.summarize(sample, period="W", compress=True))
    start = time.perf_counter()
    customers = rk.lazy_summary(log, period="W", amount="amount")
    scored = rk.score(
        model, customers, horizon=52.0, spend_model=20.0, discount_rate=0.01, step=4.0
    )
    ((n, alive, purchases, value),) = scored.aggregate(
        "count(*), avg(probability_alive), sum(expected_purchases), sum(clv)"
    ).fetchall()
    return {
        "seconds": time.perf_counter() - start,
        "customers": int(n),
        "mean_probability_alive": float(alive),
        "expected_purchases": float(purchases),
        "clv": float(value),
    }


def _run_stage(stage: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.engines_100m",
        "--stage",
        stage,
        "--rows",
        str(args.rows),
        "--customers",
        str(args.customers),
        "--dir",
        str(args.dir),
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/retention_kit_engines"))
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run only these stages")
    args = parser.parse_args(argv)
    path = args.dir / f"log_{args.rows}_{args.customers}.parquet"
    if args.stage:
        stages = {
            "generate": lambda: generate(path, args.rows, args.customers, args.threads),
            "summarize_fit": lambda: summarize_fit(path, args.threads),
            "metrics": lambda: metrics(path, args.threads),
            "score": lambda: score(path, args.threads),
        }
        result = stages[args.stage]()
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "rows": args.rows,
        "customers": args.customers,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
    }
    for stage in STAGES:
        if stage == "generate" and path.exists():
            continue
        if args.only and stage not in args.only:
            continue
        results[stage] = _run_stage(stage, args)
        print(stage, json.dumps(results[stage]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
