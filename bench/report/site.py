"""`bench report --site OUT RUN...`: a static multi-run site, like the ann-benchmarks website.

OUT/index.html links every page; OUT/run/<run>.html is each run's report;
OUT/corpus/<corpus>.html puts every run's measurements of one corpus on the same panels (a
series per algorithm and run); OUT/algorithm/<algorithm>.html follows one algorithm across
corpora and runs. A page's file name is the name's slug, with a short hash of the name
added when two names share a slug (`c+1`, `c=1`), so no page replaces another. All pages
share OUT/plotly.min.js, so the folder works offline from disk or any static file server.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
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


def page_names(names: Sequence[str]) -> dict[str, str]:
    """Each distinct name's page file name: its slug, plus a short hash of the name itself
    for every name whose slug another shares (`c+1` and `c=1` both slugify to `c-1`; case
    is ignored, as some file systems do), so no page overwrites another."""
    unique = list(dict.fromkeys(names))
    slugs = {name: slug(name) for name in unique}
    shared = Counter(s.lower() for s in slugs.values())
    pages = {
        name: f"{s}-{_short_hash(name)}" if shared[s.lower()] > 1 else s
        for name, s in slugs.items()
    }
    if len({page.lower() for page in pages.values()}) < len(pages):  # a slug like `x-1a2b3c4d`
        pages = {name: f"{s}-{_short_hash(name)}" for name, s in slugs.items()}
    return {name: f"{page}.html" for name, page in pages.items()}


def _short_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def run_names(run_dirs: Sequence[Path]) -> list[str]:
    """Each run's name: its folder's name, or as many trailing path parts as tell it apart
    from the other runs (`/a/x/r` and `/b/x/r` become `a/x/r` and `b/x/r`)."""
    parts = [path.resolve().parts for path in run_dirs]
    names = []
    for mine in parts:
        depth = 1
        while depth < len(mine) and any(
            other != mine and other[-depth:] == mine[-depth:] for other in parts
        ):
            depth += 1
        names.append("/".join(mine[-depth:]))
    return names


def all_points(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Operating points of every run, each with its run's name."""
    parts = [operating_points(frame).assign(run=run) for run, frame in frames.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_site(out: Path, run_dirs: Sequence[Path]) -> list[Path]:
    """Write the site into OUT; return the pages written (index first)."""
    run_dirs = list(dict.fromkeys(path.resolve() for path in run_dirs))  # each run once
    names = run_names(run_dirs)
    frames = {name: read_results(path) for name, path in zip(names, run_dirs, strict=True)}
    points = all_points(frames)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / PLOTLY_JS, assets.plotly_js().encode())
    pages: dict[str, list[tuple[str, Path]]] = {"run": [], "corpus": [], "algorithm": []}
    files = {
        "run": page_names(names),
        "corpus": page_names(points["corpus"].astype(str).tolist()),
        "algorithm": page_names(points["algorithm"].astype(str).tolist()),
    }
    for name, path in zip(names, run_dirs, strict=True):
        report = build_report(path)
        body = _nav() + html.body(report)
        target = out / "run" / files["run"][name]
        pages["run"].append((name, _write(target, report.title, body)))
    for corpus, mine in points.groupby("corpus", sort=True):
        several_runs = mine["run"].nunique() > 1
        relabelled = mine.assign(
            algorithm=mine["algorithm"] + SEPARATOR + mine["run"]
            if several_runs
            else mine["algorithm"]
        )
        body = _nav() + _sections([part for _, part in panel_sections(relabelled)])
        target = out / "corpus" / files["corpus"][str(corpus)]
        pages["corpus"].append((str(corpus), _write(target, f"Corpus {corpus}", body)))
    for algorithm, mine in points.groupby("algorithm", sort=True):
        relabelled = mine.assign(algorithm=mine["algorithm"] + SEPARATOR + mine["run"])
        body = _nav() + _sections([part for _, part in panel_sections(relabelled)])
        target = out / "algorithm" / files["algorithm"][str(algorithm)]
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
