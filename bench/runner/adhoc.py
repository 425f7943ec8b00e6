"""Runs without a suite file, and per-algorithm grid overrides (`--set`, inline `grids`).

`adhoc_suite` builds the existing Suite from command-line choices; `apply_sets` turns
`--set hnswlib.M=16,32` into an inline grid for that algorithm: its named grid with the
parameter's values replaced (in the build or query part, wherever the grid has it).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bench.backends.registry import expand, get_algorithm
from bench.errors import BenchError
from bench.runner.suite import Suite


def adhoc_suite(dataset: str, algorithms: tuple[str, ...] | None, **settings: Any) -> Suite:
    """A one-dataset suite named after the dataset (a path's stem), default settings."""
    name = Path(dataset).stem if Path(dataset).suffix else dataset
    return Suite(name=name, datasets=(dataset,), algorithms=algorithms, **settings)


def _parse_set(text: str) -> tuple[str, str, list[Any]]:
    target, sep, values = text.partition("=")
    algorithm, dot, param = target.partition(".")
    if not (sep and dot and algorithm and param and values):
        raise BenchError(
            f"--set {text!r}: expected ALGORITHM.PARAM=V1,V2,... (e.g. hnswlib.M=16,32)"
        )
    return algorithm, param, [yaml.safe_load(v) for v in values.split(",")]


def inline_grid(suite: Suite, algorithm: str) -> Any:
    """The grid an algorithm runs in this suite: the suite's inline one, else the named one."""
    if algorithm in suite.grids:
        return suite.grids[algorithm]
    return get_algorithm(algorithm)._grid(suite.grid)


def apply_sets(suite: Suite, sets: tuple[str, ...]) -> Suite:
    grids = dict(suite.grids)
    for text in sets:
        algorithm, param, values = _parse_set(text)
        grid = copy.deepcopy(grids.get(algorithm, inline_grid(suite, algorithm)))
        entries = grid if isinstance(grid, list) else [grid]
        fixed = get_algorithm(algorithm).fixed
        known = {p: part for e in entries for part in ("build", "query") for p in e.get(part) or {}}
        part = known.get(param) or ("build" if param in fixed else None)
        if part is None:
            raise BenchError(
                f"--set {text!r}: {algorithm} has no parameter {param!r} in grid "
                f"{suite.grid!r}: expected one of {', '.join(sorted({*known, *fixed}))}"
            )
        for entry in entries:
            entry[part] = {**(entry.get(part) or {}), param: values}
        grids[algorithm] = grid
    return replace(suite, grids=grids)


def grids_for(suite: Suite, algorithm: Any) -> tuple[list[dict], list[dict]]:
    """(build grid, query grid) of an algorithm in this suite, inline grids first."""
    if algorithm.name not in suite.grids:
        return algorithm.build_grid(suite.grid), algorithm.query_grid(suite.grid)
    grid = suite.grids[algorithm.name]
    builds = [{**algorithm.fixed, **params} for params in expand(grid, "build")]
    return builds or [dict(algorithm.fixed)], expand(grid, "query") or [{}]
