"""`bench run`: prepare corpora and ground truth, plan jobs, skip finished ones, run the rest."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.corpora.corpus import Corpus
from bench.corpora.registry import corpus_from_spec, dataset_spec
from bench.results.answers import store_job_answers
from bench.results.rundir import append_run_log, write_groundtruth_csv
from bench.results.store import append_rows, drop_jobs, finished_job_ids, read_results
from bench.runner.environment import run_identity
from bench.runner.executors import Executor, LocalExecutor
from bench.runner.plan import Job, plan_jobs, select_algorithms
from bench.runner.rows import outcome_rows, unavailable_row
from bench.runner.suite import Suite

log = logging.getLogger(__name__)


def prepare_corpora(suite: Suite, executor: Executor) -> dict[str, tuple[Corpus, dict[str, Any]]]:
    """Generate or load every corpus and its exact ground truth (cached) before any timing;
    the executor computes the ground truth (here, or spread over a Dask cluster)."""
    corpora = {}
    for name in suite.datasets:
        spec = dataset_spec(name)
        corpus = corpus_from_spec(name, spec)
        log.info(
            "corpus %s: %d x %d %s; ground truth",
            name,
            len(corpus.train),
            corpus.dim,
            corpus.metric,
        )
        executor.ground_truth(corpus, spec)
        corpora[name] = (corpus, spec)
    return corpora


def _failed_jobs(run_dir: Path) -> set[str]:
    if not (run_dir / "results.csv").exists():
        return set()
    frame = read_results(run_dir)
    return set(frame.loc[frame["status"] != "ok", "job_id"])


def run_suite(
    suite: Suite,
    run_dir: Path,
    executor: Executor | None = None,
    retry_failed: bool = False,
    show_progress: bool = True,
) -> Counter[str]:
    """Run every unfinished job of `suite` into `run_dir`; return a count of job statuses."""
    run_dir.mkdir(parents=True, exist_ok=True)
    executor = executor or LocalExecutor()
    identity = run_identity(suite.name)
    select_algorithms(suite)  # unknown names fail here, before any corpus is generated
    for name in suite.datasets:
        dataset_spec(name)
    corpora = prepare_corpora(suite, executor)
    write_groundtruth_csv(run_dir, [corpus for corpus, _ in corpora.values()])
    jobs, unavailable = plan_jobs(suite, corpora)
    if retry_failed and (failed := _failed_jobs(run_dir)):
        drop_jobs(run_dir, failed)
    done = finished_job_ids(run_dir)
    statuses: Counter[str] = Counter()
    for item in unavailable:
        if item.job_id not in done:
            corpus = corpora[item.corpus][0]
            append_rows(run_dir, [unavailable_row(identity, item, corpus, suite.k)])
        statuses["unavailable"] += 1
    pending = [job for job in jobs if job.job_id not in done]
    statuses["skipped (already done)"] = len(jobs) - len(pending)
    _write_run_info(run_dir, suite, identity)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_progress,
    ) as progress:
        task = progress.add_task("jobs", total=len(pending))

        def on_start(job: Job) -> None:
            progress.update(
                task, description=f"{job.corpus} · {job.algorithm} {json.dumps(job.build_params)}"
            )

        for job, outcome in executor.run(pending, on_start):
            corpus = corpora[job.corpus][0]
            store_job_answers(run_dir, job.job_id, outcome.answers)  # before rows cite them
            append_rows(run_dir, outcome_rows(identity, job, corpus, outcome))
            statuses[outcome.status] += 1
            if outcome.status != "ok":
                log.warning(
                    "%s on %s: %s: %s",
                    job.algorithm,
                    job.corpus,
                    outcome.status,
                    outcome.error[:300],
                )
            progress.advance(task)
    return statuses


def _write_run_info(run_dir: Path, suite: Suite, identity: dict[str, Any]) -> None:
    append_run_log(run_dir, {**identity, "suite_settings": dict(vars(suite))})
