"""`bench run`: prepare corpora and ground truth, plan jobs, skip finished ones, run the rest."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.corpora.corpus import Corpus
from bench.corpora.registry import corpus_from_spec, dataset_spec
from bench.errors import BenchError
from bench.results.answers import store_job_answers
from bench.results.rundir import RESULTS_CSV, append_run_log, write_groundtruth_csv
from bench.results.runlock import run_lock
from bench.results.store import (
    append_rows,
    check_appendable,
    drop_jobs,
    finished_job_ids,
    read_results,
    restore_command,
    spill_rows,
    validate_rows,
)
from bench.runner.environment import run_identity
from bench.runner.executors import Executor, LocalExecutor
from bench.runner.isolation import Outcome
from bench.runner.job import Job
from bench.runner.plan import check_declared_counts, plan_jobs, select_algorithms
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
    wait: bool = False,
) -> Counter[str]:
    """Run every unfinished job of `suite` into `run_dir`; return a count of job statuses.

    The run directory is locked for the whole run: a second run on it is refused (or, with
    `wait`, waits), so no job runs twice."""
    with run_lock(run_dir, wait=wait):
        return _run_locked(suite, run_dir, executor or LocalExecutor(), retry_failed, show_progress)


def _run_locked(
    suite: Suite, run_dir: Path, executor: Executor, retry_failed: bool, show_progress: bool
) -> Counter[str]:
    check_appendable(run_dir)
    identity = run_identity(suite.name)
    select_algorithms(suite)  # unknown names fail here, before any corpus is generated
    for name in suite.datasets:  # bad specs, and k or warm-up beyond declared sizes
        check_declared_counts(suite, name, dataset_spec(name))
    corpora = prepare_corpora(suite, executor)
    write_groundtruth_csv(run_dir, [corpus for corpus, _ in corpora.values()])
    jobs, unavailable = plan_jobs(suite, corpora)
    unavailable_rows = {
        item.job_id: unavailable_row(identity, item, corpora[item.corpus][0], suite.k)
        for item in unavailable
    }
    _validate_before_measuring(identity, jobs, corpora, list(unavailable_rows.values()))
    if retry_failed and (failed := _failed_jobs(run_dir)):
        drop_jobs(run_dir, failed)
    done = finished_job_ids(run_dir)
    statuses: Counter[str] = Counter()
    for item in unavailable:
        if item.job_id not in done:
            row = unavailable_rows[item.job_id]
            _save(run_dir, [row], f"{item.algorithm.name} on {item.corpus}")
        statuses["unavailable"] += 1
    pending = [job for job in jobs if job.job_id not in done]
    statuses["skipped (already done)"] = len(jobs) - len(pending)
    _write_run_info(run_dir, suite, identity)
    with Progress(
        TextColumn("{task.description}", markup=False),  # corpus names are user text
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
            _save(
                run_dir,
                outcome_rows(identity, job, corpus, outcome),
                f"{job.algorithm} on {job.corpus}",
                partial(store_job_answers, run_dir, job.job_id, outcome.answers),
            )
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


def _validate_before_measuring(
    identity: dict[str, Any],
    jobs: list[Job],
    corpora: dict[str, tuple[Corpus, dict[str, Any]]],
    unavailable_rows: list[dict[str, Any]],
) -> None:
    """Check each job's identity columns against the schema before anything is measured
    (a row that cannot be written after measuring would lose the job): the row a job that
    fails at once would write carries every column but the measures."""
    for job in jobs:
        dry = outcome_rows(identity, job, corpora[job.corpus][0], Outcome("failed", error="-"))
        validate_rows(dry, f"job {job.algorithm} on {job.corpus}: row")
    validate_rows(unavailable_rows, "unavailable algorithm row")


def _save(
    run_dir: Path,
    rows: list[dict[str, Any]],
    what: str,
    write_answers: Callable[[], None] = lambda: None,
) -> None:
    """Write a job's answers, then append its rows; when either fails, keep the rows in a
    spill file and stop the run with one line saying where they are.

    When the answers themselves could not be written, the kept rows' `answers` column is
    blanked and the message says they are lost: the rows must not cite an npz that does not
    exist (`bench rescore` failed for the whole run after such rows were restored), and the
    answers are not kept elsewhere: they can be far larger than the rows, the disk that
    refused them is often the one the spill would go to, and one file restored by one
    command cannot be half restored. The rows' measures (recall at the run's k, QPS) stand;
    `bench rescore` skips rows without answers."""
    answers_written = False
    try:
        write_answers()  # before the rows that cite them
        answers_written = True
        append_rows(run_dir, rows)
    except (OSError, BenchError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        lost = ""
        if not answers_written and any(row.get("answers") for row in rows):
            rows = [{**row, "answers": ""} for row in rows]
            lost = (
                "; their answers could not be written and are lost (the kept rows cite none; "
                "`bench rescore` skips them)"
            )
        spill = spill_rows(run_dir, rows)
        results = run_dir / RESULTS_CSV
        raise BenchError(
            f"cannot write the {len(rows)} rows of {what} to {run_dir} ({reason}{where}); "
            f"they are kept in {spill}{lost}: once fixed, add them with "
            f"`{restore_command(spill, results)}`, then run again to finish the other jobs"
        ) from exc
