"""One pytest-benchmark per registered algorithm: search 200 queries of a 5000 x 32 corpus.

Generated from the registry, so a new backends/*.yaml is benchmarked without code changes.
Each index is built once (outside the timing) at the first point of its `ci` grid; the timed
call is the library's batch search where it has one, else the queries one at a time, on one
thread. The recall of that answer goes into `benchmark.extra_info` and must clear a floor, so a
faster but broken backend cannot pass as an improvement.

Save and compare baselines:
    pytest benchmarks --benchmark-autosave
    pytest benchmarks --benchmark-compare --benchmark-compare-fail=mean:25%
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from bench.backends.base import Backend
from bench.backends.registry import Algorithm, algorithms
from bench.metrics.recall import recall_per_query

if TYPE_CHECKING:
    from benchmarks.conftest import BenchCorpus

GRID = "ci"
# Algorithms that search exhaustively: their answers must be exact (ties counted as hits).
EXACT = {"bruteforce", "faiss-flat", "sklearn-brute", "sklearn-kdtree", "sklearn-balltree"}
APPROXIMATE_FLOOR = 0.5


def search(backend: Backend, queries: np.ndarray, k: int) -> np.ndarray:
    if backend.supports_batch:
        return backend.batch_query(queries, k)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for row, vector in enumerate(queries):
        ids = backend.query(vector, k)
        out[row, : len(ids)] = ids
    return out


def built(algorithm: Algorithm, data: BenchCorpus) -> tuple[Backend, dict]:
    """The algorithm's index at the first point of its ci grid, or a skip saying why not."""
    if reason := algorithm.unavailable_reason():
        pytest.skip(reason)
    if data.corpus.metric not in algorithm.metrics:
        pytest.skip(f"{algorithm.name} does not support {data.corpus.metric}")
    if GRID not in algorithm.grids:
        pytest.skip(f"{algorithm.name} has no {GRID!r} grid in {algorithm.source}")
    build_params = algorithm.build_grid(GRID)[0]
    query_params = algorithm.query_grid(GRID)[0]
    backend = algorithm.adapter_class()(data.corpus.metric, **build_params)
    backend.set_threads(1)
    backend.fit(data.corpus.train)
    backend.set_query_params(**query_params)
    return backend, {"build": build_params, "query": query_params}


@pytest.mark.parametrize("name", sorted(algorithms()))
def test_search(benchmark, bench_corpus: BenchCorpus, name: str) -> None:
    algorithm = algorithms()[name]
    backend, params = built(algorithm, bench_corpus)
    try:
        benchmark.group = "search 200 queries, 5000 x 32 clustered, k=10, 1 thread"
        answers = benchmark(search, backend, bench_corpus.queries, bench_corpus.k)
    finally:
        backend.close()
    recall = recall_per_query(
        answers,
        bench_corpus.true_ids,
        bench_corpus.true_distances,
        bench_corpus.queries,
        bench_corpus.corpus.train,
        bench_corpus.corpus.metric,
        bench_corpus.k,
    ).mean()
    benchmark.extra_info.update(
        {
            "recall": float(recall),
            "mode": "batch" if backend.supports_batch else "single",
            "params": params,
            "library_version": algorithm.version(),
        }
    )
    floor = 1.0 if name in EXACT else APPROXIMATE_FLOOR
    assert recall >= floor, f"{name}: recall {recall:.3f} below the floor {floor}"
