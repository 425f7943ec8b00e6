"""Suites: `suites/<name>.yaml` naming datasets, algorithms, a grid and the run's limits.

A suite is validated as a whole when it is read (types, ranges, unknown keys), before any
corpus is generated; what needs the corpora (k against the corpus size, warm-up against the
query count) is checked when the jobs are planned, before anything is measured.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, PlainValidator, ValidationInfo, model_validator

from bench import paths
from bench.backends.registry import Grid, algorithms
from bench.config import (
    Flag,
    NonNegativeInt,
    PositiveInt,
    PositiveNumber,
    Text,
    check_choice,
    check_text,
    drop_repeats,
    integer,
    load,
    number,
    read_yaml,
    schema,
)
from bench.errors import BenchError

log = logging.getLogger(__name__)

MODES = ("single", "batch")
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def check_name(value: Any) -> str:
    """A suite name is a folder name under --results: it must not climb out of it."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            "expected a name of letters, digits, '.', '_' and '-' (not starting with '.', "
            "no '..'): it names the run folder under --results"
        )
    return value


def _unique(values: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
    return tuple(drop_repeats(values, f"suite {info.field_name}"))


def _listed(check: Any) -> Any:
    """A non-empty list of checked items, duplicates dropped with a warning."""
    return Annotated[
        tuple[Annotated[str, PlainValidator(check)], ...],
        AfterValidator(_non_empty),
        AfterValidator(_unique),
    ]


def _non_empty(values: tuple[Any, ...]) -> tuple[Any, ...]:
    if not values:
        raise ValueError("expected a non-empty list")
    return values


def _algorithms(value: Any, info: ValidationInfo) -> tuple[str, ...] | None:
    """`all` (None: every registered algorithm) or a non-empty list of names."""
    if value == "all" or value is None:
        return None
    if not isinstance(value, list | tuple):
        raise ValueError("expected `all` or a list of algorithm names")
    names = tuple(_registered(name) for name in value)
    return _unique(_non_empty(names), info)


def _registered(value: Any) -> str:
    """A registered algorithm's name, checked when the suite is read so that the error names
    the suite file and the key."""
    name = check_text(value)
    registry = algorithms()
    if name not in registry:
        raise ValueError(f"unknown algorithm {name!r}: expected one of {', '.join(registry)}")
    return name


def _query_limit(value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ValueError("expected a positive integer, or null for every query")
    return value


def _cpus() -> int:
    return min(os.cpu_count() or 1, MAX_THREADS)


# Threads a job may use: far above any machine's cores today (the largest servers have a few
# hundred hardware threads), so a suite written for a big machine still loads on a laptop,
# yet a typo such as 100000000 is refused here rather than after the job was measured.
MAX_THREADS = 4096
Threads = integer(1, MAX_THREADS)
Registered = Annotated[str, PlainValidator(_registered)]


@schema
class Suite:
    """A suite's settings. `query_limit`: at most this many queries (null: all of them)."""

    name: Annotated[str, PlainValidator(check_name)]
    datasets: _listed(check_text)  # type: ignore[valid-type]
    algorithms: Annotated[tuple[str, ...] | None, PlainValidator(_algorithms)]
    grid: Text = "quick"
    k: integer(1, 100) = 10  # type: ignore[valid-type]
    modes: _listed(lambda mode: check_choice(mode, MODES)) = MODES  # type: ignore[valid-type]
    repetitions: PositiveInt = 3
    warmup: NonNegativeInt = 100
    query_limit: Annotated[int | None, PlainValidator(_query_limit)] = None
    batch_threads: Threads = field(default_factory=_cpus)  # type: ignore[valid-type]
    build_threads: Threads = field(default_factory=_cpus)  # type: ignore[valid-type]
    timeout_s: PositiveNumber = 600.0
    memory_limit_gb: PositiveNumber = 8.0
    min_time_s: number(0, 60) = 0.1  # type: ignore[valid-type]  # seconds per repetition
    pin: Flag = False  # `bench run --pin`: worker on one core, parent on the others
    description: str = ""
    images: dict[str, Any] | None = None  # the image stage (extractors, PCA sweep, t-SNE)
    grids: dict[Registered, Grid] = field(default_factory=dict)  # inline grids by algorithm
    exclude: Annotated[  # left out of `algorithms` (e.g. variants meant for huge corpora)
        tuple[Registered, ...], AfterValidator(_unique)
    ] = ()
    # dataset -> the only algorithms run on it (e.g. a small corpus that is only a second size
    # for one family's fitted exponents)
    only: dict[Text, tuple[Registered, ...]] = field(default_factory=dict)

    @model_validator(mode="after")
    def _grids_fit_their_algorithms(self) -> Suite:
        """Inline grids give declared parameters, in range, and every required one: a grid
        without M would otherwise become failed rows (KeyError: 'M') after the corpus."""
        registry = algorithms()
        for name, grid in self.grids.items():
            registry[name].check_params(grid, ("grids", name))
        return self

    @model_validator(mode="after")
    def _only_names_listed_datasets(self) -> Suite:
        if stray := [name for name in self.only if name not in self.datasets]:
            raise ValueError(
                f"only: {stray[0]!r} is not among the suite's datasets: expected one of "
                f"{', '.join(self.datasets)}"
            )
        listed = self.algorithms or ()  # `all` (None): what it holds depends on the grids
        for dataset, names in self.only.items():
            if listed and (stray := [name for name in names if name not in listed]):
                raise ValueError(
                    f"only.{dataset}: {stray[0]!r} is not among the suite's algorithms: "
                    f"expected some of {', '.join(listed)}"
                )
        return self

    def runs_on(self, algorithm: str, dataset: str) -> bool:
        return dataset not in self.only or algorithm in self.only[dataset]


def suite_names() -> list[str]:
    return sorted(p.stem for p in paths.suites_dir().glob("*.yaml"))


def load_suite(name_or_path: str) -> Suite:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = paths.suites_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            raise BenchError(
                f"unknown suite {name_or_path!r}: expected one of "
                f"{', '.join(suite_names())} or a path to a suite YAML"
            )
    return suite_from_dict(path.stem, read_yaml(path, "suite"), f"suite file {path}")


def suite_from_dict(name: str, data: dict[str, Any], where: str | None = None) -> Suite:
    """A Suite from a parsed YAML mapping; `name` (the file's stem) unless it sets `name`."""
    return load(Suite, {"name": name, "algorithms": "all", **data}, where or f"suite {name!r}")
