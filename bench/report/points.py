"""Operating points: one per measured configuration, with the spread of its QPS.

A configuration is every identity column that can differ inside one run folder (a folder may
hold several invocations: another k, a regenerated corpus, other thread counts), as defined
once in bench.results.identity, so points of k=10 and k=100, or of two corpora that share a
name, never meet on one curve. Plots draw one panel per setting (corpus, fingerprint, sizes,
k) and mode, and one series per algorithm in it; when an algorithm was measured with several
thread settings or library versions in a panel, each is its own series.

QPS spread: the runner writes each point's 95 % interval of the median QPS (`qps_ci_low`,
`qps_ci_high`), its CV (`qps_cv`) and `noisy` on every row of the point; those are used. Rows
without them (imported results, older runs) get the spread computed here from the
repetitions: their range and coefficient of variation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.results.identity import POINT, SETTING, curve_labels, describe, slug, varying

IDENTITY = POINT  # a configuration: bench.results.identity, the one definition
PANEL = [*SETTING, "mode"]
MODE_ORDER = {"single": 0, "batch": 1}  # panels of a corpus: single-query mode first
CI_COLUMNS = ("qps_ci_low", "qps_ci_high")


def operating_points(frame: pd.DataFrame, mode: str | None = None) -> pd.DataFrame:
    """One row per configuration of the ok rows (of one mode, if given).

    recall, P@k and mAP are means over repetitions; qps, build_s and p99 latency medians;
    qps_low/qps_high the 95 % interval of the median where the rows carry one (`qps_ci`
    True), else the range over repetitions; qps_cv the rows' CV, else computed; `noisy`
    whether the rows say the point is noisy."""
    ok = frame[frame["status"] == "ok"]
    if mode is not None:
        ok = ok[ok["mode"] == mode]
    given = {
        column: (column, "median") for column in (*CI_COLUMNS, "qps_cv") if column in ok.columns
    }
    if "noisy" in ok.columns:
        given["noisy"] = ("noisy", lambda v: bool((pd.to_numeric(v, errors="coerce") == 1).any()))
    points = ok.groupby(IDENTITY, as_index=False, sort=True, dropna=False).agg(
        recall=("recall", "mean"),
        qps=("qps", "median"),
        qps_min=("qps", "min"),
        qps_max=("qps", "max"),
        qps_mean=("qps", "mean"),
        qps_std=("qps", "std"),
        repetitions=("qps", "size"),
        label=("label", "first"),
        build_s=("build_s", "median"),
        index_bytes=("index_bytes", "first"),
        latency_p99_ms=("latency_p99_ms", "median"),
        precision_at_k=("precision_at_k", "mean"),
        map_at_k=("map_at_k", "mean"),
        **given,
    )
    for column in (*CI_COLUMNS, "qps_cv"):
        if column not in points.columns:
            points[column] = math.nan
    points["qps_ci"] = points[CI_COLUMNS[0]].notna() & points[CI_COLUMNS[1]].notna()
    points["qps_low"] = points[CI_COLUMNS[0]].where(points["qps_ci"], points["qps_min"])
    points["qps_high"] = points[CI_COLUMNS[1]].where(points["qps_ci"], points["qps_max"])
    computed = (points["qps_std"] / points["qps_mean"]).where(points["repetitions"] > 1)
    points["qps_cv"] = points["qps_cv"].fillna(computed)
    if "noisy" not in points.columns:
        points["noisy"] = False
    helpers = ["qps_min", "qps_max", "qps_mean", "qps_std", *CI_COLUMNS]
    return points.drop(columns=helpers)


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
    """What one plot shows: one setting (corpus by fingerprint and size, k) and one mode."""

    corpus: str
    fingerprint: str
    mode: str
    k: int
    slug: str  # unique in its run: corpus, plus k / fingerprint / sizes when those vary for it
    detail: str = ""  # the setting columns other than k that vary for the corpus, if any

    @property
    def title(self) -> str:
        detail = f", {self.detail}" if self.detail else ""
        return f"{self.corpus}: {self.mode} mode, k={self.k}{detail}"


def panels(points: pd.DataFrame) -> Iterator[tuple[Panel, pd.DataFrame]]:
    """Each panel of the points with its points, a `series` column added (see module doc)."""
    if points.empty:
        return
    differ = {corpus: varying(rows, SETTING) for corpus, rows in points.groupby("corpus")}

    def order(item: tuple[tuple, pd.DataFrame]) -> tuple:
        v = dict(zip(PANEL, item[0], strict=True))
        sizes = (v["k"], v["n_train"], v["n_queries"], v["dim"], str(v["metric"]))
        return (
            str(v["corpus"]),
            str(v["corpus_fingerprint"]),
            MODE_ORDER.get(v["mode"], 9),
            *sizes,
        )

    for key, group in sorted(points.groupby(PANEL, sort=True, dropna=False), key=order):
        values = dict(zip(PANEL, key, strict=True))
        corpus, fingerprint = str(values["corpus"]), str(values["corpus_fingerprint"])
        k = int(values["k"])
        others = [c for c in differ[values["corpus"]] if c not in ("k", "corpus_fingerprint")]
        detail = describe(values, others)
        name = corpus
        if "k" in differ[values["corpus"]]:
            name += f"-k{k}"
        if "corpus_fingerprint" in differ[values["corpus"]]:
            name += f"-{fingerprint[:8]}"
        if detail:
            name += f"-{slug(detail)}"
        panel = Panel(corpus, fingerprint, str(values["mode"]), k, name, detail)
        yield panel, group.assign(series=series_names(group))


def series_names(group: pd.DataFrame) -> pd.Series:
    """The algorithm, with what else tells its curves apart in the panel (threads, library
    version), e.g. `hnswlib (threads=4)` (bench.results.identity.curve_labels)."""
    return curve_labels(group, fixed=PANEL)


def spread_text(point: pd.Series) -> str:
    """`95% CI of median 900–1,100, CV 4.1%` (or `range 900–1,100 over 3 reps, ...` without
    an interval); a noisy point says `noisy (CV 7.3%)` instead of the plain CV."""
    low, high = float(point["qps_low"]), float(point["qps_high"])
    if point["qps_ci"]:
        text = f"95% CI of median {low:,.0f}–{high:,.0f}"
    else:
        text = f"range {low:,.0f}–{high:,.0f} over {int(point['repetitions'])} reps"
    cv = float(point["qps_cv"]) if pd.notna(point["qps_cv"]) else math.nan
    if bool(point["noisy"]):
        return text + (f", noisy (CV {cv:.1%})" if np.isfinite(cv) else ", noisy")
    return text + (f", CV {cv:.1%}" if np.isfinite(cv) else "")
