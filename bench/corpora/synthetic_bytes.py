"""Seeded clustered uint8/int8 corpora (BIGANN/MSSPACEV-like): a clustered spec plus `dtype`.
Centres uniform 51 values inside the byte range, noise std = spread x theirs; rounded, clipped,
written in chunks (seeds: seed, stream, first row) to .u8bin/.i8bin files DiskANN reads as is."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.config import NonNegativeInt, PositiveInt, PositiveNumber, load, one_of, schema
from bench.corpora.corpus import Corpus
from bench.corpora.formats import open_vectors
from bench.corpora.synthetic import CHUNK_ROWS, SyntheticSpec
from bench.storage import cache_path, cached_bin, fingerprint, release_pages


def _fill(out: np.ndarray, spec: SyntheticSpec, stream: int) -> None:
    low, high = np.iinfo(out.dtype).min, np.iinfo(out.dtype).max
    rng, sigma = np.random.default_rng([spec.seed, 2]), spec.spread * (high - low - 102) / 12**0.5
    centres = rng.uniform(low + 51, high - 51, (spec.clusters, spec.dim)).astype(np.float32)
    for start in range(0, len(out), CHUNK_ROWS):
        rows, seeds = min(CHUNK_ROWS, len(out) - start), [spec.seed, stream, start]
        pick, noise = map(np.random.default_rng, np.random.SeedSequence(seeds).spawn(2))
        block = noise.standard_normal((rows, spec.dim), np.float32) * np.float32(sigma)
        block += centres[pick.integers(0, spec.clusters, rows)]
        out[start : start + rows] = np.clip(np.rint(block, out=block), low, high, block)
        release_pages(out[start : start + rows])


@schema
class ByteSpec:
    """A `kind: synthetic-bytes` dataset: a clustered spec in uint8 or int8 (no angular)."""

    n: PositiveInt
    dim: PositiveInt
    dtype: one_of(("uint8", "int8")) = "uint8"  # type: ignore[valid-type]
    queries: PositiveInt = 1000
    metric: one_of(("euclidean", "inner_product")) = "euclidean"  # type: ignore[valid-type]
    seed: NonNegativeInt = 0
    clusters: PositiveInt = 32
    spread: PositiveNumber = 0.25


def corpus_from_params(name: str, params: dict[str, Any]) -> Corpus:
    """The `kind: synthetic-bytes` corpus kind: `dtype` (uint8, int8) and a clustered spec."""
    dtype = load(ByteSpec, params, f"dataset {name!r}").dtype
    rest = {k: v for k, v in params.items() if k != "dtype"}
    spec = SyntheticSpec(**rest, distribution="clustered")
    key, fmt, arrays = fingerprint("synthetic-bytes", 1, dtype, vars(spec)), f"{dtype[0]}8bin", []
    for stream, rows in ((0, spec.n), (1, spec.queries)):
        path = cache_path("synthetic", f"{key}-{stream}", f".{fmt}")
        cached_bin(path, (rows, spec.dim), dtype, lambda out, s=stream: _fill(out, spec, s))
        arrays.append(open_vectors(path, fmt).data)
    return Corpus(name, *arrays, spec.metric, key, info={"kind": "synthetic-bytes", **params})
