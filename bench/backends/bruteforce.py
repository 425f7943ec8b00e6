"""Exact search by blocked numpy BLAS: the reference every other backend is measured against."""

from __future__ import annotations

import numpy as np

from bench.backends.base import Backend
from bench.corpora.distances import pairwise_block
from bench.groundtruth.exact import exact_knn, squared_norms


class BruteForce(Backend):
    name = "bruteforce"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        self.data = data
        self.sq_norms = (
            squared_norms(data)
            if self.metric == "euclidean"
            else np.zeros(len(data), dtype=np.float32)
        )

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        scores = pairwise_block(vector[None, :], self.data, self.sq_norms, self.metric)[0]
        top = np.argpartition(scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        return top[np.argsort(scores[top], kind="stable")]

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        return exact_knn(
            self.data, queries, k, self.metric, train_sq_norms=self.sq_norms, threads=self.threads
        ).ids

    def index_bytes(self) -> int:
        return int(self.sq_norms.nbytes)
