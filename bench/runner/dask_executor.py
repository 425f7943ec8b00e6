"""Run jobs on a Dask distributed cluster, one job per worker slot.

Workers must offer the resource `slots` (start them with `--nthreads 1 --resources
"slots=1"`, or one slot per group of cores a job may use); each job asks for one slot, so
timed jobs never share a worker's cores. The job itself still runs in its own isolated
process on that worker (timeout, memory cap, crash capture), exactly as locally. Synthetic
corpora and ground truth are regenerated deterministically on a worker that lacks them, or
read from a shared BENCH_CACHE.
"""

from __future__ import annotations

from collections.abc import Iterator

from bench.errors import BenchError
from bench.runner.executors import OnStart
from bench.runner.isolation import Outcome, run_isolated
from bench.runner.plan import Job

SLOT = "slots"


class DaskExecutor:
    def __init__(self, scheduler: str | object) -> None:
        from distributed import Client

        self.client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        workers = self.client.scheduler_info()["workers"].values()
        self.slots = sum(w.get("resources", {}).get(SLOT, 0) for w in workers)
        if not self.slots:
            raise BenchError(
                f"the Dask cluster at {self.client.scheduler.address} has no "
                f"worker with the resource {SLOT!r}: expected workers started "
                f'with --nthreads 1 --resources "{SLOT}=1"'
            )

    def run(
        self, jobs: list[Job], on_start: OnStart | None = None
    ) -> Iterator[tuple[Job, Outcome]]:
        from distributed import as_completed

        futures = {}
        for job in jobs:
            future = self.client.submit(
                run_isolated,
                job.to_dict(),
                key=f"job-{job.job_id}",
                resources={SLOT: 1},
                pure=False,
            )
            futures[future] = job
        for future in as_completed(futures):
            job = futures[future]
            if on_start:
                on_start(job)
            try:
                yield job, future.result()
            except Exception as exc:  # the worker process hosting the job died
                yield job, Outcome("failed", error=f"dask worker lost the job: {exc}")
