"""Dataset names without a YAML: named public datasets and vector files given by path.

`spec_for` is the corpus registry's fallback (bench/corpora/registry.py): a catalogue name
becomes `{kind: named, name: ...}`, a file path a `kind: file` spec. `named_corpus` is the
`named` entry of the corpus kinds table: it gets the files (downloading or generating them on
first use) and hands a `kind: file` spec to the corpora package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.catalogue.entries import catalogue, named
from bench.catalogue.local import ensure, file_spec
from bench.corpora.corpus import Corpus
from bench.corpora.files import file_corpus
from bench.corpora.formats import SUFFIXES
from bench.corpora.registry import NamedSpec, kind_params
from bench.errors import BenchError

# TEXMEX and big-ann name a base file's queries and ground truth after it.
QUERY_NAMES = (("base", "query"), ("learn", "query"))
TRUTH_NAMES = (("base", "groundtruth"), ("base", "gt"))


def _sibling(path: Path, pairs: tuple[tuple[str, str], ...], suffixes: tuple[str, ...]):
    for old, new in pairs:
        if old in path.stem:
            for suffix in suffixes:
                candidate = path.with_name(path.stem.replace(old, new) + suffix)
                if candidate.is_file():
                    return candidate
    return None


def path_spec(path: Path) -> dict[str, Any]:
    """A `kind: file` spec for one file: HDF5 holds everything; other formats need a query
    file beside the base file, named as TEXMEX and big-ann name them (sift_base.fvecs ->
    sift_query.fvecs, base.fbin -> query.fbin), and take ground truth the same way if present."""
    fmt = SUFFIXES.get(path.suffix)
    if fmt is None:
        raise BenchError(
            f"{path}: unknown vector file suffix {path.suffix!r}, expected one of "
            f"{', '.join(SUFFIXES)}"
        )
    if fmt == "hdf5":
        return {"kind": "file", "format": "hdf5", "path": str(path.resolve())}
    queries = _sibling(path, QUERY_NAMES, (path.suffix,))
    if queries is None:
        raise BenchError(
            f"{path}: no query file beside it (expected e.g. "
            f"{path.stem.replace('base', 'query')}{path.suffix}); write a dataset YAML with "
            "`train`, `queries` and `metric` instead (datasets/example-file.yaml)"
        )
    spec = {
        "kind": "file",
        "format": fmt,
        "train": str(path.resolve()),
        "queries": str(queries.resolve()),
        "metric": "euclidean",
    }
    truth = _sibling(path, TRUTH_NAMES, (".ivecs", ".ibin", ".npy"))
    return spec | ({"ground_truth": str(truth.resolve())} if truth else {})


def spec_for(name: str) -> dict[str, Any] | None:
    if name in catalogue():
        return {"kind": "named", "name": name}
    path = Path(name).expanduser()
    return path_spec(path) if path.is_file() else None


def named_corpus(name: str, params: dict[str, Any]) -> Corpus:
    entry = named(kind_params(NamedSpec, params, f"dataset {name!r}").name or name)
    return file_corpus(name, file_spec(entry, ensure(entry)))
