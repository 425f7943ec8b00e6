"""On-disk cache keyed by fingerprints; atomic writes, so an interrupted run leaves no half file;
file locks, so processes (and hosts sharing a folder) take turns at a file."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import logging
import mmap
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from bench import paths
from bench.errors import BenchError

log = logging.getLogger(__name__)
MADV_DONTNEED = 4
_LIBC = ctypes.CDLL(None) if sys.platform.startswith("linux") else None


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts (spec dicts, versions, names)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes, streamed (hashlib reads it in bounded chunks)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def cache_path(kind: str, key: str, suffix: str) -> Path:
    folder = paths.cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}{suffix}"


def _process_umask() -> int:
    """The umask, read without changing it where Linux tells (/proc), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final` in one rename.

    mkstemp creates the file with mode 0600; it gets the mode an ordinary open() would give
    (0666 less the umask), so a cache or results folder shared between accounts stays readable.
    The temporary name carries the host and pid; a process killed outright (SIGKILL, OOM
    killer) cannot remove its own, so the next writer of `final` removes those of dead
    processes on this host (a killed 100M generation left 12.8 GB behind).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    ours = f".{final.name}.{socket.gethostname()}."  # then the pid, mkstemp's letters, .tmp
    _remove_orphans(final.parent, ours)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f"{ours}{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_process_umask())
        os.replace(tmp_path, final)
    except OSError as exc:
        if exc.errno is not None and exc.filename in (None, tmp):  # a full disk names no
            exc.filename = str(final)  # file, or our temporary one: name the file written
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


def _remove_orphans(folder: Path, prefix: str, suffix: str = ".tmp") -> None:
    """Delete the temporaries (files or folders) `prefix`PID.*`suffix` in `folder` whose
    process no longer runs."""
    for tmp in folder.glob(f"{prefix}*{suffix}"):
        pid = tmp.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def scratch_folder(parent: Path, what: str) -> Path:
    """A new folder under `parent` for this process' working files (an index on disk).

    Its name carries the host and pid, and the folders of this host's dead processes are
    removed first: a worker killed at its memory cap or timeout cannot clean up (a killed
    10M DiskANN build left 5 GB behind)."""
    parent.mkdir(parents=True, exist_ok=True)
    ours = f"{what}-{socket.gethostname()}."
    _remove_orphans(parent, ours, suffix="")
    return Path(tempfile.mkdtemp(dir=parent, prefix=f"{ours}{os.getpid()}."))


@contextmanager
def scratch(parent: Path, what: str) -> Iterator[Path]:
    """A `scratch_folder`, removed with its contents when the block ends."""
    folder = scratch_folder(parent, what)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process
        pass
    return True


def write_bytes_atomic(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class DigestRecord:
    """Content digests of files (SHA-256, 16 hex digits), kept in one JSON record under the
    cache (`kind`, one record per `key`), each re-read only when its file changed.

    Hashing a multi-GB vector file or a 9,000-image folder on every run would be wasted work,
    so each digest is kept with its file's size, inode, mtime and ctime (ns) and is valid while
    they are unchanged: a warm lookup costs one stat. ctime moves on every write and rename,
    and cannot be set back by a user, so a file rewritten with its old mtime is still read.
    The kernel stamps ctime from a clock that moves once per timer tick (up to 10 ms), so a
    file changed within a tick of being hashed would keep its stamp: as git does with its
    index, a digest is only kept once its file is older than `SETTLED_NS`, and a younger file
    is hashed again next time. `save` writes the record (atomically) when a digest was kept."""

    DIGITS = 16
    SETTLED_NS = 1_000_000_000

    def __init__(self, kind: str, key: str) -> None:
        self.path = cache_path(kind, fingerprint(key), ".json")
        try:
            entries = json.loads(self.path.read_text())
        except (OSError, ValueError):
            entries = {}
        self.entries: dict[str, Any] = entries if isinstance(entries, dict) else {}
        self.changed = False

    def digest(self, name: str, file: Path) -> str:
        """The digest of `file`, kept under `name`; OSError when it cannot be read."""
        info = file.stat()
        stamp = [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]
        known = self.entries.get(name)
        if isinstance(known, list) and known[:-1] == stamp:
            return str(known[-1])
        digest = file_digest(file)[: self.DIGITS]
        if time.time_ns() - info.st_ctime_ns > self.SETTLED_NS:
            self.entries[name], self.changed = [*stamp, digest], True
        return digest

    def save(self) -> None:
        if self.changed:
            write_bytes_atomic(self.path, json.dumps(self.entries).encode())
            self.changed = False


@contextmanager
def locked(path: Path, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold the lock file `path` (flock) for the duration; other processes wait for it.

    flock works across hosts on NFS (Linux clients map it to NFS byte-range locks), so writers
    on machines sharing the folder take turns too. Re-entrant within a process."""
    lock = FileLock(path, is_singleton=True)
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout as exc:
        raise BenchError(
            f"{path}: could not take this lock within {timeout_s:g} s: another process holds "
            f"it; expected it to be released (delete the file only if no bench process runs)"
        ) from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def making(final: Path) -> Iterator[None]:
    """Held while the cached file `final` is made, so that two runs sharing a cache make it
    once: the second waits here, and must check again for `final` once inside.

    The lock is a hidden file beside `final`. There is no time limit (a 100M corpus or its
    ground truth takes many minutes); a holder killed outright cannot block the others,
    since the OS releases its flock with the process."""
    lock = FileLock(final.with_name(f".{final.name}.lock"), is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for another process making %s", final)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def open_npy_for_writing(
    tmp: Path, shape: tuple[int, ...], dtype: Any, final: Path | None = None
) -> np.memmap:
    """A new `.npy` at `tmp` (to become `final`), memory-mapped, its blocks reserved."""
    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    reserve_blocks(tmp, final)
    return array


def reserve_blocks(path: Path, final: Path | None = None) -> None:
    """Allocate the disk blocks of the sparse file `path` now, or fail with a clear error.

    The files written through a memory map start sparse; a full disk would then kill the
    writer with SIGBUS halfway through (12.8 GB at 100M rows), with nothing said. Reserving
    the blocks first turns that into one line before any row is written.
    """
    size = path.stat().st_size
    if not hasattr(os, "posix_fallocate") or size == 0:
        return
    free = shutil.disk_usage(path.parent).free
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return  # a file system that cannot tell: the write itself will
        raise BenchError(
            f"{path.parent}: cannot reserve {_megabytes(size)} MB for the cached file "
            f"{(final or path).name} "
            f"({exc.strerror}; {_megabytes(free)} MB were free): expected room for the whole "
            f"file; free some space or set BENCH_CACHE to a larger disk"
        ) from exc
    finally:
        os.close(fd)


def _megabytes(size: int) -> str:
    """Whole megabytes, with a decimal below 10 MB (a ground truth may be 0.2 MB)."""
    return f"{size / 1e6:,.1f}" if size < 10e6 else f"{size / 1e6:,.0f}"


def load_npy(path: Path) -> np.ndarray:
    """Memory-map a cached array read-only: large corpora are never copied into RAM."""
    try:
        return np.load(path, mmap_mode="r")
    except (ValueError, EOFError) as exc:
        raise BenchError(
            f"{path}: cached array is damaged or truncated ({exc}); it is only a cache: "
            f"delete it and the next run makes it again"
        ) from exc


def cached_npy(
    path: Path, shape: tuple[int, ...], dtype: Any, fill: Callable[[np.memmap], None]
) -> np.ndarray:
    """Return the memory-mapped array at `path`, creating it with `fill` (chunked) if absent."""
    if not path.exists():
        with making(path):
            if not path.exists():
                log.info("making the cached file %s", path)
                with atomic_path(path) as tmp:
                    array = open_npy_for_writing(tmp, shape, dtype, path)
                    fill(array)
                    array.flush()
                    del array
    array = load_npy(path)
    if array.shape != tuple(shape) or array.dtype != np.dtype(dtype):
        raise BenchError(
            f"{path}: cached array has shape {array.shape} and dtype {array.dtype}: expected "
            f"{tuple(shape)} {np.dtype(dtype)}; it is only a cache: delete it and the next "
            f"run makes it again"
        )
    return array


def cached_bin(path: Path, shape: tuple[int, int], dtype: Any, fill: Callable) -> Path:
    """`path`, created if absent as a big-ann raw file (int32 rows and dimension, then the
    rows, which `fill` writes chunk by chunk into a memory map), atomically like `cached_npy`."""
    if path.exists():
        return path
    with making(path):
        if path.exists():
            return path
        log.info("making the cached file %s", path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.array(shape, dtype="<i4").tofile(handle)
                handle.truncate(8 + shape[0] * shape[1] * np.dtype(dtype).itemsize)
            reserve_blocks(tmp, path)
            rows = np.memmap(tmp, dtype=dtype, mode="r+", offset=8, shape=shape)
            fill(rows)
            rows.flush()
            del rows
    return path


GATHER_ROWS = 4  # scattered rows read between two releases: each maps a folio of up to 2 MB


def gather_rows(matrix: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """`matrix[ids]`, holding few of a memory map's pages at a time.

    A scattered read of a mapped row maps a whole page-cache folio (up to 2 MB here)
    and keeps it mapped: gathering the 100,000 neighbours of the ground truth's refinement
    from a 12.8 GB map left 7.7 GB resident, which the memory cap counts. Rows are read in
    batches and the map's pages released after each batch; other arrays are indexed as is.
    """
    if not isinstance(matrix, np.memmap):
        return matrix[ids]
    out = np.empty((len(ids), *matrix.shape[1:]), dtype=matrix.dtype)
    for start in range(0, len(ids), GATHER_ROWS):
        out[start : start + GATHER_ROWS] = matrix[ids[start : start + GATHER_ROWS]]
        release_pages(matrix)
    return out


def release_pages(view: np.ndarray) -> None:
    """Drop the pages of a memory-mapped `view` from this process' resident set.

    The pages stay in the kernel's page cache (written back if dirty: the maps here are
    shared, never private), so nothing is lost and a later read is a cheap minor fault. A
    scan that calls this after each block holds one block of the file at a time, so its RSS
    (what the runner's memory cap polls) stays flat however large the file. Other arrays,
    private (copy-on-write) maps and platforms without madvise are left alone.
    """
    if not isinstance(view, np.memmap) or view.mode == "c" or not view.flags.c_contiguous:
        return
    page = mmap.PAGESIZE
    start = view.ctypes.data // page * page
    stop = (view.ctypes.data + view.nbytes) // page * page  # a partial last page stays
    if stop > start and _LIBC is not None:
        _LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(stop - start), MADV_DONTNEED)
