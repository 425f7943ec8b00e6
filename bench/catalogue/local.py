"""Named datasets on disk: where their files live in the cache, their status, getting them.

Each downloaded file has a sidecar `<file>.sha256.json` written when it was first downloaded
and checked (its shapes, and the catalogue's checksum when it gives one): its sha256, size
and mtime. Without a catalogue checksum that sha256 only detects later changes to the local
copy, so such a file is reported as "not verified: no checksum". Reuse checks the file
against it: a full sha256 when asked (`bench fetch`), else size and mtime (cheap, for every
worker that opens the corpus), falling back to the full hash when those changed. A file
that no longer matches is refused, never silently used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import paths
from bench.catalogue.entries import BIN_SUFFIX, GT_K, NamedDataset, Remote
from bench.catalogue.generate import generate_random
from bench.corpora.formats import read_ann_hdf5
from bench.download import (
    discard_part,
    download,
    download_lock,
    file_digest,
    matches,
    part_path,
)
from bench.errors import BenchError
from bench.storage import write_bytes_atomic


def local_dir(entry: NamedDataset) -> Path:
    return paths.cache_dir() / "named" / entry.name


def local_files(entry: NamedDataset) -> list[Path]:
    if entry.generated:
        return [local_dir(entry) / f"{entry.name}.hdf5"]
    return [local_dir(entry) / remote.filename for remote in entry.remotes]


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


@dataclass(frozen=True)
class Status:
    text: str  # not downloaded | partial | downloaded, (not) verified | (not) generated
    bytes_on_disk: int


def status(entry: NamedDataset) -> Status:
    files = local_files(entry)
    on_disk = sum(p.stat().st_size for p in files if p.exists())
    if entry.generated:
        return Status("generated" if files[0].exists() else "not generated (offline)", on_disk)
    if all(p.exists() and sidecar(p).exists() for p in files):
        return Status(f"downloaded, {verification(entry)}", on_disk)
    partial = sum(part_path(p).stat().st_size for p in files if part_path(p).exists())
    if partial or on_disk:
        return Status("partial (resumable)", on_disk + partial)
    return Status("not downloaded", 0)


def _check_hdf5(entry: NamedDataset, path: Path) -> None:
    with read_ann_hdf5(path) as data:
        shapes = (data.train.shape, data.test.shape)
        missing = data.neighbors is None
    expected = ((entry.n_train, entry.dim), (entry.n_test, entry.dim))
    if shapes != expected or missing:
        raise BenchError(
            f"{path}: train/test shapes {shapes}{' without neighbors' if missing else ''}, "
            f"expected {expected} with neighbors for {entry.name!r}"
        )


def _check_bin(entry: NamedDataset, remote: Remote, path: Path) -> None:
    """Size and header of a big-ann file; a crop's header count is rewritten to its rows."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        raise BenchError(f"{remote.url}: {size} bytes, expected {remote.size} for {entry.name!r}")
    header = np.fromfile(path, dtype="<u4", count=2)
    if remote.filename == "groundtruth.ibin":
        expected = (entry.n_test, GT_K)
    elif remote.prefix_rows is not None:
        expected = (int(header[0]), entry.dim)  # the 1B file's count, rewritten below
    else:
        expected = (entry.n_test, entry.dim)
    if tuple(int(v) for v in header) != expected:
        raise BenchError(f"{remote.url}: header (rows, dim) = {tuple(header)}, expected {expected}")
    if remote.prefix_rows is not None:
        with open(path, "r+b") as handle:
            np.array([remote.prefix_rows], dtype="<u4").tofile(handle)


def verification(entry: NamedDataset) -> str:
    """How far the entry's local files are checked, in the user's words."""
    if entry.generated:
        return "generated here"
    if all(remote.checksum for remote in entry.remotes):
        return "verified"
    return "not verified: no checksum (shapes checked)"


def check_structure(entry: NamedDataset, remote: Remote | None, path: Path) -> None:
    """Shapes and headers against the catalogue (BenchError naming the file if wrong)."""
    if remote is None or remote.filename.endswith(".hdf5"):
        _check_hdf5(entry, path)
    else:
        _check_bin(entry, remote, path)


def _record(path: Path, url: str, digest: str) -> None:
    stat = path.stat()
    record = {"url": url, "sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    write_bytes_atomic(sidecar(path), json.dumps(record, indent=1).encode())


def _check_reuse(entry: NamedDataset, remote: Remote, path: Path, full: bool) -> None:
    side = sidecar(path)
    if not side.exists():
        raise BenchError(
            f"{path}: no checksum record {side.name} (not downloaded by bench?): expected "
            f"one; run `bench fetch {entry.name} --force` to download it again"
        )
    record = json.loads(side.read_text())
    if full and remote.checksum and not matches(path, remote.checksum):
        raise BenchError(
            f"{path}: does not match the catalogue's checksum {remote.checksum}: expected "
            f"the published file; run `bench fetch {entry.name} --force`"
        )
    stat = path.stat()
    if not full and (stat.st_size, stat.st_mtime_ns) == (record["size"], record["mtime_ns"]):
        return
    found = file_digest(path, "sha256")
    if found != record["sha256"]:
        raise BenchError(
            f"{path}: sha256 {found} differs from {record['sha256']} recorded when it was "
            f"downloaded: the file is corrupt; run `bench fetch {entry.name} --force`"
        )
    _record(path, record["url"], found)  # same content: refresh the recorded mtime


def ensure(
    entry: NamedDataset, full_check: bool = False, force: bool = False, show_progress: bool = True
) -> list[Path]:
    """The dataset's local files, downloaded (or generated) and verified as needed.

    `force` downloads every file again from scratch; each local copy is replaced only when
    its new download is complete and checked, so a failed one leaves the old copy in place.
    """
    files = local_files(entry)
    if entry.generated:
        with download_lock(files[0]):
            if force or not files[0].exists():
                files[0].unlink(missing_ok=True)
                generate_random(entry, files[0])
        return files
    for remote, path in zip(entry.remotes, files, strict=True):
        # Processes fetching the same set take turns: the second reuses the first one's file
        # instead of appending to the same `.part`.
        with download_lock(path):
            if path.exists() and not force:
                _check_reuse(entry, remote, path, full_check)
                continue
            if force:
                discard_part(part_path(path))  # a fresh download, not a resumed one
            limit = remote.size if remote.prefix_rows is not None else None
            digest = download(
                remote.url,
                path,
                limit=limit,
                verify=lambda part, r=remote: check_structure(entry, r, part),
                show_progress=show_progress,
                checksum=remote.checksum,
            )
            _record(path, remote.url, digest)
    return files


def file_spec(entry: NamedDataset, files: list[Path]) -> dict:
    """The `kind: file` spec over the local files (the corpora package reads them)."""
    if entry.family == "ann-benchmarks":
        spec = {"format": "hdf5", "path": str(files[0])}
        if entry.metric == "inner_product":  # lastfm-64-dot: `dot` on a file saying angular
            spec |= {"metric": entry.metric, "override_distance": True}
        return spec
    train, queries, truth = files
    return {
        "format": BIN_SUFFIX[entry.dtype],
        "train": str(train),
        "queries": str(queries),
        "ground_truth": str(truth),
        "metric": entry.metric,
    }
