"""Scaling curves: power-law fits on known numbers, and a tiny two-size run end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bench.corpora.registry import corpus_from_spec, dataset_spec
from bench.report.scaling import (
    FIT_COLUMNS,
    GROUND_TRUTH,
    fit_exponents,
    fit_power_law,
    plot_scaling,
    scaling_points,
)
from bench.results.rundir import write_groundtruth_csv
from bench.results.store import read_results
from bench.runner.run import run_suite
from bench.runner.suite import Suite


def test_fit_recovers_a_known_power_law() -> None:
    sizes = np.array([1e4, 3e4, 1e5, 3e5, 1e6])
    exponent, intercept = fit_power_law(sizes, 3.0 * sizes**1.5)
    assert exponent == pytest.approx(1.5)
    assert intercept == pytest.approx(np.log10(3.0))


def test_fit_is_least_squares_in_log_space() -> None:
    sizes = np.array([10.0, 100.0, 1000.0])
    costs = np.array([1.0, 20.0, 100.0])  # log10: 0, 1.301, 2
    exponent, intercept = fit_power_law(sizes, costs)
    expected = np.polyfit(np.log10(sizes), np.log10(costs), 1)
    assert (exponent, intercept) == pytest.approx(tuple(expected))


def test_fit_needs_two_sizes() -> None:
    with pytest.raises(ValueError, match="two distinct sizes"):
        fit_power_law(np.array([10.0, 10.0]), np.array([1.0, 2.0]))


def fake_results() -> pd.DataFrame:
    """Two algorithms at three sizes: build ~ N^1, bytes/vector constant, QPS ~ N^-0.5.

    Each (algorithm, N) has a fast low-recall point that must be ignored."""
    rows = []
    for n in (1_000, 10_000, 100_000):
        for algorithm, scale in (("a", 1.0), ("b", 4.0)):
            job = f"{algorithm}-{n}"
            for params, recall, qps in (
                ({"p": 1}, 0.5, 1e9),
                ({"p": 2}, 0.95, scale * 1e5 * n**-0.5),
                ({"p": 3}, 0.99, scale * 0.5e5 * n**-0.5),
            ):
                for repetition, jitter in ((0, 0.9), (1, 1.0), (2, 1.1)):
                    rows.append(
                        {
                            "status": "ok",
                            "job_id": job,
                            "corpus": f"scale-{n}",
                            "corpus_fingerprint": f"fp-{n}",
                            "n_train": n,
                            "n_queries": 100,
                            "dim": 8,
                            "metric": "euclidean",
                            "k": 10,
                            "backend": algorithm,
                            "algorithm": algorithm,
                            "library_version": "1.0",
                            "threads": 1,
                            "build_threads": 1,
                            "mode": "single",
                            "query_params": json.dumps(params),
                            "recall": recall,
                            "qps": qps * jitter,
                            "build_s": 1e-3 * scale * n,
                            "index_bytes": 64 * n,
                            "repetition": repetition,
                        }
                    )
    return pd.DataFrame(rows)


def test_points_and_exponents_from_results() -> None:
    points = scaling_points(fake_results())
    qps = points[(points["measure"] == "qps_at_recall") & (points["algorithm"] == "b")]
    expected = 4.0 * 1e5 * np.array([1_000, 10_000, 100_000]) ** -0.5  # median, recall >= 0.9
    np.testing.assert_allclose(qps["value"], expected)
    fits = fit_exponents(points).set_index(["algorithm", "measure"])
    for algorithm in ("a", "b"):
        assert fits.loc[(algorithm, "build_s"), "exponent"] == pytest.approx(1.0)
        assert fits.loc[(algorithm, "bytes_per_vector"), "exponent"] == pytest.approx(0.0)
        assert fits.loc[(algorithm, "qps_at_recall"), "exponent"] == pytest.approx(-0.5)
        assert fits.loc[(algorithm, "qps_at_recall"), "n_points"] == 3


def test_sizes_below_the_recall_are_left_out() -> None:
    frame = fake_results()
    frame.loc[(frame["n_train"] == 100_000) & (frame["algorithm"] == "a"), "recall"] = 0.5
    points = scaling_points(frame)
    qps = points[(points["measure"] == "qps_at_recall") & (points["algorithm"] == "a")]
    assert list(qps["n_train"]) == [1_000, 10_000]


def test_rows_at_another_k_form_their_own_curve() -> None:
    """k=100 rows (here 10x slower) are a curve of their own, never pooled with k=10."""
    at_10 = fake_results()
    at_100 = at_10.assign(k=100, job_id=at_10["job_id"] + "-k100", qps=at_10["qps"] / 10)
    points = scaling_points(pd.concat([at_10, at_100], ignore_index=True))
    qps = points[points["measure"] == "qps_at_recall"].set_index(["algorithm", "n_train"])
    sizes = np.array([1_000, 10_000, 100_000])
    for algorithm, scale in (("a", 1.0), ("b", 4.0)):
        expected = scale * 1e5 * sizes**-0.5
        np.testing.assert_allclose(qps.loc[f"{algorithm} (k=10)", "value"], expected)
        np.testing.assert_allclose(qps.loc[f"{algorithm} (k=100)", "value"], expected / 10)
    assert set(fit_exponents(points)["algorithm"]) == {
        "a (k=10)",
        "a (k=100)",
        "b (k=10)",
        "b (k=100)",
    }


SIZES = {"tiny-scale-small": 1500, "tiny-scale-large": 6000}
BACKENDS = """
library: numpy
adapter: bench.backends.bruteforce:BruteForce
metrics: [euclidean]
algorithms:
  scaling-exact: {grids: {tiny: {}}}
  scaling-hnsw:
    adapter: bench.backends.hnswlib:Hnswlib
    grids: {tiny: {build: {M: [8], ef_construction: [50]}, query: {ef: [10, 50]}}}
"""


@pytest.mark.slow
def test_two_size_run_gives_scaling_csv_and_plots(
    bench_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = bench_env / "datasets"
    for name, n in SIZES.items():
        spec = {
            "kind": "synthetic",
            "distribution": "clustered",
            "n": n,
            "dim": 16,
            "queries": 40,
            "clusters": 8,
            "metric": "euclidean",
            "seed": 5,
        }
        (datasets / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    extra = bench_env / "scaling-backends"
    extra.mkdir()
    (extra / "scaling.yaml").write_text(BACKENDS)
    monkeypatch.setenv(
        "BENCH_EXTRA_BACKENDS", os.pathsep.join([os.environ["BENCH_EXTRA_BACKENDS"], str(extra)])
    )
    suite = Suite(
        name="tiny-scale",
        datasets=tuple(SIZES),
        algorithms=("scaling-exact", "scaling-hnsw"),
        grid="tiny",
        modes=("single",),
        repetitions=1,
        warmup=5,
        timeout_s=120,
        memory_limit_gb=2,
    )
    run_dir = bench_env / "run"
    statuses = run_suite(suite, run_dir, show_progress=False)
    assert statuses["ok"] >= 2, statuses
    corpora = [corpus_from_spec(name, dataset_spec(name)) for name in SIZES]
    write_groundtruth_csv(run_dir, corpora)

    written = plot_scaling(read_results(run_dir), run_dir)

    fits = pd.read_csv(run_dir / "scaling.csv")
    assert list(fits.columns) == FIT_COLUMNS
    exact = fits[fits["algorithm"] == "scaling-exact"].set_index("measure")
    assert set(exact.index) == {"build_s", "bytes_per_vector", "qps_at_recall"}
    assert (exact["n_points"] == 2).all()
    assert np.isfinite(exact["exponent"]).all()
    assert GROUND_TRUTH in set(fits["algorithm"])
    names = {path.name for path in written}
    assert {"scaling-build_s.png", "scaling-qps_at_recall.png"} <= names
    for path in written:
        assert path.parent == run_dir / "plots"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
