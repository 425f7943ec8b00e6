"""nmslib: HNSW and SW-graph from the Non-Metric Space Library."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import nmslib
import numpy as np

from bench.backends.base import Backend

NMSLIB_SPACES = {"euclidean": "l2", "angular": "cosinesimil", "inner_product": "negdotprod"}


class Nmslib(Backend):
    """Build parameters: method (hnsw, sw-graph) plus the method's own index parameters."""

    name = "nmslib"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        params = dict(self.build_params)
        method = params.pop("method", "hnsw")
        self.index = nmslib.init(
            method=method, space=NMSLIB_SPACES[self.metric], data_type=nmslib.DataType.DENSE_VECTOR
        )
        self.index.addDataPointBatch(np.ascontiguousarray(data))
        self.index.createIndex({**params, "indexThreadQty": self.threads}, print_progress=False)

    def set_query_params(self, **params: Any) -> None:
        self.index.setQueryTimeParams(params)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.knnQuery(vector, k)[0]

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        answers = self.index.knnQueryBatch(queries, k, num_threads=self.threads)
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (ids, _) in enumerate(answers):
            out[row, : len(ids)] = ids
        return out

    def index_bytes(self) -> int:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "index")
            self.index.saveIndex(path, save_data=False)
            return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
