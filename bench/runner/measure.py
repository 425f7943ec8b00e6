"""The timing loops. The only code inside a timed region is the backend's own call.

Single mode times each query on its own (perf_counter_ns around one `query` call) and sums
the latencies for QPS; batch mode times one `batch_query` call over the whole query set.
Answers are stored after the clock stops; the garbage collector is paused while timing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from bench.backends.base import Backend


@dataclass(frozen=True)
class Timing:
    answers: np.ndarray  # int64 [n_queries, k], -1 where fewer than k came back
    seconds: float  # total search time
    latencies_s: np.ndarray | None  # per query (single mode only)


@contextmanager
def gc_paused() -> Iterator[None]:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_single(backend: Backend, queries: np.ndarray, k: int) -> Timing:
    answers = np.full((len(queries), k), -1, dtype=np.int64)
    latencies = np.empty(len(queries), dtype=np.int64)
    query = backend.query
    clock = time.perf_counter_ns
    with gc_paused():
        for i, vector in enumerate(queries):
            start = clock()
            ids = query(vector, k)
            latencies[i] = clock() - start
            answers[i, : min(len(ids), k)] = ids[:k]
    seconds = latencies * 1e-9
    return Timing(answers, float(seconds.sum()), seconds)


def time_batch(backend: Backend, queries: np.ndarray, k: int) -> Timing:
    with gc_paused():
        start = time.perf_counter_ns()
        ids = backend.batch_query(queries, k)
        elapsed = time.perf_counter_ns() - start
    answers = np.full((len(queries), k), -1, dtype=np.int64)
    answers[:, : min(ids.shape[1], k)] = ids[:, :k]
    return Timing(answers, elapsed * 1e-9, None)


def latency_summary(latencies_s: np.ndarray | None) -> dict[str, float | None]:
    if latencies_s is None:
        return dict.fromkeys(
            ("latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
        )
    ms = latencies_s * 1e3
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "latency_mean_ms": float(ms.mean()),
        "latency_p50_ms": float(p50),
        "latency_p95_ms": float(p95),
        "latency_p99_ms": float(p99),
    }
