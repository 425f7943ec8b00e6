"""Readers and writers for the vector files ANN benchmarks ship in.

Formats:

- ann-benchmarks HDF5: datasets `train`, `test` [n, d], `neighbors` [n_test, k] (int),
  `distances` [n_test, k] (float), attrs `distance` (euclidean, angular, jaccard, hamming),
  `dimension`, `type` ('dense') and `point_type` (older files lack the last three).
- TEXMEX `.fvecs` / `.ivecs` / `.bvecs`: each row is an int32 dimension followed by that many
  float32 / int32 / uint8 values.
- big-ann-benchmarks `.fbin` / `.f16bin` / `.u8bin` / `.i8bin` / `.ibin`: an int32 row count
  and an int32 dimension, then the rows. Their ground-truth files are `.ibin` files with the
  ids followed by float32 distances (`read_ground_truth` tells the two apart by size).
- NumPy `.npy` (2-D).

Nothing here loads a whole file: readers memory-map it (raw formats, `.npy`, contiguous HDF5
datasets) and hand out `VectorSource`s that read row ranges or iterate in blocks. Headers are
checked on open; the per-row dimension fields of `*vecs` files are checked for the first and
last row on open and for every row as it is read. All multi-byte values are little-endian.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpora.corpus import normalize_rows
from bench.errors import BenchError
from bench.storage import (
    DigestRecord,
    atomic_path,
    cached_npy,
)


@dataclass(frozen=True)
class VectorFormat:
    """One row of the table of vector file formats.

    `layout` says how the file is laid out (and so which reader and writer handle it):
    `vecs` (TEXMEX: an int32 dimension before every row), `bin` (big-ann: an int32 row count
    and dimension, then the rows), `npy` or `hdf5` (ann-benchmarks). `dtype` is the values'
    type for the raw layouts. `holds_ids` marks formats that can hold ground-truth ids.
    """

    name: str
    suffixes: tuple[str, ...]
    layout: str
    dtype: np.dtype | None = None
    holds_ids: bool = False


# A new format is one entry here (plus a reader and writer if its layout is new).
FORMAT_TABLE: tuple[VectorFormat, ...] = (
    VectorFormat("fvecs", (".fvecs",), "vecs", np.dtype("<f4")),
    VectorFormat("ivecs", (".ivecs",), "vecs", np.dtype("<i4"), holds_ids=True),
    VectorFormat("bvecs", (".bvecs",), "vecs", np.dtype("u1")),
    VectorFormat("fbin", (".fbin",), "bin", np.dtype("<f4")),
    VectorFormat("f16bin", (".f16bin",), "bin", np.dtype("<f2")),
    VectorFormat("u8bin", (".u8bin",), "bin", np.dtype("u1")),
    VectorFormat("i8bin", (".i8bin",), "bin", np.dtype("i1")),
    VectorFormat("ibin", (".ibin",), "bin", np.dtype("<i4"), holds_ids=True),
    VectorFormat("npy", (".npy",), "npy", holds_ids=True),
    VectorFormat("hdf5", (".hdf5", ".h5"), "hdf5"),
)
FORMAT_BY_NAME = {entry.name: entry for entry in FORMAT_TABLE}
FORMATS = tuple(FORMAT_BY_NAME)
SUFFIXES = {suffix: entry.name for entry in FORMAT_TABLE for suffix in entry.suffixes}
ID_FORMATS = tuple(entry.name for entry in FORMAT_TABLE if entry.holds_ids)

# ann-benchmarks' `distance` attribute -> the harness' metric. Only dense float metrics.
HDF5_METRICS = {"euclidean": "euclidean", "angular": "angular"}
HDF5_UNSUPPORTED = ("jaccard", "hamming")

BLOCK_BYTES = 64 << 20  # conversions work on blocks of about this many float32 bytes


def format_of(path: Path, fmt: str | None = None) -> str:
    """The format named by `fmt`, or else by the file's suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise BenchError(f"unknown vector format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return fmt
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise BenchError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}: expected one of "
            f"{', '.join(sorted(SUFFIXES))}, or name the format explicitly"
        )
    return found


def block_rows(dim: int) -> int:
    """Rows per block so that one float32 block is about BLOCK_BYTES."""
    return max(1, BLOCK_BYTES // (4 * max(dim, 1)))


def content_fingerprint(path: Path) -> str:
    """An identity of a file's whole contents: a SHA-256 of every byte (16 hex digits).

    Only the content counts (not the path, mtime or inode), so the same file on another
    machine keeps its fingerprint and job ids and CI baselines still match; any change, in
    the middle too, gives another fingerprint, so stale ground truth is never reused. The
    digest is kept under the cache while the file is unchanged (`DigestRecord`).
    """
    path = Path(path).resolve()
    record = DigestRecord("content-fingerprints", str(path))
    digest = record.digest(str(path), path)
    record.save()
    return digest


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class VectorSource:
    """An [n, d] matrix in a file, in the file's own dtype, read in row ranges or blocks.

    `data` is a read-only memory map (possibly strided: the `*vecs` formats interleave a
    dimension field with each row) or, for HDF5 datasets that cannot be mapped, an open
    h5py dataset. `row_dims` is the `*vecs` per-row dimension column, checked as rows are read.
    """

    path: Path
    format: str
    data: Any
    row_dims: np.ndarray | None = None
    handle: Any = None  # an open h5py.File that `data` reads from, closed by `close()`

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.data.shape[0]), int(self.data.shape[1]))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def _bounds(self, start: int, stop: int | None) -> tuple[int, int]:
        n = len(self)
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise BenchError(
                f"{self.path}: rows [{start}, {stop}) requested, expected a range within the "
                f"file's {n} rows"
            )
        return start, stop

    def check_row_dims(self, start: int = 0, stop: int | None = None) -> None:
        """Every `*vecs` row in [start, stop) declares the same dimension as the first."""
        if self.row_dims is None:
            return
        start, stop = self._bounds(start, stop)
        expected = self.shape[1]
        step = max(1, BLOCK_BYTES // 4)
        for s in range(start, stop, step):
            dims = np.asarray(self.row_dims[s : min(stop, s + step)])
            bad = np.flatnonzero(dims != expected)
            if len(bad):
                row = s + int(bad[0])
                raise BenchError(
                    f"{self.path}: row {row} declares dimension {int(dims[bad[0]])}, expected "
                    f"{expected} like the first row: every {self.format} row must have the same "
                    "dimension (is the file corrupt or of another format?)"
                )

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows [start, stop) as an in-memory array in the file's dtype."""
        start, stop = self._bounds(start, stop)
        self.check_row_dims(start, stop)
        return np.array(self.data[start:stop])

    def blocks(self, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, rows) blocks of at most `block_rows(d)` rows, up to row `stop`."""
        _, stop = self._bounds(0, stop)
        step = block_rows(self.shape[1])
        for start in range(0, stop, step):
            yield start, self.read(start, min(stop, start + step))

    def float32_view(self, stop: int | None = None) -> np.ndarray | None:
        """The first `stop` rows as a zero-copy C-contiguous float32 map, when the file allows."""
        _, stop = self._bounds(0, stop)
        data = self.data
        if isinstance(data, np.ndarray) and data.dtype == np.float32 and data.flags.c_contiguous:
            return data[:stop]
        return None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def __enter__(self) -> VectorSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError as exc:
        raise BenchError(f"vector file not found: {path}") from exc


NPY_MAGIC, HDF5_MAGIC = b"\x93NUMPY", b"\x89HDF\r\n\x1a\n"


def _fits(entry: VectorFormat, head: bytes, size: int) -> bool:
    """Whether a file of `size` bytes starting with `head` could be laid out as `entry`."""
    if entry.layout == "npy":
        return head.startswith(NPY_MAGIC)
    if entry.layout == "hdf5":
        return head.startswith(HDF5_MAGIC)
    if entry.dtype is None or len(head) < 8:
        return False
    first, second = (int.from_bytes(head[i : i + 4], "little", signed=True) for i in (0, 4))
    if entry.layout == "vecs":  # `first` is the first row's dimension
        return first > 0 and size % (4 + first * entry.dtype.itemsize) == 0
    return first > 0 and second > 0 and size == 8 + first * second * entry.dtype.itemsize


def _layouts_that_fit(path: Path, size: int, fmt: str) -> str:
    """' the file's size fits the layout of X, Y' for the other formats it could be (cheap:
    the first 8 bytes and the size), or '' when none fits."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    names = [e.name for e in FORMAT_TABLE if e.name != fmt and _fits(e, head, size)]
    by_suffix = SUFFIXES.get(path.suffix.lower())
    if by_suffix in names:  # the suffix's own format first
        names = [f"{by_suffix} (its suffix {path.suffix})"] + [n for n in names if n != by_suffix]
    return f" the file's size fits the layout of {', '.join(names)}" if names else ""


def _open_vecs(path: Path, entry: VectorFormat, dataset: str) -> VectorSource:
    fmt, value_dtype = entry.name, entry.dtype
    size = _file_size(path)
    if size < 4:
        raise BenchError(
            f"{path}: {size} bytes, expected at least one {fmt} row "
            "(an int32 dimension followed by the values)"
        )
    dim = int(np.fromfile(path, dtype="<i4", count=1)[0])
    if dim <= 0:
        raise BenchError(
            f"{path}: the first row declares dimension {dim}, expected a positive dimension "
            f"(is this really a {fmt} file?{_layouts_that_fit(path, size, fmt)})"
        )
    record = 4 + dim * value_dtype.itemsize
    if size % record:
        fits = _layouts_that_fit(path, size, fmt)
        raise BenchError(
            f"{path}: {size} bytes is not a whole number of {fmt} rows of {record} bytes "
            f"(int32 dimension {dim} + {dim} x {value_dtype.itemsize}-byte values): "
            f"found {size // record} whole rows and {size % record} bytes left over; "
            + (
                f"is the format wrong?{fits}; otherwise the file is truncated"
                if fits
                else "the file is truncated or not in this format"
            )
        )
    rows = np.memmap(
        path,
        dtype=np.dtype([("dim", "<i4"), ("vec", value_dtype, (dim,))]),
        mode="r",
        shape=(size // record,),
    )
    source = VectorSource(path, fmt, rows["vec"], row_dims=rows["dim"])
    source.check_row_dims(len(source) - 1)  # the last row: cheap, catches most corruption
    return source


def _read_bin_header(path: Path, fmt: str, size: int) -> tuple[int, int]:
    if size < 8:
        raise BenchError(
            f"{path}: {size} bytes, expected at least the 8-byte {fmt} header "
            "(int32 rows, int32 dimension)"
        )
    n, dim = (int(x) for x in np.fromfile(path, dtype="<i4", count=2))
    if n <= 0 or dim <= 0:
        raise BenchError(
            f"{path}: header declares {n} rows x {dim} dimensions, expected positive numbers "
            f"(is this really a {fmt} file?{_layouts_that_fit(path, size, fmt)})"
        )
    return n, dim


def _open_bin(path: Path, entry: VectorFormat, dataset: str) -> VectorSource:
    fmt, dtype = entry.name, entry.dtype
    size = _file_size(path)
    n, dim = _read_bin_header(path, fmt, size)
    expected = 8 + n * dim * dtype.itemsize
    if size != expected:
        why = (
            "the file is truncated"
            if size < expected
            else "there are bytes after the data, so the header's row count or dimension is wrong"
        )
        fits = _layouts_that_fit(path, size, fmt)
        raise BenchError(
            f"{path}: header declares {n} rows x {dim} dimensions of {dtype.itemsize}-byte "
            f"values, expected {expected} bytes, found {size}: the header does not match the "
            + (
                f"file size; is {fmt} the wrong format?{fits}; otherwise {why}"
                if fits
                else f"file size: {why}, or the file is not in {fmt} format"
            )
        )
    data = np.memmap(path, dtype=dtype, mode="r", offset=8, shape=(n, dim))
    return VectorSource(path, fmt, data)


def _open_npy(path: Path, entry: VectorFormat, dataset: str) -> VectorSource:
    _file_size(path)
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BenchError(f"{path}: not a readable .npy array ({exc})") from exc
    if data.ndim != 2 or data.dtype.kind not in "biuf":
        raise BenchError(
            f"{path}: found a {data.ndim}-D {data.dtype} array, expected a 2-D numeric array "
            "(rows x dimension)"
        )
    return VectorSource(path, "npy", data)


def _open_hdf5_dataset(path: Path, name: str) -> VectorSource:
    """One 2-D dataset of an HDF5 file, memory-mapped when stored contiguously uncompressed.

    h5py's default layout (what ann-benchmarks writes) is contiguous, so the dataset's bytes
    sit at one offset in the file and numpy can map them; chunked or compressed datasets
    are read through h5py instead, and the file stays open until `close()`.
    """
    import h5py

    _file_size(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise BenchError(f"{path}: not a readable HDF5 file ({exc})") from exc
    if name not in handle:
        found = ", ".join(sorted(handle.keys())) or "nothing"
        handle.close()
        raise BenchError(f"{path}: no dataset {name!r}, found {found}")
    dataset = handle[name]
    if dataset.ndim != 2 or dataset.dtype.kind not in "iuf":
        shape, dtype = dataset.shape, dataset.dtype
        handle.close()
        raise BenchError(
            f"{path}: dataset {name!r} is {shape} of {dtype}, expected a 2-D numeric matrix "
            "(sparse or bit vectors are not supported)"
        )
    offset = dataset.id.get_offset() if dataset.chunks is None else None
    if offset is not None and dataset.size > 0:
        data = np.memmap(path, dtype=dataset.dtype, mode="r", offset=offset, shape=dataset.shape)
        handle.close()
        return VectorSource(path, "hdf5", data)
    return VectorSource(path, "hdf5", dataset, handle=handle)


def _open_hdf5(path: Path, entry: VectorFormat, dataset: str) -> VectorSource:
    return _open_hdf5_dataset(path, dataset)


def open_vectors(path: Path, fmt: str | None = None, dataset: str = "train") -> VectorSource:
    """Open a vector file without reading it; `dataset` names the HDF5 dataset to use."""
    path = Path(path)
    entry = FORMAT_BY_NAME[format_of(path, fmt)]
    return READERS[entry.layout](path, entry, dataset)


def read_vectors(
    path: Path, fmt: str | None = None, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """Rows [start, stop) of a vector file, in memory, in the file's dtype."""
    with open_vectors(path, fmt) as source:
        return source.read(start, stop)


def to_float32_npy(
    source: VectorSource, dest: Path, rows: int | None = None, normalize: bool = False
) -> np.ndarray:
    """The first `rows` rows as a float32 `.npy` at `dest` (written once, in blocks), mapped.

    `normalize` scales rows to unit length (the angular metric's convention).
    """
    _, rows = source._bounds(0, rows)

    def fill(out: np.ndarray) -> None:
        for start, block in source.blocks(rows):
            block = block.astype(np.float32, copy=False)
            out[start : start + len(block)] = normalize_rows(block) if normalize else block

    return cached_npy(dest, (rows, source.shape[1]), np.float32, fill)


def _ids_int64(ids: np.ndarray, path: Path) -> np.ndarray:
    if ids.dtype.kind not in "iu":
        raise BenchError(f"{path}: ground-truth ids are {ids.dtype}, expected integers")
    return np.asarray(ids, dtype=np.int64)


def read_ground_truth(path: Path, fmt: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Neighbour ids (int64 [n_queries, k]) and, when the file has them, float32 distances.

    `.ivecs`, `.npy` and `.ibin` hold ids only, except big-ann-benchmarks' ground-truth `.ibin`:
    header (n, k), then n*k int32 ids, then n*k float32 distances.
    """
    path = Path(path)
    fmt = format_of(path, fmt)
    if fmt not in ID_FORMATS:
        raise BenchError(
            f"{path}: ground truth in {fmt} format, expected neighbour ids in one of "
            f"{', '.join(ID_FORMATS)}"
        )
    if fmt == "ibin":
        size = _file_size(path)
        n, k = _read_bin_header(path, fmt, size)
        if size == 8 + 8 * n * k:
            ids = np.fromfile(path, dtype="<i4", count=n * k, offset=8).reshape(n, k)
            dists = np.fromfile(path, dtype="<f4", count=n * k, offset=8 + 4 * n * k)
            return ids.astype(np.int64), dists.reshape(n, k)
    with open_vectors(path, fmt) as source:
        return _ids_int64(source.read(), path), None


@dataclass
class AnnHdf5:
    """An ann-benchmarks HDF5 file: train and test sources, its ground truth, its metric."""

    path: Path
    distance: str  # the file's own `distance` attribute
    metric: str  # the harness' name for it
    train: VectorSource
    test: VectorSource
    neighbors: np.ndarray | None  # int64 [n_test, k]
    distances: np.ndarray | None  # float32 [n_test, k]

    def close(self) -> None:
        self.train.close()
        self.test.close()

    def __enter__(self) -> AnnHdf5:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _attr_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _hdf5_header(path: Path) -> tuple[str, str, int | None]:
    """The file's distance attribute, its metric, and its `dimension` attribute if any."""
    import h5py

    _file_size(path)
    try:
        with h5py.File(path, "r") as handle:
            attrs = dict(handle.attrs)
    except OSError as exc:
        raise BenchError(f"{path}: not a readable HDF5 file ({exc})") from exc
    if "distance" not in attrs:
        raise BenchError(
            f"{path}: no 'distance' attribute, expected an ann-benchmarks file with "
            f"distance in {', '.join((*HDF5_METRICS, *HDF5_UNSUPPORTED))}"
        )
    distance = _attr_text(attrs["distance"])
    if distance in HDF5_UNSUPPORTED:
        raise BenchError(
            f"{path}: distance {distance!r} is not supported: only dense float metrics are "
            f"({', '.join(HDF5_METRICS)})"
        )
    if distance not in HDF5_METRICS:
        raise BenchError(
            f"{path}: unknown distance {distance!r}, expected one of {', '.join(HDF5_METRICS)}"
        )
    kind = _attr_text(attrs.get("type", "dense"))
    if kind != "dense":
        raise BenchError(f"{path}: type {kind!r}, expected 'dense' vectors")
    dimension = int(attrs["dimension"]) if "dimension" in attrs else None
    return distance, HDF5_METRICS[distance], dimension


def _read_hdf5_truth(path: Path, n_test: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    import h5py

    with h5py.File(path, "r") as handle:
        if "neighbors" not in handle:
            return None, None
        neighbors = _ids_int64(np.asarray(handle["neighbors"]), path)
        distances = (
            np.asarray(handle["distances"], dtype=np.float32) if "distances" in handle else None
        )
    if neighbors.ndim != 2 or len(neighbors) != n_test:
        raise BenchError(
            f"{path}: 'neighbors' has shape {neighbors.shape}, expected one row per test "
            f"vector ({n_test}, k)"
        )
    if distances is not None and distances.shape != neighbors.shape:
        raise BenchError(
            f"{path}: 'distances' has shape {distances.shape}, expected the shape of "
            f"'neighbors' {neighbors.shape}"
        )
    return neighbors, distances


def read_ann_hdf5(path: Path) -> AnnHdf5:
    """Open an ann-benchmarks HDF5 file: header checked, vectors mapped, ground truth read."""
    path = Path(path)
    distance, metric, dimension = _hdf5_header(path)
    train = _open_hdf5_dataset(path, "train")
    test = _open_hdf5_dataset(path, "test")
    try:
        for role, source in (("train", train), ("test", test)):
            if dimension is not None and source.shape[1] != dimension:
                raise BenchError(
                    f"{path}: '{role}' has dimension {source.shape[1]}, expected the file's "
                    f"'dimension' attribute {dimension}"
                )
        if test.shape[1] != train.shape[1]:
            raise BenchError(
                f"{path}: 'test' has dimension {test.shape[1]}, expected the train dimension "
                f"{train.shape[1]}"
            )
        neighbors, distances = _read_hdf5_truth(path, len(test))
    except BenchError:
        train.close()
        test.close()
        raise
    return AnnHdf5(path, distance, metric, train, test, neighbors, distances)


# ---------------------------------------------------------------------------------------------
# Writing


def _cast(block: np.ndarray, dtype: np.dtype, path: Path) -> np.ndarray:
    """`block` in `dtype`, refusing casts that would lose integer values."""
    if dtype.kind in "iu":
        if block.dtype.kind not in "biu":
            raise BenchError(f"{path}: values are {block.dtype}, expected integers for {dtype}")
        info = np.iinfo(dtype)
        if block.size and (block.min() < info.min or block.max() > info.max):
            raise BenchError(
                f"{path}: values span [{block.min()}, {block.max()}], expected them to fit "
                f"{dtype} [{info.min}, {info.max}]"
            )
    elif block.dtype.kind not in "biuf":
        raise BenchError(f"{path}: values are {block.dtype}, expected numbers")
    return np.ascontiguousarray(block, dtype=dtype)


def _check_writable_matrix(matrix: np.ndarray, path: Path) -> None:
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise BenchError(
            f"{path}: cannot write shape {matrix.shape}, expected a non-empty 2-D matrix"
        )


def _write_npy(tmp: Path, matrix: np.ndarray, entry: VectorFormat, path: Path) -> None:
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=matrix.dtype, shape=matrix.shape)
    step = block_rows(matrix.shape[1])
    for start in range(0, len(matrix), step):
        out[start : start + step] = matrix[start : start + step]
    out.flush()
    del out


def _write_raw(tmp: Path, matrix: np.ndarray, entry: VectorFormat, path: Path) -> None:
    """The `bin` (header, then rows) and `vecs` (a dimension before each row) layouts."""
    n, dim = matrix.shape
    step = block_rows(dim)
    record = np.dtype([("dim", "<i4"), ("vec", entry.dtype, (dim,))])
    with open(tmp, "wb") as handle:
        if entry.layout == "bin":
            np.array([n, dim], dtype="<i4").tofile(handle)
        for start in range(0, n, step):
            block = _cast(np.asarray(matrix[start : start + step]), entry.dtype, path)
            if entry.layout == "vecs":
                rows = np.empty(len(block), dtype=record)
                rows["dim"] = dim
                rows["vec"] = block
                block = rows
            block.tofile(handle)
        handle.flush()
        os.fsync(handle.fileno())


def write_vectors(path: Path, matrix: np.ndarray, fmt: str | None = None) -> None:
    """Write an [n, d] matrix (may be a memory map) in a raw format or `.npy`, atomically."""
    path = Path(path)
    entry = FORMAT_BY_NAME[format_of(path, fmt)]
    _check_writable_matrix(matrix, path)
    writer = WRITERS.get(entry.layout)
    if writer is None:
        raise BenchError(f"{path}: write_vectors cannot write {entry.name}, use write_ann_hdf5")
    with atomic_path(path) as tmp:
        writer(tmp, matrix, entry, path)


def write_bin_ground_truth(path: Path, ids: np.ndarray, distances: np.ndarray) -> None:
    """big-ann-benchmarks' ground-truth file: (n, k) header, int32 ids, float32 distances."""
    path = Path(path)
    _check_writable_matrix(ids, path)
    if distances.shape != ids.shape:
        raise BenchError(
            f"{path}: distances {distances.shape}, expected the ids' shape {ids.shape}"
        )
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.array(ids.shape, dtype="<i4").tofile(handle)
        _cast(ids, np.dtype("<i4"), path).tofile(handle)
        _cast(distances, np.dtype("<f4"), path).tofile(handle)


def write_ann_hdf5(
    path: Path,
    train: np.ndarray,
    test: np.ndarray,
    neighbors: np.ndarray,
    distances: np.ndarray,
    distance: str,
    point_type: str = "float",
) -> None:
    """Write the layout of ann-benchmarks' `write_output` (attrs, then the four datasets)."""
    import h5py

    path = Path(path)
    for what, matrix in (("train", train), ("test", test), ("neighbors", neighbors)):
        _check_writable_matrix(matrix, path.with_name(f"{path.name}:{what}"))
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs["type"] = "dense"
        handle.attrs["distance"] = distance
        handle.attrs["dimension"] = train.shape[1]
        handle.attrs["point_type"] = point_type
        handle.create_dataset("train", data=train)
        handle.create_dataset("test", data=test)
        handle.create_dataset("neighbors", data=np.asarray(neighbors, dtype=np.int64))
        handle.create_dataset("distances", data=np.asarray(distances, dtype=np.float64))


READERS: dict[str, Callable[[Path, VectorFormat, str], VectorSource]] = {
    "vecs": _open_vecs,
    "bin": _open_bin,
    "npy": _open_npy,
    "hdf5": _open_hdf5,
}
WRITERS: dict[str, Callable[[Path, np.ndarray, VectorFormat, Path], None]] = {
    "vecs": _write_raw,
    "bin": _write_raw,
    "npy": _write_npy,
}
