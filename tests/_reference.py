"""Independent readers of the shipped data, for golden tests (pandas, not retention_kit)."""

from __future__ import annotations

import gzip
import io
from importlib import resources

import pandas as pd


def cdnow_master_frame() -> pd.DataFrame:
    """The full CDNOW cohort read straight from the shipped file with pandas."""
    source = resources.files("retention_kit.datasets").joinpath("cdnow_master.txt.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        frame = pd.read_csv(
            io.StringIO(text.read()),
            sep=r"\s+",
            skiprows=1,
            header=None,
            names=["customer_id", "date", "cds", "amount"],
            dtype={"date": str},
        )
    frame["timestamp"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame
