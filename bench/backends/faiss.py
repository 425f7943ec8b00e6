"""faiss: Flat, IVFFlat, IVFPQ (optionally re-ranked) and HNSW through index_factory."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from bench.backends.base import Backend
from bench.errors import BenchError

TRAIN_SAMPLE_PER_LIST = 64  # k-means training points per inverted list (faiss warns below 39)


def factory_string(params: dict[str, Any]) -> str:
    """The index_factory description of the build parameters, e.g. IVF256,PQ16x8np,RFlat.

    `np` turns off polysemous training: it reorders PQ codes for Hamming-distance filtering,
    which this adapter never searches with, and costs ~15 s of simulated annealing per build.
    """
    index = params["index"]
    if index == "Flat":
        return "Flat"
    if index == "HNSW":
        return f"HNSW{int(params['M'])}"
    if index == "IVFFlat":
        return f"IVF{int(params['nlist'])},Flat"
    if index == "IVFPQ":
        refine = ",RFlat" if params.get("refine") else ""
        pq = f"PQ{int(params['m'])}x{int(params.get('nbits', 8))}np"
        return f"IVF{int(params['nlist'])},{pq}{refine}"
    raise BenchError(f"unknown faiss index {index!r}: expected Flat, HNSW, IVFFlat or IVFPQ")


class Faiss(Backend):
    """Angular data arrives unit-normalised and is searched by inner product."""

    name = "faiss"
    metrics = ("euclidean", "angular", "inner_product")
    supports_batch = True

    def fit(self, data: np.ndarray) -> None:
        faiss.omp_set_num_threads(self.threads)
        metric = faiss.METRIC_L2 if self.metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        self.index = faiss.index_factory(data.shape[1], factory_string(self.build_params), metric)
        if "ef_construction" in self.build_params:
            self.index.hnsw.efConstruction = int(self.build_params["ef_construction"])
        if not self.index.is_trained:
            nlist = int(self.build_params.get("nlist", 1))
            sample = min(len(data), max(nlist * TRAIN_SAMPLE_PER_LIST, 10000))
            rows = np.random.default_rng(0).choice(len(data), sample, replace=False)
            self.index.train(np.ascontiguousarray(data[np.sort(rows)]))
        for start in range(0, len(data), 262144):
            self.index.add(np.ascontiguousarray(data[start : start + 262144]))
        self.parameters = faiss.ParameterSpace()

    def set_query_params(self, **params: Any) -> None:
        """faiss' own parameter names (nprobe, efSearch), and k_factor for the re-ranking."""
        for name, value in params.items():
            faiss_name = "k_factor_rf" if name == "k_factor" else name
            self.parameters.set_index_parameter(self.index, faiss_name, value)

    def set_threads(self, threads: int) -> None:
        self.threads = threads
        faiss.omp_set_num_threads(threads)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(vector[None, :], k)[1][0]

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(queries, k)[1]

    def index_bytes(self) -> int:
        """The serialized size, counted as faiss writes it: serialize_index would copy the
        whole index into memory (4 GB for IVF-PQ at 100M)."""
        written = [0]

        def count(chunk: bytes) -> int:
            written[0] += len(chunk)
            return len(chunk)

        writer = faiss.PyCallbackIOWriter(count)
        faiss.write_index(self.index, writer)
        del writer  # flushes the last buffered chunk
        return written[0]
