"""Every registered algorithm answers correctly on a tiny corpus, through its own quick grid."""

from __future__ import annotations

import numpy as np
import pytest

from bench.backends.registry import algorithms
from bench.corpora.corpus import normalize_rows
from bench.groundtruth.exact import exact_knn
from bench.metrics.recall import recall_per_query

PROJECT_ALGORITHMS = sorted(algorithms())
EXACT = {"bruteforce", "faiss-flat", "sklearn-brute", "sklearn-kdtree", "sklearn-balltree"}


def tiny(metric: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((10, 16), dtype=np.float32) * 3
    train = centres[rng.integers(0, 10, 2000)] + rng.standard_normal((2000, 16), dtype=np.float32)
    queries = centres[rng.integers(0, 10, 50)] + rng.standard_normal((50, 16), dtype=np.float32)
    if metric == "angular":
        return normalize_rows(train), normalize_rows(queries)
    return train, queries


@pytest.mark.parametrize("name", PROJECT_ALGORITHMS)
def test_adapter_answers_correctly(name: str) -> None:
    algorithm = algorithms()[name]
    if algorithm.unavailable_reason():
        pytest.skip(algorithm.unavailable_reason())
    cls = algorithm.adapter_class()
    if "float32" not in cls.dtypes:
        pytest.skip(f"{name} indexes byte corpora only (tests/test_bytes.py)")
    assert set(algorithm.metrics) == set(cls.metrics), "YAML metrics must match the adapter"
    build_params = algorithm.build_grid("quick")[-1]
    query_params = algorithm.query_grid("quick")[-1]  # the grid's most exhaustive point
    for metric in algorithm.metrics:
        train, queries = tiny(metric)
        truth = exact_knn(train, queries, 10, metric)
        backend = cls(metric, **build_params)
        backend.set_threads(2)
        backend.fit(train)
        backend.set_query_params(**query_params)
        backend.set_threads(1)
        single = np.array([backend.query(q, 10) for q in queries])
        recall = recall_per_query(single, truth.ids, truth.distances, queries, train, metric, 10)
        floor = 1.0 if name in EXACT else 0.9
        assert recall.mean() >= floor, f"{name} {metric}: recall {recall.mean():.3f}"
        if cls.supports_batch:
            backend.set_threads(2)
            batch = backend.batch_query(queries, 10)
            batch_recall = recall_per_query(
                batch, truth.ids, truth.distances, queries, train, metric, 10
            )
            assert batch_recall.mean() >= floor
        size = backend.index_bytes()
        assert size is None or size >= 0
        backend.close()
