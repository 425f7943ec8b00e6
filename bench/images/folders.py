"""Image folders in the Caltech101 layout (one sub-folder per class), robust to untidy files.

Non-image files are skipped with a warning; greyscale, CMYK, palette and alpha images are
converted to RGB; an image that cannot be decoded (corrupt or truncated) is reported by path
and left out, never a crash. The split is stated: the provided train/test lists when the
folder has them, else a seeded stratified split.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.extractors.decode import decode_rgb
from bench.storage import fingerprint

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
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
    def fingerprint(self) -> str:
        """Identity of the image list: which files, in which class, on which side of the split."""
        return fingerprint(
            "image-set", str(self.root), self.paths, self.labels.tolist(), self.is_train.tolist()
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
            if not file.is_file() or file.suffix.lower() not in IMAGE_SUFFIXES:
                log.warning("skipping %s: not an image file (suffix %r)", file, file.suffix)
                skipped.append(f"{name}/{file.name}")
                continue
            paths.append(f"{name}/{file.name}")
            labels.append(label)
    if not paths:
        raise BenchError(f"image folder {root}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return paths, labels, classes, skipped


def split_lists(folder: Path) -> tuple[set[str], set[str]] | None:
    """The provided split (train.txt / test.txt beside the image folder), if there is one."""
    train, test = folder.parent / "train.txt", folder.parent / "test.txt"
    if not (train.exists() and test.exists()):
        return None
    read = lambda p: {line.strip() for line in p.read_text().splitlines() if line.strip()}  # noqa: E731
    return read(train), read(test)


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
        is_train = np.array([p in train for p in paths])
        listed = np.array([p in train or p in test for p in paths])
        how = "provided train.txt/test.txt"
        if not listed.all():
            log.warning(
                "%d images are in neither split list; they are left out", int((~listed).sum())
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
