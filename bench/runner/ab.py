"""`bench ab`: two variants of the harness measured on one machine in one session.

A variant is a Python interpreter (another virtual environment: another version of a library,
or another checkout of the harness installed there), a backends folder, or a grid name. Both
variants plan the same suite; their jobs are paired in plan order and must have the same
shape. For every job pair, rounds of four workers run in ABBA order, each worker building the
index and measuring every point once (its own shuffled order, `min_time_s` per point), so
slow drift of the machine hits A and B alike. Every AB and BA neighbour pair gives one
paired ratio B/A per point. A job runs at least `min_rounds` rounds and then more, up to
`max_rounds`, until its points' intervals are narrow enough to judge (the caller's `settled`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from bench.corpora.corpus import Corpus
from bench.errors import BenchError
from bench.runner.isolation import run_isolated
from bench.runner.job import Job
from bench.runner.plan import params_label, plan_jobs
from bench.runner.suite import Suite

ORDER = "ABBA"  # one round; neighbours (0, 1) and (2, 3) are the pairs


@dataclass(frozen=True)
class Variant:
    name: str  # A or B
    python: str = ""  # interpreter for its workers; empty: this one
    backends: Path | None = None  # backends folder replacing backends/; None: the project's
    grid: str | None = None  # grid name; None: the suite's

    def describe(self) -> str:
        parts = [
            f"python {self.python}" if self.python else "",
            f"backends {self.backends}" if self.backends else "",
            f"grid {self.grid}" if self.grid else "",
        ]
        return ", ".join(p for p in parts if p) or "this harness as it is"


@contextmanager
def backends_folder(folder: Path | None) -> Iterator[None]:
    """Backends read from `folder` (a variant's --backends) inside the block."""
    if folder is None:
        yield
        return
    if not folder.is_dir():
        raise BenchError(f"backends folder {folder}: not a directory: expected backend YAMLs")
    saved = os.environ.get("BENCH_BACKENDS")
    os.environ["BENCH_BACKENDS"] = str(folder)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("BENCH_BACKENDS", None)
        else:
            os.environ["BENCH_BACKENDS"] = saved


def plan_variant(
    suite: Suite, variant: Variant, corpora: dict[str, tuple[Corpus, dict[str, Any]]]
) -> list[Job]:
    """The variant's jobs, each measuring every point once per worker."""
    if variant.python and not Path(variant.python).exists():
        raise BenchError(f"--python-{variant.name.lower()} {variant.python}: no such interpreter")
    with backends_folder(variant.backends):  # a Suite checks its algorithms' names
        chosen = replace(suite, grid=variant.grid or suite.grid, repetitions=1)
        jobs, _ = plan_jobs(chosen, corpora)
    return [replace(job, python=variant.python) for job in jobs]


def pair_jobs(jobs_a: list[Job], jobs_b: list[Job]) -> list[tuple[Job, Job]]:
    """Jobs of A and B in plan order; both plans must have the same shape and a job."""
    if not jobs_a and not jobs_b:
        raise BenchError(
            "the suite plans no job to measure here (its algorithms are unavailable, or "
            "skip its corpora's metric or dtype): expected at least one job on both sides"
        )
    if len(jobs_a) != len(jobs_b):
        raise BenchError(
            f"variants plan {len(jobs_a)} and {len(jobs_b)} jobs: expected the same jobs "
            "(same algorithms and grid sizes) on both sides"
        )
    for a, b in zip(jobs_a, jobs_b, strict=True):
        shape_a = (a.corpus, a.algorithm, len(a.query_grid), a.modes)
        shape_b = (b.corpus, b.algorithm, len(b.query_grid), b.modes)
        if shape_a != shape_b:
            raise BenchError(
                f"job {a.algorithm} on {a.corpus}: variant A measures {shape_a[1:]}, B "
                f"{shape_b[1:]}: expected the same algorithm, number of query settings, modes"
            )
    return list(zip(jobs_a, jobs_b, strict=True))


def round_order(round_: int) -> list[tuple[int, int, str]]:
    """(round, slot, variant) of the four workers of one round, in running order."""
    return [(round_, slot, name) for slot, name in enumerate(ORDER)]


def pair_id(round_: int, slot: int) -> int:
    return 2 * round_ + slot // 2


def run_ab(
    pairs: list[tuple[Job, Job]],
    min_rounds: int,
    max_rounds: int,
    settled: Callable[[pd.DataFrame], bool],
    on_start: Callable[[Job, int, str], None] | None = None,
) -> pd.DataFrame:
    """Run every job pair; one line per (worker, point) measured, or per failed worker."""
    found: list[dict[str, Any]] = []
    for index, jobs in enumerate(pairs):
        mine: list[dict[str, Any]] = []
        for round_ in range(max_rounds):
            for _, slot, name in round_order(round_):
                job = jobs[0] if name == "A" else jobs[1]
                if on_start:
                    on_start(job, round_, name)
                mine += _worker_lines(job, index, round_, slot, name)
            if round_ + 1 >= min_rounds and settled(pd.DataFrame(mine)):
                break
        found += mine
    return pd.DataFrame(found)


def _worker_lines(job: Job, index: int, round_: int, slot: int, name: str) -> list[dict[str, Any]]:
    """One worker of a job pair: a line per point it measured, or one for its failure."""
    outcome = run_isolated(job.to_dict())
    base = {
        "job": index,
        "corpus": job.corpus,
        "algorithm": job.algorithm,
        "round": round_,
        "slot": slot,
        "pair": pair_id(round_, slot),
        "variant": name,
    }
    lines = [
        {
            **base,
            "point": job.query_grid.index(record["query_params"]),
            "mode": record["mode"],
            "label": params_label(job.build_params, record["query_params"]),
            "qps": record["qps"],
            "recall": record["recall"],
            "status": "ok",
            "error": "",
        }
        for record in outcome.records
        if record["event"] == "observation"
    ]
    if outcome.status != "ok":
        lines.append(
            {
                **base,
                "point": -1,
                "mode": "",
                "label": params_label(job.build_params, {}),
                "qps": None,
                "recall": None,
                "status": outcome.status,
                "error": outcome.error,
            }
        )
    return lines
