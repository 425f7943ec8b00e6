"""Outputs under a full disk or Ctrl-C: the old file stays whole, the error names the file.

A full disk is simulated with RLIMIT_FSIZE set in the child process: a write past the limit
fails with the real EFBIG ("File too large") of the kernel, as a full disk fails with ENOSPC,
and needs neither root nor a mount (Python ignores SIGXFSZ, so the write fails instead of
killing the process)."""

from __future__ import annotations

import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.report.rescore import rescore_frame
from bench.results.store import read_results
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from tests.conftest import point_at_tiny_setup

FSIZE_LIMIT = 1_000  # bytes: smaller than any PNG or comparison written here


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A finished run of two test algorithms, plotted once (the PNGs a failed plot must keep)."""
    root = tmp_path_factory.mktemp("diskfull")
    with pytest.MonkeyPatch.context() as patch:
        point_at_tiny_setup(patch, root, cache_dir)
        suite = Suite(
            name="d",
            datasets=("tiny-euclidean",),
            algorithms=("test-exact", "test-inaccurate"),
            grid="test",
            repetitions=1,
            warmup=0,
        )
        run_suite(suite, root / "run", show_progress=False)
    result = bench("plot", root / "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "run"


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))


def bench(*args: str | Path, limited: bool = False, code: str = "") -> subprocess.CompletedProcess:
    """`bench ARGS` in a child (files capped at FSIZE_LIMIT bytes when `limited`); `code` runs
    in the child before the CLI."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nfrom bench.cli import main\nmain()",
         *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300"},
        preexec_fn=_limit_file_size if limited else None,
    )  # fmt: skip


def error_line(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_plot_that_cannot_be_written_keeps_the_old_png_and_names_it(
    run_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    before = snapshot(run / "plots")
    assert before and all(len(png) > FSIZE_LIMIT for png in before.values())
    result = bench("plot", run, limited=True)
    assert result.returncode == 2, result.stdout + result.stderr
    first = run / "plots" / "pareto-tiny-euclidean-single.png"  # single mode comes first
    assert error_line(result) == f"error: {first}: File too large"
    assert snapshot(run / "plots") == before, "old PNGs intact, no temporary file left"


def test_ctrl_c_while_plotting_keeps_the_old_pngs_and_says_what_was_left(
    run_dir: Path, tmp_path: Path
) -> None:
    """A real SIGINT, sent by the child to itself as the first figure starts to render."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    before = snapshot(run / "plots")
    interrupt = (
        "import os, signal\n"
        # as in a terminal: a child of a background job starts with SIGINT ignored (CI)
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from matplotlib.figure import Figure\n"
        "render = Figure.savefig\n"
        "def savefig(self, *args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return render(self, *args, **kwargs)\n"
        "Figure.savefig = savefig\n"
    )
    for command in ("plot", "report"):
        result = bench(command, run, code=interrupt)
        assert result.returncode == 130, result.stdout + result.stderr
        assert result.stdout.strip().splitlines()[-1] == (
            "interrupted: the files already written are complete, and nothing was half-written"
        )
        assert "resume" not in result.stdout
        assert snapshot(run / "plots") == before


def test_compare_markdown_that_cannot_be_written_exits_2_and_keeps_the_old_file(
    run_dir: Path, tmp_path: Path
) -> None:
    comment = tmp_path / "pr.md"
    old = "an older PR comment\n" * 200  # larger than the limit: the limit allows no rewrite
    comment.write_text(old)
    result = bench("compare", run_dir, run_dir, "--markdown", comment, limited=True)
    assert result.returncode == 2, result.stdout + result.stderr  # 1 would read as a regression
    assert error_line(result) == f"error: {comment}: File too large"
    assert "PASS" not in result.stdout, "no verdict printed when its file was not written"
    assert comment.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["pr.md"], "no temporary file left"
    written = bench("compare", run_dir, run_dir, "--markdown", comment)
    assert written.returncode == 0, written.stdout + written.stderr
    assert comment.read_text() in written.stdout


def test_rows_whose_answers_were_not_written_are_kept_without_citing_them(
    bench_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answers folder cannot be made (a file is in its place: a real EEXIST), as when the
    disk fills at the answers: the kept rows cite no answers, so after the restore command
    `bench rescore` says there is nothing to rescore instead of failing on a missing npz."""
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill_dir))  # where unsaved rows go
    run = tmp_path / "run"
    run.mkdir()
    (run / "answers").write_text("in the way\n")
    suite = Suite(
        name="a",
        datasets=("tiny-euclidean",),
        algorithms=("test-exact",),
        grid="test",
        repetitions=1,
        warmup=0,
    )
    with pytest.raises(BenchError) as raised:
        run_suite(suite, run, show_progress=False)
    message = str(raised.value)
    assert f"({run / 'answers'})" in message, "the error names the path it could not write"
    assert "their answers could not be written and are lost" in message
    spill = Path(re.search(r"kept in (\S+\.csv)", message).group(1))
    with open(spill, newline="") as handle:
        kept = list(csv.DictReader(handle))
    assert kept and all(row["answers"] == "" for row in kept)
    assert all(row["answers_hash"] for row in kept), "the ids' hash still identifies them"
    (run / "answers").unlink()
    command = re.search(r"add them with `([^`]+)`", message).group(1)
    subprocess.run(command, shell=True, check=True)
    assert len(read_results(run)) == len(kept)
    with pytest.raises(BenchError, match="no ok rows with kept answers"):
        rescore_frame(run)


def test_a_full_tmpfs_keeps_the_old_comparison_and_names_it(run_dir: Path, tmp_path: Path) -> None:
    """The same on a real full disk: a 64 kB tmpfs filled to the last block (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)]).returncode:
        pytest.skip("root without mount (a container without CAP_SYS_ADMIN): no tmpfs to fill")
    try:
        comment = full / "pr.md"
        comment.write_text("an older PR comment\n")
        with (
            open(full / "filler", "wb", buffering=0) as filler,
            pytest.raises(OSError, match="No space left on device"),
        ):
            while True:
                filler.write(b"\0" * 4096)
        result = bench("compare", run_dir, run_dir, "--markdown", comment)
        assert result.returncode == 2, result.stdout + result.stderr
        assert error_line(result) == f"error: {comment}: No space left on device"
        assert comment.read_text() == "an older PR comment\n"
        assert sorted(p.name for p in full.iterdir()) == ["filler", "pr.md"]
    finally:
        subprocess.run(["umount", str(full)], check=True)
