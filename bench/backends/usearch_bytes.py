"""usearch over byte corpora kept as bytes: an `i8` index fed int8 blocks.

int8 data goes in as it is; uint8 data is shifted by -128 into int8, which leaves euclidean
distances unchanged (the same shift is applied to the queries). Float corpora are refused:
quantising floats to i8 is another experiment (the `usearch` algorithm's `dtype: i8`).
"""

from __future__ import annotations

import numpy as np
from usearch.index import Index

from bench.backends.base import require_memory, row_blocks
from bench.backends.usearch import Usearch
from bench.errors import BenchError


def as_int8(values: np.ndarray) -> np.ndarray:
    if values.dtype == np.uint8:
        return (values.astype(np.int16) - 128).astype(np.int8)
    if values.dtype == np.int8:
        return values
    raise BenchError(f"usearch-i8 takes uint8 or int8 vectors, got {values.dtype}: a byte corpus")


class UsearchBytes(Usearch):
    name = "usearch-i8"
    metrics = ("euclidean",)
    dtypes = ("uint8", "int8")

    def fit(self, data: np.ndarray) -> None:
        as_int8(data[:1])  # refuses a float corpus before anything is built
        links = 8 * int(self.build_params["connectivity"]) + 24
        require_memory(len(data) * (data.shape[1] + links), "usearch i8")
        self.index = Index(
            ndim=data.shape[1],
            metric="l2sq",
            dtype="i8",
            connectivity=int(self.build_params["connectivity"]),
            expansion_add=int(self.build_params["expansion_add"]),
        )
        for start, block in row_blocks(data, dtype=data.dtype):
            keys = np.arange(start, start + len(block), dtype=np.uint64)
            self.index.add(keys, as_int8(block), threads=self.threads)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return super().query(as_int8(np.asarray(vector)), k)

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        return super().batch_query(as_int8(np.ascontiguousarray(queries)), k)
