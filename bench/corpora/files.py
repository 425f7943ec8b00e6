"""Corpora read from vector files (ann-benchmarks HDF5, TEXMEX, big-ann-benchmarks, .npy).

A dataset YAML of `kind: file` names the files; `load_file_corpus` turns it into a Corpus
(memory-mapped, never copied whole into RAM) and, when the files carry ground truth, returns
it too. Two shapes of spec:

    format: hdf5                  # one ann-benchmarks file: train, test, neighbors, metric
    path: data/glove-25-angular.hdf5

    format: fvecs                 # or fbin, u8bin, bvecs, npy, ... (default: from the suffix)
    train: data/sift_base.fvecs
    queries: data/sift_query.fvecs
    ground_truth: data/sift_groundtruth.ivecs   # optional: ivecs, ibin or npy
    metric: euclidean             # euclidean, angular or inner_product

Both take `limit` (use the first N train rows; the file's ground truth is then dropped) and
`query_limit` (use the first N queries; their ground-truth rows stay valid).

Vectors reach the Corpus as float32, unit-normalised for the angular metric (the harness'
convention). A float32 file that needs neither is mapped in place; anything else (other
dtypes, the strided `*vecs` layout, angular) is converted once, in blocks, into a `.npy`
under the cache, keyed by the file's content fingerprint.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import paths
from bench.corpora.corpus import Corpus, FileGroundTruth
from bench.corpora.formats import (
    VectorSource,
    content_fingerprint,
    format_of,
    open_vectors,
    read_ann_hdf5,
    read_ground_truth,
    to_float32_npy,
)
from bench.corpora.registry import FileSpec, kind_params
from bench.errors import BenchError
from bench.storage import cache_path, fingerprint

log = logging.getLogger(__name__)

FILE_CORPUS_VERSION = 1


def resolve_path(value: Any, what: str) -> Path:
    """An absolute path, or one relative to the project root; the file must exist."""
    if not isinstance(value, str | Path) or not str(value):
        raise BenchError(f"{what}: expected a file path, got {value!r}")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = paths.PROJECT_ROOT / path
    if not path.is_file():
        raise BenchError(f"{what}: file not found: {path}")
    return path


def _rows(source: VectorSource, limit: int | None, key: str, what: str) -> int:
    if limit is not None and limit > len(source):
        raise BenchError(
            f"{what}: {key}={limit}, but {source.path} holds only {len(source)} rows: "
            f"expected {key} <= {len(source)}"
        )
    return len(source) if limit is None else limit


def _matrix(source: VectorSource, rows: int, metric: str, content: str, role: str) -> np.ndarray:
    """The first `rows` rows as a float32 matrix: the file itself if it can be, else a cache."""
    normalize = metric == "angular"
    if not normalize:
        view = source.float32_view(rows)
        if view is not None:
            return view
    key = fingerprint("file-vectors", FILE_CORPUS_VERSION, content, role, rows, normalize)
    return to_float32_npy(source, cache_path("files", key, ".npy"), rows, normalize)


def _checked_truth(
    ids: np.ndarray,
    distances: np.ndarray | None,
    source: Path,
    content: str,
    n_queries_in_file: int,
    n_queries: int,
    n_train: int,
) -> FileGroundTruth:
    """Ground truth whose rows match the file's queries and whose ids index the train set."""
    if ids.ndim != 2 or len(ids) != n_queries_in_file:
        raise BenchError(
            f"{source}: ground truth has shape {ids.shape}, expected one row per query "
            f"({n_queries_in_file}, k)"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= n_train):
        raise BenchError(
            f"{source}: ground-truth ids span [{ids.min()}, {ids.max()}], expected ids of "
            f"train rows in [0, {n_train})"
        )
    return FileGroundTruth(
        ids=np.ascontiguousarray(ids[:n_queries]),
        distances=None if distances is None else np.ascontiguousarray(distances[:n_queries]),
        source=str(source),
        fingerprint=content,
    )


def _drop_truth_note(limit: int, n_train: int) -> str:
    return (
        f"dropped: limit={limit} keeps {limit} of the file's {n_train} train rows, so its "
        "neighbours are not the neighbours within the kept rows; ground truth will be "
        "computed exactly instead"
    )


def _hdf5_corpus(name: str, spec: FileSpec) -> tuple[Corpus, FileGroundTruth | None]:
    what = f"dataset {name!r}"
    path = resolve_path(spec.path, f"{what} path")
    limit, query_limit = spec.limit, spec.query_limit
    content = content_fingerprint(path)
    with read_ann_hdf5(path) as data:
        metric = spec.metric or data.metric
        if metric != data.metric and not spec.override_distance:
            raise BenchError(
                f"{what}: metric {metric!r}, but {path} has distance "
                f"{data.distance!r}: expected metric {data.metric!r} (or no metric key)"
            )
        n_train, n_test = len(data.train), len(data.test)
        rows = _rows(data.train, limit, "limit", what)
        n_queries = _rows(data.test, query_limit, "query_limit", what)
        train = _matrix(data.train, rows, metric, content, "train")
        queries = _matrix(data.test, n_queries, metric, content, "test")
        truth, note = None, "none in the file"
        if data.neighbors is not None and rows < n_train:
            note = _drop_truth_note(rows, n_train)
        elif data.neighbors is not None:
            truth = _checked_truth(
                data.neighbors, data.distances, path, content, n_test, n_queries, n_train
            )
            note = f"from the file (k={truth.k})"
    info = {
        "kind": "file",
        "format": "hdf5",
        "path": str(path),
        "distance": data.distance,
        "limit": limit,
        "query_limit": query_limit,
        "ground_truth": note,
    }
    key = fingerprint("file", FILE_CORPUS_VERSION, content, metric, rows, n_queries)
    return _corpus(name, train, queries, metric, key, info), truth


def _split_corpus(name: str, spec: FileSpec) -> tuple[Corpus, FileGroundTruth | None]:
    what = f"dataset {name!r}"
    if spec.metric is None:
        raise BenchError(f"{what}: no metric, expected metric: euclidean, angular or inner_product")
    metric, fmt = spec.metric, spec.format
    limit, query_limit = spec.limit, spec.query_limit
    train_path = resolve_path(spec.train, f"{what} train")
    query_path = resolve_path(spec.queries, f"{what} queries")
    contents = [content_fingerprint(train_path), content_fingerprint(query_path)]
    with open_vectors(train_path, fmt) as train_src, open_vectors(query_path, fmt) as query_src:
        rows = _rows(train_src, limit, "limit", what)
        n_queries = _rows(query_src, query_limit, "query_limit", what)
        n_train, n_queries_in_file = len(train_src), len(query_src)
        train = _matrix(train_src, rows, metric, contents[0], "train")
        queries = _matrix(query_src, n_queries, metric, contents[1], "queries")
    truth, note = None, "none given"
    if spec.ground_truth is not None:
        truth_path = resolve_path(spec.ground_truth, f"{what} ground_truth")
        contents.append(content_fingerprint(truth_path))
        if rows < n_train:
            note = _drop_truth_note(rows, n_train)
        else:
            ids, distances = read_ground_truth(truth_path)
            truth = _checked_truth(
                ids, distances, truth_path, contents[2], n_queries_in_file, n_queries, n_train
            )
            note = f"from {truth_path.name} (k={truth.k})"
    info = {
        "kind": "file",
        "format": fmt or format_of(train_path),
        "train": str(train_path),
        "queries": str(query_path),
        "limit": limit,
        "query_limit": query_limit,
        "ground_truth": note,
    }
    key = fingerprint("file", FILE_CORPUS_VERSION, contents[:2], metric, rows, n_queries)
    return _corpus(name, train, queries, metric, key, info), truth


def _corpus(
    name: str,
    train: np.ndarray,
    queries: np.ndarray,
    metric: str,
    key: str,
    info: dict[str, Any],
) -> Corpus:
    if info["ground_truth"].startswith("dropped"):
        log.warning("dataset %r: file ground truth %s", name, info["ground_truth"])
    return Corpus(
        name=name, train=train, queries=queries, metric=metric, fingerprint=key, info=info
    )


def load_file_corpus(name: str, spec: dict[str, Any]) -> tuple[Corpus, FileGroundTruth | None]:
    """The corpus a `kind: file` spec describes, and the file's ground truth if usable.

    The ground truth is None when the files have none, or when `limit` truncates the train
    set (the file's neighbours may then lie outside the kept rows); `corpus.info
    ["ground_truth"]` says which. The fingerprint derives from the files' content
    fingerprints (not their paths) and the rows used. `spec` is checked against the kind's
    schema (a dataset YAML's `kind` and `description` aside), so direct callers (the
    catalogue, tests) get the same messages as a dataset file.
    """
    checked = kind_params(FileSpec, spec, f"dataset {name!r}")
    return (_hdf5_corpus if checked.hdf5 else _split_corpus)(name, checked)


def file_corpus(name: str, spec: dict[str, Any]) -> Corpus:
    """The `kind: file` entry of the corpus kinds table: the corpus, carrying the file's
    own neighbours (if usable) for the ground-truth stage to check and adopt."""
    corpus, truth = load_file_corpus(name, spec)
    return corpus if truth is None else replace(corpus, shipped_truth=truth)
