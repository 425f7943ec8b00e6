"""`bench report`: a real run (exact, approximate-ish and failing adapters) turned into
report.md and a self-contained report.html that a real headless browser renders."""

from __future__ import annotations

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
import yaml
from PIL import Image

from bench.report.summary import qps_at_recall
from bench.results.store import write_parquet
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from tests.conftest import TESTS_DIR, TINY_DATASETS

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A finished run on two tiny corpora, plus an extra table and an extra plot."""
    root = tmp_path_factory.mktemp("report")
    datasets = root / "datasets"
    datasets.mkdir()
    for name, spec in TINY_DATASETS.items():
        (datasets / f"{name}.yaml").write_text(yaml.safe_dump(spec))
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
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_CACHE", str(cache_dir))
        patch.setenv("BENCH_DATASETS", str(datasets))
        patch.setenv("BENCH_EXTRA_BACKENDS", str(TESTS_DIR / "backends"))
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
    assert len(page.images) == 5  # 2 corpora x 2 modes + the extra plot
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert all(ref.startswith("data:") for ref in page.references), "no external references"
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert "url(" not in html and "@import" not in html
    assert "always fails to build" in html and "<table" in html and "resnet18" in html


def test_report_reads_parquet(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    write_parquet(copy)
    (copy / "results.csv").unlink()
    result = bench("report", copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "always fails to build" in (copy / "report.md").read_text()
    assert "results.parquet" not in (copy / "report.md").read_text()


def chromium() -> str | None:
    return next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (found := shutil.which(name))
        ),
        None,
    )


def test_html_report_renders_in_headless_chromium(
    run_dir: Path, report: dict[str, str], tmp_path: Path
) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (CI: apt-get install -y chromium)")
    url = (run_dir / "report.html").resolve().as_uri()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,4000", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.exists() and shot.stat().st_size > 10_000
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (4000, 1280)
    assert pixels.std() > 10, "the screenshot is blank"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100, "no plots drawn"
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    page = parse(dom)
    assert len(page.images) == 5
    assert all(re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/=]+", src) for src in page.images)
