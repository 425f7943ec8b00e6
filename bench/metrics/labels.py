"""Class-based retrieval quality: precision@k and mAP@k of answers against class labels."""

from __future__ import annotations

import numpy as np


def relevance(
    answers: np.ndarray, train_labels: np.ndarray, query_labels: np.ndarray
) -> np.ndarray:
    """Boolean [n_queries, k]: does each returned neighbour share the query's class? (-1: no)"""
    valid = answers >= 0
    labels = np.where(valid, train_labels[np.where(valid, answers, 0)], -1)
    return valid & (labels == query_labels[:, None])


def precision_at_k(relevant: np.ndarray, k: int) -> np.ndarray:
    return relevant[:, :k].mean(axis=1)


def average_precision_at_k(relevant: np.ndarray, k: int) -> np.ndarray:
    """AP@k per query: mean of precision@i over the ranks i <= k that are relevant.

    Normalised by the number of relevant results within the top k (the common retrieval
    convention when the class size is unknown to the ranking); 0 when none is relevant.
    """
    rel = relevant[:, :k].astype(np.float64)
    ranks = np.arange(1, rel.shape[1] + 1)
    precision_at_rank = np.cumsum(rel, axis=1) / ranks
    hits = rel.sum(axis=1)
    return np.divide(
        (precision_at_rank * rel).sum(axis=1), hits, out=np.zeros(len(rel)), where=hits > 0
    )
