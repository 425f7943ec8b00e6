"""Image corpora: untidy files never crash a run, splits are stated, downloads are checked."""

from __future__ import annotations

import io
import logging
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.corpora.download import ensure_caltech101, fetch, unpack
from bench.corpora.images import decode_rgb, load_image_set, scan_folder
from bench.corpora.synthetic_images import KINDS, write_image_folder
from bench.errors import BenchError

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "caltech101"


def jpeg_bytes(mode: str = "RGB", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    colour = {"RGB": (200, 10, 10), "L": 128, "CMYK": (0, 255, 255, 0)}[mode]
    Image.new(mode, size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def untidy(tmp_path: Path) -> Path:
    """A class-folder tree with every kind of bad or unusual file."""
    root = tmp_path / "101_ObjectCategories"
    for name in ("cats", "dogs", "BACKGROUND_Google"):
        (root / name).mkdir(parents=True)
    (root / "cats" / "rgb.jpg").write_bytes(jpeg_bytes())
    (root / "cats" / "grey.jpg").write_bytes(jpeg_bytes("L"))
    (root / "cats" / "cmyk.jpg").write_bytes(jpeg_bytes("CMYK"))
    (root / "cats" / "tiny.jpg").write_bytes(jpeg_bytes(size=(1, 1)))
    Image.new("P", (20, 20), 3).save(root / "dogs" / "palette.png")
    Image.new("RGBA", (20, 20), (1, 2, 3, 4)).save(root / "dogs" / "alpha.png")
    (root / "dogs" / "truncated.jpg").write_bytes(jpeg_bytes(size=(300, 300))[:200])
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / "fake.jpg").write_text("not a jpeg either")
    (root / "BACKGROUND_Google" / "clutter.jpg").write_bytes(jpeg_bytes())
    (root / "BACKGROUND_Google" / "tmp").write_text("junk")
    return root


def test_scan_skips_non_images_and_background(untidy: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        paths, _, classes = scan_folder(untidy)
    assert classes == ["cats", "dogs"]
    assert "dogs/notes.txt" not in paths and len(paths) == 8
    assert "notes.txt: not an image file" in caplog.text
    assert scan_folder(untidy, include_background=True)[2][0] == "BACKGROUND_Google"


def test_every_mode_decodes_to_rgb_and_bad_files_are_reported(untidy: Path, caplog) -> None:
    paths, _, _ = scan_folder(untidy)
    with caplog.at_level(logging.WARNING):
        images = {p: decode_rgb(untidy / p, 224) for p in paths}
    good = {p: im for p, im in images.items() if im is not None}
    assert all(im.mode == "RGB" for im in good.values())
    assert set(images) - set(good) == {"dogs/truncated.jpg", "dogs/fake.jpg"}
    assert "truncated.jpg" in caplog.text and "fake.jpg" in caplog.text
    assert good["cats/tiny.jpg"].size == (1, 1)


def test_seeded_split_is_stratified_and_deterministic(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "shapes", count=60, size=32, seed=1)
    first = load_image_set(root, split="seeded", seed=3)
    again = load_image_set(root, split="seeded", seed=3)
    assert np.array_equal(first.is_train, again.is_train)
    assert "seeded stratified" in first.split
    for label in range(len(KINDS)):
        assert (~first.is_train[first.labels == label]).sum() == round(10 / 3)


def test_provided_split_lists_are_used(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "set" / "101_ObjectCategories", count=12, size=32)
    names = sorted(f"{p.parent.name}/{p.name}" for p in root.rglob("*.jpg"))
    (tmp_path / "set" / "train.txt").write_text("\n".join(names[:8]))
    (tmp_path / "set" / "test.txt").write_text("\n".join(names[8:10]))
    image_set = load_image_set(root)
    assert image_set.split == "provided train.txt/test.txt"
    assert len(image_set.paths) == 10 and image_set.is_train.sum() == 8


def test_synthetic_images_are_deterministic(tmp_path: Path) -> None:
    a = write_image_folder(tmp_path / "a", count=7, size=48, seed=5)
    b = write_image_folder(tmp_path / "b", count=7, size=48, seed=5)
    files = sorted(p.relative_to(a) for p in a.rglob("*.jpg"))
    assert len(files) == 7
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def make_archive(tmp_path: Path) -> Path:
    source = write_image_folder(tmp_path / "src" / "101_ObjectCategories", count=6, size=32)
    archive = tmp_path / "101_ObjectCategories.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="101_ObjectCategories")
    return archive


def test_download_checks_the_checksum_and_unpacks(tmp_path: Path) -> None:
    from bench.corpora.download import file_digest

    archive = make_archive(tmp_path)
    md5 = file_digest(archive, "md5")
    cache = tmp_path / "cache"
    root = ensure_caltech101([tmp_path / "absent"], cache, archive.as_uri(), md5)
    assert root.name == "101_ObjectCategories" and len(list(root.rglob("*.jpg"))) == 6
    with pytest.raises(BenchError, match="checksum mismatch"):
        fetch(archive.as_uri(), tmp_path / "other.tar.gz", "0" * 32)
    assert not (tmp_path / "other.tar.gz").exists()


def test_absent_set_without_network_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"Caltech101 not found .* download failed"):
        ensure_caltech101(
            [tmp_path / "nowhere"],
            tmp_path / "cache",
            (tmp_path / "missing.tar.gz").as_uri(),
            "0" * 32,
        )


def test_unpack_refuses_a_non_archive(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_text("nope")
    with pytest.raises(BenchError, match="neither a zip nor a tar"):
        unpack(bogus, tmp_path / "out")


@pytest.mark.skipif(not CALTECH.exists(), reason=f"real Caltech101 not at {CALTECH}")
def test_real_caltech101_layout() -> None:
    image_set = load_image_set(CALTECH / "101_ObjectCategories")
    assert len(image_set.classes) == 101 and "BACKGROUND_Google" not in image_set.classes
    assert image_set.split == "provided train.txt/test.txt"
    assert 8000 < len(image_set.paths) < 9144
