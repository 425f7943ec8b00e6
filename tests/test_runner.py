"""The runner: failures become rows and the suite goes on; finished jobs are never redone."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.results.store import read_results
from bench.runner.run import run_suite
from tests.conftest import tiny_suite

# Two repetitions with warm-up, a memory cap and thread counts: the runner's own settings.
suite = functools.partial(
    tiny_suite, repetitions=2, warmup=5, memory_limit_gb=0.6, batch_threads=2, build_threads=1
)


def test_failures_become_rows_and_the_suite_goes_on(bench_env: Path) -> None:
    algorithms = ("test-raising", "test-crashing", "test-hanging", "test-hungry", "test-exact")
    run_dir = bench_env / "run"
    statuses = run_suite(suite(algorithms, timeout_s=8), run_dir, show_progress=False)
    frame = read_results(run_dir)
    by_algorithm = {name: group for name, group in frame.groupby("algorithm")}
    assert set(by_algorithm) == set(algorithms)
    last = {name: group.iloc[-1] for name, group in by_algorithm.items()}
    assert last["test-raising"]["status"] == "failed"
    assert "always fails to build" in last["test-raising"]["error"]
    assert last["test-crashing"]["status"] == "failed"
    assert "SIGSEGV" in last["test-crashing"]["error"]
    assert pd_float(last["test-crashing"]["build_s"]) >= 0  # the build it finished is kept
    assert last["test-hanging"]["status"] == "timeout"
    assert last["test-hungry"]["status"] == "oom"
    assert last["test-hungry"]["peak_rss_bytes"] > 0.5 * 2**30
    exact = by_algorithm["test-exact"]
    assert (exact["status"] == "ok").all() and (exact["recall"] == 1.0).all()
    assert set(exact["mode"]) == {"single", "batch"} and len(exact) == 4  # 2 modes x 2 reps
    assert statuses["ok"] == 1 and statuses["failed"] == 2


def pd_float(value) -> float:
    return float(value)


def test_rerun_skips_finished_jobs(bench_env: Path) -> None:
    run_dir = bench_env / "run"
    first = run_suite(suite(("test-exact", "test-raising")), run_dir, show_progress=False)
    rows = read_results(run_dir)
    second = run_suite(suite(("test-exact", "test-raising")), run_dir, show_progress=False)
    assert first["ok"] == 1 and second["skipped (already done)"] == 2 and second["ok"] == 0
    assert len(read_results(run_dir)) == len(rows)
    third = run_suite(
        suite(("test-exact", "test-raising")), run_dir, retry_failed=True, show_progress=False
    )
    assert third["failed"] == 1 and third["skipped (already done)"] == 1
    assert len(read_results(run_dir)) == len(rows)


def test_kill_minus_nine_then_resume_loses_nothing(bench_env: Path, tmp_path: Path) -> None:
    """Kill `bench run` hard after its first job lands; the rerun finishes the rest only."""
    suite_file = tmp_path / "killed.yaml"
    suite_file.write_text(
        "datasets: [tiny-euclidean]\nalgorithms: [test-exact, test-hanging, "
        "test-inaccurate]\ngrid: test\nrepetitions: 1\nwarmup: 0\n"
        "timeout_s: 5\n"
    )
    command = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--suite",
        str(suite_file),
        "--results",
        str(tmp_path / "results"),
        "--no-plot",
    ]
    csv = tmp_path / "results" / "killed" / "results.csv"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    # the first job's rows are in, and the next job's folder is made (a few ms after them)
    while time.monotonic() < deadline and proc.poll() is None:
        if csv.exists() and list(temp.glob("bench-job-*/job.json")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run must still be going (test-hanging holds it for 5 s)"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = set(read_results(csv)["job_id"])
    assert done_before, "the first job's rows were written before the kill"
    assert list(temp.glob("bench-job-*/job.json")), "the killed runner's job folder is left"
    subprocess.run(command, check=True, capture_output=True, env=env)
    assert not list(temp.glob("bench-job-*")), "the next run removed it"
    frame = read_results(csv)
    assert set(frame["algorithm"]) == {"test-exact", "test-hanging", "test-inaccurate"}
    per_job = frame.groupby("algorithm").size()
    assert per_job.to_dict() == {"test-exact": 2, "test-hanging": 1, "test-inaccurate": 2}, (
        "each finished job's rows (single + batch) appear exactly once"
    )
    assert set(frame.loc[frame["algorithm"] == "test-exact", "job_id"]) == done_before


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("k", 0, "k=0: expected an integer from 1 to 100"),
        ("modes", ("fast",), r"modes\[0\]='fast': expected one of single, batch"),
        ("repetitions", 0, "repetitions=0: expected a positive integer"),
    ],
)
@pytest.mark.usefixtures("bench_env")  # registers test-exact
def test_bad_suite_settings(field: str, value, message: str) -> None:
    with pytest.raises(Exception, match=message):
        suite(("test-exact",), **{field: value})


def test_the_worker_imports_no_planning_or_reporting_modules() -> None:
    """Every job starts a worker: it imports only what running one job needs (the job, the
    adapter loader), not the suite and backend schemas or the reporting stack."""
    code = "import sys, bench.runner.worker; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert {"bench.runner.job", "bench.backends.loader", "numpy"} <= loaded
    unneeded = {"bench.runner.plan", "bench.runner.suite", "bench.backends.registry"}
    unneeded |= {"pandas", "scipy", "rich", "click", "matplotlib", "seaborn", "torch"}
    assert not loaded & unneeded
