"""Turn a job's worker records into schema rows (identity + job + measures)."""

from __future__ import annotations

from typing import Any

from bench.corpora.corpus import Corpus
from bench.results.schema import empty_row
from bench.runner.isolation import Outcome
from bench.runner.plan import Job, Unavailable, params_label


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
)


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
