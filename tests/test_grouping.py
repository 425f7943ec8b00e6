"""Rows measured under different conditions are never pooled: a real run folder holding k=10
and k=100 rows gives one curve, one QPS@0.9, one section and one plot per k."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.report import markdown
from bench.report.pareto import operating_points
from bench.report.summary import build_report, recall_targets
from bench.results.identity import CURVE, POINT, SETTING
from bench.results.store import read_results
from bench.runner.run import run_suite
from bench.runner.suite import Suite

KS = (10, 100)


@pytest.fixture
def run_dir(bench_env: Path) -> Path:
    """One run folder, two suites into it: the same jobs at k=10, then at k=100."""
    run_dir = bench_env / "run"
    for k in KS:
        suite = Suite(
            name="grouping",
            datasets=("tiny-euclidean",),
            algorithms=("test-exact", "test-inaccurate"),
            grid="test",
            k=k,
            modes=("single",),
            repetitions=2,
            warmup=0,
            query_limit=30,
            build_threads=1,
        )
        run_suite(suite, run_dir, show_progress=False)
    return run_dir


def measured_qps(frame: pd.DataFrame, algorithm: str, k: int) -> float:
    """The median QPS of the exact algorithm's one operating point at one k (recall 1)."""
    rows = frame[(frame["algorithm"] == algorithm) & (frame["k"] == k)]
    assert len(rows) == 2 and (rows["recall"] == 1.0).all()
    return float(rows["qps"].median())


def test_keys_nest() -> None:
    assert {"k", "corpus_fingerprint"} <= set(SETTING)
    assert CURVE[: len(SETTING)] == SETTING and POINT[: len(CURVE)] == CURVE


def test_qps_at_recall_comes_from_one_k(run_dir: Path) -> None:
    frame = read_results(run_dir)
    assert sorted(frame["k"].unique()) == list(KS)
    tidy = recall_targets(frame, "single")
    exact = tidy[(tidy["algorithm"] == "test-exact") & (tidy["target"] == 0.9)]
    assert sorted(exact["curve"]) == ["test-exact (k=10)", "test-exact (k=100)"]
    for k in KS:
        found = exact.loc[exact["k"] == k, "qps"]
        assert found.tolist() == [pytest.approx(measured_qps(frame, "test-exact", k))]
    # every operating point holds the repetitions of one k only
    points = operating_points(frame, "single")
    assert len(points) == 2 * len(KS) and set(points["k"]) == set(KS)


def test_report_has_a_section_and_a_plot_per_k(run_dir: Path) -> None:
    report = build_report(run_dir)
    titles = [section.title for section in report.sections]
    for k in KS:
        name = f"tiny-euclidean (k={k})"
        assert f"Corpus {name}" in titles
        section = next(s for s in report.sections if s.title == f"{name}: single mode")
        assert section.images == (run_dir / "plots" / f"pareto-tiny-euclidean-k{k}-single.png",)
        assert section.images[0].exists()
        assert section.table is not None
        assert sorted(section.table["algorithm"]) == ["test-exact", "test-inaccurate"]
    text = markdown.render(report, run_dir)
    assert text.count("(plots/pareto-tiny-euclidean-k100-single.png)") == 1
    assert "pareto-tiny-euclidean-single.png" not in text


def test_two_versions_of_a_corpus_are_two_settings(run_dir: Path) -> None:
    """Rows of a regenerated corpus (another fingerprint) at the same k are not pooled."""
    frame = read_results(run_dir)
    frame.loc[frame["k"] == 100, "corpus_fingerprint"] = "another-version"
    frame["k"] = 10
    tidy = recall_targets(frame, "single")
    exact = tidy[(tidy["algorithm"] == "test-exact") & (tidy["target"] == 0.9)]
    assert len(exact) == 2 and exact["curve"].str.contains("fingerprint=another-version").any()
