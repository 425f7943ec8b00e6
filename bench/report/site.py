"""`bench report --site OUT RUN...`: a static multi-run site, like the ann-benchmarks website.

OUT/index.html links every page; OUT/run/<run>.html is each run's report;
OUT/corpus/<corpus>.html puts every run's measurements of one corpus on the same panels (a
series per algorithm and run); OUT/algorithm/<algorithm>.html follows one algorithm across
corpora and runs. All pages share OUT/plotly.min.js, so the folder works offline from disk
or any static file server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

import pandas as pd

from bench.report import assets, html
from bench.report.document import Section
from bench.report.points import operating_points
from bench.report.summary import build_report, corpora_table, panel_sections
from bench.results.store import read_results
from bench.storage import write_bytes_atomic

PLOTLY_JS = assets.PLOTLY_FILE
SEPARATOR = " · "


def slug(name: str) -> str:
    """A file-name-safe version of a corpus, algorithm or run name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "unnamed"


def run_names(run_dirs: Sequence[Path]) -> list[str]:
    """Each run's folder name, with its parent's name prepended where two would collide."""
    names = [path.resolve().name for path in run_dirs]
    return [
        f"{path.resolve().parent.name}-{name}" if names.count(name) > 1 else name
        for path, name in zip(run_dirs, names, strict=True)
    ]


def all_points(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Operating points of every run, each with its run's name."""
    parts = [operating_points(frame).assign(run=run) for run, frame in frames.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_site(out: Path, run_dirs: Sequence[Path]) -> list[Path]:
    """Write the site into OUT; return the pages written (index first)."""
    names = run_names(run_dirs)
    frames = {name: read_results(path) for name, path in zip(names, run_dirs, strict=True)}
    points = all_points(frames)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / PLOTLY_JS, assets.plotly_js().encode())
    pages: dict[str, list[tuple[str, Path]]] = {"run": [], "corpus": [], "algorithm": []}
    for name, path in zip(names, run_dirs, strict=True):
        report = build_report(path)
        body = _nav() + html.body(report)
        target = out / "run" / f"{slug(name)}.html"
        pages["run"].append((name, _write(target, report.title, body)))
    for corpus, mine in points.groupby("corpus", sort=True):
        several_runs = mine["run"].nunique() > 1
        relabelled = mine.assign(
            algorithm=mine["algorithm"] + SEPARATOR + mine["run"]
            if several_runs
            else mine["algorithm"]
        )
        body = _nav() + _sections([part for _, part in panel_sections(relabelled)])
        target = out / "corpus" / f"{slug(str(corpus))}.html"
        pages["corpus"].append((str(corpus), _write(target, f"Corpus {corpus}", body)))
    for algorithm, mine in points.groupby("algorithm", sort=True):
        relabelled = mine.assign(algorithm=mine["algorithm"] + SEPARATOR + mine["run"])
        body = _nav() + _sections([part for _, part in panel_sections(relabelled)])
        target = out / "algorithm" / f"{slug(str(algorithm))}.html"
        pages["algorithm"].append((str(algorithm), _write(target, f"Algorithm {algorithm}", body)))
    index = out / "index.html"
    write_bytes_atomic(index, _index(out, pages, frames).encode())
    return [index, *(path for group in pages.values() for _, path in group)]


def _write(path: Path, title: str, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, html.page(title, body, f"../{PLOTLY_JS}").encode())
    return path


def _nav() -> str:
    return '<nav><a href="../index.html">index</a></nav>\n'


def _sections(parts: list[Section]) -> str:
    return "\n".join(html.section(part, f"s{i}") for i, part in enumerate(parts))


def _index(
    out: Path, pages: dict[str, list[tuple[str, Path]]], frames: dict[str, pd.DataFrame]
) -> str:
    titles = {"run": "Runs", "corpus": "Corpora", "algorithm": "Algorithms"}
    blocks = []
    for kind, found in pages.items():
        links = "".join(
            f'<li><a href="{escape(path.relative_to(out).as_posix())}">{escape(name)}</a></li>'
            for name, path in found
        )
        blocks.append(f"<h2>{titles[kind]}</h2>\n<ul>{links}</ul>")
    corpora = pd.concat(
        [corpora_table(frame).assign(run=run) for run, frame in frames.items()], ignore_index=True
    )
    blocks.append("<h2>Corpora by run</h2>\n" + html.table(corpora))
    return html.page("Benchmark results", "\n".join(blocks), scripts=False)
