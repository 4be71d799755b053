"""Every public name has a numpydoc docstring with an Examples section, and the API reference
lists every public name.

The public names are those of ``rk.__all__`` (the members of the public modules in it, such as
``rk.datasets``, included) and the public methods of the public classes, inherited ones
included when retention_kit defines them. The examples themselves run as doctests
(``--doctest-modules``); these tests make sure there is one to run.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import retention_kit as rk

# numpydoc's sections, in the order numpydoc prescribes.
SECTION_ORDER = (
    "Parameters",
    "Attributes",
    "Methods",
    "Returns",
    "Yields",
    "Receives",
    "Other Parameters",
    "Raises",
    "Warns",
    "Warnings",
    "See Also",
    "Notes",
    "References",
    "Examples",
)
_HEADER = re.compile(r"^(?P<title>\S[^\n]*)\n(?P<rule>-{3,})$", re.MULTILINE)
_NOT_DOCUMENTED = {"__version__"}  # a version string, not an API to document
_API_INDEX = Path(__file__).parents[1] / "docs" / "api" / "index.rst"


def _defined_here(obj: Any) -> bool:
    """Whether ``obj`` (a function, or a class) comes from retention_kit, not a base library."""
    module = getattr(obj, "__module__", None) or ""
    return module == "retention_kit" or module.startswith("retention_kit.")


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties of ``cls`` that retention_kit defines (inherited too)."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        try:
            raw = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(raw, property):
            if raw.fget is not None and _defined_here(raw.fget):
                yield name, raw
        elif isinstance(raw, classmethod | staticmethod):
            if _defined_here(raw.__func__):
                yield name, raw.__func__
        elif inspect.isfunction(raw) and _defined_here(raw):
            yield name, raw


def _public() -> Iterator[tuple[str, Any]]:
    """(dotted name, object) of every documented name; properties come as property objects."""
    for name in rk.__all__:
        if name in _NOT_DOCUMENTED:
            continue
        obj = getattr(rk, name)
        yield name, obj
        if isinstance(obj, types.ModuleType):
            for member in getattr(obj, "__all__", ()):
                value = getattr(obj, member)
                yield f"{name}.{member}", value
                if inspect.isclass(value):
                    for method, attr in _members(value):
                        yield f"{name}.{member}.{method}", attr
        elif inspect.isclass(obj):
            for method, attr in _members(obj):
                yield f"{name}.{method}", attr


PUBLIC = dict(_public())
CALLABLES = {name: obj for name, obj in PUBLIC.items() if not isinstance(obj, property)}
PROPERTIES = {name: obj for name, obj in PUBLIC.items() if isinstance(obj, property)}


def sections(doc: str) -> list[str]:
    """The numpydoc section titles of a cleaned docstring, in order."""
    return [m["title"] for m in _HEADER.finditer(doc) if len(m["rule"]) == len(m["title"])]


def test_the_walk_finds_the_api() -> None:
    # A guard on the walk itself: names every version of the API has.
    for name in ("Transactions", "summarize", "CustomerSummary.compress", "FitResult.aic"):
        assert name in PUBLIC
    assert "datasets.load_cdnow" in PUBLIC
    assert not any(name.endswith(".with_traceback") for name in PUBLIC)  # builtin members


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_numpydoc_docstring_with_examples(name: str) -> None:
    doc = inspect.getdoc(CALLABLES[name])
    assert doc, f"{name} has no docstring"
    summary = doc.split("\n\n", 1)[0].strip()
    assert summary, f"{name}: the docstring must start with a summary line"
    assert "\n" not in summary, (
        f"{name}: the summary must be one line followed by a blank line; got {summary!r}"
    )
    assert summary.rstrip().endswith("."), f"{name}: the summary line must end with a period"
    found = sections(doc)
    unknown = [title for title in found if title not in SECTION_ORDER]
    assert not unknown, f"{name}: unknown numpydoc sections {unknown}"
    assert len(set(found)) == len(found), f"{name}: repeated sections in {found}"
    positions = [SECTION_ORDER.index(title) for title in found]
    assert positions == sorted(positions), f"{name}: sections out of numpydoc order: {found}"
    assert "Examples" in found, f"{name} has no Examples section"
    examples = doc.split("Examples\n--------", 1)[1]
    assert ">>> " in examples, f"{name}: the Examples section has no doctest"


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_properties_have_a_summary(name: str) -> None:
    doc = inspect.getdoc(PROPERTIES[name])
    assert doc, f"{name} has no docstring"
    assert doc.split("\n\n", 1)[0].rstrip().endswith("."), f"{name}: summary without a period"


def test_sections_parser() -> None:
    doc = "Summary.\n\nParameters\n----------\nx : int\n\nNotes\n-----\ntext\n\nBad\n-----\n"
    assert sections(doc) == ["Parameters", "Notes"]


@pytest.mark.skipif(not _API_INDEX.exists(), reason="the docs/ folder is not in this tree")
def test_api_reference_lists_every_public_name() -> None:
    text = _API_INDEX.read_text(encoding="utf-8")
    listed = set(re.findall(r"^   ([A-Za-z_][\w.]*)\s*$", text, flags=re.MULTILINE))
    top_level = {name for name in rk.__all__ if name not in _NOT_DOCUMENTED}
    assert top_level - listed == set(), "add these to docs/api/index.rst"
    modules = {
        f"{name}.{member}"
        for name in top_level
        if isinstance(getattr(rk, name), types.ModuleType)
        for member in getattr(getattr(rk, name), "__all__", ())
    }
    assert modules - listed == set(), "add these to docs/api/index.rst"
    assert listed - top_level - modules == set(), "docs/api/index.rst lists names not in __all__"
