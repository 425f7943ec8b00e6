"""The isolated worker: `python -m bench.runner.worker JOB.json OUT.jsonl`.

Builds one index, then measures every point of the job (query parameters x modes) in rounds:
each round measures every point once, in an order shuffled with a seed derived from the job
id, so repetitions of one point are spread over the job instead of running back to back.
One JSON line per observation goes to OUT as soon as it is measured (a crash later in the
job loses nothing already measured). The parent owns timeouts, memory caps and the results.

Single-mode repetitions (warm-up included) run with BLAS/OpenMP pools limited to one thread
(threadpoolctl), so idle pool threads cannot compete with the timed one.
"""

from __future__ import annotations

import dataclasses
import json
import random
import resource
import sys
import time
import traceback
import zlib
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bench.backends.base import Backend
from bench.backends.loader import load_adapter
from bench.corpora.corpus import Corpus
from bench.corpora.registry import corpus_from_spec
from bench.groundtruth.cache import ground_truth
from bench.metrics.labels import average_precision_at_k, precision_at_k, relevance
from bench.metrics.recall import recalls_per_query
from bench.results.answers import NPZ_SUFFIX, AnswerLog, answers_hash
from bench.runner.job import Job
from bench.runner.measure import Timing, latency_summary, time_batch, time_single
from bench.runner.pinning import Pinning

Point = tuple[int, str]  # (index into the job's query grid, mode)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Emitter:
    """Appends one JSON line per record and flushes it, so a later crash cannot lose it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


def schedule(points: list[Point], rounds: int, seed: int) -> list[tuple[int, Point]]:
    """(round, point) in measuring order: every round holds every point once, shuffled."""
    rng = random.Random(seed)
    order = []
    for round_ in range(rounds):
        shuffled = list(points)
        rng.shuffle(shuffled)
        order += [(round_, point) for point in shuffled]
    return order


def job_seed(job: Job) -> int:
    return zlib.crc32(job.job_id.encode())


class Scorer:
    """Quality of a point's answers, computed once per distinct answer set.

    Recall depends only on the answers, which are the same on every repetition of a point
    when the library is deterministic; later repetitions reuse the first score when their
    answers hash the same, and are scored again (and flagged unstable) when not."""

    def __init__(self, job: Job, corpus: Corpus, queries: np.ndarray) -> None:
        truth = ground_truth(corpus)
        n = len(queries)
        self.job, self.corpus, self.queries = job, corpus, queries
        self.true_ids, self.true_dist = truth.ids[:n], truth.distances[:n]
        self.first: dict[Point, str] = {}
        self.scores: dict[str, dict[str, float]] = {}

    def __call__(self, point: Point, answers: np.ndarray) -> tuple[dict[str, float], bool]:
        key = answers_hash(answers)
        same = self.first.setdefault(point, key) == key
        if key not in self.scores:
            self.scores[key] = self._score(answers)
        return self.scores[key], same

    def _score(self, answers: np.ndarray) -> dict[str, float]:
        corpus, k = self.corpus, self.job.k
        recalls = recalls_per_query(
            answers, self.true_ids, self.true_dist, self.queries, corpus.train, corpus.metric, k
        )
        score = {name: float(values.mean()) for name, values in recalls.items()}
        if corpus.has_labels:
            relevant = relevance(answers, corpus.train_labels, corpus.query_labels[: len(answers)])
            score["precision_at_k"] = float(precision_at_k(relevant, k).mean())
            score["map_at_k"] = float(average_precision_at_k(relevant, k).mean())
        return score


def measure(
    backend: Backend, job: Job, mode: str, queries: np.ndarray, pinning: Pinning | None
) -> tuple[Timing, int]:
    """One timed repetition of the current query parameters in `mode` (warm-up first)."""
    threads = 1 if mode == "single" else job.batch_threads
    backend.set_threads(threads)
    timer = time_single if mode == "single" else time_batch
    limits = threadpool_limits(1) if mode == "single" else nullcontext()
    widened = pinning.widened(threads) if pinning else nullcontext()
    with limits, widened:
        if job.warmup:
            timer(backend, queries[: job.warmup], job.k)
        return timer(backend, queries, job.k, job.min_time_s), threads


def run_job(job: Job, emit: Emitter) -> None:
    corpus = corpus_from_spec(job.corpus, job.corpus_spec)
    queries = np.ascontiguousarray(corpus.queries[: job.query_limit])
    scorer = Scorer(job, corpus, queries)
    answers = AnswerLog(emit.path.with_name(emit.path.name + NPZ_SUFFIX), job.job_id)

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

    modes = [m for m in job.modes if m != "batch" or backend.supports_batch]
    points = [(i, mode) for i in range(len(job.query_grid)) for mode in modes]
    pinning = Pinning() if job.pin else None
    try:
        for sequence, (round_, point) in enumerate(
            schedule(points, job.repetitions, job_seed(job))
        ):
            index, mode = point
            query_params = job.query_grid[index]
            backend.set_query_params(**query_params)
            timing, threads = measure(backend, job, mode, queries, pinning)
            score, same = scorer(point, timing.answers)
            emit(
                {
                    "event": "observation",
                    "query_params": query_params,
                    "mode": mode,
                    "threads": threads,
                    "repetition": round_,
                    "sequence": sequence,
                    **score,
                    "qps": timing.qps,
                    "timed_s": timing.seconds,
                    "passes": timing.passes,
                    "answers_stable": int(timing.stable and same),
                    **timing.noise,
                    **latency_summary(timing.latencies_s),
                    **build,
                    "peak_rss_bytes": peak_rss_bytes(),
                    "warmup_queries": job.warmup,
                    "min_time_s": job.min_time_s,
                    "pinned_cpu": pinning.core if pinning else None,
                    **answers.add(query_params, mode, timing.answers),
                }
            )
    finally:
        if pinning:
            pinning.close()
    backend.close()


def read_job(path: Path) -> Job:
    """The job, ignoring settings this version of the worker does not know (a worker started
    with another interpreter by `bench ab` may be an older checkout of the harness)."""
    data = json.loads(path.read_text())
    known = {f.name for f in dataclasses.fields(Job)}
    unknown = sorted(set(data) - known)
    if unknown:
        print(f"worker: ignoring unknown job settings {unknown}", file=sys.stderr)
    return Job(**{key: value for key, value in data.items() if key in known})


def main(argv: list[str]) -> int:
    job_path, out_path = Path(argv[0]), Path(argv[1])
    job = read_job(job_path)
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
