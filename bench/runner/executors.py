"""Executors run jobs and yield (job, outcome) as each finishes. Local runs one at a time,
so timed jobs never share the machine's cores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from bench.corpora.corpus import Corpus
from bench.groundtruth.cache import ground_truth
from bench.groundtruth.exact import GroundTruth
from bench.runner.isolation import Outcome, run_isolated
from bench.runner.job import Job

OnStart = Callable[[Job], None]


class Executor(Protocol):
    def ground_truth(self, corpus: Corpus, spec: dict[str, Any]) -> GroundTruth: ...

    def run(
        self, jobs: list[Job], on_start: OnStart | None = None
    ) -> Iterator[tuple[Job, Outcome]]: ...


class LocalExecutor:
    def ground_truth(self, corpus: Corpus, spec: dict[str, Any]) -> GroundTruth:
        return ground_truth(corpus)

    def run(
        self, jobs: list[Job], on_start: OnStart | None = None
    ) -> Iterator[tuple[Job, Outcome]]:
        for job in jobs:
            if on_start:
                on_start(job)
            yield job, run_isolated(job.to_dict())
