"""The results schema is enforced on write and on read, and documented truthfully."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import paths
from bench.errors import BenchError
from bench.results.schema import COLUMN_NAMES, markdown_table
from bench.results.store import append_rows, read_results
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
