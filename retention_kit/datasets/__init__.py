"""Data sets shipped with retention_kit.

The transaction log of CDNOW (`load_cdnow`), the donations data of the discrete-time BG/BB
model (`load_donations`) and the contractual survivor table of Fader & Hardie 2007
(`load_retention_segments`): the data of the papers whose published figures the models
reproduce.

Examples
--------
>>> import retention_kit as rk
>>> rk.datasets.load_cdnow().n_customers, rk.datasets.load_donations().n_customers
(2357, 11104)
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .._typing import DatetimeArray, IntArray
from .._validation import readonly
from ..data import Transactions
from ..summary import DiscreteSummary

__all__ = ["RetentionSegments", "load_cdnow", "load_donations", "load_retention_segments"]


def _yyyymmdd(dates: IntArray) -> DatetimeArray:
    months = (dates // 10000 - 1970) * 12 + (dates // 100 % 100 - 1)
    days = months.astype("datetime64[M]").astype("datetime64[D]") + (dates % 100 - 1)
    return days.astype("datetime64[s]")


def load_cdnow(sample: bool = True) -> Transactions:
    """Load the CDNOW transaction log of Fader & Hardie.

    CDNOW was an online music store. The data follow the cohort of 23,570 customers who made
    their first purchase in the first quarter of 1997 (1997-01-01 to 1997-03-31) through
    1998-06-30. Each row is one order: the customer, the day (no time of day) and its dollar
    value. The 1/10 sample of 2,357 customers (6,919 rows) is the data of Fader, Hardie & Lee
    (2005); it is numbered 1 to 2,357 as in their paper, so customer 1 of the sample is the
    customer of the paper's worked example. The full cohort is numbered by its master ids.

    Parameters
    ----------
    sample : bool, default True
        The 1/10 sample (2,357 customers, 6,919 rows) or, when False, the full cohort
        (23,570 customers, 69,659 rows).

    Returns
    -------
    Transactions
        With ``amount`` in US dollars; several orders on one day are separate rows.

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and K. L. Lee, "Counting Your Customers the Easy Way:
       An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284, 2005.
    .. [2] B. G. S. Hardie, "The CDNOW data set", brucehardie.com/datasets, distributed with
       the lifetimes package under the same file names.

    Examples
    --------
    >>> import retention_kit as rk
    >>> tx = rk.datasets.load_cdnow()
    >>> len(tx), tx.n_customers, str(tx.start)[:10], str(tx.end)[:10]
    (6919, 2357, '1997-01-01', '1998-06-30')
    """
    name = "cdnow_sample.txt.gz" if sample else "cdnow_master.txt.gz"
    with (
        resources.files(__package__).joinpath(name).open("rb") as raw,
        gzip.open(raw, "rt") as text,
    ):
        table = np.loadtxt(text, skiprows=0 if sample else 1)
    id_column = 1 if sample else 0
    ids = table[:, id_column].astype(np.int64)
    dates = _yyyymmdd(table[:, id_column + 1].astype(np.int64))
    return Transactions(ids, dates, table[:, -1])


@dataclass(frozen=True, slots=True)
class RetentionSegments:
    """Customers of two 1,000-customer cohorts still active at the start of years 0..12.

    Attributes
    ----------
    year : ndarray of int
        0, 1, ..., 12.
    regular, high_end : ndarray of int
        Survivors of the "Regular" and "High End" segments, starting at 1000.

    Examples
    --------
    >>> import retention_kit as rk
    >>> segments = rk.datasets.load_retention_segments()
    >>> int(segments.year[-1]), int(segments.regular[-1]), int(segments.high_end[-1])
    (12, 173, 394)
    """

    year: IntArray
    regular: IntArray
    high_end: IntArray


def load_retention_segments() -> RetentionSegments:
    """Load the contractual retention data of Fader & Hardie (2007).

    Two segments of a subscription business, each a cohort of 1,000 customers acquired at
    year 0, with the number still active at the start of each of years 0..12. Fader & Hardie
    fit the shifted-beta-geometric model to years 0..7 and compare its projection with years
    8..12. The counts are the survivor table of their worked example (Table 1 and Figure 1 of
    the paper, there shown as percentages of the cohort; 1,000 customers each).

    Returns
    -------
    RetentionSegments
        Read-only int64 arrays ``year``, ``regular`` and ``high_end``.

    References
    ----------
    .. [1] P. S. Fader and B. G. S. Hardie, "How to Project Customer Retention", Journal of
       Interactive Marketing 21(1), 76-90, 2007.

    Examples
    --------
    >>> import retention_kit as rk
    >>> segments = rk.datasets.load_retention_segments()
    >>> segments.regular[:8].tolist()
    [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> int(segments.high_end[-1])
    394
    """
    with resources.files(__package__).joinpath("retention_segments.csv").open("r") as text:
        table = np.loadtxt(text, delimiter=",", skiprows=1, dtype=np.int64)
    return RetentionSegments(
        year=readonly(table[:, 0]), regular=readonly(table[:, 1]), high_end=readonly(table[:, 2])
    )


def load_donations() -> DiscreteSummary:
    """Load the donations data of Fader, Hardie & Shang (2010): repeat giving over 6 years.

    The 11,104 supporters who made their first-ever donation to a US nonprofit organization
    in 1995, and whether each donated again in each of the 6 years 1996-2001: one transaction
    opportunity per year (the annual fund drive), at most one counted per year. Each row is a
    recency/frequency pattern with the number of supporters sharing it, so the summary is in
    compressed form: 22 rows whose weights sum to 11,104. This is the calibration data of
    the paper's BG/BB analysis, as distributed by Hardie and, as ``donations.csv``, with the
    lifetimes package.

    Returns
    -------
    DiscreteSummary
        frequency x (repeat donation years), recency t_x (the last of them, 1-6; 0 for none),
        n_periods = 6, and weight (supporters per pattern).

    References
    ----------
    .. [1] P. S. Fader, B. G. S. Hardie and J. Shang, "Customer-Base Analysis in a
       Discrete-Time Noncontractual Setting", Marketing Science 29(6), 1086-1108, 2010.

    Examples
    --------
    >>> import retention_kit as rk
    >>> donations = rk.datasets.load_donations()
    >>> len(donations), donations.n_customers
    (22, 11104)
    >>> int(donations.weight[0]), int(donations.weight[-1])  # nobody again; every year
    (3464, 1203)
    """
    with resources.files(__package__).joinpath("donations.csv").open("r") as text:
        table = np.loadtxt(text, delimiter=",", skiprows=1)
    return DiscreteSummary(
        frequency=table[:, 0], recency=table[:, 1], n_periods=table[:, 2], weight=table[:, 3]
    )
