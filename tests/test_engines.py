"""Lazy frames in DuckDB, Polars, Dask and Spark give the numpy path's results.

Every engine runs for real: DuckDB and Polars in-process, Dask on an in-process LocalCluster,
Spark in local mode (the `spark` and `dask_client` fixtures of conftest.py). An engine that is
not installed is skipped; CI installs them all through the ``test`` extra.

Counts, periods and times must be identical. The spend sums behind ``monetary_value`` are added
up by each engine in its own order, so they may differ from numpy's in the last bits: they are
compared to 1e-12, relative. So are CLVs, whose discounted sums numpy itself rounds differently
for batches of different shapes.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import narwhals as nw
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retention_kit as rk
from retention_kit import _lazy
from retention_kit._periods import period_index
from tests.strategies import transaction_arrays

pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.filterwarnings(
    # narwhals announces that its Dask support moves to a separate package
    "ignore:Dask support is moving:FutureWarning"
)

IN_PROCESS = ["polars", "duckdb"]
# Each query of Dask or Spark costs about a second or more on a laptop, whatever its size.
DISTRIBUTED = [
    pytest.param("dask", marks=pytest.mark.slow),
    pytest.param("spark", marks=pytest.mark.slow),
]
SPEND_RTOL = 1e-12

Engine = Callable[[Any], Any]


def _engine(name: str, request: pytest.FixtureRequest) -> Engine:
    """A function turning a pandas frame into a lazy frame of the engine ``name``."""
    if name == "polars":
        pl = pytest.importorskip("polars")
        return lambda frame: pl.from_pandas(frame).lazy()
    if name == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        return lambda frame: connection.from_df(frame)
    if name == "dask":
        request.getfixturevalue("dask_client")
        dd = pytest.importorskip("dask.dataframe")
        return lambda frame: dd.from_pandas(frame, npartitions=2)
    session = request.getfixturevalue("spark")
    return session.createDataFrame  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=[*IN_PROCESS, *DISTRIBUTED])
def engine(request: pytest.FixtureRequest) -> Engine:
    return _engine(request.param, request)


@pytest.fixture(scope="module", params=IN_PROCESS)
def in_process(request: pytest.FixtureRequest) -> Engine:
    return _engine(request.param, request)


@pytest.fixture(scope="module")
def cdnow() -> Any:
    tx = rk.datasets.load_cdnow()
    return pd.DataFrame(
        {"customer_id": tx.customer_id, "timestamp": tx.timestamp, "amount": tx.amount}
    )


# --- comparing results -----------------------------------------------------------------------


def assert_same(got: Any, expected: Any) -> None:
    """The lazy result equals the eager one (spend to SPEND_RTOL)."""
    assert type(got) is type(expected)
    if isinstance(expected, rk.CustomerSummary):
        assert got.unit == expected.unit
        for name in ("frequency", "recency", "T", "weight"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
        if expected.customer_id is None:
            assert got.customer_id is None
        else:
            assert got.customer_id.tolist() == expected.customer_id.tolist()
        _assert_spend(got.monetary_value, expected.monetary_value)
    elif isinstance(expected, rk.CalibrationHoldout):
        assert_same(got.calibration, expected.calibration)
        np.testing.assert_array_equal(got.holdout_frequency, expected.holdout_frequency)
        assert got.holdout_duration == expected.holdout_duration
        _assert_spend(got.holdout_monetary_value, expected.holdout_monetary_value)
    elif isinstance(expected, rk.PurchaseCycle):
        for name in ("times", "at_risk", "events", "survival", "n_gaps", "last_purchase"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
        np.testing.assert_array_equal(got.median_gap, expected.median_gap)  # NaN-aware
        assert got.customer_id.tolist() == expected.customer_id.tolist()
        assert got.observation_end == expected.observation_end
        assert got.period == expected.period
        same_naive = got.naive_median == expected.naive_median
        assert same_naive or (math.isnan(got.naive_median) and math.isnan(expected.naive_median))
    elif isinstance(expected, tuple):  # an error: its type and field
        assert got == expected
    else:  # PeriodCounts, RetentionSeries, CohortTable, float
        assert got == expected


def _assert_spend(got: Any, expected: Any) -> None:
    if expected is None:
        assert got is None
    else:
        np.testing.assert_allclose(got, expected, rtol=SPEND_RTOL, atol=0)


def _outcome(compute: Callable[[], Any]) -> Any:
    """The result, or the type and field of the InvalidDataError raised instead."""
    try:
        return compute()
    except rk.InvalidDataError as error:
        return ("InvalidDataError", error.field)


def every_result(data: Any, *, amount: str | None) -> dict[str, Any]:
    """Every lazily computed function of the library, on ``data``, with fixed options."""
    calls: dict[str, Callable[[], Any]] = {
        "summary D in W": lambda: rk.summarize(data, period="D", unit="W", amount=amount),
        "summary W to 2024-06-30": lambda: rk.summarize(
            data, period="W", observation_end="2024-06-30", amount=amount
        ),
        "summary M compressed": lambda: rk.summarize(data, period="M", compress=True),
        "calibration": lambda: rk.calibration_holdout(
            data,
            calibration_end="2024-06-15T12:00",
            observation_end="2025-03-01",
            unit="W",
            amount=amount,
        ),
        "counts": lambda: rk.period_counts(
            data, start="2024-04-01", end="2024-05-01", active_window=30.5
        ),
        "series M": lambda: rk.retention_series(data, freq="M", active_window=45),
        "series W": lambda: rk.retention_series(data, freq="W", active_window=10),
        "series D": lambda: rk.retention_series(
            data, freq="D", active_window=3.25, observation_end="2024-03-01"
        ),
        "repeat": lambda: rk.repeat_purchase_rate(data),
        "frequency": lambda: rk.purchase_frequency(data),
        "cohorts M": lambda: rk.cohort_retention(data, freq="M"),
        "cohorts W": lambda: rk.cohort_retention(data, freq="W"),
        "cycle D": lambda: rk.purchase_cycle(data, period="D", observation_end="2025-03-01"),
        "cycle M": lambda: rk.purchase_cycle(data, period="M"),
    }
    return {name: _outcome(call) for name, call in calls.items()}


def assert_every_result_same(make: Engine, frame: Any, *, amount: str | None) -> None:
    expected = every_result(frame, amount=amount)
    got = every_result(make(frame), amount=amount)
    for name, value in expected.items():
        try:
            assert_same(got[name], value)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None


def _log_frame(ids: Any, timestamps: Any, amounts: Any) -> Any:
    columns = {"customer_id": ids, "timestamp": timestamps.astype("datetime64[us]")}
    if amounts is not None:
        columns["amount"] = amounts
    return pd.DataFrame(columns)


# --- CDNOW -----------------------------------------------------------------------------------


def test_cdnow_every_function(engine: Engine, cdnow: Any) -> None:
    # Shifted so that the fixed moments of every_result fall inside the log (1997 -> 2024).
    shifted = cdnow.assign(timestamp=cdnow["timestamp"] + pd.Timedelta(days=9861))
    assert_every_result_same(engine, shifted, amount="amount")


def test_cdnow_published_summary(engine: Engine, cdnow: Any) -> None:
    """The calibration data of Fader, Hardie & Lee (2005), computed by each engine."""
    summary = rk.summarize(
        engine(cdnow), period="D", unit="W", observation_end="1997-09-30", compress=True
    )
    assert summary.n_customers == 2357
    assert int((summary.frequency * summary.weight).sum()) == 2457
    expected = rk.summarize(cdnow, unit="W", observation_end="1997-09-30", compress=True)
    assert_same(summary, expected)


def test_cdnow_before_1970_and_string_ids(in_process: Engine, cdnow: Any) -> None:
    """Negative day numbers (floor division, Monday weeks) and string customer ids."""
    early = cdnow.assign(
        timestamp=cdnow["timestamp"] - pd.Timedelta(days=30 * 365),
        customer_id="c" + cdnow["customer_id"].astype(str),
    )
    for period in ("D", "W", "M"):
        expected = rk.summarize(early, period=period, amount="amount")
        assert_same(rk.summarize(in_process(early), period=period, amount="amount"), expected)
    assert rk.retention_series(in_process(early), freq="W", active_window=20) == (
        rk.retention_series(early, freq="W", active_window=20)
    )
    assert_same(rk.purchase_cycle(in_process(early)), rk.purchase_cycle(early))
    assert rk.cohort_retention(in_process(early)) == rk.cohort_retention(early)


def test_calendar_arithmetic(engine: Engine) -> None:
    """Day numbers, times of day and months of the engine equal numpy's, 1890 to 2110."""
    regular = np.arange(
        np.datetime64("1890-01-01T00:00"), np.datetime64("2110-01-01"), np.timedelta64(997, "h")
    )
    edges = np.array(
        [
            "1900-02-28T23:59:59.999999",
            "1900-03-01",
            "1969-12-31T23:59:59.500000",
            "1970-01-01",
            "1999-12-31T12:00",
            "2000-02-29T00:00:00.000001",
            "2000-03-01",
            "2100-03-01",
        ],
        dtype="datetime64[us]",
    )
    timestamps = np.concatenate((regular.astype("datetime64[us]"), edges))
    frame = pd.DataFrame({"customer_id": np.arange(timestamps.size), "timestamp": timestamps})
    log = _lazy.LazyLog.read(
        engine(frame), customer_id="customer_id", timestamp="timestamp", amount=None
    )
    found = _lazy.sorted_by_customer(_lazy.collect(log.frame.drop(_lazy.TS)))
    micros = timestamps.view(np.int64)
    np.testing.assert_array_equal(found[_lazy.TIME].astype(np.int64), micros)
    np.testing.assert_array_equal(found[_lazy.DAY].astype(np.int64), micros // _lazy.DAY_US)
    np.testing.assert_array_equal(
        found[_lazy.MONTH].astype(np.int64), period_index(timestamps, "M")
    )
    assert log.start == micros.min()
    assert log.end == micros.max()


# --- random logs -----------------------------------------------------------------------------


RANDOM_LOGS = st.one_of(
    transaction_arrays(max_customers=6, max_rows=30),
    # purchases at midnight sit exactly on the boundaries of days, weeks and months
    transaction_arrays(max_customers=5, max_rows=25, same_day_times=False),
)


@pytest.mark.parametrize(
    ("name", "examples"),
    [
        ("polars", 25),
        # About 0.15 s a query for DuckDB, and a second or more for Dask and Spark.
        pytest.param("duckdb", 8, marks=pytest.mark.slow),
        pytest.param("dask", 3, marks=pytest.mark.slow),
        pytest.param("spark", 3, marks=pytest.mark.slow),
    ],
)
def test_random_logs(name: str, examples: int, request: pytest.FixtureRequest) -> None:
    make = _engine(name, request)

    @settings(max_examples=examples)
    @given(log=RANDOM_LOGS, with_amount=st.booleans())
    def check(log: Any, with_amount: bool) -> None:
        ids, timestamps, amounts = log
        amounts = amounts if with_amount else None
        frame = _log_frame(ids, timestamps, amounts)
        assert_every_result_same(make, frame, amount="amount" if with_amount else None)

    check()


# --- scoring ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(cdnow: Any) -> tuple[Any, Any, Any]:
    summary = rk.summarize(cdnow, unit="W", observation_end="1997-09-30", amount="amount")
    model = rk.MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="W")
    spend = rk.GammaGamma(p=6.25, q=3.74, v=15.44)
    return summary, model, spend


def _expected_scores(summary: Any, model: Any, spend: Any) -> dict[str, Any]:
    return {
        "probability_alive": model.probability_alive(summary),
        "expected_purchases": model.conditional_expected_purchases(26.0, summary),
        "clv": rk.customer_lifetime_value(
            model, spend, summary, horizon=26.0, discount_rate=0.01, step=2.0
        ),
    }


def _collected(frame: Any) -> dict[str, Any]:
    """Any frame (lazy or not) as numpy columns, in customer id order."""
    wrapped = nw.from_native(frame)
    if isinstance(wrapped, nw.LazyFrame):
        wrapped = wrapped.collect()
    columns = {name: wrapped[name].to_numpy() for name in wrapped.columns}
    order = np.argsort(columns["customer_id"], kind="stable")
    return {name: values[order] for name, values in columns.items()}


def _assert_scores(got: dict[str, Any], expected: dict[str, Any]) -> None:
    np.testing.assert_array_equal(got["probability_alive"], expected["probability_alive"])
    np.testing.assert_array_equal(got["expected_purchases"], expected["expected_purchases"])
    np.testing.assert_allclose(got["clv"], expected["clv"], rtol=SPEND_RTOL, atol=0)


def test_score_in_every_engine(engine: Engine, fitted: Any) -> None:
    summary, model, spend = fitted
    frame = summary.to_frame("pandas")
    scored = rk.score(
        model, engine(frame), horizon=26.0, spend_model=spend, discount_rate=0.01, step=2.0
    )
    assert nw.from_native(scored).implementation == nw.from_native(engine(frame)).implementation
    got = _collected(scored)
    assert got["customer_id"].tolist() == summary.customer_id.tolist()
    _assert_scores(got, _expected_scores(summary, model, spend))


def _donors() -> pd.DataFrame:
    """The distinct donation histories (six yearly opportunities), one customer each."""
    donors = rk.datasets.load_donations()
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(donors)),
            "frequency": donors.frequency.astype(np.int64),
            "recency": donors.recency.astype(np.int64),
            "n_periods": donors.n_periods.astype(np.int64),
        }
    )


def test_score_bgbb_in_every_engine(engine: Engine) -> None:
    """BG/BB reads n_periods in place of T; its scores are the model's own predictions."""
    frame = _donors()
    model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    scored = rk.score(model, engine(frame), horizon=5, spend_model=10.0, discount_rate=0.1)
    got = _collected(scored)
    assert got["customer_id"].tolist() == frame["customer_id"].tolist()
    summary = rk.DiscreteSummary(frame["frequency"], frame["recency"], frame["n_periods"])
    np.testing.assert_array_equal(got["probability_alive"], model.probability_alive(summary))
    np.testing.assert_array_equal(
        got["expected_purchases"], model.conditional_expected_purchases(5, summary)
    )
    clv = rk.customer_lifetime_value(model, 10.0, summary, horizon=5, discount_rate=0.1)
    np.testing.assert_allclose(got["clv"], clv, rtol=1e-12, atol=0)


def test_score_bgbb_refuses_bad_input() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(_donors()).lazy()
    model = rk.BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    with pytest.raises(rk.InvalidDataError, match="'n_periods'"):
        rk.score(model, frame.drop("n_periods"), horizon=5)
    with pytest.raises(rk.InvalidDataError, match="whole number of opportunities"):
        rk.score(model, frame, horizon=2.5)
    with pytest.raises(rk.InvalidDataError, match="needs a CustomerSummary"):
        rk.score(
            model,
            frame.with_columns(monetary_value=pl.lit(20.0)),
            horizon=5,
            spend_model=rk.GammaGamma(p=6.25, q=3.74, v=15.44),
        )


def test_lazy_summary_then_score(engine: Engine, cdnow: Any, fitted: Any) -> None:
    """From the transactions to the scores without collecting the customers."""
    summary, model, spend = fitted
    lazy = rk.lazy_summary(engine(cdnow), unit="W", observation_end="1997-09-30", amount="amount")
    columns = _collected(lazy)
    assert list(columns) == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert columns["customer_id"].tolist() == summary.customer_id.tolist()
    for name in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(columns[name], getattr(summary, name))
    _assert_spend(columns["monetary_value"], summary.monetary_value)
    scored = rk.score(model, lazy, horizon=26.0, spend_model=spend, discount_rate=0.01, step=2.0)
    _assert_scores(_collected(scored), _expected_scores(summary, model, spend))


@pytest.mark.parametrize("backend", ["pandas", "polars", "pyarrow"])
def test_score_eager_frames(backend: str, fitted: Any) -> None:
    pytest.importorskip(backend)
    summary, model, spend = fitted
    frame = summary.to_frame(backend)
    scored = rk.score(model, frame, horizon=26.0, spend_model=spend, discount_rate=0.01, step=2.0)
    assert type(scored) is type(frame)
    _assert_scores(_collected(scored), _expected_scores(summary, model, spend))


def test_score_without_spend_model_and_in_another_unit(fitted: Any) -> None:
    pl = pytest.importorskip("polars")
    summary, model, _ = fitted
    scored = rk.score(model, pl.from_pandas(summary.to_frame()).lazy(), horizon=26.0).collect()
    assert scored.columns[-2:] == ["probability_alive", "expected_purchases"]
    in_days = rk.CustomerSummary(summary.frequency, summary.recency * 7, summary.T * 7)
    with pytest.raises(rk.InvalidDataError, match="unit"):
        rk.score(model, pl.from_pandas(in_days.to_frame()).lazy(), horizon=26.0, unit="D")


def test_score_refuses_bad_input(fitted: Any) -> None:
    pl = pytest.importorskip("polars")
    summary, model, spend = fitted
    frame = pl.from_pandas(summary.to_frame()).lazy()
    with pytest.raises(rk.InvalidDataError, match="'T'"):
        rk.score(model, frame.drop("T"), horizon=26.0)
    with pytest.raises(rk.InvalidDataError, match="monetary_value"):
        rk.score(model, frame.drop("monetary_value"), horizon=26.0, spend_model=spend)
    with pytest.raises(rk.InvalidDataError, match="horizon"):
        rk.score(model, frame, horizon=-1.0, spend_model=20.0)
    with pytest.raises(rk.InvalidDataError, match="frame"):
        rk.score(model, {"frequency": [1]}, horizon=26.0)


def test_score_empty_frames(in_process: Engine, fitted: Any) -> None:
    summary, model, spend = fitted
    empty = summary.to_frame("pandas").iloc[:0]
    scored = _collected(rk.score(model, in_process(empty), horizon=26.0, spend_model=spend))
    assert list(scored)[-3:] == ["probability_alive", "expected_purchases", "clv"]
    assert all(values.size == 0 for values in scored.values())


def test_lazy_summary_refuses_eager_frames(cdnow: Any) -> None:
    with pytest.raises(rk.InvalidDataError, match="lazy frame"):
        rk.lazy_summary(cdnow)


# --- validation inside the engine ------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "values", "rule"),
    [
        ("customer_id", [1.0, None, 2.0], "`customer_id` must not be missing: 1 of 3 rows"),
        ("amount", [1.0, float("nan"), 2.0], "`amount` must "),
        ("amount", [1.0, float("inf"), 2.0], "`amount` must be finite: 1 of 3 rows"),
        ("amount", [1.0, -5.0, -2.0], "`amount` must be >= 0: 2 of 3 rows"),
    ],
)
def test_engines_check_the_rules_of_transactions(
    in_process: Engine, column: str, values: list[Any], rule: str
) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1.0, 1.0, 2.0],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    frame[column] = values
    with pytest.raises(rk.InvalidDataError, match=rule.replace("(", r"\(")):
        rk.summarize(in_process(frame), amount="amount")
    with pytest.raises(rk.InvalidDataError):
        rk.period_counts(
            in_process(frame),
            start="2024-01-02",
            end="2024-01-04",
            active_window=3,
            amount="amount",
        )


def test_engines_refuse_absent_columns_empty_logs_and_bad_types(in_process: Engine) -> None:
    frame = pd.DataFrame(
        {"customer_id": [1, 2], "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"])}
    )
    with pytest.raises(rk.InvalidDataError, match="columns found"):
        rk.summarize(in_process(frame), customer_id="user")
    with pytest.raises(rk.InvalidDataError, match="empty"):
        rk.summarize(in_process(frame.iloc[:0]))
    with pytest.raises(rk.InvalidDataError, match="`customer_id` must hold dates"):
        rk.summarize(in_process(frame), timestamp="customer_id")
    with pytest.raises(rk.InvalidDataError, match="must be numeric"):
        rk.summarize(in_process(frame.assign(amount=["a", "b"])), amount="amount")
    with pytest.raises(rk.InvalidDataError, match="observation_end"):
        rk.summarize(in_process(frame), observation_end="2023-12-31")


def test_string_timestamps() -> None:
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    frame = pd.DataFrame(
        {"customer_id": [1, 1, 2], "timestamp": ["2024-01-01", "2024-01-08", "2024-01-03"]}
    )
    expected = rk.summarize(frame)
    assert_same(rk.summarize(pl.from_pandas(frame).lazy()), expected)
    with pytest.raises(rk.InvalidDataError, match="could not be parsed"):
        rk.summarize(pl.from_pandas(frame.assign(timestamp=["2024-01-01", "soon", "x"])).lazy())
    # DuckDB parses strings only with a format: it is refused with a clear message.
    with pytest.raises(rk.InvalidDataError, match="cast the column to timestamps"):
        rk.summarize(duckdb.from_df(frame))


def test_time_zones() -> None:
    """Aware timestamps count in UTC; an engine that cannot convert them says so."""
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "timestamp": pd.to_datetime(
                ["2024-01-01T23:30", "2024-01-08T00:30", "2024-01-03T12:00"]
            ).tz_localize("Europe/Berlin"),
        }
    )
    expected = rk.summarize(frame)  # the eager path converts to UTC
    assert expected.frequency.tolist() == [1.0, 0.0]
    assert_same(rk.summarize(pl.from_pandas(frame).lazy()), expected)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    assert_same(rk.summarize(connection.from_df(frame)), expected)
    connection.execute("SET TimeZone = 'America/New_York'")
    with pytest.raises(rk.InvalidDataError, match="time zone"):
        rk.summarize(connection.from_df(frame))


@pytest.mark.slow
def test_spark_counts_days_in_utc_only(request: pytest.FixtureRequest) -> None:
    session = request.getfixturevalue("spark")
    frame = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "timestamp": pd.to_datetime(
                ["2024-01-01T23:30", "2024-01-08T00:30", "2024-01-03T00:00"]
            ),
        }
    )
    instants = session.createDataFrame(frame)  # TIMESTAMP, read in the UTC session
    assert_same(rk.summarize(instants), rk.summarize(frame))
    session.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        with pytest.raises(rk.InvalidDataError, match="session time zone"):
            rk.summarize(instants)
        wall_clock = instants.selectExpr(
            "customer_id",
            "to_timestamp_ntz(date_format(timestamp, 'yyyy-MM-dd HH:mm:ss')) AS timestamp",
        )
        berlin = frame.assign(timestamp=frame["timestamp"] + pd.Timedelta(hours=1))
        assert_same(rk.summarize(wall_clock), rk.summarize(berlin))
    finally:
        session.conf.set("spark.sql.session.timeZone", "UTC")


def test_importing_the_library_imports_no_engine() -> None:
    engines = ["duckdb", "polars", "dask", "pyspark", "pandas", "pyarrow"]
    code = f"import sys, retention_kit\nprint([m for m in {engines!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
