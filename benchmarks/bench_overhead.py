"""Harness overhead: QPS through `bench run` versus a bare loop calling the library directly.

Same corpus (quick-clustered-euclidean), same parameters, single-query mode, one thread.
The bare loop times the whole Python loop around the library call; the harness reports
queries / sum of per-call latencies from its own isolated worker. Run:

    .venv/bin/python benchmarks/bench_overhead.py [--repetitions 7]

It prints both QPS values (median over repetitions) and their ratio; the target is within 3 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import hnswlib
import numpy as np
from threadpoolctl import threadpool_limits

from bench.corpora.registry import load_corpus
from bench.results.store import read_results
from bench.runner.run import run_suite
from bench.runner.suite import Suite

CORPUS = "quick-clustered-euclidean"
K = 10
CASES = {
    "hnswlib": ({"M": 16, "ef_construction": 200}, {"ef": 40}),
    "faiss-ivf": ({"index": "IVFFlat", "nlist": 128}, {"nprobe": 8}),
}
BACKENDS_YAML = """
library: hnswlib
adapter: bench.backends.hnswlib:Hnswlib
metrics: [euclidean]
algorithms:
  hnswlib:
    grids: {overhead: {build: {M: 16, ef_construction: 200}, query: {ef: 40}}}
  faiss-ivf:
    adapter: bench.backends.faiss:Faiss
    fixed: {index: IVFFlat}
    grids: {overhead: {build: {nlist: 128}, query: {nprobe: 8}}}
"""


def bare_hnswlib(train: np.ndarray, queries: np.ndarray) -> tuple:
    index = hnswlib.Index(space="l2", dim=train.shape[1])
    index.init_index(max_elements=len(train), M=16, ef_construction=200, random_seed=100)
    index.add_items(train, np.arange(len(train)), num_threads=2)
    index.set_ef(40)
    return lambda q: index.knn_query(q, K, num_threads=1)


def bare_faiss(train: np.ndarray, queries: np.ndarray) -> tuple:
    faiss.omp_set_num_threads(2)
    index = faiss.index_factory(train.shape[1], "IVF128,Flat")
    index.train(np.ascontiguousarray(train))
    index.add(np.ascontiguousarray(train))
    faiss.ParameterSpace().set_index_parameter(index, "nprobe", 8)
    faiss.omp_set_num_threads(1)
    return lambda q: index.search(q[None, :], K)


def bare_qps(search, queries: np.ndarray, repetitions: int) -> float:
    for q in queries[:50]:
        search(q)
    rates = []
    with threadpool_limits(1):
        for _ in range(repetitions):
            start = time.perf_counter()
            for q in queries:
                search(q)
            rates.append(len(queries) / (time.perf_counter() - start))
    return statistics.median(rates)


def harness_qps(repetitions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "overhead.yaml").write_text(BACKENDS_YAML)
        os.environ["BENCH_EXTRA_BACKENDS"] = folder
        os.environ.pop("BENCH_RESULTS", None)
        suite = Suite(
            name="overhead",
            datasets=(CORPUS,),
            algorithms=tuple(CASES),
            grid="overhead",
            modes=("single",),
            repetitions=repetitions,
            warmup=50,
        )
        # The project's own algorithms of the same names would clash: use only the extra folder.
        from bench import paths

        paths.backends_dirs = lambda: (Path(folder),)
        run_suite(suite, Path(folder) / "run", show_progress=False)
        frame = read_results(Path(folder) / "run")
    return {name: float(group["qps"].median()) for name, group in frame.groupby("algorithm")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=7)
    args = parser.parse_args()
    corpus = load_corpus(CORPUS)
    train, queries = np.asarray(corpus.train), np.ascontiguousarray(corpus.queries)
    bare = {
        "hnswlib": bare_qps(bare_hnswlib(train, queries), queries, args.repetitions),
        "faiss-ivf": bare_qps(bare_faiss(train, queries), queries, args.repetitions),
    }
    harness = harness_qps(args.repetitions)
    print(f"{'algorithm':<10} {'bare QPS':>10} {'harness QPS':>12} {'harness/bare':>13}")
    for name in CASES:
        print(
            f"{name:<10} {bare[name]:>10.0f} {harness[name]:>12.0f} "
            f"{harness[name] / bare[name]:>13.3f}"
        )


if __name__ == "__main__":
    main()
