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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bench.backends.faiss import Faiss
from bench.backends.hnswlib import Hnswlib
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
    grids: {overhead: {build: {index: IVFFlat, nlist: 128}, query: {nprobe: 8}}}
"""


def bare_search(name: str, train: np.ndarray) -> Callable[[np.ndarray], object]:
    """The library's own search call on an index built exactly as the worker builds it.

    The index is built through the adapter with one thread (multi-threaded HNSW insertion is
    not deterministic), so both sides search the same structure; the timed loop then calls
    the library directly, with no adapter in between.
    """
    build, query = CASES[name]
    backend = (Hnswlib if name == "hnswlib" else Faiss)("euclidean", **build)
    backend.set_threads(1)
    backend.fit(train)
    backend.set_query_params(**query)
    index = backend.index
    if name == "hnswlib":
        return lambda q: index.knn_query(q, K, num_threads=1)
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


def harness_qps(repetitions: int, pin: bool = False, min_time_s: float = 0.1) -> dict[str, float]:
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
            min_time_s=min_time_s,
            pin=pin,
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
    bare = {name: bare_qps(bare_search(name, train), queries, args.repetitions) for name in CASES}
    harness = harness_qps(args.repetitions)
    print(f"{'algorithm':<10} {'bare QPS':>10} {'harness QPS':>12} {'harness/bare':>13}")
    for name in CASES:
        print(
            f"{name:<10} {bare[name]:>10.0f} {harness[name]:>12.0f} "
            f"{harness[name] / bare[name]:>13.3f}"
        )


if __name__ == "__main__":
    main()
