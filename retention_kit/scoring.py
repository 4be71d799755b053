"""Scoring customers where the data lives: P(alive), expected purchases and CLV as new columns.

A per-customer summary that lives in DuckDB, Polars, Dask or Spark is scored batch by batch by
the engine itself, through its own batch-map facility (DuckDB's ``DuckDBPyRelation.map``,
a Polars batch UDF, Dask's ``map_partitions``, Spark's ``mapInArrow``); each batch is scored
by the same numpy functions as an in-memory `CustomerSummary`. Nothing is collected: the result
is a frame of the same engine with three more columns, to write out or join on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from . import _lazy
from ._errors import InvalidDataError
from ._frames import is_lazy, require_columns, to_narwhals
from ._periods import check_period
from ._typing import FloatArray, Period, TimeUnit
from .clv import SpendModel, TransactionModel, customer_lifetime_value
from .models._base import Model, model_from_dict
from .models.bgbb import BGBB
from .summary import CustomerSummary, DiscreteSummary

__all__ = ["SCORE_COLUMNS", "lazy_summary", "score"]

SCORE_COLUMNS = ("probability_alive", "expected_purchases", "clv")
"""The columns `score` adds: P(alive), expected purchases and (with a spend model) CLV."""

_UNIT_DAYS = {"D": 1, "W": 7}
_DISTRIBUTED = (
    nw.Implementation.DASK,
    nw.Implementation.PYSPARK,
    nw.Implementation.PYSPARK_CONNECT,
)


def lazy_summary(
    transactions: Any,
    *,
    period: Period = "D",
    unit: TimeUnit | None = None,
    observation_end: Any = None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
) -> Any:
    """Summarize a lazy transaction log into a lazy per-customer summary of the same engine.

    The statistics are those of `summarize`, computed by the engine; the result is not
    collected, so it can be scored with `score`, joined or written out by the engine.

    Parameters
    ----------
    transactions : lazy frame
        The log: a Polars LazyFrame, a DuckDB relation, a Dask or PySpark DataFrame, or a
        narwhals ``LazyFrame``.
    period, unit, observation_end
        As in `summarize`.
    customer_id, timestamp, amount : str
        Column names of the log.

    Returns
    -------
    lazy frame
        Of the same engine (a narwhals ``LazyFrame`` when one was given), one row per
        customer, in no particular order, with columns ``customer_id`` (named as in the log),
        ``frequency`` (integer), ``recency`` and ``T`` (floats, in ``unit``), and
        ``monetary_value`` when ``amount`` is given.

    Raises
    ------
    InvalidDataError
        When ``transactions`` is not a lazy frame, and for everything `summarize` refuses.
        The log is read once to check it (missing values, negative amounts) and to find its
        last transaction, which is the default ``observation_end``.

    See Also
    --------
    summarize : the same statistics, collected into a `CustomerSummary`.
    score : score the customers of this summary inside the engine.

    Examples
    --------
    >>> import polars as pl
    >>> import retention_kit as rk
    >>> log = pl.LazyFrame({"customer_id": [1, 1, 2],
    ...                     "timestamp": pl.Series(["2024-01-01", "2024-01-08", "2024-01-03"])
    ...                     .str.to_datetime()})
    >>> rk.lazy_summary(log).sort("customer_id").collect().rows()
    [(1, 1, 7.0, 7.0), (2, 0, 0.0, 5.0)]
    """
    from .summarizing import _check_unit

    if not is_lazy(transactions):
        raise InvalidDataError(
            "'transactions' must be a lazy frame (Polars LazyFrame, DuckDB relation, Dask or "
            f"PySpark DataFrame); got {type(transactions).__name__}: use summarize for "
            "in-memory data",
            field="transactions",
        )
    period = check_period(period)
    unit = _check_unit(unit, period, "lazy_summary")
    log = _lazy.LazyLog.read(
        transactions, customer_id=customer_id, timestamp=timestamp, amount=amount
    )
    query = _lazy.SummaryQuery.build(
        log,
        period=period,
        unit_days=_UNIT_DAYS[unit],
        observation_end=observation_end,
        period_names={"D": "day", "W": "week", "M": "month"},
    )
    result = query.lazy(customer_id=customer_id)
    return result if isinstance(transactions, nw.LazyFrame) else result.to_native()


def _score_arrays(
    model: Any,
    spend: Any,
    columns: dict[str, NDArray[Any]],
    *,
    unit: TimeUnit,
    horizon: float,
    discount_rate: float,
    step: float,
) -> dict[str, FloatArray]:
    """Score one batch: the in-memory path on a summary of the batch's rows.

    The summary is a `DiscreteSummary` when the batch has ``n_periods`` (BG/BB), otherwise a
    `CustomerSummary`.
    """
    if len(columns["frequency"]) == 0:  # engines ask an empty batch for the output types
        empty = np.zeros(0)
        names = SCORE_COLUMNS if spend is not None else SCORE_COLUMNS[:2]
        return dict.fromkeys(names, empty)
    summary: CustomerSummary | DiscreteSummary
    if "n_periods" in columns:
        summary = DiscreteSummary(
            frequency=np.asarray(columns["frequency"]),
            recency=np.asarray(columns["recency"]),
            n_periods=np.asarray(columns["n_periods"]),
        )
    else:
        summary = CustomerSummary(
            frequency=np.asarray(columns["frequency"], dtype=np.float64),
            recency=np.asarray(columns["recency"], dtype=np.float64),
            T=np.asarray(columns["T"], dtype=np.float64),
            monetary_value=(
                None
                if "monetary_value" not in columns
                else np.asarray(columns["monetary_value"], dtype=np.float64)
            ),
            unit=unit,
        )
    out = {
        "probability_alive": np.asarray(model.probability_alive(summary), dtype=np.float64),
        "expected_purchases": np.asarray(
            model.conditional_expected_purchases(horizon, summary), dtype=np.float64
        ),
    }
    if spend is not None:
        out["clv"] = customer_lifetime_value(
            model, spend, summary, horizon=horizon, discount_rate=discount_rate, step=step
        )
    return out


Scorer = Callable[[Callable[[str], NDArray[Any]]], dict[str, FloatArray]]
"""A batch scorer: given a way to read a batch's columns by name, return the new columns."""


def _scorer(
    model: Any,
    spend: Any,
    names: dict[str, str],
    *,
    portable: bool,
    unit: TimeUnit,
    horizon: float,
    discount_rate: float,
    step: float,
) -> Scorer:
    """Return the batch scorer of ``model`` and ``spend``.

    With ``portable``, for engines that ship the function to other processes (Dask, Spark),
    the function holds the models' ``to_dict()`` form and rebuilds them for each batch, so no
    model object is ever serialized.
    """
    models: list[Any] = [model, spend]
    if portable:
        models = [m.to_dict() if isinstance(m, Model) else m for m in models]

    def score_batch(column: Callable[[str], NDArray[Any]]) -> dict[str, FloatArray]:
        transactions, spending = (model_from_dict(m) if isinstance(m, dict) else m for m in models)
        return _score_arrays(
            transactions,
            spending,
            {field: column(name) for field, name in names.items()},
            unit=unit,
            horizon=horizon,
            discount_rate=discount_rate,
            step=step,
        )

    return score_batch


def score(
    model: TransactionModel[CustomerSummary] | BGBB,
    summary: Any,
    *,
    horizon: float,
    spend_model: SpendModel[CustomerSummary] | float | None = None,
    discount_rate: float = 0.0,
    step: float = 1.0,
    unit: TimeUnit | None = None,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    monetary_value: str = "monetary_value",
    n_periods: str = "n_periods",
) -> Any:
    """Add P(alive), conditional expected purchases and CLV to a per-customer frame.

    The frame is scored where it lives, in batches, by the numpy functions of the in-memory
    path; nothing is collected.

    Parameters
    ----------
    model : transaction model
        A fitted (or parametrized) model with ``probability_alive`` and
        ``conditional_expected_purchases``: `BGNBD`, `ParetoNBD`, `MBGNBD` (per-customer
        frequency, recency and T) or `BGBB` (frequency, recency and n_periods, counted in
        transaction opportunities, as in `DiscreteSummary`).
    summary : dataframe
        One row per customer with the columns named below, in ``unit``: a lazy frame (Polars
        LazyFrame, DuckDB relation, Dask or PySpark DataFrame, for instance from
        `lazy_summary`) or an eager one (pandas, Polars, pyarrow). Other columns (the customer
        id) are kept.
    horizon : float
        The horizon of the expected purchases and of the CLV, in ``unit``, > 0; for `BGBB`,
        a whole number of future opportunities.
    spend_model : spend model or float, optional
        A `GammaGamma` (which reads the ``monetary_value`` column) or the value of a purchase
        (the only choice with `BGBB`); with it, a ``clv`` column is added, as
        `customer_lifetime_value`.
    discount_rate, step : float
        The discounting of the CLV, as in `customer_lifetime_value`.
    unit : {"D", "W"}, optional
        The unit of ``recency`` and ``T``; default: the model's unit (days when it has none).
    frequency, recency, T, monetary_value, n_periods : str
        Column names (``n_periods`` for `BGBB` only, in place of ``T``).

    Returns
    -------
    dataframe
        Of the same engine and kind (lazy stays lazy), with ``probability_alive``,
        ``expected_purchases`` (E[Y(horizon) | x, t_x, T]) and, with ``spend_model``,
        ``clv`` added as float columns.

    Raises
    ------
    InvalidDataError
        When a column is absent, or ``horizon``, ``discount_rate`` or ``step`` are invalid
        (checked on the spot); a batch breaking a rule of `CustomerSummary` raises it inside the
        engine, which reports it in its own exception.
    TypeError
        For a lazy engine without a batch-map facility here (SQLFrame, Ibis, ...).

    See Also
    --------
    lazy_summary : the per-customer summary of a lazy transaction log, to score.
    customer_lifetime_value : the CLV of an in-memory summary.

    Notes
    -----
    The batches are those of the engine: DuckDB's ``DuckDBPyRelation.map`` (chunks of 2048
    rows as pandas frames; pandas must be installed), a Polars ``map_batches`` UDF on the
    struct of the columns, Dask's ``map_partitions`` and Spark's ``mapInArrow`` (Arrow
    record batches). The model and the spend model go to Dask and Spark workers as their
    ``to_dict()`` form and are rebuilt there; the workers need retention_kit installed.

    Examples
    --------
    >>> import polars as pl
    >>> import retention_kit as rk
    >>> model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    >>> customers = pl.LazyFrame({"customer_id": [1, 2], "frequency": [2, 0],
    ...                           "recency": [30.43, 0.0], "T": [38.86, 38.86]})
    >>> scored = rk.score(model, customers, horizon=52.0, spend_model=20.0)
    >>> scored.collect().columns
    ['customer_id', 'frequency', 'recency', 'T', 'probability_alive', 'expected_purchases', 'clv']

    A contractual-style base of donors with six yearly opportunities each, by BG/BB:

    >>> donors = pl.DataFrame({"frequency": [0, 3, 6], "recency": [0, 4, 6], "n_periods": 6})
    >>> bgbb = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    >>> scored = rk.score(bgbb, donors, horizon=5, spend_model=10.0)
    >>> scored["expected_purchases"].round(3).to_list()
    [0.073, 1.034, 3.752]
    """
    if (
        isinstance(horizon, bool)
        or not isinstance(horizon, int | float | np.integer | np.floating)
        or not (math.isfinite(horizon) and horizon > 0)
    ):
        raise InvalidDataError(
            f"The 'horizon' parameter of score must be a finite number > 0; got {horizon!r} "
            "instead.",
            field="horizon",
        )
    unit = unit if unit is not None else (getattr(model, "unit", None) or "D")
    if unit not in _UNIT_DAYS:
        raise InvalidDataError(
            f"The 'unit' parameter of score must be 'D' or 'W'; got {unit!r} instead.",
            field="unit",
        )
    discrete = isinstance(model, BGBB)
    if discrete and horizon != round(horizon):
        raise InvalidDataError(
            "The 'horizon' parameter of score must be a whole number of opportunities for "
            f"BGBB; got {horizon!r} instead.",
            field="horizon",
        )
    names = {"frequency": frequency, "recency": recency}
    names |= {"n_periods": n_periods} if discrete else {"T": T}
    if spend_model is not None and isinstance(spend_model, SpendModel):
        names["monetary_value"] = monetary_value
    frame = to_narwhals(summary)
    require_columns(frame, *names.values())
    options: dict[str, Any] = {
        "unit": unit,
        "horizon": horizon,
        "discount_rate": discount_rate,
        "step": step,
    }
    # One customer scored on the spot: bad options and a model of the wrong kind fail here,
    # not inside the engine.
    _score_arrays(
        model,
        spend_model,
        {"frequency": np.zeros(1), "recency": np.zeros(1)}
        | ({"n_periods": np.ones(1)} if discrete else {"T": np.ones(1)})
        | ({"monetary_value": np.zeros(1)} if "monetary_value" in names else {}),
        **options,
    )
    added = [name for name in SCORE_COLUMNS if name != "clv" or spend_model is not None]
    engine = frame.implementation
    portable = engine in _DISTRIBUTED
    scorer = _scorer(model, spend_model, names, portable=portable, **options)
    if isinstance(frame, nw.DataFrame):
        return _score_eager(frame, scorer, summary)
    native = frame.to_native()
    if engine is nw.Implementation.POLARS:
        result = _score_polars(native, scorer, names, added)
    elif engine is nw.Implementation.DUCKDB:
        result = _score_duckdb(native, scorer)
    elif engine is nw.Implementation.DASK:
        result = _score_dask(native, scorer, added)
    elif engine in (nw.Implementation.PYSPARK, nw.Implementation.PYSPARK_CONNECT):
        result = _score_spark(native, scorer, added)
    else:
        raise TypeError(
            f"score has no batch-map path for {engine}; score a DuckDB, Polars, Dask or Spark "
            "frame, or collect the summary and use the model's methods"
        )
    return nw.from_native(result) if isinstance(summary, nw.LazyFrame) else result


def _score_eager(frame: nw.DataFrame[Any], scorer: Scorer, original: Any) -> Any:
    scores = scorer(lambda name: frame[name].to_numpy())
    result = frame.with_columns(
        nw.new_series(name, values, nw.Float64, backend=frame.implementation)
        for name, values in scores.items()
    )
    return result if isinstance(original, nw.DataFrame) else result.to_native()


def _score_polars(native: Any, scorer: Scorer, names: dict[str, str], added: list[str]) -> Any:
    import polars as pl

    inputs = list(dict.fromkeys(names.values()))

    def batch(values: Any) -> Any:
        columns = values.struct.unnest()
        scores = scorer(lambda name: columns[name].to_numpy())
        return pl.DataFrame(scores).to_struct()

    struct = pl.Struct(dict.fromkeys(added, pl.Float64))
    scores = pl.struct(inputs).map_batches(batch, return_dtype=struct, is_elementwise=True)
    return native.with_columns(scores.alias("rk_scores")).unnest("rk_scores")


def _score_duckdb(native: Any, scorer: Scorer) -> Any:
    def batch(chunk: Any) -> Any:
        return chunk.assign(**scorer(lambda name: chunk[name].to_numpy()))

    return native.map(batch)  # called first on an empty chunk, for the output types


def _score_dask(native: Any, scorer: Scorer, added: list[str]) -> Any:
    def batch(part: Any) -> Any:
        return part.assign(**scorer(lambda name: part[name].to_numpy()))

    meta = {**dict(native.dtypes), **{name: np.dtype(np.float64) for name in added}}
    return native.map_partitions(batch, meta=meta)


def _arrow_column(batch: Any, name: str) -> NDArray[Any]:
    values: NDArray[Any] = batch.column(name).to_numpy(zero_copy_only=False)
    return values


def _score_spark(native: Any, scorer: Scorer, added: list[str]) -> Any:
    from pyspark.sql.types import DoubleType, StructField, StructType

    def batches(stream: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for batch in stream:
            if batch.num_rows == 0:
                continue
            scores = scorer(partial(_arrow_column, batch))
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, *(pa.array(scores[name]) for name in added)],
                names=[*batch.schema.names, *added],
            )

    schema = StructType([*native.schema.fields, *(StructField(n, DoubleType()) for n in added)])
    return native.mapInArrow(batches, schema)
