"""Vector file formats and file corpora: round trips, clear errors, trustworthy ground truth."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from sklearn.neighbors import NearestNeighbors

from bench import paths
from bench.corpora.corpus import normalize_rows
from bench.corpora.files import load_file_corpus
from bench.corpora.formats import (
    FORMAT_BY_NAME,
    FORMAT_TABLE,
    WRITERS,
    content_fingerprint,
    format_of,
    open_vectors,
    read_ann_hdf5,
    read_ground_truth,
    read_vectors,
    to_float32_npy,
    write_ann_hdf5,
    write_bin_ground_truth,
    write_vectors,
)
from bench.corpora.registry import corpus_from_spec
from bench.errors import BenchError
from bench.groundtruth.exact import exact_knn
from bench.groundtruth.example import write_example
from bench.groundtruth.file_truth import check_ground_truth
from bench.storage import DigestRecord

# Every writable entry of the format table (a new format is tested by adding its entry).
WRITABLE = [entry for entry in FORMAT_TABLE if entry.layout in WRITERS]
FORMAT_DTYPES = {entry.name: entry.dtype or np.dtype(np.float32) for entry in WRITABLE}


def sample_matrix(rng: np.random.Generator, dtype: type, shape: tuple[int, int]) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def write_like_ann_benchmarks(
    path: Path, train: np.ndarray, test: np.ndarray, distance: str, count: int = 20
) -> None:
    """What ann-benchmarks' `write_output` does: attrs, train/test, brute-force neighbours."""
    with h5py.File(path, "w") as f:
        f.attrs["type"] = "dense"
        f.attrs["distance"] = distance
        f.attrs["dimension"] = len(train[0])
        f.attrs["point_type"] = "float"
        f.create_dataset("train", data=train)
        f.create_dataset("test", data=test)
        neighbors_ds = f.create_dataset("neighbors", (len(test), count), dtype=int)
        distances_ds = f.create_dataset("distances", (len(test), count), dtype=float)
        metric = "cosine" if distance == "angular" else "euclidean"
        nn = NearestNeighbors(algorithm="brute", metric=metric).fit(train)
        dist, idx = nn.kneighbors(test, count)  # sorted nearest first, like write_output's rows
        for i in range(len(test)):
            neighbors_ds[i] = idx[i]
            distances_ds[i] = dist[i]


@pytest.fixture
def blobs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.standard_normal((10, 24)) * 3
    points = centres[rng.integers(0, 10, 1100)] + rng.standard_normal((1100, 24))
    return points[:1000].astype(np.float32), points[1000:].astype(np.float32)


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMAT_DTYPES)
def test_round_trip(fmt: str, tmp_path: Path, rng: np.random.Generator) -> None:
    """Every table entry: written, recognised by each of its suffixes, read back identically."""
    entry = FORMAT_BY_NAME[fmt]
    matrix = sample_matrix(rng, FORMAT_DTYPES[fmt], (37, 9))
    assert all(format_of(Path(f"x{suffix}")) == fmt for suffix in entry.suffixes)
    path = tmp_path / f"m{entry.suffixes[0]}"
    write_vectors(path, matrix)
    assert np.array_equal(read_vectors(path), matrix)
    assert np.array_equal(read_vectors(path, start=5, stop=12), matrix[5:12])
    with open_vectors(path) as source:
        assert source.shape == (37, 9) and source.dtype == matrix.dtype
        assert isinstance(source.data, np.memmap)
        as_float = to_float32_npy(source, tmp_path / "f.npy", rows=20)
    assert as_float.dtype == np.float32 and isinstance(as_float, np.memmap)
    assert np.array_equal(as_float, matrix[:20].astype(np.float32))


def test_blocks_cover_every_row(tmp_path: Path, rng: np.random.Generator, monkeypatch) -> None:
    monkeypatch.setattr("bench.corpora.formats.BLOCK_BYTES", 4 * 9 * 10)  # 10 rows per block
    matrix = sample_matrix(rng, np.float32, (95, 9))
    write_vectors(tmp_path / "m.fvecs", matrix)
    with open_vectors(tmp_path / "m.fvecs") as source:
        starts = [start for start, _ in source.blocks()]
        normalised = to_float32_npy(source, tmp_path / "n.npy", normalize=True)
    assert starts == list(range(0, 95, 10))
    np.testing.assert_allclose(normalised, normalize_rows(matrix), rtol=1e-6)


def test_hdf5_round_trip_is_memory_mapped(tmp_path: Path, blobs) -> None:
    train, test = blobs
    truth = exact_knn(train, test, 10, "euclidean")
    write_ann_hdf5(tmp_path / "d.hdf5", train, test, truth.ids, truth.distances, "euclidean")
    with read_ann_hdf5(tmp_path / "d.hdf5") as data:
        assert data.metric == "euclidean"
        assert isinstance(data.train.data, np.memmap)
        assert np.array_equal(data.train.read(), train) and np.array_equal(data.test.read(), test)
        assert data.neighbors.dtype == np.int64 and np.array_equal(data.neighbors, truth.ids)
        assert data.distances.dtype == np.float32


def test_chunked_hdf5_is_read_through_h5py(tmp_path: Path, blobs) -> None:
    train, test = blobs
    with h5py.File(tmp_path / "c.hdf5", "w") as f:
        f.attrs["distance"] = "euclidean"  # an old file: no type, dimension or point_type
        f.create_dataset("train", data=train.astype(np.float64), chunks=(100, 24), compression=4)
        f.create_dataset("test", data=test)
    with read_ann_hdf5(tmp_path / "c.hdf5") as data:
        assert not isinstance(data.train.data, np.ndarray)
        assert np.array_equal(data.train.read(10, 20), train[10:20])
        assert data.neighbors is None


def test_ground_truth_files(tmp_path: Path, rng: np.random.Generator) -> None:
    ids = rng.integers(0, 1000, (30, 10))
    dists = np.sort(rng.random((30, 10), dtype=np.float32), axis=1)
    write_bin_ground_truth(tmp_path / "gt.ibin", ids, dists)
    got_ids, got_dists = read_ground_truth(tmp_path / "gt.ibin")
    assert got_ids.dtype == np.int64 and np.array_equal(got_ids, ids)
    assert np.array_equal(got_dists, dists)
    for fmt in ("ivecs", "ibin", "npy"):
        write_vectors(tmp_path / f"ids.{fmt}", ids.astype(np.int32))
        got_ids, got_dists = read_ground_truth(tmp_path / f"ids.{fmt}")
        assert np.array_equal(got_ids, ids) and got_dists is None
    with pytest.raises(BenchError, match="expected neighbour ids in one of ivecs, ibin, npy"):
        read_ground_truth(tmp_path / "ids.fbin")


def test_truncated_fvecs_is_a_clear_error(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "t.fvecs"
    write_vectors(path, sample_matrix(rng, np.float32, (10, 8)))
    os.truncate(path, path.stat().st_size - 5)
    with pytest.raises(BenchError, match=r"t\.fvecs: 355 bytes is not a whole number of fvecs"):
        open_vectors(path)


def test_truncated_fbin_is_a_clear_error(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "t.fbin"
    write_vectors(path, sample_matrix(rng, np.float32, (10, 8)))
    os.truncate(path, path.stat().st_size - 4)
    with pytest.raises(BenchError, match=r"t\.fbin: header declares 10 rows x 8 .*truncated"):
        open_vectors(path)


def test_wrong_bin_header_is_a_clear_error(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "h.u8bin"
    write_vectors(path, sample_matrix(rng, np.uint8, (10, 8)))
    with open(path, "r+b") as handle:
        handle.seek(4)
        handle.write(np.array([4], dtype="<i4").tobytes())  # dimension 4 instead of 8
    with pytest.raises(BenchError, match=r"header declares 10 rows x 4 .*header's row count"):
        open_vectors(path)
    with open(path, "r+b") as handle:
        handle.write(np.array([-3], dtype="<i4").tobytes())
    with pytest.raises(BenchError, match="expected positive numbers"):
        open_vectors(path)


def test_inconsistent_vecs_dimensions(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "d.ivecs"
    write_vectors(path, sample_matrix(rng, np.int32, (10, 8)))
    with open(path, "r+b") as handle:
        handle.seek(3 * (4 + 8 * 4))  # the dimension field of row 3
        handle.write(np.array([7], dtype="<i4").tobytes())
    with open_vectors(path) as source:  # only the first and last rows are checked on open
        assert np.array_equal(source.read(0, 3), read_vectors(path, stop=3))
        with pytest.raises(BenchError, match="row 3 declares dimension 7, expected 8"):
            source.read()
    with open(path, "r+b") as handle:
        handle.write(np.array([0], dtype="<i4").tobytes())  # first row: dimension 0
    with pytest.raises(BenchError, match="first row declares dimension 0"):
        open_vectors(path)


def test_unknown_suffix_and_bad_npy(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"12345678")
    with pytest.raises(BenchError, match=r"cannot tell the format from the suffix '\.bin'"):
        open_vectors(tmp_path / "x.bin")
    np.save(tmp_path / "one.npy", np.zeros(5))
    with pytest.raises(BenchError, match="found a 1-D float64 array, expected a 2-D"):
        open_vectors(tmp_path / "one.npy")
    with pytest.raises(BenchError, match="vector file not found"):
        open_vectors(tmp_path / "missing.fvecs")


def test_writer_refuses_lossy_integer_casts(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="expected them to fit uint8"):
        write_vectors(tmp_path / "b.bvecs", np.full((2, 3), 300, dtype=np.int64))
    with pytest.raises(BenchError, match="expected integers"):
        write_vectors(tmp_path / "i.ivecs", np.ones((2, 3), dtype=np.float32))
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_content_fingerprint_hashes_every_byte_and_caches_the_digest(
    tmp_path: Path, bench_env, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change in the middle of a 6 MB file (same size, mtime put back) changes the
    fingerprint; the same bytes at another path keep it; the digest is cached by stat."""
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))  # no other test's records
    big = sample_matrix(rng, np.float32, (3 << 16, 8))
    path = tmp_path / "a.fbin"
    write_vectors(path, big)
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / "b.fbin"
    copy.write_bytes(path.read_bytes())
    time.sleep(DigestRecord.SETTLED_NS / 1e9)  # digests of younger files are not kept
    first = content_fingerprint(path)
    assert content_fingerprint(copy) == first  # content only: not the path, mtime or inode
    before = path.stat()
    with open(path, "r+b") as handle:  # one value in the middle, 3 MB from either end
        handle.seek(before.st_size // 2)
        handle.write(np.float32(1e6).tobytes())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    changed = content_fingerprint(path)  # hashed again: its ctime moved (or it is too young)
    time.sleep(DigestRecord.SETTLED_NS / 1e9)
    assert content_fingerprint(path) == changed  # now kept in its record
    assert changed != first
    records = list((paths.cache_dir() / "content-fingerprints").glob("*.json"))
    assert len(records) == 2  # one small record per file, rewritten when the file changes
    kept = [json.loads(record.read_text()) for record in records]  # {path: [stat..., digest]}
    assert sorted(entry[-1] for data in kept for entry in data.values()) == sorted([first, changed])
    for record, data in zip(records, kept, strict=True):  # an unchanged file is not read again
        record.write_text(
            json.dumps({name: [*e[:-1], "from-the-record"] for name, e in data.items()})
        )
    assert content_fingerprint(path) == content_fingerprint(copy) == "from-the-record"


def test_a_wrong_format_is_named_when_the_header_does_not_fit_the_size(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """`format: fbin` on an .fvecs file: the 'header' (16 rows x the first value's bits)
    does not fit the size, and the formats whose layout does are named."""
    vectors = np.abs(sample_matrix(rng, np.float32, (1000, 16))) + 0.5  # positive bits
    path = tmp_path / "base.fvecs"
    write_vectors(path, vectors)
    with pytest.raises(BenchError) as error:
        open_vectors(path, "fbin")
    message = str(error.value)
    assert "\n" not in message
    assert "header declares 16 rows x " in message
    assert "the header does not match the file size; is fbin the wrong format?" in message
    assert "fits the layout of fvecs (its suffix .fvecs), ivecs" in message
    fbin = tmp_path / "base.fbin"
    write_vectors(fbin, vectors)
    fits = r"not a whole number of fvecs rows .* fits the layout of fbin \(its suffix \.fbin\)"
    with pytest.raises(BenchError, match=fits):
        open_vectors(fbin, "fvecs")


# --- file corpora ----------------------------------------------------------------------------


@pytest.mark.parametrize("distance", ["euclidean", "angular"])
def test_ann_benchmarks_file_loads_with_valid_truth(
    distance: str, tmp_path: Path, bench_env, blobs
) -> None:
    train, test = blobs
    path = tmp_path / f"blobs-{distance}.hdf5"
    write_like_ann_benchmarks(path, train, test, distance)
    corpus, truth = load_file_corpus("blobs", {"format": "hdf5", "path": str(path)})
    assert corpus.metric == distance and corpus.train.shape == (1000, 24)
    assert truth is not None and truth.ids.dtype == np.int64 and truth.k == 20
    assert truth.distances is not None and truth.distances.dtype == np.float32
    assert corpus.info["ground_truth"] == "from the file (k=20)"
    if distance == "angular":
        np.testing.assert_allclose(np.linalg.norm(corpus.train, axis=1), 1.0, rtol=1e-5)
    else:
        assert Path(corpus.train.filename) == path  # float32 contiguous: mapped in place
    assert check_ground_truth(corpus, truth.ids).share == 1.0
    exact = exact_knn(corpus.train, corpus.queries, 20, corpus.metric)
    assert (exact.ids == truth.ids).mean() > 0.99
    np.testing.assert_allclose(truth.distances, exact.distances, rtol=1e-3, atol=1e-4)
    again, _ = load_file_corpus("other-name", {"path": str(path), "metric": distance})
    assert again.fingerprint == corpus.fingerprint


def test_a_file_spec_is_validated_once(tmp_path: Path, bench_env, blobs, monkeypatch) -> None:
    """corpus_from_spec leaves the kind's keys to the kind's function: one check, not two."""
    from bench.config import _adapter
    from bench.corpora.registry import FileSpec

    train, test = blobs
    path = tmp_path / "blobs.hdf5"
    write_like_ann_benchmarks(path, train, test, "euclidean")
    adapter, checked = _adapter(FileSpec), []
    validate = adapter.validate_python  # the real check, observed: how often, with what

    def observed(data: dict) -> object:
        checked.append(data)
        return validate(data)

    monkeypatch.setattr(adapter, "validate_python", observed)
    spec = {"kind": "file", "description": "blobs", "path": str(path), "query_limit": 10}
    corpus = corpus_from_spec("blobs", spec)
    assert checked == [{"path": str(path), "query_limit": 10}]
    assert corpus.queries.shape[0] == 10
    with pytest.raises(BenchError, match=r"^dataset 'blobs': unknown key 'pth'"):
        corpus_from_spec("blobs", {"kind": "file", "pth": str(path)})


def test_wrong_neighbours_are_detected(tmp_path: Path, bench_env, blobs) -> None:
    train, test = blobs
    path = tmp_path / "blobs.hdf5"
    write_like_ann_benchmarks(path, train, test, "euclidean")
    with h5py.File(path, "r+") as f:
        neighbors = f["neighbors"][:]
        f["neighbors"][:] = np.roll(neighbors, 1, axis=0)  # each query gets another's answer
    corpus, truth = load_file_corpus("blobs", {"path": str(path)})
    assert check_ground_truth(corpus, truth.ids).share < 0.5
    off_by_one = exact_knn(corpus.train, corpus.queries, 20, "euclidean").ids
    off_by_one[:, 9] = off_by_one[:, 19]  # the 10th neighbour replaced by the 20th
    agreement = check_ground_truth(corpus, off_by_one).share
    assert 0.85 <= agreement < 1.0


def test_limit_drops_file_truth(tmp_path: Path, bench_env, blobs) -> None:
    train, test = blobs
    path = tmp_path / "blobs.hdf5"
    write_like_ann_benchmarks(path, train, test, "euclidean")
    full, _ = load_file_corpus("blobs", {"path": str(path), "query_limit": 40})
    corpus, truth = load_file_corpus("blobs", {"path": str(path), "limit": 600})
    assert truth is None and corpus.train.shape == (600, 24)
    assert corpus.info["ground_truth"].startswith("dropped: limit=600 keeps 600 of the file's 1000")
    assert corpus.fingerprint != full.fingerprint
    _, kept = load_file_corpus("blobs", {"path": str(path), "query_limit": 40})
    assert kept is not None and kept.ids.shape == (40, 20) and full.queries.shape == (40, 24)
    with pytest.raises(BenchError, match=r"limit=5000, but .* holds only 1000 rows"):
        load_file_corpus("blobs", {"path": str(path), "limit": 5000})


def test_split_files_corpus(tmp_path: Path, bench_env, blobs) -> None:
    train, test = blobs
    write_vectors(tmp_path / "base.fvecs", train)
    write_vectors(tmp_path / "query.fvecs", test)
    truth = exact_knn(train, test, 10, "euclidean")
    write_vectors(tmp_path / "gt.ivecs", truth.ids.astype(np.int32))
    spec = {
        "format": "fvecs",
        "train": str(tmp_path / "base.fvecs"),
        "queries": str(tmp_path / "query.fvecs"),
        "ground_truth": str(tmp_path / "gt.ivecs"),
        "metric": "euclidean",
    }
    corpus, file_truth = load_file_corpus("sift-like", spec)
    assert corpus.train.flags.c_contiguous and np.array_equal(corpus.train, train)
    assert np.array_equal(file_truth.ids, truth.ids) and file_truth.distances is None
    assert check_ground_truth(corpus, file_truth.ids).share == 1.0
    limited, dropped = load_file_corpus("sift-like", {**spec, "limit": 500})
    assert dropped is None and len(limited.train) == 500
    assert limited.info["ground_truth"].startswith("dropped")


def test_relative_paths_and_registry(tmp_path: Path, bench_env, rng: np.random.Generator) -> None:
    train = sample_matrix(rng, np.uint8, (300, 16))
    write_vectors(tmp_path / "base.u8bin", train)
    write_vectors(tmp_path / "query.u8bin", train[:10])
    relative = os.path.relpath(tmp_path, paths.PROJECT_ROOT)
    spec = {
        "kind": "file",
        "description": "bytes, compared by angle",
        "train": f"{relative}/base.u8bin",
        "queries": f"{relative}/query.u8bin",
        "metric": "angular",
    }
    corpus = corpus_from_spec("bytes", spec)
    assert corpus.train.dtype == np.float32 and corpus.train.shape == (300, 16)
    np.testing.assert_allclose(corpus.train, normalize_rows(train.astype(np.float32)), rtol=1e-6)


def test_bad_specs_are_clear_errors(tmp_path: Path, bench_env, blobs) -> None:
    train, test = blobs
    path = tmp_path / "j.hdf5"
    write_ann_hdf5(path, train, test, np.zeros((100, 1)), np.zeros((100, 1)), "jaccard")
    with pytest.raises(BenchError, match="'jaccard' is not supported: only dense float metrics"):
        load_file_corpus("j", {"path": str(path)})
    write_ann_hdf5(path, train, test, np.zeros((100, 1)), np.zeros((100, 1)), "angular")
    with pytest.raises(BenchError, match=r"metric 'euclidean', but .* has distance 'angular'"):
        load_file_corpus("j", {"path": str(path), "metric": "euclidean"})
    with pytest.raises(BenchError, match="unknown key 'trian'"):
        load_file_corpus("j", {"trian": "x", "metric": "euclidean"})
    with pytest.raises(BenchError, match="file not found"):
        load_file_corpus("j", {"path": str(tmp_path / "missing.hdf5")})
    with pytest.raises(BenchError, match="limit=0: expected a positive integer"):
        load_file_corpus("j", {"path": str(path), "limit": 0})
    bad_ids = np.full((100, 5), 1000)  # one past the last train row
    write_ann_hdf5(path, train, test, bad_ids, np.zeros((100, 5)), "euclidean")
    with pytest.raises(BenchError, match=r"ids span \[1000, 1000\], expected .* \[0, 1000\)"):
        load_file_corpus("j", {"path": str(path)})


def test_example_spec_loads(tmp_path: Path, bench_env) -> None:
    spec = yaml.safe_load((paths.PROJECT_ROOT / "datasets" / "example-file.yaml").read_text())
    assert spec["kind"] == "file"
    spec["path"] = str(write_example(tmp_path / "example.hdf5"))
    assert corpus_from_spec("example-file", spec).info["path"] == spec["path"]
    corpus, truth = load_file_corpus("example-file", spec)
    assert len(corpus.queries) == spec["query_limit"] and truth.k == 100
    assert check_ground_truth(corpus, truth.ids).share == 1.0


def test_registry_adopts_a_correct_file_ground_truth_and_refuses_a_wrong_one(
    bench_env, tmp_path, monkeypatch
) -> None:
    """A dataset YAML over an ann-benchmarks file: its neighbours are checked, then used (as
    on a corpus too large for exact search: a small one uses exact search after the check)."""
    from bench.groundtruth import file_truth

    monkeypatch.setattr(file_truth, "CHECK_BUDGET", 0)
    import yaml

    from bench.corpora.formats import write_ann_hdf5
    from bench.corpora.registry import load_corpus
    from bench.groundtruth.cache import ground_truth, groundtruth_paths, truth_key

    rng = np.random.default_rng(9)
    train = rng.standard_normal((1500, 12)).astype(np.float32)
    test = rng.standard_normal((30, 12)).astype(np.float32)
    truth = exact_knn(train, test, 100, "euclidean")
    good, bad = tmp_path / "good.hdf5", tmp_path / "bad.hdf5"
    write_ann_hdf5(good, train, test, truth.ids, truth.distances, "euclidean")
    write_ann_hdf5(bad, train, test, truth.ids[:, ::-1].copy(), truth.distances, "euclidean")
    datasets = bench_env / "datasets"
    for name, path in (("good", good), ("bad", bad)):
        (datasets / f"{name}.yaml").write_text(yaml.safe_dump({"kind": "file", "path": str(path)}))
    corpus = load_corpus("good")
    cached = ground_truth(corpus)
    record = groundtruth_paths(truth_key(corpus), 100)[2].read_text()
    assert str(good) in record, "the file's own neighbours were adopted, not recomputed"
    assert np.array_equal(cached.ids, truth.ids)
    with pytest.raises(BenchError, match="disagrees with exact search on 30 of the 30 checked"):
        ground_truth(load_corpus("bad"))


def test_a_files_own_distances_are_never_trusted(bench_env, tmp_path, monkeypatch) -> None:
    """Squared L2 in the file's `distances` (ids right): the cached distances are true L2,
    so the recall tie threshold cannot be inflated by the file (adopted as on a large corpus)."""
    from bench.groundtruth import file_truth

    monkeypatch.setattr(file_truth, "CHECK_BUDGET", 0)
    import yaml

    from bench.corpora.formats import write_ann_hdf5
    from bench.corpora.registry import load_corpus
    from bench.groundtruth.cache import ground_truth

    rng = np.random.default_rng(3)
    train = rng.standard_normal((1200, 16)).astype(np.float32) * 20
    test = rng.standard_normal((25, 16)).astype(np.float32) * 20
    truth = exact_knn(train, test, 100, "euclidean")
    path = tmp_path / "squared.hdf5"
    write_ann_hdf5(path, train, test, truth.ids, truth.distances**2, "euclidean")
    (bench_env / "datasets" / "squared.yaml").write_text(
        yaml.safe_dump({"kind": "file", "path": str(path)})
    )
    cached = ground_truth(load_corpus("squared"))
    assert np.array_equal(cached.ids, truth.ids)
    np.testing.assert_allclose(cached.distances, truth.distances, rtol=1e-4)
