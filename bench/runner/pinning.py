"""CPU pinning (`--pin`): the worker on one core, its parent (the watcher) on the others.

The worker's core is the allowed one that was idle longest over a short window before the
job (the last one on a tie): on a machine where something else keeps one core busy, the
timed thread gets the free one.

Linux affinity is per thread, so every thread of a process is moved (thread pools started
at import time included). Batch repetitions with more than one thread get all the cores back
for their duration.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def set_process_affinity(pid: int, cpus: set[int]) -> None:
    """Set the affinity of every thread of `pid` (best effort for threads that just ended)."""
    tasks = Path(f"/proc/{pid}/task")
    tids = [int(t.name) for t in tasks.iterdir()] if tasks.exists() else [pid]
    for tid in tids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(tid, cpus)


IDLE_WINDOW_S = 0.1  # 10 clock ticks per core: enough to tell a busy core from a free one


def idle_ticks() -> dict[int, int]:
    """Idle + iowait clock ticks of every CPU so far, from /proc/stat (empty if unreadable)."""
    ticks = {}
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                name, *fields = line.split()
                if name.startswith("cpu") and name != "cpu":
                    ticks[int(name[3:])] = int(fields[3]) + int(fields[4])
    except (OSError, ValueError, IndexError):
        return {}
    return ticks


def quietest(allowed: set[int], before: dict[int, int], after: dict[int, int]) -> int:
    """The allowed CPU with the most idle ticks between two readings; the highest on a tie."""
    return max(allowed, key=lambda cpu: (after.get(cpu, 0) - before.get(cpu, 0), cpu))


class Pinning:
    """Pins this process to the quietest allowed core and the parent to the rest; undone on
    close."""

    def __init__(self) -> None:
        self.allowed = set(os.sched_getaffinity(0))
        before = idle_ticks()
        time.sleep(IDLE_WINDOW_S)
        self.core = quietest(self.allowed, before, idle_ticks())
        self.parent = os.getppid()
        self.parent_allowed: set[int] | None = None
        others = self.allowed - {self.core}
        if others:
            with contextlib.suppress(OSError):
                self.parent_allowed = set(os.sched_getaffinity(self.parent))
                set_process_affinity(self.parent, others)
        set_process_affinity(os.getpid(), {self.core})

    @contextmanager
    def widened(self, threads: int) -> Iterator[None]:
        """All allowed cores while a multi-threaded repetition runs."""
        if threads <= 1:
            yield
            return
        set_process_affinity(os.getpid(), self.allowed)
        try:
            yield
        finally:
            set_process_affinity(os.getpid(), {self.core})

    def close(self) -> None:
        if self.parent_allowed is not None:
            with contextlib.suppress(OSError):
                set_process_affinity(self.parent, self.parent_allowed)
