"""The isolated worker: `python -m bench.runner.worker JOB.json OUT.jsonl`.

Builds one index, sweeps its query parameters in each mode, and appends one JSON line per
observation to OUT as soon as it is measured (so a crash later in the job loses nothing
already measured). The parent process owns timeouts, memory caps and the results file.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from bench.backends.registry import load_adapter
from bench.corpora.registry import corpus_from_spec
from bench.groundtruth.cache import ground_truth
from bench.metrics.labels import average_precision_at_k, precision_at_k, relevance
from bench.metrics.recall import recall_per_query
from bench.runner.measure import latency_summary, time_batch, time_single
from bench.runner.plan import Job


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Emitter:
    """Appends one JSON line per record and flushes it, so a later crash cannot lose it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


def run_job(job: Job, emit: Emitter) -> None:
    corpus = corpus_from_spec(job.corpus, job.corpus_spec)
    truth = ground_truth(corpus)
    n, k = job.query_limit, job.k
    queries = np.ascontiguousarray(corpus.queries[:n])
    true_ids, true_dist = truth.ids[:n], truth.distances[:n]

    backend = load_adapter(job.adapter)(corpus.metric, **job.build_params)
    backend.set_threads(job.build_threads)
    wall, cpu = time.perf_counter(), time.process_time()
    backend.fit(corpus.train)
    build = {
        "build_s": time.perf_counter() - wall,
        "build_cpu_s": time.process_time() - cpu,
        "build_threads": job.build_threads,
    }
    build["index_bytes"] = backend.index_bytes()
    emit({"event": "build", **build, "peak_rss_bytes": peak_rss_bytes()})

    for query_params in job.query_grid:
        backend.set_query_params(**query_params)
        for mode in job.modes:
            if mode == "batch" and not backend.supports_batch:
                continue
            threads = 1 if mode == "single" else job.batch_threads
            backend.set_threads(threads)
            timer = time_single if mode == "single" else time_batch
            if job.warmup:
                timer(backend, queries[: job.warmup], k)
            for repetition in range(job.repetitions):
                timing = timer(backend, queries, k)
                recalls = recall_per_query(
                    timing.answers, true_ids, true_dist, queries, corpus.train, corpus.metric, k
                )
                record = {
                    "event": "observation",
                    "query_params": query_params,
                    "mode": mode,
                    "threads": threads,
                    "repetition": repetition,
                    "recall": float(recalls.mean()),
                    "qps": n / timing.seconds,
                    **latency_summary(timing.latencies_s),
                    **build,
                    "peak_rss_bytes": peak_rss_bytes(),
                    "warmup_queries": job.warmup,
                }
                if corpus.has_labels:
                    relevant = relevance(
                        timing.answers, corpus.train_labels, corpus.query_labels[:n]
                    )
                    record["precision_at_k"] = float(precision_at_k(relevant, k).mean())
                    record["map_at_k"] = float(average_precision_at_k(relevant, k).mean())
                emit(record)
    backend.close()


def main(argv: list[str]) -> int:
    job_path, out_path = Path(argv[0]), Path(argv[1])
    job = Job(**json.loads(job_path.read_text()))
    emit = Emitter(out_path)
    try:
        run_job(job, emit)
    except MemoryError as exc:
        emit({"event": "error", "status": "oom", "error": f"MemoryError in the worker: {exc}"})
        return 3
    except Exception as exc:  # every failure becomes a row; the parent decides the rest
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        emit(
            {
                "event": "error",
                "status": "failed",
                "error": text,
                "traceback": traceback.format_exc(),
            }
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
