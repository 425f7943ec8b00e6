"""The shape of a report, independent of its format: a title and a list of sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go


@dataclass(frozen=True)
class Section:
    """One titled part of a report: an optional paragraph, table and images (PNG paths).

    `figures` are the interactive versions of the images: the HTML report draws them instead
    of the images when there are any, the Markdown summary always shows the images."""

    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    images: tuple[Path, ...] = ()
    level: int = 2  # heading level: 2 for top-level parts, 3 inside them
    figures: tuple[go.Figure, ...] = ()


@dataclass(frozen=True)
class Report:
    title: str
    run_dir: Path
    sections: list[Section] = field(default_factory=list)
