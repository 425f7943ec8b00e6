"""Ground truth cached by corpus fingerprint, with a record of how long it took.

Exact neighbours are keyed by the corpus fingerprint alone; neighbours adopted from a
ground-truth file also by that file's fingerprint (`truth_key`), so the same vectors without
the file never take the file's ids for exact ones."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpora.corpus import Corpus
from bench.groundtruth.exact import MAX_K, GroundTruth, exact_knn
from bench.groundtruth.file_truth import adopt_file_ground_truth
from bench.storage import (
    atomic_path,
    cache_path,
    fingerprint,
    making,
    open_npy_for_writing,
    write_bytes_atomic,
)

log = logging.getLogger(__name__)


def groundtruth_paths(key: str, k: int) -> tuple[Path, Path, Path]:
    """The cached ids, distances and timing record for `key` (`truth_key`)."""
    stem = f"{key}-k{k}"
    return (
        cache_path("groundtruth", f"{stem}-ids", ".npy"),
        cache_path("groundtruth", f"{stem}-dist", ".npy"),
        cache_path("groundtruth-timing", stem, ".json"),
    )


def ground_truth(corpus: Corpus, k: int = MAX_K) -> GroundTruth:
    """Cached exact neighbours of the corpus' queries (computed once per fingerprint).

    A corpus whose file shipped neighbours uses them when they pass the check in
    `file_truth` (their distances are recomputed here); otherwise the exact search runs.
    Beside the arrays, a small JSON records how long it took (the run's groundtruth.csv)."""
    k = min(max(k, 1), MAX_K, len(corpus.train))
    ids_path, dist_path, _ = groundtruth_paths(truth_key(corpus), k)
    if not _cached(ids_path, dist_path):
        with making(ids_path):  # a run sharing the cache waits, then reuses this one's
            if not _cached(ids_path, dist_path):
                log.info("computing the ground truth of %s into %s", corpus.name, ids_path)
                _compute(corpus, k)
    return GroundTruth(ids=np.load(ids_path), distances=np.load(dist_path))


def _cached(ids_path: Path, dist_path: Path) -> bool:
    return ids_path.exists() and dist_path.exists()


def _compute(corpus: Corpus, k: int) -> None:
    """Find (or adopt the file's) neighbours and cache them with their timing record."""
    wall, cpu = time.perf_counter(), time.process_time()
    adopted = (
        adopt_file_ground_truth(corpus, corpus.shipped_truth, k)
        if corpus.shipped_truth is not None
        else None
    )
    threads = 1 if adopted else os.cpu_count() or 1
    truth, source = adopted or (
        exact_knn(corpus.train, corpus.queries, k, corpus.metric, threads=threads),
        {},
    )
    info = {
        **corpus_identity(corpus, k),
        **source,
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
        "threads": threads,
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    store_ground_truth(corpus, truth, info)


def truth_key(corpus: Corpus) -> str:
    """The cache key of the corpus' ground truth: the corpus fingerprint for exact
    neighbours, with the ground-truth file's fingerprint when the corpus ships one."""
    shipped = corpus.shipped_truth
    if shipped is None:
        return corpus.fingerprint
    return fingerprint("file-truth", corpus.fingerprint, shipped.fingerprint)


def corpus_identity(corpus: Corpus, k: int) -> dict[str, Any]:
    """What a ground-truth record says about the corpus it belongs to."""
    return {
        "corpus_fingerprint": corpus.fingerprint,
        "n_train": len(corpus.train),
        "n_queries": len(corpus.queries),
        "dim": corpus.dim,
        "metric": corpus.metric,
        "k": k,
    }


def store_ground_truth(corpus: Corpus, truth: GroundTruth, info: dict[str, Any]) -> None:
    """Cache `truth` as the corpus' ground truth (used for a file's own, checked, neighbours).

    The files' blocks are reserved first, so a full disk gives one line naming the folder,
    the file and the free space (not numpy's "N requested and M written")."""
    ids_path, dist_path, info_path = groundtruth_paths(truth_key(corpus), truth.k)
    for path, array in ((dist_path, truth.distances), (ids_path, truth.ids)):
        with atomic_path(path) as tmp:
            out = open_npy_for_writing(tmp, array.shape, array.dtype, path)
            out[...] = array
            out.flush()
            del out
    write_bytes_atomic(info_path, (json.dumps(info, indent=1) + "\n").encode())


def ground_truth_info(corpus: Corpus, k: int = MAX_K) -> dict[str, Any]:
    """The timing record stored beside the cached ground truth ({} when none was stored)."""
    k = min(max(k, 1), MAX_K, len(corpus.train))
    info_path = groundtruth_paths(truth_key(corpus), k)[2]
    return json.loads(info_path.read_text()) if info_path.exists() else {}
