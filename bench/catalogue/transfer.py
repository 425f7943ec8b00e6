"""Downloads people can trust: resumable, bounded in memory, atomic, verified.

`download(url, dest)` streams into `dest.part` in 1 MiB chunks (so memory stays bounded
whatever the file's size), resumes a `.part` left by an interrupted transfer with an HTTP
Range request, retries a dropped connection from where it stopped, checks the result
(`verify` callback: size, structure, shapes) and only then renames it to `dest`; a partial
file is therefore never taken for a complete one. A `limit` asks for a prefix of the remote
file (`Range: bytes=0-(limit-1)`), which is how big-ann-benchmarks' crops are fetched.

The client is the standard library's urllib: Range is one header, streaming is `read(n)`,
and no new dependency is needed. ann-benchmarks.com sits behind Cloudflare, which refuses
Python's default user agent, so a browser-like one is sent (as ann-benchmarks itself does).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
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

log = logging.getLogger(__name__)

CHUNK = 1 << 20
RETRIES = 3
USER_AGENT = "Mozilla/5.0 (compatible; bench ANN harness)"


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open(
    url: str, start: int, limit: int | None, timeout: float
) -> http.client.HTTPResponse | None:
    """The response from byte `start`; None when `start` is already the end of the file."""
    headers = {"User-Agent": USER_AGENT}
    if start or limit is not None:
        headers["Range"] = f"bytes={start}-{'' if limit is None else limit - 1}"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left after `start`: the part is complete
            return None
        raise BenchError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BenchError(
            f"cannot download {url}: {reason} (no network, or the host is unreachable)"
        ) from exc


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


def _transfer(url: str, part: Path, limit: int | None, progress: Progress, timeout: float) -> None:
    """One attempt: append to `part` from its current size until the end (or `limit`)."""
    start = part.stat().st_size if part.exists() else 0
    if limit is not None and start >= limit:
        with open(part, "r+b") as handle:
            handle.truncate(limit)
        return
    response = _open(url, start, limit, timeout)
    if response is None:
        return
    with response:
        if start and response.status != 206:  # the server ignored Range: start again
            log.info("%s: server does not resume (HTTP %s); restarting", url, response.status)
            start = 0
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


def download(
    url: str,
    dest: Path,
    limit: int | None = None,
    verify: Callable[[Path], None] | None = None,
    show_progress: bool = True,
    timeout: float = 60.0,
) -> str:
    """Download `url` (or its first `limit` bytes) to `dest`; return the file's sha256.

    `verify(part)` runs on the complete `.part` file and raises BenchError to refuse it
    (the part is then deleted); `dest` appears only after it passed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
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
                break
            except (ConnectionError, http.client.HTTPException, TimeoutError) as exc:
                done = part.stat().st_size if part.exists() else 0
                if attempt == RETRIES:
                    raise BenchError(
                        f"cannot download {url}: {exc}; {done} bytes kept in {part}, run the "
                        "same command again to resume"
                    ) from exc
                log.warning("%s: %s; resuming from byte %d", url, exc, done)
    if limit is not None and part.stat().st_size != limit:
        size = part.stat().st_size
        part.unlink()
        raise BenchError(f"{url}: got {size} bytes, expected a prefix of {limit} bytes")
    try:
        if verify is not None:
            verify(part)
    except BenchError:
        part.unlink(missing_ok=True)
        raise
    digest = sha256_of(part)
    os.replace(part, dest)
    return digest
