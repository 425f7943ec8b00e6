"""Distances in the harness's one convention: smaller is nearer, for every metric.

euclidean: L2 distance. angular: 1 - cosine (vectors arrive unit-normalised, so this is
1 - dot). inner_product: the negated dot product.
"""

from __future__ import annotations

import numpy as np


def pairwise_block(
    queries: np.ndarray, block: np.ndarray, block_sq_norms: np.ndarray, metric: str
) -> np.ndarray:
    """Ranking scores [n_queries, n_block] (smaller is nearer) from one GEMM.

    For euclidean this is ||x||^2 - 2 q.x, which orders like the distance without the
    per-query constant and the square root (the ground truth re-measures the k it keeps).
    """
    products = queries @ block.T
    if metric == "euclidean":
        products *= -2.0
        products += block_sq_norms[None, :]
        return products
    np.negative(products, out=products)
    return products


def exact_distances(query: np.ndarray, rows: np.ndarray, metric: str) -> np.ndarray:
    """Distances from one query to a few rows, in float64 (for scoring returned ids)."""
    q = query.astype(np.float64)
    x = rows.astype(np.float64)
    if metric == "euclidean":
        return np.sqrt(((x - q) ** 2).sum(axis=1))
    if metric == "angular":
        return 1.0 - x @ q
    return -(x @ q)
