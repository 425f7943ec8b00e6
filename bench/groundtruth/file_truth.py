"""A vector file's own ground truth: ids checked against exact search on a sample, distances ours.

A file whose neighbours disagree with an exact computation is refused (its recall numbers
would be wrong); one that agrees is used as is, which saves the exact computation on large
files. Missing distances are computed for the given ids only.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from bench.corpora.corpus import Corpus, FileGroundTruth
from bench.corpora.distances import exact_distances
from bench.errors import BenchError
from bench.groundtruth.exact import GroundTruth, exact_knn
from bench.metrics.recall import KNN

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.99


def adopt_file_ground_truth(
    corpus: Corpus, truth: FileGroundTruth, k: int, sample: int = 20
) -> tuple[GroundTruth, dict[str, Any]] | None:
    """The file's neighbours as ground truth, or None when they are too few (k).

    The ids are checked against an exact search on a sample of queries (a file that
    disagrees is refused). The file's distances are never used: they are recomputed from
    the vectors for the given ids, so every tie threshold and every published number comes
    from distances computed here (a file's squared or otherwise scaled distances cannot
    leak into recall).
    """
    agreement = check_ground_truth_sample(corpus, truth.ids, sample=sample, k=min(10, truth.k))
    if agreement < MIN_AGREEMENT:
        raise BenchError(
            f"corpus {corpus.name!r}: the ground truth in {truth.source} agrees "
            f"with exact search on only {agreement:.1%} of sampled neighbours "
            f"(expected at least {MIN_AGREEMENT:.0%}); fix the file or drop "
            "`ground_truth` so the harness computes it"
        )
    if truth.k < k:
        log.info(
            "%s: the file's ground truth has k=%d < %d; computing it exactly instead",
            corpus.name,
            truth.k,
            k,
        )
        return None
    ids = np.ascontiguousarray(truth.ids[:, :k], dtype=np.int64)
    distances = np.stack(
        [
            exact_distances(corpus.queries[i], np.asarray(corpus.train[ids[i]]), corpus.metric)
            for i in range(len(ids))
        ]
    ).astype(np.float32)
    order = np.argsort(distances, axis=1, kind="stable")  # nearest first by our distances
    info = {
        "source": truth.source,
        "sample_agreement": agreement,
        "distances": "recomputed from the vectors for the file's ids",
    }
    log.info(
        "%s: using the file's own neighbour ids (%.1f%% agreement on a sample)",
        corpus.name,
        100 * agreement,
    )
    return GroundTruth(
        ids=np.take_along_axis(ids, order, 1), distances=np.take_along_axis(distances, order, 1)
    ), info


def check_ground_truth_sample(
    corpus: Corpus, ids: np.ndarray, sample: int = 20, k: int = 10, seed: int = 0
) -> float:
    """Share of given neighbour ids that an exact search agrees with, on sampled queries.

    For `sample` random queries, the exact k nearest are recomputed; each of the first k
    given ids counts as agreeing when its true distance is within `recall`'s tie tolerance
    (absolute 1e-3) of the true k-th distance (so equally near alternatives are not
    disagreements). Ids out of range and repeats count as disagreeing. 1.0 means the sample
    fully agrees.
    """
    n_queries, n_train = len(corpus.queries), len(corpus.train)
    if ids.ndim != 2 or len(ids) != n_queries:
        raise BenchError(
            f"corpus {corpus.name!r}: ground truth has shape {ids.shape}, expected ({n_queries}, k)"
        )
    k = min(k, ids.shape[1], n_train)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n_queries, size=min(sample, n_queries), replace=False))
    queries = np.asarray(corpus.queries[rows], dtype=np.float32)
    exact = exact_knn(corpus.train, queries, k, corpus.metric)
    agree = 0
    for query, true_ids, given in zip(queries, exact.ids, ids[rows, :k], strict=True):
        # The k-th distance in float64 over the exact set (float32 GEMMs can reorder near-ties).
        true_rows = np.asarray(corpus.train[np.sort(true_ids)])
        kth = float(exact_distances(query, true_rows, corpus.metric).max())
        given = np.unique(given[(given >= 0) & (given < n_train)])
        if len(given):
            found = exact_distances(query, np.asarray(corpus.train[given]), corpus.metric)
            agree += int((found <= KNN.threshold(kth)).sum())
    return agree / (len(rows) * k)
