"""What a run's report says, independent of its format: sections of tables and images.

`build_report` turns a run directory into a `Report` (a title and a list of `Section`s);
`bench.report.markdown` and `bench.report.html` only render it. Later features plug in
without changing this module: PNGs in RUN_DIR/plots/ that no section shows yet become a
gallery, and every CSV in RUN_DIR other than results.csv becomes a table (for example
extractor tables or scaling measurements), or a caller passes its own `Section`s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.metrics.spread import NOISY_CV
from bench.report import figures
from bench.report.document import Report, Section
from bench.report.pareto import plot_pareto
from bench.report.points import Panel, operating_points, panels, pareto_front
from bench.report.sections import run_sections, section_tables
from bench.report.statuses import require_rows
from bench.results.identity import CORPUS
from bench.results.rundir import RUNS_LOG
from bench.results.store import RESULTS_FILE, read_results

RECALL_TARGETS = (0.9, 0.95, 0.99)
ERROR_LINES = 6  # lines of an error's end shown in the failures table


# --- QPS at recall targets ----------------------------------------------------------------


def qps_at_recall(front: pd.DataFrame, target: float) -> tuple[float, pd.Series] | None:
    """QPS at `target` recall on a Pareto front (sorted by increasing recall), or None.

    Between the two neighbouring front points around the target, log QPS is interpolated
    linearly in recall; a target at or below the front's lowest recall takes that point's QPS.
    Returns the QPS and the front point that reaches the target (its build time and index size
    are the cost of getting there). None when no point of the front reaches the target."""
    recall = front["recall"].to_numpy(dtype=float)
    qps = front["qps"].to_numpy(dtype=float)
    above = np.flatnonzero(recall >= target)
    if above.size == 0:
        return None
    upper = int(above[0])
    if upper == 0 or recall[upper] == target:
        return float(qps[upper]), front.iloc[upper]
    lower = upper - 1
    share = (target - recall[lower]) / (recall[upper] - recall[lower])
    log_qps = math.log(qps[lower]) + share * (math.log(qps[upper]) - math.log(qps[lower]))
    return math.exp(log_qps), front.iloc[upper]


def recall_targets(points: pd.DataFrame, targets: Sequence[float] = RECALL_TARGETS) -> pd.DataFrame:
    """Tidy table of one panel's points (with `series`, see bench.report.points.panels): per
    (series, target) the interpolated QPS and the cost to get it."""
    records = []
    for series, mine in points.groupby("series", sort=True):
        front = pareto_front(mine)
        for target in targets:
            found = qps_at_recall(front, target)
            point = found[1] if found else None
            records.append(
                {
                    "series": series,
                    "target": target,
                    "max_recall": float(front["recall"].max()),
                    "qps": found[0] if found else math.nan,
                    "build_s": float(point["build_s"]) if point is not None else math.nan,
                    "index_bytes": _number(point["index_bytes"]) if point is not None else None,
                    "label": str(point["label"]) if point is not None else "",
                }
            )
    return pd.DataFrame.from_records(records)


def recall_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """Display table of one corpus and mode: one row per algorithm, a column per target.

    Build time and index size are shown once when every reached target shares them, else
    as `a / b / c` in target order."""
    targets = "/".join(f"{t:g}" for t in sorted(tidy["target"].unique()))
    rows = []
    for algorithm, group in tidy.sort_values("target").groupby("series", sort=True):
        row: dict[str, str] = {
            "algorithm": str(algorithm),
            "max recall": f"{group['max_recall'].iloc[0]:.3f}",
        }
        reached = group["qps"].notna()
        for item in group.itertuples():
            row[f"QPS @{item.target:g}"] = _fmt_qps(item.qps)
        row[f"build s @{targets}"] = _joined(
            [f"{v:.2f}" if ok else "" for v, ok in zip(group["build_s"], reached, strict=True)]
        )
        row[f"index MB @{targets}"] = _joined(
            [_fmt_mb(v) if ok else "" for v, ok in zip(group["index_bytes"], reached, strict=True)]
        )
        row[f"parameters @{targets}"] = _joined_labels(
            [str(v) if ok else "" for v, ok in zip(group["label"], reached, strict=True)]
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _joined_labels(labels: list[str]) -> str:
    """Like `_joined`, but a build part (`build | query`) shared by all is written once."""
    builds = {label.partition(" | ")[0] for label in labels if " | " in label}
    if len(builds) == 1 and all(" | " in label or not label for label in labels):
        queries = _joined([label.partition(" | ")[2] for label in labels])
        return f"{builds.pop()} | {queries}"
    return _joined(labels)


def _joined(values: list[str]) -> str:
    """`a` when all non-empty values are equal, else `a / b / c` (missing ones as -)."""
    present = {v for v in values if v}
    if len(present) <= 1:
        return present.pop() if present else ""
    return " / ".join(v or "-" for v in values)


# --- failures and environment -------------------------------------------------------------


def failures_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose status is not ok, with the end of their error text."""
    failed = frame[frame["status"] != "ok"]
    return pd.DataFrame(
        {
            "corpus": failed["corpus"],
            "algorithm": failed["algorithm"],
            "parameters": failed["label"],
            "status": failed["status"],
            "error": [_error_tail(text) for text in failed["error"]],
        }
    ).reset_index(drop=True)


def noise_table(frame: pd.DataFrame) -> pd.DataFrame:
    """How still the numbers held, per corpus and mode: the points' median QPS CV and share
    of noisy points, and the machine's state over the repetitions' timed loops (medians)."""
    ok = frame[frame["status"] == "ok"]
    points = operating_points(ok)
    rows = []
    for (corpus, mode), reps in ok.groupby(["corpus", "mode"], sort=True):
        mine = points[(points["corpus"] == corpus) & (points["mode"] == mode)]
        noisy = int(mine["noisy"].sum())
        rows.append(
            {
                "corpus": corpus,
                "mode": mode,
                "points": len(mine),
                "median QPS CV": _fmt(mine["qps_cv"].median(), "{:.1%}"),
                "noisy points": f"{noisy} ({noisy / len(mine):.0%})" if len(mine) else "",
                "median load (1 min)": _fmt(reps["load_1m"].median(), "{:.2f}"),
                "median other CPU s": _fmt(reps["other_cpu_s"].median(), "{:.3f}"),
                "median CPU/wall": _fmt(reps["cpu_per_wall"].median(), "{:.2f}"),
            }
        )
    return pd.DataFrame(rows)


def _fmt(value: float, form: str) -> str:
    return "" if pd.isna(value) else form.format(value)


NOISE_NOTE = (
    "QPS CV: the coefficient of variation of a point's QPS over its repetitions; a point is "
    f"noisy when it is above {NOISY_CV:.0%}, and is drawn with an open (hollow) marker. Over "
    "each repetition's timed loop: the 1-minute load average, the CPU seconds other processes "
    "used, and the worker's CPU / wall time (below its threads: it waited). A busy machine "
    "shows as load and other CPU well above zero."
)


def environment_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Where and with what the rows were measured: one line per fact, values joined."""
    ok = frame[frame["status"] == "ok"]
    facts = {
        "run ids": _distinct(frame["run_id"]),
        "suite": _distinct(frame["suite"]),
        "started at": _distinct(frame["started_at"]),
        "git commit": _distinct(frame["git_commit"]),
        "host": _distinct(frame["host"]),
        "CPU": _distinct(frame["cpu"]),
        "logical CPUs": _distinct(frame["cpu_count"]),
        "python": _distinct(frame["python"]),
        "search threads": ", ".join(
            f"{mode}: {_distinct(group['threads'])}" for mode, group in ok.groupby("mode")
        )
        or "-",
        "build threads": _distinct(ok["build_threads"]),
        "k": _distinct(frame["k"]),
    }
    return pd.DataFrame({"": list(facts), "value": list(facts.values())})


def libraries_table(frame: pd.DataFrame) -> pd.DataFrame:
    versions = frame.groupby("backend")["library_version"].agg(_distinct)
    return pd.DataFrame({"library": versions.index, "version": versions.to_numpy()})


def corpora_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per distinct corpus version and size (identity.CORPUS) in the rows."""
    first = frame[CORPUS].drop_duplicates().sort_values(CORPUS)
    return pd.DataFrame(
        {
            "corpus": first["corpus"],
            "fingerprint": first["corpus_fingerprint"],
            "vectors": first["n_train"],
            "queries": first["n_queries"],
            "dim": first["dim"],
            "metric": first["metric"],
        }
    )


# --- the report ---------------------------------------------------------------------------


def panel_sections(
    points: pd.DataFrame, pngs: dict[str, Path] | None = None
) -> list[tuple[Panel, Section]]:
    """One section per panel of the operating points: its interactive figures, QPS at the
    recall targets, and the static Pareto PNG named pareto-<slug>-<mode>.png among `pngs`."""
    panel_points = list(panels(points))
    palette = figures.styles([name for _, group in panel_points for name in group["series"]])
    found = []
    for panel, group in panel_points:
        tidy = recall_targets(group)
        png = (pngs or {}).get(f"pareto-{panel.slug}-{panel.mode}.png")
        bars = figures.qps_bars(panel, tidy)
        shown = (*figures.panel_figures(panel, group, palette), *([bars] if bars else []))
        part = Section(
            panel.title, _RECALL_NOTE, recall_table(tidy), (png,) if png else (), 3, shown
        )
        found.append((panel, part))
    return found


def build_report(source: Path, extra: Sequence[Section] = ()) -> Report:
    """The report of a run: a run directory or its results file (CSV or Parquet).

    Draws the Pareto plots into RUN_DIR/plots/ as `bench plot` does."""
    frame = read_results(source)
    require_rows(frame, source, "report")
    run_dir = source if source.is_dir() else source.parent
    modes = [m for m in ("single", "batch") if ((frame["mode"] == m) & _ok(frame)).any()]
    pngs = {
        path.name: path for mode in modes for path in plot_pareto(frame, run_dir / "plots", mode)
    }
    by_corpus: dict[str, list[Section]] = {}
    for panel, part in panel_sections(operating_points(frame), pngs):
        by_corpus.setdefault(panel.corpus, []).append(part)
    sections: list[Section] = []
    for corpus in sorted(frame["corpus"].unique()):
        text = _corpus_text(frame, corpus)
        if not (_ok(frame) & (frame["corpus"] == corpus)).any():
            text += " No measurement finished with status ok (see Failures)."
        sections += [Section(f"Corpus {corpus}", text), *by_corpus.get(corpus, [])]
    failures = failures_table(frame)
    if failures.empty:
        sections.append(Section("Failures", "Every job finished with status ok."))
    else:
        sections.append(Section("Failures", f"{len(failures)} rows without status ok.", failures))
    noise = noise_table(frame)
    if not noise.empty:
        sections.append(Section("Measurement noise", NOISE_NOTE, noise))
    sections.append(Section("Environment", table=environment_table(frame)))
    sections.append(Section("Library versions", table=libraries_table(frame), level=3))
    sections.append(Section("Corpora", table=corpora_table(frame), level=3))
    runs = runs_table(run_dir)
    if not runs.empty:
        sections.append(Section("Invocations", table=runs, level=3))
    extra = [*run_sections(frame, run_dir), *extra]
    shown = {image.resolve() for section in [*sections, *extra] for image in section.images}
    skip = {RESULTS_FILE, source.name, *section_tables()}
    sections += [*extra, *discover_sections(run_dir, shown, skip)]
    title = f"Benchmark report: {run_dir.resolve().name}"
    return Report(title=title, run_dir=run_dir, sections=sections)


def discover_sections(
    run_dir: Path, shown: set[Path], skip: set[str] = frozenset({RESULTS_FILE})
) -> list[Section]:
    """Extra material found in the run directory: other CSVs as tables, unshown PNGs."""
    found = [
        Section(f"Table {path.stem}", f"From {path.name}.", pd.read_csv(path))
        for path in sorted(run_dir.glob("*.csv"))
        if path.name not in skip
    ]
    gallery = tuple(
        path for path in sorted((run_dir / "plots").glob("*.png")) if path.resolve() not in shown
    )
    if gallery:
        found.append(Section("More plots", images=gallery))
    return found


_RECALL_NOTE = (
    "QPS at each recall target on the algorithm's Pareto front (median QPS of repetitions; "
    "log QPS interpolated linearly in recall between neighbouring front points; empty when "
    "the front never reaches the target). Build time and index size are those of the front "
    "point that reaches the target. Open markers: noisy points (see Measurement noise)."
)


def _corpus_text(frame: pd.DataFrame, corpus: str) -> str:
    rows = frame[frame["corpus"] == corpus]
    return (
        f"{_distinct(rows['n_train'])} vectors x {_distinct(rows['dim'])} dimensions, "
        f"{_distinct(rows['n_queries'])} queries, metric {_distinct(rows['metric'])}, "
        f"k={_distinct(rows['k'])}, fingerprint {_distinct(rows['corpus_fingerprint'])}."
    )


def _ok(frame: pd.DataFrame) -> pd.Series:
    return frame["status"] == "ok"


def _distinct(values: pd.Series) -> str:
    seen = [str(v) for v in pd.unique(values.dropna()) if str(v) != ""]
    return ", ".join(seen) if seen else "-"


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _fmt_qps(value: float) -> str:
    if math.isnan(value):
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _fmt_mb(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value / 2**20:.2f}"


def _error_tail(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return "\n".join(lines[-ERROR_LINES:])


RUN_SETTINGS = (
    "grid",
    "modes",
    "repetitions",
    "warmup",
    "query_limit",
    "batch_threads",
    "build_threads",
    "timeout_s",
    "memory_limit_gb",
)


def runs_table(run_dir: Path) -> pd.DataFrame:
    """One row per `bench run` invocation with its suite settings, from runs.jsonl."""
    path = run_dir / RUNS_LOG
    if not path.exists():
        return pd.DataFrame()
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        settings = record.get("suite_settings", {})
        rows.append(
            {
                "run id": record.get("run_id", ""),
                "started at": record.get("started_at", ""),
                **{key: _setting(settings.get(key)) for key in RUN_SETTINGS},
            }
        )
    return pd.DataFrame(rows)


def _setting(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
