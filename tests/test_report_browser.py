"""The interactive report in a real browser: Debian's chromium driven by Playwright (the
system browser through its executable path; Playwright downloads nothing).

Pages are opened with every non-file request aborted and recorded: nothing may leave the
page, and no console error may occur. Screenshots of each page land in the test's tmp folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.report import html
from bench.report.figures import LINEAR_BUTTON, SPREAD_BUTTON
from bench.report.site import write_site
from bench.report.summary import build_report
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from tests.conftest import TINY_DATASETS, point_at_tiny_setup

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

ALGORITHMS = ("hnswlib", "annoy")


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A real run: hnswlib and annoy with their `ci` grids on the two tiny corpora."""
    root = tmp_path_factory.mktemp("browser")
    suite = Suite(
        name="browser",
        datasets=tuple(TINY_DATASETS),
        grid="ci",
        algorithms=ALGORITHMS,
        repetitions=2,
        warmup=5,
        batch_threads=1,
        build_threads=1,
        timeout_s=120,
        memory_limit_gb=2,
    )
    with pytest.MonkeyPatch.context() as patch:
        point_at_tiny_setup(patch, root, cache_dir)
        run_suite(suite, root / "run", show_progress=False)
    html.write(build_report(root / "run"), root / "run" / "report.html")
    return root / "run"


@dataclass
class Watched:
    """A page whose outgoing requests (aborted) and console errors are recorded."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser() -> Iterator[object]:
    executable = chromium()
    if executable is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def open_page(browser: object, path: Path) -> Watched:
    """Open a file with networking off: non-file requests aborted and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))

    def route(request_route: object) -> None:
        url = request_route.request.url
        if url.startswith("file:"):
            request_route.continue_()
        else:
            watched.requests.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(path.resolve().as_uri(), wait_until="load")
    return watched


def drawn(page: object, div_id: str) -> None:
    """Scroll a figure into view and wait until plotly has drawn it."""
    page.locator(f"#{div_id}").scroll_into_view_if_needed()
    page.wait_for_function(
        "id => { const g = document.getElementById(id); return g && g._fullLayout; }",
        arg=div_id,
    )


def trace_point(page: object, div_id: str, name: str, index: int) -> tuple[float, float]:
    """Page coordinates of point `index` of the legend-visible trace `name` of a figure."""
    return page.evaluate(
        """([id, name, index]) => {
            const gd = document.getElementById(id), L = gd._fullLayout;
            const t = gd._fullData.find(d => d.name === name && d.showlegend);
            const box = gd.getBoundingClientRect();
            return [box.left + L._size.l + L.xaxis.c2p(t.x[index]),
                    box.top + L._size.t + L.yaxis.c2p(t.y[index])];
        }""",
        [div_id, name, index],
    )


def test_report_hover_legend_axis_offline(browser: object, run_dir: Path, tmp_path: Path) -> None:
    watched = open_page(browser, run_dir / "report.html")
    page = watched.page
    page.screenshot(path=str(tmp_path / "report-top.png"))
    first = page.locator("div[data-figure]").first.get_attribute("id")
    drawn(page, first)
    title = page.evaluate("id => document.getElementById(id).layout.title.text", first)
    assert "recall@10 vs queries per second" in title

    # hover hnswlib's second front point (ef=80 in the ci grid): the tooltip names it
    labels = page.evaluate(
        """id => document.getElementById(id)._fullData
            .find(d => d.name === 'hnswlib' && d.showlegend).hovertext""",
        first,
    )
    target = next(i for i, text in enumerate(labels) if "ef=80" in text)
    x, y = trace_point(page, first, "hnswlib", target)
    page.mouse.move(x, y)
    tooltip = page.locator(f"#{first} .hoverlayer .hovertext")
    tooltip.wait_for(state="visible")
    text = tooltip.text_content() or ""
    assert "hnswlib" in text and "M=16 ef_construction=100 | ef=80" in text
    assert "QPS" in text and "95% CI of median" in text and "build" in text and "p99" in text
    page.screenshot(path=str(tmp_path / "report-hover.png"))

    # hide annoy through the legend: both of its traces (front and points) become hidden
    page.locator(f"#{first} .legend .traces").filter(has_text="annoy").click()
    page.wait_for_function(
        "id => document.getElementById(id)._fullData"
        ".filter(d => d.legendgroup === 'annoy').every(d => d.visible === 'legendonly')",
        arg=first,
    )
    assert page.evaluate(
        "id => document.getElementById(id)._fullData"
        ".filter(d => d.legendgroup === 'hnswlib').every(d => d.visible === true)",
        first,
    )

    # switch the x axis from the high-recall scale to plain recall and back
    spread_x = page.evaluate("id => Array.from(document.getElementById(id)._fullData[0].x)", first)
    page.locator(f"#{first} .updatemenu-button").filter(has_text=LINEAR_BUTTON).click()
    page.wait_for_function(
        "id => document.getElementById(id).layout.xaxis.title.text === 'recall@10'", arg=first
    )
    linear_x = page.evaluate("id => Array.from(document.getElementById(id)._fullData[0].x)", first)
    assert all(0 <= value <= 1 for value in linear_x)
    assert all(s >= v for s, v in zip(spread_x, linear_x, strict=True))  # -log10(1-r) >= r
    page.screenshot(path=str(tmp_path / "report-linear-axis.png"))
    page.locator(f"#{first} .updatemenu-button").filter(has_text=SPREAD_BUTTON).click()
    page.wait_for_function(
        "id => document.getElementById(id).layout.xaxis.title.text.includes('high-recall')",
        arg=first,
    )

    # every figure of the page draws when scrolled to
    figures = page.locator("div[data-figure]").evaluate_all("divs => divs.map(d => d.id)")
    assert len(figures) >= 2 * 2 * 5  # 2 corpora x 2 modes x (QPS, P@k?, build, size, bars)
    for div_id in figures:
        drawn(page, div_id)
    page.screenshot(path=str(tmp_path / "report-full.png"), full_page=True)
    assert watched.requests == [], "requests left the page"
    assert watched.errors == [], "console errors"


def test_site_pages_open_offline(browser: object, run_dir: Path, tmp_path: Path) -> None:
    pages = write_site(tmp_path / "site", [run_dir])
    assert (tmp_path / "site" / "index.html") == pages[0]
    names = {path.relative_to(tmp_path / "site").as_posix() for path in pages}
    assert {"run/run.html", "corpus/tiny-euclidean.html", "algorithm/hnswlib.html"} <= names
    for path in pages:
        watched = open_page(browser, path)
        figures = watched.page.locator("div[data-figure]").evaluate_all(
            "divs => divs.map(d => d.id)"
        )
        if figures:
            drawn(watched.page, figures[0])
        shot = tmp_path / "shots" / path.relative_to(tmp_path / "site").with_suffix(".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        watched.page.screenshot(path=str(shot))
        assert shot.stat().st_size > 5_000
        assert watched.requests == [] and watched.errors == [], path
        watched.page.context.close()
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'href="algorithm/annoy.html"' in index and 'href="corpus/tiny-angular.html"' in index


def test_tsne_hover_shows_the_thumbnail(browser: object, tmp_path: Path) -> None:
    """The t-SNE section of an image run: hovering a point shows its image beside the cursor."""
    import base64
    import io

    import pandas as pd
    from PIL import Image

    from bench.report.document import Report
    from bench.report.sections import tsne

    def thumbnail(colour: str) -> str:
        buffer = io.BytesIO()
        Image.new("RGB", (48, 48), colour).save(buffer, format="JPEG")
        return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()

    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame(
        {
            "model": "lite0",
            "x": [0.0, 5.0, 10.0],
            "y": [0.0, 8.0, 3.0],
            "class": ["ant", "bee", "bee"],
            "path": ["ant/1.jpg", "bee/2.jpg", "bee/3.jpg"],
            "thumbnail": [thumbnail("red"), thumbnail("blue"), thumbnail("green")],
        }
    ).to_csv(run / tsne.TABLE, index=False)
    html.write(Report("t-SNE", run, [tsne.section(pd.DataFrame(), run)]), run / "report.html")
    watched = open_page(browser, run / "report.html")
    page = watched.page
    div_id = page.locator("div[data-figure]").first.get_attribute("id")
    drawn(page, div_id)
    page.mouse.move(*trace_point(page, div_id, "bee", 1))
    page.wait_for_selector("img.image-hover", state="visible")
    assert page.get_attribute("img.image-hover", "src") == thumbnail("green")
    assert "bee/3.jpg" in page.locator(".hoverlayer").text_content()
    page.screenshot(path=str(tmp_path / "tsne-hover.png"))
    page.mouse.move(5, 5)
    page.wait_for_selector("img.image-hover", state="hidden")
    assert watched.requests == [] and watched.errors == []
