"""Image runs: retrieval quality bars (P@k, mAP) per extractor and protocol."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from bench.report.document import Section
from bench.report.figures import LAYOUT

TABLE = "quality.csv"


def section(frame: pd.DataFrame, run_dir: Path) -> Section | None:
    """Image retrieval quality per extractor: P@k and mAP bars, one group per protocol."""
    path = run_dir / TABLE
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
