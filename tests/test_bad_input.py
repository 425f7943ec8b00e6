"""Bad input gets a clear error naming what was wrong and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.corpora.corpus import Corpus
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
    assert "unknown backend 'nosuchlib': expected one of" in message and "hnswlib" in message


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


def test_wrong_dtype_and_shape() -> None:
    with pytest.raises(BenchError, match="expected dtype float32, got float64"):
        corpus(np.zeros((10, 4)), np.zeros((2, 4), np.float32))
    with pytest.raises(BenchError, match="expected a 2-D array"):
        corpus(np.zeros(10, np.float32), np.zeros((2, 4), np.float32))


def test_unsupported_metric_for_backend() -> None:
    from bench.backends.scikit_learn import ScikitLearn

    with pytest.raises(BenchError, match="does not support metric 'inner_product'"):
        ScikitLearn("inner_product")
