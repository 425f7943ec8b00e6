"""The Corpus contract shared by every stage: train and query matrices, metric, labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.storage import release_pages

METRICS = ("euclidean", "angular", "inner_product")


@dataclass(frozen=True)
class FileGroundTruth:
    """Neighbours shipped with a file corpus, nearest first, for the corpus' queries."""

    ids: np.ndarray  # int64 [n_queries, k]
    distances: np.ndarray | None  # float32 [n_queries, k], None when the file has only ids
    source: str  # the file it came from
    fingerprint: str  # of that file's content: keys the ground truth adopted from it

    @property
    def k(self) -> int:
        return int(self.ids.shape[1])


@dataclass(frozen=True)
class Corpus:
    """Vectors to index and held-out queries.

    `train` and `queries` (float32, or uint8/int8 bytes) may be read-only memory maps: never copied.
    `fingerprint` identifies exactly what produced the vectors (spec and code version),
    so that ground truth and results can be cached and matched by it.
    """

    name: str
    train: np.ndarray
    queries: np.ndarray
    metric: str
    fingerprint: str
    train_labels: np.ndarray | None = None
    query_labels: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    shipped_truth: FileGroundTruth | None = None  # neighbours the source file came with

    def __post_init__(self) -> None:
        check_metric(self.metric)
        for role, matrix in (("train", self.train), ("queries", self.queries)):
            check_matrix(matrix, f"corpus {self.name!r} {role}", nonzero=self.metric == "angular")
        train, queries = self.train, self.queries
        if train.shape[1] != queries.shape[1] or train.dtype != queries.dtype:
            raise BenchError(
                f"corpus {self.name!r}: queries have dimension {queries.shape[1]}, expected the "
                f"train dimension {train.shape[1]} (and dtype {train.dtype}, got {queries.dtype})"
            )
        for role, labels, matrix in (
            ("train_labels", self.train_labels, self.train),
            ("query_labels", self.query_labels, self.queries),
        ):
            if labels is not None and len(labels) != len(matrix):
                raise BenchError(
                    f"corpus {self.name!r}: {role} has {len(labels)} entries, "
                    f"expected one per vector ({len(matrix)})"
                )

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    @property
    def has_labels(self) -> bool:
        return self.train_labels is not None and self.query_labels is not None


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise BenchError(f"unknown metric {metric!r}: expected one of {', '.join(METRICS)}")


def check_matrix(
    matrix: np.ndarray, what: str, block_rows: int = 65536, nonzero: bool = False
) -> None:
    """A non-empty 2-D float32, uint8 or int8 matrix; floats have no NaN or infinity and, when
    `nonzero` (the angular metric: a zero vector has no direction), no all-zero row. One pass
    over the rows, in blocks.

    A zero query is equally far (1.0) from every point under angular distance, so any answer
    would score full recall; a zero train row would be an arbitrary neighbour of everything."""
    if not isinstance(matrix, np.ndarray) or matrix.ndim != 2:
        shape = getattr(matrix, "shape", type(matrix).__name__)
        raise BenchError(f"{what}: expected a 2-D array (rows x dimension), got {shape}")
    if matrix.dtype not in (np.float32, np.uint8, np.int8):
        raise BenchError(f"{what}: expected dtype float32, got {matrix.dtype} (or uint8, int8)")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise BenchError(f"{what}: expected a non-empty matrix, got shape {matrix.shape}")
    scan = matrix.dtype.kind == "f" or nonzero
    for start in range(0, matrix.shape[0] if scan else 0, block_rows):
        block = matrix[start : start + block_rows]
        if block.dtype.kind == "f" and not np.isfinite(block).all():
            bad = start + int(np.argwhere(~np.isfinite(block))[0][0])
            raise BenchError(f"{what}: row {bad} contains NaN or infinity; expected finite values")
        if nonzero:
            # Squares summed in float32 as `normalize_rows` does: 0 also for rows too small
            # to normalise (their squares underflow), which would stay unnormalised.
            zero = np.flatnonzero(np.einsum("ij,ij->i", block, block, dtype=np.float32) == 0)
            if len(zero):
                raise BenchError(
                    f"{what}: row {start + int(zero[0])} is all zeros (or too small to "
                    "normalise); the angular metric needs non-zero vectors"
                )
        release_pages(block)


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Unit-length rows (for the angular metric); zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)
