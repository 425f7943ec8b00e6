"""Shared fixtures: an isolated cache, tiny corpora as dataset YAMLs, the test adapters."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bench.corpora.synthetic import SyntheticSpec, synthetic_corpus
from bench.runner.suite import Suite

TESTS_DIR = Path(__file__).parent
TINY_DATASETS = {
    "tiny-euclidean": {
        "kind": "synthetic",
        "distribution": "clustered",
        "n": 2000,
        "dim": 16,
        "queries": 60,
        "clusters": 8,
        "metric": "euclidean",
        "seed": 3,
    },
    "tiny-angular": {
        "kind": "synthetic",
        "distribution": "lowdim",
        "n": 2000,
        "dim": 24,
        "queries": 60,
        "intrinsic_dim": 6,
        "metric": "angular",
        "seed": 4,
    },
}


def pytest_configure(config: pytest.Config) -> None:
    """The suite sets up its own folders: BENCH_* variables of the machine running it (a
    user's cache, extra backends, a catalogue) would change what is collected and measured,
    and the CLI warns about names it does not read. Before collection, since some test
    modules list the registered backends at import."""
    for name in [name for name in os.environ if name.startswith("BENCH_")]:
        del os.environ[name]


def write_tiny_datasets(root: Path) -> Path:
    """ROOT/datasets holding one YAML per tiny corpus; returns that folder."""
    datasets = root / "datasets"
    datasets.mkdir()
    for name, spec in TINY_DATASETS.items():
        (datasets / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    return datasets


def tiny_suite(algorithms: tuple[str, ...], **overrides: Any) -> Suite:
    """A quick suite of `algorithms` (test grid) on the tiny Euclidean corpus; `overrides`
    replace any setting."""
    settings = dict(
        name="t",
        datasets=("tiny-euclidean",),
        algorithms=algorithms,
        grid="test",
        repetitions=1,
        warmup=0,
        timeout_s=20,
    )
    return Suite(**{**settings, **overrides})


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def bench_env(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the harness at a temp cache and dataset folder, with the test adapters registered.

    Worker processes inherit these variables, so they see the same setup."""
    point_at_tiny_setup(monkeypatch, tmp_path, cache_dir)
    return tmp_path


def point_at_tiny_setup(patch: pytest.MonkeyPatch, root: Path, cache_dir: Path) -> None:
    """The tiny dataset YAMLs in ROOT/datasets, the cache and the test adapters, through
    `patch` (a module-scoped fixture gives its own `pytest.MonkeyPatch.context()`)."""
    patch.setenv("BENCH_CACHE", str(cache_dir))
    patch.setenv("BENCH_DATASETS", str(write_tiny_datasets(root)))
    patch.setenv("BENCH_EXTRA_BACKENDS", str(TESTS_DIR / "backends"))


@pytest.fixture
def tiny_corpus(bench_env: Path):
    spec = {k: v for k, v in TINY_DATASETS["tiny-euclidean"].items() if k != "kind"}
    return synthetic_corpus("tiny-euclidean", SyntheticSpec(**spec))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def hnswlib_run(bench_env: Path) -> Path:
    """A finished run of hnswlib (two query points, single and batch) on the tiny corpus."""
    from bench.runner.run import run_suite
    from bench.runner.suite import Suite

    suite = Suite(
        name="t", datasets=("tiny-euclidean",), algorithms=("hnswlib",), grids={
            "hnswlib": {"build": {"M": [4], "ef_construction": [20]}, "query": {"ef": [10, 40]}}},
        repetitions=2, warmup=5, modes=("single", "batch"), query_limit=40, batch_threads=1,
        build_threads=1, timeout_s=60,
    )  # fmt: skip
    out = bench_env / "results" / "t"
    run_suite(suite, out, show_progress=False)
    return out
