"""What makes two results rows comparable: the one definition of a setting, curve, point, row.

Everything that groups rows (Pareto fronts, QPS at a recall target, plots, scaling) uses these
keys, so rows measured under different conditions (k=10 and k=100, two versions of a corpus,
two thread counts) are never pooled into a number nobody measured. Columns that may differ
within a curve without changing what was measured (run id, host, warm-up) are shown in the
report's environment table instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

# The searched data: a corpus at one version and size.
CORPUS = ["corpus", "corpus_fingerprint", "n_train", "n_queries", "dim", "metric"]
# What was asked of every algorithm: the data and k.
SETTING = [*CORPUS, "k"]
# One algorithm's recall/QPS curve: a setting, a mode, a library build and its threads.
CURVE = [
    *SETTING,
    "mode",
    "algorithm",
    "backend",
    "library_version",
    "threads",
    "build_threads",
]
# One operating point of a curve: its parameters (repetitions of it are pooled).
POINT = [*CURVE, "build_params", "query_params"]
# One row of a run: a job's repetition of one point in one mode (a job's status row has
# empty query parameters, mode and repetition). A run holds each at most once.
ROW = ["job_id", "query_params", "mode", "repetition"]

_SHORT = {
    "corpus_fingerprint": "fingerprint",
    "n_train": "n",
    "n_queries": "queries",
    "library_version": "version",
    "build_threads": "build threads",
}


def varying(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns that take more than one value in `frame`."""
    return [c for c in columns if frame[c].astype(str).nunique(dropna=False) > 1]


def describe(values: Mapping[str, Any], columns: Sequence[str]) -> str:
    """`k=100, threads=4`: the given columns of one group, for titles and legends."""
    return ", ".join(f"{_SHORT.get(c, c)}={values[c]}" for c in columns)


def slug(text: str) -> str:
    """A file-name-safe form of `describe`'s text: `k=100, threads=4` -> `k100-threads4`."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text.replace("=", "")).strip("-")


def curve_labels(frame: pd.DataFrame, fixed: Sequence[str] = ()) -> pd.Series:
    """Per row, its curve's name among the rows of `frame`: the algorithm, plus every other
    CURVE column (except those in `fixed`) that differs among that algorithm's rows, e.g.
    `hnswlib (k=100)`. Rows get the same label exactly when they agree on every CURVE column
    not in `fixed`."""
    labels = frame["algorithm"].astype(str).to_numpy(dtype=object)
    columns = [c for c in CURVE if c != "algorithm" and c not in fixed]
    for positions in frame.groupby("algorithm", sort=False, dropna=False).indices.values():
        rows = frame.iloc[positions]
        extra = varying(rows, columns)
        if not extra:
            continue
        for position, row in zip(positions, rows[extra].itertuples(index=False), strict=True):
            labels[position] += f" ({describe(dict(zip(extra, row, strict=True)), extra)})"
    return pd.Series(labels, index=frame.index, dtype=object)
