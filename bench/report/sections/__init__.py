"""Report sections drawn from a run's other tables: one module per section.

A section module defines `TABLE` (the run-directory file it draws, which the report then
does not repeat as a plain table) and `section(frame, run_dir) -> Section | None` (None when
the run has no such table). Every module in this package is found and called in name order:
adding a section is adding one file here.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pandas as pd

from bench.report.document import Section


def section_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]


def section_tables() -> tuple[str, ...]:
    return tuple(module.TABLE for module in section_modules())


def run_sections(frame: pd.DataFrame, run_dir: Path) -> list[Section]:
    """Every section that the run has material for."""
    found = [module.section(frame, run_dir) for module in section_modules()]
    return [section for section in found if section is not None]
