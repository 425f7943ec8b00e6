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
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainValidator

from bench import paths
from bench.backends.base import Backend
from bench.backends.loader import load_adapter
from bench.config import (
    Flag,
    Number,
    Text,
    bad_value,
    by_name,
    check_choice,
    check_flag,
    check_int,
    check_number,
    check_text,
    drop_repeats,
    key_path,
    load,
    one_of,
    read_yaml,
    schema,
    unknown_key,
)
from bench.corpora.corpus import METRICS
from bench.errors import BenchError

Params = dict[str, Any]
PARTS = ("build", "query")
ADAPTER = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def _adapter_name(value: Any) -> str:
    if not isinstance(value, str) or not ADAPTER.fullmatch(value):
        raise ValueError("expected 'module:Class', e.g. bench.backends.hnswlib:Hnswlib")
    return value


def _scalar(value: Any) -> Any:
    if not isinstance(value, int | float | str):  # bool is an int
        raise ValueError("expected a number, a string or true/false")
    return value


def _as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def _or_empty(value: Any) -> Any:
    return {} if value is None else value


AdapterName = Annotated[str, PlainValidator(_adapter_name)]
Metrics = tuple[one_of(METRICS), ...]  # type: ignore[misc]
# The vector types an adapter indexes (bytes are converted per block by the others).
DTYPES = ("float32", "uint8", "int8")
Dtypes = tuple[one_of(DTYPES), ...]  # type: ignore[misc]
Scalar = Annotated[Any, PlainValidator(_scalar)]


def _some(values: list[Any]) -> list[Any]:
    if not values:
        raise ValueError("expected at least one value")
    return values


# One value or a non-empty list of them (an empty list would run nothing, or a default).
Values = Annotated[list[Scalar], BeforeValidator(_as_list), AfterValidator(_some)]


@schema
class ParamSpec:
    """What a parameter accepts: `M: {type: int, min: 2}`, or just `seed: int`."""

    type: one_of(("int", "float", "bool", "str"))  # type: ignore[valid-type]
    min: Number | None = None
    max: Number | None = None
    choices: list[Scalar] | None = None
    required: Flag = False  # the adapter reads it without a default: every grid must give it

    def check(self, value: Any) -> None:
        """Raise ValueError("expected ...") unless `value` is acceptable."""
        if self.type == "int":
            check_int(value, self.min, self.max)
        elif self.type == "float":
            check_number(value, self.min, self.max)
        elif self.type == "bool":
            check_flag(value)
        else:
            check_text(value)
        if self.choices is not None:
            check_choice(value, self.choices)


def _spec_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


Declared = dict[str, Annotated[ParamSpec, BeforeValidator(_spec_shorthand)]]


@schema
class ParamDeclarations:
    """Every parameter an adapter reads, by part: a name not declared here is refused."""

    build: Annotated[Declared, BeforeValidator(_or_empty)] = field(default_factory=dict)
    query: Annotated[Declared, BeforeValidator(_or_empty)] = field(default_factory=dict)

    def merged(self, other: ParamDeclarations | None) -> ParamDeclarations:
        if other is None:
            return self
        return ParamDeclarations({**self.build, **other.build}, {**self.query, **other.query})


@schema
class GridPoints:
    """One mapping of parameter -> values for `build` and `query` (cartesian product)."""

    build: Annotated[dict[str, Values], BeforeValidator(_or_empty)] = field(default_factory=dict)
    query: Annotated[dict[str, Values], BeforeValidator(_or_empty)] = field(default_factory=dict)


def _grid_union(value: Any) -> Any:
    """A grid is one mapping or a non-empty list of them (their union); an empty grid
    (`{}` or nothing) is one point."""
    if value == []:
        raise ValueError("expected a mapping of build/query parameters, or a non-empty list")
    return [_or_empty(entry) for entry in _as_list(_or_empty(value))]


def _plain(union: tuple[GridPoints, ...]) -> list[Params]:
    """Back to plain data (what `expand` and inline grid overrides work on), normalised:
    a list of {"build": {param: [values]}, "query": {...}}, a value listed twice kept once."""
    return [
        {
            part: {
                param: drop_repeats(values, f"grid {part}.{param}")
                for param, values in getattr(points, part).items()
            }
            for part in PARTS
        }
        for points in union
    ]


# A grid as written (one mapping or a list of them), checked, then plain normalised data.
Grid = Annotated[tuple[GridPoints, ...], BeforeValidator(_grid_union), AfterValidator(_plain)]


@schema
class AlgorithmSpec:
    adapter: AdapterName | None = None
    metrics: Metrics | None = None
    fixed: Annotated[dict[str, Scalar], BeforeValidator(_or_empty)] = field(default_factory=dict)
    params: ParamDeclarations | None = None
    grids: Annotated[dict[str, Grid], BeforeValidator(_or_empty)] = field(default_factory=dict)
    dtypes: Dtypes | None = None


@schema
class BackendFile:
    """One `backends/<library>.yaml`."""

    library: Text
    adapter: AdapterName
    metrics: Metrics
    algorithms: dict[str, Annotated[AlgorithmSpec, BeforeValidator(_or_empty)]]
    distribution: Text | None = None
    install: Text | None = None
    params: ParamDeclarations | None = None


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
    dtypes: tuple[str, ...] = DTYPES
    grids: dict[str, list[Params]] = field(default_factory=dict)
    source: Path | None = None
    params: ParamDeclarations | None = None  # None: the file declares no parameters

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

    def supports_batch(self) -> bool:
        """Whether the adapter has a native batch call (imports the adapter and its library)."""
        return bool(self.adapter_class().supports_batch)

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return ""

    def build_grid(self, grid: str) -> list[Params]:
        return [{**self.fixed, **params} for params in expand(self._grid(grid), "build")]

    def query_grid(self, grid: str) -> list[Params]:
        return expand(self._grid(grid), "query") or [{}]

    def check_grid(self, grid: str) -> None:
        """Raise a BenchError unless this algorithm has the named grid."""
        self._grid(grid)

    def check_params(self, grid: list[Params], at: tuple[Any, ...]) -> None:
        """Raise a ValueError, located at `at`, unless every parameter of `grid` is declared
        and fits, and every required one is given (by the grid or `fixed`)."""
        check_params(grid, self.params, self.fixed, at)

    def _grid(self, grid: str) -> list[Params]:
        if grid not in self.grids:
            raise BenchError(
                f"backend {self.name!r} has no grid {grid!r}: expected one of "
                f"{', '.join(self.grids)} (in {self.source})"
            )
        return self.grids[grid]


def expand(grid: Any, part: str) -> list[Params]:
    """Expand the `part` ('build' or 'query') of a grid into a list of parameter dicts."""
    entries = grid if isinstance(grid, list) else [grid]
    out: list[Params] = []
    for entry in entries:
        spec = (entry or {}).get(part) or {}
        values = [v if isinstance(v, list) else [v] for v in spec.values()]
        out.extend(dict(zip(spec, combo, strict=True)) for combo in itertools.product(*values))
    return out


def check_params(
    grid: list[Params], declared: ParamDeclarations | None, fixed: Params, at: tuple[Any, ...]
) -> None:
    """Every parameter of a (checked, plain) grid is declared and every value fits its type
    and range, and every required parameter is given (by the grid or `fixed`), so a misspelt
    name, `M: 8.7` or a grid without M fails here, not in a worker. `at` locates the grid in
    its file: the ValueError's message starts there."""
    if declared is None:  # a file without declarations (e.g. a quick local experiment)
        return
    for index, entry in enumerate(grid):
        for part in PARTS:
            place = (*at, *((index,) if len(grid) > 1 else ()), part)
            accepted: Declared = getattr(declared, part)
            _check_values(place, entry[part], accepted, listed=True)
            needed = [name for name, spec in accepted.items() if spec.required]
            given = {*entry[part], *(fixed if part == "build" else ())}
            if missing := [name for name in needed if name not in given]:
                raise ValueError(
                    f"{key_path(place)}: missing parameter {missing[0]!r}: expected values for "
                    f"{', '.join(needed)} (the adapter has no default for them)"
                )


def _check_values(
    at: tuple[Any, ...], values: dict[str, Any], accepted: Declared, listed: bool
) -> None:
    for param, items in values.items():
        if param not in accepted:
            raise ValueError(unknown_key((*at, param), accepted))
        for index, value in enumerate(items if listed else [items]):
            try:
                accepted[param].check(value)
            except ValueError as exc:
                loc = (*at, param, index) if listed else (*at, param)
                raise ValueError(bad_value(loc, value, str(exc))) from None


def _algorithms_in(path: Path) -> list[Algorithm]:
    where = f"backend file {path}"
    data = load(BackendFile, read_yaml(path, "backend"), where)
    found = []
    for name, spec in data.algorithms.items():
        declared = data.params.merged(spec.params) if data.params else spec.params
        try:
            if declared is not None:
                _check_values(("algorithms", name, "fixed"), spec.fixed, declared.build, False)
            for grid, union in spec.grids.items():
                check_params(union, declared, spec.fixed, ("algorithms", name, "grids", grid))
        except ValueError as exc:
            raise BenchError(f"{where}: {exc}") from None
        found.append(
            Algorithm(
                name=name,
                library=data.library,
                distribution=data.distribution or data.library,
                install=data.install or f"pip install {data.library}",
                adapter=spec.adapter or data.adapter,
                metrics=tuple(spec.metrics or data.metrics),
                dtypes=tuple(spec.dtypes or DTYPES),
                fixed=dict(spec.fixed),
                grids=dict(spec.grids),
                source=path,
                params=declared,
            )
        )
    return found


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise BenchError(
            f"backend folder {folder} does not exist (BENCH_EXTRA_BACKENDS="
            f"{os.environ.get('BENCH_EXTRA_BACKENDS', '')!r}): expected folders of backend "
            f"YAML files, separated by {os.pathsep!r}"
        )
    return sorted(folder.glob("*.yaml"))


@cache
def _registry(folders: tuple[Path, ...]) -> dict[str, Algorithm]:
    files = [path for folder in folders for path in _yaml_files(folder)]
    return by_name((algorithm for path in files for algorithm in _algorithms_in(path)), "algorithm")


def algorithms() -> dict[str, Algorithm]:
    return _registry(paths.backends_dirs())


def get_algorithm(name: str) -> Algorithm:
    registry = algorithms()
    if name not in registry:
        raise BenchError(f"unknown backend {name!r}: expected one of {', '.join(registry)}")
    return registry[name]
