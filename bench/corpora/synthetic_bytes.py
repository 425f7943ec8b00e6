"""Seeded clustered uint8/int8 corpora (BIGANN/MSSPACEV-like): a clustered spec plus `dtype`.
Centres uniform 51 values inside the byte range, noise std = spread x theirs; rounded, clipped,
written in chunks (seeds: seed, stream, first row) to .u8bin/.i8bin files DiskANN reads as is."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.corpora.corpus import Corpus
from bench.corpora.formats import open_vectors
from bench.corpora.synthetic import CHUNK_ROWS, SyntheticSpec
from bench.errors import BenchError
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


def corpus_from_params(name: str, params: dict[str, Any]) -> Corpus:
    """The `kind: synthetic-bytes` corpus kind: `dtype` (uint8, int8) and a clustered spec."""
    dtype, rest = params.get("dtype", "uint8"), {k: v for k, v in params.items() if k != "dtype"}
    try:
        spec = SyntheticSpec(**rest, distribution="clustered")
    except TypeError as exc:
        raise BenchError(f"dataset {name!r}: bad synthetic-bytes parameters: {exc}") from exc
    if dtype not in ("uint8", "int8") or spec.metric == "angular":
        bad = f"dataset {name!r}: synthetic-bytes dtype={dtype!r} metric={spec.metric!r}"
        raise BenchError(f"{bad}: expected dtype uint8 or int8, metric euclidean or inner_product")
    key, fmt, arrays = fingerprint("synthetic-bytes", 1, dtype, vars(spec)), f"{dtype[0]}8bin", []
    for stream, rows in ((0, spec.n), (1, spec.queries)):
        path = cache_path("synthetic", f"{key}-{stream}", f".{fmt}")
        cached_bin(path, (rows, spec.dim), dtype, lambda out, s=stream: _fill(out, spec, s))
        arrays.append(open_vectors(path, fmt).data)
    return Corpus(name, *arrays, spec.metric, key, info={"kind": "synthetic-bytes", **params})
