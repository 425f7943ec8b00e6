"""`python -m bench.runner.launcher STATUS.json PROGRAM ARG...`: run PROGRAM as a child and
record how it ended with the kernel's count of its peak memory.

Why a launcher: Linux counts in a process' peak resident memory (ru_maxrss) the memory of the
process it was forked from, as it was at exec. `bench run` (corpora, pandas) or a Dask worker
is far larger than a job's memory cap, so a worker forked from it would always look over the
cap. This module imports nothing heavy; a worker forked from it inherits a few MiB at most, and
wait4 then reports the worker's own peak, however short. Writes STATUS.json with
{"returncode", "max_rss_bytes"} and exits with the worker's code (128 + N for signal N).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (even by kill -9), so that no
    orphaned worker keeps a core busy; elsewhere the parent's timeout still applies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main(argv: list[str]) -> int:
    status_path, program = argv[0], argv[1:]
    pid = os.fork()
    if pid == 0:
        try:
            die_with_parent()
            os.execv(program[0], program)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    record = {"returncode": returncode, "max_rss_bytes": usage.ru_maxrss * 1024}
    with open(status_path, "w") as handle:
        json.dump(record, handle)
    return returncode if returncode >= 0 else 128 - returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
