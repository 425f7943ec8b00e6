"""The results schema is enforced on write and on read, and documented truthfully."""

from __future__ import annotations

import csv
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from re import escape as re_escape

import pandas as pd
import pytest

from bench import paths
from bench.errors import BenchError
from bench.results.schema import COLUMN_NAMES, markdown_table
from bench.results.store import (
    append_rows,
    read_results,
    restore_command,
    spill_rows,
    write_parquet,
)
from bench.runner.run import run_suite
from bench.runner.suite import Suite


@pytest.fixture
def run_dir(bench_env: Path) -> Path:
    run_dir = bench_env / "run"
    run_suite(
        Suite(
            name="s",
            datasets=("tiny-euclidean",),
            algorithms=("test-exact",),
            grid="test",
            repetitions=1,
            warmup=0,
        ),
        run_dir,
        show_progress=False,
    )
    return run_dir


def rewrite(run_dir: Path, old: str, new: str) -> None:
    path = run_dir / "results.csv"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_round_trip(run_dir: Path) -> None:
    frame = read_results(run_dir)
    assert tuple(frame.columns) == COLUMN_NAMES
    assert frame["recall"].dtype == "float64" and len(frame) == 2
    # the worker fills both recall definitions; exact search scores 1 under each
    assert (frame["recall"] == 1.0).all() and (frame["recall_rel"] == 1.0).all()
    assert frame["k"].dtype == "Int64" and frame["cpu_count"].dtype == "Int64"


def set_cell(run_dir: Path, column: str, value: str, line: int = 2) -> None:
    """Rewrite one cell of the results file (through the csv module: JSON cells have commas)."""
    path = run_dir / "results.csv"
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    rows[line - 1][rows[0].index(column)] = value
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("qps", "-921.6", "float in \\(0, inf\\)"),
        ("qps", "0", "float in \\(0, inf\\)"),
        ("qps", "inf", "float \\(a plain, finite"),
        ("qps", "nan", "float \\(a plain, finite"),
        ("recall", "1.2", "float in \\[0, 1\\]"),
        ("recall_rel", "-0.1", "float in \\[0, 1\\]"),
        ("threads", "-2", "int in \\[0, 1e\\+06\\]"),
        ("k", "-10", "int in \\[1, inf\\)"),
        ("n_queries", "-3", "int in \\[1, inf\\)"),
        ("index_bytes", "-1", "int in \\[0, inf\\)"),
        ("cpu_count", "1e300", "int \\(a whole number within"),
        ("cpu_count", "2000000", "int in \\[1, 1e\\+06\\]"),
        ("k", "10.5", "int \\(a whole number within"),
        ("k", "True", "int \\(a plain, finite"),
        ("query_params", "[1, 2]", "a JSON object"),
        ("build_params", "3", "a JSON object"),
        ("build_params", "{nope", "a JSON object"),
        ("mode", "", "is empty: expected single or batch when ok"),
    ],
)
def test_impossible_value_is_rejected_naming_file_line_and_column(
    run_dir: Path, column: str, value: str, expected: str
) -> None:
    set_cell(run_dir, column, value, line=3)
    with pytest.raises(BenchError, match=f"results.csv line 3: .*'{column}'.*{expected}"):
        read_results(run_dir)


def test_written_rows_are_checked_the_same_way(run_dir: Path) -> None:
    row = read_results(run_dir).iloc[0].to_dict()
    with pytest.raises(BenchError, match="new row 0: column 'qps' = 'inf'"):
        append_rows(run_dir, [{**row, "qps": float("inf")}])
    with pytest.raises(BenchError, match="new row 0: column 'query_params' = '\\[3\\]'"):
        append_rows(run_dir, [{**row, "query_params": [3]}])
    assert len(read_results(run_dir)) == 2  # nothing was written


def test_valid_edge_values_read_back_with_schema_dtypes(run_dir: Path) -> None:
    set_cell(run_dir, "index_bytes", "1e3")  # integral in float notation: read as 1000
    set_cell(run_dir, "qps", "1e-05")
    set_cell(run_dir, "cpu_count", "1000000")
    frame = read_results(run_dir)
    assert frame["index_bytes"].dtype == "Int64" and frame["index_bytes"].iloc[0] == 1000
    assert frame["qps"].iloc[0] == 1e-05 and frame["cpu_count"].iloc[0] == 1_000_000


def test_file_cut_inside_a_number_is_truncated_and_never_appended_to(run_dir: Path) -> None:
    path = run_dir / "results.csv"
    whole = path.read_text()
    path.write_text(whole[: whole.rindex(",") + 2])  # the last line ends inside a number
    lines = path.read_text().count("\n") + 1
    message = f"results.csv is truncated at line {lines}: .* delete line {lines}"
    with pytest.raises(BenchError, match=message):
        read_results(run_dir)
    row = dict(zip(COLUMN_NAMES, next(csv.reader(whole.splitlines()[1:])), strict=True))
    with pytest.raises(BenchError, match=message):
        append_rows(run_dir, [row])  # resume must not glue a row onto the cut line
    assert path.read_text() == whole[: whole.rindex(",") + 2]


def test_error_lines_are_physical_lines_when_error_texts_span_lines(run_dir: Path) -> None:
    set_cell(run_dir, "error", "first line\nsecond line\nthird line", line=2)
    set_cell(run_dir, "k", "-1", line=3)
    with pytest.raises(BenchError, match=r"results\.csv line 5: column 'k'"):
        read_results(run_dir)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("run_id,", "runid,", "header does not match"),
        (",ok,", ",fine,", "status 'fine': expected one of ok"),
        (",single,", ",solo,", "mode 'solo': expected single or batch"),
    ],
)
def test_malformed_file_is_rejected(run_dir: Path, old: str, new: str, message: str) -> None:
    rewrite(run_dir, old, new)
    with pytest.raises(BenchError, match=message):
        read_results(run_dir)


def test_non_numeric_value_is_rejected(run_dir: Path) -> None:
    path = run_dir / "results.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    assert header.index("n_train") < 14  # before any JSON column with commas
    cells[header.index("n_train")] = "many"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    with pytest.raises(BenchError, match="column 'n_train' = 'many': expected int"):
        read_results(run_dir)


def test_truncated_row_is_rejected(run_dir: Path) -> None:
    path = run_dir / "results.csv"
    path.write_text(path.read_text() + "abc,def\n")
    with pytest.raises(BenchError, match="wrong number of fields"):
        read_results(run_dir)


def test_write_rejects_a_row_missing_required_values(run_dir: Path) -> None:
    row = read_results(run_dir).iloc[0].to_dict()
    row["recall"] = None
    with pytest.raises(BenchError, match="column 'recall' is empty"):
        append_rows(run_dir, [row])


def test_readme_documents_every_column() -> None:
    readme = (paths.PROJECT_ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README column table is stale: paste `bench schema`"


def _suite() -> Suite:
    return Suite(
        name="s",
        datasets=("tiny-euclidean",),
        algorithms=("test-exact",),
        grid="test",
        repetitions=1,
        warmup=0,
    )


def _text_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_repeated_row_is_refused_naming_the_key_and_its_lines(run_dir: Path) -> None:
    path = run_dir / "results.csv"
    write_parquet(run_dir)  # the same rows, before the repeat
    first_row = path.read_text().splitlines()[1]
    with open(path, "a") as handle:
        handle.write(first_row + "\n")  # appended twice, as by hand or a job run twice
    row = read_results(run_dir / "results.parquet").iloc[0]
    key = (
        f"job_id {row['job_id']}, query_params {row['query_params']}, "
        f"mode {row['mode']}, repetition 0"
    )
    message = f"results.csv: lines 2, 4 are the same row ({key}): expected each repetition"
    with pytest.raises(BenchError, match=re_escape(message)):
        read_results(run_dir)
    with pytest.raises(BenchError, match=re_escape(message)):  # a resumed run: before anything
        run_suite(_suite(), run_dir, show_progress=False)
    frame = read_results(run_dir / "results.parquet")
    pd.concat([frame, frame.iloc[[0]]]).to_parquet(run_dir / "repeated.parquet", index=False)
    message = f"repeated.parquet: rows 0, 2 are the same row ({key})"
    with pytest.raises(BenchError, match=re_escape(message)):
        read_results(run_dir / "repeated.parquet")


@pytest.mark.parametrize("command", ["compare", "report", "plot", "rescore"])
def test_every_command_refuses_repeated_rows(run_dir: Path, command: str) -> None:
    path = run_dir / "results.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[2], lines[1]]) + "\n")
    runs = [run_dir, run_dir] if command == "compare" else [run_dir]
    result = subprocess.run(
        [sys.executable, "-m", "bench", command, *map(str, runs)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "1000"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    error = result.stdout.strip()
    assert error.count("\n") == 0 and f"{path}: lines 2, 5 are the same row (job_id" in error
    assert "1 other row is repeated too" in error


def test_a_results_file_that_is_not_utf8_names_the_byte(run_dir: Path) -> None:
    path = run_dir / "results.csv"
    data = path.read_bytes()
    offset = data.index(b"\n", data.index(b"\n") + 1) + 5  # inside line 3
    path.write_bytes(data[:offset] + b"\xff\xfe" + data[offset + 2 :])
    message = f"results.csv is not UTF-8 text: byte 0xff at offset {offset} (line 3)"
    with pytest.raises(BenchError, match=re_escape(message)):
        read_results(run_dir)
    with pytest.raises(BenchError, match=re_escape(message)):
        run_suite(_suite(), run_dir, show_progress=False)


def test_unsaved_rows_come_with_a_command_that_adds_them(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where spill files go
    rows = _text_rows(run_dir / "results.csv")
    fresh = tmp_path / "fresh run"  # a space: the command quotes its paths
    fresh.mkdir()
    target = fresh / "results.csv"
    spill = spill_rows(fresh, rows)
    command = restore_command(spill, target)
    # no results yet: the header must come too
    assert command == f"cp {shlex.quote(str(spill))} {shlex.quote(str(target))}"
    subprocess.run(command, shell=True, check=True)
    assert read_results(target)["job_id"].tolist() == [row["job_id"] for row in rows]
    started = tmp_path / "started"
    started.mkdir()
    append_rows(started, rows[:1])
    spill = spill_rows(started, rows[1:])
    command = restore_command(spill, started / "results.csv")
    assert command == f"tail -n +2 {spill} >> {started / 'results.csv'}"  # no space to quote
    subprocess.run(command, shell=True, check=True)
    assert len(read_results(started)) == len(rows)
