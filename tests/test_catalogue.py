"""The named-dataset catalogue: entries, offline random-* sets, resolution by name and path."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from bench.catalogue.entries import catalogue, named
from bench.catalogue.local import status
from bench.catalogue.resolve import path_spec
from bench.corpora.formats import write_ann_hdf5, write_vectors
from bench.corpora.registry import dataset_spec, load_corpus
from bench.errors import BenchError


def test_catalogue_lists_the_public_float_sets() -> None:
    entries = catalogue()
    families = {e.family for e in entries.values()}
    assert families == {"ann-benchmarks", "big-ann-benchmarks"}
    assert len(entries) >= 15
    for name in ("glove-100-angular", "sift-128-euclidean", "gist-960-euclidean", "bigann-10M"):
        assert name in entries
    assert named("lastfm-64-dot").metric == "inner_product"
    assert named("text2image-10M").metric == "inner_product"
    crop = named("bigann-100M").remotes[0]
    assert crop.prefix_rows == 100_000_000 and crop.size == 8 + 100_000_000 * 128
    assert named("sift-128-euclidean").remotes[0].url == (
        "https://ann-benchmarks.com/sift-128-euclidean.hdf5"
    )


def test_random_set_generated_offline_with_the_recipe(bench_env: Path) -> None:
    entry = named("random-xs-20-euclidean")
    assert status(entry).text.startswith("not generated")
    corpus = load_corpus("random-xs-20-euclidean")  # resolves through the catalogue
    assert status(entry).text == "generated"
    assert corpus.train.shape == (9000, 20) and corpus.queries.shape == (1000, 20)
    assert corpus.metric == "euclidean" and corpus.shipped_truth is not None
    from sklearn.datasets import make_blobs

    blobs, _ = make_blobs(n_samples=10000, n_features=20, centers=100, random_state=1)
    rows = {tuple(np.round(r, 4)) for r in blobs.astype(np.float32)[:200]}
    found = {tuple(np.round(r, 4)) for r in np.asarray(corpus.train)}
    assert len(rows & found) > 150  # the recipe's rows, 90 % of them in train
    truth = corpus.shipped_truth
    assert truth.k == 100 and truth.ids[0, 0] != truth.ids[0, 1]


def test_named_spec_and_unknown_name(bench_env: Path) -> None:
    assert dataset_spec("glove-25-angular") == {"kind": "named", "name": "glove-25-angular"}
    with pytest.raises(BenchError, match="named dataset"):
        dataset_spec("no-such-dataset")


def test_vector_file_paths_resolve_by_suffix(tmp_path: Path, rng: np.random.Generator) -> None:
    train = rng.standard_normal((300, 8)).astype(np.float32)
    queries = rng.standard_normal((20, 8)).astype(np.float32)
    write_vectors(tmp_path / "sift_base.fvecs", train)
    write_vectors(tmp_path / "sift_query.fvecs", queries)
    spec = dataset_spec(str(tmp_path / "sift_base.fvecs"))
    assert spec["format"] == "fvecs" and spec["queries"].endswith("sift_query.fvecs")
    write_vectors(tmp_path / "lonely.npy", train)
    with pytest.raises(BenchError, match="no query file"):
        path_spec(tmp_path / "lonely.npy")
    ids = np.tile(np.arange(10), (20, 1))
    write_ann_hdf5(tmp_path / "x.hdf5", train, queries, ids, ids.astype(float), "euclidean")
    assert dataset_spec(str(tmp_path / "x.hdf5"))["format"] == "hdf5"


def test_dot_overrides_the_files_angular_attribute(bench_env: Path, tmp_path: Path) -> None:
    from bench.corpora.files import file_corpus

    rng = np.random.default_rng(0)
    train = rng.standard_normal((200, 4)).astype(np.float32)
    path = tmp_path / "dot.hdf5"
    ids = np.tile(np.arange(10), (5, 1))
    write_ann_hdf5(path, train, train[:5], ids, ids.astype(float), "angular")
    with h5py.File(path) as handle:
        assert handle.attrs["distance"] == "angular"
    corpus = file_corpus("dot", {"path": str(path), "metric": "inner_product",
                                 "override_distance": True})  # fmt: skip
    assert corpus.metric == "inner_product"
    assert np.array_equal(np.asarray(corpus.train), train)  # not normalised
    with pytest.raises(BenchError, match="expected metric 'angular'"):
        file_corpus("dot", {"path": str(path), "metric": "inner_product"})


def test_set_and_inline_grids_override_the_named_grid(bench_env: Path) -> None:
    from bench.backends.registry import get_algorithm
    from bench.runner.adhoc import adhoc_suite, apply_sets, grids_for
    from bench.runner.suite import suite_from_dict

    suite = apply_sets(adhoc_suite("tiny-euclidean", ("hnswlib",)), ("hnswlib.M=8,32",))
    builds, queries = grids_for(suite, get_algorithm("hnswlib"))
    assert [b["M"] for b in builds] == [8, 32]
    assert [q["ef"] for q in queries] == [10, 20, 40, 80, 160, 320]  # the quick grid's
    inline = {"hnswlib": {"build": {"M": [12], "ef_construction": [40]}, "query": {"ef": [7]}}}
    suite = suite_from_dict("s", {"datasets": ["tiny-euclidean"], "grids": inline})
    assert grids_for(suite, get_algorithm("hnswlib")) == (
        [{"M": 12, "ef_construction": 40}],
        [{"ef": 7}],
    )
    with pytest.raises(BenchError, match=r"no parameter 'Q'.*expected one of M, ef"):
        apply_sets(suite, ("hnswlib.Q=1",))
    with pytest.raises(BenchError, match=r"ALGORITHM.PARAM=V1,V2"):
        apply_sets(suite, ("hnswlib=1",))


def test_adhoc_run_on_a_named_dataset_without_yaml(bench_env: Path) -> None:
    from click.testing import CliRunner

    from bench.cli import cli

    args = [
        "run", "--dataset", "random-xs-20-euclidean", "--algorithms", "hnswlib",
        "--set", "hnswlib.M=8", "--set", "hnswlib.ef=10,20", "--no-plot",
        "--results", str(bench_env / "results"),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    import pandas as pd

    frame = pd.read_csv(bench_env / "results" / "random-xs-20-euclidean" / "results.csv")
    assert set(frame["status"]) == {"ok"}
    assert set(frame["query_params"]) == {'{"ef": 10}', '{"ef": 20}'}
    assert (frame["recall"] > 0.8).all() and not list(bench_env.glob("datasets/random*"))
