"""Interactive figures of a run's other tables: scaling curves (scale runs) and, for image
runs, retrieval quality bars and the PCA sweep.

Each function returns a report Section (figures for HTML, the stage's PNGs for Markdown, the
table) or None when the run has no such table. Tables shown here are not repeated by
`summary.discover_sections`; `TABLES` names them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from bench.report.document import Section
from bench.report.figures import LAYOUT, styles
from bench.report.scaling import MEASURES as SCALING_MEASURES
from bench.report.scaling import MIN_RECALL, SCALING_CSV, fit_exponents, scaling_points

QUALITY_CSV = "quality.csv"
PCA_CSV = "pca.csv"
TABLES = (SCALING_CSV, QUALITY_CSV, PCA_CSV)


def scaling_section(frame: pd.DataFrame, run_dir: Path) -> Section | None:
    """Log-log cost against N per algorithm, the fitted exponent in each legend entry.

    Drawn when the run has RUN_DIR/scaling.csv (written with the scaling PNGs); the fits are
    read from it, the points recomputed the same way (bench.report.scaling)."""
    path = run_dir / SCALING_CSV
    if not path.exists():
        return None
    points = scaling_points(frame, run_dir)
    fits = pd.read_csv(path) if path.stat().st_size else fit_exponents(points)
    palette = styles(list(points["algorithm"]))
    figures = []
    for measure, title in SCALING_MEASURES.items():
        mine = points[points["measure"] == measure]
        if mine.empty:
            continue
        title = title.format(min_recall=MIN_RECALL)
        fig = go.Figure()
        for algorithm, curve in mine.groupby("algorithm", sort=True):
            fit = fits[(fits["algorithm"] == algorithm) & (fits["measure"] == measure)]
            exponent = f" (N^{fit['exponent'].iloc[0]:.2f})" if not fit.empty else ""
            colour, symbol = palette[str(algorithm)]
            fig.add_trace(
                go.Scatter(
                    x=curve["n_train"].to_numpy(),
                    y=curve["value"].to_numpy(dtype=float),
                    name=f"{algorithm}{exponent}",
                    mode="lines+markers",
                    marker={"color": colour, "symbol": symbol},
                    line={"color": colour},
                    hovertemplate=f"<b>{algorithm}</b>{exponent}<br>N %{{x:,}}<br>"
                    f"{title} %{{y:.4g}}<extra></extra>",
                )
            )
        fig.update_layout(
            title={"text": f"{title} against N (legend: fitted exponent)"},
            xaxis={"type": "log", "title": {"text": "train vectors N (log)"}},
            yaxis={"type": "log", "title": {"text": f"{title} (log)"}},
            **LAYOUT,
        )
        figures.append(fig)
    images = tuple(sorted((run_dir / "plots").glob("scaling-*.png")))
    return Section(
        "Scaling",
        "Cost against corpus size on log-log axes; exponents fitted by least squares on "
        f"log10(cost) = exponent * log10(N) + intercept (from {SCALING_CSV}).",
        fits,
        images,
        figures=tuple(figures),
    )


def quality_section(run_dir: Path) -> Section | None:
    """Image retrieval quality per extractor: P@k and mAP bars, one group per protocol."""
    path = run_dir / QUALITY_CSV
    if not path.exists():
        return None
    table = pd.read_csv(path)
    scores = [c for c in table.columns if re.fullmatch(r"(p|map)_at_\d+", c)]
    figures = []
    for protocol, group in table.groupby("protocol", sort=True):
        fig = go.Figure()
        for i, score in enumerate(scores):
            fig.add_trace(
                go.Bar(
                    x=group["model"].astype(str).tolist(),
                    y=group[score].to_numpy(dtype=float),
                    name=score.replace("p_at_", "P@").replace("map_at_", "mAP@"),
                    marker={"color": qualitative.Set2[i % len(qualitative.Set2)]},
                    hovertemplate="%{x}<br>%{fullData.name} %{y:.4f}<extra></extra>",
                )
            )
        fig.update_layout(
            title={"text": f"Retrieval quality ({protocol})"},
            barmode="group",
            yaxis={"title": {"text": "score"}, "range": [0, 1]},
            **LAYOUT,
        )
        figures.append(fig)
    return Section(
        "Image retrieval quality",
        "Class precision P@k and mAP@10 of exact search on each extractor's features.",
        table,
        figures=tuple(figures),
    )


def pca_section(run_dir: Path) -> Section | None:
    """The PCA sweep: accuracy, explained variance and search time against dimensions."""
    path = run_dir / PCA_CSV
    if not path.exists():
        return None
    table = pd.read_csv(path)
    palette = styles(list(table["model"].astype(str)))
    figures = []
    for column, title in (
        ("p_at_1", "P@1 (train/test)"),
        ("explained_variance", "explained variance"),
        ("search_ms_per_query", "exact search ms / query"),
    ):
        if column not in table.columns:
            continue
        fig = go.Figure()
        for model, curve in table.sort_values("dims").groupby("model", sort=True):
            colour, symbol = palette[str(model)]
            fig.add_trace(
                go.Scatter(
                    x=curve["dims"].to_numpy(),
                    y=curve[column].to_numpy(dtype=float),
                    name=str(model),
                    mode="lines+markers",
                    marker={"color": colour, "symbol": symbol},
                    line={"color": colour},
                    hovertemplate=f"<b>{model}</b><br>%{{x}} dimensions<br>{title} "
                    "%{y:.4g}<extra></extra>",
                )
            )
        fig.update_layout(
            title={"text": f"PCA sweep: {title}"},
            xaxis={"type": "log", "title": {"text": "PCA dimensions (log)"}},
            yaxis={"title": {"text": title}},
            **LAYOUT,
        )
        figures.append(fig)
    png = run_dir / "plots" / "pca-sweep.png"
    return Section(
        "PCA sweep",
        "PCA fitted on the train split only.",
        table,
        (png,) if png.exists() else (),
        figures=tuple(figures),
    )


def run_sections(frame: pd.DataFrame, run_dir: Path) -> list[Section]:
    """Every section of this module that the run has material for."""
    found = [scaling_section(frame, run_dir), quality_section(run_dir), pca_section(run_dir)]
    return [section for section in found if section is not None]
