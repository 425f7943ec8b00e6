"""A vector file's own ground truth: ids checked against exact search, distances ours.

A file whose neighbours disagree with an exact computation is refused (its recall numbers
would be wrong); one that agrees is used as is, which saves the exact computation on large
files. The check covers every query when that is cheap (CHECK_BUDGET), else a random sample
of CHECK_SAMPLE queries. Missing distances are computed for the given ids only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.corpora.corpus import Corpus, FileGroundTruth
from bench.corpora.distances import exact_distances
from bench.errors import BenchError
from bench.groundtruth.exact import GroundTruth, exact_knn
from bench.metrics.recall import KNN

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.99
# Every query is checked when exact search over all of them costs at most this many
# multiply-adds (queries x train rows x dimension: seconds, not minutes); else a sample.
CHECK_BUDGET = 2e10
CHECK_SAMPLE = 100


@dataclass(frozen=True)
class Agreement:
    """How far given neighbour ids agree with exact search on the checked queries."""

    share: float  # of the checked (query, neighbour) pairs that agree; 1.0 = all
    checked: int  # queries checked
    disagreeing: int  # checked queries with at least one disagreeing neighbour
    n_queries: int  # queries in all
    k: int  # neighbours checked per query

    @property
    def what(self) -> str:
        if self.checked == self.n_queries:
            return f"all {self.n_queries} queries"
        return f"a random sample of {self.checked} of {self.n_queries} queries"


def adopt_file_ground_truth(
    corpus: Corpus, truth: FileGroundTruth, k: int
) -> tuple[GroundTruth, dict[str, Any]] | None:
    """The file's neighbours as ground truth, or None when exact search is to be used: the
    file gives fewer than k, or the check covered every query (exact search is cheap).

    The ids are checked against an exact search (`check_ground_truth`; a file that
    disagrees is refused). The file's distances are never used: they are recomputed from
    the vectors for the given ids, so every tie threshold and every published number comes
    from distances computed here (a file's squared or otherwise scaled distances cannot
    leak into recall).
    """
    agreement = check_ground_truth(corpus, truth.ids, k=min(10, truth.k))
    log.info(
        "%s: checked the neighbour ids of %s against exact search on %s: %.1f%% agree",
        corpus.name,
        truth.source,
        agreement.what,
        100 * agreement.share,
    )
    if agreement.share < MIN_AGREEMENT:
        raise BenchError(
            f"corpus {corpus.name!r}: the ground truth in {truth.source} disagrees with exact "
            f"search on {agreement.disagreeing} of the {agreement.checked} checked queries "
            f"({agreement.what}): {agreement.share:.1%} of their first {agreement.k} "
            f"neighbours agree, expected at least {MIN_AGREEMENT:.0%}; fix the file or drop "
            "`ground_truth` so the harness computes it"
        )
    if exact_is_cheap(len(corpus.queries), len(corpus.train), corpus.dim):
        # The check searched every query exactly: use exact search, so the up to 1 % of
        # neighbours the check tolerates never score a run
        log.info("%s: exact search is cheap here; using it rather than the file's ids", corpus.name)
        return None
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
        "agreement": agreement.share,
        "checked_queries": agreement.checked,
        "distances": "recomputed from the vectors for the file's ids",
    }
    return GroundTruth(
        ids=np.take_along_axis(ids, order, 1), distances=np.take_along_axis(distances, order, 1)
    ), info


def exact_is_cheap(n_queries: int, n_train: int, dim: int, budget: float | None = None) -> bool:
    """Whether exact search over every query costs at most `budget` (CHECK_BUDGET)
    multiply-adds."""
    return n_queries * n_train * dim <= (CHECK_BUDGET if budget is None else budget)


def queries_to_check(
    n_queries: int, n_train: int, dim: int, budget: float | None = None, seed: int = 0
) -> np.ndarray:
    """Every query when exact search over all is cheap (`exact_is_cheap`), else CHECK_SAMPLE
    random ones (sorted)."""
    if exact_is_cheap(n_queries, n_train, dim, budget):
        return np.arange(n_queries)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_queries, size=min(CHECK_SAMPLE, n_queries), replace=False))


def check_ground_truth(
    corpus: Corpus, ids: np.ndarray, k: int = 10, budget: float | None = None
) -> Agreement:
    """How far given neighbour ids agree with an exact search (`queries_to_check`).

    For each checked query, the exact k nearest are recomputed; each of the first k given
    ids counts as agreeing when its true distance is within `recall`'s tie tolerance
    (absolute 1e-3) of the true k-th distance (so equally near alternatives are not
    disagreements). Ids out of range and repeats count as disagreeing.
    """
    n_queries, n_train = len(corpus.queries), len(corpus.train)
    if ids.ndim != 2 or len(ids) != n_queries:
        raise BenchError(
            f"corpus {corpus.name!r}: ground truth has shape {ids.shape}, expected ({n_queries}, k)"
        )
    k = min(k, ids.shape[1], n_train)
    rows = queries_to_check(n_queries, n_train, corpus.dim, budget)
    queries = np.asarray(corpus.queries[rows], dtype=np.float32)
    exact = exact_knn(corpus.train, queries, k, corpus.metric)
    agree = np.zeros(len(rows), dtype=np.int64)
    for i, (query, true_ids, given) in enumerate(
        zip(queries, exact.ids, ids[rows, :k], strict=True)
    ):
        # The k-th distance in float64 over the exact set (float32 GEMMs can reorder near-ties).
        true_rows = np.asarray(corpus.train[np.sort(true_ids)])
        kth = float(exact_distances(query, true_rows, corpus.metric).max())
        given = np.unique(given[(given >= 0) & (given < n_train)])
        if len(given):
            found = exact_distances(query, np.asarray(corpus.train[given]), corpus.metric)
            agree[i] = int((found <= KNN.threshold(kth)).sum())
    return Agreement(
        share=float(agree.sum()) / (len(rows) * k),
        checked=len(rows),
        disagreeing=int((agree < k).sum()),
        n_queries=n_queries,
        k=k,
    )
