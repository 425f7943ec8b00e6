"""Peak memory of generating (or loading) a corpus and of its exact ground truth, at any size.

Samples this process' RssAnon and RssFile every 5 ms, in two stages: loading the corpus
(which generates it into the cache when it is not there yet) and an exact k-NN scan of the
whole train with the first `--queries` queries (the scan reads and converts every row
block by block whatever the query count; fewer queries only make the GEMM cheaper).

    .venv/bin/python benchmarks/bench_peak_memory.py --dataset huge-u8-100m --queries 64

Measured 2026-11-25 (2 cores, a `huge` run beside it): huge-u8-100m already cached, 64
queries, k = 100: 130 s, peak RSS 86 MB (40 MB anonymous); generating huge-u8-10m: 50 s,
peak 117 MB.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from bench.corpora.registry import load_corpus
from bench.groundtruth.exact import exact_knn


def resident_kb() -> tuple[int, int]:
    """(RssAnon, RssFile) of this process in kB."""
    with open("/proc/self/status") as handle:
        found = {
            line.split(":")[0]: int(line.split()[1])
            for line in handle
            if line.startswith(("RssAnon:", "RssFile:"))
        }
    return found["RssAnon"], found["RssFile"]


@contextmanager
def peak_memory(report: Callable[[int, int], None]) -> Iterator[None]:
    """Call `report(peak anonymous kB, peak anonymous + mapped kB)` after the block."""
    peaks = [0, 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            anon, mapped = resident_kb()
            peaks[0], peaks[1] = max(peaks[0], anon), max(peaks[1], anon + mapped)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        report(*peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="a dataset YAML name")
    parser.add_argument("--queries", type=int, default=64, help="queries in the scan")
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()

    def show(stage: str, seconds: list[float]) -> Callable[[int, int], None]:
        def report(anon: int, total: int) -> None:
            print(f"{stage}: {seconds[0]:.0f} s, peak RSS {total / 1024:.0f} MB "
                  f"({anon / 1024:.0f} MB anonymous)")  # fmt: skip

        return report

    took = [0.0]
    with peak_memory(show("generate or load", took)):
        start = time.perf_counter()
        corpus = load_corpus(args.dataset)
        took[0] = time.perf_counter() - start
    queries = np.asarray(corpus.queries[: args.queries], dtype=np.float32)
    scan = [0.0]
    with peak_memory(show(f"ground truth, {len(queries)} queries", scan)):
        start = time.perf_counter()
        exact_knn(corpus.train, queries, args.k, corpus.metric)
        scan[0] = time.perf_counter() - start
    gigabytes = corpus.train.nbytes / 1e9
    print(f"{corpus.train.shape[0]:,} rows, {gigabytes:.1f} GB: {gigabytes / scan[0]:.3f} GB/s")


if __name__ == "__main__":
    main()
