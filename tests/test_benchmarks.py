"""The benchmark suite: its data generator draws the models it claims to, and the CLI runs."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the benchmarks package lives beside the library, not in it
    sys.path.insert(0, str(ROOT))

from benchmarks import data  # noqa: E402
from benchmarks.runner import max_relative_difference  # noqa: E402


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RETENTION_KIT_BENCH_CACHE", str(tmp_path / "cache"))


def _bgnbd(n=20_000, seed=3, **kwargs):
    return data.simulate(data.Spec("bgnbd", n, seed, dict(data.BGNBD_TRUTH), **kwargs))


def test_draws_are_seeded_and_well_formed():
    log, again, other = _bgnbd(2_000), _bgnbd(2_000), _bgnbd(2_000, seed=4)
    assert np.array_equal(log.timestamp, again.timestamp)
    assert np.array_equal(log.amount, again.amount)
    assert not np.array_equal(log.frequency, other.frequency)
    assert np.all(np.diff(log.timestamp.astype(np.int64)) >= 0)  # ordered by time
    assert log.timestamp.min() >= data.START
    assert log.timestamp.max() < data.START + np.timedelta64(data.OBSERVATION_DAYS, "D")
    assert np.array_equal(log.ids, np.arange(1000, 1000 + log.n_customers))
    assert np.all((log.recency >= 0) & (log.recency <= log.T))
    assert np.array_equal(log.recency == 0, log.frequency == 0)
    assert log.T.min() >= data.OBSERVATION_DAYS - data.ACQUISITION_DAYS
    assert np.all(log.amount >= 0)


def test_day_resolution_puts_every_purchase_at_midnight():
    log = _bgnbd(2_000, resolution="D")
    assert np.all(log.timestamp.astype(np.int64) % 86_400 == 0)


def test_max_rows_keeps_whole_customers_acquired_first():
    full, capped = _bgnbd(2_000), _bgnbd(2_000, max_rows=3_000)
    assert capped.n_rows <= 3_000
    kept = capped.ids
    assert np.array_equal(kept, full.ids[: kept.size])
    assert np.array_equal(capped.frequency, full.frequency[: kept.size])


def test_day_summary_equals_lifetimes():
    from lifetimes.utils import summary_data_from_transaction_data

    log = _bgnbd(3_000)
    frame = pd.DataFrame(
        {"customer_id": log.customer_id, "timestamp": log.timestamp, "amount": log.amount}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = summary_data_from_transaction_data(
            frame,
            "customer_id",
            "timestamp",
            "amount",
            observation_period_end=pd.Timestamp(log.observation_end),
        ).sort_index()
    assert np.array_equal(theirs.index.to_numpy(), log.ids)
    for column in ("frequency", "recency", "T"):
        assert np.array_equal(theirs[column].to_numpy(), getattr(log, column))
    np.testing.assert_allclose(theirs["monetary_value"], log.monetary_value, rtol=1e-12)


def test_order_statistics_are_sorted_uniforms():
    rng = np.random.default_rng(0)
    n = rng.poisson(6.0, size=5_000)
    k = np.minimum(n, rng.integers(0, 8, size=n.size))
    horizon = rng.uniform(1.0, 3.0, size=n.size)
    owner, draws = data._first_order_statistics(k, n, horizon, rng)
    assert np.array_equal(np.bincount(owner, minlength=n.size), k)
    assert np.all((draws >= 0) & (draws < horizon[owner]))
    same = owner[1:] == owner[:-1]
    assert np.all(np.diff(draws)[same] >= 0)
    # The j-th smallest of n uniforms on (0, 1) is Beta(j, n + 1 - j): the first ones drawn.
    first = np.flatnonzero(np.r_[True, ~same] & (k[owner] > 0))
    u = draws[first] / horizon[owner[first]]
    p = stats.beta.cdf(u, 1, n[owner[first]])  # probability integral transform -> uniform
    assert stats.kstest(p, "uniform").pvalue > 1e-3


def _mean_repeat_rows(log):
    return np.bincount(np.searchsorted(log.ids, log.customer_id)).mean() - 1


def test_bgnbd_draws_have_the_model_mean():
    # E[X(T)] of BG/NBD (Fader, Hardie & Lee 2005, eq. 7), averaged over the customers' ages;
    # counted on rows, not days, so same-day purchases do not merge.
    log = _bgnbd(40_000, seed=5)
    r, alpha, a, b = data.BGNBD_TRUTH.values()
    T = log.T + 0.5  # ages in continuous time: a day-level T is the floor of T - 1/2 on average
    z = T / (alpha + T)
    expected = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + T)) ** r * special.hyp2f1(r, b, a + b - 1, z))
    )
    assert _mean_repeat_rows(log) == pytest.approx(expected.mean(), rel=0.04)


def test_pareto_draws_have_the_model_mean():
    # E[X(T)] of Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
    log = data.simulate(data.Spec("pareto", 40_000, 6, dict(data.PARETO_TRUTH)))
    r, alpha, s, beta = data.PARETO_TRUTH.values()
    T = log.T + 0.5
    expected = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + T)) ** (s - 1))
    assert _mean_repeat_rows(log) == pytest.approx(expected.mean(), rel=0.04)


def test_bgbb_draws_have_the_model_mean():
    # E[X(n)] of BG/BB (Fader, Hardie & Shang 2010, eq. 8).
    base = data.simulate_discrete(40_000, 8)
    alpha, beta, gamma, delta = data.BGBB_TRUTH.values()
    n = base.n_periods
    expected = (
        alpha
        / (alpha + beta)
        * delta
        / (gamma - 1)
        * (
            1
            - np.exp(
                special.gammaln(gamma + delta)
                + special.gammaln(1 + delta + n)
                - special.gammaln(gamma + delta + n)
                - special.gammaln(1 + delta)
            )
        )
    )
    assert base.frequency.mean() == pytest.approx(expected.mean(), rel=0.03)
    assert np.all((base.recency <= n) & (base.frequency <= base.recency))


def test_spend_has_the_gamma_gamma_mean():
    log = _bgnbd(40_000, seed=9)
    first = np.unique(log.customer_id, return_index=True)[1]  # one purchase per customer
    p, q, v = data.GAMMA_GAMMA_TRUTH.values()
    assert log.amount[first].mean() == pytest.approx(p * v / (q - 1), rel=0.03)


def test_cache_returns_the_same_log(tmp_path):
    spec = data.Spec("pareto", 500, 1, dict(data.PARETO_TRUTH))
    first = data.load(spec)
    assert list((tmp_path / "cache").glob("*.npz"))
    second = data.load(spec)
    for name in ("customer_id", "timestamp", "amount", "frequency", "recency", "T"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    assert first.observation_end == second.observation_end


def test_max_relative_difference():
    same = {"a": np.array([1.0, 2.0]), "b": np.float64(3.0)}
    assert max_relative_difference(same, same) == 0.0
    assert max_relative_difference({"a": [1.0, 2.0]}, {"a": [1.0, 2.2]}) == pytest.approx(
        0.2 / 2.2
    )
    assert max_relative_difference({"a": [1e-20]}, {"a": [2e-20]}) < 1e-7  # below the floor
    assert max_relative_difference({"a": [1.0, np.nan]}, {"a": [1.0, 1.0]}) == np.inf
    assert max_relative_difference({"a": [1.0]}, {"a": [1.0, 1.0]}) == np.inf
    assert max_relative_difference({"a": [np.nan]}, {"a": [np.nan]}) == 0.0


def _cli(tmp_path, *args):
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--json", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "RETENTION_KIT_BENCH_CACHE": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    assert "| case | data | library |" in done.stdout
    assert "| target | measured | verdict |" in done.stdout
    return {c["case"]: c for c in json.loads(out.read_text())["cases"]}


def test_cli_smoke(tmp_path):
    cases = _cli(tmp_path, "--only", "summarize*,gamma_gamma_spend,cohorts")
    assert set(cases) == {"summarize", "summarize_transactions", "gamma_gamma_spend", "cohorts"}
    for case in cases.values():
        for measured in case["measurements"].values():
            assert measured["status"] == "ok", measured["detail"]
            assert measured["median"] > 0
            assert measured["peak_mb"] is None  # memory is measured at full scale only
    for case, peer in [
        ("summarize", "lifetimes"),
        ("gamma_gamma_spend", "lifetimes"),
        ("cohorts", "pandas (reference code)"),
    ]:
        assert cases[case]["comparisons"][peer]["agrees"], cases[case]["comparisons"]
    # The second summarize case reuses the peers' runs of the first.
    assert (
        cases["summarize_transactions"]["measurements"]["lifetimes"]["times"]
        == cases["summarize"]["measurements"]["lifetimes"]["times"]
    )


@pytest.mark.slow
def test_cli_measures_memory_in_fresh_workers(tmp_path):
    cases = _cli(tmp_path, "--only", "summarize", "--memory")
    for measured in cases["summarize"]["measurements"].values():
        assert measured["peak_mb"] is not None
        assert measured["peak_mb"] >= 0
    assert "memory_ratio" in cases["summarize"]["comparisons"]["lifetimes"]


def test_cli_rejects_an_unknown_case(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "no_such_case"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "matches no case" in done.stderr


def test_import_leaves_out_scipy_stats():
    # scipy.stats costs 0.4-0.5 s of CPU at import: a third of the CDNOW pipeline's budget.
    code = "import sys, retention_kit; assert 'scipy.stats' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
