"""Operating points: one per measured configuration, with the spread of its QPS.

A configuration is every identity column that can differ inside one run folder (a folder may
hold several invocations: another k, a regenerated corpus, other thread counts), so points of
k=10 and k=100, or of two corpora that share a name, never meet on one curve. Plots draw one
panel per (corpus, fingerprint, mode, k) and one series per algorithm in it; when an
algorithm was measured with several thread settings in a panel, each setting is its own series.

QPS spread: when the rows carry `qps_median_ci_low`/`qps_median_ci_high` (a confidence
interval of the median over repetitions), `qps_cv` and `noisy`, those are used; otherwise the
spread is computed here from the repetitions: their range and coefficient of variation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

IDENTITY = [
    "corpus",
    "corpus_fingerprint",
    "algorithm",
    "build_params",
    "query_params",
    "mode",
    "threads",
    "build_threads",
    "k",
]
PANEL = ["corpus", "corpus_fingerprint", "mode", "k"]
SERIES_EXTRA = ["threads", "build_threads"]  # part of a series' name when they vary in a panel
MODE_ORDER = {"single": 0, "batch": 1}  # panels of a corpus: single-query mode first
CI_COLUMNS = ("qps_median_ci_low", "qps_median_ci_high")


def operating_points(frame: pd.DataFrame, mode: str | None = None) -> pd.DataFrame:
    """One row per configuration of the ok rows (of one mode, if given).

    recall, P@k and mAP are means over repetitions; qps, build_s and p99 latency medians;
    qps_low/qps_high the confidence interval of the median when the rows carry one (`qps_ci`
    True), else the range over repetitions; qps_cv the coefficient of variation."""
    ok = frame[frame["status"] == "ok"]
    if mode is not None:
        ok = ok[ok["mode"] == mode]
    has_ci = all(column in ok.columns for column in CI_COLUMNS)
    spread = {
        "qps_low": (CI_COLUMNS[0], "median") if has_ci else ("qps", "min"),
        "qps_high": (CI_COLUMNS[1], "median") if has_ci else ("qps", "max"),
    }
    if "qps_cv" in ok.columns:
        spread["qps_cv"] = ("qps_cv", "median")
    if "noisy" in ok.columns:
        spread["noisy"] = (
            "noisy",
            lambda v: bool(pd.Series(v).astype(str).str.lower().eq("true").any()),
        )
    points = ok.groupby(IDENTITY, as_index=False, sort=True, dropna=False).agg(
        recall=("recall", "mean"),
        qps=("qps", "median"),
        qps_mean=("qps", "mean"),
        qps_std=("qps", "std"),
        repetitions=("qps", "size"),
        label=("label", "first"),
        build_s=("build_s", "median"),
        index_bytes=("index_bytes", "first"),
        latency_p99_ms=("latency_p99_ms", "median"),
        precision_at_k=("precision_at_k", "mean"),
        map_at_k=("map_at_k", "mean"),
        n_train=("n_train", "first"),
        **spread,
    )
    if "qps_cv" not in points.columns:
        points["qps_cv"] = (points["qps_std"] / points["qps_mean"]).where(points["repetitions"] > 1)
    if "noisy" not in points.columns:
        points["noisy"] = False
    points["qps_ci"] = has_ci
    return points.drop(columns=["qps_mean", "qps_std"])


def pareto_front(
    points: pd.DataFrame, y: str = "qps", higher: bool = True, x: str = "recall"
) -> pd.DataFrame:
    """Points no other point beats on both `x` (higher is better) and `y`, by increasing `x`.

    `higher` says whether a larger `y` is better (QPS) or a smaller one (build time, index
    size, latency). Points without a value of `x` or `y` are left out."""
    known = points[points[y].notna() & points[x].notna()]
    ordered = known.sort_values([x, y], ascending=[False, not higher])
    score = ordered[y].astype(float) if higher else -ordered[y].astype(float)
    best = score.cummax().shift(fill_value=-math.inf)
    return ordered[score > best].sort_values(x)


@dataclass(frozen=True)
class Panel:
    """What one plot shows: one corpus (by fingerprint), one mode and one k."""

    corpus: str
    fingerprint: str
    mode: str
    k: int
    slug: str  # unique in its run: corpus, plus k / fingerprint when those vary for it

    @property
    def title(self) -> str:
        return f"{self.corpus}: {self.mode} mode, k={self.k}"


def panels(points: pd.DataFrame) -> Iterator[tuple[Panel, pd.DataFrame]]:
    """Each panel of the points with its points, a `series` column added (see module doc)."""
    if points.empty:
        return
    per_corpus = points.groupby("corpus")
    several_k = per_corpus["k"].nunique() > 1
    several_fp = per_corpus["corpus_fingerprint"].nunique() > 1
    groups = sorted(
        points.groupby(PANEL, sort=True),
        key=lambda item: (item[0][0], item[0][1], MODE_ORDER.get(item[0][2], 9), item[0][3]),
    )
    for (corpus, fingerprint, mode, k), group in groups:
        slug = str(corpus)
        if several_k[corpus]:
            slug += f"-k{int(k)}"
        if several_fp[corpus]:
            slug += f"-{str(fingerprint)[:8]}"
        panel = Panel(str(corpus), str(fingerprint), str(mode), int(k), slug)
        yield panel, group.assign(series=series_names(group))


def series_names(group: pd.DataFrame) -> pd.Series:
    """The algorithm, with `threads=…`/`build_threads=…` when it has several in the group."""
    names = group["algorithm"].astype(str)
    for column in SERIES_EXTRA:
        varies = group.groupby("algorithm")[column].transform("nunique") > 1
        names = names.where(~varies, names + f" {column}=" + group[column].astype(str))
    return names


def spread_text(point: pd.Series) -> str:
    """`95% CI 900–1,100` or `range 900–1,100 over 3 reps, CV 4.1%`, plus a noisy mark."""
    low, high = float(point["qps_low"]), float(point["qps_high"])
    if point["qps_ci"]:
        text = f"95% CI {low:,.0f}–{high:,.0f}"
    else:
        text = f"range {low:,.0f}–{high:,.0f} over {int(point['repetitions'])} reps"
    cv = float(point["qps_cv"]) if pd.notna(point["qps_cv"]) else math.nan
    if np.isfinite(cv):
        text += f", CV {cv:.1%}"
    return text + (", NOISY" if bool(point["noisy"]) else "")
