"""Recall versus QPS Pareto fronts per corpus, one colour per algorithm (seaborn, PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")
POINT_KEYS = ["corpus", "algorithm", "build_params", "query_params", "mode", "threads"]


def operating_points(frame: pd.DataFrame, mode: str = "single") -> pd.DataFrame:
    """One point per parameter setting: recall (mean) and the median QPS of its repetitions."""
    ok = frame[(frame["status"] == "ok") & (frame["mode"] == mode)]
    if ok.empty:
        return ok.assign(qps=[], recall=[])
    return ok.groupby(POINT_KEYS, as_index=False).agg(
        recall=("recall", "mean"),
        qps=("qps", "median"),
        label=("label", "first"),
        build_s=("build_s", "median"),
        index_bytes=("index_bytes", "first"),
    )


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """Points not beaten on both recall and QPS by another point, by increasing recall."""
    ordered = points.sort_values(["recall", "qps"], ascending=[False, False])
    best_qps = ordered["qps"].cummax().shift(fill_value=-1.0)
    front = ordered[ordered["qps"] > best_qps]
    return front.sort_values("recall")


def plot_pareto(frame: pd.DataFrame, out_dir: Path, mode: str = "single") -> list[Path]:
    """One PNG per corpus: each algorithm's front as a line, all its points faintly."""
    out_dir.mkdir(parents=True, exist_ok=True)
    points = operating_points(frame, mode)
    written = []
    sns.set_theme(style="whitegrid")
    for corpus, group in points.groupby("corpus"):
        algorithms = sorted(group["algorithm"].unique())
        colours = sns.color_palette("tab20", 20)
        fig, ax = plt.subplots(figsize=(10, 6.5))
        for i, algorithm in enumerate(algorithms):
            mine = group[group["algorithm"] == algorithm]
            front = pareto_front(mine)
            color, marker = colours[i % 20], MARKERS[i % len(MARKERS)]
            ax.scatter(mine["recall"], mine["qps"], color=color, alpha=0.25, s=12, marker=marker)
            ax.plot(
                front["recall"], front["qps"], marker=marker, ms=5, color=color, label=algorithm
            )
        ax.set_yscale("log")
        ax.set_xlabel("recall@k")
        ax.set_ylabel(f"queries per second ({mode} mode, median of repetitions, log)")
        ax.set_title(f"{corpus}: recall vs QPS (up and right is better)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        fig.tight_layout()
        path = out_dir / f"pareto-{corpus}-{mode}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
