"""The catalogue: `datasets/catalogue/<family>.yaml` read into NamedDataset entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bench import paths
from bench.config import by_name, read_yaml
from bench.corpora.corpus import check_metric
from bench.download import parse_checksum
from bench.errors import BenchError

GT_K = 100  # neighbours per query in every published ground-truth file
BIN_SUFFIX = {"uint8": "u8bin", "int8": "i8bin", "float32": "fbin"}
ENTRY_KEYS = {
    "ann-benchmarks": {"metric", "dim", "train", "test", "bytes", "note", "generate", "checksum"},
    "big-ann-benchmarks": {
        "metric", "dim", "dtype", "train", "test", "base", "base_rows", "queries",
        "ground_truth", "note",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Remote:
    """One file to download: where from, its local name, and how much of it (a prefix)."""

    url: str
    filename: str
    size: int | None = None  # expected bytes on disk, when known before downloading
    prefix_rows: int | None = None  # crop: keep the first rows and rewrite the header count
    checksum: str | None = None  # `sha256:<hex>` or `md5:<hex>` the download must match


@dataclass(frozen=True)
class NamedDataset:
    name: str
    family: str
    metric: str
    dim: int
    n_train: int
    n_test: int
    size_bytes: int
    ground_truth: str  # where the ground truth comes from
    remotes: tuple[Remote, ...] = ()
    generate: dict[str, Any] | None = None  # a synthetic recipe instead of downloads
    dtype: str = "float32"
    note: str = ""
    source: Path | None = field(default=None, compare=False)

    @property
    def generated(self) -> bool:
        return self.generate is not None


def catalogue_dir() -> Path:
    return paths.catalogue_dir()


def _count(entry: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BenchError(f"{where}: {key}={value!r}, expected a positive integer")
    return value


def _ann_benchmarks(name: str, entry: dict[str, Any], data: dict[str, Any], where: str):
    if entry.get("generate") is not None and not isinstance(entry["generate"], dict):
        raise BenchError(f"{where}: generate={entry['generate']!r}, expected a mapping")
    url = str(data.get("url", "")).format(name=name)
    size = _count(entry, "bytes", where)
    checksum = entry.get("checksum")
    if checksum is not None:
        try:
            parse_checksum(str(checksum))
        except BenchError as exc:
            raise BenchError(f"{where}: {exc}") from exc
    return {
        "size_bytes": size,
        "ground_truth": (
            "generated here: exact neighbours of the generated vectors"
            if entry.get("generate") is not None
            else str(data.get("ground_truth", ""))
        ),
        "remotes": ()
        if entry.get("generate") is not None
        else (Remote(url, f"{name}.hdf5", checksum=checksum and str(checksum)),),
        "generate": entry.get("generate"),
    }


def _big_ann(name: str, entry: dict[str, Any], where: str):
    dtype = entry.get("dtype")
    if dtype not in BIN_SUFFIX:
        raise BenchError(f"{where}: dtype={dtype!r}, expected one of {', '.join(BIN_SUFFIX)}")
    for key in ("base", "queries", "ground_truth"):
        if not isinstance(entry.get(key), str) or "://" not in entry[key]:
            raise BenchError(f"{where}: {key}={entry.get(key)!r}, expected a URL")
    n, nq, dim = (_count(entry, key, where) for key in ("train", "test", "dim"))
    if n > _count(entry, "base_rows", where):
        raise BenchError(f"{where}: train={n} exceeds base_rows={entry['base_rows']}")
    item, suffix = np.dtype(dtype).itemsize, BIN_SUFFIX[dtype]
    remotes = (
        Remote(entry["base"], f"base.{suffix}", 8 + n * dim * item, prefix_rows=n),
        Remote(entry["queries"], f"queries.{suffix}", 8 + nq * dim * item),
        Remote(entry["ground_truth"], "groundtruth.ibin", 8 + nq * GT_K * 8),
    )
    return {
        "size_bytes": sum(r.size or 0 for r in remotes),
        "ground_truth": f"published file {entry['ground_truth']}",
        "remotes": remotes,
        "dtype": dtype,
    }


def _entries_in(path: Path) -> list[NamedDataset]:
    data = read_yaml(path, "catalogue")
    family = data.get("family")
    if family not in ENTRY_KEYS or not isinstance(data.get("datasets"), dict):
        raise BenchError(
            f"catalogue file {path}: expected `family` in {', '.join(ENTRY_KEYS)} and a "
            "`datasets` mapping"
        )
    found = []
    for name, entry in data["datasets"].items():
        where = f"catalogue file {path}, dataset {name!r}"
        if not isinstance(entry, dict):
            raise BenchError(f"{where}: expected a mapping, got {entry!r}")
        unknown = set(entry) - ENTRY_KEYS[family]
        if unknown:
            raise BenchError(
                f"{where}: unknown keys {', '.join(sorted(unknown))}: expected some of "
                f"{', '.join(sorted(ENTRY_KEYS[family]))}"
            )
        check_metric(entry.get("metric"))
        details = (
            _ann_benchmarks(name, entry, data, where)
            if family == "ann-benchmarks"
            else _big_ann(name, entry, where)
        )
        found.append(
            NamedDataset(
                name=name,
                family=family,
                metric=entry["metric"],
                dim=_count(entry, "dim", where),
                n_train=_count(entry, "train", where),
                n_test=_count(entry, "test", where),
                note=str(entry.get("note", "")),
                source=path,
                **details,
            )
        )
    return found


@cache
def _catalogue(folder: Path) -> dict[str, NamedDataset]:
    files = sorted(folder.glob("*.yaml"))
    return by_name((entry for path in files for entry in _entries_in(path)), "named dataset")


def catalogue() -> dict[str, NamedDataset]:
    return _catalogue(catalogue_dir())


def named(name: str) -> NamedDataset:
    entries = catalogue()
    if name not in entries:
        raise BenchError(
            f"unknown named dataset {name!r}: expected one of {', '.join(entries)} "
            f"(in {catalogue_dir()})"
        )
    return entries[name]
