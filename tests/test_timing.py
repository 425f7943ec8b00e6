"""The timing mechanics: interleaved rounds, the min-time loop, noise columns, A/B pairing.

No assertion here is about how fast anything ran: only about what was measured, in which
order, and how the numbers are judged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from bench.backends.bruteforce import BruteForce
from bench.errors import BenchError
from bench.metrics.spread import judge, median_interval
from bench.report.ab import exit_code, settled, summarize
from bench.results.store import read_results
from bench.runner.ab import pair_id, pair_jobs, round_order
from bench.runner.job import Job
from bench.runner.measure import time_batch, time_single
from bench.runner.pinning import quietest
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from bench.runner.worker import schedule


def test_rounds_hold_every_point_once_in_a_seeded_shuffle() -> None:
    points = [(i, mode) for i in range(4) for mode in ("single", "batch")]
    order = schedule(points, rounds=5, seed=7)
    assert len(order) == 5 * len(points)
    for round_ in range(5):
        members = [point for r, point in order if r == round_]
        assert sorted(members) == sorted(points)  # every point once per round
    assert [r for r, _ in order] == sorted(r for r, _ in order)  # rounds one after another
    rounds = {tuple(p for r, p in order if r == round_) for round_ in range(5)}
    assert len(rounds) > 1  # shuffled: not the same order every round
    assert schedule(points, 5, 7) == order  # seeded
    assert schedule(points, 5, 8) != order


def test_min_time_loops_over_the_query_set(tiny_corpus) -> None:
    backend = BruteForce(tiny_corpus.metric)
    backend.fit(tiny_corpus.train)
    queries = np.ascontiguousarray(tiny_corpus.queries[:20])
    once = time_single(backend, queries, 10)
    assert once.passes == 1
    min_time = 20 * once.seconds + 0.01
    looped = time_single(backend, queries, 10, min_time_s=min_time)
    assert len(looped.latencies_s) == 20 * looped.passes and looped.stable
    # whole passes until min_time: the last one reached it, the ones before did not (a pass
    # stalled past min_time by a busy machine is the only one, rightly)
    assert looped.latencies_s[:-20].sum() < min_time <= looped.seconds * (1 + 1e-9)
    assert np.array_equal(looped.answers, once.answers)
    assert looped.qps == pytest.approx(20 * looped.passes / looped.seconds)
    batch = time_batch(backend, queries, 10, min_time_s=0.02)
    assert batch.passes >= 1 and batch.seconds >= 0.02 and batch.stable
    assert np.array_equal(batch.answers, once.answers)
    for key in ("wall_s", "cpu_per_wall", "other_cpu_s", "load_1m"):
        assert looped.noise[key] is not None and looped.noise[key] >= 0


def test_rows_carry_noise_and_spread_columns(bench_env: Path) -> None:
    suite = Suite(
        name="noise",
        datasets=("tiny-euclidean",),
        algorithms=("bruteforce",),
        grid="quick",
        repetitions=3,
        warmup=5,
        batch_threads=1,
        build_threads=1,
        min_time_s=0.01,
    )
    run_suite(suite, bench_env / "run", show_progress=False)
    rows = read_results(bench_env / "run")
    ok = rows[rows["status"] == "ok"]
    assert len(ok) == 6  # two modes x three rounds
    assert (ok["min_time_s"] == 0.01).all() and (ok["passes"] >= 1).all()
    assert (ok["timed_s"] >= 0.01).all() and (ok["timed_s"] <= ok["wall_s"]).all()
    assert ok["qps"].to_numpy() == pytest.approx(
        (ok["n_queries"] * ok["passes"] / ok["timed_s"]).to_numpy()
    )
    assert (ok["cpu_per_wall"] > 0).all() and (ok["other_cpu_s"] >= 0).all()
    assert (ok["load_1m"] >= 0).all() and (ok["answers_stable"] == 1).all()
    assert ok["pinned_cpu"].isna().all()
    assert sorted(ok["sequence"]) == list(range(6))
    for _, point in ok.groupby("mode"):
        assert sorted(point["repetition"]) == [0, 1, 2]
        assert point["qps_cv"].nunique() == 1 and point["noisy"].isin([0, 1]).all()
        low, high = point["qps_ci_low"].iloc[0], point["qps_ci_high"].iloc[0]
        assert low <= point["qps"].median() <= high
        assert (low, high) == (point["qps"].min(), point["qps"].max())  # 3 reps: the range
        assert point["noisy"].iloc[0] == int(point["qps_cv"].iloc[0] > 0.05)
    by_round = ok.groupby("repetition")["sequence"]
    assert (by_round.max().iloc[:-1].to_numpy() < by_round.min().iloc[1:].to_numpy()).all()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two cores")
def test_pinned_worker_records_its_core(bench_env: Path) -> None:
    suite = Suite(
        name="pinned",
        datasets=("tiny-euclidean",),
        algorithms=("bruteforce",),
        grid="quick",
        modes=("single",),
        repetitions=1,
        warmup=0,
        min_time_s=0.0,
        pin=True,
    )
    before = os.sched_getaffinity(0)
    run_suite(suite, bench_env / "run", show_progress=False)
    rows = read_results(bench_env / "run")
    assert len(rows) == 1 and int(rows["pinned_cpu"].iloc[0]) in before
    assert os.sched_getaffinity(0) == before  # the worker gave the parent its cores back


def test_pinning_takes_the_core_that_was_idle_longest() -> None:
    before = {0: 100, 1: 100, 2: 100}
    assert quietest({0, 1, 2}, before, {0: 110, 1: 100, 2: 101}) == 0  # 1 and 2 were busy
    assert quietest({1, 2}, before, {0: 110, 1: 105, 2: 105}) == 2  # a tie: the last one
    assert quietest({0, 1}, {}, {}) == 1  # no /proc/stat: the last allowed core


def test_median_interval_is_the_order_statistic_one() -> None:
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)  # too few values: the range
    values = list(range(1, 21))
    low, high = median_interval(values)
    assert (low, high) == (6, 15)  # n = 20 at 95 %: x_(6), x_(15)


@pytest.mark.parametrize(
    "change, low, high, expected",
    [
        (np.log(0.7), np.log(0.65), np.log(0.75), "regression"),
        (np.log(0.95), np.log(0.9), np.log(0.99), "ok"),  # significant but under threshold
        (np.log(0.7), np.log(0.4), np.log(1.2), "inconclusive"),
        (0.0, np.log(0.5), np.log(2.0), "inconclusive"),
        (np.log(1.5), np.log(1.3), np.log(1.7), "faster"),
    ],
)
def test_verdicts(change: float, low: float, high: float, expected: str) -> None:
    assert judge(change, low, high, threshold=0.10) == expected


def test_ab_workers_run_abba_and_pair_neighbours() -> None:
    order = round_order(0) + round_order(1)
    assert [name for _, _, name in order] == list("ABBAABBA")
    assert [pair_id(r, slot) for r, slot, _ in order] == [0, 0, 1, 1, 2, 2, 3, 3]


def _job(algorithm: str, grid: list[dict]) -> Job:
    return Job(
        job_id=algorithm,
        suite="s",
        corpus="c",
        corpus_spec={},
        algorithm=algorithm,
        library="l",
        adapter="a:b",
        library_version="",
        build_params={},
        query_grid=grid,
        k=10,
        modes=["single"],
        repetitions=1,
        warmup=0,
        query_limit=10,
        batch_threads=1,
        build_threads=1,
        timeout_s=1,
        memory_limit_bytes=1,
    )


def test_ab_refuses_plans_of_different_shapes() -> None:
    a = [_job("x", [{"ef": 1}, {"ef": 2}])]
    assert pair_jobs(a, [_job("x", [{"ef": 3}, {"ef": 4}])])  # other values, same shape
    with pytest.raises(BenchError, match="number of query settings"):
        pair_jobs(a, [_job("x", [{"ef": 1}])])
    with pytest.raises(BenchError, match="plan 1 and 2 jobs"):
        pair_jobs(a, a + a)
    # nothing to measure (every algorithm unavailable or skipped): an error, not a traceback
    with pytest.raises(BenchError, match="no job to measure"):
        pair_jobs([], [])


def _observations(ratios: list[float]) -> pd.DataFrame:
    rows = []
    for pair, ratio in enumerate(ratios):
        for variant, qps in (("A", 1000.0), ("B", 1000.0 * ratio)):
            rows.append(
                {
                    "job": 0,
                    "corpus": "c",
                    "algorithm": "x",
                    "pair": pair,
                    "variant": variant,
                    "point": 0,
                    "mode": "single",
                    "label": "ef=1",
                    "qps": qps,
                    "recall": 0.9,
                    "status": "ok",
                    "error": "",
                }
            )
    return pd.DataFrame(rows)


def test_ab_summary_pairs_ratios_and_judges() -> None:
    slower = summarize(_observations([0.85, 0.84, 0.86, 0.85, 0.85, 0.84]), 0.05, 0.05)
    assert slower["verdict"].tolist() == ["regression"] and exit_code(slower) == 1
    assert slower["ratio"].iloc[0] == pytest.approx(0.8483, abs=1e-3)
    assert slower["ci_low"].iloc[0] <= slower["ratio"].iloc[0] <= slower["ci_high"].iloc[0]
    same = summarize(_observations([1.01, 0.99, 1.0, 1.02, 0.98, 1.0]), 0.05, 0.05)
    assert same["verdict"].tolist() == ["ok"] and exit_code(same) == 0
    noisy = summarize(_observations([0.5, 1.6, 0.7, 1.4, 0.6, 1.3]), 0.05, 0.05)
    assert noisy["verdict"].tolist() == ["inconclusive"] and exit_code(noisy) == 3


def test_ab_more_rounds_only_while_an_interval_is_too_wide() -> None:
    steady = _observations([0.85, 0.86, 0.84, 0.85])
    assert settled(steady, 0.05, 0.05, points=1)
    assert not settled(steady.iloc[:2], 0.05, 0.05, points=1)  # one pair: no interval yet
    assert not settled(_observations([0.5, 1.6, 0.7, 1.4]), 0.05, 0.05, points=1)
    # the same four pairs judged among 1,000 points: Bonferroni widens them past 5 %
    assert not settled(_observations([0.80, 0.86, 0.84, 0.90]), 0.05, 0.05, points=1000)
    failed = pd.concat([steady.iloc[:1].assign(status="crashed", error="boom")])
    assert settled(failed, 0.05, 0.05, points=1)  # a failed job needs no more rounds


def test_ab_interval_is_student_t() -> None:
    ratios = [0.9, 1.0, 1.1, 0.95, 1.05, 1.0]
    line = summarize(_observations(ratios), 0.05, 0.05).iloc[0]
    logs = np.log(ratios)
    half = stats.t.ppf(0.975, 5) * logs.std(ddof=1) / np.sqrt(6)
    assert np.log(line["ci_high"]) - np.log(line["ratio"]) == pytest.approx(half)
    assert np.log(line["ratio"]) - np.log(line["ci_low"]) == pytest.approx(half)


def test_bench_ab_flags_a_slower_backends_folder(bench_env: Path) -> None:
    folders = {}
    for name, adapter in (
        ("a", "bench.backends.bruteforce:BruteForce"),
        ("b", "tests.adapters:Slow"),
    ):
        folder = bench_env / f"backends-{name}"
        folder.mkdir()
        spec = {
            "library": "numpy",
            "adapter": adapter,
            "metrics": ["euclidean"],
            "algorithms": {"subject": {"grids": {"quick": {}}}},
        }
        (folder / "subject.yaml").write_text(yaml.safe_dump(spec))
        folders[name] = folder
    suite = {
        "datasets": ["tiny-euclidean"],
        "algorithms": ["subject"],
        "modes": ["single"],
        "warmup": 2,
        "min_time_s": 0.0,
        "query_limit": 20,
        "build_threads": 1,
    }
    suite_path = bench_env / "ab.yaml"
    suite_path.write_text(yaml.safe_dump(suite))
    env = {**os.environ, "COLUMNS": "200", "BENCH_EXTRA_BACKENDS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "ab", "--suite", str(suite_path), "--results",
         str(bench_env), "--backends-a", str(folders["a"]), "--backends-b", str(folders["b"]),
         "--rounds", "2", "--max-rounds", "2"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    summary = pd.read_csv(bench_env / "ab" / "ab.csv")
    assert summary["verdict"].tolist() == ["regression"] and summary["pairs"].tolist() == [4]
    observations = pd.read_csv(bench_env / "ab" / "ab-observations.csv")
    assert observations["variant"].tolist() == list("ABBAABBA")
    assert "**FAIL**" in (bench_env / "ab" / "ab.md").read_text()
    assert summary["recall_a"].tolist() == summary["recall_b"].tolist() == [1.0]
