"""hnswlib: the reference HNSW implementation."""

from __future__ import annotations

from typing import Any

import hnswlib
import numpy as np

from bench.backends.base import Backend

HNSWLIB_SPACES = {"euclidean": "l2", "angular": "cosine", "inner_product": "ip"}


class Hnswlib(Backend):
    name = "hnswlib"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def _empty_index(self, data: np.ndarray) -> None:
        """An index sized for `data`, with the build parameters, still without items."""
        self.index = hnswlib.Index(space=HNSWLIB_SPACES[self.metric], dim=data.shape[1])
        self.index.init_index(
            max_elements=len(data),
            M=int(self.build_params["M"]),
            ef_construction=int(self.build_params["ef_construction"]),
            random_seed=int(self.build_params.get("seed", 100)),
        )

    def fit(self, data: np.ndarray) -> None:
        self._empty_index(data)
        self.index.add_items(data, np.arange(len(data)), num_threads=self.threads)

    def set_query_params(self, **params: Any) -> None:
        self.index.set_ef(int(params["ef"]))

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.knn_query(vector, k, num_threads=1)[0][0]

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        return self.index.knn_query(queries, k, num_threads=self.threads)[0].astype(np.int64)

    def index_bytes(self) -> int:
        return int(self.index.index_file_size())
