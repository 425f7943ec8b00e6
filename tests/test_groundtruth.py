"""Exact ground truth equals scikit-learn's brute force, blocked or not."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from bench.corpora.corpus import normalize_rows
from bench.errors import BenchError
from bench.groundtruth.cache import ground_truth
from bench.groundtruth.exact import exact_knn


@pytest.mark.parametrize("metric", ["euclidean", "angular"])
def test_equals_sklearn_brute_force(metric: str, rng: np.random.Generator) -> None:
    train = rng.standard_normal((3000, 20), dtype=np.float32)
    queries = rng.standard_normal((50, 20), dtype=np.float32)
    if metric == "angular":
        train, queries = normalize_rows(train), normalize_rows(queries)
    sk_metric = "euclidean" if metric == "euclidean" else "cosine"
    nn = NearestNeighbors(algorithm="brute", metric=sk_metric).fit(train)
    expected_dist, expected_ids = nn.kneighbors(queries, 10)
    truth = exact_knn(train, queries, 10, metric, query_block=16, train_block=700)
    assert np.array_equal(truth.ids, expected_ids)
    np.testing.assert_allclose(truth.distances, expected_dist, rtol=1e-4, atol=1e-4)


def test_inner_product_equals_numpy(rng: np.random.Generator) -> None:
    train = rng.standard_normal((1000, 8), dtype=np.float32)
    queries = rng.standard_normal((20, 8), dtype=np.float32)
    truth = exact_knn(train, queries, 5, "inner_product", train_block=300)
    products = queries.astype(np.float64) @ train.T.astype(np.float64)
    expected = np.argsort(-products, axis=1)[:, :5]
    assert np.array_equal(truth.ids, expected)
    np.testing.assert_allclose(truth.distances, np.sort(-products, axis=1)[:, :5], rtol=1e-5)


def test_k_larger_than_corpus_is_a_clear_error(rng: np.random.Generator) -> None:
    train = rng.standard_normal((5, 4), dtype=np.float32)
    with pytest.raises(BenchError, match="k=6 is not possible: expected 1 <= k <= 5"):
        exact_knn(train, train, 6, "euclidean")


def test_cached_by_fingerprint(tiny_corpus, cache_dir) -> None:
    first = ground_truth(tiny_corpus)
    files = sorted((cache_dir / "groundtruth").glob(f"{tiny_corpus.fingerprint}*"))
    assert len(files) == 2
    mtimes = [f.stat().st_mtime_ns for f in files]
    second = ground_truth(tiny_corpus)
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert np.array_equal(first.ids, second.ids)
    assert first.k == 100
