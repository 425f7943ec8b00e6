"""The timing loops. The only code inside a timed region is the backend's own call.

A repetition lasts at least `min_time_s` of timed calls: single mode loops over the query set
(each query timed on its own with perf_counter_ns, QPS = queries answered / sum of
latencies); batch mode repeats the `batch_query` call over the whole set. Whole passes only,
so every pass answers every query; the first pass' answers are kept and every later pass is
checked to return the same ones. The garbage collector is paused while timing.

Every repetition also records how quiet the machine was over its window: the worker's CPU
time over wall time, the CPU time other processes took (from /proc), the load average.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.backends.base import Backend

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Timing:
    answers: np.ndarray  # int64 [n_queries, k] of the first pass, -1 where fewer came back
    seconds: float  # total time inside the timed calls
    latencies_s: np.ndarray | None  # per query, every pass (single mode only)
    passes: int  # passes over the query set (single) or batch calls
    stable: bool  # every pass returned the first pass' answers
    noise: dict[str, Any] = field(default_factory=dict)

    @property
    def qps(self) -> float:
        return len(self.answers) * self.passes / self.seconds


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


def _busy_jiffies() -> int | None:
    """Busy CPU time of the whole machine (all CPUs) in clock ticks, from /proc/stat."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    return sum(fields[:8]) - fields[3] - fields[4]


def _own_jiffies() -> int | None:
    """This process' user + system time (all its threads) in clock ticks."""
    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


class NoiseWindow:
    """Wall and CPU time of this process and of the others over a timed window."""

    def __enter__(self) -> NoiseWindow:
        self.busy, self.own = _busy_jiffies(), _own_jiffies()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        busy, own = _busy_jiffies(), _own_jiffies()
        other = None
        if None not in (busy, own, self.busy, self.own):
            other = max(0, (busy - self.busy) - (own - self.own)) / CLOCK_TICKS
        self.result = {
            "wall_s": wall,
            "cpu_per_wall": cpu / wall if wall > 0 else None,
            "other_cpu_s": other,
            "load_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }


def time_single(backend: Backend, queries: np.ndarray, k: int, min_time_s: float = 0.0) -> Timing:
    n = len(queries)
    answers = np.full((n, k), -1, dtype=np.int64)
    scratch = np.full((n, k), -1, dtype=np.int64)
    latencies: list[np.ndarray] = []
    query = backend.query
    clock = time.perf_counter_ns
    total_ns, stable = 0, True
    with gc_paused(), NoiseWindow() as window:
        while True:
            out = answers if not latencies else scratch
            lap = np.empty(n, dtype=np.int64)
            for i, vector in enumerate(queries):
                start = clock()
                ids = query(vector, k)
                lap[i] = clock() - start
                out[i, : min(len(ids), k)] = ids[:k]
            if latencies:
                stable = stable and np.array_equal(scratch, answers)
                scratch.fill(-1)
            latencies.append(lap)
            total_ns += int(lap.sum())
            if total_ns * 1e-9 >= min_time_s:
                break
    seconds = np.concatenate(latencies) * 1e-9
    return Timing(answers, float(seconds.sum()), seconds, len(latencies), stable, window.result)


def time_batch(backend: Backend, queries: np.ndarray, k: int, min_time_s: float = 0.0) -> Timing:
    answers = np.full((len(queries), k), -1, dtype=np.int64)
    clock = time.perf_counter_ns
    total_ns, calls, stable = 0, 0, True
    with gc_paused(), NoiseWindow() as window:
        while True:
            start = clock()
            ids = backend.batch_query(queries, k)
            total_ns += clock() - start
            width = min(ids.shape[1], k)
            if calls == 0:
                answers[:, :width] = ids[:, :k]
            else:
                stable = stable and np.array_equal(answers[:, :width], ids[:, :k])
            calls += 1
            if total_ns * 1e-9 >= min_time_s:
                break
    return Timing(answers, total_ns * 1e-9, None, calls, stable, window.result)


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
