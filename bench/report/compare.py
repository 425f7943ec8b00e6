"""`bench compare`: the CI regression gate between a baseline run and a current run.

Rows are matched by what was measured, not by who measured it: (corpus fingerprint,
algorithm, build params, query params, mode, threads, k). Strict checks:

- recall dropped by more than a small absolute tolerance (recall is deterministic for a
  seeded corpus, so any real drop is a change of behaviour);
- jobs that were ok in the baseline and are not ok now; baseline rows missing now; a QPS
  that is not a positive finite number on either side (an error row, never "not significant");
- the build time of a job grew beyond its threshold and beyond the noise: a build happens
  once per job, so its band is the drift model below over the jobs' build times alone
  (builds shorter than a floor are too short to judge).

QPS is judged against a noise model, because two runs of the same code on a shared machine
differ by more than their repetitions spread (drift: other processes, frequency, caches).
Per matched row, L = log(current median QPS / baseline median QPS). Over all matched rows of
the pair, M = median(L) is the whole-run shift (machine drift, or a change in every row: the
two cannot be told apart) and S = 1.4826 * median|L - M| the scatter of rows around it. The
row's change lies within [min(L, L - M) - u, max(L, L - M) + u], with
u = sqrt(h_base^2 + h_cur^2 + (t S)^2): h the half-widths (log) of each run's
order-statistic interval of the median at confidence 1 - alpha, and t S a prediction band
for one more row: the Student-t quantile with G - 1 degrees of freedom times sqrt(1 + 1/G),
where G counts the independent groups behind S. Rows of one job and mode share a build and a
stretch of time, so they drift together: G is the number of (job, mode) groups, not of rows. The row
regresses when the whole band is below no change and the change is beyond the threshold; it
is `inconclusive` when a threshold-sized drop is inside a band wider than the threshold.
With `normalize`, QPS (and build time) are taken relative to each run's calibration: the
exact `bruteforce` single-mode median QPS on the same corpus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench.errors import BenchError
from bench.metrics.spread import judge, log_half_width
from bench.report import markdown
from bench.report.statuses import status_counts
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
    alpha: float = 0.05  # 1 - confidence of the QPS band
    min_build_s: float = 0.1  # builds shorter than this (both runs) are not judged

    def __post_init__(self) -> None:
        checks = (
            ("--recall-tolerance", self.recall_tolerance, 0 <= self.recall_tolerance < 1, "[0, 1)"),
            ("--qps-threshold", self.qps, 0 < self.qps < 1, "(0, 1)"),
            ("--build-threshold", self.build, self.build > 0, "> 0"),
            ("--alpha", self.alpha, 0 < self.alpha < 1, "(0, 1)"),
            ("--min-build-seconds", self.min_build_s, self.min_build_s >= 0, ">= 0"),
        )
        for name, value, ok, expected in checks:
            if not (ok and math.isfinite(value)):
                raise BenchError(f"{name} {value}: expected a number in {expected}")


MIN_DRIFT_ROWS = 3  # fewer matched rows cannot tell drift from a row's own change
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Drift:
    """Whole-run shift M and scatter S of log speed ratios (current / baseline) over all
    matched rows (QPS) or jobs (build speed), and the number of independent groups behind
    them: (job, mode) for QPS, jobs for builds."""

    shift: float
    scatter: float
    rows: int
    groups: int

    @classmethod
    def estimate(cls, log_ratios: np.ndarray, groups: np.ndarray) -> Drift:
        finite = np.isfinite(log_ratios)
        values, count = log_ratios[finite], len(set(groups[finite]))
        if len(values) < MIN_DRIFT_ROWS:
            return cls(0.0, 0.0, len(values), count)
        shift = float(np.median(values))
        scatter = MAD_TO_SIGMA * float(np.median(np.abs(values - shift)))
        return cls(shift, scatter, len(values), count)

    def band(self, alpha: float) -> float:
        """Half-width (log) that one more row's drift stays within at confidence 1 - alpha."""
        if self.scatter == 0.0:
            return 0.0
        groups = max(self.groups, 2)
        return (
            float(stats.t.ppf(1 - alpha / 2, groups - 1)) * self.scatter * math.sqrt(1 + 1 / groups)
        )


@dataclass
class Comparison:
    """Everything `bench compare` found; `regressions` empty means the gate passes."""

    baseline: str
    current: str
    thresholds: Thresholds
    normalized: bool
    rows: pd.DataFrame  # one per matched identity: ratios, QPS bands, verdicts
    regressions: pd.DataFrame  # one per offending check
    inconclusive: pd.DataFrame  # QPS rows and builds whose noise is too large to judge
    new: pd.DataFrame  # identities only in the current run (informational)
    drift: Drift  # of the rows' QPS
    build_drift: Drift  # of the jobs' build times
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.regressions.empty

    @property
    def exit_code(self) -> int:
        """0 pass, 1 regression, 3 only inconclusive rows (2, usage errors, is the CLI's)."""
        if not self.passed:
            return 1
        return 3 if not self.inconclusive.empty else 0


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


def valid_qps(reps: list[float]) -> bool:
    """Every repetition a positive finite QPS (anything else is an error, not a speed)."""
    return bool(reps) and all(math.isfinite(q) and q > 0 for q in reps)


# --- the comparison -----------------------------------------------------------------------


def compare_runs(
    baseline_path: Path,
    current_path: Path,
    thresholds: Thresholds = Thresholds(),
    normalized: bool = False,
) -> Comparison:
    base_frame, cur_frame = read_results(baseline_path), read_results(current_path)
    if not (base_frame["status"] == "ok").any():
        raise BenchError(
            f"nothing to judge: the baseline {baseline_path} has no row with status ok "
            f"({status_counts(base_frame)}); expected a baseline run whose jobs finished"
        )
    base, cur = observations(base_frame), observations(cur_frame)
    if normalized:
        base = normalize(base, base_frame, "baseline")
        cur = normalize(cur, cur_frame, "current")
    matched = base.merge(cur, on=IDENTITY, how="inner", suffixes=("_base", "_cur"))
    failed = _newly_failed_jobs(base_frame, cur_frame)
    if matched.empty and failed.empty:
        # nothing compared and no job broken: every baseline row would be "missing", which
        # says the runs do not go together, not that the current code regressed
        raise BenchError(
            f"nothing to judge: no row of the current {current_path} ({status_counts(cur_frame)}) "
            f"matches a row of the baseline {baseline_path} by {', '.join(IDENTITY)}; "
            "expected a run of the baseline's suite on the same corpora"
        )
    rows, drift, build_drift = _judge(matched, thresholds)
    missing = _missing(base, cur, failed)
    new = cur.merge(base[IDENTITY], on=IDENTITY, how="left", indicator=True)
    new = new[new["_merge"] == "left_only"]
    regressions = pd.concat(
        [_row_regressions(rows), _build_findings(rows, "regression"), failed, missing],
        ignore_index=True,
    )
    notes = _notes(thresholds, normalized, drift, build_drift)
    return Comparison(
        baseline=_run_ids(base_frame),
        current=_run_ids(cur_frame),
        thresholds=thresholds,
        normalized=normalized,
        rows=rows,
        regressions=regressions.reindex(columns=FINDING_COLUMNS),
        inconclusive=_inconclusive(rows),
        new=new.drop(columns="_merge"),
        drift=drift,
        build_drift=build_drift,
        notes=notes,
    )


def _judge(matched: pd.DataFrame, limits: Thresholds) -> tuple[pd.DataFrame, Drift, Drift]:
    """Ratios, QPS bands and verdicts for every matched identity (see the module's doc)."""
    out = matched.rename(columns={"corpus_base": "corpus", "label_base": "label"})
    out["recall_ratio"] = out["recall_cur"] / out["recall_base"].where(out["recall_base"] > 0)
    out["build_ratio"] = out["build_s_cur"] / out["build_s_base"].where(out["build_s_base"] > 0)
    pairs = list(zip(out["qps_reps_base"], out["qps_reps_cur"], strict=True))
    out["reps"] = [f"{len(b)}/{len(c)}" for b, c in pairs]
    out["qps_valid"] = [valid_qps(b) and valid_qps(c) for b, c in pairs]
    valid = out["qps_valid"].to_numpy(bool)
    log_ratio = np.full(len(out), np.nan)
    log_ratio[valid] = np.log(
        out.loc[valid, "qps_cur"].to_numpy(float) / out.loc[valid, "qps_base"].to_numpy(float)
    )
    groups = _keys(out, [*JOB, "mode"]).to_numpy()
    drift = Drift.estimate(log_ratio, groups)
    spread = _repetition_spread(pairs, valid, limits.alpha)
    out["qps_low"], out["qps_high"], out["qps_verdict"] = _verdicts(
        log_ratio, spread, drift, limits.alpha, limits.qps, valid
    )
    out["qps_ratio"] = np.exp(log_ratio)
    out["recall_regressed"] = out["recall_cur"] < out["recall_base"] - limits.recall_tolerance
    out["qps_regressed"] = out["qps_verdict"].isin(["regression", "invalid"])
    build_drift = _judge_builds(out, limits)
    out["build_regressed"] = out["build_verdict"] == "regression"
    return out.reset_index(drop=True), drift, build_drift


def _repetition_spread(
    pairs: list[tuple[list[float], list[float]]], valid: np.ndarray, alpha: float
) -> np.ndarray:
    """Per row, both runs' half-widths of the median's interval (log), combined."""
    family = alpha / max(int(valid.sum()), 1)
    return np.array(
        [
            math.hypot(log_half_width(b, family), log_half_width(c, family)) if ok else np.nan
            for (b, c), ok in zip(pairs, valid, strict=True)
        ]
    )


def _verdicts(
    log_ratio: np.ndarray,
    spread: np.ndarray,
    drift: Drift,
    alpha: float,
    threshold: float,
    valid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Band (as ratios) and verdict of each log speed ratio, from its own spread and the
    drift of all of them. Every one is a test: Bonferroni over the valid ones keeps the
    chance of any false alarm in the comparison at alpha."""
    band = np.hypot(spread, drift.band(alpha / max(int(valid.sum()), 1)))
    change = np.maximum(log_ratio, log_ratio - drift.shift)
    low = np.minimum(log_ratio, log_ratio - drift.shift) - band
    high = change + band
    verdicts = [
        judge(c, lo, hi, threshold) if ok else "invalid"
        for c, lo, hi, ok in zip(change, low, high, valid, strict=True)
    ]
    return np.exp(low), np.exp(high), verdicts


def _judge_builds(out: pd.DataFrame, limits: Thresholds) -> Drift:
    """Build verdicts, one per job: its build speed ratio (baseline / current seconds) against
    the drift of all judged jobs' builds; one build per job, so no repetitions' spread."""
    jobs = out.drop_duplicates(JOB)
    longest = np.maximum(jobs["build_seconds_base"], jobs["build_seconds_cur"])
    measured = (jobs["build_s_base"] > 0) & (jobs["build_s_cur"] > 0)
    judged = ((longest >= limits.min_build_s) & measured).to_numpy(bool)
    speed = np.full(len(jobs), np.nan)
    speed[judged] = np.log(
        jobs.loc[judged, "build_s_base"].to_numpy(float)
        / jobs.loc[judged, "build_s_cur"].to_numpy(float)
    )
    keys = _keys(jobs, JOB).to_numpy()
    drift = Drift.estimate(speed, keys)
    # a build time growing by `build` is a build speed dropping by build / (1 + build)
    threshold = limits.build / (1.0 + limits.build)
    low, high, verdicts = _verdicts(
        speed, np.zeros(len(jobs)), drift, limits.alpha, threshold, judged
    )
    verdicts = [v if ok else "ok" for v, ok in zip(verdicts, judged, strict=True)]
    noise_known = drift.rows >= MIN_DRIFT_ROWS
    if not noise_known:  # one build per job and no drift to measure it against: a build
        # of 60 ms descheduled past 0.1 s would otherwise be a regression
        verdicts = ["inconclusive" if v == "regression" else v for v in verdicts]
    # as build time ratios (current / baseline): the speed band turned round
    by_job = pd.DataFrame(
        {
            "build_verdict": verdicts,
            "build_low": 1 / high,
            "build_high": 1 / low,
            "build_noise_known": noise_known,
        },
        index=keys,
    )
    key = _keys(out, JOB)
    for column in by_job.columns:
        out[column] = key.map(by_job[column]).to_numpy()
    return drift


def _keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text key per row from these columns (a Series even when the frame is empty)."""
    return pd.Series(
        ["|".join(map(str, row)) for row in frame[columns].itertuples(index=False)],
        index=frame.index,
        dtype=object,
    )


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
        if row["qps_verdict"] == "invalid":
            found.append(
                _finding(
                    row,
                    "invalid QPS",
                    _reps(row["qps_reps_base"]),
                    _reps(row["qps_reps_cur"]),
                    math.nan,
                    "a QPS that is not a positive finite number is an error row",
                )
            )
        elif row["qps_regressed"]:
            found.append(_qps_finding(row, "beyond the noise band and the threshold"))
    return pd.DataFrame(found, columns=FINDING_COLUMNS)


def _qps_finding(row: pd.Series, why: str) -> dict[str, object]:
    return _finding(
        row,
        "QPS",
        _fmt(row["qps_base"]),
        _fmt(row["qps_cur"]),
        row["qps_ratio"],
        f"band {_ratio(row['qps_low'])}-{_ratio(row['qps_high'])} ({row['reps']} "
        f"repetitions + drift): {why}",
    )


def _inconclusive(rows: pd.DataFrame) -> pd.DataFrame:
    found = [
        _qps_finding(row, "noise wider than the threshold")
        for _, row in rows.iterrows()
        if row["qps_verdict"] == "inconclusive"
    ]
    return pd.concat(
        [pd.DataFrame(found, columns=FINDING_COLUMNS), _build_findings(rows, "inconclusive")],
        ignore_index=True,
    )


def _build_findings(rows: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """One finding per job whose build has this verdict (its rows all share the build)."""
    found = [
        {
            **_finding(
                row,
                "build",
                _fmt(row["build_s_base"]),
                _fmt(row["build_s_cur"]),
                row["build_ratio"],
                f"band {_ratio(row['build_low'])}-{_ratio(row['build_high'])} (one build per "
                f"job + drift of all builds): "
                + (
                    "beyond the band and the threshold"
                    if verdict == "regression"
                    else "noise wider than the threshold"
                    if row["build_noise_known"]
                    else f"fewer than {MIN_DRIFT_ROWS} builds to measure the noise by"
                ),
            ),
            "parameters": str(row["label"]).partition(" | ")[0],
            "mode": "",
            "threads": "",
        }
        for _, row in rows[rows["build_verdict"] == verdict].drop_duplicates(JOB).iterrows()
    ]
    return pd.DataFrame(found, columns=FINDING_COLUMNS)


def _job_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Per job: ok when none of its rows failed; the first error otherwise.

    `ok` is a plain bool column before grouping: aggregated by a function, it would keep the
    status column's string dtype when there are no rows, and `&` then fails on it."""
    grouped = frame.assign(ok=(frame["status"] == "ok").to_numpy(bool)).groupby(
        JOB, as_index=False, sort=True
    )
    return grouped.agg(
        corpus=("corpus", "first"),
        ok=("ok", "all"),
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


def _notes(limits: Thresholds, normalized: bool, drift: Drift, build_drift: Drift) -> list[str]:
    notes = [
        f"Regression: recall drop > {limits.recall_tolerance:g} (absolute); a median QPS "
        f"drop > {limits.qps:.0%} whose whole noise band (both runs' repetition intervals and "
        "the drift between the runs, at a family-wise confidence of "
        f"{1 - limits.alpha:.0%}: Bonferroni over the rows) lies below no change; QPS "
        f"not a positive number; a build time increase > {limits.build:.0%} whose band (the "
        f"drift of all builds of at least {limits.min_build_s:g} s) lies above no change; "
        "jobs ok before and not now; rows missing now.",
        f"Inconclusive (exit 3 when nothing regressed): a {limits.qps:.0%} QPS drop (or a "
        f"{limits.build:.0%} build time increase) is inside a band wider than the threshold: "
        "too noisy to judge; measure both variants in one session with `bench ab`.",
    ]
    for what, found, unit in ((("QPS", drift, "rows")), ("build time", build_drift, "builds")):
        if found.rows >= MIN_DRIFT_ROWS:
            notes.append(
                f"{what} drift over {found.rows} {unit} in {found.groups} groups: whole-run "
                f"speed shift {math.exp(found.shift):.3f}x, scatter {found.scatter:.1%} (log)."
            )
        elif what == "QPS":
            notes.append(
                f"Only {found.rows} {unit} to judge {what} by: drift between the runs cannot "
                "be estimated, so the band holds the repetitions' spread (or nothing) only."
            )
        else:
            notes.append(
                f"Only {found.rows} {unit} to judge {what} by: drift between the runs cannot "
                "be estimated, and one build per job has no spread of its own, so a build "
                "time increase beyond the threshold is inconclusive, not a regression."
            )
    if normalized:
        notes.append(
            f"Normalized: QPS divided by (build seconds multiplied by) each run's "
            f"{CALIBRATION_ALGORITHM} single-mode median QPS on the same corpus."
        )
    return notes


# --- output -------------------------------------------------------------------------------


def render_markdown(result: Comparison) -> str:
    """The PR-comment text: verdict, offending rows, then every ratio (folded)."""
    count, unsure = len(result.regressions), len(result.inconclusive)
    if not result.passed:
        verdict = f"**FAIL**: {count} regression{'s' * (count != 1)}"
    elif unsure:
        verdict = f"**INCONCLUSIVE**: no regressions, {unsure} rows too noisy to judge"
    else:
        verdict = "**PASS**: no regressions"
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
    if unsure:
        lines += ["### Inconclusive", "", markdown.table(result.inconclusive), ""]
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
    unsure = [
        ", ".join(name for name, v in (("QPS", q), ("build", b)) if v == "inconclusive")
        for q, b in zip(rows["qps_verdict"], rows["build_verdict"], strict=True)
    ]
    verdict = [
        ", ".join(name for name, bad in (("recall", r), ("QPS", q), ("build", b)) if bad)
        or (f"{u} inconclusive" if u else "ok")
        for r, q, b, u in zip(
            rows["recall_regressed"],
            rows["qps_regressed"],
            rows["build_regressed"],
            unsure,
            strict=True,
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
            "band": [
                f"{_ratio(lo)}-{_ratio(hi)}"
                for lo, hi in zip(rows["qps_low"], rows["qps_high"], strict=True)
            ],
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


def _reps(reps: list[float]) -> str:
    return ", ".join(_fmt(q) if math.isfinite(q) else str(q) for q in reps)


def _ratio(value: float) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.3f}"


def _fmt(value: float) -> str:
    if pd.isna(value):
        return ""
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
