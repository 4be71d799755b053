"""Sphinx configuration for the retention_kit documentation."""

from __future__ import annotations

import shutil
from pathlib import Path

import retention_kit

# The notebooks live in the top-level notebooks/ folder (where the test suite executes them);
# Sphinx reads sources only below docs/, so they are copied in, and executed again by myst-nb.
_here = Path(__file__).parent
_copies = _here / "notebooks"
_copies.mkdir(exist_ok=True)
for _notebook in sorted((_here.parent / "notebooks").glob("*.ipynb")):
    shutil.copy2(_notebook, _copies / _notebook.name)

project = "retention_kit"
author = "retention_kit developers"
copyright = "2026, retention_kit developers"
release = retention_kit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "**.ipynb_checkpoints"]
nitpicky = False

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True

html_theme = "furo"
html_title = "retention_kit"
html_static_path: list[str] = []
