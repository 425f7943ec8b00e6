"""On-disk cache keyed by fingerprints; atomic writes, so an interrupted run leaves no half file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench import paths


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts (spec dicts, versions, names)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(kind: str, key: str, suffix: str) -> Path:
    folder = paths.cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}{suffix}"


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final` in one rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def open_npy_for_writing(tmp: Path, shape: tuple[int, ...], dtype: Any) -> np.memmap:
    return np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)


def load_npy(path: Path) -> np.ndarray:
    """Memory-map a cached array read-only: large corpora are never copied into RAM."""
    return np.load(path, mmap_mode="r")


def cached_npy(
    path: Path, shape: tuple[int, ...], dtype: Any, fill: Callable[[np.memmap], None]
) -> np.ndarray:
    """Return the memory-mapped array at `path`, creating it with `fill` (chunked) if absent."""
    if not path.exists():
        with atomic_path(path) as tmp:
            array = open_npy_for_writing(tmp, shape, dtype)
            fill(array)
            array.flush()
            del array
    return load_npy(path)
