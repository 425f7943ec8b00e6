"""Identity of a run: who, where and with what code each row was measured."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import subprocess
import uuid
from functools import cache
from typing import Any

from bench import paths


@cache
def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=paths.PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"{commit}-dirty" if dirty else commit


@cache
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_identity(suite: str) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC)
    return {
        "run_id": f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
        "suite": suite,
        "started_at": started.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "host": socket.gethostname(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count() or 1,
        "python": platform.python_version(),
    }
