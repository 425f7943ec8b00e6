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
from bench.corpora.registry import corpus_from_spec, dataset_spec
from bench.errors import BenchError
from bench.groundtruth.cache import ground_truth
from bench.metrics.recall import recalls_per_query
from bench.results.answers import load_answers
from bench.results.schema import empty_row
from bench.results.store import append_rows, read_results
from bench.runner.environment import run_identity
from bench.storage import fingerprint


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
    keys = ["corpus", "k", "algorithm", "build_params", "query_params", "mode"]
    for (corpus_name, k, algorithm, build, query, mode), group in frame.groupby(keys):
        if corpus_name not in corpora:
            corpora[corpus_name] = corpus_from_spec(corpus_name, dataset_spec(corpus_name))
        corpus = corpora[corpus_name]
        best = group.loc[group["qps"].idxmax()]
        ids = load_answers(run_dir, best["answers"], best["answers_hash"])
        dataset = Path(corpus_name).stem if Path(corpus_name).suffix else corpus_name
        folder = f"{algorithm}-batch" if mode == "batch" else algorithm
        name = result_name(json.loads(build), json.loads(query))
        path = out_dir / dataset / str(k) / folder / f"{name}.hdf5"
        path.parent.mkdir(parents=True, exist_ok=True)
        latencies = best["latency_mean_ms"] if mode == "single" else 1e3 / best["qps"]
        with h5py.File(path, "w") as handle:
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
    return value.decode() if isinstance(value, bytes) else value


def import_results(source: Path, run_dir: Path) -> int:
    """Score every result file under `source` and append it as rows to `run_dir`."""
    import h5py

    files = sorted(source.rglob("*.hdf5"))
    if not files:
        raise BenchError(f"{source}: no ann-benchmarks result files (*.hdf5) found")
    identity = {**run_identity("ann-benchmarks"), "cpu": "ann-benchmarks import"}
    rows, corpora = [], {}
    for path in files:
        with h5py.File(path, "r") as handle:
            attrs = {key: _attr(value) for key, value in handle.attrs.items()}
            missing = {"algo", "dataset", "count", "name", "best_search_time"} - set(attrs)
            if missing or "neighbors" not in handle:
                raise BenchError(
                    f"{path}: missing {', '.join(sorted(missing)) or 'neighbors'}: expected an "
                    "ann-benchmarks result file"
                )
            ids = np.asarray(handle["neighbors"], dtype=np.int64)
        name, k = str(attrs["dataset"]), int(attrs["count"])
        if name not in corpora:
            corpus = corpus_from_spec(name, dataset_spec(name))
            corpora[name] = (corpus, ground_truth(corpus))
        corpus, truth = corpora[name]
        n = len(ids)
        if n > len(corpus.queries) or ids.shape[1] < k:
            raise BenchError(f"{path}: neighbors {ids.shape}, expected <= "
                             f"{len(corpus.queries)} rows of at least count={k} ids")  # fmt: skip
        recalls = recalls_per_query(
            ids[:, :k], truth.ids[:n], truth.distances[:n], np.asarray(corpus.queries[:n]),
            corpus.train, corpus.metric, k,
        )  # fmt: skip
        rows.append(
            {
                **empty_row(),
                **identity,
                "job_id": fingerprint("ann-benchmarks", str(path.relative_to(source))),
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
                "qps": 1.0 / float(attrs["best_search_time"]),
                "build_s": attrs.get("build_time"),
                "index_bytes": int(float(attrs.get("index_size", 0)) * 1024),
            }
        )
    append_rows(run_dir, rows)
    return len(rows)
