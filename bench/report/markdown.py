"""Render tables and reports as GitHub-flavoured Markdown (report.md, PR comments)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from bench.report.document import Report, Section
from bench.storage import write_bytes_atomic


def cell(value: object) -> str:
    """One table cell: pipes escaped, line breaks as <br>, missing values empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return ""
    text = str(value).replace("|", "\\|")
    return "<br>".join(text.splitlines())


def table(frame: pd.DataFrame) -> str:
    """A pipe table; numbers right-aligned."""
    if frame.empty:
        return "_(empty)_"
    header = [cell(name) for name in frame.columns]
    aligns = ["---:" if pd.api.types.is_numeric_dtype(dtype) else "---" for dtype in frame.dtypes]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += [
        "| " + " | ".join(cell(value) for value in record) + " |"
        for record in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def section(part: Section, base: Path) -> str:
    """A section; images are linked relative to `base` (the folder of the Markdown file)."""
    blocks = [f"{'#' * part.level} {part.title}"]
    if part.text:
        blocks.append(part.text)
    blocks += [f"![{image.stem}]({_relative(image, base)})" for image in part.images]
    if part.table is not None:
        blocks.append(table(part.table))
    return "\n\n".join(blocks)


def render(report: Report, base: Path) -> str:
    parts = [f"# {report.title}", *(section(part, base) for part in report.sections)]
    return "\n\n".join(parts) + "\n"


def write(report: Report, path: Path) -> Path:
    write_bytes_atomic(path, render(report, path.parent).encode())
    return path


def _relative(image: Path, base: Path) -> str:
    return Path(os.path.relpath(image.resolve(), base.resolve())).as_posix()
