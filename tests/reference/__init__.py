"""Reference tables of the large mpmath sweeps: their format, reading and writing.

A sweep compares the library with an mpmath reference on a few hundred seeded random points;
computing the reference takes minutes, so it is computed once, by ``generate.py`` in this folder
(``python -m tests.reference.generate``), and stored here as ``<name>.json``:

- ``header``: how the table was made: the test that reads it, the point generator with its
  seed, n and other arguments, the reference function and its working precision, the number of
  significant digits stored, the versions of mpmath and Python;
- ``inputs`` and ``outputs``: the names of the columns;
- ``entries``: one per point, in the generator's order: the inputs as ``repr()`` strings (they
  round-trip exactly), the reference values as decimal strings (or null where the reference
  could not settle a value) and the CPU seconds the reference took.

The sweep's test compares the library with the stored values; a fast test checks that the
stored inputs are the generator's points and recomputes the cheapest few references
(`assert_current`), so that a stale or hand-edited table fails.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mpmath

DIRECTORY = Path(__file__).resolve().parent
DIGITS = 25  # significant digits stored of each reference value

Point = tuple[float, ...]
Values = tuple[Any, ...]  # mpmath numbers


@dataclass(frozen=True)
class Sweep:
    """A sweep: its points, its reference, and the names that go into its table's header."""

    name: str  # the table is DIRECTORY / f"{name}.json"
    test: str  # the test that reads the table
    generator: str  # the function that makes the points
    arguments: dict[str, Any]  # its keyword arguments, a seed and n among them
    reference: str  # the function that computes the reference values
    precision: str  # mpmath's working precision in it
    inputs: tuple[str, ...]  # the names of a point's coordinates
    outputs: tuple[str, ...]  # the names of the reference values of a point
    points: Callable[[], list[Point]]  # the points, flat tuples of floats
    compute: Callable[[Point], Values | None]  # the reference values, None if undecided


def to_decimal(value: Any, digits: int = DIGITS) -> str:
    """An mpmath number as a decimal string of ``digits`` significant digits, rounded to
    nearest, always in exponent form (the numbers can be far outside the float range)."""
    if not isinstance(value, mpmath.mpf):
        raise TypeError(f"reference values must be mpmath.mpf, not {type(value).__name__}")
    return str(
        mpmath.nstr(
            value, digits, strip_zeros=False, min_fixed=0, max_fixed=0, show_zero_exponent=True
        )
    )


@dataclass(frozen=True)
class Table:
    """A stored table (see the module's docstring)."""

    header: dict[str, Any]
    inputs: list[tuple[str, ...]]  # repr() of each coordinate
    outputs: list[tuple[str, ...] | None]  # decimal strings, None where undecided
    seconds: list[float]

    @property
    def digits(self) -> int:
        return int(self.header["digits"])

    def points(self) -> list[Point]:
        return [tuple(float(v) for v in row) for row in self.inputs]

    def values(self, i: int) -> Values | None:
        """The reference values of entry ``i`` as mpmath numbers (to the stored digits)."""
        row = self.outputs[i]
        if row is None:
            return None
        with mpmath.workdps(self.digits + 5):
            return tuple(mpmath.mpf(v) for v in row)

    def references_for(self, points: Sequence[Point]) -> list[Values | None]:
        """The stored references of ``points``, which must be the stored inputs exactly."""
        assert [tuple(repr(float(v)) for v in p) for p in points] == self.inputs, "stale inputs"
        return [self.values(i) for i in range(len(self.inputs))]

    def cheapest(self, k: int) -> list[int]:
        """The indices of the ``k`` entries whose reference took least CPU time."""
        return sorted(range(len(self.seconds)), key=lambda i: (self.seconds[i], i))[:k]


def path(name: str) -> Path:
    return DIRECTORY / f"{name}.json"


def load(sweep: Sweep) -> Table:
    """The stored table of ``sweep``, after checking that its header describes the sweep."""
    data = json.loads(path(sweep.name).read_text(encoding="utf-8"))
    header = data["header"]
    assert header["test"] == sweep.test
    assert header["generator"] == sweep.generator
    assert header["arguments"] == sweep.arguments
    assert header["seed"] == sweep.arguments["seed"]
    assert header["n"] == sweep.arguments["n"] == len(data["entries"])
    assert header["reference"] == sweep.reference
    assert header["working precision"] == sweep.precision
    assert header["digits"] >= 20
    assert data["inputs"] == list(sweep.inputs)
    assert data["outputs"] == list(sweep.outputs)
    entries = data["entries"]
    for entry in entries:
        assert len(entry["input"]) == len(sweep.inputs)
        assert entry["output"] is None or len(entry["output"]) == len(sweep.outputs)
    return Table(
        header=header,
        inputs=[tuple(entry["input"]) for entry in entries],
        outputs=[None if e["output"] is None else tuple(e["output"]) for e in entries],
        seconds=[float(entry["seconds"]) for entry in entries],
    )


def assert_current(sweep: Sweep, k: int = 3) -> Table:
    """The stored table of ``sweep`` holds the generator's points exactly (cheap), and the
    references of its ``k`` cheapest entries recomputed now round to the stored digits."""
    table = load(sweep)
    table.references_for(sweep.points())
    points = table.points()
    for i in table.cheapest(k):
        again = sweep.compute(points[i])
        stored = table.outputs[i]
        if stored is None:
            assert again is None, (i, table.inputs[i], "undecided in the table")
        else:
            assert again is not None, (i, table.inputs[i], "undecided now")
            now = tuple(to_decimal(v, table.digits) for v in again)
            assert now == stored, (i, table.inputs[i], "stored", stored, "now", now)
    return table


def write(
    sweep: Sweep,
    points: Sequence[Point],
    outputs: Sequence[Values | None],
    seconds: Sequence[float],
    *,
    command: str,
    directory: Path = DIRECTORY,
) -> Path:
    """Store the table of ``sweep`` (one entry a line, so that diffs stay readable)."""
    header = {
        "description": f"mpmath reference values for {sweep.test}",
        "test": sweep.test,
        "generator": sweep.generator,
        "arguments": sweep.arguments,
        "seed": sweep.arguments["seed"],
        "n": len(points),
        "reference": sweep.reference,
        "working precision": sweep.precision,
        "digits": DIGITS,
        "undecided": sum(v is None for v in outputs),
        "cpu seconds": round(sum(seconds), 1),
        "mpmath": mpmath.__version__,
        "mpmath backend": mpmath.libmp.BACKEND,
        "python": platform.python_version(),
        "command": command,
    }
    lines = [
        "{",
        f'"header": {json.dumps(header, indent=1)},',
        f'"inputs": {json.dumps(list(sweep.inputs))},',
        f'"outputs": {json.dumps(list(sweep.outputs))},',
        '"entries": [',
    ]
    for i, (point, values, time) in enumerate(zip(points, outputs, seconds, strict=True)):
        entry = {
            "input": [repr(float(v)) for v in point],
            "output": None if values is None else [to_decimal(v) for v in values],
            "seconds": round(time, 4),
        }
        lines.append(json.dumps(entry) + ("," if i < len(points) - 1 else ""))
    lines += ["]", "}", ""]
    target = directory / f"{sweep.name}.json"
    partial = target.with_suffix(".json.partial")
    partial.write_text("\n".join(lines), encoding="utf-8")
    os.replace(partial, target)
    return target
