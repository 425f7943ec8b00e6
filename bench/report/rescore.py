"""`bench rescore`: recall (and P@k, mAP@k where labels exist) recomputed from kept answers.

Nothing is re-run: each ok row's stored ids are scored again against the corpus' exact
ground truth (cached) with the same functions the worker uses, at the run's k or a smaller
one, with the run's tie epsilon or another (absolute for `recall`, relative for
`recall_rel`, as in bench.metrics.recall). The result is a table of the rows with the new
scores, written beside the results as `rescored-k<K>-eps<E>.csv`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.corpora.measured import measured_corpus
from bench.errors import BenchError
from bench.groundtruth.cache import ground_truth
from bench.metrics.labels import average_precision_at_k, precision_at_k, relevance
from bench.metrics.recall import TIE_EPSILON, Tie, recalls_per_query
from bench.results.answers import load_answers
from bench.results.store import read_results


def rescore_frame(
    run_dir: Path, k: int | None = None, epsilon: float = TIE_EPSILON
) -> pd.DataFrame:
    """The run's ok rows with `recall` (and label scores) recomputed from their answers."""
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise BenchError(
            f"--epsilon {epsilon}: expected a finite number >= 0 (the tie slack: distances "
            "within it of the k-th count as ties)"
        )
    frame = read_results(run_dir)
    rows = frame[(frame["status"] == "ok") & (frame["answers"].fillna("") != "")].copy()
    if rows.empty:
        raise BenchError(f"{run_dir}: no ok rows with kept answers (column `answers`) to rescore")
    corpora, truths = {}, {}
    for index, row in rows.iterrows():
        if row["corpus"] not in corpora:
            corpus = measured_corpus(run_dir, row["corpus"], row["corpus_fingerprint"])
            corpora[row["corpus"]], truths[row["corpus"]] = corpus, ground_truth(corpus)
        corpus, truth = corpora[row["corpus"]], truths[row["corpus"]]
        at = int(row["k"]) if k is None else k
        if not 1 <= at <= int(row["k"]):
            raise BenchError(f"--k {at}: expected 1 <= k <= the run's k ({row['k']})")
        ids = load_answers(run_dir, row["answers"], row["answers_hash"])[:, :at].astype(np.int64)
        n = len(ids)
        queries = np.asarray(corpus.queries[:n])
        recalls = recalls_per_query(
            ids, truth.ids[:n], truth.distances[:n], queries, corpus.train, corpus.metric, at,
            (Tie("recall", absolute=epsilon), Tie("recall_rel", relative=epsilon)),
        )  # fmt: skip
        rows.loc[index, ["k", "recall", "recall_rel"]] = [
            at,
            float(recalls["recall"].mean()),
            float(recalls["recall_rel"].mean()),
        ]
        if corpus.has_labels:
            relevant = relevance(ids, corpus.train_labels, corpus.query_labels[:n])
            rows.loc[index, "precision_at_k"] = float(precision_at_k(relevant, at).mean())
            rows.loc[index, "map_at_k"] = float(average_precision_at_k(relevant, at).mean())
    rows["tie_epsilon"] = epsilon
    return rows


def write_rescored(run_dir: Path, k: int | None, epsilon: float) -> Path:
    frame = rescore_frame(run_dir, k, epsilon)
    path = run_dir / f"rescored-k{k or 'run'}-eps{epsilon:g}.csv"
    frame.to_csv(path, index=False)
    return path
