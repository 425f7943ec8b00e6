"""Spotify's voyager: HNSW (derived from hnswlib) with a seedable build."""

from __future__ import annotations

from typing import Any

import numpy as np
import voyager

from bench.backends.base import Backend

VOYAGER_SPACES = {
    "euclidean": voyager.Space.Euclidean,
    "angular": voyager.Space.Cosine,
    "inner_product": voyager.Space.InnerProduct,
}


def writable(array: np.ndarray) -> np.ndarray:
    """voyager's bindings refuse read-only arrays (memory maps): copy those, pass the rest."""
    return np.require(array, dtype=np.float32, requirements=["C", "W"])


class Voyager(Backend):
    """Build parameters: M, ef_construction, seed; query parameter: ef."""

    name = "voyager"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        self.index = voyager.Index(
            VOYAGER_SPACES[self.metric],
            num_dimensions=data.shape[1],
            M=int(self.build_params["M"]),
            ef_construction=int(self.build_params["ef_construction"]),
            random_seed=int(self.build_params.get("seed", 1)),
            max_elements=len(data),
        )
        self.index.add_items(writable(data), num_threads=self.threads)
        self.ef = -1

    def set_query_params(self, **params: Any) -> None:
        self.ef = int(params["ef"])

    def query_ef(self, k: int) -> int:
        """voyager raises when ef < k; hnswlib, its origin, searches with max(ef, k)."""
        return max(self.ef, k)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        k = min(k, self.index.num_elements)  # voyager raises rather than answer short
        ids = self.index.query(writable(vector), k, num_threads=1, query_ef=self.query_ef(k))[0]
        return ids.astype(np.int64)

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        found = min(k, self.index.num_elements)
        ids = self.index.query(
            writable(queries), found, num_threads=self.threads, query_ef=self.query_ef(found)
        )[0]
        out = np.full((len(queries), k), -1, dtype=np.int64)
        out[:, :found] = ids
        return out

    def index_bytes(self) -> int:
        return len(self.index.as_bytes())
