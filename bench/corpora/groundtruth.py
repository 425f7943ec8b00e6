"""Exact k nearest neighbours by blocked matrix products, cached by corpus fingerprint.

Queries are taken in blocks and the train set in blocks; each (query block x train block)
is one float32 GEMM through numpy's BLAS, and a running top-k is merged per query block.
Memory stays bounded by the block sizes whatever the corpus size (train may be a memory map).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

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


def _top_k_of_block(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest scores of each row (unordered) and their column indices."""
    if scores.shape[1] <= k:
        cols = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        return scores, np.ascontiguousarray(cols)
    cols = np.argpartition(scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(scores, cols, 1), cols


def _merge(
    best_scores: np.ndarray,
    best_ids: np.ndarray,
    rows: np.ndarray,
    cand_scores: np.ndarray,
    cand_ids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Merge sparse candidates (row, score, id) into each row's running top k."""
    n, k = best_scores.shape
    all_rows = np.concatenate([np.repeat(np.arange(n), k), rows])
    all_scores = np.concatenate([best_scores.ravel(), cand_scores])
    all_ids = np.concatenate([best_ids.ravel(), cand_ids])
    order = np.lexsort((all_scores, all_rows))
    starts = np.concatenate([[0], np.cumsum(np.bincount(all_rows, minlength=n))[:-1]])
    take = order[starts[:, None] + np.arange(k)[None, :]]
    return all_scores[take], all_ids[take]


def _knn_block(
    queries: np.ndarray,
    train: np.ndarray,
    train_sq_norms: np.ndarray,
    k: int,
    metric: str,
    train_block: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k scores and ids of one query block against the whole train set.

    After the first train block, only scores below each row's current k-th best can matter;
    comparing against that threshold is one cheap pass, and the few survivors are merged.
    """
    best_scores = best_ids = None
    for t0 in range(0, len(train), train_block):
        block = np.asarray(train[t0 : t0 + train_block], dtype=np.float32)
        scores = pairwise_block(queries, block, train_sq_norms[t0 : t0 + len(block)], metric)
        if best_scores is None or best_scores.shape[1] < k:
            top_scores, top_cols = _top_k_of_block(scores, k)
            if best_scores is None:
                best_scores, best_ids = top_scores, top_cols.astype(np.int64) + t0
            else:
                best_scores = np.concatenate([best_scores, top_scores], axis=1)
                best_ids = np.concatenate([best_ids, top_cols + t0], axis=1)
                if best_scores.shape[1] > k:
                    keep = np.argpartition(best_scores, k - 1, axis=1)[:, :k]
                    best_scores = np.take_along_axis(best_scores, keep, 1)
                    best_ids = np.take_along_axis(best_ids, keep, 1)
            continue
        threshold = best_scores.max(axis=1)
        rows, cols = np.nonzero(scores < threshold[:, None])
        if len(rows):
            best_scores, best_ids = _merge(
                best_scores, best_ids, rows, scores[rows, cols], cols.astype(np.int64) + t0
            )
    order = np.argsort(best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_scores, order, 1), np.take_along_axis(best_ids, order, 1)


def exact_knn(
    train: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    train_sq_norms: np.ndarray | None = None,
    query_block: int = 1024,
    train_block: int = 65536,
    threads: int | None = None,
) -> GroundTruth:
    """Exact k nearest neighbours of each query among the train rows, nearest first.

    With several query blocks, each of `threads` workers takes whole blocks with a
    single-threaded BLAS (GEMM and selection both run in parallel, numpy releases the GIL);
    with one block, the BLAS itself uses the threads.
    """
    if not 1 <= k <= len(train):
        raise BenchError(f"k={k} is not possible: expected 1 <= k <= {len(train)} (train size)")
    threads = threads or os.cpu_count() or 1
    if train_sq_norms is None:
        train_sq_norms = (
            squared_norms(train)
            if metric == "euclidean"
            else np.zeros(len(train), dtype=np.float32)
        )
    n = len(queries)
    ids = np.empty((n, k), dtype=np.int64)
    dists = np.empty((n, k), dtype=np.float32)

    def solve(q0: int) -> None:
        q = np.ascontiguousarray(queries[q0 : q0 + query_block], dtype=np.float32)
        scores, found = _knn_block(q, train, train_sq_norms, k, metric, train_block)
        q_norms = np.einsum("ij,ij->i", q, q) if metric == "euclidean" else np.zeros(len(q))
        ids[q0 : q0 + len(q)] = found
        dists[q0 : q0 + len(q)] = to_distances(scores, q_norms, metric)

    starts = range(0, n, query_block)
    if len(starts) > 1 and threads > 1:
        with threadpool_limits(limits=1), ThreadPoolExecutor(threads) as pool:
            list(pool.map(solve, starts))
    else:
        with threadpool_limits(limits=threads):
            for q0 in starts:
                solve(q0)
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
