"""Downloads end to end against a local HTTP server (Range support written here)."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.catalogue.entries import _catalogue, named
from bench.catalogue.local import ensure, local_dir, local_files, sidecar, status
from bench.corpora.formats import write_ann_hdf5, write_bin_ground_truth, write_vectors
from bench.corpora.registry import load_corpus
from bench.download import download, download_and_unpack, download_lock, fetch, part_path
from bench.errors import BenchError


class Files(BaseHTTPRequestHandler):
    """Serves `server.files` (name -> path) with Range and If-Range, and a validator per file
    (`server.validators[name]`: "etag" (default, from the content), "last-modified",
    "none", or "ignore-if-range": an ETag, but Range honoured whatever If-Range says);
    `server.drop` cuts a first response; `server.content_type` overrides the type."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests.append((name, self.headers.get("Range")))
        self.server.if_ranges.append(self.headers.get("If-Range"))
        if name not in self.server.files:
            self.send_error(404, "Not Found")
            return
        path = self.server.files[name]
        size = path.stat().st_size
        mode = self.server.validators.get(name, "etag")
        etag = f'"{hashlib.md5(path.read_bytes()).hexdigest()}"'
        modified = formatdate(path.stat().st_mtime, usegmt=True)
        validator = {"last-modified": modified, "none": None}.get(mode, etag)
        start, end = 0, size - 1
        found = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if_range = self.headers.get("If-Range")
        if found and if_range is not None and if_range != validator:
            found = None if mode != "ignore-if-range" else found  # changed: the whole file
        if found:
            start = int(found.group(1))
            end = min(int(found.group(2)), size - 1) if found.group(2) else size - 1
            if start >= size:
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Content-Type", self.server.content_type)
        if mode in ("etag", "ignore-if-range"):
            self.send_header("ETag", etag)
        elif mode == "last-modified":
            self.send_header("Last-Modified", modified)
        self.end_headers()
        cuts = self.server.drop.get(name, [])
        stop = cuts.pop(0) if cuts else None  # bytes to send before dropping, per response
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = end - start + 1 if stop is None else min(stop, end - start + 1)
            while remaining:
                chunk = handle.read(min(1 << 20, remaining))
                self.wfile.write(chunk)
                remaining -= len(chunk)
        if stop is not None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    httpd.files, httpd.drop, httpd.requests, httpd.if_ranges = {}, {}, [], []
    httpd.validators, httpd.content_type = {}, "application/octet-stream"
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _serve(server: ThreadingHTTPServer, tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / "served" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    server.files[name] = path
    return f"{server.url}/{name}"


def test_dropped_connection_resumes_with_range(server, tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    url = _serve(server, tmp_path, "blob", data)
    server.drop["blob"] = [1_200_000]
    digest = download(url, tmp_path / "out" / "blob", show_progress=False)
    assert (tmp_path / "out" / "blob").read_bytes() == data
    assert digest == hashlib.sha256(data).hexdigest()
    assert server.requests[1][1] == f"bytes={1_200_000}-"  # resumed, not restarted
    assert not part_path(tmp_path / "out" / "blob").exists()


def _interrupted(server, tmp_path: Path, data: bytes, kept: int) -> tuple[str, Path]:
    """A download that failed after `kept` bytes on every retry: its `.part` is left."""
    url = _serve(server, tmp_path, "blob", data)
    dest = tmp_path / "out" / "blob"
    server.drop["blob"] = [kept, 0, 0]
    with pytest.raises(BenchError, match=rf"{kept} bytes kept in .*blob.part.*resume"):
        download(url, dest, show_progress=False)
    assert part_path(dest).stat().st_size == kept and not dest.exists()
    server.requests.clear()
    server.if_ranges.clear()
    return url, dest


@pytest.mark.parametrize("validator", ["etag", "last-modified"])
def test_part_left_by_a_failed_run_is_resumed(server, tmp_path: Path, validator: str) -> None:
    data = os.urandom(2_000_000)
    server.validators["blob"] = validator
    url, dest = _interrupted(server, tmp_path, data, 700_000)
    download(url, dest, show_progress=False)
    assert dest.read_bytes() == data
    assert server.requests == [("blob", "bytes=700000-")] and server.if_ranges[0]
    assert not list(dest.parent.glob("blob.part*")), "no part or validator left"


@pytest.mark.parametrize("validator", ["etag", "last-modified", "ignore-if-range"])
def test_part_of_a_replaced_remote_file_is_never_spliced(server, tmp_path, validator) -> None:
    """The hostile probe's splice: a part of v1, then the server holds v2 of the same size.
    The resume sends If-Range; the download restarts and gives exactly v2, whether the
    server answers 200 (honours If-Range) or a 206 of v2 (ignores it: a new validator)."""
    first, second = os.urandom(2_000_000), os.urandom(2_000_000)
    server.validators["blob"] = validator
    url, dest = _interrupted(server, tmp_path, first, 700_000)
    served = server.files["blob"]
    served.write_bytes(second)
    os.utime(served, (served.stat().st_mtime + 10,) * 2)  # Last-Modified moves on too
    digest = download(url, dest, show_progress=False)
    assert dest.read_bytes() == second and digest == hashlib.sha256(second).hexdigest()
    assert server.if_ranges[0], "the resume asked If-Range"


def test_part_without_a_validator_is_downloaded_again(server, tmp_path: Path) -> None:
    """A server that sends neither ETag nor Last-Modified: a resume could not tell a changed
    file, so the part is dropped and the file downloaded whole (no Range)."""
    first, second = os.urandom(1_000_000), os.urandom(1_000_000)
    server.validators["blob"] = "none"
    url = _serve(server, tmp_path, "blob", second)
    dest = tmp_path / "out" / "blob"
    dest.parent.mkdir()
    part_path(dest).write_bytes(first[:300_000])  # left by a killed run, as bench left them
    download(url, dest, show_progress=False)
    assert dest.read_bytes() == second
    assert server.requests == [("blob", None)]


def test_web_page_instead_of_data_names_url_and_type(server, tmp_path: Path) -> None:
    url = _serve(server, tmp_path, "set.hdf5", b"<html><body>Sign in</body></html>")
    server.content_type = "text/html; charset=utf-8"
    dest = tmp_path / "out" / "set.hdf5"
    with pytest.raises(
        BenchError, match=rf"^cannot download {url}: the server sent a web page \(Content-Type "
        r"text/html; charset=utf-8\), expected the data file"
    ):  # fmt: skip
        download(url, dest, show_progress=False)
    assert not dest.exists() and not part_path(dest).exists()


def test_refused_file_leaves_nothing(server, tmp_path: Path) -> None:
    url = _serve(server, tmp_path, "blob", b"x" * 1000)

    def refuse(part: Path) -> None:
        raise BenchError(f"{part}: bad header")

    dest = tmp_path / "out" / "blob"
    with pytest.raises(BenchError, match="bad header"):
        download(url, dest, verify=refuse, show_progress=False)
    assert not dest.exists() and not part_path(dest).exists()


def test_404_and_no_network_name_the_url(server, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=rf"cannot download {server.url}/missing: HTTP 404"):
        download(f"{server.url}/missing", tmp_path / "missing", show_progress=False)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/glove-25-angular.hdf5"
    with pytest.raises(BenchError, match=rf"cannot download {url}: .*refused.*no network"):
        download(url, tmp_path / "refused", show_progress=False)


def _unwritable_folders(tmp_path: Path) -> Iterator[Path]:
    """A folder under a regular file (fails for root too) and, unless chmod is ineffective
    (root), a read-only folder's sub-folder and the read-only folder itself."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    yield blocker / "cache"
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        if not os.access(readonly, os.W_OK):
            yield readonly / "cache"
            yield readonly
    finally:
        readonly.chmod(0o700)


def test_unwritable_cache_folder_is_one_line_naming_it(server, tmp_path: Path) -> None:
    data = b"x" * 1000
    url = _serve(server, tmp_path, "weights.pth", data)
    md5 = hashlib.md5(data).hexdigest()
    checked = 0
    for folder in _unwritable_folders(tmp_path):
        expected = rf"^{re.escape(str(folder))}: cannot create or write .*writable.*BENCH_CACHE"
        if folder.name == "cache":  # folder creation, in download() and in the lock
            with pytest.raises(BenchError, match=expected):
                download(url, folder / "weights.pth", show_progress=False)
        with pytest.raises(BenchError, match=expected):  # the lock file beside the file
            fetch(url, folder / "weights.pth", md5, show_progress=False)
        checked += 1
    assert checked >= 1


def test_tls_failure_is_a_network_error_and_retried(server, tmp_path: Path, caplog) -> None:
    """https:// to the plain-HTTP server: the TLS handshake fails on the remote side."""
    _serve(server, tmp_path, "blob", b"x" * 1000)
    url = server.url.replace("http://", "https://") + "/blob"
    dest = tmp_path / "cache" / "blob"
    with pytest.raises(BenchError, match=rf"^cannot download {url}: .*SSL") as raised:
        download(url, dest, show_progress=False)
    assert str(part_path(dest)) not in str(raised.value), "not the local-disk message"
    assert "\n" not in str(raised.value)
    assert sum("resuming" in r.getMessage() for r in caplog.records) == 2, "retried"
    assert not dest.exists()


def test_fetch_checks_the_checksum_and_reuses_the_file(server, tmp_path: Path) -> None:
    """fetch (weights, Caltech101) over HTTP, a file:// URL or a plain path: same mechanism."""
    data = os.urandom(500_000)
    url = _serve(server, tmp_path, "weights-1a2b.pth", data)
    sha256 = f"sha256:{hashlib.sha256(data).hexdigest()}"
    dest = tmp_path / "cache" / "weights.pth"
    with pytest.raises(BenchError, match=rf"checksum mismatch for {url}: .*out of date"):
        fetch(url, dest, "0" * 32)
    assert not dest.exists() and not part_path(dest).exists(), "a bad download leaves nothing"
    assert fetch(url, dest, sha256[:15]) == dest and dest.read_bytes() == data  # a prefix
    requests = len(server.requests)
    assert fetch(url, dest, sha256) == dest and len(server.requests) == requests, "reused"
    served = tmp_path / "served" / "weights-1a2b.pth"
    for source in (served.as_uri(), str(served)):
        again = tmp_path / "local" / "again.pth"
        fetch(source, again, hashlib.md5(data).hexdigest())
        assert again.read_bytes() == data
        again.unlink()
        with pytest.raises(BenchError, match="checksum mismatch"):
            fetch(source, again, f"sha256:{'f' * 64}")
        assert not again.exists() and not part_path(again).exists()


def test_fetch_keeps_an_older_mismatching_file_until_a_good_download(server, tmp_path) -> None:
    """As fetch's docstring says: a stale file at dest is never returned, never half-replaced."""
    data = os.urandom(10_000)
    url = _serve(server, tmp_path, "model.onnx", data)
    dest = tmp_path / "cache" / "model.onnx"
    dest.parent.mkdir()
    dest.write_bytes(b"an older version")
    with pytest.raises(BenchError, match="checksum mismatch"):
        fetch(url, dest, f"sha256:{'f' * 64}", show_progress=False)
    assert dest.read_bytes() == b"an older version" and not part_path(dest).exists()
    fetch(url, dest, hashlib.md5(data).hexdigest(), show_progress=False)
    assert dest.read_bytes() == data


@pytest.fixture
def crop_catalogue(server, tmp_path: Path, bench_env: Path, monkeypatch) -> str:
    """A big-ann-style family served locally: a 1000-row base file cropped to 300 rows."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal((1000, 8)).astype(np.float32)
    queries = rng.standard_normal((30, 8)).astype(np.float32)
    served = tmp_path / "served"
    served.mkdir()
    write_vectors(served / "base.1B.fbin", base)
    write_vectors(served / "query.fbin", queries)
    squared = ((queries[:, None, :] - base[None, :300, :]) ** 2).sum(-1)
    ids = np.argsort(squared, axis=1)[:, :100]
    write_bin_ground_truth(served / "gt-300", ids, np.take_along_axis(squared, ids, 1))
    for name in ("base.1B.fbin", "query.fbin", "gt-300"):
        server.files[name] = served / name
    entry = {
        "metric": "euclidean", "dim": 8, "dtype": "float32", "train": 300, "test": 30,
        "base": f"{server.url}/base.1B.fbin", "base_rows": 1000,
        "queries": f"{server.url}/query.fbin", "ground_truth": f"{server.url}/gt-300",
    }  # fmt: skip
    folder = tmp_path / "catalogue"
    folder.mkdir()
    (folder / "local.yaml").write_text(
        yaml.safe_dump({"family": "big-ann-benchmarks", "datasets": {"tiny-300": entry}})
    )
    monkeypatch.setenv("BENCH_CATALOGUE", str(folder))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))  # nothing downloaded yet
    _catalogue.cache_clear()
    return "tiny-300"


def test_crop_is_a_range_prefix_with_its_header_rewritten(server, crop_catalogue) -> None:
    entry = named(crop_catalogue)
    assert status(entry).text == "not downloaded"
    corpus = load_corpus(crop_catalogue)  # downloads on first use
    assert ("base.1B.fbin", f"bytes=0-{8 + 300 * 8 * 4 - 1}") in server.requests
    assert corpus.train.shape == (300, 8) and corpus.shipped_truth.k == 100
    base_path = ensure(entry)[0]
    assert np.fromfile(base_path, dtype="<i4", count=2).tolist() == [300, 8]
    assert status(entry).text == "downloaded, not verified: no checksum (shapes checked)"
    assert sidecar(base_path).exists()


def test_corrupted_file_is_refused_on_reuse(server, crop_catalogue) -> None:
    entry = named(crop_catalogue)
    queries_path = ensure(entry, show_progress=False)[1]
    with open(queries_path, "r+b") as handle:  # same size, one byte changed
        handle.seek(100)
        handle.write(b"\xff")
    with pytest.raises(BenchError, match=r"sha256 .* differs .* corrupt"):
        ensure(entry, full_check=True)
    ensure(entry, force=True, show_progress=False)  # --force downloads it again
    ensure(entry, full_check=True)


def test_wrong_shape_from_the_server_is_refused(server, crop_catalogue, tmp_path) -> None:
    write_vectors(server.files["query.fbin"], np.zeros((29, 8), np.float32))
    entry = named(crop_catalogue)
    with pytest.raises(BenchError, match=r"expected 968 for 'tiny-300'"):
        ensure(entry, show_progress=False)
    assert not (local_dir(entry) / "queries.fbin").exists()
    assert not part_path(local_dir(entry) / "queries.fbin").exists()


# VmHWM is this process' own peak (reset at exec); ru_maxrss would include the peak of the
# pytest process that started it, whatever the download did.
MEMORY_SCRIPT = """
import re, sys
from pathlib import Path
from bench.download import download
download(sys.argv[1], Path(sys.argv[2]), show_progress=False)
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""


@pytest.mark.slow
def test_one_gigabyte_download_has_bounded_memory(server, tmp_path: Path) -> None:
    sparse = tmp_path / "served" / "sparse"
    sparse.parent.mkdir()
    with open(sparse, "wb") as handle:
        handle.truncate(1 << 30)
    server.files["sparse"] = sparse
    dest = tmp_path / "out" / "sparse"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, f"{server.url}/sparse", str(dest)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    peak = int(done.stdout.split()[-1])
    assert dest.stat().st_size == 1 << 30
    assert peak < 200 << 20, f"peak RSS {peak / 2**20:.0f} MiB for a 1 GiB download"


def test_second_fetch_of_a_named_set_waits_for_the_first(server, crop_catalogue) -> None:
    """Two processes fetching one set take turns: the second neither writes the first one's
    `.part` nor asks the server for anything while the first holds the file's lock."""
    entry = named(crop_catalogue)
    base = local_files(entry)[0]
    second: list[object] = []
    thread = threading.Thread(target=lambda: second.append(ensure(entry, show_progress=False)))
    with download_lock(base):  # the first process, downloading
        thread.start()
        thread.join(1.0)
        assert server.requests == [] and not part_path(base).exists(), "did not wait"
    thread.join()
    assert second == [local_files(entry)] and base.exists()
    ensure(entry, full_check=True)


def _zip(path: Path) -> str:
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("set/a.txt", "a")
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_second_unpack_reuses_the_first_ones_folder(tmp_path: Path) -> None:
    """A process that finds the archive locked waits, then takes the folder the first one
    unpacked (before: it unpacked again and deleted that folder under its readers)."""
    archive, cache = tmp_path / "set.zip", tmp_path / "cache"
    md5 = _zip(archive)
    second: list[Path] = []

    def unpack_second() -> None:
        second.append(download_and_unpack(str(archive), md5, cache))

    thread = threading.Thread(target=unpack_second)
    with download_lock(cache / "set.zip"):  # the first process
        thread.start()
        thread.join(1.0)
        unpacked = download_and_unpack(str(archive), md5, cache)
        (unpacked / "being-read").write_text("x")
    thread.join()
    assert second == [unpacked] and (unpacked / "being-read").exists()
    assert (unpacked / "set" / "a.txt").read_text() == "a"


@pytest.mark.parametrize("checksum", [f"md5:{'a' * 40}", "b" * 65, f"sha256:{'c' * 70}"])
def test_checksum_longer_than_its_digest_is_refused_before_downloading(
    server, tmp_path: Path, checksum: str
) -> None:
    url = _serve(server, tmp_path, "blob", b"x" * 100)
    with pytest.raises(BenchError, match=r"expected at most (32|64) hexadecimal digits"):
        fetch(url, tmp_path / "out" / "blob", checksum)
    assert server.requests == []


@pytest.fixture
def hdf5_catalogue(server, tmp_path: Path, bench_env: Path, monkeypatch) -> dict[str, bytes]:
    """An ann-benchmarks family served locally: `small` without a checksum, `summed` with
    its sha256; returns each served file's bytes."""
    rng = np.random.default_rng(7)
    served, files = tmp_path / "served", {}
    served.mkdir()
    for name in ("small", "summed"):
        train, test = rng.standard_normal((50, 4)), rng.standard_normal((5, 4))
        squared = ((test[:, None, :] - train[None, :, :]) ** 2).sum(-1)
        ids = np.argsort(squared, axis=1)[:, :10]
        path = served / f"{name}.hdf5"
        write_ann_hdf5(path, train, test, ids, np.take_along_axis(squared, ids, 1), "euclidean")
        server.files[path.name], files[name] = path, path.read_bytes()
    entry = {"metric": "euclidean", "dim": 4, "train": 50, "test": 5, "bytes": 10_000}
    digest = hashlib.sha256(files["summed"]).hexdigest()
    folder = tmp_path / "catalogue"
    folder.mkdir()
    (folder / "local.yaml").write_text(
        yaml.safe_dump(
            {
                "family": "ann-benchmarks",
                "url": f"{server.url}/{{name}}.hdf5",
                "datasets": {"small": entry, "summed": {**entry, "checksum": f"sha256:{digest}"}},
            }
        )
    )
    monkeypatch.setenv("BENCH_CATALOGUE", str(folder))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    _catalogue.cache_clear()
    return files


def _fetch(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from bench.cli import cli

    result = CliRunner().invoke(cli, ["fetch", *args], catch_exceptions=False)
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def test_fetch_says_verified_only_against_a_checksum(server, hdf5_catalogue) -> None:
    code, output = _fetch("small", "summed")
    assert code == 0, output
    assert "small.hdf5" in output and "not verified: no checksum (shapes checked)" in output
    assert output.count("not verified") == 1 and output.endswith(", verified)")
    assert status(named("summed")).text == "downloaded, verified"
    path = local_files(named("summed"))[0]
    with open(path, "r+b") as handle:  # changed and re-recorded: only the checksum can tell
        handle.seek(-1, os.SEEK_END)
        handle.write(b"\x01")
    sidecar(path).unlink()
    ensure(named("small"), full_check=True)
    with pytest.raises(BenchError, match=r"no checksum record"):
        ensure(named("summed"), full_check=True)


def test_wrong_catalogue_checksum_refuses_the_download(server, hdf5_catalogue, tmp_path) -> None:
    server.files["summed.hdf5"].write_bytes(hdf5_catalogue["small"])  # another file
    with pytest.raises(BenchError, match=r"checksum mismatch for .*summed.hdf5"):
        ensure(named("summed"), show_progress=False)
    assert not list(local_dir(named("summed")).glob("summed.hdf5*"))


def test_forced_fetch_keeps_the_good_copy_until_the_new_one_is_checked(
    server, hdf5_catalogue
) -> None:
    entry = named("small")
    path = ensure(entry, show_progress=False)[0]
    record = sidecar(path).read_text()
    server.content_type = "text/html"  # a login page instead of the file
    with pytest.raises(BenchError, match=r"the server sent a web page \(Content-Type text/html"):
        _fetch("small", "--force")
    assert path.read_bytes() == hdf5_catalogue["small"] and sidecar(path).read_text() == record
    server.content_type = "application/octet-stream"
    served = server.files.pop("small.hdf5")  # 404
    with pytest.raises(BenchError, match=r"HTTP 404"):
        ensure(entry, force=True, show_progress=False)
    assert path.read_bytes() == hdf5_catalogue["small"]
    ensure(entry, full_check=True)  # the kept copy still matches its record
    server.files["small.hdf5"] = served
    served.write_bytes(hdf5_catalogue["summed"])  # a new version
    ensure(entry, force=True, show_progress=False)
    assert path.read_bytes() == hdf5_catalogue["summed"]
    ensure(entry, full_check=True)
