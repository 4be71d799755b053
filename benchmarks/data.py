"""Synthetic customer bases drawn from the buy-till-you-die models, cached as ``.npz``.

Every population is a transaction log (integer customer ids, timestamps, amounts) drawn by
vectorized numpy from a seeded ``numpy.random.Generator``:

* Customers are acquired uniformly over one year (their first purchase, at a uniform second of
  the year) and observed until the end of the second year, so a customer's age T runs from
  one to two years, as in a real customer base built up over time.
* Repeat purchases follow the BG/NBD process (Fader, Hardie & Lee 2005: Poisson purchases at a
  gamma-distributed rate, dropout with a beta-distributed probability after each repeat
  purchase) or the Pareto/NBD process (Schmittlein, Morrison & Colombo 1987: Poisson purchases
  during an exponential lifetime with a gamma-distributed death rate).
* Amounts follow the gamma-gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"):
  each purchase is Gamma(p, nu) with a customer-level nu ~ Gamma(q, v), rounded to cents.
* Ids are integers numbered in order of acquisition (like auto-increment keys) and the log is
  ordered by time, as an order table is, so customers' rows are interleaved.

The purchase times of one customer are drawn without a loop: a customer with N ~ Poisson(lambda
h) purchases on a window of length h has them at the order statistics of N uniforms, and the
first k of those are ``h * S_j / (S_k + G)`` with S the partial sums of k standard exponentials
and G ~ Gamma(N + 1 - k) standing in for the remaining spacings (the Renyi representation). For
BG/NBD, k = min(N, J) with J ~ Geometric(p) the repeat purchase after which the customer drops
out; for Pareto/NBD, h = min(lifetime, T) and k = N.

Every population also carries its day-level summary computed here independently of the library
(frequency = purchase days - 1, recency and T in days, monetary value = mean of the summed
amounts of the repeat days), which the model benchmarks fit and which checks ``summarize``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BGBB_TRUTH",
    "BGNBD_TRUTH",
    "GAMMA_GAMMA_TRUTH",
    "PARETO_TRUTH",
    "Discrete",
    "Log",
    "Spec",
    "cache_dir",
    "load",
    "load_discrete",
    "simulate",
    "simulate_discrete",
]

FORMAT_VERSION = 1
START = np.datetime64("2023-01-01T00:00:00", "s")
ACQUISITION_DAYS = 365
OBSERVATION_DAYS = 730
_DAY = 86_400

# The published CDNOW estimates (weeks) restated in days: alpha and beta are time scales.
BGNBD_TRUTH = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
PARETO_TRUTH = {"r": 0.553, "alpha": 10.578 * 7, "s": 0.606, "beta": 11.669 * 7}
GAMMA_GAMMA_TRUTH = {"p": 6.25, "q": 3.74, "v": 15.44}
# The donations estimates of Fader, Hardie & Shang (2010).
BGBB_TRUTH = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
# A busier customer base (about 11 purchases per customer) for the large transaction log.
BUSY_BGNBD = {"r": 1.5, "alpha": 40.0, "a": 0.9, "b": 12.0}


@dataclass(frozen=True)
class Spec:
    """What to draw: the process, its parameters, the size and the seed.

    ``n_customers`` customers are drawn; when ``max_rows`` is set, the log keeps the customers
    acquired first whose rows fit in it (so a "10M-row log" has at most that many rows).
    """

    process: str
    n_customers: int
    seed: int
    params: dict[str, float] = field(default_factory=dict)
    spend: dict[str, float] = field(default_factory=lambda: dict(GAMMA_GAMMA_TRUTH))
    resolution: str = "s"
    max_rows: int | None = None

    def key(self) -> str:
        text = json.dumps({"v": FORMAT_VERSION, **asdict(self)}, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"{self.process}-{self.n_customers}-{self.resolution}-{digest}"


@dataclass(frozen=True)
class Log:
    """A drawn transaction log and its day-level summary.

    Attributes
    ----------
    customer_id, timestamp, amount : ndarray
        One row per purchase, ordered by time; ``timestamp`` is ``datetime64[s]`` (at midnight
        for day resolution).
    observation_end : numpy.datetime64
        The last day of observation (``datetime64[D]``).
    ids, frequency, recency, T, monetary_value : ndarray
        The day-level summary, one row per customer in increasing id order.
    """

    customer_id: NDArray[np.int64]
    timestamp: NDArray[np.datetime64]
    amount: NDArray[np.float64]
    observation_end: np.datetime64
    ids: NDArray[np.int64]
    frequency: NDArray[np.float64]
    recency: NDArray[np.float64]
    T: NDArray[np.float64]
    monetary_value: NDArray[np.float64]

    @property
    def n_rows(self) -> int:
        return int(self.customer_id.size)

    @property
    def n_customers(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class Discrete:
    """A discrete-time (BG/BB) customer base: one row per customer."""

    frequency: NDArray[np.float64]
    recency: NDArray[np.float64]
    n_periods: NDArray[np.float64]

    @property
    def n_customers(self) -> int:
        return int(self.frequency.size)


def cache_dir() -> Path:
    """``benchmarks/results/cache`` (gitignored), or a temp dir when that is not writable."""
    override = os.environ.get("RETENTION_KIT_BENCH_CACHE")
    candidates = [Path(override)] if override else []
    candidates += [
        Path(__file__).resolve().parent / "results" / "cache",
        Path(tempfile.gettempdir()) / "retention_kit_bench_cache",
    ]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    raise OSError("no writable cache directory for benchmark data")


# --- drawing ---------------------------------------------------------------------------------


def _segment_starts(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    starts = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _first_order_statistics(
    k: NDArray[np.int64],
    n: NDArray[np.int64],
    horizon: NDArray[np.float64],
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The k smallest of n uniforms on (0, horizon), per customer, ascending.

    Returns the owner (customer position) of each draw and the draws, grouped by owner.
    """
    owner = np.repeat(np.arange(k.size, dtype=np.int64), k)
    if owner.size == 0:
        return owner, np.zeros(0)
    spacings = rng.standard_exponential(owner.size)
    running = np.cumsum(spacings)
    starts = _segment_starts(k)
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0.0)
    partial = np.maximum(running - before[owner], 0.0)  # S_j within each customer
    last = np.zeros(k.size)
    has = k > 0
    last[has] = partial[starts[has] + k[has] - 1]  # S_k
    total = last + rng.standard_gamma((n - k + 1).astype(np.float64))  # S_{N+1}
    return owner, horizon[owner] * partial / total[owner]


def _draw_customers(spec: Spec, rng: np.random.Generator) -> tuple[Any, ...]:
    n = spec.n_customers
    span = ACQUISITION_DAYS * _DAY
    first_second = np.sort(rng.integers(0, span, size=n))  # ids follow acquisition order
    T_days = (OBSERVATION_DAYS * _DAY - first_second) / _DAY
    prm = spec.params
    rate = rng.gamma(prm["r"], 1.0 / prm["alpha"], size=n)  # purchases per day
    if spec.process == "bgnbd":
        count = rng.poisson(rate * T_days)
        dropout = rng.beta(prm["a"], prm["b"], size=n)
        survive = rng.geometric(np.clip(dropout, 1e-300, 1.0))  # repeat purchases until death
        k = np.minimum(count, survive)
        owner, days = _first_order_statistics(k, count, T_days, rng)
    elif spec.process == "pareto":
        death_rate = rng.gamma(prm["s"], 1.0 / prm["beta"], size=n)
        lifetime = rng.standard_exponential(n) / death_rate
        window = np.minimum(lifetime, T_days)
        count = rng.poisson(rate * window)
        owner, days = _first_order_statistics(count, count, window, rng)
    else:
        raise ValueError(f"unknown process {spec.process!r}")
    return first_second, owner, days


def _spend(spec: Spec, n_customers: int, owner: NDArray[np.int64], rng: np.random.Generator):
    sp = spec.spend
    scale = rng.gamma(sp["q"], 1.0 / sp["v"], size=n_customers)  # nu, a rate
    amounts = rng.gamma(sp["p"], 1.0, size=owner.size) / scale[owner]
    return np.round(amounts, 2)


def simulate(spec: Spec) -> Log:
    """Draw the transaction log of ``spec`` (no caching; see `load`)."""
    rng = np.random.default_rng(spec.seed)
    first_second, owner, days = _draw_customers(spec, rng)
    n = first_second.size
    # The first purchase of every customer, then the repeats.
    seconds = np.concatenate(
        [first_second, first_second[owner] + np.floor(days * _DAY).astype(np.int64)]
    )
    who = np.concatenate([np.arange(n, dtype=np.int64), owner])
    last_second = OBSERVATION_DAYS * _DAY - 1
    np.minimum(seconds, last_second, out=seconds)
    if spec.max_rows is not None and who.size > spec.max_rows:
        rows_per_customer = np.bincount(who, minlength=n)
        kept = int(np.searchsorted(np.cumsum(rows_per_customer), spec.max_rows, side="right"))
        keep = who < kept
        seconds, who = seconds[keep], who[keep]
    amounts = _spend(spec, n, who, rng)
    if spec.resolution == "D":
        seconds = seconds - seconds % _DAY
    elif spec.resolution != "s":
        raise ValueError(f"unknown resolution {spec.resolution!r}")
    order = np.argsort(seconds, kind="stable")
    customer_id = who[order] + 1000
    timestamp = START + seconds[order].astype("timedelta64[s]")
    amount = amounts[order]
    end = (START + np.timedelta64(OBSERVATION_DAYS - 1, "D")).astype("datetime64[D]")
    return Log(
        customer_id, timestamp, amount, end, *day_summary(customer_id, timestamp, amount, end)
    )


def day_summary(
    customer_id: NDArray[np.int64],
    timestamp: NDArray[np.datetime64],
    amount: NDArray[np.float64],
    observation_end: np.datetime64,
) -> tuple[NDArray[Any], ...]:
    """Day-level frequency, recency, T and monetary value, computed without the library.

    The semantics of lifetimes' ``summary_data_from_transaction_data(freq="D")``: purchases of
    one customer-day are merged (amounts summed); frequency = purchase days - 1; recency = last
    - first purchase day; T = observation end - first purchase day; monetary value = mean
    amount of the repeat days (0 without any).
    """
    day = timestamp.astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((day, customer_id))
    cid, day, amt = customer_id[order], day[order], amount[order]
    new_day = np.ones(cid.size, dtype=bool)
    new_day[1:] = (cid[1:] != cid[:-1]) | (day[1:] != day[:-1])
    day_start = np.flatnonzero(new_day)
    day_cid, day_num = cid[day_start], day[day_start]
    day_amount = np.add.reduceat(amt, day_start)
    new_customer = np.ones(day_cid.size, dtype=bool)
    new_customer[1:] = day_cid[1:] != day_cid[:-1]
    cust_start = np.flatnonzero(new_customer)
    ids = day_cid[cust_start]
    n_days = np.diff(np.append(cust_start, day_cid.size))
    first = day_num[cust_start]
    last = day_num[cust_start + n_days - 1]
    total = np.add.reduceat(day_amount, cust_start)
    frequency = (n_days - 1).astype(np.float64)
    repeat_total = total - day_amount[cust_start]
    monetary = np.divide(
        repeat_total, frequency, out=np.zeros_like(repeat_total), where=frequency > 0
    )
    end = observation_end.astype("datetime64[D]").astype(np.int64)
    return (
        ids,
        frequency,
        (last - first).astype(np.float64),
        (end - first).astype(np.float64),
        monetary,
    )


def simulate_discrete(
    n_customers: int, seed: int, params: dict[str, float] | None = None
) -> Discrete:
    """Draw a BG/BB customer base (Fader, Hardie & Shang 2010).

    Customers join in monthly cohorts over a year and are observed for two years, so each has
    12 to 23 monthly transaction opportunities after the first. A customer alive in a period
    buys with probability p ~ Beta(alpha, beta) and dies at the start of each period with
    probability theta ~ Beta(gamma, delta).
    """
    prm = dict(BGBB_TRUTH if params is None else params)
    rng = np.random.default_rng(seed)
    n_periods = 23 - rng.integers(0, 12, size=n_customers)
    p = rng.beta(prm["alpha"], prm["beta"], size=n_customers)
    theta = rng.beta(prm["gamma"], prm["delta"], size=n_customers)
    alive_periods = np.minimum(rng.geometric(np.clip(theta, 1e-300, 1.0)) - 1, n_periods)
    frequency = np.zeros(n_customers)
    recency = np.zeros(n_customers)
    for period in range(1, int(n_periods.max()) + 1):  # a loop over periods, not customers
        buys = (alive_periods >= period) & (rng.random(n_customers) < p)
        frequency += buys
        recency[buys] = period
    return Discrete(frequency, recency, n_periods.astype(np.float64))


# --- caching ---------------------------------------------------------------------------------


def load(spec: Spec) -> Log:
    """The log of ``spec``, drawn once and then read from the cache."""
    path = cache_dir() / f"{spec.key()}.npz"
    if path.exists():
        with np.load(path) as stored:
            return Log(
                stored["customer_id"],
                stored["timestamp"].astype("datetime64[s]"),
                stored["amount"],
                np.datetime64(str(stored["observation_end"]), "D"),
                stored["ids"],
                stored["frequency"],
                stored["recency"],
                stored["T"],
                stored["monetary_value"],
            )
    log = simulate(spec)
    _save(
        path,
        customer_id=log.customer_id,
        timestamp=log.timestamp.astype(np.int64),
        amount=log.amount,
        observation_end=np.array(str(log.observation_end)),
        ids=log.ids,
        frequency=log.frequency,
        recency=log.recency,
        T=log.T,
        monetary_value=log.monetary_value,
    )
    return log


def load_discrete(n_customers: int, seed: int) -> Discrete:
    """The BG/BB customer base of that size and seed, drawn once and then cached."""
    path = cache_dir() / f"bgbb-{n_customers}-{seed}-v{FORMAT_VERSION}.npz"
    if path.exists():
        with np.load(path) as stored:
            return Discrete(stored["frequency"], stored["recency"], stored["n_periods"])
    base = simulate_discrete(n_customers, seed)
    _save(path, frequency=base.frequency, recency=base.recency, n_periods=base.n_periods)
    return base


def _save(path: Path, **arrays: NDArray[Any]) -> None:
    partial = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(partial, **arrays)
    os.replace(partial, path)  # atomic: a concurrent reader never sees half a file
