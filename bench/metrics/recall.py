"""recall@k by id, with ties counted, as ann-benchmarks does.

A returned id is a hit when it is one of the true k nearest, or when its true distance to the
query is within a small relative epsilon of the k-th true distance (so an index that returns
an equally near point is not punished for the tie). Duplicate ids in one answer are an error,
never extra recall; -1 (padding for short answers) is a miss.
"""

from __future__ import annotations

import numpy as np

from bench.corpora.distances import exact_distances
from bench.errors import BenchError

TIE_EPSILON = 1e-3


def tie_threshold(kth_distance: float, epsilon: float = TIE_EPSILON) -> float:
    return kth_distance + epsilon * max(abs(kth_distance), 1e-9)


def query_recall(
    answer: np.ndarray,
    true_ids: np.ndarray,
    kth_distance: float,
    query: np.ndarray,
    train: np.ndarray,
    metric: str,
    epsilon: float = TIE_EPSILON,
) -> float:
    """Share of the k true neighbours found by one answer (k = len(true_ids))."""
    k = len(true_ids)
    returned = answer[answer >= 0][:k]
    if len(np.unique(returned)) != len(returned):
        values, counts = np.unique(returned, return_counts=True)
        raise BenchError(
            f"answer contains duplicate ids {values[counts > 1].tolist()}: "
            "expected each id at most once"
        )
    if len(returned) and returned.max() >= len(train):
        raise BenchError(
            f"answer contains id {int(returned.max())}: "
            f"expected ids below the train size {len(train)}"
        )
    exact = np.isin(returned, true_ids)
    others = np.sort(returned[~exact])
    hits = int(exact.sum())
    if len(others):
        distances = exact_distances(query, np.asarray(train[others]), metric)
        hits += int((distances <= tie_threshold(kth_distance, epsilon)).sum())
    return min(hits, k) / k


def recall_per_query(
    answers: np.ndarray,
    true_ids: np.ndarray,
    true_distances: np.ndarray,
    queries: np.ndarray,
    train: np.ndarray,
    metric: str,
    k: int,
    epsilon: float = TIE_EPSILON,
) -> np.ndarray:
    """recall@k of each answer row against the first k ground-truth neighbours."""
    if true_ids.shape[1] < k:
        raise BenchError(
            f"ground truth holds {true_ids.shape[1]} neighbours per query, expected at least k={k}"
        )
    return np.array(
        [
            query_recall(
                answers[i],
                true_ids[i, :k],
                float(true_distances[i, k - 1]),
                queries[i],
                train,
                metric,
                epsilon,
            )
            for i in range(len(answers))
        ]
    )
