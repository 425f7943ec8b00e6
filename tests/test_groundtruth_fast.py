"""The screened, blocked exact kNN: edge cases of blocks, thresholds, ties and threads."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from bench.corpora.corpus import normalize_rows
from bench.groundtruth.cache import ground_truth
from bench.groundtruth.exact import exact_knn
from bench.results.rundir import GROUNDTRUTH_COLUMNS, write_groundtruth_csv


def brute_force(
    train: np.ndarray, queries: np.ndarray, k: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Reference in float64: (distances [n, k] sorted, distance matrix [n, N])."""
    x, q = train.astype(np.float64), queries.astype(np.float64)
    if metric == "euclidean":
        full = np.sqrt(np.maximum((q**2).sum(1)[:, None] - 2 * q @ x.T + (x**2).sum(1), 0))
    elif metric == "angular":
        full = 1.0 - q @ x.T
    else:
        full = -(q @ x.T)
    return np.sort(full, axis=1)[:, :k], full


def assert_exact(truth, train, queries, k, metric, atol=1e-4) -> None:
    """Right distances, in order, each id really at its distance, no id twice in a row."""
    expected, full = brute_force(train, queries, k, metric)
    assert truth.ids.shape == truth.distances.shape == (len(queries), k)
    np.testing.assert_allclose(truth.distances, expected, rtol=1e-4, atol=atol)
    own = np.take_along_axis(full, truth.ids, 1)
    np.testing.assert_allclose(own, expected, rtol=1e-4, atol=atol)
    assert all(len(set(row)) == k for row in truth.ids.tolist())


@pytest.mark.parametrize("metric", ["euclidean", "angular", "inner_product"])
@pytest.mark.parametrize(
    ("n", "k", "query_block", "train_block"),
    [
        (3000, 10, 1024, 4096),  # one train chunk narrower than the default
        (3000, 100, 16, 64),  # k wider than a train chunk: no threshold from the first chunk
        (500, 500, 7, 33),  # k == n, query blocks not a multiple of the screening group
        (257, 1, 3, 1),  # one-row train chunks
        (5000, 37, 40, 999),  # ragged last chunk
    ],
)
def test_matches_float64_brute_force(
    metric: str, n: int, k: int, query_block: int, train_block: int, rng: np.random.Generator
) -> None:
    train = rng.standard_normal((n, 12), dtype=np.float32)
    queries = rng.standard_normal((45, 12), dtype=np.float32)
    if metric == "angular":
        train, queries = normalize_rows(train), normalize_rows(queries)
    truth = exact_knn(train, queries, k, metric, query_block=query_block, train_block=train_block)
    assert_exact(truth, train, queries, k, metric)


def test_threads_and_blocks_do_not_change_the_answer(rng: np.random.Generator) -> None:
    train = rng.standard_normal((20000, 32), dtype=np.float32)
    queries = rng.standard_normal((301, 32), dtype=np.float32)
    answers = [
        exact_knn(train, queries, 50, "euclidean", threads=threads, **blocks)
        for threads in (1, 2, 3)
        for blocks in ({}, {"query_block": 64, "train_block": 512})
    ]
    for other in answers[1:]:
        assert np.array_equal(other.ids, answers[0].ids)
        np.testing.assert_allclose(other.distances, answers[0].distances, rtol=1e-5, atol=1e-5)
    assert_exact(answers[0], train, queries, 50, "euclidean", atol=1e-3)


def test_ties_are_kept_and_ordered_by_id(rng: np.random.Generator) -> None:
    """Every row of a small set repeated 4 times, at distance ties: all copies are found."""
    unique = rng.integers(-3, 4, size=(60, 8)).astype(np.float32)
    train = np.concatenate([unique] * 4)
    queries = unique[:20] + 0.25
    truth = exact_knn(train, queries, 8, "euclidean", train_block=50)
    assert_exact(truth, train, queries, 8, "euclidean")
    # Integer data: every score is exact in float32, so ties are true ties, ordered by id.
    for ids, dists in zip(truth.ids, truth.distances, strict=True):
        for value in np.unique(dists):
            same = ids[dists == value]
            assert list(same) == sorted(same)


def test_adversarial_order_still_exact(rng: np.random.Generator) -> None:
    """Train sorted far-to-near for every query: thresholds start loose and keep tightening."""
    train = rng.standard_normal((6000, 16), dtype=np.float32)
    queries = np.zeros((10, 16), dtype=np.float32) + rng.normal(0, 0.01, (10, 16)).astype(
        np.float32
    )
    train = train[np.argsort(-np.linalg.norm(train, axis=1))]
    truth = exact_knn(train, queries, 100, "euclidean", train_block=256)
    assert_exact(truth, train, queries, 100, "euclidean")


def test_memory_mapped_train_and_given_norms(tmp_path: Path, rng: np.random.Generator) -> None:
    train = rng.standard_normal((4000, 24), dtype=np.float32)
    np.save(tmp_path / "train.npy", train)
    mapped = np.load(tmp_path / "train.npy", mmap_mode="r")
    queries = rng.standard_normal((33, 24), dtype=np.float32)
    norms = (train.astype(np.float64) ** 2).sum(1).astype(np.float32)
    truth = exact_knn(mapped, queries, 20, "euclidean", train_sq_norms=norms, train_block=1000)
    assert_exact(truth, train, queries, 20, "euclidean")


def test_one_query(rng: np.random.Generator) -> None:
    train = rng.standard_normal((1000, 8), dtype=np.float32)
    truth = exact_knn(train, train[3:4], 5, "euclidean")
    assert truth.ids[0, 0] == 3
    assert_exact(truth, train, train[3:4], 5, "euclidean")


def test_groundtruth_csv_records_seconds(tiny_corpus, bench_env: Path) -> None:
    ground_truth(tiny_corpus)
    path = write_groundtruth_csv(bench_env / "run", [tiny_corpus])
    path = write_groundtruth_csv(bench_env / "run", [tiny_corpus])  # replaced, not repeated
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    assert tuple(rows[0]) == GROUNDTRUTH_COLUMNS
    row = rows[0]
    assert row["corpus"] == tiny_corpus.name
    assert int(row["n_train"]) == len(tiny_corpus.train)
    assert int(row["k"]) == 100
    # The cache is shared across tests: the timing exists if this code computed it.
    if row["seconds"]:
        assert float(row["seconds"]) > 0
