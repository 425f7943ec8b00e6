"""Peak memory of generating (or loading) a corpus and of its exact ground truth, at any size.

Samples this process' RssAnon and RssFile every 5 ms (`bench.runner.resident`), in two
stages: loading the corpus (which generates it into the cache when it is not there yet) and
an exact k-NN scan of the whole train with the first `--queries` queries (the scan reads and
converts every row block by block whatever the query count; fewer queries only make the GEMM
cheaper).

    .venv/bin/python benchmarks/bench_peak_memory.py --dataset huge-u8-100m --queries 64

Measured 2026-11-25 (2 cores, a `huge` run beside it): huge-u8-100m already cached, 64
queries, k = 100: 130 s, peak RSS 86 MB (40 MB anonymous); generating huge-u8-10m: 50 s,
peak 117 MB.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.corpora.registry import load_corpus
from bench.groundtruth.exact import exact_knn
from bench.runner.resident import PeakResident, peak_resident


def show(stage: str, seconds: float, peak: PeakResident) -> None:
    print(f"{stage}: {seconds:.0f} s, peak RSS {peak.total_peak / 2**20:.0f} MB "
          f"({peak.anon_peak / 2**20:.0f} MB anonymous)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="a dataset YAML name")
    parser.add_argument("--queries", type=int, default=64, help="queries in the scan")
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()

    start = time.perf_counter()
    with peak_resident(interval_s=0.005) as loading:
        corpus = load_corpus(args.dataset)
    show("generate or load", time.perf_counter() - start, loading)
    queries = np.asarray(corpus.queries[: args.queries], dtype=np.float32)
    start = time.perf_counter()
    with peak_resident(interval_s=0.005) as scanning:
        exact_knn(corpus.train, queries, args.k, corpus.metric)
    scan_s = time.perf_counter() - start
    show(f"ground truth, {len(queries)} queries", scan_s, scanning)
    gigabytes = corpus.train.nbytes / 1e9
    print(f"{corpus.train.shape[0]:,} rows, {gigabytes:.1f} GB: {gigabytes / scan_s:.3f} GB/s")


if __name__ == "__main__":
    main()
