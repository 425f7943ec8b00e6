"""scikit-learn NearestNeighbors: brute, kd_tree and ball_tree."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from bench.backends.base import Backend


class ScikitLearn(Backend):
    """Angular data arrives unit-normalised, where euclidean order equals cosine order."""

    name = "scikit-learn"
    metrics = ("euclidean", "angular")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        self.model = NearestNeighbors(
            algorithm=self.build_params.get("algorithm", "auto"),
            leaf_size=int(self.build_params.get("leaf_size", 30)),
            metric="euclidean",
        )
        self.model.fit(data)

    def set_threads(self, threads: int) -> None:
        """Also sklearn's own pool: left at the batch's n_jobs, every single query would pay
        joblib's dispatch (measured: 72 instead of 1,310 QPS after a batch repetition)."""
        super().set_threads(threads)
        if hasattr(self, "model"):
            self.model.n_jobs = threads

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.model.kneighbors(vector[None, :], k, return_distance=False)[0]

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        return self.model.kneighbors(queries, k, return_distance=False)

    def index_bytes(self) -> int:
        tree = getattr(self.model, "_tree", None)
        if tree is None:
            return 0
        return int(sum(array.nbytes for array in tree.get_arrays()))
