"""The JavaScript a report page needs: plotly.js and the loader that draws its figures.

plotly.js is the "basic" bundle (scatter, bar and pie traces, with hover, legend, zoom and
buttons), vendored from the npm package plotly.js-basic-dist-min at the plotly.js version the
installed plotly (Python) package ships: 1.2 MB instead of the full bundle's 4.8 MB, which
the browser parses 3-5 times faster, so a report opens quickly. Refresh it after upgrading
plotly: `npm pack plotly.js-basic-dist-min@$(python -c 'import plotly.offline as o;
print(o.get_plotlyjs_version())')` and copy plotly-basic.min.js here. The report uses only
trace types of the basic bundle (bench.report.figures, bench.report.sections).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
PLOTLY_FILE = "plotly-basic.min.js"
LOADER_FILES = ("lazy-figures.js", "image-hover.js")  # the figure loader, then its add-ons


@cache
def plotly_js() -> str:
    return (STATIC / PLOTLY_FILE).read_text(encoding="utf-8")


@cache
def loader_js() -> str:
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in LOADER_FILES)
