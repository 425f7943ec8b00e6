"""`bench compare`: real runs through the real runner, compared through the real CLI.

One algorithm name, `subject`, is registered from a temp folder (BENCH_EXTRA_BACKENDS) with a
different adapter per run: the exact brute force, one that sleeps in every single query
(slower), one that returns a wrong neighbour for every third query (less accurate), and one
that fails to build. The gate must pass the rerun and fail the others, naming the rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.report.compare import qps_drop_p_value
from bench.results.store import write_parquet
from bench.runner.run import run_suite
from bench.runner.suite import Suite

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


def _suite(algorithms: tuple[str, ...]) -> Suite:
    return Suite(
        name="gate",
        datasets=("gate-euclidean",),
        algorithms=algorithms,
        grid="ci",
        repetitions=3,
        warmup=5,
        batch_threads=1,
        build_threads=1,
        timeout_s=60,
        memory_limit_gb=2,
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
            algorithms = ("subject",) if run == "broken" else ("bruteforce", "subject")
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
    block = stdout.split("### Regressions", 1)[1].split("<details>", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def rewrite(source: Path, target: Path, change) -> Path:
    """Copy a results CSV through `change(frame)` (all cells as text), as a new run dir."""
    frame = pd.read_csv(source / "results.csv", dtype=str, keep_default_na=False)
    target.mkdir(parents=True, exist_ok=True)
    change(frame).to_csv(target / "results.csv", index=False)
    return target


def test_two_runs_of_the_same_code_pass(runs: dict[str, Path], tmp_path: Path) -> None:
    md = tmp_path / "comment.md"
    result = bench("compare", runs["baseline"], runs["rerun"], *LOOSE, "--markdown", md)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "**PASS**" in result.stdout and "4 rows matched" in result.stdout
    assert md.read_text() == result.stdout.rstrip("\n") + "\n"
    assert regressions(result.stdout) == []


def test_slower_adapter_fails_on_qps(runs: dict[str, Path]) -> None:
    result = bench("compare", runs["baseline"], runs["slow"], *LOOSE)
    assert result.returncode == 1, result.stdout + result.stderr
    found = regressions(result.stdout)
    assert found, result.stdout
    assert {(row[0], row[2], row[4]) for row in found} == {("QPS", "subject", "single")}
    assert "one-sided Welch, 3/3 repetitions" in found[0][-1]
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

    # the baseline's own rows, as a machine four times slower would have measured them
    slower_machine = rewrite(runs["baseline"], tmp_path / "slower-machine", quarter_speed)
    raw = bench("compare", runs["baseline"], slower_machine)
    assert raw.returncode == 1, raw.stdout
    assert len(regressions(raw.stdout)) == 4  # every row, both modes
    normalized = bench("compare", runs["baseline"], slower_machine, "--normalize")
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


def test_compare_accepts_csv_and_parquet_files(runs: dict[str, Path], tmp_path: Path) -> None:
    parquet = write_parquet(runs["rerun"])
    result = bench("compare", runs["baseline"] / "results.csv", parquet, *LOOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    parquet.unlink()


def test_not_a_results_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    result = bench("compare", tmp_path, tmp_path)
    assert result.returncode == 2
    assert "header does not match the results schema" in result.stdout


@pytest.mark.parametrize(
    "baseline, current, expected",
    [
        ([100.0, 101.0, 99.0], [50.0, 51.0, 49.0], "significant"),
        ([100.0, 101.0, 99.0], [100.0, 99.5, 101.0], "not"),
        ([100.0, 100.0], [90.0, 90.0], "significant"),  # no noise: any drop is real
        ([100.0], [50.0, 50.0], None),  # one repetition: no test
    ],
)
def test_qps_drop_p_value(baseline: list[float], current: list[float], expected) -> None:
    p = qps_drop_p_value(baseline, current)
    if expected is None:
        assert p is None
    else:
        assert (p < 0.05) == (expected == "significant")
