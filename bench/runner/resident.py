"""Peak resident memory of a block of code, sampled from /proc/self/status.

ru_maxrss gives only the peak of a whole process and counts what it had before the block.
Here a thread samples RssAnon (what the process allocated) and RssFile (mapped file pages,
e.g. of a memory-mapped corpus) while the block runs, so a stage of a process (generation,
ground truth) gets its own peaks. Linux only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def resident_bytes() -> tuple[int, int]:
    """(RssAnon, RssFile) of this process in bytes."""
    with open("/proc/self/status") as handle:
        found = {
            line.split(":")[0]: int(line.split()[1]) * 1024
            for line in handle
            if line.startswith(("RssAnon:", "RssFile:"))
        }
    return found["RssAnon"], found["RssFile"]


@dataclass
class PeakResident:
    """The peaks seen while the block ran, in bytes."""

    anon_peak: int = 0
    total_peak: int = 0  # RssAnon + RssFile

    def record(self, anon: int, mapped: int) -> None:
        self.anon_peak = max(self.anon_peak, anon)
        self.total_peak = max(self.total_peak, anon + mapped)


@contextmanager
def peak_resident(interval_s: float = 0.001) -> Iterator[PeakResident]:
    """Sample this process' memory every `interval_s` while the block runs.

    The peaks are final once the block has left; a final sample is taken then, so a block
    shorter than the interval still has one.
    """
    peaks = PeakResident()
    stop = threading.Event()

    def sample() -> None:
        while True:
            peaks.record(*resident_bytes())
            if stop.wait(interval_s):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()
        peaks.record(*resident_bytes())
