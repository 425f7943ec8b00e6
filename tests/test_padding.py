"""Short answers: every adapter pads with -1, never with a library's own filler.

Libraries signal "fewer than k found" each in their own way: faiss with id -1, ScaNN with
id 0 and a NaN distance, hnswlib and scikit-learn by raising, annoy, nmslib and falconn by
returning fewer ids, usearch with a count. The runner stores answers as -1-padded rows, so
each adapter must translate. Here every registered algorithm answers on a corpus whose
searched partitions (or candidate lists) hold fewer than k points, and with k equal to the
corpus size; both go through the runner's own timing loops, which store what it scores.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

with contextlib.suppress(ImportError):
    import ngtpy  # noqa: F401  (before usearch, see tests/test_more_backends.py)

from bench.backends.registry import Algorithm, algorithms
from bench.corpora.corpus import normalize_rows
from bench.runner.measure import time_batch, time_single

N_TRAIN = 300
SHORT_K = 100  # more than one partition (or a small candidate list) holds

# Build parameters that make partitions much smaller than SHORT_K: faiss IVF with 128 lists
# holds about 2 points per list, ScaNN's leaves are clipped to n // 50 = 6 leaves of ~50.
SMALL_PARTITIONS: dict[str, dict[str, Any]] = {
    "faiss-ivf": {"nlist": 128},
    "faiss-ivfpq": {"nlist": 128, "m": 4},
    "faiss-ivf-blocks": {"nlist": 128},
    "faiss-ivfpq-ooc": {"nlist": 128, "m": 4},
    "faiss-ivfsq-ooc": {"nlist": 128},
    "scann": {"leaves": 100},
    "falconn-crosspolytope": {"tables": 1},
    "falconn-hyperplane": {"tables": 1},
    "annoy": {"n_trees": 1},
}
# The least exhaustive search: one partition, one probe, few candidates.
NARROW_QUERY: dict[str, dict[str, Any]] = {
    "faiss-ivf": {"nprobe": 1},
    "faiss-ivfpq": {"nprobe": 1, "k_factor": 1},
    "faiss-ivf-blocks": {"nprobe": 1},
    "faiss-ivfpq-ooc": {"nprobe": 1},
    "faiss-ivfsq-ooc": {"nprobe": 1},
    "scann": {"leaves_to_search": 1, "reorder": SHORT_K},
    "falconn-crosspolytope": {"probes": 1},
    "falconn-hyperplane": {"probes": 1},
    "annoy": {"search_k": 10},
}


def corpus(metric: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    train = rng.standard_normal((N_TRAIN, 8), dtype=np.float32)
    queries = rng.standard_normal((20, 8), dtype=np.float32)
    if metric == "angular":
        return normalize_rows(train), normalize_rows(queries)
    return train, queries


def assert_padded(answers: np.ndarray, k: int, where: str) -> int:
    """Rows of k ids: valid distinct ids first, then only -1. Returns the shortest length."""
    assert answers.shape[1] == k, where
    shortest = k
    for row, answer in enumerate(answers):
        found = int((answer >= 0).sum())
        shortest = min(shortest, found)
        assert (answer[:found] >= 0).all() and (answer[found:] == -1).all(), (
            f"{where} query {row}: padding must be -1 and only at the end: {answer.tolist()}"
        )
        assert answer[:found].max(initial=0) < N_TRAIN, f"{where} query {row}: id out of range"
        assert len(np.unique(answer[:found])) == found, (
            f"{where} query {row}: duplicate ids in {answer[:found].tolist()}"
        )
    return shortest


def answer_both_ways(
    algorithm: Algorithm, metric: str, build: dict[str, Any], query: dict[str, Any], k: int
) -> list[int]:
    """Shortest answer length of single and (where native) batch mode, after checking both."""
    train, queries = corpus(metric)
    backend = algorithm.adapter_class()(metric, **build)
    backend.fit(train)
    backend.set_query_params(**query)
    backend.set_threads(1)
    where = f"{algorithm.name} {metric} k={k} {query}"
    shortest = [assert_padded(time_single(backend, queries, k).answers, k, f"{where} single")]
    if backend.supports_batch:
        for threads in (1, 2):
            backend.set_threads(threads)
            answers = time_batch(backend, queries, k).answers
            shortest.append(assert_padded(answers, k, f"{where} batch x{threads}"))
    backend.close()
    return shortest


@pytest.mark.parametrize("name", sorted(algorithms()))
def test_short_answers_are_padded_with_minus_one(name: str) -> None:
    algorithm = algorithms()[name]
    if algorithm.unavailable_reason():
        pytest.skip(algorithm.unavailable_reason())
    if "float32" not in algorithm.dtypes:
        pytest.skip(f"{name} indexes byte corpora only (tests/test_bytes.py)")
    build = {**algorithm.build_grid("quick")[-1], **SMALL_PARTITIONS.get(name, {})}
    narrow = {**algorithm.query_grid("quick")[0], **NARROW_QUERY.get(name, {})}
    wide = algorithm.query_grid("quick")[-1]
    for metric in algorithm.metrics:
        shortest = answer_both_ways(algorithm, metric, build, narrow, SHORT_K)
        if name in NARROW_QUERY:
            assert min(shortest) < SHORT_K, f"{name} {metric}: the narrow search was not short"
        answer_both_ways(algorithm, metric, build, wide, N_TRAIN)
