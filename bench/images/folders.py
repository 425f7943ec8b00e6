"""Image folders in the Caltech101 layout (one sub-folder per class), robust to untidy files.

Non-image files are skipped with a warning; greyscale, CMYK, palette and alpha images are
converted to RGB; an image that cannot be decoded (corrupt or truncated) is reported by path
and left out, never a crash. The split is stated: the provided train/test lists when the
folder has them, else a seeded stratified split.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.extractors.decode import decode_rgb

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
IMAGE_SUFFIX_LIST = ", ".join(sorted(IMAGE_SUFFIXES))
BACKGROUND_CLASS = "BACKGROUND_Google"


@dataclass(frozen=True)
class ImageSet:
    """Image paths (relative to `root`) with class labels and a train/test split."""

    root: Path
    paths: tuple[str, ...]
    labels: np.ndarray  # int64, index into classes
    classes: tuple[str, ...]
    is_train: np.ndarray  # bool
    split: str  # how the split was made, for the results
    skipped: tuple[str, ...] = ()  # files left out by the scan (not images), relative to root

    def subset(self, keep: np.ndarray) -> ImageSet:
        return ImageSet(
            self.root,
            tuple(np.asarray(self.paths, dtype=object)[keep]),
            self.labels[keep],
            self.classes,
            self.is_train[keep],
            self.split,
            self.skipped,
        )

    def without_empty_classes(self, why: str) -> ImageSet:
        """The set without classes that have no image left (warned, by name); labels renumbered.

        An empty class would still count as a class: in per-category tables, in a fine-tuned
        classifier's outputs and in the number of classes the results report.
        """
        counts = np.bincount(self.labels, minlength=len(self.classes))
        empty = [name for name, count in zip(self.classes, counts, strict=True) if count == 0]
        if not empty:
            return self
        log.warning("%s: leaving out %d classes with %s: %s", self.root, len(empty), why, empty)
        renumber = np.cumsum(counts > 0) - 1
        return ImageSet(
            self.root,
            self.paths,
            renumber[self.labels].astype(np.int64),
            tuple(name for name, count in zip(self.classes, counts, strict=True) if count),
            self.is_train,
            self.split,
            self.skipped,
        )

    @property
    def files(self) -> list[Path]:
        return [self.root / p for p in self.paths]


def scan_folder(
    root: Path, include_background: bool = False
) -> tuple[list[str], list[int], list[str]]:
    """Relative image paths, labels and class names of a folder of class folders."""
    paths, labels, classes, _ = _scan(root, include_background)
    return paths, labels, classes


def _scan(
    root: Path, include_background: bool
) -> tuple[list[str], list[int], list[str], list[str]]:
    if not root.is_dir():
        raise BenchError(
            f"image folder not found: {root} (expected a folder with one sub-folder per class)"
        )
    classes = sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and (include_background or p.name != BACKGROUND_CLASS)
    )
    if not classes:
        raise BenchError(
            f"image folder {root} has no class sub-folders: expected <class>/<image> files"
        )
    paths, labels, skipped = [], [], []
    for label, name in enumerate(classes):
        for file in sorted((root / name).iterdir()):
            if (reason := not_an_image(file)) is not None:
                log.warning("skipping %s: %s", file, reason)
                skipped.append(f"{name}/{file.name}")
                continue
            paths.append(f"{name}/{file.name}")
            labels.append(label)
    if not paths:
        raise BenchError(f"image folder {root}: no image files ({IMAGE_SUFFIX_LIST})")
    return paths, labels, classes, skipped


def not_an_image(file: Path) -> str | None:
    """Why `file` is not an image file to decode (None when it is one)."""
    try:
        target = file.stat()  # follows links
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        if file.is_symlink():
            return f"a broken symlink (its target {os.readlink(file)!r} does not exist)"
        return f"cannot be read ({exc.strerror})"
    link = "a symlink to " if file.is_symlink() else ""
    if stat.S_ISDIR(target.st_mode):
        return f"{link}a folder, not an image file"
    if not stat.S_ISREG(target.st_mode):
        return f"{link}a special file (not a regular file)"
    if file.suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image file (suffix {file.suffix!r}, expected one of {IMAGE_SUFFIX_LIST})"
    return None


def nfc(name: str) -> str:
    """`name` in Unicode NFC: macOS writes file names decomposed (NFD), most editors NFC."""
    return unicodedata.normalize("NFC", name)


def split_lists(folder: Path) -> tuple[set[str], set[str]] | None:
    """The provided split (train.txt / test.txt beside the image folder), if there is one.

    Names are NFC-normalised, to be matched against NFC-normalised paths.
    """
    train, test = folder.parent / "train.txt", folder.parent / "test.txt"
    if not (train.exists() and test.exists()):
        return None
    return listed_names(train), listed_names(test)


def listed_names(path: Path) -> set[str]:
    """The NFC names in a split list, one a line (blank lines and a BOM ignored)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines())
    return {nfc(line) for line in lines if line}


def named(paths: list[str], shown: int = 5) -> str:
    """A few of `paths`, and how many more there are."""
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def seeded_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Stratified: within each class, a seeded shuffle puts `test_fraction` in the test set."""
    rng = np.random.default_rng(seed)
    is_train = np.ones(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        is_train[members[: round(len(members) * test_fraction)]] = False
    return is_train


def load_image_set(
    root: Path,
    include_background: bool = False,
    split: str = "provided",
    test_fraction: float = 1 / 3,
    seed: int = 0,
) -> ImageSet:
    """Scan `root` and split it: `provided` lists when present (else seeded), or `seeded`."""
    paths, labels, classes, skipped = _scan(root, include_background)
    label_array = np.asarray(labels, dtype=np.int64)
    lists = split_lists(root) if split == "provided" else None
    if lists is not None:
        train, test = lists
        keys = [nfc(p) for p in paths]
        is_train = np.array([key in train for key in keys])
        listed = np.array([key in train or key in test for key in keys])
        how = "provided train.txt/test.txt"
        unlisted = [p for p, ok in zip(paths, listed, strict=True) if not ok]
        if not listed.any():
            raise BenchError(
                f"no image of {root} is left after the split lists: none of its {len(paths)} "
                f"images ({named(unlisted)}) is named in {root.parent / 'train.txt'} or "
                "test.txt; expected lines like '<class>/<file>' (or use `split: seeded`)"
            )
        if unlisted:
            log.warning(
                "%s: %d images are in neither split list; they are left out: %s",
                root,
                len(unlisted),
                named(unlisted),
            )
        image_set = ImageSet(
            root, tuple(paths), label_array, tuple(classes), is_train, how, tuple(skipped)
        )
        return image_set.subset(listed).without_empty_classes("no listed image files")
    if split == "provided":
        log.info("%s has no train.txt/test.txt beside it: using a seeded split", root)
    if split not in ("provided", "seeded"):
        raise BenchError(f"unknown split {split!r}: expected 'provided' or 'seeded'")
    is_train = seeded_split(label_array, test_fraction, seed)
    how = f"seeded stratified (test fraction {test_fraction:.3f}, seed {seed})"
    image_set = ImageSet(
        root, tuple(paths), label_array, tuple(classes), is_train, how, tuple(skipped)
    )
    return image_set.without_empty_classes("no image files")


def undecodable(image_set: ImageSet, threads: int = 4) -> list[str]:
    """The paths (relative to the root) of the images Pillow cannot decode, each logged."""
    with ThreadPoolExecutor(threads) as pool:
        decoded = pool.map(lambda p: decode_rgb(image_set.root / p, 64) is None, image_set.paths)
        return [p for p, bad in zip(image_set.paths, decoded, strict=True) if bad]
