"""The Dask executor on a real LocalCluster with worker processes gives the local recalls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.results.store import read_results
from bench.runner.run import run_suite
from bench.runner.suite import Suite

distributed = pytest.importorskip("distributed")


def slotted_cluster() -> distributed.LocalCluster:
    """Two worker processes with one `slots` resource each, as the executor expects."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        resources={"slots": 1},
        dashboard_address=None,
    )


KEYS = ["corpus", "algorithm", "build_params", "query_params", "mode", "repetition"]


def test_dask_run_matches_local_run(bench_env: Path) -> None:
    suite = Suite(
        name="d",
        datasets=("tiny-euclidean", "tiny-angular"),
        algorithms=("bruteforce", "hnswlib", "faiss-ivf", "test-raising"),
        grid="ci",
        repetitions=1,
        warmup=0,
        timeout_s=120,
        build_threads=1,  # threaded HNSW insertion is not deterministic; recall must match
    )
    run_suite(suite, bench_env / "local", show_progress=False)
    with slotted_cluster() as cluster, distributed.Client(cluster) as client:
        from bench.runner.dask_executor import DaskExecutor

        statuses = run_suite(
            suite, bench_env / "dask", executor=DaskExecutor(client), show_progress=False
        )
    assert statuses["ok"] > 0
    local = read_results(bench_env / "local").set_index(KEYS).sort_index()
    remote = read_results(bench_env / "dask").set_index(KEYS).sort_index()
    ok_local = local[local["status"] == "ok"]
    ok_remote = remote[remote["status"] == "ok"]
    assert ok_local.index.equals(ok_remote.index)
    assert (ok_local["recall"] == ok_remote["recall"]).all()
    failed = remote[remote["status"] == "failed"]
    assert set(failed.index.get_level_values("algorithm")) == {"test-raising"}


def test_cluster_without_slots_is_refused() -> None:
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        from bench.runner.dask_executor import DaskExecutor

        with pytest.raises(BenchError, match="no worker with the resource 'slots'"):
            DaskExecutor(client)


def test_cli_runs_on_a_scheduler_address(bench_env: Path) -> None:
    """`bench run --executor dask --scheduler ADDRESS` against a real scheduler."""
    import subprocess
    import sys

    suite = bench_env / "s.yaml"
    suite.write_text(
        "datasets: [tiny-euclidean]\nalgorithms: [bruteforce, hnswlib]\n"
        "grid: ci\nrepetitions: 1\nwarmup: 0\n"
    )
    with slotted_cluster() as cluster:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "run",
                "--suite",
                str(suite),
                "--results",
                str(bench_env / "results"),
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--no-plot",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    frame = read_results(bench_env / "results" / "s")
    assert set(frame["algorithm"]) == {"bruteforce", "hnswlib"}
    assert (frame["status"] == "ok").all()
    assert (frame.loc[frame["algorithm"] == "bruteforce", "recall"] == 1.0).all()


def test_ground_truth_on_the_cluster_equals_the_local_one(bench_env: Path) -> None:
    import numpy as np

    from bench.corpora.registry import dataset_spec, load_corpus
    from bench.groundtruth.cache import groundtruth_paths
    from bench.groundtruth.exact import exact_knn
    from bench.runner.dask_executor import DaskExecutor

    corpus = load_corpus("tiny-angular")
    for path in groundtruth_paths(corpus.fingerprint, 100):
        path.unlink(missing_ok=True)
    with slotted_cluster() as cluster, distributed.Client(cluster) as client:
        truth = DaskExecutor(client).ground_truth(corpus, dataset_spec("tiny-angular"))
    local = exact_knn(corpus.train, corpus.queries, 100, corpus.metric)
    assert np.array_equal(truth.ids, local.ids)
    np.testing.assert_allclose(truth.distances, local.distances, rtol=1e-5, atol=1e-6)
    assert "dask cluster, 2 parts" in groundtruth_paths(corpus.fingerprint, 100)[2].read_text()


def test_run_ends_when_the_only_slotted_worker_dies(bench_env: Path) -> None:
    """Kill the only worker while a job hangs on it: the run ends with the unfinished jobs
    as failed rows saying why, and the finished job's rows kept."""
    import subprocess
    import sys
    import threading
    import time

    from bench.runner.dask_executor import NO_SLOTS_LEFT, DaskExecutor

    suite = Suite(
        name="w",
        datasets=("tiny-euclidean",),
        algorithms=("test-exact", "test-hanging", "test-inaccurate"),
        grid="test",
        repetitions=1,
        warmup=0,
        timeout_s=300,
    )
    run_dir = bench_env / "run"
    with (
        distributed.LocalCluster(n_workers=0, protocol="tcp", dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address),
                *("--nthreads", "1", "--resources", "slots=1", "--no-nanny", "--no-dashboard"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client.wait_for_workers(1, timeout=120)
            executor = DaskExecutor(client, lost_slots_grace_s=3)

            def kill_after_first_job() -> None:
                while not (run_dir / "results.csv").exists() and worker.poll() is None:
                    time.sleep(0.1)
                worker.kill()

            threading.Thread(target=kill_after_first_job, daemon=True).start()
            outcome: dict = {}
            runner = threading.Thread(
                target=lambda: outcome.update(
                    statuses=run_suite(suite, run_dir, executor=executor, show_progress=False)
                ),
                daemon=True,
            )
            runner.start()
            runner.join(timeout=300)
            assert not runner.is_alive(), "the run must end once no worker with slots is left"
        finally:
            worker.kill()
            worker.wait()
    assert outcome["statuses"]["ok"] == 1 and outcome["statuses"]["failed"] == 2
    frame = read_results(run_dir)
    exact = frame[frame["algorithm"] == "test-exact"]
    assert len(exact) == 2 and (exact["status"] == "ok").all()
    lost = frame[frame["algorithm"] != "test-exact"]
    assert set(lost["algorithm"]) == {"test-hanging", "test-inaccurate"}
    assert (lost["status"] == "failed").all()
    assert lost["error"].str.contains(NO_SLOTS_LEFT).all()


def test_unreachable_scheduler_is_a_one_line_error() -> None:
    from bench.runner.dask_executor import DaskExecutor

    with pytest.raises(BenchError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=2)


def test_malformed_scheduler_address_is_a_one_line_error() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            *(sys.executable, "-m", "bench", "run", "--executor", "dask"),
            *("--scheduler", "tcp://host:port:x"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "is not a Dask scheduler address" in result.stdout
    assert "expected tcp://HOST:PORT" in result.stdout
