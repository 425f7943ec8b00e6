"""The one definition of a results row: columns, types, meaning. Validated on write and read.

The README's column table is generated from COLUMNS (`bench schema`), and a test keeps the
two in step.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from bench.errors import BenchError

STATUSES = ("ok", "failed", "timeout", "oom", "unavailable")
MODES = ("single", "batch", "")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str, int, float, json
    doc: str
    required: bool = False  # must be non-empty on every row
    required_if_ok: bool = False  # must be non-empty on rows with status ok


COLUMNS: tuple[Column, ...] = (
    Column("run_id", "str", "Unique id of the `bench run` invocation that wrote the row", True),
    Column("suite", "str", "Suite name", True),
    Column("started_at", "str", "UTC time the invocation started (ISO 8601)", True),
    Column("git_commit", "str", "Commit of the harness (suffix -dirty for local changes)"),
    Column("host", "str", "Host name", True),
    Column("cpu", "str", "CPU model", True),
    Column("cpu_count", "int", "Logical CPUs of the machine", True),
    Column("python", "str", "Python version", True),
    Column(
        "job_id", "str", "Hash of (corpus, algorithm, build params, query grid, settings)", True
    ),
    Column("corpus", "str", "Corpus name", True),
    Column("corpus_fingerprint", "str", "Fingerprint of the exact vectors", True),
    Column("n_train", "int", "Vectors indexed", True),
    Column("n_queries", "int", "Queries searched", True),
    Column("dim", "int", "Vector dimension", True),
    Column("metric", "str", "euclidean, angular or inner_product", True),
    Column("backend", "str", "Library (as in backends/<library>.yaml)", True),
    Column("algorithm", "str", "Registered algorithm name, e.g. faiss-ivf", True),
    Column("library_version", "str", "Installed version of the library"),
    Column("build_params", "json", "Build parameters as JSON", True),
    Column("query_params", "json", "Query parameters as JSON", True),
    Column("label", "str", "Readable label of the build and query parameters", True),
    Column("mode", "str", "single (one query at a time, one thread) or batch; empty if failed"),
    Column("threads", "int", "Threads used by the searches of this row"),
    Column("k", "int", "Neighbours asked for", True),
    Column("repetition", "int", "Repetition index (every repetition is kept)"),
    Column("status", "str", "ok, failed, timeout, oom or unavailable", True),
    Column("error", "str", "Error text when status is not ok"),
    Column(
        "recall",
        "float",
        "Mean recall@k as ann-benchmarks' k-nn: ties within an absolute 1e-3 of the k-th distance",
        False,
        True,
    ),
    Column(
        "recall_rel",
        "float",
        "Mean recall@k with ties within a relative 1e-3 of the k-th distance instead",
        False,
        True,
    ),
    Column("qps", "float", "Queries / total search time of this repetition", False, True),
    Column("latency_mean_ms", "float", "Mean per-query latency (single mode)"),
    Column("latency_p50_ms", "float", "Median per-query latency (single mode)"),
    Column("latency_p95_ms", "float", "95th percentile latency (single mode)"),
    Column("latency_p99_ms", "float", "99th percentile latency (single mode)"),
    Column("precision_at_k", "float", "Mean share of returned neighbours of the query's class"),
    Column("map_at_k", "float", "Mean average precision@k against class labels"),
    Column("build_s", "float", "Index build wall seconds"),
    Column("build_cpu_s", "float", "Index build CPU seconds (all threads)"),
    Column("build_threads", "int", "Threads allowed for the build"),
    Column("index_bytes", "int", "Index size in bytes (serialized or reported)"),
    Column("peak_rss_bytes", "int", "Peak resident memory of the worker process"),
    Column("warmup_queries", "int", "Queries run before timing"),
    Column("answers", "str", "Neighbour ids kept for re-scoring: answers/<job_id>.npz#<key>"),
    Column("answers_hash", "str", "sha256 of this repetition's ids (equal: identical answers)"),
    Column("min_time_s", "float", "Minimum seconds of timed calls per repetition (whole passes)"),
    Column("passes", "int", "Passes over the query set (single) or batch calls in the repetition"),
    Column("timed_s", "float", "Seconds inside the timed calls: QPS = n_queries x passes / this"),
    Column("sequence", "int", "Position of the repetition in the job's order (shuffled rounds)"),
    Column("answers_stable", "int", "1 when every pass and repetition gave the same answers"),
    Column("pinned_cpu", "int", "CPU the worker was pinned to (`--pin`); empty when not pinned"),
    Column("wall_s", "float", "Wall seconds of the repetition's timed loop"),
    Column("cpu_per_wall", "float", "Worker CPU / wall seconds there (below threads: it waited)"),
    Column("other_cpu_s", "float", "CPU seconds other processes used meanwhile (/proc/stat)"),
    Column("load_1m", "float", "1-minute load average at the end of the repetition"),
    Column("qps_cv", "float", "Point (all repetitions): coefficient of variation of QPS"),
    Column("qps_ci_low", "float", "Point: lower end of the 95 % interval of the median QPS"),
    Column("qps_ci_high", "float", "Point: upper end of the 95 % interval of the median QPS"),
    Column("noisy", "int", "Point: 1 when qps_cv is above 5 % (the numbers moved)"),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
_BY_NAME = {column.name: column for column in COLUMNS}


@dataclass(frozen=True)
class Range:
    """The values a numeric column can physically take (inclusive, unless `above`)."""

    low: float
    high: float = math.inf
    above: bool = False  # low itself is excluded

    def __contains__(self, number: float) -> bool:
        return (number > self.low if self.above else number >= self.low) and number <= self.high

    def __str__(self) -> str:
        close = ")" if math.isinf(self.high) else "]"
        return f"{'(' if self.above else '['}{self.low:g}, {self.high:g}{close}"


MAX_INT = 2**53  # larger integers do not round-trip through a float, so pandas cannot read them
# Limits of the columns that have them; other numeric columns are only checked for their kind
# (a plain decimal number: no inf or nan; ints whole and within +-MAX_INT).
RANGES: dict[str, Range] = {
    "cpu_count": Range(1, 1_000_000),
    "n_train": Range(1),
    "n_queries": Range(1),
    "dim": Range(1),
    "threads": Range(0, 1_000_000),  # 0: not recorded (rows imported from ann-benchmarks)
    "k": Range(1),
    "repetition": Range(0),
    "recall": Range(0, 1),
    "recall_rel": Range(0, 1),
    "qps": Range(0, above=True),
    "latency_mean_ms": Range(0),
    "latency_p50_ms": Range(0),
    "latency_p95_ms": Range(0),
    "latency_p99_ms": Range(0),
    "precision_at_k": Range(0, 1),
    "map_at_k": Range(0, 1),
    "build_s": Range(0),
    "build_cpu_s": Range(0),
    "build_threads": Range(1, 1_000_000),
    "index_bytes": Range(0),
    "peak_rss_bytes": Range(0),
    "warmup_queries": Range(0),
    "min_time_s": Range(0),
    "passes": Range(1),
    "timed_s": Range(0, above=True),
    "sequence": Range(0),
    "answers_stable": Range(0, 1),
    "pinned_cpu": Range(0),
    "wall_s": Range(0),
    "cpu_per_wall": Range(0),
    "other_cpu_s": Range(0),
    "load_1m": Range(0),
    "qps_cv": Range(0),
    "qps_ci_low": Range(0),
    "qps_ci_high": Range(0),
    "noisy": Range(0, 1),
}
# A plain decimal number as written by str(int) / str(float) and read by pandas' C parser.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _cell_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value if isinstance(value, str) else str(value)


def _check_value(column: Column, value: Any, where: str) -> None:
    """Raise BenchError unless the non-empty `value` is of the column's kind and range."""
    text = _cell_text(value)

    def fail(expected: str) -> BenchError:
        return BenchError(f"{where}: column {column.name!r} = {text!r}: expected {expected}")

    if column.kind == "json":
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise fail("a JSON object") from exc
        if not isinstance(parsed, dict):
            raise fail("a JSON object")
        return
    if column.kind not in ("int", "float"):
        return
    if not _NUMBER.fullmatch(text):
        raise fail(f"{column.kind} (a plain, finite decimal number)")
    number = float(text)
    if column.kind == "int" and (number != int(number) or abs(number) > MAX_INT):
        raise fail("int (a whole number within +-2**53)")
    limits = RANGES.get(column.name)
    if limits is not None and number not in limits:
        raise fail(f"{column.kind} in {limits}")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def validate_row(row: dict[str, Any], where: str = "row") -> None:
    """Raise BenchError unless `row` has exactly the schema's columns with valid values.

    Every cell that passes can be read back with the schema's dtypes and used by report,
    compare and resume: numbers are finite and within their column's RANGES, JSON parameters
    are objects, and rows with status ok say their mode."""
    missing = [name for name in COLUMN_NAMES if name not in row]
    extra = [name for name in row if name not in _BY_NAME]
    if missing or extra:
        raise BenchError(
            f"{where}: columns do not match the results schema "
            f"(missing {missing}, unexpected {extra})"
        )
    status = row["status"]
    if status not in STATUSES:
        raise BenchError(f"{where}: status {status!r}: expected one of {', '.join(STATUSES)}")
    if row["mode"] not in MODES and not is_empty(row["mode"]):
        raise BenchError(f"{where}: mode {row['mode']!r}: expected single or batch")
    if status == "ok" and is_empty(row["mode"]):
        raise BenchError(f"{where}: column 'mode' is empty: expected single or batch when ok")
    for column in COLUMNS:
        value = row[column.name]
        if is_empty(value) and (column.required or (column.required_if_ok and status == "ok")):
            raise BenchError(f"{where}: column {column.name!r} is empty: expected a {column.kind}")
        if not is_empty(value):
            _check_value(column, value, where)


def empty_row() -> dict[str, Any]:
    return dict.fromkeys(COLUMN_NAMES, "")


def markdown_table() -> str:
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.kind} | {c.doc} |" for c in COLUMNS]
    return "\n".join(lines)
