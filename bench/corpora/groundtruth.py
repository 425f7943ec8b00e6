"""Exact k nearest neighbours by blocked matrix products, cached by corpus fingerprint.

Queries are taken in blocks and the train set in blocks; each (query block x train block)
is one float32 GEMM through numpy's BLAS, and a running top-k is merged per query block.
Memory stays bounded by the block sizes whatever the corpus size (train may be a memory map).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.corpora.cache import atomic_path, cache_path
from bench.corpora.corpus import Corpus
from bench.corpora.distances import pairwise_block, to_distances
from bench.errors import BenchError

MAX_K = 100


@dataclass(frozen=True)
class GroundTruth:
    ids: np.ndarray  # int64 [n_queries, k], nearest first
    distances: np.ndarray  # float32 [n_queries, k], in the metric's distance

    @property
    def k(self) -> int:
        return int(self.ids.shape[1])


def squared_norms(matrix: np.ndarray, block_rows: int = 65536) -> np.ndarray:
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), block_rows):
        block = np.asarray(matrix[start : start + block_rows], dtype=np.float32)
        out[start : start + len(block)] = np.einsum("ij,ij->i", block, block)
    return out


def _merge_top_k(
    best_scores: np.ndarray, best_ids: np.ndarray, scores: np.ndarray, offset: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the k smallest of the running best and this block's scores, per row."""
    kk = min(k, scores.shape[1])
    part = (
        np.argpartition(scores, kk - 1, axis=1)[:, :kk]
        if kk < scores.shape[1]
        else (np.broadcast_to(np.arange(scores.shape[1]), scores.shape))
    )
    cand_scores = np.concatenate([best_scores, np.take_along_axis(scores, part, 1)], axis=1)
    cand_ids = np.concatenate([best_ids, part + offset], axis=1)
    keep = np.argpartition(cand_scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(cand_scores, keep, 1), np.take_along_axis(cand_ids, keep, 1)


def exact_knn(
    train: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    train_sq_norms: np.ndarray | None = None,
    query_block: int = 2048,
    train_block: int = 131072,
) -> GroundTruth:
    """Exact k nearest neighbours of each query among the train rows, nearest first."""
    if not 1 <= k <= len(train):
        raise BenchError(f"k={k} is not possible: expected 1 <= k <= {len(train)} (train size)")
    if train_sq_norms is None:
        train_sq_norms = (
            squared_norms(train)
            if metric == "euclidean"
            else np.zeros(len(train), dtype=np.float32)
        )
    n = len(queries)
    ids = np.empty((n, k), dtype=np.int64)
    dists = np.empty((n, k), dtype=np.float32)
    for q0 in range(0, n, query_block):
        q = np.ascontiguousarray(queries[q0 : q0 + query_block], dtype=np.float32)
        best_scores = np.full((len(q), k), np.inf, dtype=np.float32)
        best_ids = np.full((len(q), k), -1, dtype=np.int64)
        for t0 in range(0, len(train), train_block):
            block = np.asarray(train[t0 : t0 + train_block], dtype=np.float32)
            scores = pairwise_block(q, block, train_sq_norms[t0 : t0 + len(block)], metric)
            best_scores, best_ids = _merge_top_k(best_scores, best_ids, scores, t0, k)
        order = np.argsort(best_scores, axis=1, kind="stable")
        best_scores = np.take_along_axis(best_scores, order, 1)
        ids[q0 : q0 + len(q)] = np.take_along_axis(best_ids, order, 1)
        q_norms = np.einsum("ij,ij->i", q, q) if metric == "euclidean" else np.zeros(len(q))
        dists[q0 : q0 + len(q)] = to_distances(best_scores, q_norms, metric)
    return GroundTruth(ids=ids, distances=dists)


def ground_truth(corpus: Corpus, k: int = MAX_K) -> GroundTruth:
    """Cached exact neighbours of the corpus' queries (computed once per fingerprint)."""
    k = min(max(k, 1), MAX_K, len(corpus.train))
    ids_path = cache_path("groundtruth", f"{corpus.fingerprint}-k{k}-ids", ".npy")
    dist_path = cache_path("groundtruth", f"{corpus.fingerprint}-k{k}-dist", ".npy")
    if not (ids_path.exists() and dist_path.exists()):
        truth = exact_knn(corpus.train, corpus.queries, k, corpus.metric)
        for path, array in ((dist_path, truth.distances), (ids_path, truth.ids)):
            with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                np.save(handle, array)
    return GroundTruth(ids=np.load(ids_path), distances=np.load(dist_path))
