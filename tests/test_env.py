"""BENCH_* variables (empty, a file, a missing folder), names that shadow folders in the
current directory, runs sharing one cache, and checks made before a corpus is generated."""

from __future__ import annotations

import gc
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import pytest

from bench import paths
from bench.corpora.synthetic import GENERATOR_VERSION, SyntheticSpec, synthetic_corpus
from bench.errors import BenchError
from bench.groundtruth.cache import ground_truth, ground_truth_info, groundtruth_paths
from bench.runner.plan import check_declared_counts
from bench.storage import cache_path, fingerprint, making
from tests.conftest import TINY_DATASETS, tiny_suite

FOLDERS = ["BENCH_BACKENDS", "BENCH_DATASETS", "BENCH_SUITES", "BENCH_CATALOGUE", "BENCH_CACHE"]
DIRS = {
    "BENCH_BACKENDS": paths.backends_dirs,
    "BENCH_DATASETS": paths.datasets_dir,
    "BENCH_SUITES": paths.suites_dir,
    "BENCH_CATALOGUE": paths.catalogue_dir,
    "BENCH_CACHE": paths.cache_dir,
    "BENCH_RESULTS": paths.results_dir,
}


def bench(*args: object, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT), **env},
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


# --- empty, a file, a missing folder -----------------------------------------------------------


@pytest.mark.parametrize("variable", list(DIRS))
def test_an_empty_variable_means_the_default(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    monkeypatch.delenv(variable, raising=False)
    default = DIRS[variable]()
    monkeypatch.setenv(variable, "")
    assert DIRS[variable]() == default
    monkeypatch.setenv("BENCH_HOME", "")
    assert paths.home() == paths.PROJECT_ROOT


def test_empty_cache_and_results_variables_write_nothing_in_the_current_folder(
    bench_env: Path, tmp_path: Path
) -> None:
    """`BENCH_CACHE= BENCH_RESULTS=` used to create synthetic/, groundtruth/ and the run
    folder in the current directory."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    ran = bench(
        *("run", "--dataset", "tiny-euclidean", "--algorithms", "test-exact", "--grid", "test"),
        *("--warmup", "0", "--run", "ec", "--no-plot"),
        cwd=cwd,
        BENCH_CACHE="",
        BENCH_RESULTS="",
        BENCH_HOME=str(home),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert list(cwd.iterdir()) == []
    assert (home / "results" / "ec" / "results.csv").is_file()
    assert list((home / "datasets" / "cache" / "groundtruth").glob("*-ids.npy"))


@pytest.mark.parametrize("variable", FOLDERS)
@pytest.mark.parametrize("what", ["a file", "missing"])
def test_a_folder_variable_naming_a_file_or_nothing_is_refused(
    variable: str, what: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "afile"
    if what == "a file":
        target.write_text("not a folder\n")
    elif variable == "BENCH_CACHE":  # created when missing
        monkeypatch.setenv(variable, str(target / "cache"))
        assert paths.cache_dir().is_dir()
        return
    monkeypatch.setenv(variable, str(target))
    with pytest.raises(BenchError) as raised:
        DIRS[variable]()
    assert str(raised.value).startswith(f"{variable}={target} is not a folder ({what}): expected")


def test_a_results_variable_naming_a_file_is_refused_and_a_missing_one_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "later"))
    assert paths.results_dir() == tmp_path / "later"
    assert not (tmp_path / "later").exists()  # made by the run that writes there
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "afile"))
    with pytest.raises(BenchError, match=r"^BENCH_RESULTS=.*afile is not a folder \(a file\)"):
        paths.results_dir()


def test_the_cli_names_the_variable_not_another_one(bench_env: Path, tmp_path: Path) -> None:
    """BENCH_BACKENDS=/missing blamed BENCH_EXTRA_BACKENDS; BENCH_CATALOGUE=/missing showed
    an empty table with exit 0."""
    backends = bench(
        *("run", "--dataset", "tiny-euclidean", "--results", tmp_path / "res"),
        BENCH_BACKENDS=str(tmp_path / "no"),
    )
    assert backends.returncode == 2
    line = one_line_error(backends)
    assert f"BENCH_BACKENDS={tmp_path / 'no'} is not a folder (missing)" in line
    assert "BENCH_EXTRA_BACKENDS" not in line
    listed = bench("datasets", BENCH_CATALOGUE=str(tmp_path / "no"))
    assert listed.returncode == 2
    assert "BENCH_CATALOGUE=" in one_line_error(listed)


def test_a_misspelt_variable_is_named_with_the_one_meant(tmp_path: Path) -> None:
    """BENCH_CAHCE=... left the cache in the default folder without a word."""
    listed = bench("datasets", BENCH_CAHCE=str(tmp_path), BENCH_XYZZY="1", COLUMNS="200")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "BENCH_CAHCE is not a variable bench reads: did you mean BENCH_CACHE?" in listed.stdout
    assert "BENCH_XYZZY is not a variable bench reads: known: BENCH_BACKENDS" in listed.stdout
    assert "not a variable" not in bench("datasets", COLUMNS="200").stdout


# --- a bare name is a name, even when the current folder holds a folder of that name -----------


def test_suite_and_dataset_names_are_not_shadowed_by_folders_in_the_cwd(
    bench_env: Path, tmp_path: Path
) -> None:
    """`bench run --suite t --results .` made ./t: the second run refused `--suite t` as a
    folder. Paths (with a separator) are still paths."""
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "t.yaml").write_text(
        "datasets: [tiny-euclidean]\nalgorithms: [test-exact]\ngrid: test\nwarmup: 0\n"
    )
    cwd = tmp_path / "cwd"
    (cwd / "t").mkdir(parents=True)
    (cwd / "tiny-euclidean").mkdir()
    for args in (("--suite", "t"), ("--dataset", "tiny-euclidean", "--algorithms", "test-exact")):
        ran = bench(
            *("run", *args, "--grid", "test", "--warmup", "0", "--results", ".", "--no-plot"),
            cwd=cwd,
            BENCH_SUITES=str(suites),
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (cwd / "t" / "results.csv").is_file()
    assert (cwd / "tiny-euclidean" / "results.csv").is_file()
    as_path = bench("run", "--suite", "./t", cwd=cwd, BENCH_SUITES=str(suites))
    assert as_path.returncode == 2
    assert "--suite ./t is a folder" in one_line_error(as_path)


# --- one cache shared by concurrent runs -------------------------------------------------------

RACER = """
import logging, sys
from bench.corpora.synthetic import SyntheticSpec, synthetic_corpus
from bench.groundtruth.cache import ground_truth
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
spec = SyntheticSpec(**{spec!r})
ground_truth(synthetic_corpus("race", spec))
print("done", file=sys.stderr, flush=True)
"""
RACE_SPEC = dict(distribution="gaussian", n=3000, dim=8, queries=50, seed=99)


def _lines(process: subprocess.Popen, out: queue.Queue) -> None:
    for line in process.stderr:
        out.put((process.pid, line.rstrip()))


def _wait_for(lines: queue.Queue, seen: list, text: str, count: int) -> None:
    while sum(text in line for _, line in seen) < count:
        seen.append(lines.get(timeout=120))


def test_two_runs_sharing_a_cache_make_the_corpus_and_ground_truth_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test holds the locks of the train file and the ground truth until both racers
    wait for each, so they meet there; then exactly one makes each file and the other reuses
    it (its log has no "making"/"computing" line for it)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BENCH_CACHE", str(cache))
    key = fingerprint("synthetic", GENERATOR_VERSION, asdict(SyntheticSpec(**RACE_SPEC)))
    train = cache_path("synthetic", f"{key}-train", ".npy")
    truth = groundtruth_paths(key, 100)[0]
    lines: queue.Queue = queue.Queue()
    seen: list[tuple[int, str]] = []
    with making(truth):
        with making(train):
            racers = [
                subprocess.Popen(
                    [sys.executable, "-c", RACER.format(spec=RACE_SPEC)],
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT)},
                )
                for _ in range(2)
            ]
            for racer in racers:
                threading.Thread(target=_lines, args=(racer, lines), daemon=True).start()
            _wait_for(lines, seen, f"waiting for another process making {train}", 2)
        _wait_for(lines, seen, f"waiting for another process making {truth}", 2)
    # Both locks are free now; the racers take turns.
    _wait_for(lines, seen, "done", 2)
    for racer in racers:
        assert racer.wait(timeout=120) == 0
    log = [line for _, line in seen]
    assert sum(f"making the cached file {train}" in line for line in log) == 1, log
    assert sum("computing the ground truth of race" in line for line in log) == 1, log
    assert sum("making the cached file" in line for line in log) == 2, log  # train, queries
    assert ground_truth_info(synthetic_corpus("race", SyntheticSpec(**RACE_SPEC)))["k"] == 100


def test_a_killed_holder_does_not_block_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed (SIGKILL) while it holds the ground truth's lock: its flock goes
    with it, and the next run computes the ground truth instead of waiting for ever."""
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    corpus = synthetic_corpus("held", SyntheticSpec(**RACE_SPEC))
    truth = groundtruth_paths(corpus.fingerprint, 100)[0]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom bench.storage import making\n"
            f"with making(Path({str(truth)!r})):\n    print('held', flush=True)\n"
            "    time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT)},
    )
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert ground_truth(corpus).ids.shape == (RACE_SPEC["queries"], 100)


# --- a full disk while the ground truth is written ---------------------------------------------


def _ground_truth_error(cache: Path) -> tuple[str, str, list[str]]:
    """The error of a ground truth that does not fit, the corpus fingerprint and the files
    left in the ground-truth folder (the corpus is unmapped on return)."""
    corpus = synthetic_corpus(
        "fill", SyntheticSpec(distribution="gaussian", n=2000, dim=16, queries=1000)
    )
    try:
        ground_truth(corpus)
    except BenchError as exc:
        message = str(exc)
    else:
        raise AssertionError("the ground truth fitted")
    return message, corpus.fingerprint, sorted(p.name for p in (cache / "groundtruth").iterdir())


def test_ground_truth_on_a_full_disk_names_the_folder_the_file_and_the_free_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 700 kB tmpfs cache (root only): the corpus fits, its 0.8 MB ground truth ids do not.
    numpy said only "200000 requested and 44000 written"."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(small)]).returncode:
        pytest.skip("root without mount: no tiny file system to fill")
    monkeypatch.setenv("BENCH_CACHE", str(small))
    try:
        message, fingerprint_, left = _ground_truth_error(small)
        gc.collect()  # the corpus' memory maps keep the file system busy
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert message.startswith(f"{small / 'groundtruth'}: cannot reserve"), message
    assert f"{fingerprint_}-k100-" in message and "No space left on device" in message
    assert "MB were free" in message and "BENCH_CACHE" in message
    assert not [name for name in left if name.endswith((".tmp", "-ids.npy"))], left


# --- warm-up checked before the corpus is generated --------------------------------------------


def test_a_warmup_larger_than_the_declared_queries_is_refused_before_generating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    spec = TINY_DATASETS["tiny-euclidean"]  # 60 queries
    with pytest.raises(BenchError, match=r"warmup=61 is larger than the 60 queries searched"):
        check_declared_counts(tiny_suite(("bruteforce",), warmup=61), "tiny-euclidean", spec)
    small = {**spec, "n": 50}
    with pytest.raises(BenchError, match=r"k=100 is larger than corpus 'small' \(50 vectors\)"):
        check_declared_counts(tiny_suite(("bruteforce",), k=100), "small", small)
    check_declared_counts(tiny_suite(("bruteforce",), warmup=60), "tiny-euclidean", spec)
    named = {"kind": "named", "name": "glove-25-angular"}  # its sizes are known once loaded
    check_declared_counts(tiny_suite(("bruteforce",), warmup=10**6), "glove", named)
    assert not (tmp_path / "cache").exists()


def test_a_run_refuses_a_warmup_beyond_the_declared_queries_before_generating(
    bench_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bench run` itself: the refusal comes before a corpus or the results file exists."""
    from bench.runner.run import run_suite

    monkeypatch.setenv("BENCH_CACHE", str(bench_env / "own-cache"))
    run_dir = bench_env / "results" / "tiny"
    with pytest.raises(BenchError, match=r"warmup=61 is larger than the 60 queries searched"):
        run_suite(tiny_suite(("test-exact",), warmup=61), run_dir, show_progress=False)
    assert not list((bench_env / "own-cache").rglob("*.npy"))
    assert not (run_dir / "results.csv").exists()
