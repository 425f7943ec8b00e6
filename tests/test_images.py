"""Image corpora: untidy files never crash a run, splits are stated, downloads are checked."""

from __future__ import annotations

import io
import json
import logging
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.download import file_digest, parse_checksum, unpack
from bench.errors import BenchError
from bench.extractors.decode import decode_rgb
from bench.extractors.preprocess import load_and_preprocess
from bench.extractors.zoo import get_spec
from bench.images.caltech import ensure_caltech101
from bench.images.folders import load_image_set, scan_folder, undecodable
from bench.images.synthetic import KINDS, synthetic_jpeg, write_image_folder

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "caltech101"


def jpeg_bytes(mode: str = "RGB", size: tuple[int, int] = (40, 30), noisy: bool = False) -> bytes:
    buffer = io.BytesIO()
    if noisy:
        pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
        image = Image.fromarray(pixels)
    else:
        colour = {"RGB": (200, 10, 10), "L": 128, "CMYK": (0, 255, 255, 0)}[mode]
        image = Image.new(mode, size, colour)
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


BAD = {"dogs/truncated.jpg", "dogs/half.jpg", "dogs/fake.jpg"}


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
    Image.new("I;16", (20, 20), 300).save(root / "dogs" / "deep.png")
    (root / "dogs" / "truncated.jpg").write_bytes(jpeg_bytes(size=(300, 300))[:200])
    whole = jpeg_bytes(size=(400, 300), noisy=True)
    (root / "dogs" / "half.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / "fake.jpg").write_text("not a jpeg either")
    (root / "dogs" / "subfolder.jpg").mkdir()
    (root / "BACKGROUND_Google" / "clutter.jpg").write_bytes(jpeg_bytes())
    (root / "BACKGROUND_Google" / "tmp").write_text("junk")
    return root


def test_scan_skips_non_images_and_background(untidy: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        paths, _, classes = scan_folder(untidy)
    assert classes == ["cats", "dogs"]
    assert "dogs/notes.txt" not in paths and "dogs/subfolder.jpg" not in paths
    assert len(paths) == 10
    assert "notes.txt: not an image file" in caplog.text
    assert scan_folder(untidy, include_background=True)[2][0] == "BACKGROUND_Google"
    image_set = load_image_set(untidy, split="seeded")
    assert set(image_set.skipped) == {"dogs/notes.txt", "dogs/subfolder.jpg"}


def test_every_mode_decodes_to_rgb_and_bad_files_are_reported(untidy: Path, caplog) -> None:
    paths, _, _ = scan_folder(untidy)
    with caplog.at_level(logging.WARNING):
        images = {p: decode_rgb(untidy / p, 224) for p in paths}
    good = {p: im for p, im in images.items() if im is not None}
    assert all(im.mode == "RGB" for im in good.values())
    assert set(images) - set(good) == BAD
    assert all(Path(p).name in caplog.text for p in BAD), "each bad file is logged by path"
    assert good["cats/tiny.jpg"].size == (1, 1)
    assert good["cats/cmyk.jpg"].getpixel((0, 0))[0] > 200, "CMYK red stays red"


def test_whole_untidy_set_preprocesses_without_crashing(untidy: Path) -> None:
    image_set = load_image_set(untidy, split="seeded", seed=0)
    assert set(undecodable(image_set, threads=2)) == BAD
    spec = get_spec("efficientnet-lite0")
    tensors = {p: load_and_preprocess(untidy / p, spec) for p in image_set.paths}
    assert {p for p, t in tensors.items() if t is None} == BAD
    for tensor in (t for t in tensors.values() if t is not None):
        assert tensor.shape == (3, 224, 224) and tensor.dtype == np.float32
        assert np.isfinite(tensor).all() and np.abs(tensor).max() <= 1.0


def test_seeded_split_is_stratified_and_deterministic(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "shapes", count=90, size=32, seed=1)
    first = load_image_set(root, split="seeded", seed=3)
    again = load_image_set(root, split="seeded", seed=3)
    other = load_image_set(root, split="seeded", seed=4)
    assert np.array_equal(first.is_train, again.is_train)
    assert not np.array_equal(first.is_train, other.is_train)
    assert "seeded stratified" in first.split
    for label in range(len(KINDS)):
        assert (~first.is_train[first.labels == label]).sum() == 3  # a third of 9


def test_provided_split_lists_are_used(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "set" / "101_ObjectCategories", count=12, size=32)
    names = sorted(f"{p.parent.name}/{p.name}" for p in root.rglob("*.jpg"))
    (tmp_path / "set" / "train.txt").write_text("\n".join(names[:8]))
    (tmp_path / "set" / "test.txt").write_text("\n".join(names[8:10]))
    image_set = load_image_set(root)
    assert image_set.split == "provided train.txt/test.txt"
    assert len(image_set.paths) == 10 and image_set.is_train.sum() == 8
    assert load_image_set(root, split="seeded").split.startswith("seeded")
    with pytest.raises(BenchError, match="expected 'provided' or 'seeded'"):
        load_image_set(root, split="random")


def test_missing_or_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="image folder not found"):
        load_image_set(tmp_path / "absent")
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    with pytest.raises(BenchError, match="no image files"):
        load_image_set(tmp_path / "empty")


def test_synthetic_images_are_deterministic(tmp_path: Path) -> None:
    a = write_image_folder(tmp_path / "a", count=len(KINDS) + 2, size=48, seed=5)
    b = write_image_folder(tmp_path / "b", count=len(KINDS) + 2, size=48, seed=5)
    files = sorted(p.relative_to(a) for p in a.rglob("*.jpg"))
    assert len(files) == len(KINDS) + 2
    assert {f.parent.name for f in files} == set(KINDS), "the class is the folder"
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert synthetic_jpeg(3, 48, seed=5) != synthetic_jpeg(3, 48, seed=6)
    with Image.open(io.BytesIO(synthetic_jpeg(0, 100, seed=1))) as image:
        assert image.format == "JPEG" and image.size == (100, 100)


def make_tar_gz(tmp_path: Path, count: int = 6) -> Path:
    source = write_image_folder(tmp_path / "src" / "101_ObjectCategories", count=count, size=32)
    archive = tmp_path / "101_ObjectCategories.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="101_ObjectCategories")
    return archive


def test_download_checks_the_checksum_and_unpacks(tmp_path: Path) -> None:
    archive = make_tar_gz(tmp_path)
    md5 = file_digest(archive, "md5")
    cache = tmp_path / "cache"
    root = ensure_caltech101([tmp_path / "absent"], cache, archive.as_uri(), md5)
    assert root.name == "101_ObjectCategories" and len(list(root.rglob("*.jpg"))) == 6
    assert ensure_caltech101([], cache, archive.as_uri(), md5) == root, "reused"
    archive.unlink()
    assert ensure_caltech101([], cache, archive.as_uri(), md5) == root, "not fetched again"


def test_zip_wrapping_the_tar_gz_with_sha256_from_a_local_path(tmp_path: Path) -> None:
    """caltech-101.zip holds caltech-101/101_ObjectCategories.tar.gz (and Annotations.tar)."""
    inner = make_tar_gz(tmp_path, count=4)
    wrapper = tmp_path / "caltech-101.zip"
    with zipfile.ZipFile(wrapper, "w") as zipped:
        zipped.write(inner, "caltech-101/101_ObjectCategories.tar.gz")
        zipped.writestr("caltech-101/show_annotation.m", "% matlab")
    sha256 = f"sha256:{file_digest(wrapper, 'sha256')}"
    leftover = tmp_path / "cache" / ".unpacking"  # an interrupted earlier unpack
    (leftover / "101_ObjectCategories").mkdir(parents=True)
    root = ensure_caltech101([], tmp_path / "cache", str(wrapper), sha256)
    assert root.parent.name == "caltech-101" and len(list(root.rglob("*.jpg"))) == 4
    assert not (tmp_path / "cache" / ".unpacking").exists()
    assert not list(root.parent.glob("*.tar.gz")), "the inner archive is unpacked and removed"


def test_checksum_forms() -> None:
    assert parse_checksum("md5:ABCDEF0123456789abcdef0123456789")[0] == "md5"
    assert parse_checksum("a" * 64) == ("sha256", "a" * 64)
    assert parse_checksum("sha256:0676ba61") == ("sha256", "0676ba61")  # a published prefix
    for bad in ("crc32:1234abcd", "sha256:xyz", "md5:12"):
        with pytest.raises(BenchError, match="checksum"):
            parse_checksum(bad)


def test_absent_set_without_network_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=r"Caltech101 not found .* download failed") as error:
        ensure_caltech101(
            [tmp_path / "nowhere"],
            tmp_path / "cache",
            (tmp_path / "missing.tar.gz").as_uri(),
            "0" * 32,
        )
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "root:" in message


def test_unpack_refuses_a_non_archive(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_text("nope")
    with pytest.raises(BenchError, match="neither a zip nor a tar"):
        unpack(bogus, tmp_path / "out")


@pytest.mark.caltech
@pytest.mark.skipif(
    not (CALTECH / "101_ObjectCategories").is_dir(),
    reason=f"the real Caltech101 set is not at {CALTECH} (see shared/caltech101/README.md)",
)
def test_real_caltech101_layout() -> None:
    image_set = load_image_set(CALTECH / "101_ObjectCategories")
    assert len(image_set.classes) == 101 and "BACKGROUND_Google" not in image_set.classes
    assert image_set.split == "provided train.txt/test.txt"
    assert len(image_set.paths) == 8677 and int(image_set.is_train.sum()) == 5784
    assert np.bincount(image_set.labels).min() >= 31
    with_background = load_image_set(CALTECH / "101_ObjectCategories", include_background=True)
    assert len(with_background.classes) == 102
    assert "BACKGROUND_Google/tmp" in with_background.skipped
    airplanes = image_set.classes.index("airplanes")
    first = image_set.paths[int(np.flatnonzero(image_set.labels == airplanes)[0])]
    assert decode_rgb(image_set.root / first, 256).mode == "RGB"


def test_16_bit_greyscale_png_is_scaled_to_8_bits(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    decoded = np.asarray(decode_rgb(tmp_path / "deep.png", 64))
    assert decoded.shape == (30, 40, 3)
    expected = np.round(ramp / 257).astype(np.uint8)
    assert np.abs(decoded[..., 0].astype(int) - expected).max() <= 1, "a ramp stays a ramp"
    assert (decoded == 255).mean() < 0.01, "not clipped to white"


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """Stored 40 wide, left half red and right half blue, with orientation 6 (rotate 90 CW)."""
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:] = (0, 0, 255)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "sideways.jpg", exif=exif, quality=95)
    upright = decode_rgb(tmp_path / "sideways.jpg", 64)
    assert upright is not None and upright.size == (20, 40), "width and height swap"
    top, bottom = upright.getpixel((10, 5)), upright.getpixel((10, 34))
    assert top[0] > 200 and top[2] < 60, f"the stored left (red) is on top: {top}"
    assert bottom[2] > 200 and bottom[0] < 60, f"the stored right (blue) is at the bottom: {bottom}"


def test_empty_class_folders_are_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    root = tmp_path / "set"
    for name in ("ants", "bees", "empty", "notes_only"):
        (root / name).mkdir(parents=True)
    for name in ("ants", "bees"):
        for i in range(3):
            (root / name / f"{i}.jpg").write_bytes(jpeg_bytes())
    (root / "notes_only" / "readme.txt").write_text("no images here")
    with caplog.at_level(logging.WARNING):
        image_set = load_image_set(root, split="seeded")
    assert image_set.classes == ("ants", "bees")
    assert sorted(set(image_set.labels.tolist())) == [0, 1]
    assert [image_set.classes[label] for label in image_set.labels] == ["ants"] * 3 + ["bees"] * 3
    assert "leaving out 2 classes" in caplog.text and "'empty'" in caplog.text


def mean_colour_onnx(path: Path) -> Path:
    """A tiny real ONNX extractor: the mean of each colour channel (3 features)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["features"]),
        ],
        "mean-colour",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, 32, 32])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_image_spec_given_directly_is_checked_by_the_kinds_schema() -> None:
    from bench.images.features import image_corpus_from_spec

    with pytest.raises(BenchError, match=r"^dataset 'mine': unknown key 'modle': expected one of"):
        image_corpus_from_spec("mine", {"modle": "mean-colour"})
    with pytest.raises(BenchError, match=r"^dataset 'mine': unknown key 'modle'"):  # not 'kind'
        image_corpus_from_spec(
            "mine", {"kind": "images", "description": "mine", "modle": "mean-colour"}
        )


def test_undecodable_images_are_reported_on_every_run_and_empty_classes_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from bench.images.features import image_corpus_from_spec

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "set"
    for name in ("ants", "bees", "broken"):
        (root / name).mkdir(parents=True)
    for name in ("ants", "bees"):
        for i in range(4):
            (root / name / f"{i}.jpg").write_bytes(jpeg_bytes(noisy=i % 2 == 1))
    (root / "ants" / "cut.jpg").write_bytes(jpeg_bytes(size=(300, 300))[:200])
    for i in range(2):
        (root / "broken" / f"{i}.jpg").write_text("not a jpeg")
    spec = {
        "root": str(root),
        "split": "seeded",
        "model": "mean-colour",
        "onnx": str(mean_colour_onnx(tmp_path / "mean.onnx")),
        "preprocess": {"input_size": 32, "resize": 32, "mean": [0, 0, 0], "std": [1, 1, 1]},
    }
    bad = {"ants/cut.jpg", "broken/0.jpg", "broken/1.jpg"}
    for run in ("first", "cached"):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            corpus = image_corpus_from_spec("mine", spec)
        assert set(corpus.info["failed_images"]) == bad, run
        assert "3 images could not be decoded" in caplog.text, f"{run} run reports them"
        assert all(path in caplog.text for path in bad), run
        assert corpus.info["classes"] == ["ants", "bees"], f"{run}: 'broken' has no image left"
        assert len(corpus.train) + len(corpus.queries) == 8
        labels = np.concatenate([corpus.train_labels, corpus.query_labels])
        assert sorted(set(labels.tolist())) == [0, 1]


@pytest.fixture
def shape_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The image stage's views (t-SNE, query grid) of a synthetic shapes folder, with the
    real mean-colour ONNX extractor: the run directory, the features and the answers."""
    from bench.images.features import extract_features, extractor_spec
    from bench.images.quality import evaluate
    from bench.images.stage import image_views

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    root = write_image_folder(tmp_path / "shapes", count=4 * len(KINDS), size=48, seed=2)
    spec = extractor_spec(
        {
            "model": "mean-colour",
            "onnx": str(mean_colour_onnx(tmp_path / "mean.onnx")),
            "preprocess": {"input_size": 32, "resize": 32, "mean": [0, 0, 0], "std": [1, 1, 1]},
        }
    )
    features = extract_features(load_image_set(root, split="seeded", seed=1), spec)
    kept = features.image_set
    _, answers = evaluate(features.vectors, kept.labels, kept.is_train)
    run_dir = tmp_path / "run"
    (run_dir / "plots").mkdir(parents=True)
    image_views("mean-colour", features, answers, run_dir, {})
    return run_dir, features, answers


def test_tsne_points_carry_class_path_and_thumbnail_into_the_report(shape_views) -> None:
    import base64

    from bench.images.plots import THUMB_PX, tsne_points
    from bench.report import html, markdown
    from bench.report.document import Report
    from bench.report.sections import tsne

    run_dir, features, _ = shape_views
    kept = features.image_set
    table = pd.read_csv(run_dir / "tsne.csv")
    assert list(table.columns) == ["model", "x", "y", "class", "path", "thumbnail"]
    assert len(table) == int((~kept.is_train).sum()) and set(table["model"]) == {"mean-colour"}
    assert (table["path"].str.split("/").str[0] == table["class"]).all(), "class of the folder"
    assert all((kept.root / path).exists() for path in table["path"])
    assert table["thumbnail"].str.startswith("data:image/jpeg;base64,").all()
    thumbnail = base64.b64decode(table["thumbnail"].iloc[0].split(",", 1)[1])
    assert Image.open(io.BytesIO(thumbnail)).size == (THUMB_PX, THUMB_PX)
    assert (run_dir / "plots" / "tsne-mean-colour.png").exists()
    paths = list(kept.paths[:30])
    sample = tsne_points(np.zeros((30, 2)), np.zeros(30, int), ("a",), paths, kept.root, 7)
    assert len(sample) == 7, "the points kept (and the report's size) are bounded"

    part = tsne.section(pd.DataFrame(), run_dir)
    assert part is not None and part.title == "t-SNE of image features"
    assert part.images == (run_dir / "plots" / "tsne-mean-colour.png",)
    traces = part.figures[0].data
    assert {trace.name for trace in traces} == set(table["class"])
    hovered = {row[0]: row[1] for trace in traces for row in trace.customdata}
    assert hovered == dict(zip(table["thumbnail"], table["path"], strict=True))
    page = html.render(Report("images", run_dir, [part]))
    assert page.count('data-figure="1"') == 1 and "figure-drawn" in page
    spec = re.search(r'<script type="application/json" id="[^"]+-data">(.*?)</script>', page)
    drawn = json.loads(spec.group(1).replace("<\\/", "</"))["data"]
    assert {row[0] for trace in drawn for row in trace["customdata"]} == set(table["thumbnail"])
    assert "image-hover" in page, "the hover script that shows the thumbnails is in the page"
    assert "tsne.csv" in tsne.TABLE and "![tsne-mean-colour]" in markdown.render(
        Report("images", run_dir, [part]), run_dir
    )


def test_query_grid_writes_class_and_distance_on_each_result(shape_views) -> None:
    from bench.images.plots import query_figure
    from bench.images.stage import query_results

    run_dir, features, answers = shape_views
    assert (run_dir / "plots" / "queries-mean-colour.png").stat().st_size > 0
    rows = query_results(features, answers)
    assert len(rows) == 8 and all(len(row.results) == 6 for row in rows)
    vectors = features.vectors / np.linalg.norm(features.vectors, axis=1, keepdims=True)
    by_path = {path: i for i, path in enumerate(features.image_set.paths)}
    root = features.image_set.root
    for row in rows:
        assert row.distances == sorted(row.distances), "nearest first"
        query = vectors[by_path[row.query.relative_to(root).as_posix()]]
        first = vectors[by_path[row.results[0].relative_to(root).as_posix()]]
        assert row.distances[0] == pytest.approx(1 - query @ first, abs=1e-5)
        assert row.classes == [file.parent.name for file in row.results]
    fig = query_figure(rows)
    titles = [(ax.get_title(), ax.title.get_color()) for ax in fig.axes if ax.get_title()]
    assert len(titles) == 8 * 7
    for row in rows:
        assert (f"query\n{row.query_class}", "black") in titles
        for name, distance, hit in zip(row.classes, row.distances, row.hits, strict=True):
            assert (f"{name}\nd={distance:.3f}", "green" if hit else "red") in titles
