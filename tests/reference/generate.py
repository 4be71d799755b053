"""Regenerate the mpmath reference tables of the large sweeps (tests/reference/*.json).

Run from the repository root, for all tables or the named ones::

    python -m tests.reference.generate [log_hyp2f1] [bgnbd] [paretonbd]

(or ``python tests/reference/generate.py ...``). Each test module defines its sweep (`SWEEP`:
the point generator with its arguments and the reference function); this script computes the
reference of every point with those very functions, one point after another, and writes the
table. It takes about 15 minutes for log_hyp2f1, 7 for bgnbd and half a minute for paretonbd;
run it niced (``nice -n 19``) on a machine that does anything else. Regenerate a table when its
sweep's points or reference change (the tests ``test_reference_table_is_current`` fail then).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
MODULES = {"log_hyp2f1": "test_special", "bgnbd": "test_bgnbd", "paretonbd": "test_paretonbd"}


def generate(sweep: Any, *, command: str) -> Path:
    """Compute the reference of every point of ``sweep`` and write its table."""
    import reference

    points = sweep.points()
    outputs, seconds = [], []
    for i, point in enumerate(points):
        start = time.process_time()
        outputs.append(sweep.compute(point))
        seconds.append(time.process_time() - start)
        print(
            f"{sweep.name}: {i + 1}/{len(points)} {seconds[-1]:.2f} s"
            + (" (undecided)" if outputs[-1] is None else ""),
            file=sys.stderr,
            flush=True,
        )
    return reference.write(sweep, points, outputs, seconds, command=command)


def main(argv: list[str] | None = None) -> None:
    names = sys.argv[1:] if argv is None else argv
    unknown = set(names) - set(MODULES)
    if unknown:
        raise SystemExit(f"unknown tables {sorted(unknown)}; known: {sorted(MODULES)}")
    # The test modules import their helpers (strategies, _model_checks, reference) as pytest
    # does, from the tests folder.
    sys.path.insert(0, str(TESTS))
    import importlib

    for name in names or list(MODULES):
        sweep = importlib.import_module(MODULES[name]).SWEEP
        assert sweep.name == name
        start = time.perf_counter()
        target = generate(sweep, command=f"python -m tests.reference.generate {name}")
        print(f"wrote {target} in {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
