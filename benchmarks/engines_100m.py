"""Summarize, fit and score a 100-million-row transaction log through DuckDB.

The rows never enter Python: DuckDB writes the synthetic log to Parquet with SQL, and
retention_kit reads it back as a DuckDB relation, so every grouping runs inside DuckDB and only
aggregates come back (the compressed summary, the retention counts, the cohort cells). Not
run in CI; from the repository root::

    python -m benchmarks.engines_100m                       # 18.4M customers, ~100M rows
    python -m benchmarks.engines_100m --customers 1_000_000 # ~5.4M rows
    python -m benchmarks.engines_100m --json results.json --dir /data/rk

Each stage runs in a fresh interpreter and reports its wall time and the peak resident set
size of that whole process (``VmHWM``: DuckDB's memory included, since it runs in the process).

The log is drawn from the BG/NBD process itself, in SQL (`TRUE_PARAMETERS`, in weeks): each
customer is acquired on a uniform day of 2023 and observed to the end of 2024, buys again at a
gamma-distributed rate with exponential gaps, and after each repeat purchase drops out with a
beta-distributed probability; amounts are uniform from 5 to 205. The fit should recover the
true parameters. The summary is weekly (``period="W"``): a few hundred thousand distinct
(frequency, recency, T) rows, whatever the number of customers, which is what makes the fit
on 18 million customers quick.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Settings:
    """DuckDB's settings: threads, and the memory limit beyond which it spills to disk."""

    threads: int | None = None
    memory_limit: str | None = None


def _connection(settings: Settings) -> Any:
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    if settings.threads:
        connection.execute(f"SET threads = {int(settings.threads)}")
    if settings.memory_limit:
        connection.execute(f"SET memory_limit = '{settings.memory_limit}'")
    return connection


# True parameters of the synthetic log, in weeks: the BG/NBD process with integer shapes, so
# that SQL can draw it exactly (a Gamma(k) variable is a sum of k exponentials).
TRUE_PARAMETERS = {"r": 2.0, "alpha": 10.0, "a": 2.0, "b": 6.0}


def _uniform(key: str) -> str:
    """SQL for a uniform draw in (0, 1) from the hash of the integer ``key``.

    One integer per draw: DuckDB's ``hash(x, y)`` of several values mixes them so weakly that
    ``hash(c, 2)`` and ``hash(c, 3)`` are correlated at 0.998.
    """
    return f"((hash({key}) % 9007199254740992) + 0.5) / 9007199254740992"


def _exponentials(*streams: int) -> str:
    """SQL for a sum of independent standard exponentials of the customer ``c``: a Gamma."""
    return " + ".join(f"-ln({_uniform(f'c * 16 + {k}')})" for k in streams)


def generate(path: Path, customers: int, settings: Settings) -> dict[str, Any]:
    """Write the synthetic log to ``path`` (Parquet) with one SQL statement."""
    r, alpha, a, b = (TRUE_PARAMETERS[name] for name in ("r", "alpha", "a", "b"))
    assert all(float(v).is_integer() for v in (r, a, b))
    connection = _connection(settings)
    start = time.perf_counter()
    connection.execute(
        f"""
        COPY (
            WITH customers AS (
                SELECT c,
                    CAST(floor({_uniform("c * 16 + 1")} * 365) AS BIGINT) AS acquired,
                    ({_exponentials(*range(2, 2 + int(r)))}) / {alpha} AS rate,
                    ({_exponentials(*range(4, 4 + int(a)))}) AS x,
                    ({_exponentials(*range(6, 6 + int(b)))}) AS y,
                    {_uniform("c * 16 + 12")} AS u
                FROM range({customers}) AS t(c)
            ), lifetimes AS (
                -- drops out after repeat purchase j with probability p = x / (x + y)
                SELECT c, acquired, rate,
                       LEAST(1 + CAST(floor(ln(u) / ln(y / (x + y))) AS BIGINT), 1000) AS j
                FROM customers
            ), purchases AS (
                SELECT c, acquired, rate, unnest(range(0, j + 1)) AS k FROM lifetimes
            ), timed AS (
                -- exponential gaps at the customer's rate (per week), from the acquisition
                SELECT c, k, acquired * 86400 + sum(
                        CASE WHEN k = 0 THEN 0
                             ELSE -ln({_uniform("(c * 1024 + k) * 16 + 13")}) / rate * 604800
                        END
                    ) OVER (PARTITION BY c ORDER BY k) AS second
                FROM purchases
            )
            SELECT c AS customer_id,
                   TIMESTAMP '2023-01-01' + to_seconds(CAST(floor(second) AS BIGINT))
                       AS timestamp,
                   round(5 + 200 * {_uniform("(c * 1024 + k) * 16 + 14")}, 2) AS amount
            FROM timed
            WHERE second < 731 * 86400
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
        """
    )
    seconds = time.perf_counter() - start
    (rows,) = connection.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0]
    return {"seconds": seconds, "rows": int(rows), "parquet_mb": path.stat().st_size / 1e6}


def summarize_fit(path: Path, settings: Settings) -> dict[str, Any]:
    """Compressed weekly summary in DuckDB, then a BG/NBD fit on the distinct rows."""
    import retention_kit as rk

    log = _connection(settings).read_parquet(str(path))
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
        "parameters": model.parameters(),
        "true_parameters": TRUE_PARAMETERS,
        "converged": bool(model.fit_result.converged),
    }


def metrics(path: Path, settings: Settings) -> dict[str, Any]:
    """Monthly retention series, monthly cohort table and repeat-purchase rate in DuckDB."""
    import retention_kit as rk

    log = _connection(settings).read_parquet(str(path))
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


def score(path: Path, settings: Settings, customers: int) -> dict[str, Any]:
    """Lazy weekly summary and scores inside DuckDB; only their totals come back."""
    import retention_kit as rk

    connection = _connection(settings)
    log = connection.read_parquet(str(path))
    model_class = getattr(rk, "BGNBD", None) or rk.MBGNBD
    sample = connection.sql(f"SELECT * FROM read_parquet('{path}') WHERE customer_id < 100000")
    model = model_class.fit(rk.summarize(sample, period="W", compress=True))
    start = time.perf_counter()
    summary = rk.lazy_summary(log, period="W", amount="amount")
    scored = rk.score(
        model,
        summary.filter(f"customer_id < {customers}"),  # a DuckDB filter, pushed down
        horizon=52.0,
        spend_model=20.0,
        discount_rate=0.01,
        step=4.0,
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
        "--customers",
        str(args.customers),
        "--dir",
        str(args.dir),
        "--score-customers",
        str(args.score_customers),
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.memory_limit:
        command += ["--memory-limit", args.memory_limit]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=18_400_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/retention_kit_engines"))
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--memory-limit", help="DuckDB's memory limit, e.g. 2GB (it spills)")
    parser.add_argument(
        "--score-customers",
        type=int,
        default=2_000_000,
        help="score the customers with smaller ids (default: 2M, about 4 minutes on 2 cores)",
    )
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run only these stages")
    args = parser.parse_args(argv)
    settings = Settings(args.threads, args.memory_limit)
    path = args.dir / f"bgnbd_log_{args.customers}.parquet"
    if args.stage:
        stages = {
            "generate": lambda: generate(path, args.customers, settings),
            "summarize_fit": lambda: summarize_fit(path, settings),
            "metrics": lambda: metrics(path, settings),
            "score": lambda: score(path, settings, args.score_customers),
        }
        result = stages[args.stage]()
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
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
