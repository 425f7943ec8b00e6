"""`bench report --site`: one page per distinct run, corpus and algorithm, whatever the names."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from bench.report.site import page_names, run_names, write_site
from bench.results.store import append_rows


def test_page_names_are_distinct_for_names_that_slugify_alike() -> None:
    names = ["c+1", "c=1", "c-1", "C-1", "plain", "c+1", "a/x/r", "b/x/r"]
    pages = page_names(names)
    assert len(pages) == 7 and len({p.lower() for p in pages.values()}) == 7
    assert pages["plain"] == "plain.html" and pages["a/x/r"] == "a-x-r.html"
    assert all(re.fullmatch(r"c-1-[0-9a-f]{8}\.html", pages[n]) for n in ("c+1", "c=1", "c-1"))
    # a name that looks like another's hashed page name cannot take it either
    tricky = [*names, pages["c+1"].removesuffix(".html")]
    assert len({p.lower() for p in page_names(tricky).values()}) == 8


def test_run_names_keep_enough_of_the_path(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "x" / "r", tmp_path / "b" / "x" / "r", tmp_path / "c" / "q"]
    assert run_names(paths) == ["a/x/r", "b/x/r", "q"]


def _copy_as(run_dir: Path, target: Path, corpus: str, algorithm: str) -> Path:
    """The run's rows with its corpus and algorithm renamed (the rest of the run as is)."""
    with open(run_dir / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["corpus"], row["algorithm"] = corpus, algorithm
    append_rows(target, rows)
    return target


def test_site_writes_one_page_per_distinct_name(hnswlib_run: Path, tmp_path: Path) -> None:
    """The hostile probe: corpora `c+1`, `c=1` and runs /a/x/r, /b/x/r shared pages."""
    runs = [
        _copy_as(hnswlib_run, tmp_path / "a" / "x" / "r", "c+1", "algo+1"),
        _copy_as(hnswlib_run, tmp_path / "b" / "x" / "r", "c=1", "algo=1"),
    ]
    out = tmp_path / "site"
    pages = write_site(out, runs)
    assert len(pages) == len(set(pages)) == 1 + 2 + 2 + 2  # index, runs, corpora, algorithms
    assert all(page.exists() for page in pages)
    assert sorted(p.relative_to(out).parts[0] for p in pages[1:]) == (
        ["algorithm"] * 2 + ["corpus"] * 2 + ["run"] * 2
    )
    index = (out / "index.html").read_text()
    links = re.findall(r'href="([^"]+\.html)"', index)
    assert len(links) == len(set(links)) == 6
    for kind, mine, other in (("corpus", "c+1", "c=1"), ("algorithm", "algo+1", "algo=1")):
        for name, not_there in ((mine, other), (other, mine)):
            link = re.search(rf'href="({kind}/[^"]+)">{re.escape(name)}</a>', index).group(1)
            text = (out / link).read_text()
            assert name in text and not_there not in text, (kind, name)
    for run, corpus, other in (("a/x/r", "c+1", "c=1"), ("b/x/r", "c=1", "c+1")):
        link = re.search(rf'href="(run/[^"]+)">{re.escape(run)}</a>', index).group(1)
        text = (out / link).read_text()
        assert corpus in text and other not in text, run
