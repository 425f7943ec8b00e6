"""`bench report`: a real run (exact, approximate-ish and failing adapters) turned into
report.md and a self-contained interactive report.html (the browser side is in
test_report_browser.py)."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from bench.errors import BenchError
from bench.report.figures import LINEAR_BUTTON, SPREAD_BUTTON, spread_recall
from bench.report.points import operating_points, panels, pareto_front, spread_text
from bench.report.rescore import rescore_frame
from bench.report.summary import qps_at_recall
from bench.results.store import append_rows, drop_jobs, read_results, write_parquet
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from tests.conftest import TINY_DATASETS, point_at_tiny_setup


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A finished run on two tiny corpora, plus an extra table and an extra plot."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        point_at_tiny_setup(patch, root, cache_dir)  # registers the test-* algorithms
        suite = Suite(
            name="report",
            datasets=tuple(TINY_DATASETS),
            grid="test",
            algorithms=("test-exact", "test-inaccurate", "test-raising"),
            repetitions=2,
            warmup=5,
            batch_threads=1,
            build_threads=1,
            timeout_s=60,
            memory_limit_gb=2,
        )
        run_suite(suite, root / "run", show_progress=False)
    run = root / "run"
    # what later features drop into a run directory: a table and a plot
    pd.DataFrame(
        {"extractor": ["resnet18", "efficientnet"], "images_per_s": [312.5, 201.0]}
    ).to_csv(run / "extractors.csv", index=False)
    (run / "plots").mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 4, 8], [10, 19, 35, 60], marker="o")
    ax.set_title("scaling")
    fig.savefig(run / "plots" / "scaling-demo.png")
    plt.close(fig)
    return run


def bench(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def report(run_dir: Path) -> dict[str, str]:
    result = bench("report", run_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return {name: (run_dir / f"report.{name}").read_text() for name in ("md", "html")}


class Images(HTMLParser):
    """Collects every src/href of a page and every <img> src."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.references: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = {name: value or "" for name, value in attrs}
        if tag == "img":
            self.images.append(found.get("src", ""))
        self.references += [found[name] for name in ("src", "href", "action") if name in found]


def parse(html: str) -> Images:
    parser = Images()
    parser.feed(html)
    return parser


def test_qps_at_recall_interpolates_log_qps_on_the_front() -> None:
    front = pd.DataFrame(
        {"recall": [0.8, 0.92, 0.995], "qps": [1000.0, 500.0, 100.0], "label": ["a", "b", "c"]}
    )
    qps, point = qps_at_recall(front, 0.9)
    expected = math.exp(math.log(1000) + (0.1 / 0.12) * (math.log(500) - math.log(1000)))
    assert qps == pytest.approx(expected) and point["label"] == "b"
    assert qps_at_recall(front, 0.5)[0] == 1000.0  # below the front: its fastest point
    assert qps_at_recall(front, 0.92)[0] == 500.0
    assert qps_at_recall(front, 0.999) is None  # never reached


def test_markdown_report_has_every_part(run_dir: Path, report: dict[str, str]) -> None:
    md = report["md"]
    for corpus in TINY_DATASETS:
        assert f"## Corpus {corpus}" in md
        for mode in ("single", "batch"):
            assert f"### {corpus}: {mode} mode" in md
            assert f"(plots/pareto-{corpus}-{mode}.png)" in md
            assert (run_dir / "plots" / f"pareto-{corpus}-{mode}.png").exists()
    assert "| algorithm | max recall | QPS @0.9 | QPS @0.95 | QPS @0.99 |" in md
    # the exact adapter reaches every target; the inaccurate one (~2/3 of first neighbours
    # kept in single mode) reaches 0.9 or not depending on the corpus, but never 0.99
    exact = next(line for line in md.splitlines() if line.startswith("| test-exact |"))
    assert all(cell.strip() for cell in exact.split("|")[3:6])
    assert "## Failures" in md and "test-raising" in md and "always fails to build" in md
    frame = pd.read_csv(run_dir / "results.csv", dtype=str, keep_default_na=False)
    for fact in (
        "## Environment",
        "### Library versions",
        "### Corpora",
        "### Invocations",
        *frame["corpus_fingerprint"].unique(),
        *frame["run_id"].unique(),
        frame["host"].iloc[0],
        frame["python"].iloc[0],
    ):
        assert fact in md, fact
    assert "## Table extractors" in md and "| resnet18 | 312.5 |" in md
    assert "## More plots" in md and "(plots/scaling-demo.png)" in md
    assert md.count("pareto-tiny-euclidean-single.png") == 1  # shown once, not in the gallery


def test_html_report_is_self_contained(report: dict[str, str]) -> None:
    html = report["html"]
    page = parse(html)
    assert len(page.images) == 1  # the extra plot; the Pareto plots are interactive figures
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.references == page.images, "no external references (no script src, no link)"
    assert not page.tags & {"link", "iframe", "object", "embed"}
    assert html.count("plotly.js (basic - minified)") == 1  # plotly.js embedded once
    assert "@import" not in html
    figures = re.findall(r'<script type="application/json" id="([^"]+)-data">', html)
    # 2 corpora x 2 modes x (recall vs QPS, build time, index size, QPS@recall bars), plus
    # p99 latency in single mode and P@k vs QPS on the labelled (clustered) corpus
    assert len(figures) == 2 * 2 * 4 + 2 + 2
    assert all(f'<div class="figure" id="{name}" data-figure="1">' in html for name in figures)
    assert "always fails to build" in html and "<table" in html and "resnet18" in html


def test_figures_carry_hover_and_axis_switch(report: dict[str, str]) -> None:
    html = report["html"]
    first = re.search(r'<script type="application/json" id="[^"]+-data">(.*?)</script>', html)
    spec = json.loads(first.group(1).replace("<\\/", "</"))
    names = {trace["name"] for trace in spec["data"] if trace.get("showlegend")}
    assert names == {"test-exact", "test-inaccurate"}
    hover = " ".join(text for trace in spec["data"] for text in trace["hovertext"])
    assert "QPS" in hover and "95% CI of median" in hover and "p99 latency" in hover
    buttons = spec["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == [SPREAD_BUTTON, LINEAR_BUTTON]


def test_report_reads_parquet(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    write_parquet(copy)
    (copy / "results.csv").unlink()
    result = bench("report", copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "always fails to build" in (copy / "report.md").read_text()
    assert "results.parquet" not in (copy / "report.md").read_text()


def test_points_keep_k_and_corpus_versions_apart(run_dir: Path) -> None:
    frame = read_results(run_dir)
    again = frame.assign(k=100, qps=frame["qps"] / 2)  # the same configurations at k=100
    points = operating_points(pd.concat([frame, again], ignore_index=True))
    assert len(points) == 2 * len(operating_points(frame))
    found = {(panel.slug, panel.mode, panel.k) for panel, _ in panels(points)}
    assert ("tiny-euclidean-k100", "single", 100) in found
    assert ("tiny-euclidean-k10", "single", 10) in found
    for panel, group in panels(points):
        assert set(group["k"]) == {panel.k}  # never k=10 and k=100 on one curve
        assert group["corpus_fingerprint"].nunique() == 1


def test_qps_spread_from_rows_or_repetitions(run_dir: Path) -> None:
    frame = read_results(run_dir)
    given = operating_points(frame, "single")  # the runner's interval of the median, CV
    assert given["qps_ci"].all() and (given["repetitions"] == 2).all()
    assert (given["qps_low"] <= given["qps"]).all() and (given["qps"] <= given["qps_high"]).all()
    first = frame[(frame["status"] == "ok") & (frame["mode"] == "single")].iloc[0]
    same = ["corpus", "algorithm", "label"]
    point = given[(given[same] == first[same]).all(axis=1)]
    assert point["qps_low"].iloc[0] == pytest.approx(first["qps_ci_low"])
    assert point["qps_cv"].iloc[0] == pytest.approx(first["qps_cv"])
    assert spread_text(given.iloc[0]).startswith("95% CI of median")
    imported = frame.assign(qps_ci_low=math.nan, qps_ci_high=math.nan, qps_cv=math.nan)
    computed = operating_points(imported, "single")  # no interval in the rows: the range
    assert not computed["qps_ci"].any()
    assert (computed["qps_low"] <= computed["qps"]).all()
    assert (computed["qps"] <= computed["qps_high"]).all()
    assert "over 2 reps" in spread_text(computed.iloc[0])
    noisy = operating_points(frame.assign(qps_cv=0.073, noisy=1), "single")
    assert noisy["noisy"].all()
    assert spread_text(noisy.iloc[0]).endswith("noisy (CV 7.3%)")


def test_noise_table_and_noisy_marks(run_dir: Path, tmp_path: Path) -> None:
    """The exact adapter's points of a real run declared noisy: the report's noise table counts
    them, and their markers are open in the QPS plots, their hover says `noisy (CV x%)`."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    frame = pd.read_csv(copy / "results.csv", dtype=str, keep_default_na=False)
    ok = frame["status"] == "ok"
    mark = ok & (frame["algorithm"] == "test-exact")
    frame.loc[mark, "noisy"], frame.loc[mark, "qps_cv"] = "1", "0.123"
    frame.loc[ok & ~mark, "noisy"], frame.loc[ok & ~mark, "qps_cv"] = "0", "0.01"
    frame.loc[ok, "load_1m"], frame.loc[ok, "other_cpu_s"] = "1.5", "0.25"
    frame.to_csv(copy / "results.csv", index=False)
    result = bench("report", copy)
    assert result.returncode == 0, result.stdout + result.stderr
    md = (copy / "report.md").read_text()
    assert "## Measurement noise" in md and "| median QPS CV | noisy points |" in md
    noise = md.split("## Measurement noise", 1)[1].split("\n## ", 1)[0]
    table = [line for line in noise.splitlines() if line.startswith("| tiny-")]
    assert len(table) == 2 * 2, "one row per corpus and mode"
    assert all("| 1.50 | 0.250 |" in line for line in table)
    points = operating_points(read_results(copy))
    for (corpus, mode), mine in points.groupby(["corpus", "mode"]):
        share = f"{int(mine['noisy'].sum())} ({mine['noisy'].mean():.0%})"
        row = next(line for line in table if line.startswith(f"| {corpus} | {mode} |"))
        assert f"| {share} |" in row and mine["noisy"].any()
    html = (copy / "report.html").read_text()
    specs = re.findall(r'<script type="application/json" id="[^"]+-data">(.*?)</script>', html)
    first = json.loads(specs[0].replace("<\\/", "</"))  # recall vs QPS: exact open, not others
    assert first["layout"]["yaxis"]["title"]["text"].startswith("queries per second")
    for trace in first["data"]:
        symbols = trace["marker"]["symbol"]
        symbols = symbols if isinstance(symbols, list) else [symbols] * len(trace["hovertext"])
        opened = [s.endswith("-open") for s in symbols]
        noisy = ["noisy (CV 12.3%)" in text for text in trace["hovertext"]]
        assert opened == noisy and all(opened) == (trace["name"] == "test-exact"), trace["name"]
    assert "Open markers: noisy points" in html


def test_fronts_for_costs_keep_the_cheapest() -> None:
    points = pd.DataFrame({"recall": [0.5, 0.9, 0.95, 0.99], "build_s": [1.0, 3.0, 2.0, 5.0]})
    front = pareto_front(points, "build_s", higher=False)
    assert front["recall"].tolist() == [0.5, 0.95, 0.99]  # 0.9 costs more than 0.95
    assert spread_recall(np.array([0.9, 0.99, 1.0])) == pytest.approx([1.0, 2.0, 4.0])


def test_a_report_section_is_one_file(tmp_path, monkeypatch) -> None:
    """A module dropped into bench.report.sections is found, called, and its table skipped."""
    import pandas as pd

    from bench.report import sections
    from bench.report.document import Section

    extra = tmp_path / "extra_sections"
    extra.mkdir()
    (extra / "zz_latency_budget.py").write_text(
        "from bench.report.document import Section\n"
        'TABLE = "budget.csv"\n'
        "def section(frame, run_dir):\n"
        "    path = run_dir / TABLE\n"
        "    if not path.exists():\n"
        "        return None\n"
        "    import pandas as pd\n"
        '    return Section("Latency budget", "from budget.csv", pd.read_csv(path))\n'
    )
    monkeypatch.setattr(sections, "__path__", [*sections.__path__, str(extra)])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    names = [module.__name__.rsplit(".", 1)[1] for module in sections.section_modules()]
    assert names == sorted(names) and {"pca", "quality", "scaling", "zz_latency_budget"} <= set(
        names
    )
    assert "budget.csv" in sections.section_tables()
    assert sections.run_sections(pd.DataFrame(), run_dir) == [], "no tables, no sections"
    (run_dir / "budget.csv").write_text("algorithm,p99_ms\nhnswlib,0.4\n")
    found = sections.run_sections(pd.DataFrame(), run_dir)
    assert [s.title for s in found] == ["Latency budget"] and isinstance(found[0], Section)
    assert found[0].table.iloc[0]["p99_ms"] == 0.4


def _rows_of(run_dir: Path, keep) -> list[dict[str, str]]:
    """The run's rows as the file holds them (text cells), those `keep` accepts."""
    with open(run_dir / "results.csv", newline="") as handle:
        return [row for row in csv.DictReader(handle) if keep(row)]


def test_a_run_without_rows_is_refused_by_report_and_plot(run_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    shutil.copytree(run_dir, empty, ignore=shutil.ignore_patterns("report.*", "plots"))
    drop_jobs(empty, set(read_results(empty)["job_id"]))  # what --retry-failed leaves, stopped
    for command in ("report", "plot"):
        result = bench(command, empty)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and result.stdout.count("\n") == 1
        assert f"{empty}: the run has no rows (its results file holds only the header), " in (
            result.stdout
        )
        assert f"nothing to {command}: run its suite into this run directory" in result.stdout
    assert not (empty / "report.md").exists() and not (empty / "plots").exists()


def test_plot_of_a_run_whose_every_job_failed_says_so(run_dir: Path, tmp_path: Path) -> None:
    failed = tmp_path / "failed"
    append_rows(failed, _rows_of(run_dir, lambda row: row["status"] != "ok"))
    plotted = bench("plot", failed)
    assert plotted.returncode == 0, plotted.stdout + plotted.stderr
    assert plotted.stdout.strip() == (
        f"no plots: {failed} has no row with status ok (2 rows: 2 failed); "
        f"`bench report {failed}` lists their errors"
    )
    reported = bench("report", failed)  # the report lists the failures, as the message says
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert "2 rows without status ok." in (failed / "report.md").read_text()


@pytest.mark.parametrize("epsilon", [-1.0, math.nan, math.inf])
def test_rescore_refuses_a_negative_or_non_finite_epsilon(run_dir: Path, epsilon: float) -> None:
    with pytest.raises(BenchError, match=f"--epsilon {epsilon}: expected a finite number >= 0"):
        rescore_frame(run_dir, epsilon=epsilon)
