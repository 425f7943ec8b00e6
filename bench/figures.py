"""Static figures saved as PNG files atomically.

`savefig` on the final name truncates the old file first: Ctrl-C or a full disk then left a
0-byte or cut PNG where the previous one was. The PNG is rendered in memory and replaces the
file in one rename (bench.storage.write_bytes_atomic), so the old one stays until the new one
is whole."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.storage import write_bytes_atomic


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> Path:
    """Write `fig` to `path` as a PNG, atomically, and close it; returns `path`."""
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())
    return path
