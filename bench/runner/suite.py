"""Suites: `suites/<name>.yaml` naming datasets, algorithms, a grid and the run's limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import paths
from bench.config import read_yaml
from bench.errors import BenchError

MODES = ("single", "batch")


@dataclass(frozen=True)
class Suite:
    name: str
    datasets: tuple[str, ...]
    algorithms: tuple[str, ...] | None  # None: every registered algorithm
    grid: str = "quick"
    k: int = 10
    modes: tuple[str, ...] = MODES
    repetitions: int = 3
    warmup: int = 100
    query_limit: int | None = None
    batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    build_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout_s: float = 600.0
    memory_limit_gb: float = 8.0
    min_time_s: float = 0.1  # each repetition times at least this long (whole passes)
    pin: bool = False  # `bench run --pin`: worker on one core, parent on the others
    description: str = ""
    images: dict[str, Any] | None = None  # the image stage (extractors, PCA sweep, t-SNE)

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 100:
            raise BenchError(f"suite {self.name!r}: k={self.k}: expected 1 <= k <= 100")
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise BenchError(f"suite {self.name!r}: unknown modes {bad}: expected {MODES}")
        for key in ("repetitions", "batch_threads", "build_threads"):
            if int(getattr(self, key)) < 1:
                raise BenchError(f"suite {self.name!r}: {key} must be >= 1")
        if self.timeout_s <= 0 or self.memory_limit_gb <= 0:
            raise BenchError(f"suite {self.name!r}: timeout_s and memory_limit_gb must be > 0")
        if not 0 <= self.min_time_s <= 60:
            raise BenchError(
                f"suite {self.name!r}: min_time_s={self.min_time_s}: expected 0 <= seconds <= 60"
            )


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
    return suite_from_dict(path.stem, read_yaml(path, "suite"))


def suite_from_dict(name: str, data: dict[str, Any]) -> Suite:
    data = dict(data)
    algorithms = data.pop("algorithms", "all")
    if "datasets" not in data or not data["datasets"]:
        raise BenchError(f"suite {name!r}: expected a non-empty list `datasets`")
    tuples = {key: tuple(data.pop(key)) for key in ("datasets", "modes") if key in data}
    try:
        return Suite(
            name=data.pop("name", name),
            **tuples,
            algorithms=None if algorithms == "all" else tuple(algorithms),
            **data,
        )
    except TypeError as exc:
        raise BenchError(f"suite {name!r}: unexpected setting: {exc}") from exc
