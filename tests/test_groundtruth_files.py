"""A ground-truth file is checked on every query when that is cheap, and its ids are never
cached as the exact ground truth of the same vectors without the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.corpora.formats import write_vectors
from bench.corpora.registry import load_corpus
from bench.errors import BenchError
from bench.groundtruth import file_truth
from bench.groundtruth.cache import ground_truth
from bench.groundtruth.exact import exact_knn
from bench.groundtruth.file_truth import CHECK_SAMPLE, check_ground_truth

N_TRAIN, N_QUERIES, DIM, K = 1000, 200, 16, 100


@pytest.fixture(autouse=True)
def own_cache(bench_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache of each test's own: what one test caches cannot hide another's defect."""
    monkeypatch.setenv("BENCH_CACHE", str(bench_env / "cache"))


def split_dataset(root: Path, name: str, truth_ids: np.ndarray | None) -> None:
    """DATASETS/NAME.yaml over root/base.fvecs and root/query.fvecs (written once), with
    root/NAME.ivecs as its ground truth when `truth_ids` is given."""
    rng = np.random.default_rng(5)
    base, query = root / "base.fvecs", root / "query.fvecs"
    if not base.exists():
        write_vectors(base, rng.standard_normal((N_TRAIN, DIM)).astype(np.float32))
        write_vectors(query, rng.standard_normal((N_QUERIES, DIM)).astype(np.float32))
    spec = {"kind": "file", "train": str(base), "queries": str(query), "metric": "euclidean"}
    if truth_ids is not None:
        write_vectors(root / f"{name}.ivecs", truth_ids.astype(np.int32))
        spec["ground_truth"] = str(root / f"{name}.ivecs")
    (root / "datasets" / f"{name}.yaml").write_text(yaml.safe_dump(spec))


def exact_and_farthest(root: Path) -> tuple[np.ndarray, np.ndarray]:
    split_dataset(root, "none", None)
    corpus = load_corpus("none")
    exact = exact_knn(corpus.train, corpus.queries, K, "euclidean").ids
    farthest = exact_knn(corpus.train, -corpus.queries, K, "inner_product").ids  # far side
    return exact, farthest


def test_a_file_wrong_outside_the_old_sample_is_refused(bench_env: Path) -> None:
    """Right on the 20 queries the old check sampled, the farthest points elsewhere."""
    exact, farthest = exact_and_farthest(bench_env)
    sampled = np.random.default_rng(0).choice(N_QUERIES, 20, replace=False)
    ids = farthest.copy()
    ids[sampled] = exact[sampled]
    split_dataset(bench_env, "far", ids)
    with pytest.raises(BenchError) as error:
        ground_truth(load_corpus("far"))
    message = str(error.value)
    assert "\n" not in message and "far.ivecs" in message
    assert "disagrees with exact search on 180 of the 200 checked queries (all 200" in message
    assert "expected at least 99%" in message


def test_a_file_checked_on_every_query_gives_way_to_exact_search(bench_env: Path) -> None:
    """One query wrong of 200 passes the 99 % check; as every query was checked (exact
    search is cheap here), the exact neighbours score the run, not the file's."""
    exact, farthest = exact_and_farthest(bench_env)
    ids = exact.copy()
    ids[8] = farthest[8]
    split_dataset(bench_env, "almost", ids)
    assert np.array_equal(ground_truth(load_corpus("almost")).ids, exact)


def test_file_ids_are_never_cached_as_the_exact_ground_truth(
    bench_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the budget (a large corpus: only a sample is checked) a file that passes the check
    is used for its own dataset; the same vectors without `ground_truth` get exact neighbours,
    before and after."""
    monkeypatch.setattr(file_truth, "CHECK_BUDGET", 0)
    exact, farthest = exact_and_farthest(bench_env)
    ids = exact.copy()
    ids[8] = farthest[8]
    split_dataset(bench_env, "almost", ids)
    adopted = ground_truth(load_corpus("almost"))
    assert set(adopted.ids[8]) == set(farthest[8]), "the file's ids were adopted"
    without = ground_truth(load_corpus("none"))
    assert np.array_equal(without.ids, exact)
    assert np.array_equal(ground_truth(load_corpus("almost")).ids, adopted.ids)


def test_large_corpora_check_a_sample_of_queries(bench_env: Path) -> None:
    """Past the budget, CHECK_SAMPLE random queries are checked, and the result says so."""
    exact, _ = exact_and_farthest(bench_env)
    corpus = load_corpus("none")
    every = check_ground_truth(corpus, exact)
    assert (every.checked, every.share, every.what) == (N_QUERIES, 1.0, "all 200 queries")
    sampled = check_ground_truth(corpus, exact, budget=0)
    assert sampled.checked == CHECK_SAMPLE and sampled.share == 1.0
    assert sampled.what == f"a random sample of {CHECK_SAMPLE} of {N_QUERIES} queries"
