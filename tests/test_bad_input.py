"""Bad input gets a clear error naming what was wrong and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.corpora.corpus import Corpus
from bench.corpora.registry import corpus_from_spec
from bench.errors import BenchError


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=300
    )


def test_unknown_backend(bench_env: Path) -> None:
    suite = bench_env / "s.yaml"
    suite.write_text("datasets: [tiny-euclidean]\n")
    result = bench(
        "run", "--suite", str(suite), "--algorithms", "nosuchlib", "--results", str(bench_env)
    )
    assert result.returncode == 2
    message = " ".join(result.stdout.split())
    assert "--algorithms 'nosuchlib': unknown algorithm 'nosuchlib': expected" in message
    assert "hnswlib" in message


def test_malformed_yaml(bench_env: Path) -> None:
    bad = bench_env / "bad.yaml"
    bad.write_text("datasets: [tiny-euclidean\nalgorithms: all\n")
    result = bench("run", "--suite", str(bad))
    assert result.returncode == 2
    assert f"suite file {bad} is not valid YAML" in " ".join(result.stdout.split())


def test_k_larger_than_corpus(bench_env: Path) -> None:
    (bench_env / "datasets" / "five.yaml").write_text(
        "kind: synthetic\ndistribution: gaussian\nn: 5\ndim: 3\nqueries: 2\n"
    )
    suite = bench_env / "k.yaml"
    suite.write_text("datasets: [five]\nalgorithms: [bruteforce]\nk: 10\n")
    result = bench("run", "--suite", str(suite), "--results", str(bench_env))
    assert result.returncode == 2
    assert "k=10 is larger than corpus 'five' (5 vectors)" in " ".join(result.stdout.split())


def test_unknown_dataset(bench_env: Path) -> None:
    suite = bench_env / "d.yaml"
    suite.write_text("datasets: [nope]\n")
    result = bench("run", "--suite", str(suite), "--results", str(bench_env))
    assert "unknown dataset 'nope': expected one of" in " ".join(result.stdout.split())


def corpus(train: np.ndarray, queries: np.ndarray) -> Corpus:
    return Corpus(name="c", train=train, queries=queries, metric="euclidean", fingerprint="f")


def test_wrong_dimension() -> None:
    with pytest.raises(
        BenchError, match="queries have dimension 3, expected the train dimension 4"
    ):
        corpus(np.zeros((10, 4), np.float32), np.zeros((2, 3), np.float32))


def test_nan_in_vectors() -> None:
    train = np.zeros((10, 4), np.float32)
    train[7, 2] = np.nan
    with pytest.raises(BenchError, match="train: row 7 contains NaN or infinity"):
        corpus(train, np.zeros((2, 4), np.float32))


def test_zero_rows_are_refused_for_angular_only(tmp_path: Path, bench_env: Path) -> None:
    """A zero query is 1.0 from every point under angular distance, so any answer would
    score full recall: refused in the corpus and in files, naming the dataset and row."""
    train, queries = np.ones((10, 4), np.float32), np.ones((5, 4), np.float32)
    queries[3] = 0
    with pytest.raises(BenchError, match=r"^corpus 'c' queries: row 3 is all zeros .* angular"):
        Corpus(name="c", train=train, queries=queries, metric="angular", fingerprint="f")
    assert corpus(train, queries).metric == "euclidean"  # other metrics allow zero rows
    train[7, :] = 1e-24  # its squares underflow: it cannot be normalised either
    with pytest.raises(BenchError, match="train: row 7 is all zeros"):
        Corpus(name="c", train=train, queries=queries + 1, metric="angular", fingerprint="f")
    with_zero = np.vstack([np.eye(6), np.zeros((1, 6)), np.eye(6)[:1]]).astype(np.float32)
    np.save(tmp_path / "train.npy", with_zero)  # row 6 is zero
    np.save(tmp_path / "query.npy", np.eye(6, dtype=np.float32))
    spec = {"kind": "file", "train": str(tmp_path / "train.npy")}
    spec["queries"] = str(tmp_path / "query.npy")
    with pytest.raises(BenchError, match=r"^corpus 'zeros' train: row 6 is all zeros"):
        corpus_from_spec("zeros", {**spec, "metric": "angular"})
    assert corpus_from_spec("zeros", {**spec, "metric": "euclidean"}).train[6].sum() == 0


def test_synthetic_angular_rows_are_never_zero() -> None:
    from bench.corpora.synthetic import unit_rows

    vectors = np.array([[3, 4], [0, 0], [0, -2]], dtype=np.float32)
    np.testing.assert_allclose(unit_rows(vectors), [[0.6, 0.8], [1, 0], [0, -1]])


def test_wrong_dtype_and_shape() -> None:
    with pytest.raises(BenchError, match="expected dtype float32, got float64"):
        corpus(np.zeros((10, 4)), np.zeros((2, 4), np.float32))
    with pytest.raises(BenchError, match="expected a 2-D array"):
        corpus(np.zeros(10, np.float32), np.zeros((2, 4), np.float32))


def test_unsupported_metric_for_backend() -> None:
    from bench.backends.scikit_learn import ScikitLearn

    with pytest.raises(BenchError, match="does not support metric 'inner_product'"):
        ScikitLearn("inner_product")


def run_error(bench_env: Path, suite_text: str, *args: str) -> str:
    """`bench run` on a suite that must be refused: exit 2, one line, nothing measured."""
    suite = bench_env / "bad-suite.yaml"
    suite.write_text(suite_text)
    result = bench("run", "--suite", str(suite), "--results", str(bench_env / "out"), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert not list((bench_env / "out").rglob("results.csv")), "nothing may be measured"
    return " ".join(result.stdout.split())


def test_suite_types_are_checked_before_anything_runs(bench_env: Path) -> None:
    message = run_error(bench_env, "datasets: tiny-euclidean\nalgorithms: [bruteforce]\n")
    assert "datasets='tiny-euclidean': expected a list" in message
    assert "suite file" in message and "bad-suite.yaml" in message
    message = run_error(bench_env, "datasets: [tiny-euclidean]\nquery_limit: -3\n")
    assert "query_limit=-3: expected a positive integer, or null for every query" in message


def test_suite_name_cannot_escape_the_results_folder(bench_env: Path) -> None:
    message = run_error(bench_env, "name: ../../escape\ndatasets: [tiny-euclidean]\n")
    assert "name='../../escape': expected a name of letters, digits" in message
    assert not (bench_env.parent / "escape").exists()


def test_warmup_larger_than_the_queries_is_refused(bench_env: Path) -> None:
    message = run_error(
        bench_env,
        "datasets: [tiny-euclidean]\nalgorithms: [bruteforce]\ngrid: ci\nquery_limit: 20\n"
        "warmup: 50\n",
    )
    assert (
        "warmup=50 is larger than the 20 queries searched on corpus 'tiny-euclidean': "
        "expected warmup <= 20" in message
    )


def test_misspelt_backend_parameter_and_missing_backend_folder(
    bench_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = bench_env / "extra"
    extra.mkdir()
    (extra / "mine.yaml").write_text(
        "library: hnswlib\nadapter: bench.backends.hnswlib:Hnswlib\nmetrics: [euclidean]\n"
        "params: {build: {M: {type: int, min: 2}}, query: {ef: {type: int, min: 1}}}\n"
        "algorithms:\n  mine: {grids: {g: {build: {M: [-1]}, query: {ef: [10]}}}}\n"
    )
    monkeypatch.setenv("BENCH_EXTRA_BACKENDS", str(extra))
    result = bench("backends")
    assert result.returncode == 2
    message = " ".join(result.stdout.split())
    assert "algorithms.mine.grids.g.build.M[0]=-1: expected an integer >= 2" in message
    monkeypatch.setenv("BENCH_EXTRA_BACKENDS", str(bench_env / "nowhere"))
    result = bench("backends")
    assert result.returncode == 2
    assert f"backend folder {bench_env / 'nowhere'} does not exist" in " ".join(
        result.stdout.split()
    )


def test_batch_mode_without_a_batch_call_is_a_row_not_a_rebuild(bench_env: Path) -> None:
    from bench.corpora.registry import load_corpus
    from bench.results.store import read_results
    from bench.runner.plan import plan_jobs
    from bench.runner.run import run_suite
    from bench.runner.suite import Suite

    pytest.importorskip("annoy")
    settings = dict(name="b", datasets=("tiny-euclidean",), algorithms=("annoy",), grid="ci")
    settings |= dict(repetitions=1, warmup=0, timeout_s=60, memory_limit_gb=2)
    corpora = {"tiny-euclidean": (load_corpus("tiny-euclidean"), {})}
    jobs, unavailable = plan_jobs(Suite(**settings, modes=("single", "batch")), corpora)
    assert jobs and not unavailable
    assert all(job.modes == ["single"] for job in jobs), "batch skipped, single kept"

    suite = Suite(**settings, modes=("batch",))
    first = run_suite(suite, bench_env / "run", show_progress=False)
    frame = read_results(bench_env / "run")
    assert list(frame["status"]) == ["unavailable"]
    assert "annoy has no batch call, and the suite's only mode is batch" in frame["error"][0]
    second = run_suite(suite, bench_env / "run", show_progress=False)
    assert len(read_results(bench_env / "run")) == 1, "resume adds nothing and builds nothing"
    assert first["unavailable"] == second["unavailable"] == 1
    assert first["ok"] == second["ok"] == 0
