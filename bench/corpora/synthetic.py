"""Seeded synthetic corpora, generated in chunks straight into memory-mapped `.npy` files.

Every chunk draws from its own seed (spec seed, stream, chunk index), so the vectors are the
same whatever the machine, and the queries (a separate stream) come from the same
distribution as the train set but are never in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from bench.config import (
    NonNegativeInt,
    PositiveInt,
    PositiveNumber,
    load,
    number,
    one_of,
    schema,
)
from bench.corpora.corpus import METRICS, Corpus
from bench.storage import cache_path, cached_npy, fingerprint

GENERATOR_VERSION = 1
CHUNK_ROWS = 65536
TRAIN_STREAM, QUERY_STREAM, MODEL_STREAM = 0, 1, 2
DISTRIBUTIONS = ("uniform", "gaussian", "clustered", "lowdim")


@schema
class SyntheticSpec:
    """A `kind: synthetic` dataset: every field checked on construction (BenchError)."""

    distribution: one_of(DISTRIBUTIONS)  # type: ignore[valid-type]
    n: PositiveInt
    dim: PositiveInt
    queries: PositiveInt = 1000
    metric: one_of(METRICS) = "euclidean"  # type: ignore[valid-type]
    seed: NonNegativeInt = 0
    clusters: PositiveInt = 32  # clustered: number of mixture components
    spread: PositiveNumber = 0.25  # clustered: within-cluster std relative to the centres' spread
    intrinsic_dim: PositiveInt = 8  # lowdim: dimension of the latent space
    noise: number(minimum=0) = 0.01  # type: ignore[valid-type]  # lowdim: isotropic noise


def _rng(spec: SyntheticSpec, stream: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([spec.seed, stream, chunk]))


def _model(spec: SyntheticSpec) -> dict[str, np.ndarray]:
    """Parameters shared by all chunks: cluster centres or the low-dimensional embedding."""
    rng = _rng(spec, MODEL_STREAM, 0)
    if spec.distribution == "clustered":
        return {"centres": rng.standard_normal((spec.clusters, spec.dim), dtype=np.float32)}
    if spec.distribution == "lowdim":
        m = min(spec.intrinsic_dim, spec.dim)
        basis, _ = np.linalg.qr(rng.standard_normal((spec.dim, m)))
        return {"basis": basis.T.astype(np.float32)}
    return {}


def _draw(
    spec: SyntheticSpec, model: dict[str, np.ndarray], rng: np.random.Generator, rows: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """`rows` vectors (and cluster labels for the clustered distribution)."""
    if spec.distribution == "uniform":
        return rng.random((rows, spec.dim), dtype=np.float32), None
    if spec.distribution == "gaussian":
        return rng.standard_normal((rows, spec.dim), dtype=np.float32), None
    if spec.distribution == "clustered":
        labels = rng.integers(0, spec.clusters, rows)
        noise = rng.standard_normal((rows, spec.dim), dtype=np.float32) * np.float32(spec.spread)
        return model["centres"][labels] + noise, labels
    basis = model["basis"]
    latent = rng.standard_normal((rows, basis.shape[0]), dtype=np.float32)
    noise = rng.standard_normal((rows, spec.dim), dtype=np.float32) * np.float32(spec.noise)
    return latent @ basis + noise, None


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """`vectors` scaled in place to unit length; a zero draw becomes the first unit vector.

    A zero row has no direction, and the angular metric refuses it (`check_matrix`): rare,
    but a one-dimensional uniform draw is exactly 0.0 once in 2**24 rows."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    zero = norms[:, 0] == 0
    vectors[zero, 0], norms[zero] = 1.0, 1.0
    vectors /= np.maximum(norms, 1e-12)
    return vectors


def _filler(spec: SyntheticSpec, stream: int) -> Callable[[np.ndarray], None]:
    model = _model(spec)

    def fill(out: np.ndarray) -> None:
        for chunk, start in enumerate(range(0, len(out), CHUNK_ROWS)):
            rows = min(CHUNK_ROWS, len(out) - start)
            vectors, _ = _draw(spec, model, _rng(spec, stream, chunk), rows)
            out[start : start + rows] = unit_rows(vectors) if spec.metric == "angular" else vectors

    return fill


def _labels(spec: SyntheticSpec, stream: int, count: int) -> np.ndarray:
    """Cluster labels, regenerated cheaply: they are each chunk's first draw in `_draw`."""
    labels = np.empty(count, dtype=np.int64)
    for chunk, start in enumerate(range(0, count, CHUNK_ROWS)):
        rows = min(CHUNK_ROWS, count - start)
        labels[start : start + rows] = _rng(spec, stream, chunk).integers(0, spec.clusters, rows)
    return labels


def synthetic_corpus(name: str, spec: SyntheticSpec) -> Corpus:
    """Generate (once) and memory-map the corpus described by `spec`."""
    key = fingerprint("synthetic", GENERATOR_VERSION, asdict(spec))
    arrays = {}
    for role, stream, rows in (
        ("train", TRAIN_STREAM, spec.n),
        ("queries", QUERY_STREAM, spec.queries),
    ):
        path = cache_path("synthetic", f"{key}-{role}", ".npy")
        arrays[role] = cached_npy(path, (rows, spec.dim), np.float32, _filler(spec, stream))
    clustered = spec.distribution == "clustered"
    return Corpus(
        name=name,
        train=arrays["train"],
        queries=arrays["queries"],
        metric=spec.metric,
        fingerprint=key,
        train_labels=_labels(spec, TRAIN_STREAM, spec.n) if clustered else None,
        query_labels=_labels(spec, QUERY_STREAM, spec.queries) if clustered else None,
        info={"kind": "synthetic", **asdict(spec)},
    )


def corpus_from_params(name: str, params: dict[str, Any]) -> Corpus:
    """The `kind: synthetic` entry of the corpus kinds table."""
    return synthetic_corpus(name, load(SyntheticSpec, params, f"dataset {name!r}"))
