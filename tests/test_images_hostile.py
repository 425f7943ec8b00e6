"""Image folders a hostile user builds: extreme shapes, replaced files, odd names and links."""

from __future__ import annotations

import logging
import os
import shutil
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.download import file_digest
from bench.errors import BenchError
from bench.extractors.decode import decode_rgb
from bench.extractors.preprocess import (
    load_and_preprocess,
    preprocess,
    resize_and_crop,
    to_tensor,
)
from bench.extractors.zoo import get_spec
from bench.images.caltech import ensure_caltech101
from bench.images.features import image_corpus_from_spec
from bench.images.folders import load_image_set, scan_folder
from bench.runner.resident import peak_resident, resident_bytes
from tests.test_images import jpeg_bytes, make_tar_gz, mean_colour_onnx

MB = 1 << 20


def resize_then_crop(image: Image.Image, resize: int, size: int) -> Image.Image:
    """The reference: resize the whole image (shorter side to `resize`), then centre-crop."""
    width, height = image.size
    scale = resize / min(width, height)
    resized = image.resize(
        (max(size, round(width * scale)), max(size, round(height * scale))),
        Image.Resampling.BILINEAR,
    )
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    return resized.crop((left, top, left + size, top + size))


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """Smooth gradients plus noise: edges and flat areas, as photographs have."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    noisy = base + rng.normal(0, 30, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("shape", [(1, 65535), (65535, 1)])
def test_an_extreme_aspect_ratio_preprocesses_in_bounded_memory(
    tmp_path: Path, shape: tuple[int, int]
) -> None:
    """A 1 x 65535 PNG (a few hundred bytes) used to be scaled to 256 x 16.8M pixels (12.9 GB)
    before the centre crop; only the cropped square is resampled now."""
    path = tmp_path / "sliver.png"
    Image.new("RGB", shape, (250, 10, 10)).save(path)
    spec = get_spec("efficientnet-lite0")
    baseline = sum(resident_bytes())
    with peak_resident() as peak:
        tensor = load_and_preprocess(path, spec)
    assert peak.total_peak - baseline < 100 * MB, f"{(peak.total_peak - baseline) / MB:.0f} MB"
    assert tensor is not None and tensor.shape == (3, 224, 224)
    expected = (np.array([250, 10, 10], np.float32) - spec.mean) / spec.std
    assert np.allclose(tensor[:, 112, 112], expected, atol=1e-5), "the colour survives"


def test_ordinary_images_preprocess_as_before_and_slivers_within_a_grey_level() -> None:
    """Aspect ratios up to 16:1 give exactly resize-then-crop; past that only the crop is
    resampled, within a grey level of resize-then-crop (Pillow rounds its passes differently)."""
    spec = get_spec("efficientnet-lite0")
    ordinary = [(300, 200), (200, 300), (640, 480), (1000, 333), (224, 224), (257, 1023), (31, 17)]
    for seed, (width, height) in enumerate(ordinary):
        image = photo_like(width, height, seed)
        for resize, size in ((256, 224), (232, 224), (224, 224)):
            new = np.asarray(resize_and_crop(image, resize, size))
            assert np.array_equal(new, np.asarray(resize_then_crop(image, resize, size)))
        expected = to_tensor(resize_then_crop(image, spec.resize, spec.input_size), spec)
        assert np.array_equal(preprocess(image, spec), expected), (width, height)
    for seed, (width, height) in enumerate([(17, 300), (300, 17), (5, 1000), (40, 2000)]):
        image = photo_like(width, height, seed)
        new = np.asarray(resize_and_crop(image, 256, 224), np.int16)
        old = np.asarray(resize_then_crop(image, 256, 224), np.int16)
        assert new.shape == old.shape == (224, 224, 3)
        assert np.abs(new - old).max() <= 1, (width, height)


def corpus_spec(root: Path, tmp_path: Path) -> dict:
    return {
        "root": str(root),
        "split": "seeded",
        "model": "mean-colour",
        "onnx": str(mean_colour_onnx(tmp_path / "mean.onnx")),
        "preprocess": {"input_size": 32, "resize": 32, "mean": [0, 0, 0], "std": [1, 1, 1]},
    }


def colour_jpeg(path: Path, colour: tuple[int, int, int]) -> None:
    Image.new("RGB", (40, 30), colour).save(path, format="JPEG", quality=95)


def two_classes(root: Path) -> Path:
    """root/ants and root/bees, three small colour JPEGs each."""
    for name in ("ants", "bees"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            colour_jpeg(root / name / f"{i}.jpg", (200, 20 * i, 10))
    return root


def test_a_replaced_image_gets_new_features_and_a_new_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    root = two_classes(tmp_path / "set")
    (root / "ants" / "cut.jpg").write_bytes(jpeg_bytes(size=(300, 300))[:200])
    spec = corpus_spec(root, tmp_path)

    def vector_of(corpus, relative: str) -> np.ndarray:
        paths = corpus.info["train_paths"] + corpus.info["query_paths"]
        rows = np.concatenate([corpus.train, corpus.queries])
        return rows[paths.index(relative)]

    first = image_corpus_from_spec("mine", spec)
    assert first.info["failed_images"] == ["ants/cut.jpg"]
    assert image_corpus_from_spec("mine", spec).fingerprint == first.fingerprint, "stable"

    colour_jpeg(root / "bees" / "1.jpg", (10, 10, 240))  # same name, other picture
    shutil.copyfile(root / "ants" / "0.jpg", root / "ants" / "cut.jpg")  # the truncated one, fixed
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        second = image_corpus_from_spec("mine", spec)
    assert second.fingerprint != first.fingerprint
    assert second.info["failed_images"] == [] and "could not be decoded" not in caplog.text
    assert len(second.train) + len(second.queries) == 7, "the fixed image is embedded"
    blue = vector_of(second, "bees/1.jpg")
    assert blue[2] > 0.9 and blue[0] < 0.2, f"the new (blue) picture's features: {blue}"
    assert np.allclose(vector_of(second, "ants/cut.jpg"), vector_of(second, "ants/0.jpg"))

    moved = tmp_path / "elsewhere"
    shutil.copytree(root, moved)
    os.utime(moved / "ants" / "0.jpg", ns=(1, 1))  # touched: same bytes, other stat
    assert image_corpus_from_spec("mine", {**spec, "root": str(moved)}).fingerprint == (
        second.fingerprint
    ), "the same bytes anywhere are the same corpus"


def test_a_changed_url_or_checksum_is_downloaded_again(tmp_path: Path) -> None:
    six, four = tmp_path / "six", tmp_path / "four"
    first_archive, second_archive = make_tar_gz(six, count=6), make_tar_gz(four, count=4)
    cache = tmp_path / "cache"
    first_md5, second_md5 = file_digest(first_archive, "md5"), file_digest(second_archive, "md5")
    root = ensure_caltech101([], cache, first_archive.as_uri(), first_md5)
    assert len(list(root.rglob("*.jpg"))) == 6
    assert ensure_caltech101([], cache, first_archive.as_uri(), first_md5) == root, "reused"

    root = ensure_caltech101([], cache, second_archive.as_uri(), second_md5)
    assert len(list(root.rglob("*.jpg"))) == 4, "the archive the new url names"

    with pytest.raises(BenchError, match="download failed") as error:  # another checksum
        ensure_caltech101([], cache, second_archive.as_uri(), "1" * 32)
    assert "unpacked from another `url:` or `checksum:`" in str(error.value)
    assert len(list(root.rglob("*.jpg"))) == 4, "a failed download leaves the old set intact"


def test_the_download_hint_names_the_archive_the_url_names(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="download failed") as error:
        ensure_caltech101([], tmp_path / "cache", (tmp_path / "cal.zip").as_uri(), "0" * 32)
    assert f"at {tmp_path / 'cache' / 'cal.zip'}" in str(error.value)
    assert "caltech-101.zip" not in str(error.value)


def nfd_folder(tmp_path: Path) -> tuple[Path, list[str]]:
    """Files named in NFD on disk (as macOS writes them); their names in NFC."""
    root = tmp_path / "set" / "cats"
    names = []
    for label in ("café", "naïve"):
        folder = root / unicodedata.normalize("NFD", label)
        folder.mkdir(parents=True)
        for i in range(3):
            colour_jpeg(folder / unicodedata.normalize("NFD", f"crème_{i}.jpg"), (90, 90, 9))
            names.append(f"{label}/crème_{i}.jpg")
    return root, names


def test_split_lists_match_names_in_either_unicode_form(tmp_path: Path) -> None:
    root, names = nfd_folder(tmp_path)
    assert all(unicodedata.is_normalized("NFC", name) for name in names)
    (tmp_path / "set" / "train.txt").write_text("\n".join(names[:2] + names[3:5]) + "\n")
    (tmp_path / "set" / "test.txt").write_text("\n".join([names[2], names[5]]) + "\n")
    image_set = load_image_set(root)
    assert len(image_set.paths) == 6 and image_set.is_train.sum() == 4
    assert image_set.classes == tuple(unicodedata.normalize("NFD", c) for c in ("café", "naïve"))
    assert all(decode_rgb(path, 32) is not None for path in image_set.files), "on-disk names"


def test_unlisted_images_are_named_and_no_listed_image_is_a_clear_error(
    tmp_path: Path, caplog
) -> None:
    root, names = nfd_folder(tmp_path)
    (tmp_path / "set" / "train.txt").write_text(names[0] + "\n" + names[3])
    (tmp_path / "set" / "test.txt").write_text(names[1] + "\n" + names[4])
    with caplog.at_level(logging.WARNING):
        image_set = load_image_set(root)
    assert len(image_set.paths) == 4
    assert "2 images are in neither split list" in caplog.text
    assert all(unicodedata.normalize("NFD", n) in caplog.text for n in (names[2], names[5]))

    (tmp_path / "set" / "train.txt").write_text("dogs/1.jpg")
    (tmp_path / "set" / "test.txt").write_text("dogs/2.jpg")
    with pytest.raises(BenchError, match=r"no image of .* is left after the split lists"):
        load_image_set(root)


def test_folders_and_links_are_skipped_for_what_they_are(tmp_path: Path, caplog) -> None:
    root = tmp_path / "set"
    (root / "ants").mkdir(parents=True)
    colour_jpeg(root / "ants" / "real.jpg", (1, 2, 3))
    (root / "ants" / "folder.jpg").mkdir()
    (root / "ants" / "loop.jpg").symlink_to("loop.jpg")
    (root / "ants" / "to-folder.jpg").symlink_to(tmp_path)
    (root / "ants" / "dangling.jpg").symlink_to("nowhere.jpg")
    (root / "ants" / "linked.jpg").symlink_to(root / "ants" / "real.jpg")
    (root / "ants" / "notes.txt").write_text("text")
    with caplog.at_level(logging.WARNING):
        paths, _, _ = scan_folder(root)
    assert paths == ["ants/linked.jpg", "ants/real.jpg"]
    reasons = {
        "folder.jpg": "a folder, not an image file",
        "loop.jpg": "a symlink loop",
        "to-folder.jpg": "a symlink to a folder",
        "dangling.jpg": "a broken symlink (its target 'nowhere.jpg' does not exist)",
        "notes.txt": "not an image file (suffix '.txt'",
    }
    for name, reason in reasons.items():
        assert f"{root / 'ants' / name}: {reason}" in caplog.text
    assert "suffix '.jpg'" not in caplog.text


def test_an_image_over_pillows_pixel_limit_is_left_out_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """9600 x 9600 (92 Mpx, a 270 kB PNG) is over Pillow's warning limit but under its error
    limit: it used to be decoded (276 MB) with only a raw DecompressionBombWarning."""
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    root = two_classes(tmp_path / "set")
    Image.new("L", (9600, 9600)).save(root / "bees" / "huge.png")
    with warnings.catch_warnings(record=True) as raised, caplog.at_level(logging.WARNING):
        corpus = image_corpus_from_spec("mine", corpus_spec(root, tmp_path))
    assert corpus.info["failed_images"] == ["bees/huge.png"]
    assert f"skipping {root / 'bees' / 'huge.png'}: 9600 x 9600 = 92.2 megapixels" in caplog.text
    assert not [str(w.message) for w in raised if w.category is Image.DecompressionBombWarning]
