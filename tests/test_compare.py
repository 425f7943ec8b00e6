"""`bench compare`: real runs through the real runner, compared through the real CLI.

One algorithm name, `subject`, is registered from a temp folder (BENCH_EXTRA_BACKENDS) with a
different adapter per run: the exact brute force, one that sleeps in every single query
(slower), one that returns a wrong neighbour for every third query (less accurate), and one
that fails to build. The gate must pass the rerun and fail the others, naming the rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.errors import BenchError
from bench.report.compare import Thresholds, valid_qps
from bench.results.store import drop_jobs, read_results, write_parquet
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from tests.conftest import tiny_suite

DATASET = {
    "kind": "synthetic",
    "distribution": "clustered",
    "n": 2000,
    "dim": 16,
    "queries": 200,
    "clusters": 8,
    "metric": "euclidean",
    "seed": 11,
}
ADAPTERS = {
    "exact": "bench.backends.bruteforce:BruteForce",
    "slow": "tests.adapters:Slow",
    "inaccurate": "tests.adapters:Inaccurate",
    "broken": "tests.adapters:Raising",
}
# Timings on a shared 2-core machine swing by 2x when other work runs; the deliberate
# slowdown is ~100x, so a loose threshold keeps these tests about the gate's logic (matching,
# recall, failures, significance), not about the machine's noise.
LOOSE = ["--qps-threshold", "0.8"]
# Real backends beside `subject`: the drift between two runs is estimated from all the rows,
# and from the (job, mode) groups they form, so the gate needs a few of them.
REAL = ("hnswlib", "annoy")


def _suite(algorithms: tuple[str, ...]) -> Suite:
    return tiny_suite(
        algorithms,
        name="gate",
        datasets=("gate-euclidean",),
        grid="ci",
        repetitions=3,
        warmup=5,
        batch_threads=1,
        build_threads=1,
        timeout_s=60,
        memory_limit_gb=2,
        min_time_s=0.01,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> dict[str, Path]:
    """Run directories: baseline and rerun (exact), slow, inaccurate, broken."""
    root = tmp_path_factory.mktemp("gate")
    datasets = root / "datasets"
    datasets.mkdir()
    (datasets / "gate-euclidean.yaml").write_text(yaml.safe_dump(DATASET))
    plan = {
        "baseline": "exact",
        "rerun": "exact",
        "slow": "slow",
        "inaccurate": "inaccurate",
        "broken": "broken",
    }
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE", str(cache_dir))
        patch.setenv("BENCH_DATASETS", str(datasets))
        for run, adapter in plan.items():
            backends = root / f"backends-{run}"
            backends.mkdir()
            spec = {
                "library": "numpy",
                "adapter": ADAPTERS[adapter],
                "metrics": ["euclidean", "angular", "inner_product"],
                "algorithms": {"subject": {"grids": {"ci": {}}}},
            }
            (backends / "subject.yaml").write_text(yaml.safe_dump(spec))
            patch.setenv("BENCH_EXTRA_BACKENDS", str(backends))
            # the broken run has no bruteforce: its rows are "missing" in the current run
            algorithms = (*(() if run == "broken" else ("bruteforce",)), *REAL, "subject")
            run_suite(_suite(algorithms), root / run, show_progress=False)
            out[run] = root / run
    return out


def bench(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "bench", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def regressions(stdout: str) -> list[list[str]]:
    """The cells of the Regressions table of the Markdown output."""
    if "### Regressions" not in stdout:
        return []
    block = stdout.split("### Regressions", 1)[1].split("<details>", 1)[0].split("###", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


STEADY = {"single": [1.0, 1.0, 1.0], "batch": [1.0, 1.0, 1.0]}  # QPS factors per repetition


def rewrite(source: Path, target: Path, change) -> Path:
    """Copy a results CSV through `change(frame)` (all cells as text), as a new run dir."""
    frame = pd.read_csv(source / "results.csv", dtype=str, keep_default_na=False)
    target.mkdir(parents=True, exist_ok=True)
    change(frame).to_csv(target / "results.csv", index=False)
    return target


def test_two_runs_of_the_same_code_pass(runs: dict[str, Path], tmp_path: Path) -> None:
    md = tmp_path / "comment.md"
    result = bench("compare", runs["baseline"], runs["rerun"], *LOOSE, "--markdown", md)
    # 3: a row whose drift band is too wide on a busy machine is inconclusive, never a fail
    assert result.returncode in (0, 3), result.stdout + result.stderr
    assert "**FAIL**" not in result.stdout and "10 rows matched" in result.stdout
    assert md.read_text() == result.stdout.rstrip("\n") + "\n"
    assert regressions(result.stdout) == []


def test_slower_adapter_fails_on_qps(runs: dict[str, Path]) -> None:
    result = bench("compare", runs["baseline"], runs["slow"], *LOOSE)
    assert result.returncode == 1, result.stdout + result.stderr
    found = regressions(result.stdout)
    assert found, result.stdout
    assert {(row[0], row[2], row[4]) for row in found} == {("QPS", "subject", "single")}
    assert "3/3 repetitions + drift" in found[0][-1]
    assert float(found[0][8]) < 0.5  # current / baseline median QPS


def test_less_accurate_adapter_fails_on_recall(runs: dict[str, Path]) -> None:
    result = bench("compare", runs["baseline"], runs["inaccurate"], *LOOSE)
    assert result.returncode == 1, result.stdout + result.stderr
    found = [row for row in regressions(result.stdout) if row[0] == "recall"]
    assert [(row[2], row[4]) for row in found] == [("subject", "single")]
    assert float(found[0][6]) == 1.0 and float(found[0][7]) < 0.99  # baseline, current


def test_failed_jobs_and_missing_rows_fail(runs: dict[str, Path]) -> None:
    result = bench("compare", runs["baseline"], runs["broken"], *LOOSE)
    assert result.returncode == 1, result.stdout + result.stderr
    found = regressions(result.stdout)
    failed = [row for row in found if row[0] == "failed"]
    assert [(row[2], row[7]) for row in failed] == [("subject", "failed")]
    assert "always fails to build" in failed[0][-1]
    missing = {(row[2], row[4]) for row in found if row[0] == "missing"}
    assert missing == {("bruteforce", "single"), ("bruteforce", "batch")}


def test_normalize_forgives_a_slower_machine_not_a_slower_adapter(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    def quarter_speed(frame: pd.DataFrame) -> pd.DataFrame:
        ok = frame["status"] == "ok"
        frame.loc[ok, "qps"] = (frame.loc[ok, "qps"].astype(float) / 4).map(repr)
        return frame

    # the baseline's rows with steady repetitions (a real run's can stall 10x on a busy VM),
    # and the same rows as a machine four times slower would have measured them
    steady = rewrite(runs["baseline"], tmp_path / "steady", _scale_reps(STEADY))
    slower_machine = rewrite(steady, tmp_path / "slower-machine", quarter_speed)
    # every row 4x slower: machine drift and a change of every row look the same, so the
    # raw gate cannot call it either way
    raw = bench("compare", steady, slower_machine)
    assert raw.returncode == 3, raw.stdout
    assert "**INCONCLUSIVE**" in raw.stdout and "shift 0.250x" in raw.stdout
    normalized = bench("compare", steady, slower_machine, "--normalize", *LOOSE)
    assert normalized.returncode == 0, normalized.stdout + normalized.stderr
    assert "Normalized: QPS divided by" in normalized.stdout
    slow = bench("compare", runs["baseline"], runs["slow"], *LOOSE, "--normalize")
    assert slow.returncode == 1
    assert {(row[0], row[2]) for row in regressions(slow.stdout)} == {("QPS", "subject")}


def test_normalize_without_calibration_is_a_usage_error(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    uncalibrated = rewrite(
        runs["rerun"], tmp_path / "no-bruteforce", lambda f: f[f["algorithm"] != "bruteforce"]
    )
    result = bench("compare", runs["baseline"], uncalibrated, "--normalize")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--normalize needs a calibration in the current run" in result.stdout
    assert "gate-euclidean" in result.stdout


def test_compare_accepts_csv_and_parquet_files(runs: dict[str, Path]) -> None:
    """Files name the same rows as their run folders: the report and exit code are the ones
    the folders give. (Which verdict that is depends on how busy the machine was during the
    two real runs: a wide drift band makes rows inconclusive, exit 3, so it is not asserted.)"""
    folders = bench("compare", runs["baseline"], runs["rerun"], *LOOSE)
    parquet = write_parquet(runs["rerun"])
    try:
        files = bench("compare", runs["baseline"] / "results.csv", parquet, *LOOSE)
    finally:
        parquet.unlink()
    assert files.returncode in (0, 3), files.stdout + files.stderr
    assert "10 rows matched" in files.stdout
    assert (files.returncode, files.stdout) == (folders.returncode, folders.stdout)


def test_not_a_results_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    result = bench("compare", tmp_path, tmp_path)
    assert result.returncode == 2
    assert "header does not match the results schema" in result.stdout


def _scale_reps(factors: dict[str, list[float]]):
    """Set each ok row's QPS to 1000 x a factor chosen by its repetition (per mode): the
    spread is then exactly the synthetic one, whatever the machine measured."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        for index in frame.index[frame["status"] == "ok"]:
            mode, rep = frame.at[index, "mode"], int(frame.at[index, "repetition"])
            frame.at[index, "qps"] = repr(1000.0 * factors[mode][rep])
        return frame

    return change


def test_noise_wider_than_the_threshold_is_inconclusive(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    spread = {"single": [0.5, 1.0, 1.7], "batch": [0.5, 1.0, 1.7]}
    quiet = rewrite(runs["baseline"], tmp_path / "quiet", _scale_reps(STEADY))
    noisy = rewrite(runs["rerun"], tmp_path / "noisy", _scale_reps(spread))
    result = bench("compare", quiet, noisy)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "**INCONCLUSIVE**" in result.stdout and "### Inconclusive" in result.stdout
    assert regressions(result.stdout) == []


def test_a_change_inside_the_band_is_not_a_regression(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Current slower by 15 % in every repetition of the batch rows only, where the baseline
    spread is 0.8-1.25: with a loose enough threshold this is inside the band, not a fail.
    Whether the rest of the band is narrow enough to say `ok` depends on how busy the machine
    was during the two real runs (the drift term), so `inconclusive` is a right answer too."""
    wide = {"single": [1.0, 1.0, 1.0], "batch": [0.8, 1.0, 1.25]}
    base = rewrite(runs["baseline"], tmp_path / "base", _scale_reps(wide))
    slower = {"single": [1.0, 1.0, 1.0], "batch": [0.85, 0.85, 0.85]}
    cur = rewrite(runs["rerun"], tmp_path / "cur", _scale_reps(slower))
    result = bench("compare", base, cur, "--qps-threshold", "0.5")
    assert result.returncode in (0, 3), result.stdout + result.stderr
    assert regressions(result.stdout) == [] and "**FAIL**" not in result.stdout


def _build_seconds(seconds: dict[str, float]):
    """Set every ok row's build time by its algorithm (rows of a job share one build)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        ok = frame["status"] == "ok"
        frame.loc[ok, "build_s"] = frame.loc[ok, "algorithm"].map(seconds).map(repr)
        return frame

    return change


def inconclusive(stdout: str) -> list[list[str]]:
    """The cells of the Inconclusive table of the Markdown output."""
    return regressions(stdout.replace("### Inconclusive", "### Regressions"))


def test_one_build_far_slower_than_the_drift_of_all_builds_regresses(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    steady = {"bruteforce": 1.0, "hnswlib": 1.0, "annoy": 1.0, "subject": 1.0}
    base = rewrite(runs["baseline"], tmp_path / "base", _build_seconds(steady))
    jitter = {"bruteforce": 1.0, "hnswlib": 1.05, "annoy": 0.95, "subject": 3.0}
    cur = rewrite(runs["rerun"], tmp_path / "cur", _build_seconds(jitter))
    result = bench("compare", base, cur, *LOOSE)
    assert result.returncode == 1, result.stdout + result.stderr
    builds = [row for row in regressions(result.stdout) if row[0] == "build"]
    assert [(row[2], row[8]) for row in builds] == [("subject", "3.000")]
    assert "drift of all builds" in builds[0][-1]


def test_build_times_that_scatter_like_the_machine_are_inconclusive(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Builds of 1 s scattered 0.6x-1.6x between two runs (as on a shared 2-core VM): the
    slowest is beyond the 25 % threshold, but inside the band of the drift, so never a fail."""
    steady = {"bruteforce": 1.0, "hnswlib": 1.0, "annoy": 1.0, "subject": 1.0}
    base = rewrite(runs["baseline"], tmp_path / "base", _build_seconds(steady))
    scattered = {"bruteforce": 1.6, "hnswlib": 0.6, "annoy": 1.0, "subject": 1.3}
    cur = rewrite(runs["rerun"], tmp_path / "cur", _build_seconds(scattered))
    result = bench("compare", base, cur, *LOOSE)
    assert [row for row in regressions(result.stdout) if row[0] == "build"] == []
    unsure = {row[2] for row in inconclusive(result.stdout) if row[0] == "build"}
    assert "bruteforce" in unsure, result.stdout
    assert "build time drift over 4 builds" in result.stdout


def test_a_slower_build_with_too_few_builds_to_measure_the_noise_is_inconclusive(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Two builds of at least 0.1 s, one 3x slower: without a drift of three builds there is
    no noise to judge one build by (a 60 ms build descheduled past 0.1 s failed the gate)."""
    short = {"bruteforce": 0.01, "hnswlib": 0.01, "annoy": 1.0, "subject": 1.0}
    base = rewrite(runs["baseline"], tmp_path / "base", _build_seconds(short))
    cur = rewrite(runs["rerun"], tmp_path / "cur", _build_seconds({**short, "subject": 3.0}))
    result = bench("compare", base, cur, *LOOSE)
    assert [row for row in regressions(result.stdout) if row[0] == "build"] == []
    (build,) = [row for row in inconclusive(result.stdout) if row[0] == "build"]
    assert build[2] == "subject" and "fewer than 3 builds to measure the noise by" in build[-1]
    assert "Only 2 builds to judge build time by" in result.stdout
    assert result.returncode == 3, result.stdout + result.stderr


def test_a_current_run_whose_every_job_failed_is_a_report_not_a_crash(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    def fail_all(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(status="failed", error="RuntimeError: the library crashed")

    failed = rewrite(runs["rerun"], tmp_path / "all-failed", fail_all)
    result = bench("compare", runs["baseline"], failed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 rows matched" in result.stdout
    assert {row[0] for row in regressions(result.stdout)} >= {"failed"}


@pytest.mark.parametrize("bad", ["0", "-5", "nan"])
def test_zero_negative_or_nan_qps_never_passes(
    runs: dict[str, Path], tmp_path: Path, bad: str
) -> None:
    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[(frame["status"] == "ok") & (frame["algorithm"] == "subject"), "qps"] = bad
        return frame

    spoiled = rewrite(runs["rerun"], tmp_path / "spoiled", spoil)
    result = bench("compare", runs["baseline"], spoiled, *LOOSE)
    # an error row: refused when read (exit 2) or a regression of its own (exit 1); a "nan"
    # cell is refused by the reader (its validation is issue 9's), never judged a pass
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "**PASS**" not in result.stdout
    if bad != "nan" and result.returncode == 1:
        assert {row[0] for row in regressions(result.stdout)} == {"invalid QPS"}


def test_valid_qps() -> None:
    assert valid_qps([1.0, 2.0])
    assert not valid_qps([1.0, 0.0]) and not valid_qps([-1.0]) and not valid_qps([])
    assert not valid_qps([float("nan")]) and not valid_qps([float("inf")])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--qps-threshold", "-1"], "--qps-threshold -1.0: expected a number in (0, 1)"),
        (["--alpha", "7"], "--alpha 7.0: expected a number in (0, 1)"),
        (["--qps-threshold", "-1", "--alpha", "7"], "--qps-threshold"),
        (["--build-threshold", "0"], "--build-threshold 0.0"),
        (["--recall-tolerance", "nan"], "--recall-tolerance nan"),
    ],
)
def test_threshold_arguments_are_validated(
    runs: dict[str, Path], args: list[str], message: str
) -> None:
    result = bench("compare", runs["baseline"], runs["rerun"], *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout


def test_thresholds_reject_out_of_range_values() -> None:
    with pytest.raises(BenchError, match="--min-build-seconds"):
        Thresholds(min_build_s=-1)


def header_only(run_dir: Path, target: Path) -> Path:
    """A copy of a run whose every job was dropped by the store: its header and no rows."""
    shutil.copytree(run_dir, target)
    drop_jobs(target, set(read_results(target)["job_id"]))
    assert (target / "results.csv").read_text().count("\n") == 1
    return target


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout.count("\n") == 1, result.stdout
    return result.stdout.strip()


def test_a_run_without_rows_on_either_side_is_nothing_to_judge(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    empty = header_only(runs["baseline"], tmp_path / "empty")
    as_baseline = bench("compare", empty, runs["rerun"])
    assert as_baseline.returncode == 2
    assert f"nothing to judge: the baseline {empty} has no row with status ok (no rows)" in (
        one_line(as_baseline)
    )
    as_current = bench("compare", runs["baseline"], empty)
    assert as_current.returncode == 2
    assert f"nothing to judge: no row of the current {empty} (no rows) matches" in (
        one_line(as_current)
    )


def test_a_baseline_without_ok_rows_is_nothing_to_judge(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    failed = rewrite(runs["broken"], tmp_path / "failed", lambda f: f[f["status"] != "ok"])
    for current in (failed, runs["rerun"]):
        result = bench("compare", failed, current)
        assert result.returncode == 2, result.stdout
        assert "**PASS**" not in result.stdout
        assert "has no row with status ok (1 row: 1 failed)" in one_line(result)


def test_runs_without_a_common_row_are_nothing_to_judge(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    hnsw = rewrite(runs["baseline"], tmp_path / "hnsw", lambda f: f[f["algorithm"] == "hnswlib"])
    annoy = rewrite(runs["rerun"], tmp_path / "annoy", lambda f: f[f["algorithm"] == "annoy"])
    result = bench("compare", hnsw, annoy)
    assert result.returncode == 2, result.stdout
    message = one_line(result)
    assert f"no row of the current {annoy} (" in message and f"the baseline {hnsw} by" in message
