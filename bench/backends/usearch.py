"""usearch: Unum's single-header HNSW, with SIMD distance kernels."""

from __future__ import annotations

from typing import Any

import numpy as np
from usearch.index import Index

from bench.backends.base import Backend

USEARCH_METRICS = {"euclidean": "l2sq", "angular": "cos", "inner_product": "ip"}


class Usearch(Backend):
    """Build parameters: connectivity, expansion_add, dtype (f32, f16, i8); query: expansion_search.

    usearch takes no seed; a build with one thread is deterministic.
    """

    name = "usearch"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        self.index = Index(
            ndim=data.shape[1],
            metric=USEARCH_METRICS[self.metric],
            dtype=str(self.build_params.get("dtype", "f32")),
            connectivity=int(self.build_params["connectivity"]),
            expansion_add=int(self.build_params["expansion_add"]),
        )
        keys = np.arange(len(data), dtype=np.uint64)
        self.index.add(keys, np.ascontiguousarray(data), threads=self.threads)

    def set_query_params(self, **params: Any) -> None:
        self.index.expansion_search = int(params["expansion_search"])

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        matches = self.index.search(vector, k, threads=1)
        return matches.keys.astype(np.int64)  # already cut to the matches found

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        matches = self.index.search(queries, k, threads=self.threads)
        ids = matches.keys.astype(np.int64)
        ids[np.arange(k)[None, :] >= matches.counts[:, None]] = -1
        return ids

    def index_bytes(self) -> int:
        return int(self.index.serialized_length)
