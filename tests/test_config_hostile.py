"""What a hostile user found in the configuration (session 13): each is refused at the door
with one line naming the file (or option), the key and what was expected."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.backends.registry import _algorithms_in, get_algorithm
from bench.config import read_yaml
from bench.corpora.registry import dataset_spec
from bench.errors import BenchError
from bench.runner.adhoc import adhoc_suite, algorithm_names, apply_sets, grids_for
from bench.runner.suite import load_suite, suite_from_dict

GRID = "{build: {M: [8], ef_construction: [40]}, query: {ef: [10]}}"


def suite_file(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text("datasets: [tiny-euclidean]\nalgorithms: [hnswlib]\n" + text)
    return path


def refused(call, *args) -> str:
    with pytest.raises(BenchError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=300, env=env
    )


# --- 4: duplicate keys -------------------------------------------------------------------


def test_a_duplicate_suite_key_names_the_file_the_key_and_its_lines(tmp_path: Path) -> None:
    path = suite_file(tmp_path, "k: 10\nk: 20\n")
    message = refused(load_suite, str(path))
    assert message == (
        f"suite file {path} is not valid YAML: line 4, column 1: duplicate key 'k' "
        "(first given at line 3)"
    )


def test_a_duplicate_nested_key_in_a_flow_mapping_is_refused(tmp_path: Path) -> None:
    path = suite_file(tmp_path, "grids: {hnswlib: {build: {M: [8], M: [16]}}}\n")
    assert "line 3, column 35: duplicate key 'M' (first given at line 3)" in refused(
        load_suite, str(path)
    )


def test_a_merge_key_may_still_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("base: &b {k: 10, warmup: 0}\nuse: {<<: *b, k: 20}\n")
    assert read_yaml(path, "suite")["use"] == {"k": 20, "warmup": 0}


def test_a_duplicate_dataset_key_names_the_dataset_file(bench_env: Path) -> None:
    path = bench_env / "datasets" / "twice.yaml"
    path.write_text("kind: synthetic\nn: 300\ndim: 8\nmetric: euclidean\nmetric: angular\n")
    message = refused(dataset_spec, "twice")
    assert f"dataset file {path}" in message
    assert "line 5, column 1: duplicate key 'metric' (first given at line 4)" in message


def test_a_duplicate_backend_key_names_the_backend_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "library: numpy\nadapter: bench.backends.bruteforce:BruteForce\nmetrics: [euclidean]\n"
        "algorithms:\n  brute-a: {grids: {quick: {}}}\n  brute-a: {grids: {ci: {}}}\n"
    )
    message = refused(_algorithms_in, path)
    assert f"backend file {path}" in message and "duplicate key 'brute-a'" in message
    assert "line 6" in message


# --- 9: bytes that are not UTF-8 ---------------------------------------------------------


def test_a_binary_suite_names_the_file_and_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe garbage")
    assert refused(load_suite, str(path)) == (
        f"suite file {path} is not UTF-8 text: byte 0xff at offset 0 (line 1): expected a "
        "UTF-8 YAML file"
    )


def test_bench_datasets_lists_the_others_and_names_the_bad_file(bench_env: Path) -> None:
    bad = bench_env / "datasets" / "latin1.yaml"
    bad.write_bytes(b"kind: synthetic\ndescription: caf\xe9\n")
    result = bench("datasets", env={**os.environ, "COLUMNS": "400"})  # one row a line
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert any("tiny-euclidean" in line and "synthetic" in line for line in lines)
    row = next(line for line in lines if "latin1" in line and "invalid" in line)
    assert f"{bad} is not UTF-8 text: byte 0xe9 at offset 32 (line 2)" in row
    assert lines[-1].startswith("error: 1 dataset file(s)") and "latin1" in lines[-1]


# --- 7: a value listed twice runs once ---------------------------------------------------


def test_a_repeated_inline_grid_value_is_kept_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    grid = "{build: {M: [8], ef_construction: [40]}, query: {ef: [10, 10, 20]}}"
    with caplog.at_level(logging.WARNING):
        suite = load_suite(str(suite_file(tmp_path, f"grids: {{hnswlib: {grid}}}\n")))
    assert grids_for(suite, get_algorithm("hnswlib"))[1] == [{"ef": 10}, {"ef": 20}]
    assert "grid query.ef: [10] listed more than once, kept once" in caplog.text


def test_a_repeated_set_value_is_kept_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        suite = apply_sets(adhoc_suite("tiny", ("hnswlib",)), ("hnswlib.M=8,8,16",))
    builds = grids_for(suite, get_algorithm("hnswlib"))[0]
    assert [build["M"] for build in builds] == [8, 16]
    assert "grid build.M: [8] listed more than once" in caplog.text


def test_a_repeated_backend_grid_value_is_kept_once(tmp_path: Path) -> None:
    path = tmp_path / "rep.yaml"
    path.write_text(
        "library: hnswlib\nadapter: bench.backends.hnswlib:Hnswlib\nmetrics: [euclidean]\n"
        "params: {build: {M: {type: int, required: true}}, query: {ef: int}}\n"
        "algorithms:\n  h: {grids: {quick: {build: {M: [4, 4]}, query: {ef: [5, 5, 6]}}}}\n"
    )
    (algorithm,) = _algorithms_in(path)
    assert algorithm.build_grid("quick") == [{"M": 4}]
    assert algorithm.query_grid("quick") == [{"ef": 5}, {"ef": 6}]


# --- 11: --set values and inline grids are refused before anything runs ------------------


@pytest.mark.parametrize("text", ["hnswlib.M=[1,2]", "hnswlib.M=8,", "hnswlib.M={a: 1}"])
def test_set_takes_comma_separated_scalars(text: str) -> None:
    message = refused(apply_sets, adhoc_suite("tiny", ("hnswlib",)), (text,))
    assert message.startswith(f"--set {text!r}: value ")
    assert "expected ALGORITHM.PARAM=V1,V2,... of comma-separated scalars" in message


MISSING = "missing parameter"


@pytest.mark.parametrize(
    "grid, expected",
    [
        (
            "{build: {M: [], ef_construction: [40]}, query: {ef: [10]}}",
            "grids.hnswlib[0].build.M=[]: expected at least one value",
        ),
        (
            "{build: {}, query: {}}",
            f"grids.hnswlib.build: {MISSING} 'M': expected values for M, ef_construction (the "
            "adapter has no default for them)",
        ),
        ("{build: {M: 8}}", f"grids.hnswlib.build: {MISSING} 'ef_construction': expected"),
        ("{build: {M: 8, ef_construction: 40}}", f"grids.hnswlib.query: {MISSING} 'ef': expected"),
        ("[]", "grids.hnswlib=[]: expected a mapping of build/query parameters, or a non-empty"),
        ("7", "grids.hnswlib[0]=7: expected a mapping"),
        ("[" + GRID + ", {build: {M: [4]}}]", f"grids.hnswlib[1].build: {MISSING} 'ef_constr"),
    ],
)
def test_an_inline_grid_that_cannot_run_is_refused_when_read(
    tmp_path: Path, grid: str, expected: str
) -> None:
    path = suite_file(tmp_path, f"grids: {{hnswlib: {grid}}}\n")
    assert refused(load_suite, str(path)).startswith(f"suite file {path}: {expected}")


def test_a_required_parameter_may_come_from_fixed() -> None:
    suite = suite_from_dict(
        "s", {"datasets": ["x"], "grids": {"faiss-ivf": {"build": {"nlist": 4}}}}
    )
    assert grids_for(suite, get_algorithm("faiss-ivf"))[0] == [{"index": "IVFFlat", "nlist": 4}]


def test_a_backend_grid_missing_a_required_parameter_names_the_backend_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "req.yaml"
    path.write_text(
        "library: hnswlib\nadapter: bench.backends.hnswlib:Hnswlib\nmetrics: [euclidean]\n"
        "params: {build: {M: {type: int, required: true}, seed: int}}\n"
        "algorithms:\n  h: {grids: {quick: {build: {M: [4]}}, ci: {build: {seed: [1]}}}}\n"
    )
    assert refused(_algorithms_in, path) == (
        f"backend file {path}: algorithms.h.grids.ci.build: missing parameter 'M': expected "
        "values for M (the adapter has no default for them)"
    )


# --- 12: --run and --algorithms ----------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "/abs/path", ""])
def test_run_name_cannot_leave_the_results_folder(bench_env: Path, name: str) -> None:
    results = bench_env / "results"
    result = bench("run", "--dataset", "tiny-euclidean", "--run", name, "--results", str(results))
    assert result.returncode == 2
    assert f"error: --run {name!r}: expected a name of letters, digits" in result.stdout
    assert not results.exists() and not (bench_env / "escape").exists()


@pytest.mark.parametrize("command", [("ab", "--suite", "ci"), ("finetune", "--epochs", "1")])
def test_every_run_option_is_checked_before_anything_runs(bench_env: Path, command) -> None:
    """`bench ab` and `bench finetune` name their run folder with --run too."""
    result = bench(*command, "--run", "../escape")
    assert result.returncode == 2
    assert "error: --run '../escape': expected a name of letters, digits" in result.stdout
    assert not (bench_env / "escape").exists()


def test_ab_refuses_an_empty_algorithm_name(bench_env: Path) -> None:
    result = bench("ab", "--suite", "ci", "--algorithms", "")
    assert result.returncode == 2
    assert "error: --algorithms '': an empty name: expected comma-separated" in result.stdout


@pytest.mark.parametrize("text", ["", ",", " ", "hnswlib,"])
def test_algorithms_with_an_empty_name_is_refused(text: str) -> None:
    message = refused(algorithm_names, text)
    assert message.startswith(f"--algorithms {text!r}: an empty name: expected comma-separated")


# --- 13: thread counts, --set for an algorithm not run, unknown names, folders -----------


def test_batch_threads_is_bounded_when_read(tmp_path: Path) -> None:
    path = suite_file(tmp_path, "batch_threads: 100000000\n")
    assert refused(load_suite, str(path)) == (
        f"suite file {path}: batch_threads=100000000: expected an integer from 1 to 4096"
    )


def test_set_for_an_algorithm_not_run_is_refused() -> None:
    message = refused(apply_sets, adhoc_suite("tiny", ("hnswlib",)), ("annoy.n_trees=5",))
    assert message == (
        "--set 'annoy.n_trees=5': 'annoy' is not among the algorithms this run measures: "
        "expected one of hnswlib (or add it with --algorithms)"
    )
    excluded = suite_from_dict("s", {"datasets": ["x"], "exclude": ["annoy"]})
    assert "'annoy' is not among" in refused(apply_sets, excluded, ("annoy.n_trees=5",))
    assert "unknown algorithm 'nosuch'" in refused(apply_sets, excluded, ("nosuch.M=5",))


@pytest.mark.parametrize(
    "text, key",
    [
        ("grids: {nosuch: " + GRID + "}\n", "key 'grids.nosuch': unknown algorithm 'nosuch'"),
        ("exclude: [nosuch]\n", "exclude[0]='nosuch': unknown algorithm 'nosuch'"),
    ],
)
def test_an_unknown_algorithm_in_a_suite_names_the_file_and_key(
    tmp_path: Path, text: str, key: str
) -> None:
    path = suite_file(tmp_path, text)
    assert refused(load_suite, str(path)).startswith(f"suite file {path}: {key}: expected one of")


def test_an_unknown_listed_algorithm_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("datasets: [tiny-euclidean]\nalgorithms: [hnswlib, hnswlibx]\n")
    message = refused(load_suite, str(path))
    assert message.startswith(
        f"suite file {path}: algorithms=['hnswlib', 'hnswlibx']: unknown algorithm 'hnswlibx'"
    )


def test_a_dataset_folder_is_not_a_dataset(tmp_path: Path) -> None:
    message = refused(adhoc_suite, str(tmp_path), ("hnswlib",))
    assert message.startswith(f"--dataset {tmp_path} is a folder: expected a dataset name")


def test_a_dataset_path_names_the_run_by_a_valid_stem() -> None:
    assert adhoc_suite("/data/my data.v2.fvecs", None).name == "my-data.v2"
