"""The backend registry: `backends/<library>.yaml` files describing adapters and their grids.

Each YAML names one library (import name, pip distribution, install hint, adapter class) and
one or more algorithms, each with fixed build parameters and named grids (quick, standard, ...)
of build and query parameters. Grids are data: a mapping of parameter -> list of values is
expanded as a cartesian product; a list of such mappings is the union of their products.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import itertools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bench import paths
from bench.backends.base import Backend
from bench.config import read_yaml
from bench.errors import BackendUnavailable, BenchError

Params = dict[str, Any]


@dataclass(frozen=True)
class Algorithm:
    """One registered algorithm: a library's adapter with fixed parameters and its grids."""

    name: str
    library: str
    distribution: str
    install: str
    adapter: str  # "module:Class"
    metrics: tuple[str, ...]
    fixed: Params = field(default_factory=dict)
    grids: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def unavailable_reason(self) -> str | None:
        """Why the library cannot be imported here, without importing it; None if it can."""
        try:
            found = importlib.util.find_spec(self.library) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return None
        return (
            f"backend {self.name!r} is unavailable: module {self.library!r} is not "
            f"installed. Install it with: {self.install}"
        )

    def adapter_class(self) -> type[Backend]:
        return load_adapter(self.adapter, self.install)

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return ""

    def build_grid(self, grid: str) -> list[Params]:
        return [{**self.fixed, **params} for params in expand(self._grid(grid), "build")]

    def query_grid(self, grid: str) -> list[Params]:
        return expand(self._grid(grid), "query") or [{}]

    def _grid(self, grid: str) -> Any:
        if grid not in self.grids:
            raise BenchError(
                f"backend {self.name!r} has no grid {grid!r}: expected one of "
                f"{', '.join(self.grids)} (in {self.source})"
            )
        return self.grids[grid]


def load_adapter(adapter: str, install: str = "") -> type[Backend]:
    """Import the adapter class named "module:Class"."""
    module_name, _, class_name = adapter.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f". Install it with: {install}" if install else ""
        raise BackendUnavailable(f"adapter {adapter!r} is unavailable: {exc}{hint}") from exc
    if not hasattr(module, class_name):
        raise BenchError(f"adapter {adapter!r}: module {module_name!r} has no class {class_name!r}")
    return getattr(module, class_name)


def expand(grid: Any, part: str) -> list[Params]:
    """Expand the `part` ('build' or 'query') of a grid into a list of parameter dicts."""
    entries = grid if isinstance(grid, list) else [grid]
    out: list[Params] = []
    for entry in entries:
        spec = (entry or {}).get(part) or {}
        if not isinstance(spec, dict):
            raise BenchError(
                f"grid {part!r} must be a mapping of parameter -> values, got {spec!r}"
            )
        keys = list(spec)
        values = [v if isinstance(v, list) else [v] for v in spec.values()]
        out.extend(dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values))
    return out


def _algorithms_in(path: Path) -> list[Algorithm]:
    data = read_yaml(path, "backend")
    required = ("library", "adapter", "metrics", "algorithms")
    missing = [key for key in required if key not in data]
    if missing or not isinstance(data.get("algorithms"), dict):
        raise BenchError(
            f"backend file {path}: missing or malformed {', '.join(missing) or 'algorithms'}: "
            f"expected keys {', '.join(required)} with algorithms as a mapping"
        )
    found = []
    for name, spec in data["algorithms"].items():
        spec = spec or {}
        found.append(
            Algorithm(
                name=name,
                library=data["library"],
                distribution=data.get("distribution", data["library"]),
                install=data.get("install", f"pip install {data['library']}"),
                adapter=spec.get("adapter", data["adapter"]),
                metrics=tuple(spec.get("metrics", data["metrics"])),
                fixed=spec.get("fixed", {}),
                grids=spec.get("grids", {}),
                source=path,
            )
        )
    return found


@cache
def _registry(folders: tuple[Path, ...]) -> dict[str, Algorithm]:
    registry: dict[str, Algorithm] = {}
    for path in [p for folder in folders for p in sorted(folder.glob("*.yaml"))]:
        for algorithm in _algorithms_in(path):
            if algorithm.name in registry:
                raise BenchError(
                    f"algorithm {algorithm.name!r} is defined twice "
                    f"({registry[algorithm.name].source} and {path})"
                )
            registry[algorithm.name] = algorithm
    return registry


def algorithms() -> dict[str, Algorithm]:
    return _registry(paths.backends_dirs())


def get_algorithm(name: str) -> Algorithm:
    registry = algorithms()
    if name not in registry:
        raise BenchError(f"unknown backend {name!r}: expected one of {', '.join(registry)}")
    return registry[name]
