"""Google's ScaNN: k-means partitioning, anisotropic quantised scoring, exact re-ranking."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
import scann

from bench.backends.base import Backend

SCANN_DISTANCES = {
    "euclidean": "squared_l2",
    "angular": "dot_product",  # angular data is unit-normalised
    "inner_product": "dot_product",
}
MIN_PARTITION_SIZE = 50  # scann's default; fewer leaves than this allows are clipped


def padded(ids: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """ScaNN fills a batch row it cannot fill with id 0 at distance NaN: make those -1."""
    out = np.asarray(ids, dtype=np.int64).copy()
    out[~np.isfinite(distances)] = -1
    return out


class Scann(Backend):
    """Build parameters: leaves, dims_per_block, avq_threshold (dot product only).

    Query parameters: leaves_to_search and reorder (candidates re-scored exactly). ScaNN takes
    no seed; its k-means training uses `threads` threads. Batches of more than one thread use
    ScaNN's own thread pool (search_batched_parallel).
    """

    name = "scann"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        params = self.build_params
        distance = SCANN_DISTANCES[self.metric]
        leaves = max(1, min(int(params["leaves"]), len(data) // MIN_PARTITION_SIZE))
        threshold = float(params.get("avq_threshold", 0.2)) if distance == "dot_product" else None
        builder = scann.scann_ops_pybind.builder(np.ascontiguousarray(data), 10, distance)
        builder = builder.tree(
            num_leaves=leaves,
            num_leaves_to_search=min(leaves, 10),
            training_sample_size=len(data),
            spherical=self.metric == "angular",
        )
        if threshold is None:
            builder = builder.score_ah(int(params.get("dims_per_block", 2)))
        else:
            builder = builder.score_ah(
                int(params.get("dims_per_block", 2)), anisotropic_quantization_threshold=threshold
            )
        builder = builder.reorder(int(params.get("reorder_max", 1000)))
        builder.set_n_training_threads(self.threads)
        self.searcher = builder.build()
        self.leaves = leaves
        self.leaves_to_search = min(leaves, 10)
        self.reorder = 100

    def set_query_params(self, **params: Any) -> None:
        self.leaves_to_search = min(int(params["leaves_to_search"]), self.leaves)
        self.reorder = int(params["reorder"])

    def set_threads(self, threads: int) -> None:
        super().set_threads(threads)
        if hasattr(self, "searcher"):
            self.searcher.set_num_threads(threads)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        ids, distances = self.searcher.search(
            vector, k, max(self.reorder, k), self.leaves_to_search
        )
        return padded(ids, distances)

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        search = (
            self.searcher.search_batched_parallel
            if self.threads > 1
            else self.searcher.search_batched
        )
        ids, distances = search(queries, k, max(self.reorder, k), self.leaves_to_search)
        return padded(ids, distances)

    def index_bytes(self) -> int:
        with tempfile.TemporaryDirectory() as folder:
            self.searcher.serialize(folder)
            return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
