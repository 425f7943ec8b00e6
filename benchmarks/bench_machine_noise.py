"""How still does this machine hold? The noise floor under any harness.

Times four bare workloads in one process, no harness, one thread each, in windows of a fixed
length, interleaved round by round, and prints per workload the CV of the windows' speed and
the drift between the first and the second half of the series:

  python   a pure-Python integer loop (the interpreter, nothing else)
  blas     a 64 x 64 float32 matmul loop (compute in cache)
  memory   random gathers from a 200 MB array (the memory system)
  hnswlib  single kNN queries against a 100k x 64 index (what the `ci` suite times)

If the python loop alone moves by 10 % or more, no harness can give a per-point CV of 2 %
on this machine: the spread is the machine's (frequency, steal, neighbours), not the
timing's. Run it on a quiet machine; it prints the load with the numbers.

    .venv/bin/python benchmarks/bench_machine_noise.py [--windows 20] [--window-s 0.5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits


def python_loop() -> int:
    total = 0
    for i in range(100_000):
        total += i
    return 100_000


def blas_loop(matrix: np.ndarray) -> Callable[[], int]:
    def run() -> int:
        for _ in range(200):
            matrix @ matrix
        return 200

    return run


def memory_loop(array: np.ndarray, rng: np.random.Generator) -> Callable[[], int]:
    def run() -> int:
        array[rng.integers(0, len(array), 200_000)].sum()
        return 200_000

    return run


def hnswlib_loop(rng: np.random.Generator) -> Callable[[], int]:
    import hnswlib

    data = rng.standard_normal((100_000, 64), dtype=np.float32)
    queries = rng.standard_normal((200, 64), dtype=np.float32)
    index = hnswlib.Index("l2", 64)
    index.init_index(len(data), M=16, ef_construction=100)
    index.add_items(data, num_threads=os.cpu_count() or 1)
    index.set_ef(50)
    index.set_num_threads(1)

    def run() -> int:
        for vector in queries:
            index.knn_query(vector, k=10)
        return len(queries)

    return run


def window(work: Callable[[], int], seconds: float) -> float:
    """Work units per second over whole calls lasting at least `seconds`."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += work()
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20, help="windows per workload")
    parser.add_argument("--window-s", type=float, default=0.5, help="seconds per window")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    workloads = {
        "python": python_loop,
        "blas": blas_loop(rng.standard_normal((64, 64)).astype(np.float32)),
        "memory": memory_loop(rng.standard_normal(50_000_000).astype(np.float32), rng),
        "hnswlib": hnswlib_loop(rng),
    }
    speeds: dict[str, list[float]] = {name: [] for name in workloads}
    load_before = os.getloadavg()
    with threadpool_limits(1):
        for round_ in range(args.windows):
            names = list(workloads)
            np.random.default_rng(round_).shuffle(names)
            for name in names:
                speeds[name].append(window(workloads[name], args.window_s))
    load_after = os.getloadavg()
    print(f"{args.windows} windows of {args.window_s} s per workload, interleaved, one thread")
    print(f"load before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(f"{'workload':<10}{'CV':>8}{'min/median':>12}{'max/median':>12}{'2nd/1st half':>14}")
    for name, values in speeds.items():
        median = statistics.median(values)
        half = len(values) // 2
        drift = statistics.median(values[half:]) / statistics.median(values[:half])
        cv = statistics.stdev(values) / statistics.mean(values)
        print(
            f"{name:<10}{cv:>8.1%}{min(values) / median:>12.3f}"
            f"{max(values) / median:>12.3f}{drift:>14.3f}"
        )


if __name__ == "__main__":
    main()
