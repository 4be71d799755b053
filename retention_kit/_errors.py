"""Exceptions and warnings raised by retention_kit."""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "FitError", "InvalidDataError", "SpendCorrelationWarning"]


class InvalidDataError(ValueError):
    """Input data breaks a documented rule.

    The message names the field, the rule, how many rows break it and the first few of them.

    Attributes
    ----------
    field : str
        The column or argument at fault.
    rows : tuple of int
        Up to five offending row positions (empty when the rule is not about rows).

    Examples
    --------
    >>> import retention_kit as rk
    >>> try:
    ...     rk.retention_rate(rk.PeriodCounts(start=0, end=5, new=5))
    ... except rk.InvalidDataError as error:
    ...     print(error.field)
    start
    """

    def __init__(self, message: str, *, field: str = "", rows: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.rows = rows


class FitError(RuntimeError):
    """A model fit could not produce finite parameter estimates.

    Examples
    --------
    >>> import retention_kit as rk
    >>> issubclass(rk.FitError, RuntimeError)
    True
    """


class ConvergenceWarning(UserWarning):
    """The optimizer stopped before meeting its convergence criterion.

    Examples
    --------
    >>> import retention_kit as rk
    >>> issubclass(rk.ConvergenceWarning, UserWarning)
    True
    """


class SpendCorrelationWarning(UserWarning):
    """Spend per purchase and purchase frequency look dependent, against a model's assumption.

    `retention_kit.GammaGamma.fit` warns with it when the Pearson correlation of frequency and
    mean spend among repeat buyers exceeds 0.3 in absolute value.

    Examples
    --------
    >>> import retention_kit as rk
    >>> issubclass(rk.SpendCorrelationWarning, UserWarning)
    True
    """
