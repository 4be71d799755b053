"""``python -m retention_kit``: the ``retention-kit`` command line (see `retention_kit.cli`).

Without arguments it prints the retention report of the CDNOW data shipped with the package.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .cli import main as _main

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``retention-kit`` under the name ``python -m retention_kit``; return the status.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for bad input, 2 for wrong usage.

    Examples
    --------
    >>> from retention_kit.__main__ import main
    >>> main(["--top", "3"])
    Retention report: CDNOW 1/10 sample
    ...
    0
    """
    return _main(argv, prog="python -m retention_kit")


if __name__ == "__main__":
    sys.exit(main())
