"""Turn a job's worker records into schema rows (identity + job + measures)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from bench.corpora.corpus import Corpus
from bench.metrics.spread import NOISY_CV, cv, median_interval
from bench.results.schema import empty_row
from bench.runner.isolation import Outcome
from bench.runner.job import Job
from bench.runner.plan import Unavailable, params_label


def corpus_columns(corpus: Corpus) -> dict[str, Any]:
    return {
        "corpus_fingerprint": corpus.fingerprint,
        "n_train": len(corpus.train),
        "dim": corpus.dim,
        "metric": corpus.metric,
    }


def job_columns(job: Job, corpus: Corpus) -> dict[str, Any]:
    return {
        **corpus_columns(corpus),
        "job_id": job.job_id,
        "corpus": job.corpus,
        "n_queries": job.query_limit,
        "backend": job.library,
        "algorithm": job.algorithm,
        "library_version": job.library_version,
        "build_params": job.build_params,
        "k": job.k,
    }


MEASURES = (
    "mode",
    "threads",
    "repetition",
    "recall",
    "recall_rel",
    "qps",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "precision_at_k",
    "map_at_k",
    "build_s",
    "build_cpu_s",
    "build_threads",
    "index_bytes",
    "peak_rss_bytes",
    "warmup_queries",
    "answers",
    "answers_hash",
    "min_time_s",
    "passes",
    "timed_s",
    "sequence",
    "answers_stable",
    "pinned_cpu",
    "wall_s",
    "cpu_per_wall",
    "other_cpu_s",
    "load_1m",
)


def add_point_spread(rows: list[dict[str, Any]]) -> None:
    """Write each point's QPS spread (CV, interval of the median, noisy) on all its rows.

    A point is one (query params, mode) of a job; its repetitions are the ok rows."""
    points: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["status"] == "ok":
            points[(json.dumps(row["query_params"], sort_keys=True), row["mode"])].append(row)
    for members in points.values():
        qps = [row["qps"] for row in members]
        spread = cv(qps)
        low, high = median_interval(qps)
        for row in members:
            row["qps_cv"] = None if spread != spread else spread
            row["qps_ci_low"], row["qps_ci_high"] = low, high
            row["noisy"] = int(spread > NOISY_CV)


def outcome_rows(
    identity: dict[str, Any], job: Job, corpus: Corpus, outcome: Outcome
) -> list[dict[str, Any]]:
    """One row per observation, plus one row with the status when the job did not finish."""
    base = {**empty_row(), **identity, **job_columns(job, corpus)}
    rows = []
    build: dict[str, Any] = {}
    for record in outcome.records:
        if record["event"] == "build":
            build = record
            continue
        rows.append(
            {
                **base,
                **{key: record.get(key) for key in MEASURES},
                "query_params": record["query_params"],
                "status": "ok",
                "label": params_label(job.build_params, record["query_params"]),
            }
        )
    if outcome.status != "ok":
        rows.append(
            {
                **base,
                **{key: build.get(key) for key in MEASURES if key in build},
                "peak_rss_bytes": max(outcome.peak_rss_bytes, build.get("peak_rss_bytes", 0)),
                "query_params": {},
                "status": outcome.status,
                "error": outcome.error,
                "label": params_label(job.build_params, {}),
            }
        )
    add_point_spread(rows)
    return rows


def unavailable_row(
    identity: dict[str, Any], item: Unavailable, corpus: Corpus, k: int
) -> dict[str, Any]:
    return {
        **empty_row(),
        **identity,
        **corpus_columns(corpus),
        "job_id": item.job_id,
        "corpus": item.corpus,
        "n_queries": len(corpus.queries),
        "backend": item.algorithm.library,
        "algorithm": item.algorithm.name,
        "build_params": {},
        "query_params": {},
        "label": "-",
        "k": k,
        "status": "unavailable",
        "error": item.reason,
    }
