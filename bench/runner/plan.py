"""Expand a suite into jobs: corpus x algorithm x build parameters, each with its query grid."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bench.backends.registry import Algorithm, algorithms, get_algorithm
from bench.corpora.corpus import Corpus
from bench.corpora.registry import declared_size
from bench.errors import BackendUnavailable, BenchError
from bench.runner.adhoc import grids_for
from bench.runner.job import Job
from bench.runner.suite import Suite
from bench.storage import fingerprint

log = logging.getLogger(__name__)


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
    """The suite's algorithms less its `exclude`, checked before any corpus is generated: an
    unknown name, a listed algorithm with neither the suite's grid nor an inline one, or
    nothing left to run fails here (inline grids were checked when the suite was read).
    `all` means every algorithm with the suite's grid (or an inline one)."""

    def has_grid(algorithm: Algorithm) -> bool:
        return algorithm.name in suite.grids or suite.grid in algorithm.grids

    if suite.algorithms is not None:
        candidates = [get_algorithm(name) for name in suite.algorithms]
    else:
        registered = list(algorithms().values())
        candidates = [algorithm for algorithm in registered if has_grid(algorithm)]
        if not candidates:
            raise BenchError(
                f"suite {suite.name!r}: no algorithm has a grid {suite.grid!r}: expected a "
                "grid named in backends/*.yaml"
            )
        if skipped := [a.name for a in registered if not has_grid(a)]:
            log.info("no grid %r, left out: %s", suite.grid, ", ".join(skipped))
    selected = [algorithm for algorithm in candidates if algorithm.name not in suite.exclude]
    if not selected:
        raise BenchError(
            f"suite {suite.name!r}: exclude leaves no algorithm to run (of "
            f"{', '.join(a.name for a in candidates)}): expected at least one not excluded"
        )
    if excluded := [a.name for a in candidates if a.name in suite.exclude]:
        log.info("excluded by the suite: %s", ", ".join(excluded))
    if idle := sorted(set(suite.exclude) - {a.name for a in candidates}):
        log.warning("suite %r: exclude names %s, not among its algorithms", suite.name, idle)
    if suite.algorithms is not None:
        for algorithm in selected:
            if not has_grid(algorithm):
                algorithm.check_grid(suite.grid)  # raises, naming the grids it has
    return selected


def measurable_modes(suite: Suite, algorithm: Algorithm) -> tuple[tuple[str, ...], str]:
    """The suite's modes the algorithm can be measured in here (batch needs a native batch
    call), or () and why none; imports the adapter, so call it for available libraries only."""
    try:
        batch = "batch" not in suite.modes or algorithm.supports_batch()
    except BackendUnavailable as exc:  # the library is installed but its adapter fails to import
        return (), str(exc)
    if batch:
        return suite.modes, ""
    log.info("%s has no batch call: mode batch skipped", algorithm.name)
    modes = tuple(mode for mode in suite.modes if mode != "batch")
    if modes:
        return modes, ""
    return (), (
        f"{algorithm.name} has no batch call, and the suite's only mode is batch: "
        "nothing to measure (add mode single to measure it)"
    )


def check_counts(suite: Suite, corpus_name: str, corpus: Corpus) -> int:
    """The number of queries a job searches; k and warm-up must fit the corpus."""
    return _check_fits(suite, corpus_name, len(corpus.train), len(corpus.queries))


def check_declared_counts(suite: Suite, corpus_name: str, spec: dict[str, Any]) -> None:
    """`check_counts` on the sizes a synthetic spec declares, so that a warm-up larger than
    its queries fails before the corpus is generated (minutes at 1M rows), not after."""
    if (size := declared_size(spec)) is not None:
        _check_fits(suite, corpus_name, *size)


def _check_fits(suite: Suite, corpus_name: str, n_train: int, n_available: int) -> int:
    if suite.k > n_train:
        raise BenchError(
            f"suite {suite.name!r}: k={suite.k} is larger than corpus "
            f"{corpus_name!r} ({n_train} vectors): expected k <= {n_train}"
        )
    n_queries = min(n_available, suite.query_limit or n_available)
    if suite.warmup > n_queries:
        raise BenchError(
            f"suite {suite.name!r}: warmup={suite.warmup} is larger than the {n_queries} "
            f"queries searched on corpus {corpus_name!r}: expected warmup <= {n_queries} "
            "(`bench run --warmup N`, or `warmup:` in the suite file)"
        )
    return n_queries


def plan_jobs(
    suite: Suite, corpora: dict[str, tuple[Corpus, dict[str, Any]]]
) -> tuple[list[Job], list[Unavailable]]:
    """Jobs for every (corpus, algorithm, build params); unavailable algorithms listed apart."""
    jobs: list[Job] = []
    unavailable: list[Unavailable] = []
    n_queries = {name: check_counts(suite, name, corpus) for name, (corpus, _) in corpora.items()}
    selected = select_algorithms(suite)
    for corpus_name, (corpus, spec) in corpora.items():
        for algorithm in selected:
            if not suite.runs_on(algorithm.name, corpus_name):
                continue
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
            if str(corpus.train.dtype) not in algorithm.dtypes:
                log.info(
                    "skipping %s on %s: it indexes %s vectors, the corpus holds %s",
                    algorithm.name,
                    corpus_name,
                    "/".join(algorithm.dtypes),
                    corpus.train.dtype,
                )
                continue
            modes, reason = measurable_modes(suite, algorithm)
            if not modes:  # a row, so that resume does not plan (and rebuild) it again
                unavailable.append(
                    Unavailable(
                        job_id(corpus, algorithm.name, "unavailable", reason),
                        algorithm,
                        corpus_name,
                        reason,
                    )
                )
                continue
            build_grid, query_grid = grids_for(suite, algorithm)
            for build_params in build_grid:
                settings = (  # the suite's modes, whatever the algorithm can measure
                    suite.k,
                    list(suite.modes),
                    suite.repetitions,
                    suite.warmup,
                    n_queries[corpus_name],
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
                        modes=list(modes),
                        repetitions=suite.repetitions,
                        warmup=suite.warmup,
                        query_limit=n_queries[corpus_name],
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
