"""faiss indexes built from row blocks, for corpora larger than memory (float32 or bytes).

k-means and PQ train on a float32 sample of rows (`train_per_list` per inverted list, `niter`
k-means iterations); the corpus, usually a memory map, is then added one converted block at a
time (`row_blocks`), so the worker holds the index and one block, never the corpus. Build
parameters: `index` IVFFlat, IVFSQ (8-bit scalar quantizer: lossless on uint8 data), IVFPQ
(`m` x `nbits`) or HNSW (`M`, `ef_construction`); `nlist`, and `hnsw_quantizer: true` to
assign vectors to lists through an HNSW over the centroids (what makes 65k+ lists affordable
at 100M). The index size is counted by streaming its serialization, never copied in memory.

Query parameter `k_factor` (as faiss' IndexRefine names it): fetch k x k_factor candidates,
read their rows back from the corpus (the memory map: `storage.gather_rows` keeps few of its
pages resident) and return the k nearest by exact distance. That is how a compressed index
(IVF-PQ) reaches high recall without the raw vectors in memory; they stay on disk, so the
index bytes do not count them.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from bench.backends.base import require_memory, row_blocks, train_sample
from bench.backends.faiss import TRAIN_SAMPLE_PER_LIST, Faiss
from bench.errors import BenchError
from bench.storage import gather_rows

MIN_TRAIN = 10_000  # PQ codebooks need 256 points per centroid x 39


def blocks_factory_string(params: dict[str, Any]) -> str:
    """The index_factory string, e.g. IVF16384_HNSW32,PQ32x8np or IVF4096,SQ8."""
    index = params["index"]
    if index == "HNSW":
        return f"HNSW{int(params['M'])}"
    ivf = f"IVF{int(params['nlist'])}" + ("_HNSW32" if params.get("hnsw_quantizer") else "")
    codes = {
        "IVFFlat": "Flat",
        "IVFSQ": "SQ8",
        "IVFPQ": f"PQ{int(params.get('m', 16))}x{int(params.get('nbits', 8))}np",
    }
    if index not in codes:
        raise BenchError(f"faiss blocks index {index!r}: expected IVFFlat, IVFSQ, IVFPQ or HNSW")
    return f"{ivf},{codes[index]}"


def estimated_bytes(params: dict[str, Any], n: int, dim: int) -> float:
    """Memory of the built index (codes, ids or graph links), for `require_memory`."""
    per_vector = {
        "IVFFlat": 4 * dim + 8,
        "IVFSQ": dim + 8,
        "IVFPQ": int(params.get("m", 16)) * int(params.get("nbits", 8)) / 8 + 8,
        "HNSW": 4 * dim + 8 * int(params.get("M", 32)) + 16,
    }
    return n * per_vector.get(params["index"], 4 * dim)


class FaissBlocks(Faiss):
    """Byte queries are converted to float32 in each call, as faiss' own wrapper would."""

    name = "faiss-blocks"

    def fit(self, data: np.ndarray) -> None:
        faiss.omp_set_num_threads(self.threads)
        metric = faiss.METRIC_L2 if self.metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        params = self.build_params
        require_memory(estimated_bytes(params, *data.shape), f"faiss {params['index']}")
        self.index = faiss.index_factory(data.shape[1], blocks_factory_string(params), metric)
        if "ef_construction" in params:
            self.index.hnsw.efConstruction = int(params["ef_construction"])
        if not self.index.is_trained:
            ivf = faiss.extract_index_ivf(self.index)
            ivf.cp.niter = int(params.get("niter", 10))
            per_list = int(params.get("train_per_list", TRAIN_SAMPLE_PER_LIST))
            self.index.train(train_sample(data, max(ivf.nlist * per_list, MIN_TRAIN)))
        for _, block in row_blocks(data):
            self.index.add(block)
        self.parameters = faiss.ParameterSpace()
        self.rows = data  # for the re-ranking: a memory map stays one, nothing is copied
        self.k_factor = 1

    def set_query_params(self, **params: Any) -> None:
        self.k_factor = int(params.pop("k_factor", 1))
        super().set_query_params(**params)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.batch_query(vector[None, :], k)[0]

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        candidates = self.index.search(queries, k * self.k_factor)[1]
        return candidates if self.k_factor == 1 else self.rerank(queries, candidates, k)

    def rerank(self, queries: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
        """Each query's k candidates nearest by exact distance, a query at a time (its
        candidates' rows are all that is held); faiss pads too few candidates with -1s,
        which stay last."""
        answers = np.full((len(queries), k), -1, dtype=candidates.dtype)
        for row, (query, ids) in enumerate(zip(queries, candidates, strict=True)):
            ids = ids[ids >= 0]
            vectors = gather_rows(self.rows, ids).astype(np.float32)
            if self.metric == "euclidean":
                scores = ((vectors - query) ** 2).sum(axis=1)
            else:  # inner product; angular data arrive unit-normalised
                scores = -(vectors @ query)
            nearest = ids[np.argsort(scores, kind="stable")[:k]]
            answers[row, : len(nearest)] = nearest
        return answers
