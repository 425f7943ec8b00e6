"""Scale runs: log-log cost against N per algorithm, with the fitted exponents."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from bench.report.document import Section
from bench.report.figures import LAYOUT, styles
from bench.report.scaling import MEASURES as SCALING_MEASURES
from bench.report.scaling import MIN_RECALL, SCALING_CSV, fit_exponents, scaling_points

TABLE = SCALING_CSV


def section(frame: pd.DataFrame, run_dir: Path) -> Section | None:
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
