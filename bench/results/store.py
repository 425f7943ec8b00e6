"""The results store: `results/<run>/results.csv`, appended atomically, read with validation.

Appending rewrites the file through a temporary file and one rename, so a run killed at any
moment leaves either the old or the new file, never a torn row; resume reads the job ids back.
Every change (append, drop) holds RUN_DIR/results.csv.lock around its read-modify-rename, so
writers in several processes, or on several hosts sharing the folder, never lose each other's
rows. A file whose last line lacks its newline (cut short by something else) is refused rather
than extended: the next row would be glued onto it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shlex
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench import paths
from bench.errors import BenchError, utf8_text
from bench.results.identity import ROW
from bench.results.rundir import RESULTS_CSV as RESULTS_FILE
from bench.results.rundir import RESULTS_PARQUET as PARQUET_FILE
from bench.results.schema import COLUMN_NAMES, COLUMNS, validate_row
from bench.storage import locked, write_bytes_atomic


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def rows_to_csv(rows: Iterable[dict[str, Any]], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(COLUMN_NAMES)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in COLUMN_NAMES])
    return buffer.getvalue()


def validate_rows(rows: list[dict[str, Any]], where: str = "new row") -> None:
    """Check rows against the schema as they will be written (cells as text)."""
    for i, row in enumerate(rows):
        validate_row({name: _cell(value) for name, value in row.items()}, f"{where} {i}")


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _read_text(path: Path) -> str:
    """The file's text, or BenchError naming the first byte that is not UTF-8."""
    return utf8_text(path.read_bytes(), str(path), "a results CSV as written by `bench run`")


def _appendable_text(path: Path) -> str:
    """The file's text, or BenchError when its last line has no newline (a row cut short)."""
    text = _read_text(path) if path.exists() else ""
    check_complete(path, text)
    return text


def check_appendable(run_dir: Path) -> None:
    """Refuse, before anything is prepared or measured, a results file that cannot be appended
    to or read back (resume reads it to skip finished jobs)."""
    path = run_dir / RESULTS_FILE
    if path.exists():
        read_results(path)


def append_rows(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Validate and append rows to the run's CSV in one atomic replace, under its lock."""
    validate_rows(rows)
    path = run_dir / RESULTS_FILE
    with locked(_lock_path(path)):
        existing = _appendable_text(path)
        text = existing + rows_to_csv(rows, header=not existing)
        write_bytes_atomic(path, text.encode())


def spill_rows(run_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """Keep rows that could not be appended: a CSV (with header) in the temporary folder,
    else in the cache folder; returns where. Not validated, so nothing is dropped."""
    name = f"bench-unsaved-{run_dir.name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.csv"
    text = rows_to_csv(rows, header=True).encode()
    errors = []
    for folder in (lambda: Path(tempfile.gettempdir()), lambda: paths.cache_dir() / "unsaved"):
        try:
            path = folder() / name
            write_bytes_atomic(path, text)
            return path
        except OSError as exc:
            errors.append(f"{exc.filename or ''}: {exc.strerror or exc}")
    raise BenchError(f"could not keep {len(rows)} unsaved rows anywhere ({'; '.join(errors)})")


def restore_command(spill: Path, results: Path) -> str:
    """The shell command that adds a spill file's rows to `results` once the cause is fixed:
    a copy (header included) when there is no results file yet, else the rows without their
    header appended to it."""
    source, target = shlex.quote(str(spill)), shlex.quote(str(results))
    if results.exists() and results.stat().st_size:
        return f"tail -n +2 {source} >> {target}"
    return f"cp {source} {target}"


def check_complete(path: Path, text: str) -> None:
    """Raise BenchError when a results file does not end with a newline.

    The store always ends a row with one, so a missing one means the last row was cut
    (a copy, a full disk, an editor); reading it could take half a number for a whole one,
    and appending would glue the next row onto it. Nothing is repaired silently: dropping a
    cut row would leave a half-recorded job that resume takes for done."""
    if text and not text.endswith("\n"):
        line = text.count("\n") + 1
        last = next(csv.reader([text.rsplit("\n", 1)[-1]]), [])
        job = COLUMN_NAMES.index("job_id")
        whose = f" and the other rows of job {last[job]}" if len(last) > job else ""
        raise BenchError(
            f"{path} is truncated at line {line}: the file does not end with a newline, so its "
            f"last row was cut while being written; nothing was written: delete line {line}"
            f"{whose} so the job runs again, or end the file with a newline if that row is "
            "whole, then run again"
        )


def _dtypes() -> dict[str, str]:
    kinds = {"str": "string", "json": "string", "int": "Int64", "float": "float64"}
    return {column.name: kinds[column.kind] for column in COLUMNS}


def read_results(path: Path | str) -> pd.DataFrame:
    """Read and validate a results CSV (or a run directory holding one)."""
    path = Path(path)
    if (parquet := parquet_source(path)) is not None:
        return read_parquet(parquet)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.exists():
        raise BenchError(f"no results file at {path}: expected a CSV written by `bench run`")
    text = _read_text(path)
    check_complete(path, text)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != COLUMN_NAMES:
        raise BenchError(
            f"{path}: header does not match the results schema: expected "
            f"{len(COLUMN_NAMES)} columns {', '.join(COLUMN_NAMES[:4])}, ..., "
            f"got {reader.fieldnames}"
        )
    line = reader.line_num + 1  # the physical line a row starts on (error texts span lines)
    places: dict[tuple[str, ...], list[int]] = {}
    try:
        for row in reader:
            if None in row or None in row.values():
                raise BenchError(
                    f"{path} line {line}: wrong number of fields, expected {len(COLUMN_NAMES)}"
                )
            validate_row(row, f"{path} line {line}")
            places.setdefault(row_key(row), []).append(line)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise BenchError(f"{path} line {line}: not a valid CSV row ({exc})") from exc
    check_unique(path, places, "lines")
    return pd.read_csv(
        io.StringIO(text),
        dtype=_dtypes(),
        keep_default_na=False,
        na_values={c.name: [""] for c in COLUMNS if c.kind in ("int", "float")},
    )


def row_key(row: dict[str, str]) -> tuple[str, ...]:
    """A validated row's identity (identity.ROW) as text, its query parameters canonical JSON."""
    return tuple(
        json.dumps(json.loads(row[name]), sort_keys=True) if name == "query_params" else row[name]
        for name in ROW
    )


def check_unique(path: Path, places: dict[tuple[str, ...], list[int]], unit: str) -> None:
    """Raise BenchError when a row identity occurs more than once (`places`: where each
    occurs). A repeated row (appended twice, a job run twice) would count twice in every
    median and front, and resume would take the job for done."""
    repeated = [(key, where) for key, where in places.items() if len(where) > 1]
    if not repeated:
        return
    key, where = repeated[0]
    named = ", ".join(f"{name} {value or '(empty)'}" for name, value in zip(ROW, key, strict=True))
    others = len(repeated) - 1
    more = f"; {others} other row{'s are' if others > 1 else ' is'} repeated too" if others else ""
    raise BenchError(
        f"{path}: {unit} {', '.join(map(str, where))} are the same row ({named}){more}: "
        "expected each repetition of a point once; delete the repeated rows (keep one)"
    )


def finished_job_ids(run_dir: Path, include_failed: bool = True) -> set[str]:
    path = run_dir / RESULTS_FILE
    if not path.exists():
        return set()
    frame = read_results(path)
    if not include_failed:
        frame = frame[frame["status"] == "ok"]
    return set(frame["job_id"])


def drop_jobs(run_dir: Path, job_ids: set[str]) -> None:
    """Remove every row of the given jobs (used to retry failed jobs)."""
    path = run_dir / RESULTS_FILE
    with locked(_lock_path(path)):
        _appendable_text(path)
        frame = read_results(path)
        kept = frame[~frame["job_id"].isin(job_ids)]
        rows = [
            {name: _cell(v) for name, v in zip(COLUMN_NAMES, record, strict=True)}
            for record in kept.astype(object).where(kept.notna(), "").itertuples(index=False)
        ]
        write_bytes_atomic(path, rows_to_csv(rows, header=True).encode())


# --- Parquet: the same rows, columnar, for large result sets ---------------------------------


def parquet_source(path: Path) -> Path | None:
    """The Parquet file to read for `path`: a .parquet file, or a run directory holding only
    results.parquet (no results.csv); None when the CSV is the source."""
    if path.suffix == ".parquet":
        return path
    if path.is_dir() and not (path / RESULTS_FILE).exists() and (path / PARQUET_FILE).exists():
        return path / PARQUET_FILE
    return None


def write_parquet(run_dir: Path) -> Path:
    """Write RUN_DIR/results.parquet from the run's validated CSV (atomically); return it."""
    frame = read_results(Path(run_dir) / RESULTS_FILE)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    path = Path(run_dir) / PARQUET_FILE
    write_bytes_atomic(path, buffer.getvalue())
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    """Read and validate a results Parquet file; same columns and dtypes as `read_results`."""
    if not path.exists():
        raise BenchError(f"no results file at {path}: expected a Parquet file from write_parquet")
    try:
        frame = pd.read_parquet(path)
    except (ImportError, OSError, ValueError) as exc:
        raise BenchError(f"{path}: cannot read as Parquet ({exc}); needs pyarrow") from exc
    if tuple(frame.columns) != COLUMN_NAMES:
        raise BenchError(
            f"{path}: columns do not match the results schema: expected {len(COLUMN_NAMES)} "
            f"columns {', '.join(COLUMN_NAMES[:4])}, ..., got {list(frame.columns)}"
        )
    cells = frame.astype(object).where(frame.notna(), "")
    places: dict[tuple[str, ...], list[int]] = {}
    for number, record in enumerate(cells.itertuples(index=False)):
        row = {name: _cell(value) for name, value in zip(COLUMN_NAMES, record, strict=True)}
        validate_row(row, f"{path} row {number}")
        places.setdefault(row_key(row), []).append(number)
    check_unique(path, places, "rows")
    return frame.astype(_dtypes())
