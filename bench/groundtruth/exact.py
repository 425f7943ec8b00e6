"""Exact k nearest neighbours by blocked matrix products (the kernel; `cache` stores results).

How the scan is organised (and why), for one query block of R rows and the train set read in
chunks of T rows (a memory map is fine: only one chunk per thread is ever copied):

* One GEMM per (query block x train chunk) gives the ranking scores directly: the queries
  are augmented to [-2q, 1] and the chunk to [x, ||x||^2], so `Qa @ Xa.T` is
  ||x||^2 - 2 q.x (euclidean; [-q, 0] and [x, 0] for the dot-product metrics). No separate
  scaling or norm passes, and the scores land in a preallocated buffer (no page faults).
* Each row keeps a threshold: the k-th smallest score among the candidates it holds (from
  the first chunk by `np.partition`, then tightened as candidates pile up). A score above
  its row's threshold cannot be among the k nearest. To find the few scores that can,
  the rows are screened in groups of GROUP_ROWS: one `np.minimum.reduce` over each group
  (one cheap pass), compared with the group's largest threshold, gives the (group, column)
  cells worth a look; only those cells are read row by row.
* Survivors go to a small per-row candidate buffer (2k slots). A compaction keeps each row's
  k best (argpartition over R x 2k, not over R x T) and tightens the thresholds; it runs
  when a buffer is full or the chunks seen have grown by COMPACT_GROWTH since the last one,
  so about k * (1 + ln(N / T)) scores per row survive in all. Nothing that could be among
  the k nearest is ever dropped, so the answer is exact (equal scores are ordered by id).
* Queries are split into equal tasks, one or more per thread; each thread runs a
  single-threaded BLAS on its own tasks (numpy releases the GIL in GEMM and in the passes).

Memory: per thread one train chunk (T x (d+1)), one score buffer (R x T, 16 MB by default)
and the candidate buffers of its task (at most MAX_TASK_ROWS x 2k), whatever the train size.
Without `train_sq_norms`, the norms are computed chunk by chunk, so the train is read once
per task and never whole. A uint8/int8 train is converted chunk by chunk; the scores stay
exact in float32 while every partial sum is an integer below 2^24 (uint8 up to d = 128).

Where the time goes (1M x 128, 2048 queries, k=100, one thread, CPU seconds): the GEMM runs
at ~80% of the 4096^2 SGEMM rate (K = d + 1 = 129 is a short inner dimension: each score is
written once per 129 multiply-adds); the screening pass costs ~0.2 ns per score against
~1.9 ns for the GEMM, and the survivors and compactions another ~0.2 ns (k=100; less for
k=10). See benchmarks/bench_groundtruth.py.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from bench.errors import BenchError
from bench.storage import gather_rows, release_pages

MAX_K = 100
# Query rows screened together by one minimum per train column: larger groups make that pass
# cheaper, but every (group, column) cell that passes costs GROUP_ROWS reads (8 was best
# for k=10 and k=100 at 1M x 128; 16 and 32 were 2-8% slower).
GROUP_ROWS = 8
MAX_TASK_ROWS = 8192  # queries per thread task (bounds the candidate buffers' memory)
NORM_BLOCK_ROWS = 65536
# Thresholds are tightened (a compaction) whenever the chunks seen have grown by this factor
# since the last one, or a row's candidate buffer is full: a handful of compactions in all,
# and about 15% more survivors than with a threshold kept exact after every chunk.
COMPACT_GROWTH = 1.3


@dataclass(frozen=True)
class GroundTruth:
    ids: np.ndarray  # int64 [n_queries, k], nearest first
    distances: np.ndarray  # float32 [n_queries, k], in the metric's distance

    @property
    def k(self) -> int:
        return int(self.ids.shape[1])


def squared_norms(matrix: np.ndarray, block_rows: int = NORM_BLOCK_ROWS) -> np.ndarray:
    """Squared L2 norm of every row, in float32, reading `matrix` in blocks."""
    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), block_rows):
        rows = matrix[start : start + block_rows]
        block = np.asarray(rows, dtype=np.float32)  # bytes: converted one block at a time
        out[start : start + len(block)] = np.einsum("ij,ij->i", block, block)
        release_pages(rows)
    return out


class _Candidates:
    """The running top-k of one block of query rows, fed one train chunk of scores at a time.

    Each row holds up to `capacity` candidates (unused slots are +inf) and a threshold:
    the k-th smallest score it holds, or +inf while it holds fewer than k. Only scores at
    or below the threshold are added, so the true k nearest are always among the candidates.
    Rows are screened in groups of `group` rows (the block's row count is a multiple of it).
    """

    def __init__(self, rows: int, k: int, capacity: int, group: int) -> None:
        self.rows, self.k, self.group = rows, k, group
        self.scores = np.full((rows, capacity), np.inf, dtype=np.float32)
        self.ids = np.zeros((rows, capacity), dtype=np.int64)
        self.fill = np.zeros(rows, dtype=np.int64)
        self.threshold = np.full(rows, np.inf, dtype=np.float32)
        self.chunks = 0  # train chunks seen
        self.compacted_at = 1  # chunks seen at the last compaction

    def add_chunk(self, scores: np.ndarray, first_id: int) -> None:
        """Take the candidates of `scores` [rows, width] (train rows first_id, first_id+1, ...)."""
        if self.chunks == 0 and scores.shape[1] >= self.k:
            # The k-th smallest score of the first chunk: a threshold from the start.
            self.threshold = np.partition(scores, self.k - 1, axis=1)[:, self.k - 1].copy()
        self.chunks += 1
        rows, cols, values = self._screen(scores)
        if len(rows):
            self._insert(rows, cols + first_id, values)
        if self.chunks >= COMPACT_GROWTH * self.compacted_at:
            self.compact()

    def _screen(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, score) of every score at or below its row's threshold.

        One pass takes the minimum of each group of rows per column; only the (group, column)
        cells whose minimum is at or below the group's largest threshold are read row by row.
        """
        group, width = self.group, scores.shape[1]
        groups = self.rows // group
        group_min = np.minimum.reduce(scores.reshape(groups, group, width), axis=1)
        thresholds = self.threshold.reshape(groups, group)
        cells = _true_positions(group_min <= thresholds.max(axis=1)[:, None])
        cell_group = cells // width
        # Flat index into `scores` of each cell's first row, then of its `group` rows.
        first = cells + cell_group * ((group - 1) * width)
        values = np.take(scores.reshape(-1), first[:, None] + np.arange(0, group * width, width))
        passed = np.flatnonzero(values <= np.take(thresholds, cell_group, axis=0))
        hit, member = np.divmod(passed, group)
        rows = cell_group[hit] * group + member
        cols = cells[hit] - cell_group[hit] * width
        return rows, cols, values.reshape(-1)[passed]

    def _insert(self, rows: np.ndarray, ids: np.ndarray, values: np.ndarray) -> None:
        counts = np.bincount(rows, minlength=self.rows)
        if int((self.fill + counts).max()) > self.scores.shape[1]:
            self.compact()
            keep = values <= self.threshold[rows]
            rows, ids, values = rows[keep], ids[keep], values[keep]
            counts = np.bincount(rows, minlength=self.rows)
            needed = int((self.fill + counts).max())
            if needed > self.scores.shape[1]:
                self._grow(max(needed, 2 * self.scores.shape[1]))
        order = np.argsort(rows, kind="stable")
        rows, ids, values = rows[order], ids[order], values[order]
        starts = np.cumsum(counts) - counts
        slots = self.fill[rows] + np.arange(len(rows)) - starts[rows]
        self.scores[rows, slots] = values
        self.ids[rows, slots] = ids
        self.fill += counts

    def _grow(self, capacity: int) -> None:
        extra = capacity - self.scores.shape[1]
        self.scores = np.hstack([self.scores, np.full((self.rows, extra), np.inf, np.float32)])
        self.ids = np.hstack([self.ids, np.zeros((self.rows, extra), np.int64)])

    def compact(self) -> None:
        """Keep each row's k best candidates in its first k slots and tighten thresholds."""
        k, capacity = self.k, self.scores.shape[1]
        if capacity > k:
            keep = np.argpartition(self.scores, k - 1, axis=1)[:, :k]
            self.ids[:, :k] = np.take_along_axis(self.ids, keep, 1)
            self.scores[:, :k] = np.take_along_axis(self.scores, keep, 1)
            self.scores[:, k:] = np.inf
        short = self.fill < k
        if short.any():  # rows holding fewer than k: their candidates must come first
            order = np.argsort(self.scores[short, :k], axis=1, kind="stable")
            self.scores[short, :k] = np.take_along_axis(self.scores[short, :k], order, 1)
            self.ids[short, :k] = np.take_along_axis(self.ids[short, :k], order, 1)
        self.fill = np.minimum(self.fill, k)
        self.threshold = self.scores[:, :k].max(axis=1)
        self.compacted_at = max(self.chunks, 1)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's k best (score, id), nearest first; equal scores ordered by id."""
        self.compact()
        scores, ids = self.scores[:, : self.k], self.ids[:, : self.k]
        order = np.lexsort((ids, scores), axis=1)
        return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)


def _true_positions(mask: np.ndarray) -> np.ndarray:
    """Flat indices of the True entries of a contiguous boolean array, mostly False.

    Scans eight bytes at a time (a uint64 view), then looks only inside the non-zero words:
    several times faster than `np.flatnonzero` when few entries are True.
    """
    flat = mask.reshape(-1)
    if len(flat) % 8:
        return np.flatnonzero(flat)
    words = np.flatnonzero(flat.view(np.uint64))
    inside = flat.reshape(-1, 8)[words]
    return ((words * 8)[:, None] + np.arange(8))[inside]


def _augmented_queries(queries: np.ndarray, metric: str, rows: int) -> np.ndarray:
    """[-2q, 1] (euclidean) or [-q, 0], padded with copies of the first query to `rows` rows."""
    n, d = queries.shape
    out = np.empty((rows, d + 1), dtype=np.float32)
    euclidean = metric == "euclidean"
    np.multiply(queries, -2.0 if euclidean else -1.0, out=out[:n, :d])
    out[:n, d] = 1.0 if euclidean else 0.0
    out[n:] = out[0]
    return out


def _split(count: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous ranges covering range(count), sizes differing by at most one."""
    bounds = [count * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _scan(
    queries: np.ndarray,
    train: np.ndarray,
    train_sq_norms: np.ndarray | None,
    k: int,
    metric: str,
    query_block: int,
    train_block: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted top-k ranking scores and ids of `queries` (one task) against the whole train."""
    n, d = queries.shape
    blocks = _split(n, -(-n // query_block))
    group = GROUP_ROWS
    padded = [-(-(b - a) // group) * group for a, b in blocks]
    augmented = [
        _augmented_queries(queries[a:b], metric, rows)
        for (a, b), rows in zip(blocks, padded, strict=True)
    ]
    capacity = max(2 * k, k + 32)
    candidates = [_Candidates(rows, k, capacity, group) for rows in padded]
    chunk = np.empty((train_block, d + 1), dtype=np.float32)
    buffer = np.empty((max(padded), train_block), dtype=np.float32)
    for t0 in range(0, len(train), train_block):
        width = min(train_block, len(train) - t0)
        part = chunk[:width]
        part[:, :d] = train[t0 : t0 + width]  # uint8/int8 converted here, one chunk at a time
        release_pages(train[t0 : t0 + width])  # a memory map's RSS stays one chunk
        if metric != "euclidean":
            part[:, d] = 0.0
        elif train_sq_norms is not None:
            part[:, d] = train_sq_norms[t0 : t0 + width]
        else:
            part[:, d] = np.einsum("ij,ij->i", part[:, :d], part[:, :d])
        for aug, cand in zip(augmented, candidates, strict=True):
            if width == train_block:
                scores = buffer[: len(aug)]
                np.matmul(aug, part.T, out=scores)
            else:
                scores = np.matmul(aug, part.T)
            cand.add_chunk(scores, t0)
    found = [cand.result() for cand in candidates]
    scores = np.concatenate([s[: b - a] for (a, b), (s, _) in zip(blocks, found, strict=True)])
    ids = np.concatenate([i[: b - a] for (a, b), (_, i) in zip(blocks, found, strict=True)])
    return scores, ids


REFINE_ROWS = 64  # queries whose k neighbours are re-measured together: 3 x 6.5 MB of float64


def _refined(
    queries: np.ndarray, train: np.ndarray, found: np.ndarray, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """The found neighbours with their distances measured directly in float64, nearest first.

    The GEMM scores rank well but lose digits to cancellation (||x||^2 - 2q.x + ||q||^2 puts
    a point's distance to itself at ~1e-3 instead of 0), and recall's tie threshold is an
    absolute 1e-3: the published distances must not carry that error.
    """
    ids = np.empty_like(found)
    dists = np.empty(found.shape, dtype=np.float32)
    for a in range(0, len(found), REFINE_ROWS):
        block = found[a : a + REFINE_ROWS]
        rows = np.asarray(gather_rows(train, block.ravel()), dtype=np.float64)
        rows = rows.reshape(*block.shape, -1)
        q = queries[a : a + REFINE_ROWS, None, :].astype(np.float64)
        if metric == "euclidean":
            measured = np.sqrt(((rows - q) ** 2).sum(axis=2))
        else:
            products = (rows * q).sum(axis=2)
            measured = 1.0 - products if metric == "angular" else -products
        order = np.argsort(measured, axis=1, kind="stable")
        ids[a : a + len(block)] = np.take_along_axis(block, order, 1)
        dists[a : a + len(block)] = np.take_along_axis(measured, order, 1)
    return ids, dists


def exact_knn(
    train: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    train_sq_norms: np.ndarray | None = None,
    query_block: int = 1024,
    train_block: int = 4096,
    threads: int | None = None,
) -> GroundTruth:
    """Exact k nearest neighbours of each query among the train rows, nearest first.

    `train` may be a read-only memory map: it is read one chunk of `train_block` rows at a
    time. Queries are split into equal tasks over `threads` workers, each with a
    single-threaded BLAS; with fewer queries than screening groups, one task uses all the
    threads in BLAS instead. Ties in score are ordered by id.
    """
    if not 1 <= k <= len(train):
        raise BenchError(f"k={k} is not possible: expected 1 <= k <= {len(train)} (train size)")
    if query_block < 1 or train_block < 1:
        raise BenchError(
            f"query_block={query_block}, train_block={train_block}: expected positive sizes"
        )
    threads = threads or os.cpu_count() or 1
    if metric == "euclidean" and train_sq_norms is not None:
        train_sq_norms = np.asarray(train_sq_norms, dtype=np.float32)
    n = len(queries)
    ids = np.empty((n, k), dtype=np.int64)
    dists = np.empty((n, k), dtype=np.float32)

    def solve(bounds: tuple[int, int]) -> None:
        a, b = bounds
        q = np.ascontiguousarray(queries[a:b], dtype=np.float32)
        _, found = _scan(q, train, train_sq_norms, k, metric, query_block, train_block)
        ids[a:b], dists[a:b] = _refined(q, train, found, metric)

    parallel = threads > 1 and n >= threads * GROUP_ROWS
    parts = max(threads if parallel else 1, -(-n // MAX_TASK_ROWS))
    if parallel:
        parts = -(-parts // threads) * threads  # whole rounds: every thread gets equal work
    tasks = _split(n, parts)
    if parallel:
        with threadpool_limits(limits=1), ThreadPoolExecutor(threads) as pool:
            list(pool.map(solve, tasks))
    else:
        with threadpool_limits(limits=threads):
            for task in tasks:
                solve(task)
    return GroundTruth(ids=ids, distances=dists)
