"""One `bench run` at a time per run directory.

Two runs on one directory would both run every job (duplicate rows) and race on the results
file. The run holds RUN_DIR/.run.lock (flock: released by the kernel when the process dies,
even by kill -9, so a crash leaves no stale lock) and records who holds it in RUN_DIR/.run.owner,
so a second run can say whom it is waiting for.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from bench.errors import BenchError
from bench.storage import write_bytes_atomic

LOCK_FILE = ".run.lock"
OWNER_FILE = ".run.owner"

log = logging.getLogger(__name__)


def _holder(run_dir: Path) -> str:
    try:
        owner = json.loads((run_dir / OWNER_FILE).read_text())
        return f"pid {owner['pid']} on {owner['host']}, started {owner['started_at']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _prepare(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(run_dir, os.W_OK):
            raise PermissionError("Permission denied")
    except OSError as exc:
        raise BenchError(
            f"run directory {run_dir} cannot be written ({exc.strerror or exc}): expected a "
            f"writable folder; choose another with --results or --run"
        ) from exc


@contextmanager
def run_lock(run_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold the run directory for this process (re-entrant); a second holder is refused
    with whom it is waiting for, or, with `wait`, waits until the first one ends."""
    _prepare(run_dir)
    lock = FileLock(run_dir / LOCK_FILE, is_singleton=True)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                raise BenchError(
                    f"run directory {run_dir} is in use by `bench run` ({_holder(run_dir)}): "
                    f"wait for it to end, or run again with --wait to start when it does"
                ) from None
            log.info("run directory %s is in use (%s): waiting", run_dir, _holder(run_dir))
            lock.acquire()
    except OSError as exc:
        raise BenchError(
            f"run directory {run_dir}: cannot create its lock file ({exc.strerror or exc}): "
            f"expected a writable folder; choose another with --results or --run"
        ) from exc
    first = lock.lock_counter == 1
    owner_path = run_dir / OWNER_FILE
    try:
        if first:
            owner = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(sys.argv),
            }
            write_bytes_atomic(owner_path, json.dumps(owner).encode())
        yield
    finally:
        if first:
            with contextlib.suppress(OSError):
                owner_path.unlink()
        lock.release()
