"""Render a report as one self-contained HTML file: inline CSS, PNGs as base64 data URIs.

Nothing in the page loads from anywhere else (no scripts, fonts, stylesheets or links), so
it can be attached to a CI run or mailed and still shows everything.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import pandas as pd

from bench.report.summary import Report, Section
from bench.storage import write_bytes_atomic

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; background: #fff; }
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


def section(part: Section) -> str:
    level = min(max(part.level, 1), 6)
    blocks = [f"<h{level}>{escape(part.title)}</h{level}>"]
    if part.text:
        blocks.append(f"<p>{escape(part.text)}</p>")
    blocks += [
        f'<figure><img src="{data_uri(image)}" alt="{escape(image.stem)}">'
        f"<figcaption>{escape(image.name)}</figcaption></figure>"
        for image in part.images
    ]
    if part.table is not None:
        blocks.append(table(part.table))
    return "<section>\n" + "\n".join(blocks) + "\n</section>"


def render(report: Report) -> str:
    body = "\n".join(section(part) for part in report.sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(report.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(report.title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def write(report: Report, path: Path) -> Path:
    write_bytes_atomic(path, render(report).encode())
    return path
