"""Image runs: t-SNE of each extractor's test features; hovering a point shows its image.

Plotly's hover label cannot show an image, so each point carries its thumbnail (a data URI
from RUN_DIR/tsne.csv) as the first item of its customdata, and the page's small hover
script (bench/report/static/image-hover.js) shows that image beside the cursor; the label
itself names the class and file. Everything stays inside the one HTML file.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from bench.report.document import Section
from bench.report.figures import COLOURS, LAYOUT

TABLE = "tsne.csv"


def figure(model: str, points: pd.DataFrame) -> go.Figure:
    """One trace per class (legend: click hides a class, double click isolates it)."""
    fig = go.Figure()
    for i, (name, mine) in enumerate(points.groupby("class", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=mine["x"].to_numpy(dtype=float),
                y=mine["y"].to_numpy(dtype=float),
                name=str(name),
                mode="markers",
                marker={"color": COLOURS[i % len(COLOURS)], "size": 7},
                customdata=list(
                    zip(
                        mine["thumbnail"].fillna("").astype(str),
                        mine["path"].astype(str).map(escape),
                        strict=True,
                    )
                ),
                hovertemplate=f"<b>{escape(str(name))}</b><br>%{{customdata[1]}}<extra></extra>",
            )
        )
    fig.update_layout(
        **LAYOUT,
        title={"text": f"{model}: t-SNE of the test split (hover: image and class)"},
        xaxis={"showticklabels": False, "zeroline": False},
        yaxis={"showticklabels": False, "zeroline": False},
        legend={"font": {"size": 10}, "itemclick": "toggle", "itemdoubleclick": "toggleothers"},
    )
    return fig


def section(frame: pd.DataFrame, run_dir: Path) -> Section | None:
    path = run_dir / TABLE
    if not path.exists():
        return None
    table = pd.read_csv(path, keep_default_na=False, na_values={"x": [""], "y": [""]})
    models = sorted(table["model"].astype(str).unique())
    figures = tuple(figure(model, table[table["model"] == model]) for model in models)
    pngs = [run_dir / "plots" / f"tsne-{model}.png" for model in models]
    counts = table.groupby("model").agg(points=("x", "size"), classes=("class", "nunique"))
    return Section(
        "t-SNE of image features",
        "Test-split features of each extractor in two dimensions (PCA to 50, then t-SNE); "
        "nearby points are images the features find similar. Hover a point to see the image "
        "and its class (a seeded sample of the test split when it is large).",
        counts.reset_index(),
        tuple(png for png in pngs if png.exists()),
        figures=figures,
    )
