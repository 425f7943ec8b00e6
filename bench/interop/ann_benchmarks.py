"""ann-benchmarks' results layout, both ways.

Layout (as ann-benchmarks' `results.store_results` writes it):
`results/<dataset>/<count>/<algo>[-batch]/<args>.hdf5`, one file per (algorithm, build and
query parameters), with attributes build_time, index_size (kB), algo, dataset, count,
distance, name, run_count, batch_mode, best_search_time (mean seconds per query, best run),
candidates, expect_extra, and datasets times (float32 seconds per query), neighbors (int32,
-1 padded) and distances (float32, +inf padded; true L2 or 1 - cos, as theirs).

Export takes each point's fastest repetition. We keep no per-query times in batch mode, so
`times` holds the mean there (ann-benchmarks does the same for batch runs). Import scores
their neighbours with our recall code against our exact ground truth of the same dataset
(resolved by name: a dataset YAML or the catalogue), so both appear side by side in reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpora.distances import exact_distances
from bench.corpora.measured import measured_corpus
from bench.corpora.registry import corpus_from_spec, dataset_spec
from bench.errors import BenchError
from bench.groundtruth.cache import ground_truth
from bench.metrics.recall import recalls_per_query
from bench.results.answers import load_answers
from bench.results.schema import empty_row
from bench.results.store import append_rows, finished_job_ids, read_results
from bench.runner.environment import run_identity
from bench.storage import atomic_path, fingerprint

# One exported file per version of a corpus, k, algorithm, parameters and mode.
EXPORTED = [
    "corpus",
    "corpus_fingerprint",
    "k",
    "algorithm",
    "build_params",
    "query_params",
    "mode",
]


def result_name(build_params: dict[str, Any], query_params: dict[str, Any]) -> str:
    """ann-benchmarks' file name: the JSON of the arguments, non-word runs as `_`."""
    arguments = [build_params, query_params]
    return re.sub(r"\W+", "_", json.dumps(arguments, sort_keys=True)).strip("_")


def _distances(corpus: Any, ids: np.ndarray) -> np.ndarray:
    out = np.full(ids.shape, np.inf, dtype=np.float32)
    for i, row in enumerate(ids):
        valid = row[row >= 0]
        out[i, : len(valid)] = exact_distances(
            corpus.queries[i], corpus.train[valid], corpus.metric
        )
    return out


def export_run(run_dir: Path, out_dir: Path) -> list[Path]:
    import h5py

    frame = read_results(run_dir)
    frame = frame[(frame["status"] == "ok") & (frame["answers"].fillna("") != "")]
    if frame.empty:
        raise BenchError(f"{run_dir}: no ok rows with kept answers to export")
    written, corpora = [], {}
    for (corpus_name, measured, k, algorithm, build, query, mode), group in frame.groupby(EXPORTED):
        if (corpus_name, measured) not in corpora:
            corpora[corpus_name, measured] = measured_corpus(run_dir, corpus_name, measured)
        corpus = corpora[corpus_name, measured]
        best = group.loc[group["qps"].idxmax()]
        ids = load_answers(run_dir, best["answers"], best["answers_hash"])
        dataset = Path(corpus_name).stem if Path(corpus_name).suffix else corpus_name
        folder = f"{algorithm}-batch" if mode == "batch" else algorithm
        name = result_name(json.loads(build), json.loads(query))
        path = out_dir / dataset / str(k) / folder / f"{name}.hdf5"
        latencies = best["latency_mean_ms"] if mode == "single" else 1e3 / best["qps"]
        with atomic_path(path) as temporary, h5py.File(temporary, "w") as handle:
            handle.attrs.update(
                {
                    "build_time": float(best["build_s"]),
                    "index_size": float(best["index_bytes"]) / 1024,
                    "algo": algorithm,
                    "dataset": dataset,
                    "count": int(k),
                    "distance": corpus.metric,
                    "name": str(best["label"]),
                    "run_count": len(group),
                    "batch_mode": mode == "batch",
                    "best_search_time": 1.0 / float(best["qps"]),
                    "candidates": float((ids >= 0).sum(axis=1).mean()),
                    "expect_extra": False,
                }
            )
            handle.create_dataset("times", data=np.full(len(ids), latencies / 1e3, "f"))
            handle.create_dataset("neighbors", data=ids.astype("i"))
            handle.create_dataset("distances", data=_distances(corpus, ids))
        written.append(path)
    return written


def _attr(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (numpy scalars unwrapped, bytes decoded)."""
    value = value.item() if isinstance(value, np.generic) else value
    return value.decode() if isinstance(value, bytes) else value


def _positive(path: Path, attrs: dict[str, Any], key: str, integer: bool) -> float:
    """Attribute `key` as a positive (integer) number, else BenchError naming file and key."""
    value = attrs[key]
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        what = "a positive integer" if integer else "a positive number of seconds"
        raise BenchError(f"{path}: {key}={value!r}, expected {what}")
    if not integer and not np.isfinite(value):
        raise BenchError(f"{path}: {key}={value!r}, expected a finite number of seconds")
    return value


def _optional(path: Path, attrs: dict[str, Any], key: str) -> float | None:
    """Optional attribute `key` (build_time, index_size) as a number >= 0, or None."""
    value = attrs.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (np.isfinite(value) and value >= 0)
    ):
        raise BenchError(f"{path}: {key}={value!r}, expected a number >= 0")
    return float(value)


def _read(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    """A result file's attributes and raw neighbours, or BenchError naming what is missing."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise BenchError(
            f"{path}: not a readable HDF5 file ({exc}): expected an ann-benchmarks result file"
        ) from exc
    with handle:
        attrs = {key: _attr(value) for key, value in handle.attrs.items()}
        missing = {"algo", "dataset", "count", "name", "best_search_time"} - set(attrs)
        if missing or not isinstance(handle.get("neighbors"), h5py.Dataset):
            raise BenchError(
                f"{path}: missing {', '.join(sorted(missing)) or 'neighbors'}: expected an "
                "ann-benchmarks result file"
            )
        return attrs, handle["neighbors"][()]


def _checked_ids(path: Path, raw: np.ndarray, count: int, n_queries: int, n_train: int):
    """The neighbours as int64, checked as ann-benchmarks writes them: one row per query of
    at least `count` integer ids in [0, n_train), each at most once, -1 padding short rows."""
    shape = f"neighbors shape={raw.shape}"
    if raw.ndim != 2 or not 1 <= len(raw) <= n_queries or raw.shape[1] < count:
        raise BenchError(
            f"{path}: {shape}, expected 2-D: at most {n_queries} rows (queries) of at least "
            f"count={count} ids"
        )
    if raw.dtype.kind not in "iu":
        raise BenchError(f"{path}: neighbors dtype={raw.dtype}, expected integer ids")
    ids = raw.astype(np.int64)
    bad = (ids < -1) | (ids >= n_train)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise BenchError(
            f"{path}: neighbors[{row}, {column}]={ids[row, column]}, expected an id in "
            f"[0, {n_train}) (the train size) or -1 (padding)"
        )
    ordered = np.sort(ids, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        row = int(np.argwhere(repeated)[0][0])
        value = int(ordered[row, 1:][repeated[row]][0])
        raise BenchError(
            f"{path}: neighbors row {row} holds id {value} more than once, expected each id "
            "at most once per query"
        )
    return ids


def _resolve(path: Path, name: str, corpora: dict[str, tuple[Any, Any]]) -> tuple[Any, Any]:
    if name not in corpora:
        try:
            corpus = corpus_from_spec(name, dataset_spec(name))
        except BenchError as exc:
            raise BenchError(f"{path}: dataset={name!r}: {exc}") from exc
        corpora[name] = (corpus, ground_truth(corpus))
    return corpora[name]


def import_results(source: Path, run_dir: Path) -> tuple[int, int]:
    """Score every result file under `source` and append it as rows to `run_dir`.

    Returns (files imported, files skipped): a file whose job (its path under `source`) is
    already in the run is skipped, so importing the same results again changes nothing.
    Every file is checked before any row is appended.
    """
    files = sorted(source.rglob("*.hdf5"))
    if not files:
        raise BenchError(f"{source}: no ann-benchmarks result files (*.hdf5) found")
    identity = {**run_identity("ann-benchmarks"), "cpu": "ann-benchmarks import"}
    present = finished_job_ids(run_dir)
    rows, corpora, skipped = [], {}, 0
    for path in files:
        job_id = fingerprint("ann-benchmarks", str(path.relative_to(source)))
        if job_id in present:
            skipped += 1
            continue
        attrs, raw = _read(path)
        k = int(_positive(path, attrs, "count", integer=True))
        seconds = float(_positive(path, attrs, "best_search_time", integer=False))
        name = str(attrs["dataset"])
        corpus, truth = _resolve(path, name, corpora)
        ids = _checked_ids(path, raw, k, len(corpus.queries), len(corpus.train))
        n = len(ids)
        recalls = recalls_per_query(
            ids[:, :k], truth.ids[:n], truth.distances[:n], np.asarray(corpus.queries[:n]),
            corpus.train, corpus.metric, k,
        )  # fmt: skip
        rows.append(
            {
                **empty_row(),
                **identity,
                "job_id": job_id,
                "corpus": name,
                "corpus_fingerprint": corpus.fingerprint,
                "n_train": len(corpus.train),
                "n_queries": n,
                "dim": corpus.dim,
                "metric": corpus.metric,
                "backend": f"ann-benchmarks:{attrs['algo']}",
                "algorithm": f"{attrs['algo']} (ann-benchmarks)",
                "build_params": {"ann_benchmarks_file": path.stem},
                "query_params": {},
                "label": str(attrs["name"]),
                "mode": "batch" if attrs.get("batch_mode") else "single",
                "threads": 0 if attrs.get("batch_mode") else 1,  # 0: not recorded by them
                "k": k,
                "repetition": 0,
                "status": "ok",
                **{name: float(values.mean()) for name, values in recalls.items()},
                "qps": 1.0 / seconds,
                "build_s": _optional(path, attrs, "build_time"),
                "index_bytes": int((_optional(path, attrs, "index_size") or 0) * 1024),
            }
        )
    if rows:
        append_rows(run_dir, rows)
    return len(rows), skipped
