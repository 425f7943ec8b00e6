"""The adapter protocol every backend implements, as small as ann-benchmarks' base class.

An adapter never times itself: the runner times every backend the same way. It builds once
from a float32 matrix and a metric, takes query parameters without rebuilding, and answers
single queries and (where the library can) batches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import psutil
from threadpoolctl import threadpool_limits

from bench.errors import BenchError
from bench.storage import gather_rows, release_pages

BLOCK_BYTES = 128 << 20  # float32 bytes per block handed to a library by `row_blocks`


class Backend(ABC):
    """Base class of all adapters. Subclasses set `name`, `metrics` and implement the rest."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ("euclidean", "angular")
    supports_batch: ClassVar[bool] = False  # True when batch_query uses the library's own batch
    dtypes: ClassVar[tuple[str, ...]] = ("float32", "uint8", "int8")  # corpora it can index

    def __init__(self, metric: str, **build_params: Any) -> None:
        if metric not in self.metrics:
            raise BenchError(
                f"backend {self.name!r} does not support metric {metric!r}: "
                f"expected one of {', '.join(self.metrics)}"
            )
        self.metric = metric
        self.build_params = build_params
        self.threads = 1
        self._threadpool_limit: threadpool_limits | None = None

    @abstractmethod
    def fit(self, data: np.ndarray) -> None:
        """Build the index from a float32 matrix (may be a read-only memory map)."""

    def set_query_params(self, **params: Any) -> None:
        """Change search-time parameters without rebuilding. Default: no query parameters."""
        if params:
            raise BenchError(f"backend {self.name!r} takes no query parameters, got {params}")

    def set_threads(self, threads: int) -> None:
        """Threads for the following queries. Default: cap BLAS/OpenMP pools via threadpoolctl."""
        self.threads = threads
        if self._threadpool_limit is not None:
            self._threadpool_limit.restore_original_limits()
        self._threadpool_limit = threadpool_limits(limits=threads)

    @abstractmethod
    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        """Ids of (up to) k nearest neighbours of one query vector, nearest first."""

    def batch_query(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Ids [n_queries, k] for a batch; -1 pads short answers. Default: one query at a time."""
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for row, vector in enumerate(queries):
            ids = self.query(vector, k)
            out[row, : len(ids)] = ids
        return out

    def index_bytes(self) -> int | None:
        """Size of the index in bytes, serialized or as reported by the library; None if unknown."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most libraries need nothing
        """Release the index (called before the worker exits)."""


def row_blocks(data: np.ndarray, dtype: Any = np.float32) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, C-contiguous block in `dtype`) of `data`, about BLOCK_BYTES each.

    For adapters that build from blocks: a memory-mapped corpus (float32 or bytes) is read,
    converted and handed over one block at a time, and its pages are released after each
    block, so the worker's RSS (what the memory cap polls) is the index plus one block.
    """
    step = max(1, BLOCK_BYTES // (4 * max(data.shape[1], 1)))
    for start in range(0, len(data), step):
        rows = data[start : start + step]
        yield start, np.ascontiguousarray(rows, dtype=dtype)
        release_pages(rows)


def train_sample(data: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` rows drawn without replacement (in file order), as float32: a training set
    for k-means or PQ that reads only those rows of a memory map."""
    rows = np.sort(np.random.default_rng(seed).choice(len(data), min(count, len(data)), False))
    return np.ascontiguousarray(gather_rows(data, rows), dtype=np.float32)


def require_memory(needed_bytes: float, what: str) -> None:
    """Raise MemoryError (the worker's `oom` row) when a build's estimated memory exceeds what
    the machine has available now: an index that cannot fit fails at once, not after an hour
    of adding blocks (nor by pushing the machine into the kernel's OOM killer)."""
    available = psutil.virtual_memory().available
    if needed_bytes > available:
        raise MemoryError(
            f"{what} needs about {needed_bytes / 2**30:.1f} GiB, "
            f"expected at most the {available / 2**30:.1f} GiB available"
        )
