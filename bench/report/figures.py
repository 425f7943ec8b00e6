"""Interactive (plotly) figures of one panel: recall against QPS, build time, index size and
p99 latency, P@k against QPS, and QPS at recall targets as bars.

Every point's hover names its series and parameter label with recall, QPS and its spread
(the 95 % interval of the median), build time, index size and p99 latency. On QPS plots a
noisy point (QPS CV over its repetitions above bench.metrics.spread.NOISY_CV) is drawn with
an open marker and its hover says `noisy (CV x%)`. A series is one legend entry (click hides it,
double click isolates it) grouping its Pareto front (line) and all its points (faint).

Recall axes start on a "high-recall" scale, x = -log10(1 - recall) with ticks written as
recall, because near recall 1 is where curves bunch up and where choices are made; a button
in the plot switches to plain recall and back. Plotly has no logit axis, so both versions of
every trace's x values are in the figure and the buttons swap them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from bench.report.points import Panel, pareto_front, spread_text

COLOURS = qualitative.Dark24 + qualitative.Light24
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "triangle-down", "cross", "star")
RECALL_CAP = 0.9999  # a recall of 1 has no finite -log10(1 - recall); drawn at this one
SPREAD_TICKS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, RECALL_CAP)
SPREAD_BUTTON = "high-recall axis"
LINEAR_BUTTON = "linear recall axis"
HEIGHT = 470
# plotly (Python) embeds its default template, about 10 kB of JSON, in every figure unless
# given one; an empty template leaves plotly.js's own light defaults and draws faster.
LAYOUT = {"template": go.layout.Template(), "height": HEIGHT, "hovermode": "closest"}


@dataclass(frozen=True)
class Measure:
    column: str
    title: str
    higher_is_better: bool
    scale: float = 1.0  # shown value = column value * scale


MEASURES = (
    Measure("qps", "queries per second", True),
    Measure("build_s", "build time (s)", False),
    Measure("index_bytes", "index size (MB)", False, 2.0**-20),
    Measure("latency_p99_ms", "p99 latency (ms)", False),
)
QPS = MEASURES[0]


def styles(series: list[str]) -> dict[str, tuple[str, str]]:
    """A colour and marker symbol per series name, stable for a given set of names."""
    return {
        name: (COLOURS[i % len(COLOURS)], SYMBOLS[i % len(SYMBOLS)])
        for i, name in enumerate(sorted(set(series)))
    }


def spread_recall(recall: np.ndarray) -> np.ndarray:
    """-log10(1 - recall), recall capped at RECALL_CAP: 0.9 -> 1, 0.99 -> 2, 0.999 -> 3."""
    return -np.log10(1.0 - np.minimum(np.asarray(recall, dtype=float), RECALL_CAP))


def hover_text(point: pd.Series, k: int) -> str:
    """Everything a point stands for, as plotly hover HTML."""
    lines = [
        f"<b>{escape(str(point['series']))}</b>",
        escape(str(point["label"])),
        f"recall@{k} {point['recall']:.4f}",
        f"QPS {point['qps']:,.0f} ({spread_text(point)})",
        f"build {point['build_s']:.2f} s" if pd.notna(point["build_s"]) else "",
        f"index {point['index_bytes'] / 2**20:.2f} MB" if pd.notna(point["index_bytes"]) else "",
        f"p99 latency {point['latency_p99_ms']:.3f} ms"
        if pd.notna(point["latency_p99_ms"])
        else "",
        f"P@{k} {point['precision_at_k']:.4f}, mAP@{k} {point['map_at_k']:.4f}"
        if pd.notna(point["precision_at_k"])
        else "",
    ]
    return "<br>".join(line for line in lines if line)


def front_figure(
    panel: Panel,
    points: pd.DataFrame,
    measure: Measure,
    palette: dict[str, tuple[str, str]],
    x: str = "recall",
) -> go.Figure | None:
    """`measure` against recall (or P@k) for each series of a panel; None without values."""
    points = points[points[measure.column].notna() & points[x].notna()]
    if points.empty:
        return None
    hover = {index: hover_text(point, panel.k) for index, point in points.iterrows()}
    fig = go.Figure()
    for series, mine in points.groupby("series", sort=True):
        colour, symbol = palette[str(series)]
        front = pareto_front(mine, measure.column, measure.higher_is_better, x)
        for part, is_front in ((mine, False), (front, True)):
            fig.add_trace(
                go.Scatter(
                    x=part[x].to_numpy(dtype=float),
                    y=part[measure.column].to_numpy(dtype=float) * measure.scale,
                    name=str(series),
                    legendgroup=str(series),
                    showlegend=is_front,
                    mode="lines+markers" if is_front else "markers",
                    marker={
                        "color": colour,
                        "symbol": _symbols(part, symbol, measure.column == "qps"),
                        "size": 7 if is_front else 6,
                    },
                    line={"color": colour, "width": 1.5},
                    opacity=1.0 if is_front else 0.3,
                    hovertext=[hover[i] for i in part.index],
                    hovertemplate="%{hovertext}<extra></extra>",
                )
            )
    x_title = f"recall@{panel.k}" if x == "recall" else f"P@{panel.k} (class precision)"
    fig.update_layout(
        **LAYOUT,
        title={"text": f"{panel.title}: {x_title.split(' ')[0]} vs {measure.title}"},
        yaxis={"title": {"text": f"{measure.title} (log)"}, "type": "log"},
        xaxis={"title": {"text": x_title}},
        margin={"l": 70, "r": 10, "t": 70, "b": 50},
        legend={"font": {"size": 11}, "itemclick": "toggle", "itemdoubleclick": "toggleothers"},
    )
    if x == "recall":
        _recall_axis_buttons(fig, panel.k)
    return fig


def _symbols(points: pd.DataFrame, symbol: str, mark_noisy: bool) -> str | list[str]:
    """The series' symbol, open for noisy points when `mark_noisy` (their QPS moved)."""
    if not mark_noisy or not points["noisy"].any():
        return symbol
    return [f"{symbol}-open" if noisy else symbol for noisy in points["noisy"]]


def _recall_axis_buttons(fig: go.Figure, k: int) -> None:
    """Start on the high-recall axis; buttons switch between it and plain recall."""
    linear = [np.asarray(trace.x, dtype=float) for trace in fig.data]
    spread = [spread_recall(values) for values in linear]
    ticks = spread_recall(np.array(SPREAD_TICKS))
    labels = [f"{t:g}" for t in SPREAD_TICKS[:-1]] + ["1"]
    spread_axis = {
        "xaxis.title.text": f"recall@{k}, high-recall scale: -log10(1 - recall)",
        "xaxis.tickmode": "array",
        "xaxis.tickvals": list(ticks),
        "xaxis.ticktext": labels,
        "xaxis.autorange": True,
    }
    linear_axis = {
        "xaxis.title.text": f"recall@{k}",
        "xaxis.tickmode": "auto",
        "xaxis.tickvals": None,
        "xaxis.ticktext": None,
        "xaxis.autorange": True,
    }
    for trace, values in zip(fig.data, spread, strict=True):
        trace.x = values
    fig.update_xaxes(
        title_text=spread_axis["xaxis.title.text"],
        tickmode="array",
        tickvals=spread_axis["xaxis.tickvals"],
        ticktext=labels,
    )
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0.0,
                "xanchor": "left",
                "y": 1.02,
                "yanchor": "bottom",
                "showactive": True,
                "active": 0,
                "pad": {"t": 2, "b": 2},
                "font": {"size": 11},
                "buttons": [
                    {
                        "label": SPREAD_BUTTON,
                        "method": "update",
                        "args": [{"x": spread}, spread_axis],
                    },
                    {
                        "label": LINEAR_BUTTON,
                        "method": "update",
                        "args": [{"x": linear}, linear_axis],
                    },
                ],
            }
        ],
        margin={"t": 95},
    )


def qps_bars(panel: Panel, tidy: pd.DataFrame) -> go.Figure | None:
    """QPS at each recall target per series (log bars); hover: parameters and cost there."""
    reached = tidy[tidy["qps"].notna()]
    if reached.empty:
        return None
    colours = qualitative.Set2
    fig = go.Figure()
    for i, (target, group) in enumerate(reached.groupby("target", sort=True)):
        hover = [
            f"<b>{escape(str(row.series))}</b><br>{escape(str(row.label))}<br>"
            f"QPS {row.qps:,.0f} at recall {target:g}<br>build {row.build_s:.2f} s"
            + (f"<br>index {row.index_bytes / 2**20:.2f} MB" if _known(row.index_bytes) else "")
            for row in group.itertuples()
        ]
        fig.add_trace(
            go.Bar(
                x=group["series"].astype(str).tolist(),
                y=group["qps"].to_numpy(dtype=float),
                name=f"recall ≥ {target:g}",
                marker={"color": colours[i % len(colours)]},
                hovertext=hover,
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    fig.update_layout(
        **LAYOUT,
        title={"text": f"{panel.title}: QPS at recall targets (interpolated on each front)"},
        barmode="group",
        yaxis={"title": {"text": "queries per second (log)"}, "type": "log"},
        xaxis={"categoryorder": "category ascending", "tickangle": -35},
        margin={"l": 70, "r": 10, "t": 60, "b": 110},
    )
    return fig


def panel_figures(
    panel: Panel, points: pd.DataFrame, palette: dict[str, tuple[str, str]]
) -> list[go.Figure]:
    """The panel's recall plots (QPS, build time, index size, p99 latency), then P@k vs QPS
    when the corpus has labels; measures without values are left out."""
    figures = [front_figure(panel, points, measure, palette) for measure in MEASURES]
    if points["precision_at_k"].notna().any():
        figures.insert(1, front_figure(panel, points, QPS, palette, x="precision_at_k"))
    return [figure for figure in figures if figure is not None]


def _known(value: object) -> bool:
    try:
        return not math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
