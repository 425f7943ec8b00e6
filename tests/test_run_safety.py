"""Nothing lost, nothing twice, no traceback: concurrent runs, broken files, failing disks,
signals, short memory peaks and file modes."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pytest

from bench.errors import BenchError
from bench.results.schema import empty_row
from bench.results.store import append_rows, read_results
from bench.runner.run import run_suite
from bench.storage import atomic_path, cached_npy, scratch_folder, write_bytes_atomic
from tests.conftest import tiny_suite


def suite_file(folder: Path, name: str, algorithms: list[str], timeout_s: float = 20) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"datasets: [tiny-euclidean]\nalgorithms: [{', '.join(algorithms)}]\ngrid: test\n"
        f"repetitions: 1\nwarmup: 0\ntimeout_s: {timeout_s}\n"
    )
    return path


def bench(*args: object) -> list[str]:
    return [sys.executable, "-m", "bench", *map(str, args)]


def run_command(suite_path: Path, results: Path) -> list[str]:
    return bench("run", "--suite", suite_path, "--results", results, "--no-plot")


def wait_until(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)


def one_line_error(output: str) -> str:
    """The error line of a CLI failure; asserts there is exactly one and no traceback."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def failed_row(job_id: str) -> dict:
    """A valid row of a job that failed at once (no measures needed)."""
    return {
        **empty_row(),
        **dict(run_id="r", suite="s", started_at="2024-01-01T00:00:00", host="h", cpu="c"),
        **dict(cpu_count=2, python="3.11", job_id=job_id, corpus="c", corpus_fingerprint="f"),
        **dict(n_train=10, n_queries=5, dim=2, metric="euclidean", backend="numpy"),
        **dict(algorithm="a", build_params={}, query_params={}, label="-", k=1),
        **dict(status="failed", error="x"),
    }


# --- two runs, several writers ---------------------------------------------------------------


def test_two_bench_runs_on_one_directory_neither_duplicate_nor_lose_rows(
    bench_env: Path, tmp_path: Path
) -> None:
    """The first run holds the directory; a second is refused with the holder's pid, a third
    with --wait starts when the first ends and finds every job done."""
    algorithms = ["test-exact", "test-hanging", "test-inaccurate"]
    command = run_command(suite_file(tmp_path, "shared", algorithms, 10), tmp_path / "results")
    run_dir = tmp_path / "results" / "shared"
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: (run_dir / ".run.owner").exists() or first.poll() is not None)
    assert first.poll() is None, "test-hanging keeps the first run busy for 10 s"
    waiting = subprocess.Popen(
        [*command, "--wait"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    first_out, _ = first.communicate(timeout=300)
    waiting_out, _ = waiting.communicate(timeout=300)

    assert first.returncode == 0, first_out
    assert refused.returncode == 2
    message = one_line_error(refused.stdout + refused.stderr)
    holders = (f"in use by `bench run` (pid {pid} on" for pid in (first.pid, waiting.pid))
    assert any(holder in message for holder in holders) and "--wait" in message
    assert waiting.returncode == 0, waiting_out
    assert "'skipped (already done)': 3" in waiting_out
    frame = read_results(run_dir)
    assert frame.groupby("algorithm").size().to_dict() == {
        "test-exact": 2,  # single + batch
        "test-hanging": 1,  # its timeout row
        "test-inaccurate": 2,
    }
    assert frame["run_id"].nunique() == 1, "only the first run measured anything"


def _append_many(run_dir: Path, writer: int, times: int) -> None:
    for n in range(times):
        append_rows(run_dir, [failed_row(f"w{writer}-{n}-a"), failed_row(f"w{writer}-{n}-b")])


def test_append_rows_from_several_processes_loses_no_row(tmp_path: Path) -> None:
    writers, times = 4, 50
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_many, args=(tmp_path, writer, times))
        for writer in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0
    job_ids = read_results(tmp_path)["job_id"]
    expected = {f"w{w}-{n}-{x}" for w in range(writers) for n in range(times) for x in "ab"}
    assert len(job_ids) == 400 and set(job_ids) == expected


# --- a broken results file, a failing disk -----------------------------------------------------


def test_results_file_without_final_newline_is_refused_before_measuring(bench_env: Path) -> None:
    run_dir = bench_env / "run"
    run_suite(tiny_suite(("test-exact",)), run_dir, show_progress=False)
    path = run_dir / "results.csv"
    cut = path.read_bytes()[:-7]  # the last row loses its newline and the end of a number
    path.write_bytes(cut)
    with pytest.raises(BenchError, match=r"results.csv is truncated at line 3: .* delete line 3"):
        run_suite(tiny_suite(("test-exact", "test-inaccurate")), run_dir, show_progress=False)
    assert path.read_bytes() == cut, "nothing glued onto the cut row"


def test_rows_are_validated_before_the_job_runs(bench_env: Path) -> None:
    """A job whose rows could not be written is refused before it is measured."""
    bad = tiny_suite(("test-exact",))
    object.__setattr__(bad, "k", 10.5)  # a value that slipped past the suite's own checks
    with pytest.raises(BenchError, match=r"test-exact on tiny-euclidean.*'k' = '10.5'"):
        run_suite(bad, bench_env / "run", show_progress=False)
    assert not (bench_env / "run" / "results.csv").exists()


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:  # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_write_failure_after_measuring_keeps_the_rows(bench_env: Path, tmp_path: Path) -> None:
    """results.csv cannot grow past 100 kB (RLIMIT_FSIZE, as a full disk would refuse): the
    rows just measured go to a spill file named in a one-line error."""
    run_dir = tmp_path / "results" / "big"
    run_suite(tiny_suite(("test-exact",), name="big"), run_dir, show_progress=False)
    path = run_dir / "results.csv"
    header, row, *_ = path.read_text().splitlines()
    job_id = read_results(path)["job_id"][0]
    path.write_text(
        "\n".join([header, *(row.replace(job_id, f"pad{i:05d}") for i in range(500))]) + "\n"
    )
    before = path.read_bytes()
    assert len(before) > 150_000
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    result = subprocess.run(
        run_command(suite_file(tmp_path, "big", ["test-inaccurate"]), tmp_path / "results"),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(spill_dir)},
        preexec_fn=_limit_file_size(100_000),
    )
    assert result.returncode == 2
    message = one_line_error(result.stdout + result.stderr)
    assert "cannot write the 2 rows of test-inaccurate" in message and "File too large" in message
    spill = Path(re.search(r"kept in (\S+\.csv)", message).group(1))
    assert spill.parent == spill_dir
    kept = read_results(spill)
    assert list(kept["algorithm"]) == ["test-inaccurate"] * 2 and (kept["status"] == "ok").all()
    assert path.read_bytes() == before
    assert not list(run_dir.glob(".results.csv.*.tmp")), "no temporary file left behind"


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A folder this process cannot write: chmod for a user, a read-only tmpfs for root."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        pytest.skip("root without mount: no way to make a read-only folder")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_read_only_results_folder_is_a_one_line_error(
    bench_env: Path, tmp_path: Path, read_only_dir: Path
) -> None:
    result = subprocess.run(
        run_command(suite_file(tmp_path, "ro", ["test-exact"]), read_only_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    message = one_line_error(result.stdout + result.stderr)
    assert f"run directory {read_only_dir / 'ro'} cannot be written" in message


def test_a_full_disk_is_a_one_line_error_and_keeps_measured_rows(
    bench_env: Path, tmp_path: Path
) -> None:
    """A 12 kB tmpfs as the results root (root only): the disk fills while the run writes."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", str(full)]).returncode:
        pytest.skip("root without mount: no tiny file system to fill")
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    try:
        result = subprocess.run(
            run_command(suite_file(tmp_path, "full", ["test-exact"]), full),
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "TMPDIR": str(spill_dir)},
        )
    finally:
        subprocess.run(["umount", str(full)], check=True)
    assert result.returncode in (1, 2)
    message = one_line_error(result.stdout + result.stderr)
    assert "No space left on device" in message
    if "cannot write the" in message:  # the disk filled after measuring: rows are spilled
        spill = Path(re.search(r"kept in (\S+\.csv)", message).group(1))
        assert list(read_results(spill)["algorithm"]) == ["test-exact"] * 2


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "synthetic-bytes", "dtype": "uint8", "n": 100_000, "spread": 0.5},
        {"kind": "synthetic", "distribution": "clustered", "n": 25_000},
    ],
    ids=["u8bin", "npy"],
)
def test_a_corpus_larger_than_the_free_disk_is_refused_before_a_row_is_written(
    bench_env: Path, tmp_path: Path, spec: dict
) -> None:
    """12.8 MB of rows into a 4 MB tmpfs (root only): the memory-mapped writer used to die
    of SIGBUS halfway through; the blocks are now reserved first."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)]).returncode:
        pytest.skip("root without mount: no tiny file system to fill")
    dataset = {**spec, "dim": 128, "queries": 10, "clusters": 4, "metric": "euclidean", "seed": 1}
    (bench_env / "datasets" / "too-big.yaml").write_text(json.dumps(dataset))
    try:
        result = subprocess.run(
            [
                *bench("run", "--dataset", "too-big", "--algorithms", "test-exact"),
                *("--grid", "test", "--results", tmp_path / "results", "--no-plot"),
                *("--warmup", "0"),  # 10 queries: the default 100 is refused before generating
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "BENCH_CACHE": str(small)},
        )
        left = [path for path in small.rglob("*") if path.is_file()]
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert result.returncode in (1, 2), result.stdout + result.stderr
    message = one_line_error(result.stdout + result.stderr)
    assert "cannot reserve 13 MB" in message or "cannot reserve 12 MB" in message, message
    assert "No space left on device" in message and "BENCH_CACHE" in message
    assert not [path for path in left if path.suffix in (".u8bin", ".npy", ".tmp")], left
    assert not (tmp_path / "results" / "adhoc" / "results.csv").exists()


# --- one line instead of a traceback -----------------------------------------------------------


def test_truncated_cached_array_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vectors.npy"
    cached_npy(path, (100, 4), np.float32, lambda out: out.__setitem__(..., 1.0))
    path.write_bytes(path.read_bytes()[:-64])
    with pytest.raises(BenchError, match=r"vectors.npy: cached array is damaged .* delete it"):
        cached_npy(path, (100, 4), np.float32, lambda out: None)


def test_plot_takes_a_results_file_and_refuses_other_files(bench_env: Path) -> None:
    run_dir = bench_env / "run"
    run_suite(tiny_suite(("test-exact",)), run_dir, show_progress=False)
    drawn = subprocess.run(
        bench("plot", run_dir / "results.csv"), capture_output=True, text=True, timeout=300
    )
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    assert list((run_dir / "plots").glob("pareto-*.png"))
    refused = subprocess.run(
        bench("plot", run_dir / "runs.jsonl"), capture_output=True, text=True, timeout=300
    )
    assert refused.returncode == 2
    assert "expected a run directory or its results file" in one_line_error(refused.stdout)


def test_suite_given_as_a_folder_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        bench("run", "--suite", tmp_path), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    assert "is a folder: expected a suite name" in one_line_error(result.stdout + result.stderr)


def test_sigterm_ends_the_workers_and_keeps_finished_jobs(bench_env: Path, tmp_path: Path) -> None:
    """kill -TERM of `bench run`: like Ctrl-C, the worker dies, its temporary folder goes,
    the finished job's rows stay, and the command says how to resume (exit 143)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.Popen(
        run_command(
            suite_file(tmp_path, "term", ["test-exact", "test-hanging"], 120), tmp_path / "results"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    results = tmp_path / "results" / "term" / "results.csv"
    wait_until(lambda: results.exists() and list(temp.glob("bench-job-*/job.json")))
    job_folder = next(temp.glob("bench-job-*"))
    wait_until(lambda: _processes_using(job_folder))
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, output
    assert "terminated: finished jobs are saved; run the same command to resume" in output
    assert "Traceback" not in output
    assert not job_folder.exists()
    assert not _processes_using(job_folder)
    assert set(read_results(results)["algorithm"]) == {"test-exact"}


def _processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(folder) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


# --- memory: the kernel's true peak --------------------------------------------------------------


def test_a_short_peak_over_the_cap_is_oom(bench_env: Path) -> None:
    """test-spiking touches 300 MiB for an instant: polling every 0.1 s sees it only by luck
    (then the worker is killed at once), the kernel's peak (wait4) always. Either way the job
    is oom; the same cap lets the exact job pass."""
    run_dir = bench_env / "run"
    run_suite(
        tiny_suite(("test-spiking", "test-exact"), memory_limit_gb=0.2),
        run_dir,
        show_progress=False,
    )
    frame = read_results(run_dir)
    spiking = frame[frame["algorithm"] == "test-spiking"]
    assert spiking["status"].iloc[-1] == "oom"
    assert "over the memory cap of 205 MiB" in spiking["error"].iloc[-1]
    assert spiking["peak_rss_bytes"].iloc[-1] > 0.2 * 2**30
    assert (frame.loc[frame["algorithm"] == "test-exact", "status"] == "ok").all()


def test_launcher_reports_the_workers_own_peak_not_its_parents(tmp_path: Path) -> None:
    """Linux counts a parent's memory at fork in the child's ru_maxrss; the launcher is small,
    so a 50 MiB worker started from a 400 MiB parent reports about 50 MiB, not 400."""
    ballast = np.ones(400 * 2**20 // 8)
    status = tmp_path / "status.json"
    child = "import numpy as np; a = np.ones(50 * 2**20 // 8)"
    subprocess.run(
        [sys.executable, "-m", "bench.runner.launcher", status, sys.executable, "-c", child],
        check=True,
    )
    record = json.loads(status.read_text())
    assert record["returncode"] == 0
    assert 50 * 2**20 < record["max_rss_bytes"] < 200 * 2**20 < ballast.nbytes


# --- file modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_the_umask_allows(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        write_bytes_atomic(tmp_path / "cache.bin", b"x")
        append_rows(tmp_path, [failed_row("j")])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "cache.bin").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "results.csv").stat().st_mode) == mode


def killed_after(code: str, argument: Path) -> None:
    """Run `code` in a child (sys, os, signal and Path imported; `argument` is sys.argv[1]),
    where each line `KILL` SIGKILLs it: no chance to clean up."""
    kill = "os.kill(os.getpid(), signal.SIGKILL)"
    child = "import os, signal, sys\nfrom pathlib import Path\n" + code.replace("KILL", kill)
    done = subprocess.run([sys.executable, "-c", child, str(argument)], check=False)
    assert done.returncode == -signal.SIGKILL


def test_a_killed_writers_temporary_file_is_removed_by_the_next_writer(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to clean up: the next writer of the same file does."""
    final = tmp_path / "corpus.u8bin"
    killed_after(
        "from bench.storage import atomic_path\n"
        "with atomic_path(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write_bytes(b'x' * 4096)\n"
        "    KILL\n",
        final,
    )
    orphans = list(tmp_path.glob(".corpus.u8bin.*.tmp"))
    assert len(orphans) == 1
    write_bytes_atomic(final, b"ok")
    assert final.read_bytes() == b"ok"
    assert list(tmp_path.glob(".corpus.u8bin.*.tmp")) == []


def test_a_running_writers_temporary_file_is_left_alone(tmp_path: Path) -> None:
    final = tmp_path / "corpus.u8bin"
    with atomic_path(final) as mine:
        mine.write_bytes(b"partial")
        write_bytes_atomic(final, b"other writer")  # same host, live pid: not an orphan
        assert mine.exists()
    assert final.read_bytes() == b"partial"  # the outer writer renamed last


def test_a_killed_workers_scratch_folder_is_removed_by_the_next_one(tmp_path: Path) -> None:
    """An on-disk index (DiskANN, NGT) of a worker killed at its cap: gone at the next build;
    the folder of a live process stays."""
    killed_after(
        "from bench.storage import scratch_folder\n"
        "folder = scratch_folder(Path(sys.argv[1]), 'index')\n"
        "(folder / 'graph.bin').write_bytes(b'x' * 4096)\n"
        "KILL\n",
        tmp_path,
    )
    (killed,) = tmp_path.iterdir()
    assert (killed / "graph.bin").exists()
    mine = scratch_folder(tmp_path, "index")
    again = scratch_folder(tmp_path, "index")  # same host, live pid: `mine` is no orphan
    assert sorted(tmp_path.iterdir()) == sorted([mine, again])
    assert mine.is_dir() and again.is_dir() and mine != again
