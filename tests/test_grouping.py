"""Rows measured under different conditions are never pooled: a real run folder holding k=10
and k=100 rows gives one curve, one QPS@0.9, one section and one plot per k; the key is the
one in bench.results.identity."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.report import markdown
from bench.report.points import IDENTITY, operating_points, panels
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


def test_keys_nest_and_the_report_uses_them() -> None:
    assert {"k", "corpus_fingerprint", "n_queries", "metric"} <= set(SETTING)
    assert CURVE[: len(SETTING)] == SETTING and POINT[: len(CURVE)] == CURVE
    assert {"library_version", "threads", "build_threads"} <= set(CURVE)
    assert IDENTITY == POINT


def test_qps_at_recall_comes_from_one_k(run_dir: Path) -> None:
    frame = read_results(run_dir)
    assert sorted(frame["k"].unique()) == list(KS)
    points = operating_points(frame, "single")
    assert len(points) == 2 * len(KS) and set(points["k"]) == set(KS)
    found = {}
    for panel, group in panels(points):
        assert set(group["k"]) == {panel.k}
        tidy = recall_targets(group)
        exact = tidy[(tidy["series"] == "test-exact") & (tidy["target"] == 0.9)]
        found[panel.k] = exact["qps"].tolist()
    assert found == {k: [pytest.approx(measured_qps(frame, "test-exact", k))] for k in KS}


def test_report_has_a_section_and_a_plot_per_k(run_dir: Path) -> None:
    report = build_report(run_dir)
    for k in KS:
        section = next(
            s for s in report.sections if s.title == f"tiny-euclidean: single mode, k={k}"
        )
        assert section.images == (run_dir / "plots" / f"pareto-tiny-euclidean-k{k}-single.png",)
        assert section.images[0].exists()
        assert section.table is not None
        assert sorted(section.table["algorithm"]) == ["test-exact", "test-inaccurate"]
    text = markdown.render(report, run_dir)
    assert text.count("(plots/pareto-tiny-euclidean-k100-single.png)") == 1
    assert "k=10, 100" in text  # the corpus line names both k, not the first row's


def test_corpus_versions_and_query_counts_are_separate_panels(run_dir: Path) -> None:
    """A regenerated corpus (another fingerprint), or the same corpus searched with another
    number of queries, at the same k: separate panels, each named by what differs."""
    frame = read_results(run_dir)
    at_100 = frame["k"] == 100
    for column, value, details in (
        ("corpus_fingerprint", "another-version", {""}),
        ("n_queries", 15, {"queries=15", "queries=30"}),
    ):
        changed = frame.assign(k=10)
        changed.loc[at_100, column] = value
        found = list(panels(operating_points(changed, "single")))
        assert len(found) == 2
        assert {panel.detail for panel, _ in found} == details
        for _, group in found:
            assert len(group) == 2 and group[column].nunique() == 1
        assert len({panel.slug for panel, _ in found}) == 2
