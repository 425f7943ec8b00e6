"""`bench ab` results: per point the ratio B/A with a paired Student-t interval and a verdict.

Each AB or BA neighbour pair of workers gives one log ratio log(QPS_B / QPS_A) per point; the
point's ratio is the geometric mean over pairs and its interval the Student-t interval of that
mean, Bonferroni over every point of the run. Verdicts as in `bench compare` (regression,
inconclusive, faster, ok); a worker that failed on either side makes its job `failed`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.metrics.spread import judge, mean_interval, narrow
from bench.report import markdown
from bench.storage import write_bytes_atomic

POINT = ["job", "point", "mode"]


def summarize(
    observations: pd.DataFrame, threshold: float, alpha: float, points: int | None = None
) -> pd.DataFrame:
    """One line per point (and per failed job). `points`: how many points the whole run
    judges (default: those in `observations`); every one is a test, and Bonferroni over them
    keeps the chance of any false alarm at alpha."""
    lines = []
    ok = observations[observations["status"] == "ok"]
    failed = observations[observations["status"] != "ok"]
    failed_jobs = set(failed["job"])
    groups = list(ok.groupby(POINT, sort=True))
    family = alpha / max(points or len(groups), 1)
    for (job, _point, mode), group in groups:
        if job in failed_jobs:
            continue
        wide = group.pivot_table(index="pair", columns="variant", values="qps", aggfunc="first")
        wide = wide.dropna() if {"A", "B"} <= set(wide.columns) else wide.iloc[0:0]
        logs = np.log(wide["B"] / wide["A"]).to_numpy() if len(wide) else np.array([])
        mean = float(logs.mean()) if len(logs) else math.nan
        low, high = mean_interval(logs, family)
        first = group.iloc[0]
        lines.append(
            {
                "corpus": first["corpus"],
                "algorithm": first["algorithm"],
                "parameters": first["label"],
                "mode": mode,
                "pairs": len(logs),
                "qps_a": float(group.loc[group["variant"] == "A", "qps"].median()),
                "qps_b": float(group.loc[group["variant"] == "B", "qps"].median()),
                "ratio": math.exp(mean),
                "ci_low": math.exp(low),
                "ci_high": math.exp(high),
                "recall_a": float(group.loc[group["variant"] == "A", "recall"].mean()),
                "recall_b": float(group.loc[group["variant"] == "B", "recall"].mean()),
                "verdict": judge(mean, low, high, threshold) if len(logs) > 1 else "inconclusive",
            }
        )
    for _, row in failed.drop_duplicates(["job", "variant"]).iterrows():
        lines.append(
            {
                "corpus": row["corpus"],
                "algorithm": row["algorithm"],
                "parameters": row["label"],
                "mode": "",
                "verdict": "failed",
                "error": f"variant {row['variant']}: {row['status']}: {row['error'][:200]}",
            }
        )
    return pd.DataFrame(lines)


def settled(observations: pd.DataFrame, threshold: float, alpha: float, points: int) -> bool:
    """A job needs no more rounds: it failed, or every point's interval is narrow enough to
    tell a threshold-sized change from none. The rule looks at widths only, never at which
    side of 1 a ratio lies, so it does not steer a ratio; stopping when the spread happens to
    be small does leave that interval a little optimistic (a two-stage rule would not)."""
    if observations.empty or (observations["status"] != "ok").any():
        return True
    summary = summarize(observations, threshold, alpha, points)
    return bool(
        all(
            narrow(math.log(low), math.log(high), threshold)
            for low, high in zip(summary["ci_low"], summary["ci_high"], strict=True)
        )
    )


def exit_code(summary: pd.DataFrame) -> int:
    """0 no regression, 1 a regression or a failed job, 3 only inconclusive points."""
    verdicts = set(summary.get("verdict", pd.Series(dtype=str)))
    if verdicts & {"regression", "failed"}:
        return 1
    return 3 if "inconclusive" in verdicts else 0


def render_markdown(summary: pd.DataFrame, a: str, b: str, notes: list[str]) -> str:
    counts = summary["verdict"].value_counts().to_dict() if not summary.empty else {}
    code = exit_code(summary)
    head = {0: "**PASS**", 1: "**FAIL**", 3: "**INCONCLUSIVE**"}[code]
    table = summary.assign(
        **{
            "B/A": [_num(r) for r in summary.get("ratio", [])],
            "interval": [
                f"{_num(lo)}-{_num(hi)}"
                for lo, hi in zip(
                    summary.get("ci_low", []), summary.get("ci_high", []), strict=True
                )
            ],
            **{
                column: ["" if pd.isna(r) else f"{r:.4f}" for r in summary[column]]
                for column in ("recall_a", "recall_b")
                if column in summary
            },
        }
    )
    columns = ["corpus", "algorithm", "parameters", "mode", "pairs", "B/A", "interval"]
    columns += [c for c in ("recall_a", "recall_b", "verdict", "error") if c in table]
    lines = [
        "## A/B comparison (one session, interleaved)",
        "",
        f"A: {a}; B: {b}. {head}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())),
        "",
        *[f"- {note}" for note in notes],
        "",
        markdown.table(table[columns].fillna("")) if not table.empty else "(no points)",
    ]
    return "\n".join(lines) + "\n"


def write(summary: pd.DataFrame, observations: pd.DataFrame, text: str, run_dir: Path) -> None:
    """Write ab.csv, ab-observations.csv and ab.md, each atomically (a full disk or Ctrl-C
    leaves the previous file, never a cut one)."""
    write_bytes_atomic(run_dir / "ab.csv", summary.to_csv(index=False).encode())
    write_bytes_atomic(run_dir / "ab-observations.csv", observations.to_csv(index=False).encode())
    write_bytes_atomic(run_dir / "ab.md", text.encode())


def _num(value: float) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.3f}"
