"""Runs without a suite file, and per-algorithm grid overrides (`--set`, inline `grids`).

`adhoc_suite` builds the existing Suite from command-line choices; `apply_sets` turns
`--set hnswlib.M=16,32` into an inline grid for that algorithm: its named grid with the
parameter's values replaced (in the build or query part, wherever the grid has it).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bench.backends.registry import algorithms, expand, get_algorithm
from bench.config import parse_yaml
from bench.errors import BenchError
from bench.paths import names_a_path
from bench.runner.suite import Suite

SET_FORM = "expected ALGORITHM.PARAM=V1,V2,... of comma-separated scalars (e.g. hnswlib.M=16,32)"


def adhoc_suite(dataset: str, algorithms: tuple[str, ...] | None, **settings: Any) -> Suite:
    """A one-dataset suite named after the dataset (a path's stem), default settings."""
    path = Path(dataset)
    if names_a_path(dataset) and path.is_dir():
        raise BenchError(
            f"--dataset {dataset} is a folder: expected a dataset name (`bench datasets`), a "
            "dataset YAML or a vector file (.hdf5, .fvecs, .bvecs, .fbin, .u8bin, .npy, ...)"
        )
    # A path names the run folder by its stem, made a valid suite name (`my data.npy`: my-data)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).lstrip(".") if path.suffix else dataset
    return Suite(name=name or "dataset", datasets=(dataset,), algorithms=algorithms, **settings)


def algorithm_names(text: str) -> tuple[str, ...]:
    """`--algorithms hnswlib,annoy`: registered names, none empty (`""` is not `all`)."""
    names = tuple(name.strip() for name in text.split(","))
    registry = algorithms()
    for name in names:
        if name not in registry:
            problem = "an empty name" if not name else f"unknown algorithm {name!r}"
            raise BenchError(
                f"--algorithms {text!r}: {problem}: expected comma-separated names among "
                f"{', '.join(registry)}"
            )
    return names


def _scalar(text: str, value: str) -> Any:
    try:
        parsed = parse_yaml(value)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, int | float | str):  # bool is an int
        raise BenchError(f"--set {text!r}: value {value!r} is not a scalar: {SET_FORM}")
    return parsed


def _parse_set(text: str) -> tuple[str, str, list[Any]]:
    target, sep, values = text.partition("=")
    algorithm, dot, param = target.partition(".")
    if not (sep and dot and algorithm and param and values):
        raise BenchError(f"--set {text!r}: {SET_FORM}")
    return algorithm, param, [_scalar(text, value) for value in values.split(",")]


def _check_runs(suite: Suite, algorithm: str, text: str) -> None:
    """A --set for an algorithm the run leaves out would silently change nothing."""
    if algorithm not in algorithms():
        raise BenchError(
            f"--set {text!r}: unknown algorithm {algorithm!r}: expected one of "
            f"{', '.join(algorithms())}"
        )
    listed = suite.algorithms is None or algorithm in suite.algorithms
    if listed and algorithm not in suite.exclude:
        return
    run = [name for name in suite.algorithms or algorithms() if name not in suite.exclude]
    raise BenchError(
        f"--set {text!r}: {algorithm!r} is not among the algorithms this run measures: "
        f"expected one of {', '.join(run)} (or add it with --algorithms)"
    )


def inline_grid(suite: Suite, algorithm: str) -> Any:
    """The grid an algorithm runs in this suite: the suite's inline one, else the named one."""
    if algorithm in suite.grids:
        return suite.grids[algorithm]
    return get_algorithm(algorithm)._grid(suite.grid)


def apply_sets(suite: Suite, sets: tuple[str, ...]) -> Suite:
    grids = dict(suite.grids)
    for text in sets:
        algorithm, param, values = _parse_set(text)
        _check_runs(suite, algorithm, text)
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
        try:  # here, so that the message names the --set rather than the Suite
            get_algorithm(algorithm).check_params(entries, ("grids", algorithm))
        except ValueError as exc:
            raise BenchError(f"--set {text!r}: {exc}") from None
        grids[algorithm] = grid
    return replace(suite, grids=grids)


def grids_for(suite: Suite, algorithm: Any) -> tuple[list[dict], list[dict]]:
    """(build grid, query grid) of an algorithm in this suite, inline grids first."""
    if algorithm.name not in suite.grids:
        return algorithm.build_grid(suite.grid), algorithm.query_grid(suite.grid)
    grid = suite.grids[algorithm.name]
    builds = [{**algorithm.fixed, **params} for params in expand(grid, "build")]
    return builds or [dict(algorithm.fixed)], expand(grid, "query") or [{}]
