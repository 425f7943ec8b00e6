"""Extractors: ONNX export matches torch; features become a labelled corpus; bad images skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.corpora.registry import corpus_from_spec
from bench.errors import BenchError
from bench.extractors.weights import weights_identity
from bench.extractors.zoo import ZOO, get_spec
from bench.images.synthetic import KINDS, write_image_folder

torch = pytest.importorskip("torch", reason="torch (the `torch` extra) exports the models")

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "caltech101"
IMAGES = 6 * len(KINDS)  # the fine-tune test scores 10 neighbours within the test split


@pytest.fixture
def shapes(tmp_path: Path, bench_env: Path) -> Path:
    root = write_image_folder(tmp_path / "shapes", count=IMAGES, size=64, seed=2)
    (root / "circle" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def shapes_spec(root: Path) -> dict:
    return {
        "kind": "images",
        "root": str(root),
        "model": "efficientnet-lite0",
        "split": "seeded",
        "seed": 1,
    }


def test_lite0_onnx_matches_torch_and_gives_a_labelled_corpus(shapes: Path) -> None:
    corpus = corpus_from_spec("shapes-lite0", shapes_spec(shapes))
    export = corpus.info["export"]
    assert export["max_abs_diff"] < 1e-3, "onnxruntime must reproduce torch's features"
    assert export["feature_dim"] == 1280 and corpus.dim == 1280
    assert "sha256:57934424" in export["weights_identity"], "weights named by their hash"
    assert len(corpus.train) + len(corpus.queries) == IMAGES, "the broken JPEG is left out"
    assert corpus.info["failed_images"] == ["circle/broken.jpg"]
    assert corpus.has_labels and corpus.metric == "angular"
    assert sorted(corpus.info["classes"]) == sorted(KINDS)
    assert len(corpus.info["train_paths"]) == len(corpus.train)
    np.testing.assert_allclose(np.linalg.norm(corpus.train, axis=1), 1.0, rtol=1e-5)
    reduced = corpus_from_spec("shapes-lite0-pca8", {**shapes_spec(shapes), "pca": 8})
    assert reduced.dim == 8 and 0 < reduced.info["pca_explained_variance"] <= 1
    assert reduced.fingerprint != corpus.fingerprint


def test_cached_export_runs_without_torch(shapes: Path) -> None:
    """onnxruntime inference of an exported model needs no torch (nor any torch package)."""
    from bench.images.features import image_corpus

    with_torch = image_corpus(shapes, split="seeded", seed=1)
    script = (
        "import sys, json, numpy as np\n"
        "for name in ('torch', 'efficientnet_lite_pytorch', 'torchvision'):\n"
        "    sys.modules[name] = None  # importing them now fails\n"
        "from bench.images.features import image_corpus\n"
        f"c = image_corpus({str(shapes)!r}, split='seeded', seed=1)\n"
        "np.save(sys.argv[1], np.asarray(c.train))\n"
        "print(json.dumps(c.info['export']))\n"
    )
    out = shapes.parent / "no-torch.npy"
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["torch"] == torch.__version__
    np.testing.assert_array_equal(np.load(out), with_torch.train)


def test_a_user_onnx_with_its_preprocessing(shapes: Path) -> None:
    from bench.images.features import image_corpus

    zoo = image_corpus(shapes, split="seeded", seed=1)
    onnx_file = (
        Path(os.environ["BENCH_CACHE"]) / "models" / f"{zoo.info['export']['fingerprint']}.onnx"
    )
    lite0 = get_spec("efficientnet-lite0")
    preprocess = {"input_size": 224, "resize": 256, "mean": lite0.mean, "std": lite0.std}
    mine = corpus_from_spec(
        "mine",
        {**shapes_spec(shapes), "model": "mine", "onnx": str(onnx_file), "preprocess": preprocess},
    )
    assert mine.info["export"]["source"] == "user onnx"
    np.testing.assert_allclose(mine.train, zoo.train, atol=1e-6)
    assert mine.fingerprint != zoo.fingerprint


def test_extraction_throughput_rows(shapes: Path) -> None:
    from bench.extractors.throughput import extraction_benchmark

    files = sorted(shapes.rglob("image_*.jpg"))[:8]
    rows = extraction_benchmark("efficientnet-lite0", files, [4], [1], repetitions=1)
    stages = {(r["runtime"], r["stage"]) for r in rows}
    assert stages == {
        ("pillow", "decode"),
        ("pillow", "preprocess"),
        ("pillow", "decode+preprocess"),
        ("onnxruntime", "inference"),
        ("onnxruntime", "end-to-end"),
        ("torch", "inference"),
        ("torch", "end-to-end"),
    }
    for row in rows:
        assert row["images_per_s"] > 0 and row["feature_dim"] == 1280
        assert row["model_bytes"] > 1e6 and row["weights_random"] is False
    end_to_end = next(r for r in rows if r["stage"] == "end-to-end")
    assert end_to_end["images"] == 8 and end_to_end["failed_images"] == 0
    assert end_to_end["inference_busy_s"] > 0 and end_to_end["inference_wait_s"] >= 0
    assert all(r["decode_headroom"] > 0 for r in rows if r["stage"] == "inference")


def test_random_weights_are_flagged_in_the_fingerprint() -> None:
    from bench.extractors.export import model_fingerprint

    real = get_spec("efficientnet-lite0")
    random = get_spec("efficientnet-lite0", weights="random")
    assert random.flagged_random and not real.flagged_random
    assert model_fingerprint(real) != model_fingerprint(random)
    with pytest.raises(BenchError, match="unknown weights 'imagenet21k'"):
        get_spec("resnet50", weights="imagenet21k")


def test_user_onnx_needs_a_preprocessing_spec(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="preprocessing needs input_size, mean, std"):
        get_spec("mine", onnx_path=str(tmp_path / "m.onnx"), preprocess={})
    with pytest.raises(BenchError, match="unknown extractor 'alexnet'"):
        get_spec("alexnet")


def torchvision_or_skip() -> None:
    from bench.extractors.models import import_torchvision

    try:
        import_torchvision()
    except BenchError as exc:
        pytest.skip(f"the book's models need torchvision: {exc}")


def test_torchvision_weights_load_from_a_local_file(tmp_path: Path, bench_env: Path) -> None:
    """No network: a state dict saved here stands for torchvision's downloaded file."""
    torchvision_or_skip()
    from bench.extractors.export import export_onnx, model_fingerprint
    from bench.extractors.models import build_module, fetch_torchvision_weights, import_torchvision

    torch.manual_seed(7)
    state = import_torchvision().models.mobilenet_v2(weights=None).state_dict()
    local = tmp_path / "mobilenet_v2-local.pth"
    torch.save(state, local)
    spec = get_spec("mobilenet")
    assert fetch_torchvision_weights(spec, tmp_path, local) == local
    module = build_module(spec, tmp_path, local)
    loaded = module.state_dict()["features.0.0.weight"]
    assert torch.equal(loaded, state["features.0.0.weight"])
    sample = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    _, record = export_onnx(spec, sample, weights_file=local)
    assert record["feature_dim"] == 1280 and record["max_abs_diff"] < 1e-3
    assert record["weights_identity"].startswith("file sha256:")
    assert model_fingerprint(spec, local) != model_fingerprint(spec)
    with pytest.raises(BenchError, match="weights file not found"):
        fetch_torchvision_weights(get_spec("resnet50"), tmp_path, tmp_path / "absent.pth")
    wrong = r"has \d+ missing keys \(conv1.weight, .*\) and \d+ unexpected keys \(features"
    with pytest.raises(BenchError, match=rf"{wrong}.*: expected a torchvision resnet50 state"):
        build_module(get_spec("resnet50"), tmp_path, local)


def test_torchvision_weights_download_is_hash_checked(tmp_path: Path) -> None:
    """A download whose sha256 does not start with torchvision's published prefix is refused."""
    from bench.extractors import models

    served = tmp_path / "served" / "resnet50-0676ba61.pth"
    served.parent.mkdir()
    served.write_bytes(b"not the weights")
    spec = replace(get_spec("resnet50"), weights_source=served.as_uri())
    with pytest.raises(BenchError, match=r"checksum mismatch.*weights: random"):
        models.fetch_torchvision_weights(spec, tmp_path / "cache")
    assert not (tmp_path / "cache" / served.name).exists()


@pytest.mark.caltech
@pytest.mark.skipif(
    not (CALTECH / "101_ObjectCategories").is_dir(),
    reason=f"the real Caltech101 set is not at {CALTECH} (see shared/caltech101/README.md)",
)
def test_lite_weights_are_real_imagenet_weights() -> None:
    """Caltech airplanes are mostly classified as ImageNet aircraft by the shipped weights."""
    from bench.extractors.models import efficientnet_lite_classifier
    from bench.extractors.preprocess import load_and_preprocess

    aircraft = {404, 895, 908}  # ImageNet: airliner, warplane, wing
    spec = get_spec("efficientnet-lite0")
    model = efficientnet_lite_classifier(spec)
    files = [
        CALTECH / "101_ObjectCategories" / "airplanes" / f"image_{i:04d}.jpg" for i in range(1, 9)
    ]
    batch = torch.from_numpy(np.stack([load_and_preprocess(f, spec) for f in files]))
    with torch.inference_mode():
        top5 = model(batch).topk(5).indices.numpy()
    hits = sum(bool(aircraft & set(row.tolist())) for row in top5)
    assert hits >= 6, f"only {hits} of 8 airplanes have an aircraft class in the top 5: {top5}"


def test_finetune_trains_exports_and_scores_on_the_test_split(shapes: Path, tmp_path: Path) -> None:
    import pandas as pd

    from bench.images.finetune import FinetuneSettings
    from bench.images.finetune_stage import run_finetune

    settings = FinetuneSettings(epochs=2, trainable_blocks=1, batch_size=8)
    outcome = run_finetune(settings, tmp_path / "run", {"root": str(shapes)})
    record = outcome["record"]
    assert len(record["epoch_losses"]) == 2 and record["train_images"] > 0
    frame = pd.read_csv(tmp_path / "run" / "finetune.csv")
    assert list(frame["stage"]) == ["before", "after"]
    assert frame.loc[1, "weights"].startswith("finetuned:")
    assert (frame["protocol"] == "test split, leave-one-out").all()
    assert outcome["before"] != outcome["after"] or record["epoch_losses"][0] > 0
    assert (tmp_path / "run" / "plots" / "finetune-tsne-worst.png").exists()


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_entry_is_complete(name: str) -> None:
    """A model is one zoo entry: preprocessing, architecture and where its weights come from
    (adding an entry is tested here; the ONNX export of each family is tested above)."""
    spec = get_spec(name)
    assert spec.name == name and spec.family in ("efficientnet-lite", "torchvision")
    assert 0 < spec.input_size <= spec.resize and len(spec.mean) == len(spec.std) == 3
    assert spec.arch and spec.weights == "imagenet"
    assert spec.weights_source and spec.weights_sha256, "weights named by source and hash"
    assert weights_identity(spec).endswith(f"sha256:{spec.weights_sha256}")
