"""Time retention_kit against its peers on the same data; print a markdown table.

Usage (from the repository root)::

    python -m benchmarks                  # the full suite (about 10 minutes on 2 cores)
    python -m benchmarks --quick          # small sizes, under a minute
    python -m benchmarks --only 'bgnbd*' --json out.json
    python -m benchmarks --list           # the case names

Measurements
------------
* Wall time: ``time.perf_counter`` around each call, all libraries in this one process on the
  same inputs; the median over the runs is reported. CPU time (``time.process_time``, all
  threads; for a fresh process its user + system time) is reported beside it: a busy machine
  disturbs it less. retention_kit runs at least twice (to check that its answer is
  deterministic) and up to 5 times (3 with ``--quick``), each peer up to 3 (2) times, within
  a time budget, so a peer that takes minutes runs once. The first run is counted (nothing
  is warmed up for either side).
* Memory (at full scale, or with ``--memory``): the extra peak resident set size of the call,
  measured in a fresh interpreter per case and library: the worker imports the library, loads
  the inputs, resets the kernel's high-water mark (``/proc/self/clear_refs``), then reports
  ``VmHWM - VmRSS`` across one call. This counts every allocation (numpy, pandas hash
  tables, Python objects), unlike tracemalloc, which misses memory not allocated through
  Python's allocators. A call slower than 30 s is not run again for this (``--memory-all``
  measures it too). For the fresh-process pipeline it is the peak RSS (VmHWM) of that whole
  process.
* Agreement: the largest relative difference ``|a - b| / max(|a|, |b|, 1e-12)`` between
  retention_kit's answer and the peer's (fitted parameters; predictions per customer; summary
  columns per customer). A difference above the case's tolerance is flagged, and its speed-up
  does not count. For fits, ``dLL`` is retention_kit's total log-likelihood at its own
  estimates minus that at the peer's, both computed by retention_kit (>= 0: not a worse
  optimum); lifetimes reports a mean log-likelihood on rescaled time, which is not comparable.
  A peer that maximizes another objective (pymc-marketing's MAP with its default priors,
  `Case.other_objective`) agrees only if its parameters do.
* Peers: lifetimes always; clvkit and pymc-marketing where importable (the ``bench`` extra),
  their rows left out otherwise (`cases.OPTIONAL_PEERS`).
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import cases as C  # noqa: N812

REPEATS = {"tiny": (2, 1), "quick": (3, 2), "full": (5, 3)}  # (retention_kit, peers)
BUDGET_SECONDS = {C.RK: 20.0, "peer": 8.0}
FLOOR = 1e-12
MEMORY_MAX_SECONDS = 30.0  # a slower call is not run again just to measure its memory
LL_SLACK = 1e-9  # relative: log-likelihoods this close are the same optimum in floating point
FLAT_SLACK = 1e-7  # relative: a peer this close in log-likelihood sits on a flat ridge
OTHER_PEERS = {"clvkit": "clvkit", "pymc-marketing": "pymc_marketing"}  # label -> module


@dataclass
class Measurement:
    library: str
    status: str = "ok"  # ok | not available | not installed | error
    detail: str = ""
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    peak_mb: float | None = None
    answer: dict[str, Any] | None = None
    deterministic: bool | None = None
    non_finite: int = 0

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def median_cpu(self) -> float | None:
        return statistics.median(self.cpu_times) if self.cpu_times else None


@dataclass
class CaseResult:
    case: str
    title: str
    data: str
    measurements: dict[str, Measurement]
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""
    peer_notes: dict[str, str] = field(default_factory=dict)


# --- measuring -------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def _answer_arrays(answer: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in answer.items() if not k.startswith("_")}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    x, y = _answer_arrays(a), _answer_arrays(b)
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k], equal_nan=True) for k in x)


def time_thunk(
    thunk: C.Thunk, repeats: int, budget: float, result: Measurement, at_least: int = 1
) -> None:
    """Run ``thunk`` ``at_least`` times, then up to ``repeats`` within ``budget`` seconds."""
    while True:
        gc.collect()
        cpu_start, start = time.process_time(), time.perf_counter()
        answer = thunk()
        elapsed = time.perf_counter() - start
        result.times.append(elapsed)
        # CPU seconds of every thread of this process, or of the fresh process for a script.
        result.cpu_times.append(
            float(answer["_cpu_seconds"])
            if "_cpu_seconds" in answer
            else time.process_time() - cpu_start
        )
        if result.answer is None:
            result.answer = answer
            result.deterministic = True
            result.non_finite = int(
                sum((~np.isfinite(v)).sum() for v in _answer_arrays(answer).values())
            )
        elif not _same(result.answer, answer):
            result.deterministic = False
        if "_peak_rss_mb" in answer:
            result.peak_mb = max(result.peak_mb or 0.0, float(answer["_peak_rss_mb"]))
        runs = len(result.times)
        if runs >= at_least and (runs >= repeats or sum(result.times) + elapsed > budget):
            return


def memory_in_fresh_process(case: str, library: str, scale: str) -> tuple[float | None, str]:
    """Extra peak RSS (MB) of one call, measured by a worker interpreter; or None and why."""
    command = [sys.executable, "-m", "benchmarks.runner", "--worker", case, library, scale]
    done = subprocess.run(
        command, cwd=C.REPO, capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"]), ""


def _worker(case_name: str, library: str, scale: str) -> int:
    import importlib

    # The library's imports happen before the measurement: they are not part of the call.
    modules = ["pandas", "scipy.optimize", "scipy.special"]
    modules += ["retention_kit", "narwhals"] if library == C.RK else []
    modules += ["lifetimes"] if library == C.LIFETIMES else []
    modules += ["clvkit"] if library == C.CLVKIT else []
    modules += ["arviz", "pymc_marketing.clv"] if library.startswith(C.PYMC) else []
    for module in modules:
        importlib.import_module(module)
    case = {c.name: c for c in C.all_cases()}[case_name]
    inputs = case.inputs(case.size(scale))
    thunk = case.libraries[library](inputs)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the high-water mark VmHWM to the current RSS
    before = _status_kb("VmRSS")
    thunk()
    peak = _status_kb("VmHWM")
    print(json.dumps({"peak_mb": (peak - before) / 1024.0}))
    return 0


# --- comparing -------------------------------------------------------------------------------


def max_relative_difference(ours: dict[str, Any], theirs: dict[str, Any]) -> float:
    """Largest ``|a - b| / max(|a|, |b|, FLOOR)`` over the shared keys; inf on a mismatch."""
    x, y = _answer_arrays(ours), _answer_arrays(theirs)
    shared = x.keys() & y.keys()
    if not shared:
        return float("inf")
    worst = 0.0
    for key in shared:
        a, b = x[key], y[key]
        if a.shape != b.shape:
            return float("inf")
        if a.size == 0:
            continue
        both_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            diff = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), FLOOR)
        diff = np.where(both_nan | (a == b), 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        worst = max(worst, float(diff.max()))
    return worst


def _compare(case: C.Case, inputs: C.Inputs, ours: Measurement, peer: Measurement) -> dict:
    assert ours.answer is not None
    assert peer.answer is not None
    comparison: dict[str, Any] = {
        "max_rel_diff": max_relative_difference(ours.answer, peer.answer)
    }
    comparison["tolerance"] = case.tolerance_for(peer.library)
    comparison["agrees"] = comparison["max_rel_diff"] <= comparison["tolerance"]
    if ours.median and peer.median:
        comparison["speedup"] = peer.median / ours.median
    if ours.peak_mb is not None and peer.peak_mb is not None and peer.peak_mb > 0:
        comparison["memory_ratio"] = ours.peak_mb / peer.peak_mb
    if case.fit_model is not None:
        params = {k: float(v) for k, v in _answer_arrays(ours.answer).items()}
        theirs = {k: float(v) for k, v in _answer_arrays(peer.answer).items()}
        ll_ours = C.log_likelihood(case.fit_model, params, inputs, case.name)
        ll_peer = C.log_likelihood(case.fit_model, theirs, inputs, case.name)
        delta = ll_ours - ll_peer
        comparison.update(ll_ours=ll_ours, ll_peer=ll_peer, delta_ll=delta)
        # Parameters that differ where the likelihood is flat are not a different answer when
        # ours is at least as likely: the peer's optimizer stopped short of the optimum.
        comparison["same_parameters"] = comparison["agrees"]
        comparison["not_worse"] = delta >= -LL_SLACK * max(1.0, abs(ll_ours))
        # A peer maximizing a posterior with priors is not judged by the likelihood alone.
        comparison["other_objective"] = peer.library in case.other_objective
        if not comparison["other_objective"]:
            comparison["agrees"] = comparison["agrees"] or comparison["not_worse"]
    return comparison


# --- running ---------------------------------------------------------------------------------


def run_case(
    case: C.Case,
    scale: str,
    memory: bool,
    done: dict[str, CaseResult],
    log: Any,
    memory_all: bool = False,
) -> CaseResult:
    inputs = case.inputs(case.size(scale))
    result = CaseResult(
        case.name,
        case.title,
        case.describe(inputs),
        {},
        notes=case.notes,
        peer_notes=dict(case.peer_notes),
    )
    ours_repeats, peer_repeats = REPEATS[scale]
    for library, build in case.libraries.items():
        is_rk = library == C.RK
        module = C.OPTIONAL_PEERS.get(library)
        if module is not None and importlib.util.find_spec(module) is None:
            continue  # an optional peer that is not installed: no row
        previous = done.get(case.reuse_peers_of or "")
        if not is_rk and previous is not None and library in previous.measurements:
            result.measurements[library] = previous.measurements[library]
            continue
        measurement = Measurement(library)
        result.measurements[library] = measurement
        print(f"  {case.name}: {library} ...", file=log, flush=True)
        try:
            thunk = build(inputs)
        except C.NotAvailable as missing:
            measurement.status, measurement.detail = "not available", str(missing)
            continue
        except Exception as error:
            measurement.status = "error"
            measurement.detail = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            continue
        try:
            time_thunk(
                thunk,
                ours_repeats if is_rk else peer_repeats,
                BUDGET_SECONDS[C.RK if is_rk else "peer"],
                measurement,
                at_least=2 if is_rk else 1,  # two runs at least: is the answer deterministic?
            )
        except Exception as error:  # report it in the table; the other cases still run
            measurement.status = "error"
            measurement.detail = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            continue
        slow = (measurement.median or 0.0) > MEMORY_MAX_SECONDS and not memory_all
        if memory and case.kind == "call" and slow:
            measurement.detail = (
                f"memory not measured: one call takes {measurement.median:.0f} s "
                "(--memory-all measures it)"
            )
        elif memory and case.kind == "call":
            measurement.peak_mb, why = memory_in_fresh_process(case.name, library, scale)
            if why:
                measurement.detail = f"memory not measured: {why}"
    ours = result.measurements.get(C.RK)
    for library, peer in result.measurements.items():
        if library == C.RK or ours is None or ours.status != "ok" or peer.status != "ok":
            continue
        try:
            result.comparisons[library] = _compare(case, inputs, ours, peer)
        except Exception as error:
            result.comparisons[library] = {"error": f"{type(error).__name__}: {error}"}
    return result


def select(all_cases: list[C.Case], only: str | None) -> list[C.Case]:
    if not only:
        return all_cases
    patterns = [p.strip() for p in only.split(",") if p.strip()]
    chosen = [c for c in all_cases if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]
    if not chosen:
        names = ", ".join(c.name for c in all_cases)
        raise SystemExit(f"--only {only!r} matches no case; cases: {names}")
    return chosen


# --- reporting -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import scipy

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    versions["scipy"] = scipy.__version__
    for name in ("pandas", "narwhals", "lifetimes", "retention_kit"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "not installed"
    peers = {}
    for label, module in OTHER_PEERS.items():
        try:  # the distribution's version, without importing it (pymc-marketing takes seconds)
            peers[label] = version(label) if importlib.util.find_spec(module) else "not installed"
        except PackageNotFoundError:
            peers[label] = "installed"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "load_average": os.getloadavg(),
        "versions": versions,
        "other_peers": peers,
    }


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value * 1000:.1f} ms" if value < 0.01 else f"{value:.3f}"


def _rel(value: float) -> str:
    if value == 0:
        return "0"
    if value == float("inf"):
        return "mismatch"
    return f"{value:.1e}"


def table(results: list[CaseResult]) -> str:
    head = (
        "| case | data | library | median time (s) | CPU (s) | runs | extra peak RSS (MB) "
        "| retention_kit speed-up | memory rk/peer | max rel. diff | notes |"
    )
    lines = [head, "|" + " --- |" * 11]
    for res in results:
        for library, m in res.measurements.items():
            first = library == next(iter(res.measurements))
            case, data = (f"{res.title} (`{res.case}`)", res.data) if first else ("", "")
            notes = []
            peer_note = res.peer_notes.get(library, "")
            if m.status != "ok":
                detail = "; ".join(x for x in (m.detail, peer_note) if x)
                lines.append(
                    f"| {case} | {data} | {library} | {m.status} | | | | | | | {detail} |"
                )
                continue
            if m.detail:
                notes.append(m.detail)
            if peer_note:
                notes.append(peer_note)
            if m.non_finite:
                notes.append(f"**{m.non_finite} non-finite values**")
            speed = memory = diff = ""
            comparison = res.comparisons.get(library, {})
            if library == C.RK:
                if m.deterministic is False:
                    notes.append("**answers vary between runs**")
                elif m.deterministic and len(m.times) > 1:
                    notes.append("identical answers on every run")
                if res.notes:
                    notes.append(res.notes)
            elif "error" in comparison:
                notes.append(f"comparison failed: {comparison['error']}")
            elif comparison:
                if "speedup" in comparison:
                    speed = f"{comparison['speedup']:.1f}x"
                    if not comparison["agrees"]:
                        speed += " (does not count)"
                if "memory_ratio" in comparison:
                    memory = f"{comparison['memory_ratio']:.2f}"
                diff = _rel(comparison["max_rel_diff"])
                if not comparison["agrees"]:
                    notes.append("**answers differ beyond tolerance**")
                if "delta_ll" in comparison:
                    notes.append(f"dLL = {comparison['delta_ll']:+.3g}")
                    flat = abs(comparison["delta_ll"]) <= FLAT_SLACK * max(
                        1.0, abs(comparison["ll_ours"])
                    )
                    if comparison.get("other_objective") and comparison["not_worse"]:
                        pass  # the peer's note says why its parameters differ
                    elif comparison["not_worse"] and not comparison["same_parameters"]:
                        notes.append(
                            f"parameters differ by more than {comparison['tolerance']:g} "
                            "along a flat likelihood; retention_kit's estimates are at least "
                            "as likely"
                            if flat
                            else f"{library} stopped short of the optimum: its estimates are "
                            "less likely"
                        )
                    elif not comparison["not_worse"]:
                        notes.append("**retention_kit stopped at a worse optimum**")
            peak = "—" if m.peak_mb is None else f"{m.peak_mb:.0f}"
            lines.append(
                f"| {case} | {data} | {library} | {_seconds(m.median)} "
                f"| {_seconds(m.median_cpu)} | {len(m.times)} "
                f"| {peak} | {speed} | {memory} | {diff} | {'; '.join(notes)} |"
            )
    return "\n".join(lines)


def _get(results: dict[str, CaseResult], case: str, library: str = C.LIFETIMES) -> Any:
    res = results.get(case)
    if res is None:
        return None, None
    return res.measurements.get(C.RK), res.comparisons.get(library)


def targets(by_name: dict[str, CaseResult], scale: str = "full") -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for each of the project's performance targets.

    The targets are stated for the full sizes; at a smaller scale the verdicts are indicative.
    """
    rows: list[tuple[str, str, str]] = []

    def verdict(ok: bool | None) -> str:
        text = "not measured" if ok is None else ("met" if ok else "**missed**")
        return text if scale == "full" or ok is None else f"{text} (indicative: {scale} sizes)"

    ours, cmp = _get(by_name, "summarize")
    if cmp and "speedup" in cmp:
        rows.append(
            (
                "summarize: >= 15x faster than lifetimes",
                f"{cmp['speedup']:.1f}x",
                verdict(cmp["speedup"] >= 15 and cmp["agrees"]),
            )
        )
        ratio = cmp.get("memory_ratio")
        rows.append(
            (
                "summarize: <= 1/2 of lifetimes' extra memory",
                "—" if ratio is None else f"{ratio:.2f} of lifetimes'",
                verdict(None if ratio is None else ratio <= 0.5),
            )
        )
    else:
        rows.append(("summarize: >= 15x faster, <= 1/2 the memory", "—", verdict(None)))
    ours, cmp = _get(by_name, "bgnbd_fit")
    if cmp and "speedup" in cmp:
        rows.append(
            (
                "BG/NBD fit: >= 25x faster",
                f"{cmp['speedup']:.1f}x",
                verdict(cmp["speedup"] >= 25 and cmp["agrees"]),
            )
        )
        rows.append(
            (
                "BG/NBD fit: same parameters to 1e-5 relative",
                _rel(cmp["max_rel_diff"]) + f" (dLL {cmp.get('delta_ll', float('nan')):+.3g})",
                verdict(cmp["max_rel_diff"] <= 1e-5),
            )
        )
    else:
        rows.append(("BG/NBD fit: >= 25x faster, parameters to 1e-5", "—", verdict(None)))
    ours, cmp = _get(by_name, "pareto_fit")
    if cmp and "speedup" in cmp and ours is not None:
        rows.append(
            (
                "Pareto/NBD fit: >= 20x faster",
                f"{cmp['speedup']:.1f}x",
                verdict(cmp["speedup"] >= 20),
            )
        )
        rows.append(
            (
                "Pareto/NBD fit: deterministic",
                f"{len(ours.times)} runs, " + ("identical" if ours.deterministic else "differ"),
                verdict(bool(ours.deterministic) and len(ours.times) > 1),
            )
        )
        tol = LL_SLACK * max(1.0, abs(cmp["ll_ours"]))
        rows.append(
            (
                "Pareto/NBD fit: never a worse optimum than lifetimes",
                f"LL {cmp['ll_ours']:.4f} vs {cmp['ll_peer']:.4f} (dLL {cmp['delta_ll']:+.3g})",
                verdict(cmp["delta_ll"] >= -tol),
            )
        )
    else:
        rows.append(("Pareto/NBD fit: >= 20x, deterministic, not worse", "—", verdict(None)))
    ours, cmp = _get(by_name, "bgnbd_conditional")
    if cmp and "speedup" in cmp and ours is not None:
        rows.append(
            (
                "BG/NBD conditional expected purchases: not slower than lifetimes",
                f"{cmp['speedup']:.2f}x",
                verdict(cmp["speedup"] >= 1 and cmp["agrees"]),
            )
        )
        rows.append(
            (
                "BG/NBD conditional expected purchases: all finite",
                f"{ours.non_finite} non-finite",
                verdict(ours.non_finite == 0),
            )
        )
    else:
        rows.append(("conditional expected purchases: not slower, finite", "—", verdict(None)))
    ours, _ = _get(by_name, "cdnow_pipeline")
    if ours is not None and ours.median is not None:
        rows.append(
            (
                "CDNOW pipeline, fresh process: < 1 s",
                f"{ours.median:.2f} s",
                verdict(ours.median < 1.0),
            )
        )
    else:
        rows.append(("CDNOW pipeline, fresh process: < 1 s", "—", verdict(None)))
    return rows


def report(results: list[CaseResult], scale: str, info: dict[str, Any], command: str) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    others = ", ".join(f"{k}: {v}" for k, v in info["other_peers"].items())
    load = ", ".join(f"{x:.2f}" for x in info["load_average"])
    parts = [
        f"Scale: **{scale}**. Machine: {info['nproc']} CPUs ({info['cpu']}), load average at "
        f"start {load}. Versions: {versions}. Other peers: {others}.",
        f"Command: `{command}`",
        "",
        table(results),
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        *(f"| {t} | {m} | {v} |" for t, m, v in targets({r.case: r for r in results}, scale)),
    ]
    return "\n".join(parts)


def to_json(results: list[CaseResult], scale: str, info: dict[str, Any]) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not np.isfinite(value):
            return str(value)
        return value

    cases = []
    for res in results:
        measured = {}
        for library, m in res.measurements.items():
            small = {
                k: v
                for k, v in (m.answer or {}).items()
                if not k.startswith("_") and np.ndim(v) == 0
            }
            measured[library] = {
                "status": m.status,
                "detail": m.detail,
                "times": m.times,
                "cpu_times": m.cpu_times,
                "median": m.median,
                "peak_mb": m.peak_mb,
                "deterministic": m.deterministic,
                "non_finite": m.non_finite,
                "answer": small,
            }
        cases.append(
            {
                "case": res.case,
                "title": res.title,
                "data": res.data,
                "measurements": measured,
                "comparisons": res.comparisons,
            }
        )
    targets_rows = targets({r.case: r for r in results}, scale)
    return clean(
        {
            "scale": scale,
            "machine": info,
            "cases": cases,
            "targets": [
                dict(zip(("target", "measured", "verdict"), t, strict=True)) for t in targets_rows
            ],
        }
    )


# --- command line ----------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the smoke test)")
    parser.add_argument("--only", help="comma-separated case names or patterns ('bgnbd*')")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--markdown", help="also write the report to this markdown file")
    parser.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure memory in worker processes (default: only at full scale)",
    )
    parser.add_argument(
        "--memory-all",
        action="store_true",
        help=f"also measure calls slower than {MEMORY_MAX_SECONDS:.0f} s (a second long run)",
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--worker", nargs=3, metavar=("CASE", "LIBRARY", "SCALE"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        return _worker(*args.worker)
    all_cases = C.all_cases()
    if args.list:
        for case in all_cases:
            print(f"{case.name:24} {case.title}")
        return 0
    scale = "tiny" if args.tiny else "quick" if args.quick else "full"
    chosen = select(all_cases, args.only)
    memory = scale == "full" if args.memory is None else args.memory
    info = machine()
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    done: dict[str, CaseResult] = {}
    for case in chosen:
        print(f"{case.name} ({scale})", file=sys.stderr, flush=True)
        done[case.name] = run_case(case, scale, memory, done, sys.stderr, args.memory_all)
        gc.collect()
    results = list(done.values())
    text = report(results, scale, info, command.strip())
    text += f"\n\nTotal run time: {time.perf_counter() - started:.0f} s."
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(text + "\n")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(to_json(results, scale, info), out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
