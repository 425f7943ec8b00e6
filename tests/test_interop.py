"""ann-benchmarks results layout: export re-scores to our recall; imports join our reports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from bench.corpora.registry import load_corpus
from bench.errors import BenchError
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
    assert import_results(tmp_path / "results", run_dir) == (2, 0)
    frame = read_results(run_dir)
    theirs = frame[frame["algorithm"] == "their-algo (ann-benchmarks)"]
    assert sorted(theirs["recall"]) == [0.5, 1.0]
    assert {"hnswlib", "their-algo (ann-benchmarks)"} <= set(frame["algorithm"])
    from bench.report import markdown

    text = markdown.write(build_report(run_dir), tmp_path / "report.md").read_text()
    assert "their-algo (ann-benchmarks)" in text and "hnswlib" in text


def test_export_refuses_a_dataset_changed_since_the_run(run_dir: Path, tmp_path: Path) -> None:
    """The hostile probe: a new seed in the YAML gave other vectors' distances, unsorted."""
    yaml_path = Path(os.environ["BENCH_DATASETS"]) / "tiny-euclidean.yaml"
    spec = yaml.safe_load(yaml_path.read_text())
    measured = read_results(run_dir)["corpus_fingerprint"].iloc[0]
    yaml_path.write_text(yaml.safe_dump({**spec, "seed": spec["seed"] + 1}))
    with pytest.raises(
        BenchError,
        match=rf"corpus 'tiny-euclidean' now has fingerprint \w+, expected {measured} as in "
        "the run",
    ):
        export_run(run_dir, tmp_path / "ab")
    assert not (tmp_path / "ab").exists()


def test_ctrl_c_during_export_keeps_the_files_written_before(run_dir: Path, tmp_path: Path) -> None:
    """h5py wrote straight into the final file: Ctrl-C left a half-written .hdf5 in place of
    the complete one, and the message said to resume a run. A real SIGINT, sent by the child
    to itself as the second file's distances are written."""
    out = _exported(run_dir, tmp_path)
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    interrupt = (
        "import os, signal, sys, h5py\n"
        # as in a terminal: a child of a background job starts with SIGINT ignored (CI)
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "create, files = h5py.Group.create_dataset, []\n"
        "def create_dataset(self, name, *args, **kwargs):\n"
        "    files.append(name)\n"
        "    if files.count('distances') == 2:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return create(self, name, *args, **kwargs)\n"
        "h5py.Group.create_dataset = create_dataset\n"
        "from bench.cli import main\n"
        "sys.argv[0] = 'bench'\n"
        "main()\n"
    )
    command = ["export", str(run_dir), str(out), "--format", "ann-benchmarks"]
    result = subprocess.run(
        [sys.executable, "-c", interrupt, *command],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 130, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "interrupted: the files already written are complete, and nothing was half-written"
    )
    after = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert after == before, "every file as complete as before, and no temporary file left"


def _exported(run_dir: Path, tmp_path: Path) -> Path:
    export_run(run_dir, tmp_path / "ab")
    return tmp_path / "ab"


def test_importing_the_same_results_twice_skips_them(run_dir: Path, tmp_path: Path) -> None:
    source = _exported(run_dir, tmp_path)
    target = tmp_path / "imported"
    assert import_results(source, target) == (4, 0)
    first = read_results(target)
    assert import_results(source, target) == (0, 4)
    assert read_results(target).equals(first)  # the reader still accepts the run
    extra = source / "tiny-euclidean" / "10" / "hnswlib" / "copy.hdf5"
    shutil.copy(next(source.glob("*/*/hnswlib/*.hdf5")), extra)
    assert import_results(source, target) == (1, 4)
    assert len(read_results(target)) == 5


def _edit(path: Path, attrs: dict | None = None, neighbors: np.ndarray | None = None) -> None:
    with h5py.File(path, "r+") as handle:
        handle.attrs.update(attrs or {})
        if neighbors is not None:
            del handle["neighbors"]
            handle["neighbors"] = neighbors


def _neighbors(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as handle:
        return handle["neighbors"][()]


def _bad_ids(ids: np.ndarray, at: tuple[int, int], value: int) -> np.ndarray:
    ids = ids.copy()
    ids[at] = value
    return ids


@pytest.mark.parametrize(
    ("attrs", "change", "expected"),
    [
        ({"best_search_time": 0.0}, None, r"best_search_time=0.0, expected a positive number"),
        ({"count": 0}, None, r"count=0, expected a positive integer"),
        ({"count": "ten"}, None, r"count='ten', expected a positive integer"),
        ({"count": 2.5}, None, r"count=2.5, expected a positive integer"),
        ({"best_search_time": "fast"}, None, r"best_search_time='fast', expected a positive"),
        ({"index_size": "big"}, None, r"index_size='big', expected a number >= 0"),
        ({}, lambda ids: ids[:, 0], r"neighbors shape=\(40,\), expected 2-D"),
        ({}, lambda ids: ids[:, :5], r"neighbors shape=\(40, 5\), expected .*count=10"),
        ({}, lambda ids: ids.astype("f") + 0.5, r"neighbors dtype=float32, expected integer"),
        ({}, lambda ids: _bad_ids(ids, (3, 2), 10**8), r"neighbors\[3, 2\]=100000000, expected"),
        ({}, lambda ids: _bad_ids(ids, (0, 1), -5), r"neighbors\[0, 1\]=-5, expected .*-1"),
        (
            {},
            lambda ids: _bad_ids(ids, (2, 4), ids[2, 1]),
            r"neighbors row 2 holds id \d+ more than once",
        ),
    ],
)
def test_odd_result_file_is_one_line_naming_file_and_attribute(
    run_dir: Path, tmp_path: Path, attrs: dict, change, expected: str
) -> None:
    source = _exported(run_dir, tmp_path)
    path = next(source.glob("*/*/*/*.hdf5"))
    _edit(path, attrs, None if change is None else change(_neighbors(path)))
    with pytest.raises(BenchError, match=rf"^{re.escape(str(path))}: {expected}") as raised:
        import_results(source, tmp_path / "imported")
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "imported").exists(), "nothing appended before every file is checked"


def test_text_file_named_hdf5_and_unknown_dataset_name_the_file(run_dir, tmp_path) -> None:
    source = _exported(run_dir, tmp_path)
    text = source / "tiny-euclidean" / "10" / "hnswlib" / "r.hdf5"
    text.write_text("not hdf5")
    with pytest.raises(BenchError, match=rf"^{re.escape(str(text))}: not a readable HDF5 file"):
        import_results(source, tmp_path / "imported")
    text.unlink()
    path = next(source.glob("*/*/*/*.hdf5"))
    _edit(path, {"dataset": "no-such-set"})
    with pytest.raises(BenchError, match=rf"^{re.escape(str(path))}: dataset='no-such-set': "):
        import_results(source, tmp_path / "imported")


def test_minus_one_padding_is_a_miss(run_dir: Path, tmp_path: Path) -> None:
    """ann-benchmarks pads short answers with -1 (results.store_results): accepted, scored
    as misses."""
    source = _exported(run_dir, tmp_path)
    path = next(source.glob("*/*/hnswlib/*.hdf5"))
    ids = _neighbors(path)
    _edit(path, neighbors=np.where(np.arange(ids.shape[1]) >= 5, -1, ids).astype("i"))
    import_results(source, tmp_path / "imported")
    frame = read_results(tmp_path / "imported")
    assert frame.loc[frame["build_params"].str.contains(path.stem), "recall"].iloc[0] <= 0.5
