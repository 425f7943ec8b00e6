"""The usearch, voyager, pynndescent, scann and NGT adapters against exact numpy neighbours.

Real libraries on a tiny corpus (2000 x 16); each test skips where its library is missing.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

from bench.backends.base import Backend
from bench.backends.registry import get_algorithm

with contextlib.suppress(ImportError):
    # ngtpy before usearch: once usearch is loaded, NGT can no longer store objects
    # (RuntimeError from ObjectRepository.h:allocatePersistentObject) in the same process.
    import ngtpy  # noqa: F401

K = 10

# algorithm -> (import name, adapter module, class, generous build params, generous query params)
CASES: dict[str, tuple[str, str, str, dict[str, Any], dict[str, Any]]] = {
    "usearch": (
        "usearch",
        "bench.backends.usearch",
        "Usearch",
        {"connectivity": 16, "expansion_add": 128, "dtype": "f32"},
        {"expansion_search": 128},
    ),
    "voyager": (
        "voyager",
        "bench.backends.voyager",
        "Voyager",
        {"M": 16, "ef_construction": 128, "seed": 1},
        {"ef": 128},
    ),
    "pynndescent": (
        "pynndescent",
        "bench.backends.pynndescent",
        "Pynndescent",
        {"n_neighbors": 20, "diversify_prob": 1.0, "seed": 1},
        {"epsilon": 0.3},
    ),
    "scann": (
        "scann",
        "bench.backends.scann",
        "Scann",
        {"leaves": 20, "dims_per_block": 2, "avq_threshold": 0.2},
        {"leaves_to_search": 10, "reorder": 200},
    ),
    "ngt-anng": (
        "ngtpy",
        "bench.backends.ngt",
        "Ngt",
        {"edge_size": 20},
        {"epsilon": 0.2},
    ),
}
DETERMINISTIC_BATCH = {"usearch", "voyager", "pynndescent", "scann", "ngt-anng"}


def tiny(metric: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((12, 16), dtype=np.float32) * 3
    train = centres[rng.integers(0, 12, 2000)] + rng.standard_normal((2000, 16), dtype=np.float32)
    queries = centres[rng.integers(0, 12, 40)] + rng.standard_normal((40, 16), dtype=np.float32)
    if metric == "angular":
        train /= np.linalg.norm(train, axis=1, keepdims=True)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    train.flags.writeable = queries.flags.writeable = False  # like the runner's memory maps
    return train, queries


def exact_ids(train: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        scores = -((queries[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
    else:  # angular on unit vectors, and inner product: the largest dot products
        scores = queries @ train.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :K]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def adapter(name: str) -> type[Backend]:
    library, module, cls, _, _ = CASES[name]
    pytest.importorskip(library)
    return getattr(pytest.importorskip(module), cls)


def built(name: str, metric: str, train: np.ndarray) -> Backend:
    _, _, _, build_params, query_params = CASES[name]
    backend = adapter(name)(metric, **build_params)
    backend.set_threads(2)
    backend.fit(train)
    backend.set_query_params(**query_params)
    return backend


def metric_cases() -> list[tuple[str, str]]:
    cases = []
    for name in CASES:
        for metric in get_algorithm(name).metrics:
            cases.append((name, metric))
    return cases


@pytest.mark.parametrize(("name", "metric"), metric_cases())
def test_answers_close_to_exact_neighbours(name: str, metric: str) -> None:
    train, queries = tiny(metric)
    truth = exact_ids(train, queries, metric)
    backend = built(name, metric, train)
    backend.set_threads(1)
    single = np.array([backend.query(q, K) for q in queries])
    assert single.shape == (len(queries), K)
    assert recall(single, truth) >= 0.9, f"{name} {metric}: recall {recall(single, truth):.3f}"
    backend.set_threads(2)
    batch = backend.batch_query(queries, K)
    assert batch.shape == (len(queries), K) and batch.dtype == np.int64
    assert recall(batch, truth) >= 0.9
    if name in DETERMINISTIC_BATCH:
        np.testing.assert_array_equal(batch, single)
    assert backend.index_bytes() > 0
    backend.close()


@pytest.mark.parametrize("name", list(CASES))
def test_yaml_metrics_match_adapter(name: str) -> None:
    algorithm = get_algorithm(name)
    cls = adapter(name)
    assert set(algorithm.metrics) == set(cls.metrics)
    assert algorithm.adapter == f"{cls.__module__}:{cls.__name__}"
    assert cls.supports_batch
    for grid in ("quick", "standard", "ci"):
        assert algorithm.build_grid(grid) and algorithm.query_grid(grid)
    assert len(algorithm.build_grid("ci")) * len(algorithm.query_grid("ci")) == 2


@pytest.mark.parametrize("name", list(CASES))
def test_short_answers_are_padded(name: str) -> None:
    """Asking for more neighbours than a 30-point index holds pads with -1 or returns fewer."""
    train, queries = tiny("euclidean")
    backend = built(name, "euclidean", train[:30])
    ids = backend.batch_query(queries[:3], 40)
    assert ids.shape == (3, 40)
    real = ids[ids >= 0]
    assert real.max() < 30 and len(real) >= 3 * 20
    backend.close()
