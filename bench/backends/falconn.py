"""falconn: locality-sensitive hashing (cross-polytope and hyperplane families).

Euclidean and angular data are centred, as falconn's documentation recommends (centring keeps
euclidean distances, and angular data arrives unit-normalised, where euclidean order is
cosine order); inner product is searched as is. falconn keeps a raw pointer to the matrix it
was given, so the adapter holds a C-contiguous float32 copy for the index's lifetime.
"""

from __future__ import annotations

import math
from typing import Any

import falconn
import numpy as np

from bench.backends.base import Backend

FAMILIES = {
    "cross-polytope": falconn.LSHFamily.CrossPolytope,
    "hyperplane": falconn.LSHFamily.Hyperplane,
}


class Falconn(Backend):
    """Build: family, tables (l), hash_bits (default log2 n); query: probes (>= tables)."""

    name = "falconn"
    metrics = ("euclidean", "angular", "inner_product")

    def fit(self, data: np.ndarray) -> None:
        params = falconn.LSHConstructionParameters()
        params.dimension = data.shape[1]
        params.lsh_family = FAMILIES[self.build_params.get("family", "cross-polytope")]
        params.l = int(self.build_params["tables"])
        params.num_rotations = 1
        params.seed = int(self.build_params.get("seed", 5721840))
        params.num_setup_threads = self.threads
        params.storage_hash_table = falconn.StorageHashTable.BitPackedFlatHashTable
        if self.metric == "inner_product":
            params.distance_function = falconn.DistanceFunction.NegativeInnerProduct
            self.centre = np.zeros(data.shape[1], dtype=np.float32)
        else:
            params.distance_function = falconn.DistanceFunction.EuclideanSquared
            self.centre = np.asarray(data.mean(axis=0, dtype=np.float64), dtype=np.float32)
        bits = int(self.build_params.get("hash_bits", max(1, round(math.log2(len(data))))))
        falconn.compute_number_of_hash_functions(bits, params)
        self.data = np.ascontiguousarray(data - self.centre, dtype=np.float32)
        self.index = falconn.LSHIndex(params)
        self.index.setup(self.data)
        self.tables = params.l
        self.query_object = self.index.construct_query_object()

    def set_query_params(self, **params: Any) -> None:
        self.query_object.set_num_probes(max(int(params.get("probes", self.tables)), self.tables))

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(
            self.query_object.find_k_nearest_neighbors(vector - self.centre, k), dtype=np.int64
        )

    def index_bytes(self) -> int:
        """falconn reports no size: its tables hold one 4-byte id per point per table, and it
        searches the centred copy of the data that the adapter keeps."""
        return int(self.tables * len(self.data) * 4 + self.data.nbytes)
