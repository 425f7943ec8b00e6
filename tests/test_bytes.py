"""Byte corpora end to end: generation, reading, exact ground truth, block-built adapters."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bench.backends.base import require_memory, row_blocks
from bench.backends.registry import get_algorithm
from bench.corpora.corpus import Corpus
from bench.corpora.formats import open_vectors
from bench.corpora.registry import corpus_from_spec
from bench.errors import BenchError
from bench.groundtruth.exact import exact_knn
from bench.metrics.recall import recall_per_query
from bench.report.scaling import plot_scaling
from bench.results.store import read_results
from bench.runner.run import run_suite
from bench.runner.suite import Suite
from bench.storage import release_pages

HAS_DISKANN = importlib.util.find_spec("diskannpy") is not None


def byte_spec(n: int, dtype: str = "uint8", **extra: object) -> dict:
    spec = {"kind": "synthetic-bytes", "dtype": dtype, "n": n, "dim": 16, "queries": 50}
    return {**spec, "clusters": 8, "spread": 0.5, "seed": 7, **extra}


def test_byte_corpus_is_a_u8bin_file_and_smaller_sizes_are_prefixes(bench_env: Path) -> None:
    large = corpus_from_spec("b", byte_spec(70_000))  # more than one generation chunk
    small = corpus_from_spec("b", byte_spec(66_000))
    assert large.train.dtype == np.uint8 and large.train.shape == (70_000, 16)
    assert np.array_equal(small.train, large.train[:66_000])
    assert np.array_equal(small.queries, large.queries)
    with open_vectors(Path(large.train.filename)) as source:  # the format table's reader
        assert source.format == "u8bin" and np.array_equal(source.read(0, 10), large.train[:10])
    assert large.train.std() > 0 and large.info["dtype"] == "uint8"
    signed = corpus_from_spec("s", byte_spec(2000, "int8"))
    assert signed.train.dtype == np.int8 and signed.train.min() < 0 < signed.train.max()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dtype": "float16"}, "dtype='float16': expected one of uint8, int8"),
        ({"metric": "angular"}, "metric='angular': expected one of euclidean, inner_product"),
        ({"colour": "red"}, "unknown key 'colour': expected one of n, dim, dtype"),
        ({"n": 0}, "positive integer"),
    ],
)
def test_bad_byte_specs_are_refused(bench_env: Path, change: dict, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        corpus_from_spec("bad", {**byte_spec(100), **change})


def test_corpus_holds_bytes_but_not_mixed_dtypes() -> None:
    train = np.zeros((10, 4), np.uint8)
    assert Corpus("ok", train, train[:2], "euclidean", "f").train.dtype == np.uint8
    with pytest.raises(BenchError, match="dtype uint8, got float32"):
        Corpus("mixed", train, np.zeros((2, 4), np.float32), "euclidean", "f")
    with pytest.raises(BenchError, match="expected dtype float32, got int16"):
        Corpus("wide", train.astype(np.int16), train[:2].astype(np.int16), "euclidean", "f")


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_exact_ground_truth_on_a_byte_memory_map_matches_float64(
    bench_env: Path, dtype: str
) -> None:
    corpus = corpus_from_spec("gt", byte_spec(5000, dtype, dim=128))
    truth = exact_knn(corpus.train, corpus.queries, 10, "euclidean", train_block=1000, threads=2)
    x, q = np.asarray(corpus.train, np.float64), np.asarray(corpus.queries, np.float64)
    squared = (q**2).sum(1)[:, None] - 2 * q @ x.T + (x**2).sum(1)[None, :]
    expected = np.sqrt(np.sort(squared, axis=1)[:, :10])
    assert np.array_equal(truth.distances, expected.astype(np.float32))  # integer-exact
    chosen = np.take_along_axis(squared, truth.ids, axis=1)
    assert np.array_equal(np.sqrt(chosen), expected)


def rss_file_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssFile")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_released_pages_leave_the_resident_set(tmp_path: Path) -> None:
    path = tmp_path / "data.npy"
    np.save(path, np.ones((4096, 4096), np.uint8))  # 16 MiB
    data = np.load(path, mmap_mode="r")
    before = rss_file_bytes()
    assert int(data.sum(dtype=np.int64)) == 4096 * 4096  # touches every page
    touched = rss_file_bytes()
    release_pages(data)
    assert touched - before > 12 * 2**20
    assert rss_file_bytes() - before < 2 * 2**20
    assert int(data[-1].sum()) == 4096  # still readable after the release


def test_row_blocks_convert_and_cover_every_row() -> None:
    data = np.arange(3 * 1000 * 8, dtype=np.int64).reshape(-1, 8).astype(np.uint8)
    starts, blocks = zip(*row_blocks(data), strict=True)
    assert starts[0] == 0 and all(block.dtype == np.float32 for block in blocks)
    assert np.array_equal(np.concatenate(blocks), data.astype(np.float32))


def test_an_index_that_cannot_fit_is_refused_before_building() -> None:
    with pytest.raises(MemoryError, match=r"needs about .* GiB, expected at most"):
        require_memory(2**60, "an index")


BLOCK_ALGORITHMS = [
    ("faiss-ivf-blocks", 0.95),
    ("faiss-ivfpq-ooc", 0.3),
    ("faiss-ivfsq-ooc", 0.9),
    ("hnswlib-blocks", 0.95),
    ("usearch-i8", 0.95),
    pytest.param(
        "diskann",
        0.9,
        marks=pytest.mark.skipif(not HAS_DISKANN, reason="diskannpy is not installed"),
    ),
]


@pytest.mark.parametrize(("algorithm", "floor"), BLOCK_ALGORITHMS)
def test_block_built_adapters_search_a_byte_corpus(
    bench_env: Path, algorithm: str, floor: float
) -> None:
    corpus = corpus_from_spec("b", byte_spec(6000))
    truth = exact_knn(corpus.train, corpus.queries, 10, "euclidean")
    entry = get_algorithm(algorithm)
    backend = entry.adapter_class()("euclidean", **entry.build_grid("quick")[0])
    backend.set_threads(2)
    backend.fit(corpus.train)
    backend.set_query_params(**entry.query_grid("quick")[-1])
    single = np.array([backend.query(vector, 10) for vector in corpus.queries])
    batch = backend.batch_query(corpus.queries, 10)
    for answers in (single, batch):
        recall = recall_per_query(
            answers, truth.ids, truth.distances, corpus.queries, corpus.train, "euclidean", 10
        )
        assert recall.mean() >= floor, (algorithm, recall.mean())
    assert backend.index_bytes() > 0
    backend.close()


@pytest.mark.skipif(not HAS_DISKANN, reason="diskannpy is not installed")
def test_diskann_reads_a_u8bin_corpus_in_place_and_writes_floats_in_blocks(
    bench_env: Path, tiny_corpus: Corpus
) -> None:
    from bench.backends.diskann import bin_file_of

    corpus = corpus_from_spec("b", byte_spec(3000))
    assert bin_file_of(corpus.train) == Path(corpus.train.filename)
    assert bin_file_of(corpus.train[:100]) is None and bin_file_of(tiny_corpus.train) is None
    entry = get_algorithm("diskann")
    backend = entry.adapter_class()("euclidean", **entry.build_grid("quick")[0])
    backend.set_threads(2)
    backend.fit(tiny_corpus.train)  # float32 .npy: written to a .fbin one block at a time
    backend.set_query_params(L_search=80)
    truth = exact_knn(tiny_corpus.train, tiny_corpus.queries, 10, "euclidean")
    answers = backend.batch_query(tiny_corpus.queries, 10)
    assert (answers[:, 0] == truth.ids[:, 0]).mean() > 0.9
    assert not list(backend.folder.glob("vectors*"))  # the copy is gone after the build
    (codes,) = backend.folder.glob("*_pq_compressed.bin")  # int32 rows, bytes per row, codes
    assert np.fromfile(codes, dtype=np.int32, count=2).tolist() == [len(tiny_corpus.train), 8]
    folder = backend.folder
    backend.close()
    assert not folder.exists()
    with pytest.raises(BenchError, match="expected at most max_train=10"):
        entry.adapter_class()("euclidean", **{**entry.build_grid("quick")[0], "max_train": 10}).fit(
            corpus.train
        )


@pytest.mark.slow
def test_two_size_byte_run_gives_fitted_exponents_per_family(
    bench_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = bench_env / "datasets"
    for name, n in (("u8-3k", 3000), ("u8-12k", 12000)):
        (datasets / f"{name}.yaml").write_text(yaml.safe_dump(byte_spec(n)))
    suite = Suite(
        name="tiny-bytes",
        datasets=("u8-3k", "u8-12k", "tiny-euclidean"),
        algorithms=("faiss-ivf-blocks", "faiss-ivfsq-ooc"),
        grid="quick",
        modes=("single",),
        repetitions=1,
        warmup=5,
        timeout_s=300,
        memory_limit_gb=4,
    )
    monkeypatch.setenv("BENCH_EXTRA_BACKENDS", os.environ["BENCH_EXTRA_BACKENDS"])
    run_dir = bench_env / "run"
    statuses = run_suite(suite, run_dir, show_progress=False)
    assert statuses["ok"] == 6, statuses
    frame = read_results(run_dir)
    assert (frame["peak_rss_bytes"] > 0).all() and (frame["index_bytes"] > 0).all()
    plot_scaling(frame, run_dir)
    fits = pd.read_csv(run_dir / "scaling.csv").set_index(["algorithm", "measure"])
    byte_curve = fits.loc[("faiss-ivfsq-ooc · u8", "bytes_per_vector")]
    assert byte_curve["n_points"] == 2 and np.isfinite(byte_curve["exponent"])
    assert "faiss-ivfsq-ooc" not in {name for name, _ in fits.index}  # tiny-euclidean: 1 size


def test_ivfpq_reranked_from_the_memory_map_finds_what_its_codes_cannot(bench_env: Path) -> None:
    corpus = corpus_from_spec("b", byte_spec(6000))
    assert isinstance(corpus.train, np.memmap)
    truth = exact_knn(corpus.train, corpus.queries, 10, "euclidean")
    entry = get_algorithm("faiss-ivfpq-ooc")
    # 4 bytes of code for 16 dimensions: too coarse to order close neighbours
    backend = entry.adapter_class()("euclidean", **{**entry.build_grid("quick")[0], "m": 4})
    backend.fit(corpus.train)

    def recall(k_factor: int, single: bool) -> float:
        backend.set_query_params(nprobe=64, k_factor=k_factor)
        if single:
            answers = np.array([backend.query(vector, 10) for vector in corpus.queries])
        else:
            answers = backend.batch_query(corpus.queries, 10)
        return recall_per_query(
            answers, truth.ids, truth.distances, corpus.queries, corpus.train, "euclidean", 10
        ).mean()

    codes_only = recall(1, single=False)
    assert codes_only < 0.8
    for single in (True, False):
        assert recall(16, single) > max(0.95, codes_only + 0.2), single
    # nprobe 64 of 64 lists and 6000 candidates: the exact order of the whole corpus (ties
    # of integer distances may swap ids, so the distances are compared)
    backend.set_query_params(nprobe=64, k_factor=600)
    answers = backend.batch_query(corpus.queries, 10)
    train, queries = corpus.train.astype(np.float32), corpus.queries.astype(np.float32)
    found = ((train[answers] - queries[:, None, :]) ** 2).sum(axis=2)
    assert np.allclose(np.sqrt(found), truth.distances[:, :10], rtol=1e-6)
