"""Download and unpack the Caltech101 archive (or any archive) with a checksum check.

Used only when the network allows; tests point it at a local archive through a file:// URL.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path

from bench.corpora.cache import atomic_path
from bench.errors import BenchError

log = logging.getLogger(__name__)

# The official archive (the md5 torchvision checks); override both in the dataset YAML.
CALTECH101_URL = (
    "http://www.vision.caltech.edu/Image_Datasets/Caltech101/101_ObjectCategories.tar.gz"
)
CALTECH101_MD5 = "b224c7392d521a49829488ab0f1120d9"


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, dest: Path, checksum: str, algorithm: str = "md5") -> Path:
    """Download `url` to `dest` (atomically) unless a file with the right checksum is there."""
    if dest.exists() and file_digest(dest, algorithm) == checksum:
        return dest
    log.info("downloading %s", url)
    try:
        with (
            atomic_path(dest) as tmp,
            urllib.request.urlopen(url, timeout=60) as response,
            open(tmp, "wb") as out,
        ):
            shutil.copyfileobj(response, out)
            out.close()
            found = file_digest(tmp, algorithm)
            if found != checksum:
                raise BenchError(
                    f"checksum mismatch for {url}: {algorithm} {found}, expected {checksum}"
                )
    except OSError as exc:
        raise BenchError(f"cannot download {url}: {exc}") from exc
    return dest


def unpack(archive: Path, dest: Path) -> None:
    """Unpack a .zip or .tar(.gz) archive, and any .tar.gz it contains (Caltech's zip does)."""
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tarred:
            tarred.extractall(dest, filter="data")
    else:
        raise BenchError(f"{archive} is neither a zip nor a tar archive")
    for inner in list(dest.rglob("*.tar.gz")):
        with tarfile.open(inner) as tarred:
            tarred.extractall(inner.parent, filter="data")
        inner.unlink()


def find_image_root(folder: Path, name: str = "101_ObjectCategories") -> Path | None:
    matches = sorted(folder.rglob(name))
    return next((m for m in matches if m.is_dir()), None)


def ensure_caltech101(
    candidates: list[Path], cache: Path, url: str = CALTECH101_URL, checksum: str = CALTECH101_MD5
) -> Path:
    """The 101_ObjectCategories folder: from the first existing candidate, else downloaded."""
    for candidate in candidates:
        if (root := find_image_root(candidate) if candidate.is_dir() else None) is not None:
            return root
    if (root := find_image_root(cache)) is not None:
        return root
    try:
        archive = fetch(url, cache / Path(url).name, checksum)
    except BenchError as exc:
        looked = ", ".join(str(c) for c in candidates)
        raise BenchError(
            f"Caltech101 not found (looked in {looked} and {cache}) and the "
            f"download failed: {exc}. Put the set in one of those folders "
            "(101_ObjectCategories/<class>/*.jpg) or set `root:` in the "
            "dataset YAML"
        ) from exc
    unpack(archive, cache)
    root = find_image_root(cache)
    if root is None:
        raise BenchError(f"{archive} did not contain a 101_ObjectCategories folder")
    return root
