"""Where an image dataset's folder is: a `root:` folder, or Caltech101 found or downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import paths
from bench.download import COMPLETE_MARKER, archive_name, download_and_unpack, unpacked_from
from bench.errors import BenchError

# The official archive on CaltechDATA (doi:10.22002/D1.20086): caltech-101.zip wraps
# 101_ObjectCategories.tar.gz and Annotations.tar. The old 101_ObjectCategories.tar.gz
# (md5 b224c7392d521a49829488ab0f1120d9) works too, given as `url:` and `checksum:`.
CALTECH101_URL = "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip?download=1"
CALTECH101_MD5 = "md5:3138e1922a9193bfa496528edbbc45d0"
CALTECH101_FOLDER = "101_ObjectCategories"
CALTECH_CANDIDATES = (paths.PROJECT_ROOT.parent / "shared" / "caltech101",)


def find_image_root(folder: Path, name: str = CALTECH101_FOLDER) -> Path | None:
    """The shallowest folder called `name` under `folder` (or `folder` itself)."""
    if folder.name == name and folder.is_dir():
        return folder
    if not folder.is_dir():
        return None
    matches_ = sorted(folder.rglob(name), key=lambda p: (len(p.parts), str(p)))
    return next((m for m in matches_ if m.is_dir()), None)


def ensure_caltech101(
    candidates: list[Path],
    cache: Path,
    url: str = CALTECH101_URL,
    checksum: str = CALTECH101_MD5,
) -> Path:
    """The 101_ObjectCategories folder: in the first candidate that has it, else downloaded.

    A folder unpacked earlier is used only when it came from the same `url` and `checksum`;
    when either changed, the archive they name is fetched and unpacked in its place.

    Raises BenchError naming every place looked in, and how to provide the set, when it is
    nowhere and the download fails (no network, bad checksum).
    """
    for candidate in candidates:
        if (root := find_image_root(candidate)) is not None:
            return root
    unpacked = cache / "unpacked"
    if unpacked_from(unpacked, url, checksum) and (root := find_image_root(unpacked)):
        return root  # unpacked from this very `url:` and `checksum:` (else downloaded again)
    try:
        unpacked = download_and_unpack(url, checksum, cache)
    except BenchError as exc:
        looked = ", ".join(str(c) for c in [*candidates, unpacked])
        if (unpacked / COMPLETE_MARKER).exists():  # from another url or checksum
            looked += " (which holds a set unpacked from another `url:` or `checksum:`)"
        raise BenchError(
            f"Caltech101 not found (looked in {looked}) and the download failed: {exc}. "
            f"Put the set in one of those folders ({CALTECH101_FOLDER}/<class>/*.jpg, with "
            "train.txt/test.txt beside it if you have them), set `root:` in the dataset YAML, "
            f"or place the archive (the file {url} serves) at {cache / archive_name(url)}"
        ) from exc
    root = find_image_root(unpacked)
    if root is None:
        raise BenchError(f"the archive from {url} did not contain a {CALTECH101_FOLDER} folder")
    return root


def image_root(spec: dict[str, Any]) -> Path:
    """The image folder a dataset spec names: `root:`, else Caltech101 (found or downloaded).

    A `root:` holding a 101_ObjectCategories folder means that folder (so both the set's
    folder and the category folder itself work); relative roots are taken from the project.
    """
    if "root" not in spec:
        if spec.get("dataset", "caltech101") != "caltech101":
            raise BenchError(
                f"image dataset {spec.get('dataset')!r}: expected `dataset: caltech101` or "
                "a `root:` folder with one sub-folder per class"
            )
        return ensure_caltech101(
            list(CALTECH_CANDIDATES),
            paths.cache_dir() / "caltech101",
            spec.get("url", CALTECH101_URL),
            spec.get("checksum", spec.get("md5", CALTECH101_MD5)),
        )
    root = Path(spec["root"]).expanduser()
    root = root if root.is_absolute() else paths.PROJECT_ROOT / root
    if (root / CALTECH101_FOLDER).is_dir():
        return root / CALTECH101_FOLDER
    if not root.is_dir():
        raise BenchError(
            f"image folder not found: {root} (from `root:`); expected a folder with one "
            "sub-folder per class"
        )
    return root
