"""What a run's rows amount to: their count by status, and the refusal of a run without rows.

A results file can hold a header and no rows (a run stopped before its first job finished,
or `--retry-failed` dropped every job and was interrupted); report, plot and compare have
nothing to show or judge then, and say so instead of an empty page or a pass.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.errors import BenchError


def status_counts(frame: pd.DataFrame) -> str:
    """`3 rows: 2 ok, 1 failed`, or `no rows` (a header only)."""
    if frame.empty:
        return "no rows"
    counts = frame["status"].value_counts()
    rows = f"{len(frame)} row{'s' * (len(frame) != 1)}"
    return f"{rows}: " + ", ".join(f"{n} {status}" for status, n in counts.items())


def require_rows(frame: pd.DataFrame, source: Path, what: str) -> None:
    """Raise BenchError when the run read from `source` has no rows: nothing to `what`."""
    if frame.empty:
        raise BenchError(
            f"{source}: the run has no rows (its results file holds only the header), nothing "
            f"to {what}: run its suite into this run directory (`bench run ... --run NAME`) to "
            "measure the jobs, then try again"
        )
