"""Exact ground truth against the machine's SGEMM peak and faiss IndexFlatL2, in one run.

Generates (once, in the cache) a gaussian corpus with bench.corpora.synthetic, then measures:

* the SGEMM rate: best of a few 4096 x 4096 float32 matmuls with all threads (numpy's
  OpenBLAS), before and after the other measurements (the machine may be shared);
* `exact_knn` on the memory-mapped corpus for each k (k=100 is what the harness caches);
* faiss IndexFlatL2 search for the same k (train loaded into the index; add not timed);

each in a fresh child process (spawn), so that its peak RSS and its peak anonymous memory
(RssAnon, sampled every 5 ms: memory-mapped pages are not counted there) are its own. The
fraction of peak uses flops = 2 * n * n_queries * d. Wall time is the measure; CPU seconds and
the load average are printed too, because a busy machine inflates wall times. Run:

    .venv/bin/python benchmarks/bench_groundtruth.py [--n 1000000] [--queries 10000] [--k 100 10]

It prints a table and writes a JSON (default: results/bench_groundtruth.json).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from bench import paths
from bench.corpora.corpus import Corpus
from bench.corpora.synthetic import SyntheticSpec, synthetic_corpus

GEMM_SIZE = 4096


def corpus_for(n: int, queries: int, dim: int, seed: int) -> Corpus:
    spec = SyntheticSpec(distribution="gaussian", n=n, dim=dim, queries=queries, seed=seed)
    return synthetic_corpus(f"gaussian-{n}x{dim}", spec)


def gemm_rate(repeats: int = 5, threads: int | None = None) -> float:
    """Best GFLOP/s of `repeats` 4096^2 float32 matmuls through numpy's BLAS."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    b = rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    out = np.empty_like(a)
    best = float("inf")
    with threadpool_limits(limits=threads or os.cpu_count() or 1, user_api="blas"):
        np.matmul(a, b, out=out)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
    return 2 * GEMM_SIZE**3 / best / 1e9


def rss_anon_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class AnonPeak:
    """Samples RssAnon in a background thread; `peak` is the largest value seen."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.peak = rss_anon_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.peak = max(self.peak, rss_anon_bytes())

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_bytes())


def measure(task: dict[str, Any]) -> dict[str, Any]:
    """Child process: one timed ground truth (ours or faiss) with its memory figures."""
    corpus = corpus_for(task["n"], task["queries"], task["dim"], task["seed"])
    k, threads = task["k"], task["threads"]
    queries = np.ascontiguousarray(corpus.queries)
    with AnonPeak() as anon:
        if task["method"] == "ours":
            from bench.groundtruth.exact import exact_knn

            cpu, start = time.process_time(), time.perf_counter()
            truth = exact_knn(corpus.train, queries, k, corpus.metric, threads=threads)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            ids = truth.ids
        else:
            import faiss

            faiss.omp_set_num_threads(threads)
            index = faiss.IndexFlatL2(corpus.dim)
            index.add(np.ascontiguousarray(corpus.train))
            cpu, start = time.process_time(), time.perf_counter()
            _, ids = index.search(queries, k)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    out_path = Path(task["ids_path"])
    np.save(out_path, ids)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_rss_anon_bytes": anon.peak,
    }


def run_child(task: dict[str, Any]) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (task,))


def blas_kernels() -> list[str]:
    return sorted(
        {
            f"{info.get('prefix')} {info.get('version')} {info.get('architecture')}"
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--k", type=int, nargs="+", default=[100, 10])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-faiss", action="store_true", help="Skip the faiss comparison.")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write.")
    args = parser.parse_args()
    out = args.out or paths.results_dir() / "bench_groundtruth.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    corpus = corpus_for(args.n, args.queries, args.dim, args.seed)
    print(
        f"corpus {corpus.name} ({corpus.fingerprint}) ready in {time.perf_counter() - start:.1f} s"
    )
    flops = 2.0 * args.n * args.queries * args.dim
    base = {"n": args.n, "queries": args.queries, "dim": args.dim, "seed": args.seed}
    load_before = os.getloadavg()
    gemm_before = gemm_rate()
    gemm_one_thread = gemm_rate(threads=1)
    rows: list[dict[str, Any]] = []
    methods = ["ours"] if args.no_faiss else ["ours", "faiss IndexFlatL2"]
    ids_dir = paths.cache_dir() / "bench-groundtruth"
    ids_dir.mkdir(parents=True, exist_ok=True)
    for k in args.k:
        found = {}
        for method in methods:
            ids_path = ids_dir / f"{corpus.fingerprint}-{method.split()[0]}-k{k}.npy"
            task = {**base, "k": k, "threads": args.threads, "ids_path": str(ids_path)}
            task["method"] = "ours" if method == "ours" else "faiss"
            result = run_child(task)
            found[method] = np.load(ids_path)
            rows.append(
                {"method": method, "k": k, **result, "gflops": flops / result["seconds"] / 1e9}
            )
            print(f"  {method} k={k}: {result['seconds']:.2f} s")
        if len(found) == 2:
            same = np.mean(found["ours"] == found["faiss IndexFlatL2"])
            rows[-2]["same_ids_as_faiss"] = float(same)
    gemm_after = gemm_rate()
    load_after = os.getloadavg()
    peak = max(gemm_before, gemm_after)
    for row in rows:
        row["fraction_of_gemm_peak"] = row["gflops"] / peak
        # The rate the run would have had with its threads always on a CPU (a busy machine
        # stretches wall time but not CPU time): flops / (cpu seconds / threads).
        row["gflops_per_cpu_time"] = flops / (row["cpu_seconds"] / args.threads) / 1e9

    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"BLAS: {'; '.join(blas_kernels())}")
    print(
        f"SGEMM {GEMM_SIZE}^2, all threads: {gemm_before:.0f} GFLOP/s before, "
        f"{gemm_after:.0f} after (peak used: {peak:.0f}); one thread: {gemm_one_thread:.0f}"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"{args.n} x {args.dim} train, {args.queries} queries, flops = 2*n*nq*d = {flops:.3g}")
    header = (
        f"{'method':<18} {'k':>4} {'seconds':>8} {'cpu s':>7} {'GFLOP/s':>8} "
        f"{'% peak':>7} {'GF/cpu':>7} {'peak RSS':>9} {'RssAnon':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['method']:<18} {row['k']:>4} {row['seconds']:>8.2f} {row['cpu_seconds']:>7.1f} "
            f"{row['gflops']:>8.1f} {100 * row['fraction_of_gemm_peak']:>6.0f}% "
            f"{row['gflops_per_cpu_time']:>7.0f} {row['peak_rss_bytes'] / 2**20:>7.0f}MB "
            f"{row['peak_rss_anon_bytes'] / 2**20:>6.0f}MB"
        )
    for row in rows:
        if "same_ids_as_faiss" in row:
            print(f"k={row['k']}: {100 * row['same_ids_as_faiss']:.3f}% of ids equal faiss' ids")
    record = {
        **base,
        "threads": args.threads,
        "flops": flops,
        "gemm_gflops_before": gemm_before,
        "gemm_gflops_after": gemm_after,
        "gemm_gflops_one_thread": gemm_one_thread,
        "gemm_peak_gflops": peak,
        "load_average_before": load_before[0],
        "load_average_after": load_after[0],
        "blas": blas_kernels(),
        "environment": {
            key: os.environ[key]
            for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if key in os.environ
        },
        "results": rows,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
