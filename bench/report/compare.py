"""`bench compare`: the CI regression gate between a baseline run and a current run.

Rows are matched by what was measured, not by who measured it: (corpus fingerprint,
algorithm, build params, query params, mode, threads, k). A match regresses when

- recall dropped by more than a small absolute tolerance (recall is deterministic for a
  seeded corpus, so any real drop is a change of behaviour);
- the median QPS dropped by more than the threshold AND a one-sided Welch t-test on the
  per-repetition log QPS says the drop is significant at alpha (with fewer than two
  repetitions on a side the threshold alone decides, and the output says so). Welch on log
  QPS rather than Mann-Whitney U: with three repetitions a side, U can never reach p < 0.05;
- the build time of a job grew by more than its threshold (a build happens once per job, so
  there are no repetitions to test; builds shorter than a floor are too short to judge).

Jobs that were ok in the baseline and are not ok now, and baseline rows missing from the
current run, are regressions too. With `normalize`, QPS (and build time) are taken relative
to each run's calibration: the exact `bruteforce` single-mode median QPS on the same corpus,
so a baseline measured on another machine still means something.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench.errors import BenchError
from bench.report import markdown
from bench.results.store import read_results

IDENTITY = [
    "corpus_fingerprint",
    "algorithm",
    "build_params",
    "query_params",
    "mode",
    "threads",
    "k",
]
JOB = ["corpus_fingerprint", "algorithm", "build_params", "k"]
CALIBRATION_ALGORITHM = "bruteforce"


@dataclass(frozen=True)
class Thresholds:
    recall_tolerance: float = 1e-3  # absolute recall drop tolerated
    qps: float = 0.10  # relative QPS drop tolerated
    build: float = 0.25  # relative build time increase tolerated
    alpha: float = 0.05  # significance level of the QPS test
    min_build_s: float = 0.1  # builds shorter than this (both runs) are not judged


@dataclass
class Comparison:
    """Everything `bench compare` found; `regressions` empty means the gate passes."""

    baseline: str
    current: str
    thresholds: Thresholds
    normalized: bool
    rows: pd.DataFrame  # one per matched identity: ratios, p-values, verdicts
    regressions: pd.DataFrame  # one per offending check
    new: pd.DataFrame  # identities only in the current run (informational)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.regressions.empty


# --- observations -------------------------------------------------------------------------


def observations(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per identity of the ok rows: mean recall, the QPS of every repetition."""
    ok = frame[frame["status"] == "ok"]
    return (
        ok.groupby(IDENTITY, as_index=False, sort=False, dropna=False)
        .agg(
            corpus=("corpus", "first"),
            label=("label", "first"),
            recall=("recall", "mean"),
            qps_reps=("qps", list),
            build_s=("build_s", "median"),
        )
        .assign(
            qps=lambda f: [float(np.median(reps)) for reps in f["qps_reps"]],
            build_seconds=lambda f: f["build_s"],  # build_s may be normalized, this never
        )
    )


def calibration(frame: pd.DataFrame) -> dict[str, float]:
    """Per corpus fingerprint: the exact brute-force single-mode median QPS of a run."""
    rows = frame[
        (frame["status"] == "ok")
        & (frame["algorithm"] == CALIBRATION_ALGORITHM)
        & (frame["mode"] == "single")
    ]
    medians = rows.groupby("corpus_fingerprint")["qps"].median()
    return {str(fp): float(qps) for fp, qps in medians.items()}


def normalize(obs: pd.DataFrame, frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """QPS divided by, build time multiplied by, the run's calibration QPS on that corpus."""
    factors = calibration(frame)
    missing = sorted(set(obs["corpus_fingerprint"]) - set(factors))
    if missing:
        corpora = sorted(set(obs.loc[obs["corpus_fingerprint"].isin(missing), "corpus"]))
        raise BenchError(
            f"--normalize needs a calibration in the {name} run: ok single-mode rows of the "
            f"exact {CALIBRATION_ALGORITHM!r} algorithm on every compared corpus; none for "
            f"{', '.join(corpora)} (fingerprints {', '.join(missing)}). Add "
            f"{CALIBRATION_ALGORITHM} with mode single to the suite, or compare without "
            "--normalize."
        )
    factor = obs["corpus_fingerprint"].map(factors).astype(float)
    return obs.assign(
        qps=obs["qps"] / factor,
        qps_reps=[[q / f for q in reps] for reps, f in zip(obs["qps_reps"], factor, strict=True)],
        build_s=obs["build_s"] * factor,
    )


def qps_drop_p_value(baseline: list[float], current: list[float]) -> float | None:
    """One-sided Welch t-test p-value that current QPS < baseline QPS (on log QPS).

    None with fewer than two repetitions on a side. Two constant samples: 0 when the current
    is lower, else 1 (no noise, so any difference is real)."""
    if len(baseline) < 2 or len(current) < 2:
        return None
    base, cur = np.log(baseline), np.log(current)
    if np.ptp(base) == 0 and np.ptp(cur) == 0:
        return 0.0 if cur.mean() < base.mean() else 1.0
    return float(stats.ttest_ind(cur, base, equal_var=False, alternative="less").pvalue)


# --- the comparison -----------------------------------------------------------------------


def compare_runs(
    baseline_path: Path,
    current_path: Path,
    thresholds: Thresholds = Thresholds(),
    normalized: bool = False,
) -> Comparison:
    base_frame, cur_frame = read_results(baseline_path), read_results(current_path)
    base, cur = observations(base_frame), observations(cur_frame)
    if normalized:
        base = normalize(base, base_frame, "baseline")
        cur = normalize(cur, cur_frame, "current")
    matched = base.merge(cur, on=IDENTITY, how="inner", suffixes=("_base", "_cur"))
    rows = _judge(matched, thresholds)
    failed = _newly_failed_jobs(base_frame, cur_frame)
    missing = _missing(base, cur, failed)
    new = cur.merge(base[IDENTITY], on=IDENTITY, how="left", indicator=True)
    new = new[new["_merge"] == "left_only"]
    regressions = pd.concat(
        [_row_regressions(rows), _build_regressions(rows), failed, missing], ignore_index=True
    )
    notes = _notes(rows, thresholds, normalized)
    return Comparison(
        baseline=_run_ids(base_frame),
        current=_run_ids(cur_frame),
        thresholds=thresholds,
        normalized=normalized,
        rows=rows,
        regressions=regressions.reindex(columns=FINDING_COLUMNS),
        new=new.drop(columns="_merge"),
        notes=notes,
    )


def _judge(matched: pd.DataFrame, limits: Thresholds) -> pd.DataFrame:
    """Ratios, p-values and verdicts for every matched identity."""
    out = matched.rename(columns={"corpus_base": "corpus", "label_base": "label"})
    out["recall_ratio"] = out["recall_cur"] / out["recall_base"].where(out["recall_base"] > 0)
    out["qps_ratio"] = out["qps_cur"] / out["qps_base"]
    out["build_ratio"] = out["build_s_cur"] / out["build_s_base"].where(out["build_s_base"] > 0)
    out["reps"] = [
        f"{len(b)}/{len(c)}" for b, c in zip(out["qps_reps_base"], out["qps_reps_cur"], strict=True)
    ]
    out["p_value"] = [
        qps_drop_p_value(b, c)
        for b, c in zip(out["qps_reps_base"], out["qps_reps_cur"], strict=True)
    ]
    out["recall_regressed"] = out["recall_cur"] < out["recall_base"] - limits.recall_tolerance
    slower = out["qps_ratio"] < 1.0 - limits.qps
    significant = [p is None or p < limits.alpha for p in out["p_value"]]
    out["qps_regressed"] = slower & pd.Series(significant, index=out.index, dtype=bool)
    longest = np.maximum(out["build_seconds_base"], out["build_seconds_cur"])
    long_enough = longest >= limits.min_build_s
    out["build_regressed"] = (out["build_ratio"] > 1.0 + limits.build) & long_enough
    return out.reset_index(drop=True)


FINDING_COLUMNS = [
    "check",
    "corpus",
    "algorithm",
    "parameters",
    "mode",
    "threads",
    "baseline",
    "current",
    "ratio",
    "detail",
]


def _finding(
    row: pd.Series, check: str, baseline: str, current: str, ratio: float, detail: str
) -> dict[str, object]:
    return {
        "check": check,
        "corpus": row["corpus"],
        "algorithm": row["algorithm"],
        "parameters": row["label"],
        "mode": row.get("mode", ""),
        "threads": row.get("threads", ""),
        "baseline": baseline,
        "current": current,
        "ratio": _ratio(ratio),
        "detail": detail,
    }


def _row_regressions(rows: pd.DataFrame) -> pd.DataFrame:
    found = []
    for _, row in rows.iterrows():
        if row["recall_regressed"]:
            drop = row["recall_base"] - row["recall_cur"]
            found.append(
                _finding(
                    row,
                    "recall",
                    f"{row['recall_base']:.4f}",
                    f"{row['recall_cur']:.4f}",
                    row["recall_ratio"],
                    f"recall dropped by {drop:.4f}",
                )
            )
        if row["qps_regressed"]:
            p = row["p_value"]
            detail = (
                f"{row['reps']} repetitions, threshold only"
                if p is None
                else f"p = {p:.3g} (one-sided Welch, {row['reps']} repetitions)"
            )
            found.append(
                _finding(
                    row,
                    "QPS",
                    _fmt(row["qps_base"]),
                    _fmt(row["qps_cur"]),
                    row["qps_ratio"],
                    detail,
                )
            )
    return pd.DataFrame(found, columns=FINDING_COLUMNS)


def _build_regressions(rows: pd.DataFrame) -> pd.DataFrame:
    """One finding per job whose build grew too much (its rows all share the build time)."""
    slow = rows[rows["build_regressed"]].drop_duplicates(JOB)
    found = [
        {
            **_finding(
                row,
                "build",
                _fmt(row["build_s_base"]),
                _fmt(row["build_s_cur"]),
                row["build_ratio"],
                "build time (one build per job: threshold only)",
            ),
            "parameters": str(row["label"]).partition(" | ")[0],
            "mode": "",
            "threads": "",
        }
        for _, row in slow.iterrows()
    ]
    return pd.DataFrame(found, columns=FINDING_COLUMNS)


def _job_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Per job: ok when none of its rows failed; the first error otherwise."""
    grouped = frame.groupby(JOB, as_index=False, sort=True)
    return grouped.agg(
        corpus=("corpus", "first"),
        ok=("status", lambda s: bool((s == "ok").all())),
        status=("status", lambda s: next((x for x in s if x != "ok"), "ok")),
        error=("error", lambda s: next((x for x in s if x), "")),
    )


def _newly_failed_jobs(base_frame: pd.DataFrame, cur_frame: pd.DataFrame) -> pd.DataFrame:
    jobs = _job_status(base_frame).merge(_job_status(cur_frame), on=JOB, suffixes=("_base", "_cur"))
    broken = jobs[jobs["ok_base"] & ~jobs["ok_cur"]]
    found = [
        {
            "check": "failed",
            "corpus": row["corpus_base"],
            "algorithm": row["algorithm"],
            "parameters": _build_label(row["build_params"]),
            "mode": "",
            "threads": "",
            "baseline": "ok",
            "current": row["status_cur"],
            "ratio": "",
            "detail": _last_line(row["error_cur"]),
            "_job": tuple(row[key] for key in JOB),
        }
        for _, row in broken.iterrows()
    ]
    return pd.DataFrame(found, columns=[*FINDING_COLUMNS, "_job"])


def _missing(base: pd.DataFrame, cur: pd.DataFrame, failed: pd.DataFrame) -> pd.DataFrame:
    """Baseline identities absent from the current run, except those of newly failed jobs."""
    joined = base.merge(cur[IDENTITY], on=IDENTITY, how="left", indicator=True)
    gone = joined[joined["_merge"] == "left_only"]
    failed_jobs = set(failed["_job"]) if not failed.empty else set()
    found = [
        _finding(row, "missing", "present", "absent", math.nan, "row missing in current run")
        for _, row in gone.iterrows()
        if tuple(row[key] for key in JOB) not in failed_jobs
    ]
    return pd.DataFrame(found, columns=FINDING_COLUMNS)


def _notes(rows: pd.DataFrame, limits: Thresholds, normalized: bool) -> list[str]:
    notes = [
        f"Regression: recall drop > {limits.recall_tolerance:g} (absolute); median QPS drop > "
        f"{limits.qps:.0%} and significant (one-sided Welch t-test on log QPS per repetition, "
        f"alpha {limits.alpha:g}); build time increase > {limits.build:.0%} (builds of at "
        f"least {limits.min_build_s:g} s); jobs ok before and not now; rows missing now."
    ]
    if normalized:
        notes.append(
            f"Normalized: QPS divided by (build seconds multiplied by) each run's "
            f"{CALIBRATION_ALGORITHM} single-mode median QPS on the same corpus."
        )
    few = int(sum(p is None for p in rows["p_value"])) if not rows.empty else 0
    if few:
        notes.append(
            f"{few} rows have fewer than 2 repetitions on a side: their QPS is judged by the "
            "threshold alone, without a significance test."
        )
    return notes


# --- output -------------------------------------------------------------------------------


def render_markdown(result: Comparison) -> str:
    """The PR-comment text: verdict, offending rows, then every ratio (folded)."""
    count = len(result.regressions)
    verdict = (
        "**PASS**: no regressions"
        if result.passed
        else f"**FAIL**: {count} regression{'s' * (count != 1)}"
    )
    lines = [
        "## Benchmark comparison",
        "",
        f"Baseline `{result.baseline}` vs current `{result.current}`: {verdict}. "
        f"{len(result.rows)} rows matched, {len(result.new)} new.",
        "",
        *[f"- {note}" for note in result.notes],
        "",
    ]
    if not result.passed:
        lines += ["### Regressions", "", markdown.table(result.regressions), ""]
    lines += [
        "<details><summary>All matched rows (current / baseline)</summary>",
        "",
        markdown.table(ratio_table(result.rows)),
        "",
        "</details>",
    ]
    if not result.new.empty:
        new = result.new.assign(parameters=result.new["label"])
        lines += [
            "",
            "<details><summary>New rows (not in the baseline)</summary>",
            "",
            markdown.table(new[["corpus", "algorithm", "parameters", "mode", "threads"]]),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def ratio_table(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame()
    verdict = [
        ", ".join(name for name, bad in (("recall", r), ("QPS", q), ("build", b)) if bad) or "ok"
        for r, q, b in zip(
            rows["recall_regressed"], rows["qps_regressed"], rows["build_regressed"], strict=True
        )
    ]
    return pd.DataFrame(
        {
            "corpus": rows["corpus"],
            "algorithm": rows["algorithm"],
            "parameters": rows["label"],
            "mode": rows["mode"],
            "threads": rows["threads"],
            "recall": [
                f"{c:.4f} / {b:.4f}"
                for c, b in zip(rows["recall_cur"], rows["recall_base"], strict=True)
            ],
            "QPS ratio": [_ratio(r) for r in rows["qps_ratio"]],
            "p": ["" if p is None else f"{p:.3g}" for p in rows["p_value"]],
            "reps": rows["reps"],
            "build ratio": [_ratio(r) for r in rows["build_ratio"]],
            "verdict": verdict,
        }
    )


def _run_ids(frame: pd.DataFrame) -> str:
    return ", ".join(sorted({str(v) for v in frame["run_id"]}))


def _build_label(build_params: str) -> str:
    return build_params if build_params not in ("{}", "") else "-"


def _last_line(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _ratio(value: float) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.3f}"


def _fmt(value: float) -> str:
    if pd.isna(value):
        return ""
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
