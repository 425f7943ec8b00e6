"""Run one job in its own worker process, under a timeout and a memory cap.

The worker is started through `bench.runner.launcher`, which waits for it with wait4 and
records the kernel's count of its peak resident memory: a job whose true peak passed the cap
is `oom` even when the peak was too short for polling to see and the job finished. The parent
also polls the worker's resident memory (with its children) and kills the whole process group
as soon as it passes the cap (status oom) or when the job outlives its timeout (status
timeout). A crash (segfault, abort, kernel OOM kill) ends the worker with a signal; whatever
it measured before that is kept, and the job gets one more row saying what happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import paths
from bench.results.answers import NPZ_SUFFIX
from bench.runner.launcher import die_with_parent
from bench.storage import scratch

POLL_SECONDS = 0.1
STDERR_TAIL_CHARS = 2000


@dataclass
class Outcome:
    status: str  # ok, failed, timeout, oom
    records: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    peak_rss_bytes: int = 0
    answers: bytes | None = None  # the worker's AnswerLog npz (bench/results/answers.py)
    returncode: int = 0  # the worker's exit code, or -N when signal N ended it


class MemoryProbe:
    """Resident memory of the launcher's descendants (the worker and its children), cheap
    enough to poll often.

    Reading one process' RSS is a small /proc read; finding children scans every process,
    so the child list is refreshed only every CHILD_SCAN_SECONDS (and at each poll until the
    worker has appeared). The launcher's own few MiB are not counted.
    """

    CHILD_SCAN_SECONDS = 2.0

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.children: list[psutil.Process] = []
        self.scanned_at = 0.0

    def rss(self) -> int:
        now = time.monotonic()
        if not self.children or now - self.scanned_at > self.CHILD_SCAN_SECONDS:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.children = self.process.children(recursive=True)
                self.scanned_at = now
        total = 0
        for child in self.children:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a kill
            break
    return records


def _signal_text(returncode: int) -> str:
    try:
        return f"signal {signal.Signals(-returncode).name}"
    except ValueError:
        return f"signal {-returncode}"


def run_isolated(job: dict[str, Any]) -> Outcome:
    """Run `job` in a fresh Python process and classify how it ended.

    Its files (job, rows, answers, stderr) are in a scratch folder that a killed runner's
    successor removes."""
    with scratch(Path(tempfile.gettempdir()), "bench-job") as folder:
        job_path, out_path, err_path, status_path = (
            folder / name for name in ("job.json", "out.jsonl", "stderr.txt", "status.json")
        )
        job_path.write_text(json.dumps(job))
        python = job.get("python") or sys.executable
        env = dict(os.environ)
        if python == sys.executable:  # another interpreter (bench ab) imports its own bench
            env["PYTHONPATH"] = os.pathsep.join(
                [str(paths.PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
            )
        with open(err_path, "w") as stderr:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "bench.runner.launcher", str(status_path)),
                    *(python, "-m", "bench.runner.worker", str(job_path), str(out_path)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
            try:
                outcome = _watch(proc, job["timeout_s"], job["memory_limit_bytes"], status_path)
            except BaseException:  # Ctrl-C: the worker is in its own session, so end it here
                _kill_group(proc)
                raise
        records = _read_records(out_path)
        answers_path = out_path.with_name(out_path.name + NPZ_SUFFIX)
        answers = answers_path.read_bytes() if answers_path.exists() else None
        stderr_tail = err_path.read_text(errors="replace")[-STDERR_TAIL_CHARS:].strip()
    errors = [r for r in records if r.get("event") == "error"]
    outcome.records = [r for r in records if r.get("event") != "error"]
    outcome.answers = answers
    if errors and outcome.status in ("ok", "failed"):  # the worker said what went wrong
        outcome.status, outcome.error = errors[-1]["status"], errors[-1]["error"]
    elif outcome.status == "failed" and not outcome.error:
        outcome.error = (
            f"worker died with {_signal_text(outcome.returncode)}"
            if (outcome.returncode < 0)
            else f"worker exited with code {outcome.returncode}"
        )
        if stderr_tail:
            outcome.error += f"; stderr: {stderr_tail}"
    return outcome


def _ended(proc: subprocess.Popen, status_path: Path) -> tuple[int, int]:
    """The worker's return code and true peak memory, as its launcher recorded them; when
    the launcher itself was killed, its own return code and an unknown (0) peak."""
    try:
        record = json.loads(status_path.read_text())
        return int(record["returncode"]), int(record["max_rss_bytes"])
    except (OSError, ValueError, KeyError):
        return proc.returncode, 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _watch(
    proc: subprocess.Popen, timeout_s: float, memory_limit: int, status_path: Path
) -> Outcome:
    probe = MemoryProbe(proc.pid)
    deadline = time.monotonic() + timeout_s
    peak = 0
    while proc.poll() is None:
        rss = probe.rss()
        peak = max(peak, rss)
        if rss > memory_limit:
            _kill_group(proc)
            return Outcome(
                "oom",
                error=f"worker used {_mib(rss)}, over the memory cap of {_mib(memory_limit)}",
                peak_rss_bytes=peak,
            )
        if time.monotonic() > deadline:
            _kill_group(proc)
            return Outcome(
                "timeout", error=f"job did not finish within {timeout_s:g} s", peak_rss_bytes=peak
            )
        time.sleep(POLL_SECONDS)
    returncode, true_peak = _ended(proc, status_path)
    peak = max(peak, true_peak)
    if returncode == -signal.SIGKILL:
        return Outcome(
            "oom",
            error="worker was killed with SIGKILL (likely the kernel's out-of-memory killer)",
            peak_rss_bytes=peak,
            returncode=returncode,
        )
    if true_peak > memory_limit:
        return Outcome(
            "oom",
            error=f"worker's peak resident memory was {_mib(true_peak)} (as the kernel counts "
            f"it), over the memory cap of {_mib(memory_limit)}",
            peak_rss_bytes=peak,
            returncode=returncode,
        )
    status = "ok" if returncode == 0 else "failed"
    return Outcome(status, peak_rss_bytes=peak, returncode=returncode)
