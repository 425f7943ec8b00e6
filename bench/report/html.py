"""Render a report as one self-contained HTML file: inline CSS, PNGs as base64 data URIs,
interactive plotly figures with plotly.js embedded once in the page.

Nothing in the page loads from anywhere else (no CDN, fonts, stylesheets or links), so it can
be attached to a CI run or mailed and still works offline. A multi-page site (bench.report.site)
instead points every page at one shared plotly.min.js beside them.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from bench.report import assets
from bench.report.document import Report, Section
from bench.storage import write_bytes_atomic

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1500px; padding: 0 1em; color: #222; background: #fff; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(620px, 1fr));
           gap: 1em; }
.figure { border: 1px solid #eee; min-height: 470px; }
nav a { margin-right: 1em; }
h1 { border-bottom: 2px solid #446; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccd; }
p { max-width: 60em; line-height: 1.4; }
table { border-collapse: collapse; margin: .8em 0; font-size: 13px; }
th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: left; vertical-align: top;
         white-space: pre-wrap; }
th { background: #eef; }
tr:nth-child(even) td { background: #f8f8fc; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #666; }
"""


def data_uri(image: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(image.read_bytes()).decode("ascii")


def table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p><em>(empty)</em></p>"
    return frame.to_html(index=False, escape=True, border=0, na_rep="")


def figure(fig: go.Figure, div_id: str) -> str:
    """A placeholder div and the figure's JSON; the page's loader draws it when it is near
    the viewport (static/lazy-figures.js). `</` is escaped so the JSON cannot end its tag."""
    spec = fig.to_json().replace("</", "<\\/")
    return (
        f'<div class="figure" id="{div_id}" data-figure="1"></div>'
        f'<script type="application/json" id="{div_id}-data">{spec}</script>'
    )


def section(part: Section, anchor: str) -> str:
    """A section; its figures when it has any, else its images (PNG)."""
    level = min(max(part.level, 1), 6)
    blocks = [f'<h{level} id="{anchor}">{escape(part.title)}</h{level}>']
    if part.text:
        blocks.append(f"<p>{escape(part.text)}</p>")
    if part.figures:
        blocks.append(
            '<div class="figures">'
            + "".join(figure(fig, f"{anchor}-f{i}") for i, fig in enumerate(part.figures))
            + "</div>"
        )
    else:
        blocks += [
            f'<figure><img src="{data_uri(image)}" alt="{escape(image.stem)}">'
            f"<figcaption>{escape(image.name)}</figcaption></figure>"
            for image in part.images
        ]
    if part.table is not None:
        blocks.append(table(part.table))
    return "<section>\n" + "\n".join(blocks) + "\n</section>"


def plotly_script(source: str | None) -> str:
    """plotly.js inline (source None) or from a relative file path."""
    if source is None:
        return f"<script>{assets.plotly_js()}</script>"
    return f'<script src="{escape(source)}"></script>'


def page(title: str, body: str, plotly_source: str | None = None, scripts: bool = True) -> str:
    """A whole HTML page; plotly.js and the figure loader only when `scripts` (it has figures)."""
    head = plotly_script(plotly_source) if scripts else ""
    tail = f"<script>{assets.loader_js()}</script>" if scripts else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n{head}\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n{tail}\n</body>\n</html>\n"
    )


def body(report: Report) -> str:
    return "\n".join(section(part, f"s{i}") for i, part in enumerate(report.sections))


def render(report: Report, plotly_source: str | None = None) -> str:
    has_figures = any(part.figures for part in report.sections)
    return page(report.title, body(report), plotly_source, scripts=has_figures)


def write(report: Report, path: Path, plotly_source: str | None = None) -> Path:
    write_bytes_atomic(path, render(report, plotly_source).encode())
    return path
