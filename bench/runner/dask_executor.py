"""Run jobs on a Dask distributed cluster, one job per worker slot.

Workers must offer the resource `slots` (start them with `--nthreads 1 --resources
"slots=1"`, or one slot per group of cores a job may use); each job asks for one slot, so
timed jobs never share a worker's cores. The job itself still runs in its own isolated
process on that worker (timeout, memory cap, crash capture), exactly as locally. Synthetic
corpora and ground truth are regenerated deterministically on a worker that lacks them, or
read from a shared BENCH_CACHE.

A job waits for a worker with a slot; when none is left (the last one died) it would wait
forever, so the executor watches the cluster: after LOST_SLOTS_GRACE_S seconds without any
worker offering `slots`, every unfinished job becomes a `failed` row and the run ends.
Rows are written by the client (the machine running `bench run`), never by the workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from bench.corpora.corpus import Corpus
from bench.corpora.registry import corpus_from_spec
from bench.errors import BenchError
from bench.groundtruth.cache import (
    corpus_identity,
    ground_truth,
    groundtruth_paths,
    store_ground_truth,
)
from bench.groundtruth.exact import MAX_K, GroundTruth, exact_knn
from bench.runner.executors import OnStart
from bench.runner.isolation import Outcome, run_isolated
from bench.runner.job import Job
from bench.storage import making

SLOT = "slots"
CONNECT_TIMEOUT_S = 10.0
LOST_SLOTS_GRACE_S = 30.0
CHECK_SECONDS = 1.0
NO_SLOTS_LEFT = "no Dask worker with slots left"

log = logging.getLogger(__name__)


class NoSlotsLeft(Exception):
    """No worker offers `slots` any more; `pending` are the futures that will never run."""

    def __init__(self, pending: set[Any]) -> None:
        super().__init__(NO_SLOTS_LEFT)
        self.pending = pending


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> object:
    """A Client for the scheduler at `address`, or a one-line BenchError saying what failed."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout_s)
    except ValueError as exc:  # distributed's address parser
        raise BenchError(
            f"--scheduler {address!r} is not a Dask scheduler address ({exc}): expected "
            f"tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
        ) from None
    except (OSError, TimeoutError) as exc:
        raise BenchError(
            f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
            f"({type(exc).__name__}): expected a running `dask scheduler` at that address"
        ) from None


class DaskExecutor:
    def __init__(
        self,
        scheduler: str | object,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        lost_slots_grace_s: float = LOST_SLOTS_GRACE_S,
    ) -> None:
        from distributed import Client

        self.client = (
            scheduler if isinstance(scheduler, Client) else connect(scheduler, connect_timeout_s)
        )
        self.lost_slots_grace_s = lost_slots_grace_s
        self.slots = self._slots_now()
        if not self.slots:
            raise BenchError(
                f"the Dask cluster at {self.client.scheduler.address} has no "
                f"worker with the resource {SLOT!r}: expected workers started "
                f'with --nthreads 1 --resources "{SLOT}=1"'
            )

    def _slots_now(self) -> int:
        """Slots offered by the live workers (the `dask worker` CLI gives resources as floats)."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return int(sum(w.get("resources", {}).get(SLOT, 0) for w in workers))

    def _as_finished(self, futures: list[Any]) -> Iterator[Any]:
        """Each future as it finishes. Raises NoSlotsLeft (holding the unfinished ones, now
        cancelled) when no worker with slots has been seen for lost_slots_grace_s: they
        would otherwise wait for a worker forever."""
        from distributed import wait

        pending = set(futures)
        without_slots_since: float | None = None
        while pending:
            try:
                done, pending = wait(pending, timeout=CHECK_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            yield from done
            if self._slots_now():
                without_slots_since = None
                continue
            without_slots_since = without_slots_since or time.monotonic()
            if pending and time.monotonic() - without_slots_since > self.lost_slots_grace_s:
                self.client.cancel(list(pending))
                raise NoSlotsLeft(pending)

    def run(
        self, jobs: list[Job], on_start: OnStart | None = None
    ) -> Iterator[tuple[Job, Outcome]]:
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
        try:
            for future in self._as_finished(list(futures)):
                job = futures[future]  # jobs start on the workers, unseen here: no on_start
                try:
                    yield job, future.result()
                except Exception as exc:  # the worker process hosting the job died
                    yield job, Outcome("failed", error=f"dask worker lost the job: {exc}")
        except NoSlotsLeft as lost:  # fail the rest, so the run ends with their rows
            log.error(
                "%s for %g s: %d unfinished jobs recorded as failed; start workers with "
                '--resources "%s=1" and run again with --retry-failed',
                NO_SLOTS_LEFT,
                self.lost_slots_grace_s,
                len(lost.pending),
                SLOT,
            )
            error = f"{NO_SLOTS_LEFT} (none for {self.lost_slots_grace_s:g} s): not run"
            for future in lost.pending:
                yield futures[future], Outcome("failed", error=error)

    def ground_truth(self, corpus: Corpus, spec: dict[str, Any]) -> GroundTruth:
        """Exact neighbours computed on the cluster: each slot takes a range of queries."""
        k = min(MAX_K, len(corpus.train))
        ids_path, dist_path, _ = groundtruth_paths(corpus.fingerprint, k)
        if (ids_path.exists() and dist_path.exists()) or corpus.shipped_truth is not None:
            return ground_truth(corpus)  # cached, or the file's own neighbours checked here
        with making(ids_path):  # a run sharing the cache waits, then reuses this one's
            if ids_path.exists() and dist_path.exists():
                return ground_truth(corpus)
            return self._ground_truth_on_cluster(corpus, spec, k)

    def _ground_truth_on_cluster(self, corpus: Corpus, spec: dict[str, Any], k: int) -> GroundTruth:
        n = len(corpus.queries)
        bounds = [(n * i // self.slots, n * (i + 1) // self.slots) for i in range(self.slots)]
        start = time.perf_counter()
        futures = [
            self.client.submit(
                _ground_truth_part, corpus.name, spec, a, b, k, resources={SLOT: 1}, pure=False
            )
            for a, b in bounds
            if b > a
        ]
        try:
            list(self._as_finished(futures))  # wait, but not for a worker that will never come
        except NoSlotsLeft:
            raise BenchError(
                f"{NO_SLOTS_LEFT} for {self.lost_slots_grace_s:g} s while computing the ground "
                f"truth of {corpus.name}: expected workers started with --resources "
                f'"{SLOT}=1"; start them and run again'
            ) from None
        parts = self.client.gather(futures)
        truth = GroundTruth(
            ids=np.concatenate([p.ids for p in parts]),
            distances=np.concatenate([p.distances for p in parts]),
        )
        store_ground_truth(
            corpus,
            truth,
            {
                **corpus_identity(corpus, k),
                "seconds": time.perf_counter() - start,
                "threads": self.slots,
                "source": f"dask cluster, {len(futures)} parts",
            },
        )
        return truth


def _ground_truth_part(
    name: str, spec: dict[str, Any], start: int, stop: int, k: int
) -> GroundTruth:
    """On a worker: the exact neighbours of queries[start:stop] (the corpus is regenerated
    deterministically or read from a shared cache)."""
    corpus = corpus_from_spec(name, spec)
    return exact_knn(corpus.train, corpus.queries[start:stop], k, corpus.metric)
