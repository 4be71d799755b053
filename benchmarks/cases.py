"""The benchmark cases: the same data through retention_kit and through each peer.

A case loads its inputs once (`Case.inputs`) and, for each library, builds a thunk that runs
the operation and returns its answer as a dict of arrays, so answers can be compared across
libraries. Building the thunk (converting arrays to the pandas objects a peer wants, building
models at known parameters) is not timed; the thunk is. A library function that does not
exist yet raises `NotAvailable` when the thunk is built: it is reported, never faked.

Peers: lifetimes 0.11.3 for every model and for ``summarize``; for cohort tables and the
purchase cycle, which lifetimes lacks, a plain pandas implementation stands in as the
reference answer and a baseline ("pandas (reference code)"). clvkit and pymc-marketing (its
MAP fit and its predictions) join the cases where they compute the same thing, when they are
importable (``pip install -e ".[bench]"``); otherwise their rows are left out
(`OPTIONAL_PEERS`).
"""

from __future__ import annotations

import compileall
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import data

Answer = dict[str, Any]
Thunk = Callable[[], Answer]
Inputs = dict[str, Any]

RK = "retention_kit"
LIFETIMES = "lifetimes"
PANDAS = "pandas (reference code)"
CLVKIT = "clvkit"
PYMC = "pymc-marketing"
PYMC_FLAT = "pymc-marketing (MAP, flat priors)"
PYMC_PRIORS = "pymc-marketing (MAP, default priors)"
# Peers that are timed only where importable (the `bench` extra): library -> module.
OPTIONAL_PEERS = {
    CLVKIT: "clvkit",
    PYMC: "pymc_marketing",
    PYMC_FLAT: "pymc_marketing",
    PYMC_PRIORS: "pymc_marketing",
}

SCALES: dict[str, dict[str, int]] = {
    # customers: the BG/NBD base (fits, predictions, CLV); pareto: the Pareto/NBD base;
    # discrete: the BG/BB base; rows: the busy transaction log (summarize, cohorts, cycle).
    "tiny": {"customers": 2_000, "pareto": 1_000, "discrete": 1_000, "rows": 20_000},
    "quick": {"customers": 30_000, "pareto": 3_000, "discrete": 3_000, "rows": 300_000},
    "full": {"customers": 1_000_000, "pareto": 100_000, "discrete": 100_000, "rows": 10_000_000},
}
HORIZON_DAYS = 90.0  # conditional expected purchases over the next 90 days
BGBB_PERIODS = 12  # ... and over the next 12 periods for BG/BB
REPO = Path(__file__).resolve().parent.parent


class NotAvailable(Exception):  # noqa: N818 (reads as the status it reports)
    """The library does not provide the operation (yet)."""


def _rk(name: str) -> Any:
    import retention_kit as rk

    found = getattr(rk, name, None)
    if found is None:
        raise NotAvailable(f"rk.{name} does not exist yet")
    return found


@dataclass(frozen=True)
class Case:
    """One operation, its data and the libraries that perform it."""

    name: str
    title: str
    size_key: str
    describe: Callable[[Inputs], str]
    inputs: Callable[[int], Inputs]
    libraries: dict[str, Callable[[Inputs], Thunk]]
    tolerance: float
    peer_tolerance: dict[str, float] = field(default_factory=dict)  # a peer's known error
    kind: str = "call"  # "call": timed in-process; "process": a fresh interpreter per run
    fit_model: str | None = None  # rk model name when the case is a fit (for the LL check)
    reuse_peers_of: str | None = None  # take the peers' measurements from this case
    notes: str = ""
    peer_notes: dict[str, str] = field(default_factory=dict)  # printed on a peer's row
    # Peers whose fit maximizes another objective (a posterior with priors): their parameters
    # are compared, but a higher likelihood of ours does not make them agree.
    other_objective: tuple[str, ...] = ()

    def size(self, scale: str) -> int:
        return SCALES[scale][self.size_key]

    def tolerance_for(self, library: str) -> float:
        return self.peer_tolerance.get(library, self.tolerance)


# --- data --------------------------------------------------------------------------------------


def _customers(n: int) -> data.Log:
    return data.load(data.Spec("bgnbd", n, seed=11, params=dict(data.BGNBD_TRUTH)))


def _pareto(n: int) -> data.Log:
    return data.load(data.Spec("pareto", n, seed=12, params=dict(data.PARETO_TRUTH)))


def _busy_log(rows: int) -> data.Log:
    n = max(rows * 9 // 100, 100)  # about 12 rows per customer: enough to fill ``rows``
    spec = data.Spec("bgnbd", n, seed=7, params=dict(data.BUSY_BGNBD), max_rows=rows)
    return data.load(spec)


def _summary_inputs(log: data.Log) -> Inputs:
    return {
        "frequency": log.frequency,
        "recency": log.recency,
        "T": log.T,
        "monetary_value": log.monetary_value,
        "n": log.n_customers,
    }


def _log_inputs(log: data.Log) -> Inputs:
    import pandas as pd

    frame = pd.DataFrame(
        {"customer_id": log.customer_id, "timestamp": log.timestamp, "amount": log.amount}
    )
    return {"log": log, "frame": frame, "n": log.n_rows, "customers": log.n_customers}


def _describe_customers(inputs: Inputs) -> str:
    return f"{_count(inputs['n'])} customers"


def _describe_rows(inputs: Inputs) -> str:
    return f"{_count(inputs['n'])} rows, {_count(inputs['customers'])} customers"


def _count(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            value = n / size
            return f"{value:.{0 if value == int(value) else 2}f}{suffix}"
    return str(n)


def _rk_summary(inputs: Inputs, *, money: bool = False, rows: Any = None) -> Any:
    summary_cls = _rk("CustomerSummary")
    pick = (lambda a: a) if rows is None else (lambda a: a[rows])
    return summary_cls(
        frequency=pick(inputs["frequency"]),
        recency=pick(inputs["recency"]),
        T=pick(inputs["T"]),
        monetary_value=pick(inputs["monetary_value"]) if money else None,
        unit="D",
    )


def _pandas_summary(inputs: Inputs, rows: Any = None) -> Any:
    import pandas as pd

    pick = (lambda a: a) if rows is None else (lambda a: a[rows])
    return pd.DataFrame(
        {k: pick(inputs[k]) for k in ("frequency", "recency", "T", "monetary_value")}
    )


# --- summarize ---------------------------------------------------------------------------------


def _summary_answer(ids: Any, frequency: Any, recency: Any, T: Any, money: Any) -> Answer:
    order = np.argsort(np.asarray(ids), kind="stable")
    return {
        "customer_id": np.asarray(ids)[order].astype(np.float64),
        "frequency": np.asarray(frequency, dtype=np.float64)[order],
        "recency": np.asarray(recency, dtype=np.float64)[order],
        "T": np.asarray(T, dtype=np.float64)[order],
        "monetary_value": np.asarray(money, dtype=np.float64)[order],
    }


def _rk_summarize_frame(inputs: Inputs) -> Thunk:
    summarize = _rk("summarize")
    frame, end = inputs["frame"], str(inputs["log"].observation_end)

    def run() -> Answer:
        s = summarize(
            frame,
            customer_id="customer_id",
            timestamp="timestamp",
            amount="amount",
            period="D",
            observation_end=end,
        )
        return _summary_answer(s.customer_id, s.frequency, s.recency, s.T, s.monetary_value)

    return run


def _rk_summarize_transactions(inputs: Inputs) -> Thunk:
    summarize = _rk("summarize")
    log = inputs["log"]
    tx = _rk("Transactions")(log.customer_id, log.timestamp, log.amount)
    end = str(log.observation_end)

    def run() -> Answer:
        s = summarize(tx, period="D", observation_end=end)
        return _summary_answer(s.customer_id, s.frequency, s.recency, s.T, s.monetary_value)

    return run


def _lifetimes_summarize(inputs: Inputs) -> Thunk:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    frame, end = inputs["frame"], pd.Timestamp(inputs["log"].observation_end)

    def run() -> Answer:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = summary_data_from_transaction_data(
                frame, "customer_id", "timestamp", "amount", observation_period_end=end
            )
        return _summary_answer(
            s.index.to_numpy(), s["frequency"], s["recency"], s["T"], s["monetary_value"]
        )

    return run


# --- fits --------------------------------------------------------------------------------------


def _rk_fit(model: str, summary_of: Callable[[Inputs], Any]) -> Callable[[Inputs], Thunk]:
    def build(inputs: Inputs) -> Thunk:
        cls = _rk(model)
        summary = summary_of(inputs)

        def run() -> Answer:
            fitted = cls.fit(summary)
            return {k: np.float64(v) for k, v in fitted.parameters().items()}

        return run

    return build


def _lifetimes_fit(fitter: str, columns: Callable[[Inputs], tuple[Any, ...]]):
    def build(inputs: Inputs) -> Thunk:
        import lifetimes

        args = columns(inputs)

        def run() -> Answer:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = getattr(lifetimes, fitter)().fit(*args)
            return {k: np.float64(v) for k, v in fitted.params_.items()}

        return run

    return build


def _lt_columns(inputs: Inputs) -> tuple[Any, ...]:
    frame = _pandas_summary(inputs)
    return frame["frequency"], frame["recency"], frame["T"]


def _repeaters(inputs: Inputs) -> Any:
    return inputs["frequency"] > 0


def _lt_spend_columns(inputs: Inputs) -> tuple[Any, ...]:
    frame = _pandas_summary(inputs, _repeaters(inputs))
    return frame["frequency"], frame["monetary_value"]


def _rk_spend_summary(inputs: Inputs) -> Any:
    return _rk_summary(inputs, money=True, rows=_repeaters(inputs))


def _discrete_inputs(n: int) -> Inputs:
    base = data.load_discrete(n, seed=13)
    return {
        "frequency": base.frequency,
        "recency": base.recency,
        "n_periods": base.n_periods,
        "n": base.n_customers,
    }


def _rk_discrete_summary(inputs: Inputs) -> Any:
    return _rk("DiscreteSummary")(
        frequency=inputs["frequency"], recency=inputs["recency"], n_periods=inputs["n_periods"]
    )


def _lt_discrete_columns(inputs: Inputs) -> tuple[Any, ...]:
    import pandas as pd

    frame = pd.DataFrame({k: inputs[k] for k in ("frequency", "recency", "n_periods")})
    return frame["frequency"], frame["recency"], frame["n_periods"]


def log_likelihood(model: str, parameters: dict[str, float], inputs: Inputs, case: str) -> float:
    """Total log-likelihood of the case's data at ``parameters``, by retention_kit's model."""
    cls = _rk(model)
    unit = None if model == "GammaGamma" else "D"
    if model == "BGBB":
        summary, unit = _rk_discrete_summary(inputs), None
    elif model == "GammaGamma":
        summary = _rk_spend_summary(inputs)
    else:
        summary = _rk_summary(inputs)
    instance = cls(**parameters) if unit is None else cls(**parameters, unit=unit)
    return float(np.sum(instance.log_likelihood(summary)))


# --- predictions at known parameters -----------------------------------------------------------


def _rk_predict(model: str, truth: dict[str, float], method: str, *args: Any, money=False):
    def build(inputs: Inputs) -> Thunk:
        cls = _rk(model)
        unit = None if model in ("GammaGamma", "BGBB") else "D"
        instance = cls(**truth) if unit is None else cls(**truth, unit=unit)
        if model == "BGBB":
            summary = _rk_discrete_summary(inputs)
        else:
            summary = _rk_summary(inputs, money=money)
        call = getattr(instance, method, None)
        if call is None:
            raise NotAvailable(f"rk.{model}.{method} does not exist yet")

        def run() -> Answer:
            return {"values": np.asarray(call(*args, summary), dtype=np.float64)}

        return run

    return build


def _lt_model(fitter: str, truth: dict[str, float]) -> Any:
    import lifetimes
    import pandas as pd

    instance = getattr(lifetimes, fitter)()
    instance.params_ = pd.Series(truth)
    if hasattr(instance, "conditional_expected_number_of_purchases_up_to_time"):
        # lifetimes' CLV calls `predict`, which only `fit` sets
        instance.predict = instance.conditional_expected_number_of_purchases_up_to_time
    return instance


def _lt_predict(fitter: str, truth: dict[str, float], method: str, *head: Any, discrete=False):
    def build(inputs: Inputs) -> Thunk:
        instance = _lt_model(fitter, truth)
        if discrete:
            columns = _lt_discrete_columns(inputs)
        elif fitter == "GammaGammaFitter":
            frame = _pandas_summary(inputs)
            columns = (frame["frequency"], frame["monetary_value"])
        else:
            columns = _lt_columns(inputs)
        call = getattr(instance, method)

        def run() -> Answer:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = call(*head, *columns)
            return {"values": np.asarray(values, dtype=np.float64)}

        return run

    return build


# --- customer lifetime value -------------------------------------------------------------------


def _rk_clv(inputs: Inputs) -> Thunk:
    clv = _rk("customer_lifetime_value")
    purchases = _rk("BGNBD")(**data.BGNBD_TRUTH, unit="D")
    spend = _rk("GammaGamma")(**data.GAMMA_GAMMA_TRUTH)
    summary = _rk_summary(inputs, money=True)

    def run() -> Answer:
        values = clv(purchases, spend, summary, horizon=12 * 30.0, step=30.0, discount_rate=0.01)
        return {"values": np.asarray(values, dtype=np.float64)}

    return run


def _lt_clv(inputs: Inputs) -> Thunk:
    purchases = _lt_model("BetaGeoFitter", data.BGNBD_TRUTH)
    spend = _lt_model("GammaGammaFitter", data.GAMMA_GAMMA_TRUTH)
    frame = _pandas_summary(inputs)

    def run() -> Answer:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = spend.customer_lifetime_value(
                purchases,
                frame["frequency"],
                frame["recency"],
                frame["T"],
                frame["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="D",
            )
        return {"values": np.asarray(values, dtype=np.float64)}

    return run


# --- clvkit and pymc-marketing -----------------------------------------------------------------

_CLVKIT_NAMES = {"gamma": "v"}  # clvkit's Gamma-Gamma scale is gamma; lifetimes and rk call it v


def _clvkit_base(inputs: Inputs, *, money: bool = False, rows: Any = None) -> Any:
    """The benchmark's day-level summary as a clvkit ``CustomerBase`` (not timed)."""
    import clvkit
    import pandas as pd

    frame = _pandas_summary(inputs, rows)
    if not money:
        frame = frame.drop(columns="monetary_value")
    frame.index.name = "customer_id"
    end = pd.Timestamp(data.START + np.timedelta64(data.OBSERVATION_DAYS, "D"))
    return clvkit.CustomerBase(
        frame, time_unit="D", observation_period_end=end, has_monetary=money, on_negative="net"
    )


def _clvkit_values(prediction: Any) -> Answer:
    return {"values": prediction.to_pandas().iloc[:, 0].to_numpy(dtype=np.float64)}


def _clvkit_fit(model: str, base_of: Callable[[Inputs], Any]) -> Callable[[Inputs], Thunk]:
    def build(inputs: Inputs) -> Thunk:
        import clvkit

        cls = getattr(clvkit, model)
        base = base_of(inputs)

        def run() -> Answer:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = cls().fit(base)
            return {_CLVKIT_NAMES.get(k, k): np.float64(v) for k, v in fitted.params_.items()}

        return run

    return build


def _clvkit_model(model: str, truth: dict[str, float], base: Any) -> Any:
    """A clvkit model at known parameters. clvkit sets them only by fitting, so they are
    assigned to the attributes its fit sets (a transaction model also records the time unit
    and grain of its base, which scoring checks; Gamma-Gamma keeps the base itself)."""
    import clvkit
    import pandas as pd

    instance = getattr(clvkit, model)()
    if model == "GammaGamma":
        instance.p, instance.q, instance.gamma = truth["p"], truth["q"], truth["v"]
        instance._cb = base
    else:
        instance.params_ = pd.Series(truth)
        instance.time_unit_, instance.collapse_ = base.time_unit, base.collapse
    return instance


def _clvkit_predict(model: str, truth: dict[str, float], method: str, *args: Any, money=False):
    def build(inputs: Inputs) -> Thunk:
        base = _clvkit_base(inputs, money=money)
        call = getattr(_clvkit_model(model, truth, base), method)

        def run() -> Answer:
            return _clvkit_values(call(*args, base))

        return run

    return build


class _Periods:
    """A clvkit transaction model whose period is ``length`` units of its base.

    clvkit's CLV sums expected purchases over whole periods of the base's time unit
    (``predict(t)`` for t = 1, 2, ...); this adapter makes its period a month, as the
    12-month CLV of lifetimes and retention_kit has it.
    """

    def __init__(self, model: Any, length: float) -> None:
        self.model, self.length = model, length

    def fit(self, base: Any) -> _Periods:
        self.model.fit(base)
        return self

    def predict(self, t: float, base: Any = None) -> Any:
        return self.model.predict(self.length * t, base)


def _clvkit_clv(inputs: Inputs) -> Thunk:
    import clvkit

    base = _clvkit_base(inputs, money=True)
    purchases = _Periods(_clvkit_model("BGNBD", data.BGNBD_TRUTH, base), 30.0)
    spend = _clvkit_model("GammaGamma", data.GAMMA_GAMMA_TRUTH, base)
    clv = clvkit.CLV(purchases, spend, check_independence=False)
    clv._cb, clv.time_unit_ = base, base.time_unit  # what its fit would set

    def run() -> Answer:
        value = clv.predict(horizon=12, discount_rate=0.01, cb=base).to_pandas()["clv"]
        return {"values": value.to_numpy(dtype=np.float64)}

    return run


def _pymc_frame(inputs: Inputs, *, money: bool = False, rows: Any = None) -> Any:
    """The summary in pymc-marketing's format: a frame with a ``customer_id`` column."""
    frame = _pandas_summary(inputs, rows)
    if not money:
        frame = frame.drop(columns="monetary_value")
    frame.insert(0, "customer_id", np.arange(len(frame)))
    return frame


def _pymc_flat(names: tuple[str, ...]) -> Callable[[], dict[str, Any]]:
    def config() -> dict[str, Any]:
        from pymc_extras.prior import Prior

        return {name: Prior("HalfFlat") for name in names}

    return config


def _pymc_fit(
    model: str,
    frame_of: Callable[[Inputs], Any],
    names: tuple[str, ...],
    config: Callable[[], dict[str, Any]] | None,
) -> Callable[[Inputs], Thunk]:
    """pymc-marketing's ``fit(method="map")``: `pymc.find_MAP` (scipy's L-BFGS-B on the log
    posterior of the log-parameters, without the transform's Jacobian), model building and
    PyTensor compilation included, as in a user's call."""

    def build(inputs: Inputs) -> Thunk:
        from pymc_marketing import clv

        cls = getattr(clv, model)
        frame = frame_of(inputs)

        def run() -> Answer:
            instance = cls(model_config=None if config is None else config())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                idata = instance.fit(data=frame, method="map", progressbar=False)
            posterior = idata.posterior
            return {name: np.float64(posterior[name].values.squeeze()) for name in names}

        return run

    return build


def _pymc_model(model: str, truth: dict[str, float], frame: Any) -> Any:
    """A pymc-marketing model whose posterior is the one point ``truth``: its predictions
    then are those at the known parameters."""
    import arviz as az
    from pymc_marketing import clv

    instance = getattr(clv, model)()
    if model != "GammaGammaModel":
        instance.build_model(frame)  # the predictions read the model's coordinates
    instance.idata = az.from_dict(posterior={k: np.array([[v]]) for k, v in truth.items()})
    return instance


def _pymc_predict(model: str, truth: dict[str, float], method: str, money=False, **kwargs):
    def build(inputs: Inputs) -> Thunk:
        frame = _pymc_frame(inputs, money=money)
        call = getattr(_pymc_model(model, truth, frame), method)

        def run() -> Answer:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = call(data=frame, **kwargs)
            values = values.transpose(..., "customer_id")
            return {"values": np.asarray(values, dtype=np.float64).reshape(-1)}

        return run

    return build


_BG_NAMES = ("r", "alpha", "a", "b")
_PYMC_FLAT_NOTE = (
    "MAP with HalfFlat priors on r, alpha, a, b: `pymc.find_MAP` drops the log transform's "
    "Jacobian, so this is the maximum-likelihood estimate, found by scipy's L-BFGS-B; the time "
    "includes building the model and PyTensor's compilation (cached on disk after a first run)"
)
_PYMC_PRIORS_NOTE = (
    "MAP with pymc-marketing's default priors (r ~ Weibull(2, 1), alpha ~ Weibull(2, 10), "
    "a = phi kappa and b = (1 - phi) kappa with phi ~ Uniform(0, 1), kappa ~ Pareto(1, 1)): the "
    "posterior mode, a "
    "different objective from the likelihood, so its parameters differ; dLL > 0 is the "
    "priors' pull, not an optimizer stopping short"
)
_CLVKIT_FIT_NOTE = (
    "clvkit's fit: scipy's Nelder-Mead from all parameters at 1, then L-BFGS-B with "
    "finite-difference gradients, on the log-parameters"
)
_CLVKIT_KNOWN = (
    "clvkit sets parameters only by fitting: the known ones are assigned to the attributes "
    "its fit sets"
)
_PYMC_KNOWN = "pymc-marketing's predictions with the known parameters as a one-point posterior"


# --- cohorts and the purchase cycle ------------------------------------------------------------


def _rk_cohorts(inputs: Inputs) -> Thunk:
    cohort_retention = _rk("cohort_retention")
    frame = inputs["frame"]

    def run() -> Answer:
        table = cohort_retention(frame, customer_id="customer_id", timestamp="timestamp", freq="M")
        return {"counts": np.nan_to_num(np.asarray(table.counts, dtype=np.float64), nan=0.0)}

    return run


def _pandas_cohorts(inputs: Inputs) -> Thunk:
    frame = inputs["frame"]

    def run() -> Answer:
        stamp = frame["timestamp"]
        month = stamp.dt.year * 12 + stamp.dt.month - 1
        df = frame[["customer_id"]].assign(month=month)
        df["cohort"] = df.groupby("customer_id")["month"].transform("min")
        df["k"] = df["month"] - df["cohort"]
        active = df.drop_duplicates(["customer_id", "k"])
        counts = active.groupby(["cohort", "k"]).size().unstack(fill_value=0)
        return {"counts": counts.to_numpy(dtype=np.float64)}

    return run


def _rk_cycle(inputs: Inputs) -> Thunk:
    purchase_cycle = _rk("purchase_cycle")
    frame = inputs["frame"]

    def run() -> Answer:
        cycle = purchase_cycle(frame, customer_id="customer_id", timestamp="timestamp", period="D")
        return {"naive_median": np.float64(cycle.naive_median)}

    return run


def _pandas_cycle(inputs: Inputs) -> Thunk:
    frame = inputs["frame"]

    def run() -> Answer:
        days = frame[["customer_id"]].assign(day=frame["timestamp"].dt.floor("D"))
        days = days.drop_duplicates().sort_values(["customer_id", "day"])
        gaps = days.groupby("customer_id")["day"].diff().dropna().dt.days
        return {"naive_median": np.float64(gaps.median())}

    return run


# --- the CDNOW pipeline in a fresh interpreter -------------------------------------------------

_RK_PIPELINE = """
import json
import retention_kit as rk

tx = rk.datasets.load_cdnow()
summary = rk.summarize(tx, period="D", unit="W")
purchases = rk.BGNBD.fit(summary)
spend = rk.GammaGamma.fit(summary)
value = rk.customer_lifetime_value(purchases, spend, summary, horizon=12 * 4.345, step=4.345,
                                   discount_rate=0.01)
answer = {**purchases.parameters(), **spend.parameters(), "clv_total": float(value.sum())}
print(json.dumps(answer))
"""

_LT_PIPELINE = """
import json
import warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

raw = pd.read_csv({path!r}, sep=r"\\s+", header=None, dtype={{2: str}},
                  names=["master_id", "customer_id", "date", "cds", "amount"])
raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
summary = summary_data_from_transaction_data(raw, "customer_id", "date", "amount",
                                             freq="D", freq_multiplier=7)
purchases = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
repeat = summary[summary["frequency"] > 0]
spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
value = spend.customer_lifetime_value(purchases, summary["frequency"], summary["recency"],
                                      summary["T"], summary["monetary_value"], time=12,
                                      discount_rate=0.01, freq="W")
print(json.dumps({{**purchases.params_.to_dict(), **spend.params_.to_dict(),
                  "clv_total": float(value.sum())}}))
"""

_CLVKIT_PIPELINE = """
import json
import warnings
warnings.simplefilter("ignore")
import pandas as pd
from clvkit import BGNBD, CLV, CustomerBase, GammaGamma


class Months:  # clvkit's CLV counts whole weeks of this base: make its period 4.345 weeks
    def __init__(self, model):
        self.model = model

    def fit(self, cb):
        self.model.fit(cb)
        return self

    def predict(self, t, cb=None):
        return self.model.predict(4.345 * t, cb)


raw = pd.read_csv({path!r}, sep=r"\\s+", header=None, dtype={{2: str}},
                  names=["master_id", "customer_id", "date", "cds", "amount"])
base = CustomerBase.from_transactions(raw, "customer_id", "date", "amount", time_unit="W",
                                      collapse="D", datetime_format="%Y%m%d")
purchases, spend = BGNBD(), GammaGamma()
clv = CLV(Months(purchases), spend, check_independence=False).fit(base)
value = clv.predict(horizon=12, discount_rate=0.01).to_pandas()["clv"]
print(json.dumps({{**purchases.params_.to_dict(), "p": spend.p, "q": spend.q, "v": spend.gamma,
                  "clv_total": float(value.sum())}}))
"""


_PEAK_PROBE = """
with open("/proc/self/status") as _status:
    print("peak_kb", [line.split()[1] for line in _status if line.startswith("VmHWM:")][0])
"""


def run_script(script: str) -> tuple[Answer, float, float]:
    """Run ``script`` in a fresh interpreter; return its answer, peak RSS (MB), CPU seconds.

    The peak is the interpreter's own high-water mark (``VmHWM``, read by a line appended to
    the script): ``ru_maxrss`` would also count the forked copy of this process before exec.
    The CPU time is the child's user + system time.
    """
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", script + _PEAK_PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pipeline failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    *_, result, probe = done.stdout.strip().splitlines()
    answer = {k: np.float64(v) for k, v in json.loads(result).items()}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return answer, int(probe.split()[1]) / 1024.0, cpu


def _pipeline(script: str) -> Callable[[Inputs], Thunk]:
    def build(inputs: Inputs) -> Thunk:
        def run() -> Answer:
            answer, peak, cpu = run_script(script)
            return {**answer, "_peak_rss_mb": peak, "_cpu_seconds": cpu}

        return run

    return build


def _cdnow_path() -> str:
    return str(REPO / "retention_kit" / "datasets" / "cdnow_sample.txt.gz")


def _rk_pipeline(inputs: Inputs) -> Thunk:
    _rk("summarize"), _rk("BGNBD"), _rk("GammaGamma"), _rk("customer_lifetime_value")
    # An installed library imports from bytecode that pip compiled at install time, as
    # lifetimes does here. The child imports this checkout, so compile it the same way: with
    # PYTHONDONTWRITEBYTECODE set, every fresh process would otherwise recompile all modules.
    compileall.compile_dir(str(REPO / "retention_kit"), quiet=1)
    return _pipeline(_RK_PIPELINE)(inputs)


def _lt_pipeline(inputs: Inputs) -> Thunk:
    return _pipeline(_LT_PIPELINE.format(path=_cdnow_path()))(inputs)


def _clvkit_pipeline(inputs: Inputs) -> Thunk:
    import clvkit  # noqa: F401 (fail here rather than in the child when it is missing)

    return _pipeline(_CLVKIT_PIPELINE.format(path=_cdnow_path()))(inputs)


# --- the list ----------------------------------------------------------------------------------


_BGBB_OFFSET = (
    "lifetimes adds 1e-15 to the sum in its BG/BB likelihood (`B = 1e-15 * ones_like(T)`), "
    "which moves its predictions by up to ~2e-7 relative; retention_kit matches 50-digit "
    "mpmath values there"
)


def _predict_cases() -> list[Case]:
    t = HORIZON_DAYS
    specs = [
        ("bgnbd", "BG/NBD", "BGNBD", "BetaGeoFitter", "BetaGeoModel", data.BGNBD_TRUTH),
        ("pareto", "Pareto/NBD", "ParetoNBD", "ParetoNBDFitter", None, data.PARETO_TRUTH),
        (
            "mbgnbd",
            "MBG/NBD",
            "MBGNBD",
            "ModifiedBetaGeoFitter",
            "ModifiedBetaGeoModel",
            data.BGNBD_TRUTH,
        ),
    ]
    known = {CLVKIT: _CLVKIT_KNOWN, PYMC: _PYMC_KNOWN}
    cases = []
    for key, title, model, fitter, pymc_model, truth in specs:
        alive = {
            RK: _rk_predict(model, truth, "probability_alive"),
            LIFETIMES: _lt_predict(fitter, truth, "conditional_probability_alive"),
        }
        conditional = {
            RK: _rk_predict(model, truth, "conditional_expected_purchases", t),
            LIFETIMES: _lt_predict(
                fitter, truth, "conditional_expected_number_of_purchases_up_to_time", t
            ),
        }
        if pymc_model is not None:  # clvkit has BG/NBD and MBG/NBD, as pymc-marketing
            alive[CLVKIT] = _clvkit_predict(model, truth, "probability_alive")
            alive[PYMC] = _pymc_predict(pymc_model, truth, "expected_probability_alive")
            conditional[CLVKIT] = _clvkit_predict(model, truth, "predict", t)
            conditional[PYMC] = _pymc_predict(pymc_model, truth, "expected_purchases", future_t=t)
        for suffix, name, libraries in [
            ("alive", f"{title} P(alive)", alive),
            ("conditional", f"{title} conditional expected purchases ({t:g} days)", conditional),
        ]:
            cases.append(
                Case(
                    f"{key}_{suffix}",
                    name,
                    "customers",
                    _describe_customers,
                    lambda n: _summary_inputs(_customers(n)),
                    libraries,
                    tolerance=1e-8,
                    peer_notes=known if pymc_model is not None else {},
                )
            )
    m = BGBB_PERIODS
    cases += [
        Case(
            "bgbb_alive",
            "BG/BB P(alive at the next opportunity)",
            "discrete",
            _describe_customers,
            _discrete_inputs,
            {
                RK: _rk_predict("BGBB", data.BGBB_TRUTH, "probability_alive"),
                LIFETIMES: _lt_predict(
                    "BetaGeoBetaBinomFitter",
                    data.BGBB_TRUTH,
                    "conditional_probability_alive",
                    1,  # lifetimes' m = 1 is rk's t = 0: alive at the next opportunity
                    discrete=True,
                ),
            },
            tolerance=1e-8,
            peer_tolerance={LIFETIMES: 1e-6},
            notes=_BGBB_OFFSET,
        ),
        Case(
            "bgbb_conditional",
            f"BG/BB conditional expected purchases ({m} periods)",
            "discrete",
            _describe_customers,
            _discrete_inputs,
            {
                RK: _rk_predict("BGBB", data.BGBB_TRUTH, "conditional_expected_purchases", m),
                LIFETIMES: _lt_predict(
                    "BetaGeoBetaBinomFitter",
                    data.BGBB_TRUTH,
                    "conditional_expected_number_of_purchases_up_to_time",
                    m,
                    discrete=True,
                ),
            },
            tolerance=1e-8,
            peer_tolerance={LIFETIMES: 1e-6},
            notes=_BGBB_OFFSET,
        ),
        Case(
            "gamma_gamma_spend",
            "Gamma-Gamma conditional expected spend",
            "customers",
            _describe_customers,
            lambda n: _summary_inputs(_customers(n)),
            {
                RK: _rk_predict(
                    "GammaGamma", data.GAMMA_GAMMA_TRUTH, "conditional_expected_spend", money=True
                ),
                LIFETIMES: _lt_predict(
                    "GammaGammaFitter",
                    data.GAMMA_GAMMA_TRUTH,
                    "conditional_expected_average_profit",
                ),
                CLVKIT: _clvkit_predict(
                    "GammaGamma", data.GAMMA_GAMMA_TRUTH, "predict", money=True
                ),
                PYMC: _pymc_predict(
                    "GammaGammaModel", data.GAMMA_GAMMA_TRUTH, "expected_customer_spend", True
                ),
            },
            tolerance=1e-8,
            peer_notes={CLVKIT: _CLVKIT_KNOWN, PYMC: _PYMC_KNOWN},
        ),
    ]
    return cases


def _clvkit_spend_base(inputs: Inputs) -> Any:
    return _clvkit_base(inputs, money=True, rows=_repeaters(inputs))


def _pymc_spend_frame(inputs: Inputs) -> Any:
    frame = _pymc_frame(inputs, money=True, rows=_repeaters(inputs))
    return frame[["customer_id", "frequency", "monetary_value"]]


def _fit_cases() -> list[Case]:
    customers = lambda n: _summary_inputs(_customers(n))  # noqa: E731
    flat = _pymc_flat(_BG_NAMES)
    return [
        Case(
            "bgnbd_fit",
            "BG/NBD fit",
            "customers",
            _describe_customers,
            customers,
            {
                RK: _rk_fit("BGNBD", _rk_summary),
                LIFETIMES: _lifetimes_fit("BetaGeoFitter", _lt_columns),
                CLVKIT: _clvkit_fit("BGNBD", _clvkit_base),
                PYMC_FLAT: _pymc_fit("BetaGeoModel", _pymc_frame, _BG_NAMES, flat),
                PYMC_PRIORS: _pymc_fit("BetaGeoModel", _pymc_frame, _BG_NAMES, None),
            },
            tolerance=1e-5,
            fit_model="BGNBD",
            peer_notes={
                CLVKIT: _CLVKIT_FIT_NOTE,
                PYMC_FLAT: _PYMC_FLAT_NOTE,
                PYMC_PRIORS: _PYMC_PRIORS_NOTE,
            },
            other_objective=(PYMC_PRIORS,),
        ),
        Case(
            "pareto_fit",
            "Pareto/NBD fit",
            "pareto",
            _describe_customers,
            lambda n: _summary_inputs(_pareto(n)),
            {
                RK: _rk_fit("ParetoNBD", _rk_summary),
                LIFETIMES: _lifetimes_fit("ParetoNBDFitter", _lt_columns),
            },
            tolerance=1e-5,
            fit_model="ParetoNBD",
        ),
        Case(
            "mbgnbd_fit",
            "MBG/NBD fit",
            "customers",
            _describe_customers,
            customers,
            {
                RK: _rk_fit("MBGNBD", _rk_summary),
                LIFETIMES: _lifetimes_fit("ModifiedBetaGeoFitter", _lt_columns),
                CLVKIT: _clvkit_fit("MBGNBD", _clvkit_base),
                PYMC_FLAT: _pymc_fit("ModifiedBetaGeoModel", _pymc_frame, _BG_NAMES, flat),
            },
            tolerance=1e-5,
            fit_model="MBGNBD",
            peer_notes={CLVKIT: _CLVKIT_FIT_NOTE, PYMC_FLAT: _PYMC_FLAT_NOTE},
        ),
        Case(
            "bgbb_fit",
            "BG/BB fit",
            "discrete",
            _describe_customers,
            _discrete_inputs,
            {
                RK: _rk_fit("BGBB", _rk_discrete_summary),
                LIFETIMES: _lifetimes_fit("BetaGeoBetaBinomFitter", _lt_discrete_columns),
            },
            tolerance=1e-5,
            fit_model="BGBB",
        ),
        Case(
            "gamma_gamma_fit",
            "Gamma-Gamma fit (repeat buyers)",
            "customers",
            lambda inputs: f"{_count(int(_repeaters(inputs).sum()))} repeat buyers",
            customers,
            {
                RK: _rk_fit("GammaGamma", _rk_spend_summary),
                LIFETIMES: _lifetimes_fit("GammaGammaFitter", _lt_spend_columns),
                CLVKIT: _clvkit_fit("GammaGamma", _clvkit_spend_base),
                PYMC_FLAT: _pymc_fit("GammaGammaModel", _pymc_spend_frame, ("p", "q", "v"), None),
            },
            tolerance=1e-5,
            fit_model="GammaGamma",
            peer_notes={
                CLVKIT: "clvkit's fit: scipy's L-BFGS-B with finite-difference gradients, on the "
                "log-parameters",
                PYMC_FLAT: "MAP with pymc-marketing's default priors for this model, HalfFlat "
                "on p, q, v: the maximum-likelihood estimate (see the BG/NBD fit)",
            },
        ),
    ]


def all_cases() -> list[Case]:
    """Every case, in report order."""
    busy = lambda rows: _log_inputs(_busy_log(rows))  # noqa: E731
    return [
        Case(
            "summarize",
            "summarize (pandas frame in)",
            "rows",
            _describe_rows,
            busy,
            {RK: _rk_summarize_frame, LIFETIMES: _lifetimes_summarize},
            tolerance=1e-9,
        ),
        Case(
            "summarize_transactions",
            "summarize (rk.Transactions in)",
            "rows",
            _describe_rows,
            busy,
            {RK: _rk_summarize_transactions, LIFETIMES: _lifetimes_summarize},
            tolerance=1e-9,
            reuse_peers_of="summarize",
            notes="the peers' runs are those of `summarize` (same frame, same call)",
        ),
        *_fit_cases(),
        *_predict_cases(),
        Case(
            "clv",
            "CLV, 12 months of 30 days, 1% a month",
            "customers",
            _describe_customers,
            lambda n: _summary_inputs(_customers(n)),
            {RK: _rk_clv, LIFETIMES: _lt_clv, CLVKIT: _clvkit_clv},
            tolerance=1e-8,
            peer_notes={
                CLVKIT: "clvkit's CLV.predict sums whole periods of the base's time unit (days "
                "here): an adapter makes its period 30 days (`predict(t)` is the model's "
                f"`predict(30 t)`); {_CLVKIT_KNOWN}, and its independence check is off"
            },
        ),
        Case(
            "cohorts",
            "cohort table (monthly)",
            "rows",
            _describe_rows,
            busy,
            {RK: _rk_cohorts, PANDAS: _pandas_cohorts},
            tolerance=0.0,
        ),
        Case(
            "purchase_cycle",
            "purchase cycle (days)",
            "rows",
            _describe_rows,
            busy,
            {RK: _rk_cycle, PANDAS: _pandas_cycle},
            tolerance=0.0,
            notes="the pandas reference computes only the naive (uncensored) median gap",
        ),
        Case(
            "cdnow_pipeline",
            "CDNOW pipeline, fresh process (import, summarize, BG/NBD, Gamma-Gamma, CLV)",
            "customers",
            lambda inputs: "2,357 customers, 6,919 rows",
            lambda n: {"n": 2357},
            {RK: _rk_pipeline, LIFETIMES: _lt_pipeline, CLVKIT: _clvkit_pipeline},
            tolerance=1e-5,
            kind="process",
            peer_notes={
                CLVKIT: "CustomerBase.from_transactions (weeks, daily grain), BGNBD and "
                "GammaGamma through CLV.fit, CLV.predict over 12 periods of 4.345 weeks at 1% "
                "(an adapter: clvkit's CLV counts whole weeks here); the independence check, "
                "on by default, is off: the others do not compute it. clvkit's Gamma-Gamma fit "
                "stops at scipy's default L-BFGS-B tolerances, so its p and q sit short of the "
                "optimum along the flat p-q ridge (less likely than retention_kit's)"
            },
        ),
    ]
