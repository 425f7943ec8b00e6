"""Fixtures of the pytest-benchmark regression suite: one small deterministic corpus.

Run with `pytest benchmarks` (not part of the default `pytest` run: testpaths = tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from bench.corpora.corpus import Corpus
from bench.corpora.synthetic import SyntheticSpec, synthetic_corpus
from bench.groundtruth.exact import ground_truth

K = 10
SPEC = SyntheticSpec(
    distribution="clustered", n=5000, dim=32, queries=200, clusters=16, metric="euclidean", seed=7
)


@dataclass(frozen=True)
class BenchCorpus:
    corpus: Corpus
    k: int
    queries: np.ndarray  # contiguous float32 [200, 32]
    true_ids: np.ndarray
    true_distances: np.ndarray


@pytest.fixture(scope="session")
def bench_corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchCorpus]:
    """The corpus and its exact neighbours, generated into a private cache folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE", str(tmp_path_factory.mktemp("bench-cache")))
        corpus = synthetic_corpus("bench-clustered", SPEC)
        truth = ground_truth(corpus, K)
        yield BenchCorpus(
            corpus=corpus,
            k=K,
            queries=np.ascontiguousarray(corpus.queries),
            true_ids=np.asarray(truth.ids[:, :K]),
            true_distances=np.asarray(truth.distances[:, :K]),
        )
