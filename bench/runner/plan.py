"""Expand a suite into jobs: corpus x algorithm x build parameters, each with its query grid."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from bench.backends.registry import Algorithm, algorithms, get_algorithm
from bench.corpora.corpus import Corpus
from bench.errors import BenchError
from bench.runner.suite import Suite
from bench.storage import fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """Everything a worker needs, JSON-serialisable (it crosses a process boundary)."""

    job_id: str
    suite: str
    corpus: str
    corpus_spec: dict[str, Any]
    algorithm: str
    library: str
    adapter: str
    library_version: str
    build_params: dict[str, Any]
    query_grid: list[dict[str, Any]]
    k: int
    modes: list[str]
    repetitions: int
    warmup: int
    query_limit: int | None
    batch_threads: int
    build_threads: int
    timeout_s: float
    memory_limit_bytes: int
    min_time_s: float = 0.0  # timed seconds per repetition at least (passes over the queries)
    pin: bool = False  # worker on one core, parent on the others
    python: str = ""  # interpreter for the worker (bench ab); empty: the parent's

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Unavailable:
    """An algorithm that cannot run here (library missing): recorded as a row, not run."""

    job_id: str
    algorithm: Algorithm
    corpus: str
    reason: str


def job_id(corpus: Corpus, algorithm: str, *settings: Any) -> str:
    """The identity of a job: what resume skips and `compare` matches on."""
    return fingerprint(corpus.fingerprint, algorithm, *settings)


def select_algorithms(suite: Suite) -> list[Algorithm]:
    if suite.algorithms is None:
        return list(algorithms().values())
    return [get_algorithm(name) for name in suite.algorithms]


def plan_jobs(
    suite: Suite, corpora: dict[str, tuple[Corpus, dict[str, Any]]]
) -> tuple[list[Job], list[Unavailable]]:
    """Jobs for every (corpus, algorithm, build params); unavailable algorithms listed apart."""
    jobs: list[Job] = []
    unavailable: list[Unavailable] = []
    for corpus_name, (corpus, spec) in corpora.items():
        n_queries = min(len(corpus.queries), suite.query_limit or len(corpus.queries))
        if suite.k > len(corpus.train):
            raise BenchError(
                f"suite {suite.name!r}: k={suite.k} is larger than corpus "
                f"{corpus_name!r} ({len(corpus.train)} vectors): expected k <= "
                f"{len(corpus.train)}"
            )
        for algorithm in select_algorithms(suite):
            reason = algorithm.unavailable_reason()
            if reason:
                unavailable.append(
                    Unavailable(
                        job_id(corpus, algorithm.name, "unavailable"),
                        algorithm,
                        corpus_name,
                        reason,
                    )
                )
                continue
            if corpus.metric not in algorithm.metrics:
                log.info(
                    "skipping %s on %s: metric %s not supported",
                    algorithm.name,
                    corpus_name,
                    corpus.metric,
                )
                continue
            query_grid = algorithm.query_grid(suite.grid)
            for build_params in algorithm.build_grid(suite.grid):
                settings = (
                    suite.k,
                    list(suite.modes),
                    suite.repetitions,
                    suite.warmup,
                    n_queries,
                    suite.batch_threads,
                    suite.build_threads,
                    suite.min_time_s,
                )
                jobs.append(
                    Job(
                        job_id=job_id(corpus, algorithm.name, build_params, query_grid, settings),
                        suite=suite.name,
                        corpus=corpus_name,
                        corpus_spec=spec,
                        algorithm=algorithm.name,
                        library=algorithm.library,
                        adapter=algorithm.adapter,
                        library_version=algorithm.version(),
                        build_params=build_params,
                        query_grid=query_grid,
                        k=suite.k,
                        modes=list(suite.modes),
                        repetitions=suite.repetitions,
                        warmup=suite.warmup,
                        query_limit=n_queries,
                        batch_threads=suite.batch_threads,
                        build_threads=suite.build_threads,
                        timeout_s=suite.timeout_s,
                        memory_limit_bytes=int(suite.memory_limit_gb * 2**30),
                        min_time_s=suite.min_time_s,
                        pin=suite.pin,
                    )
                )
    return jobs, unavailable


def params_label(build_params: dict[str, Any], query_params: dict[str, Any]) -> str:
    """A short readable label such as `M=16 ef_construction=100 | ef=40`."""

    def fmt(params: dict[str, Any]) -> str:
        return " ".join(f"{key}={value}" for key, value in params.items())

    build, query = fmt(build_params), fmt(query_params)
    return f"{build} | {query}" if build and query else build or query or "-"
