"""The run directory, `results/<run>/`: its file names and the writers of its side tables.

`results.csv` itself is written by `bench.results.store`; everything else a run leaves
(ground-truth times, the image study's tables, the log of invocations) is written here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.corpora.corpus import Corpus
from bench.groundtruth.cache import corpus_identity, ground_truth_info
from bench.groundtruth.exact import MAX_K
from bench.storage import write_bytes_atomic

RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
RUNS_LOG = "runs.jsonl"
PLOTS = "plots"
GROUNDTRUTH_CSV = "groundtruth.csv"
GROUNDTRUTH_COLUMNS = (
    "corpus",
    "corpus_fingerprint",
    "n_train",
    "n_queries",
    "dim",
    "metric",
    "k",
    "seconds",
    "cpu_seconds",
    "threads",
    "computed_at",
)


def ground_truth_record(corpus: Corpus, k: int = MAX_K) -> dict[str, Any]:
    """How the cached ground truth of `corpus` was computed: one row of groundtruth.csv.

    Timing fields are empty when the cache predates the timing record."""
    info = ground_truth_info(corpus, k)
    row = {
        "corpus": corpus.name,
        **corpus_identity(corpus, min(max(k, 1), MAX_K, len(corpus.train))),
    }
    return {column: row.get(column, info.get(column, "")) for column in GROUNDTRUTH_COLUMNS}


def write_groundtruth_csv(run_dir: Path, corpora: Iterable[Corpus], k: int = MAX_K) -> Path:
    """Write RUN_DIR/groundtruth.csv: one row per corpus with its ground-truth seconds.

    Rows of corpora already in the file (by fingerprint) are replaced, others kept, so a
    resumed or extended run keeps one row per corpus."""
    path = Path(run_dir) / GROUNDTRUTH_CSV
    rows: dict[str, dict[str, Any]] = {}
    if path.exists():
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows[row["corpus_fingerprint"]] = row
    for corpus in corpora:
        rows[corpus.fingerprint] = ground_truth_record(corpus, k)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=GROUNDTRUTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buffer.getvalue().encode())
    return path


def append_table(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows to one of the run's side tables (extraction.csv, quality.csv, ...),
    atomically; columns are the union of the old and new rows'."""
    frame = pd.DataFrame(rows)
    if path.exists():
        frame = pd.concat([pd.read_csv(path), frame], ignore_index=True)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    write_bytes_atomic(path, buffer.getvalue().encode())


def append_run_log(run_dir: Path, record: dict[str, Any]) -> None:
    """Add one line per `bench run` invocation to RUN_DIR/runs.jsonl (atomically)."""
    path = run_dir / RUNS_LOG
    previous = path.read_text() if path.exists() else ""
    write_bytes_atomic(path, (previous + json.dumps(record, default=list) + "\n").encode())
