"""A job: one (corpus, algorithm, build parameters) with its query grid, as the worker gets it.

Apart from the planning (`bench.runner.plan`), so that the worker, which only reads a job,
does not import the suite and backend schemas.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
