"""Type aliases and option sets shared across the package."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ArrayLike",
    "BoolArray",
    "DatetimeArray",
    "FloatArray",
    "IntArray",
    "NegativeAmounts",
    "Period",
    "TimeUnit",
]

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]
DatetimeArray: TypeAlias = NDArray[np.datetime64]

Period: TypeAlias = Literal["D", "W", "M"]
"""Calendar period: ``"D"`` day, ``"W"`` week starting Monday, ``"M"`` month."""

TimeUnit: TypeAlias = Literal["D", "W"]
"""Unit of model time: ``"D"`` day or ``"W"`` week of 7 days."""

NegativeAmounts: TypeAlias = Literal["raise", "drop"]
"""What to do with rows whose amount is negative (returns): refuse them, or drop them."""
