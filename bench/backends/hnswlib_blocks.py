"""hnswlib fed in row blocks: `add_items` per converted block of a memory-mapped corpus.

hnswlib stores float32 vectors, so a byte corpus costs 4 bytes per value in the index; what
this adapter saves is the second copy: the corpus is read, converted and released one block at
a time (`row_blocks`) instead of being handed over whole.
"""

from __future__ import annotations

import numpy as np

from bench.backends.base import require_memory, row_blocks
from bench.backends.hnswlib import Hnswlib


class HnswlibBlocks(Hnswlib):
    name = "hnswlib-blocks"

    def fit(self, data: np.ndarray) -> None:
        links = 8 * int(self.build_params["M"]) + 24  # level-0 links, label, header
        require_memory(len(data) * (4 * data.shape[1] + links), "hnswlib")
        self._empty_index(data)
        for start, block in row_blocks(data):
            ids = np.arange(start, start + len(block))
            self.index.add_items(block, ids, num_threads=self.threads)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return super().query(np.asarray(vector, dtype=np.float32), k)

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        return super().batch_query(np.ascontiguousarray(queries, dtype=np.float32), k)
