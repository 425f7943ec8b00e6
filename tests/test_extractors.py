"""Extractors: ONNX export matches torch; features become a labelled corpus; bad images skip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.corpora.registry import corpus_from_spec
from bench.corpora.synthetic_images import write_image_folder
from bench.errors import BenchError
from bench.extractors.zoo import get_spec

torch = pytest.importorskip("torch", reason="torch (the `torch` extra) exports the models")


@pytest.fixture
def shapes(tmp_path: Path, bench_env: Path) -> Path:
    root = write_image_folder(tmp_path / "shapes", count=36, size=64, seed=2)
    (root / "circle" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def test_lite0_onnx_matches_torch_and_gives_a_labelled_corpus(shapes: Path) -> None:
    spec = {
        "kind": "images",
        "root": str(shapes),
        "model": "efficientnet-lite0",
        "split": "seeded",
        "seed": 1,
    }
    corpus = corpus_from_spec("shapes-lite0", spec)
    export = corpus.info["export"]
    assert export["max_abs_diff"] < 1e-3, "onnxruntime must reproduce torch's features"
    assert export["feature_dim"] == 1280 and corpus.dim == 1280
    assert len(corpus.train) + len(corpus.queries) == 36, "the broken JPEG is left out"
    assert corpus.has_labels and corpus.metric == "angular"
    np.testing.assert_allclose(np.linalg.norm(corpus.train, axis=1), 1.0, rtol=1e-5)
    reduced = corpus_from_spec("shapes-lite0-pca8", {**spec, "pca": 8})
    assert reduced.dim == 8 and 0 < reduced.info["pca_explained_variance"] <= 1
    assert reduced.fingerprint != corpus.fingerprint


def test_random_weights_are_flagged_in_the_fingerprint() -> None:
    from bench.extractors.export import model_fingerprint

    real = get_spec("efficientnet-lite0")
    random = get_spec("efficientnet-lite0", weights="random")
    assert random.flagged_random and not real.flagged_random
    assert model_fingerprint(real) != model_fingerprint(random)


def test_user_onnx_needs_a_preprocessing_spec(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="preprocessing needs input_size, mean, std"):
        get_spec("mine", onnx_path=str(tmp_path / "m.onnx"), preprocess={})
    with pytest.raises(BenchError, match="unknown extractor 'alexnet'"):
        get_spec("alexnet")


def test_torchvision_weights_load_from_a_local_file(tmp_path: Path) -> None:
    from bench.extractors.models import fetch_torchvision_weights

    local = tmp_path / "resnet50.pth"
    torch.save({"w": torch.zeros(1)}, local)
    assert fetch_torchvision_weights("resnet50", tmp_path, local) == local
    with pytest.raises(BenchError, match="weights file not found"):
        fetch_torchvision_weights("resnet50", tmp_path, tmp_path / "absent.pth")


def test_finetune_trains_exports_and_scores_on_the_test_split(shapes: Path, tmp_path: Path) -> None:
    import pandas as pd

    from bench.extractors.finetune import FinetuneSettings
    from bench.runner.finetune_stage import run_finetune

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
