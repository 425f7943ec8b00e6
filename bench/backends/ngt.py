"""Yahoo Japan's NGT: a neighbourhood graph and tree (ANNG), searched with an epsilon margin."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import ngtpy
import numpy as np

from bench.backends.base import Backend
from bench.errors import BenchError
from bench.storage import scratch_folder

NGT_DISTANCES = {"euclidean": "L2", "angular": "Normalized Cosine"}


class Ngt(Backend):
    """Build parameters: edge_size (edges per node at creation), edge_size_for_search.

    Query parameter: epsilon, the search margin (0 is greedy; ann-benchmarks' 1.02 is 0.02).
    NGT keeps its index in a folder: a temporary one, removed by `close` (or, for a killed
    worker, by the next NGT build on this host). Its batch search is OpenMP-parallel, capped
    to `threads` by threadpoolctl.
    """

    name = "ngt"
    metrics = ("euclidean", "angular")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        self.folder = scratch_folder(Path(tempfile.gettempdir()), "bench-ngt")
        self.path = str(self.folder / "index")
        ngtpy.create(
            self.path,
            data.shape[1],
            edge_size_for_creation=int(self.build_params["edge_size"]),
            edge_size_for_search=int(self.build_params.get("edge_size_for_search", 40)),
            distance_type=NGT_DISTANCES[self.metric],
            object_type="Float",
        )
        self.index = ngtpy.Index(self.path, log_disabled=True)
        try:
            self.index.batch_insert(np.ascontiguousarray(data), num_threads=self.threads)
        except RuntimeError as exc:
            if "usearch.compiled" in sys.modules:
                raise BenchError(
                    f"NGT failed to insert ({exc}): usearch was imported into this process "
                    "before ngtpy, and then NGT cannot store objects; import ngtpy first or "
                    "run the two in separate processes (the runner's workers do)"
                ) from exc
            raise
        self.epsilon = 0.1

    def set_query_params(self, **params: Any) -> None:
        self.epsilon = float(params["epsilon"])
        self.index.set(epsilon=self.epsilon)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        answer = self.index.search(vector, k, epsilon=self.epsilon, with_distance=False)
        return np.asarray(answer, dtype=np.int64)

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        results = ngtpy.BatchResults()
        self.index.batch_search(np.ascontiguousarray(queries), results, k, with_distance=False)
        out = np.full((len(queries), k), -1, dtype=np.int64)
        bounds = results.get_index()
        ids = results.get_indexed_ids()
        for row in range(len(queries)):
            found = ids[bounds[row] : bounds[row + 1]]
            out[row, : len(found)] = found
        return out

    def index_bytes(self) -> int:
        self.index.save()
        return sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(self.path)
            for name in names
        )

    def close(self) -> None:
        if hasattr(self, "index"):
            self.index.close()
        if hasattr(self, "folder"):
            shutil.rmtree(self.folder, ignore_errors=True)
