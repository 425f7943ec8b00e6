"""Retrieval quality of features against class labels: P@k, mAP@k, per-category accuracy.

Two protocols: leave-one-out over all images (each image queries all the others) and
train/test (test images query the train images). Neighbours are exact (cosine).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.corpora.corpus import normalize_rows
from bench.groundtruth.exact import exact_knn
from bench.metrics.labels import average_precision_at_k, precision_at_k, relevance

KS = (1, 5, 10)


def neighbours(train: np.ndarray, queries: np.ndarray, k: int, leave_one_out: bool) -> np.ndarray:
    """Ids of the k nearest train rows by cosine; without the query itself if leave-one-out."""
    found = exact_knn(
        normalize_rows(train), normalize_rows(queries), k + leave_one_out, "angular"
    ).ids
    if not leave_one_out:
        return found
    own = np.arange(len(queries))[:, None]
    rows = [row[row != own[i]][:k] for i, row in enumerate(found)]
    return np.stack(rows)


def scores(
    answers: np.ndarray, train_labels: np.ndarray, query_labels: np.ndarray
) -> dict[str, float]:
    relevant = relevance(answers, train_labels, query_labels)
    out = {f"p_at_{k}": float(precision_at_k(relevant, k).mean()) for k in KS}
    out["map_at_10"] = float(average_precision_at_k(relevant, 10).mean())
    return out


def evaluate(
    vectors: np.ndarray, labels: np.ndarray, is_train: np.ndarray
) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """Scores per protocol, and the train/test answers (for per-category tables and grids)."""
    loo = neighbours(vectors, vectors, 10, leave_one_out=True)
    test_answers = neighbours(vectors[is_train], vectors[~is_train], 10, leave_one_out=False)
    results = {
        "leave-one-out": scores(loo, labels, labels),
        "train/test": scores(test_answers, labels[is_train], labels[~is_train]),
    }
    return results, test_answers


def per_category(
    answers: np.ndarray,
    train_labels: np.ndarray,
    query_labels: np.ndarray,
    classes: tuple[str, ...],
) -> pd.DataFrame:
    """P@1 and P@5 per query class, worst first."""
    relevant = relevance(answers, train_labels, query_labels)
    frame = pd.DataFrame(
        {
            "category": np.asarray(classes)[query_labels],
            "p_at_1": precision_at_k(relevant, 1),
            "p_at_5": precision_at_k(relevant, 5),
        }
    )
    table = frame.groupby("category").agg(
        p_at_1=("p_at_1", "mean"), p_at_5=("p_at_5", "mean"), queries=("p_at_1", "size")
    )
    return table.sort_values(["p_at_1", "p_at_5"]).reset_index()
