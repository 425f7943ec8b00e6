"""recall@k by id, with ties counted: ann-benchmarks' k-nn recall, and a relative variant.

A returned id is a hit when it is one of the true k nearest, or when its true distance to the
query is at most the k-th true distance plus a small tolerance (so an index that returns an
equally near point is not punished for the tie). Duplicate ids in one answer are an error,
never extra recall; -1 (padding for short answers) is a miss.

The tolerance is what separates the two metrics:

- `recall` (KNN): an ABSOLUTE 1e-3, as ann-benchmarks' `knn_threshold` in
  `plotting/metrics.py` (`d[k-1] + 1e-3`). It absorbs float rounding only, so the numbers can
  be set beside published ann-benchmarks results.
- `recall_rel` (RELATIVE): a RELATIVE 1e-3 (`d[k-1] * (1 + 1e-3)` for positive distances),
  the harness's earlier definition. On data with large distances (a k-th distance of 357
  accepts points up to 0.357 farther) it also accepts points that are nearly, not equally,
  as near, so it is higher than `recall` there; it is kept as its own column so old numbers
  can still be compared. (ann-benchmarks' own relative metric, `epsilon`, uses 0.01.)

ann-benchmarks counts returned distances; here ids are counted, so a true neighbour always
counts even when a float rounding puts it a hair past the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.corpora.distances import exact_distances
from bench.errors import BenchError


@dataclass(frozen=True)
class Tie:
    """How far past the k-th true distance a returned point still counts as a neighbour.

    `name` is the results column the metric fills."""

    name: str
    absolute: float = 0.0
    relative: float = 0.0

    def threshold(self, kth_distance: float) -> float:
        return kth_distance + self.absolute + self.relative * abs(kth_distance)


TIE_EPSILON = 1e-3
KNN = Tie("recall", absolute=TIE_EPSILON)
RELATIVE = Tie("recall_rel", relative=TIE_EPSILON)
TIES = (KNN, RELATIVE)  # every recall column the worker fills


def _check_answer(answer: np.ndarray, k: int, n_train: int) -> np.ndarray:
    """The answer's real ids (padding dropped, at most k); raises on repeats or bad ids."""
    returned = answer[answer >= 0][:k]
    if len(np.unique(returned)) != len(returned):
        values, counts = np.unique(returned, return_counts=True)
        raise BenchError(
            f"answer contains duplicate ids {values[counts > 1].tolist()}: "
            "expected each id at most once"
        )
    if len(returned) and returned.max() >= n_train:
        raise BenchError(
            f"answer contains id {int(returned.max())}: expected ids below the train size {n_train}"
        )
    return returned


def query_recalls(
    answer: np.ndarray,
    true_ids: np.ndarray,
    kth_distance: float,
    query: np.ndarray,
    train: np.ndarray,
    metric: str,
    ties: Sequence[Tie] = TIES,
) -> list[float]:
    """Share of the k true neighbours found by one answer (k = len(true_ids)), per tie rule."""
    k = len(true_ids)
    returned = _check_answer(answer, k, len(train))
    exact = np.isin(returned, true_ids)
    others = np.sort(returned[~exact])
    distances = (
        exact_distances(query, np.asarray(train[others]), metric) if len(others) else np.empty(0)
    )
    hits = int(exact.sum())
    return [
        min(hits + int((distances <= tie.threshold(kth_distance)).sum()), k) / k for tie in ties
    ]


def query_recall(
    answer: np.ndarray,
    true_ids: np.ndarray,
    kth_distance: float,
    query: np.ndarray,
    train: np.ndarray,
    metric: str,
    tie: Tie = KNN,
) -> float:
    """recall@k of one answer under one tie rule (ann-benchmarks' k-nn recall by default)."""
    return query_recalls(answer, true_ids, kth_distance, query, train, metric, (tie,))[0]


def recalls_per_query(
    answers: np.ndarray,
    true_ids: np.ndarray,
    true_distances: np.ndarray,
    queries: np.ndarray,
    train: np.ndarray,
    metric: str,
    k: int,
    ties: Sequence[Tie] = TIES,
) -> dict[str, np.ndarray]:
    """Per tie rule (by column name), recall@k of each answer row against the first k
    ground-truth neighbours. The distances of returned ids are computed once for all rules."""
    if true_ids.shape[1] < k:
        raise BenchError(
            f"ground truth holds {true_ids.shape[1]} neighbours per query, expected at least k={k}"
        )
    table = np.array(
        [
            query_recalls(
                answers[i],
                true_ids[i, :k],
                float(true_distances[i, k - 1]),
                queries[i],
                train,
                metric,
                ties,
            )
            for i in range(len(answers))
        ]
    ).reshape(len(answers), len(ties))
    return {tie.name: table[:, j] for j, tie in enumerate(ties)}


def recall_per_query(
    answers: np.ndarray,
    true_ids: np.ndarray,
    true_distances: np.ndarray,
    queries: np.ndarray,
    train: np.ndarray,
    metric: str,
    k: int,
    tie: Tie = KNN,
) -> np.ndarray:
    """recall@k of each answer row under one tie rule (ann-benchmarks' k-nn by default)."""
    found = recalls_per_query(answers, true_ids, true_distances, queries, train, metric, k, (tie,))
    return found[tie.name]
