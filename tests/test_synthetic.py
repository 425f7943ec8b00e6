"""Synthetic corpora: seeded, deterministic, memory-mapped, queries held out."""

from dataclasses import replace

import numpy as np
import pytest

from bench.corpora.synthetic import DISTRIBUTIONS, SyntheticSpec, synthetic_corpus
from bench.errors import BenchError


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_deterministic_and_held_out(distribution: str, bench_env, cache_dir) -> None:
    spec = SyntheticSpec(distribution=distribution, n=3000, dim=12, queries=40, seed=7)
    corpus = synthetic_corpus("a", spec)
    assert isinstance(corpus.train, np.memmap)
    assert corpus.train.shape == (3000, 12) and corpus.queries.shape == (40, 12)
    # Regenerate from scratch elsewhere: same bytes.
    for path in (cache_dir / "synthetic").glob(f"{corpus.fingerprint}*"):
        path.unlink()
    again = synthetic_corpus("b", spec)
    assert np.array_equal(np.asarray(corpus.train), np.asarray(again.train))
    # Queries are not copies of train rows, and another seed gives other vectors.
    assert not (corpus.queries[:, None, :] == corpus.train[None, :200, :]).all(-1).any()
    other = synthetic_corpus("c", replace(spec, seed=8))
    assert other.fingerprint != corpus.fingerprint
    assert not np.array_equal(np.asarray(other.train), np.asarray(corpus.train))


def test_clustered_has_labels_and_angular_is_normalised(bench_env) -> None:
    corpus = synthetic_corpus(
        "c", SyntheticSpec("clustered", n=1000, dim=8, queries=10, clusters=5, metric="angular")
    )
    assert corpus.has_labels and set(np.unique(corpus.train_labels)) <= set(range(5))
    np.testing.assert_allclose(np.linalg.norm(corpus.train, axis=1), 1.0, rtol=1e-5)


def test_chunks_cover_large_n_identically(bench_env) -> None:
    spec = SyntheticSpec("gaussian", n=70000, dim=4, queries=5, seed=1)
    corpus = synthetic_corpus("big", spec)
    assert np.isfinite(corpus.train[-1]).all()
    assert not np.array_equal(corpus.train[:10], corpus.train[65536:65546])


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"distribution": "zipf"}, "distribution='zipf': expected one of uniform, gaussian"),
        ({"n": 0}, "n=0: expected a positive integer"),
        ({"metric": "hamming"}, "metric='hamming': expected one of euclidean"),
    ],
)
def test_bad_spec_is_a_clear_error(bad: dict, message: str) -> None:
    params = {"distribution": "gaussian", "n": 10, "dim": 2, **bad}
    with pytest.raises(BenchError, match=message):
        SyntheticSpec(**params)
