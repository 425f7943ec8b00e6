"""Recall versus QPS Pareto fronts as static PNGs (seaborn), one per panel.

The PNGs are for the Markdown summary and PR comments; the HTML report draws the same
fronts interactively (bench.report.figures). Noisy points are drawn hollow."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from bench.figures import save_figure
from bench.report.points import operating_points, panels, pareto_front

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")


def plot_pareto(frame: pd.DataFrame, out_dir: Path, mode: str = "single") -> list[Path]:
    """One PNG per panel (corpus, k) of `mode`: each series' front as a line, its points faintly.

    Written as OUT_DIR/pareto-<panel slug>-<mode>.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    sns.set_theme(style="whitegrid")
    colours = sns.color_palette("tab20", 20)
    for panel, group in panels(operating_points(frame, mode)):
        fig, ax = plt.subplots(figsize=(10, 6.5))
        for i, (series, mine) in enumerate(sorted(group.groupby("series"))):
            front = pareto_front(mine)
            color, marker = colours[i % 20], MARKERS[i % len(MARKERS)]
            quiet, noisy = mine[~mine["noisy"]], mine[mine["noisy"]]
            ax.scatter(quiet["recall"], quiet["qps"], color=color, alpha=0.25, s=12, marker=marker)
            ax.scatter(  # noisy points hollow, as in the interactive plots
                noisy["recall"],
                noisy["qps"],
                facecolors="none",
                edgecolors=[color],
                s=30,
                marker=marker,
                linewidths=1,
            )
            ax.plot(front["recall"], front["qps"], marker=marker, ms=5, color=color, label=series)
        ax.set_yscale("log")
        ax.set_xlabel(f"recall@{panel.k}")
        ax.set_ylabel(f"queries per second ({mode} mode, median of repetitions, log)")
        ax.set_title(f"{panel.title}: recall vs QPS (up and right is better)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        fig.tight_layout()
        path = out_dir / f"pareto-{panel.slug}-{mode}.png"
        written.append(save_figure(fig, path))
    return written
