"""ann-benchmarks results layout: export re-scores to our recall; imports join our reports."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from bench.corpora.registry import load_corpus
from bench.groundtruth.cache import ground_truth
from bench.interop.ann_benchmarks import export_run, import_results
from bench.metrics.recall import recall_per_query
from bench.report.summary import build_report
from bench.results.store import read_results

ATTRS = {
    "build_time", "index_size", "algo", "dataset", "count", "distance", "name", "run_count",
    "batch_mode", "best_search_time", "candidates", "expect_extra",
}  # fmt: skip


def read_ann_benchmarks(root: Path) -> list[tuple[Path, dict, np.ndarray, np.ndarray]]:
    """An independent minimal reader of the layout: results/<ds>/<count>/<algo>/<name>.hdf5."""
    found = []
    for path in sorted(root.glob("*/*/*/*.hdf5")):
        with h5py.File(path, "r") as handle:
            found.append((path, dict(handle.attrs), handle["neighbors"][:], handle["distances"][:]))
    return found


@pytest.fixture
def run_dir(hnswlib_run: Path) -> Path:
    return hnswlib_run


def test_export_reads_back_and_rescored_to_our_recall(run_dir: Path, tmp_path: Path) -> None:
    export_run(run_dir, tmp_path / "ab")
    files = read_ann_benchmarks(tmp_path / "ab")
    assert len(files) == 4  # 2 ef x (single, batch)
    frame = read_results(run_dir)
    corpus = load_corpus("tiny-euclidean")
    truth = ground_truth(corpus)
    for path, attrs, neighbors, distances in files:
        assert set(attrs) >= ATTRS and neighbors.dtype == np.int32
        assert path.parts[-4:-1] == ("tiny-euclidean", "10", path.parent.name)
        assert path.parent.name in ("hnswlib", "hnswlib-batch")
        assert bool(attrs["batch_mode"]) == path.parent.name.endswith("-batch")
        n = len(neighbors)
        recall = recall_per_query(
            neighbors.astype(np.int64), truth.ids[:n], truth.distances[:n], corpus.queries[:n],
            corpus.train, corpus.metric, int(attrs["count"]),
        ).mean()  # fmt: skip
        ef = 10 if path.stem.endswith("ef_10") else 40
        mode = "batch" if attrs["batch_mode"] else "single"
        ours = frame[(frame["query_params"] == f'{{"ef": {ef}}}') & (frame["mode"] == mode)]
        assert float(recall) in set(ours["recall"])
        assert attrs["run_count"] == 2 and np.isfinite(distances[:, 0]).all()
        # ann-benchmarks' own knn metric on these distances (threshold gt[k-1] + 1e-3)
        gt = np.sort(truth.distances[:n, :10], axis=1)
        theirs = (distances <= gt[:, 9:10] + 1e-3).sum(axis=1).mean() / 10
        assert abs(theirs - recall) < 0.05


def test_imported_results_join_our_rows_in_the_report(run_dir: Path, tmp_path: Path) -> None:
    corpus = load_corpus("tiny-euclidean")
    truth = ground_truth(corpus)
    root = tmp_path / "results" / "tiny-euclidean" / "10"
    for name, ids, qps in (("exact", truth.ids[:40, :10], 500.0), ("half", None, 2000.0)):
        if ids is None:
            ids = truth.ids[:40, :10].copy()
            ids[:, 5:] = truth.ids[:40, 50:55]  # 5 of 10 right
        path = root / "their-algo" / f"{name}.hdf5"
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as handle:
            attrs = {
                "algo": "their-algo", "dataset": "tiny-euclidean", "count": 10,
                "name": f"TheirAlgo({name})", "best_search_time": 1 / qps, "batch_mode": False,
                "build_time": 1.5, "index_size": 100.0, "distance": "euclidean",
                "run_count": 1, "candidates": 10.0, "expect_extra": False,
            }  # fmt: skip
            handle.attrs.update(attrs)
            handle["neighbors"] = ids.astype("i")
    assert import_results(tmp_path / "results", run_dir) == 2
    frame = read_results(run_dir)
    theirs = frame[frame["algorithm"] == "their-algo (ann-benchmarks)"]
    assert sorted(theirs["recall"]) == [0.5, 1.0]
    assert {"hnswlib", "their-algo (ann-benchmarks)"} <= set(frame["algorithm"])
    from bench.report import markdown

    text = markdown.write(build_report(run_dir), tmp_path / "report.md").read_text()
    assert "their-algo (ann-benchmarks)" in text and "hnswlib" in text
