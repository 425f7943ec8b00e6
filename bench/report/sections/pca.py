"""Image runs: the PCA sweep (accuracy, explained variance, search time against dims)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from bench.report.document import Section
from bench.report.figures import LAYOUT, styles

TABLE = "pca.csv"


def section(frame: pd.DataFrame, run_dir: Path) -> Section | None:
    """The PCA sweep: accuracy, explained variance and search time against dimensions."""
    path = run_dir / TABLE
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
