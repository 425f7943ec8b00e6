"""Spotify's annoy: a forest of random-projection trees."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
from annoy import AnnoyIndex

from bench.backends.base import Backend

ANNOY_METRICS = {"euclidean": "euclidean", "angular": "angular", "inner_product": "dot"}


class Annoy(Backend):
    name = "annoy"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = False

    def fit(self, data: np.ndarray) -> None:
        self.index = AnnoyIndex(data.shape[1], ANNOY_METRICS[self.metric])
        self.index.set_seed(int(self.build_params.get("seed", 1)))
        for i, row in enumerate(data):
            self.index.add_item(i, row)
        self.index.build(int(self.build_params["n_trees"]), n_jobs=self.threads)
        self.search_k = -1

    def set_query_params(self, **params: Any) -> None:
        self.search_k = int(params.get("search_k", -1))

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(self.index.get_nns_by_vector(vector.tolist(), k, self.search_k))

    def index_bytes(self) -> int:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "index.ann")
            self.index.save(path, prefault=False)
            size = os.path.getsize(path)
            self.index.unload()
            self.index.load(path)
        return size
