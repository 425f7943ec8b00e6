"""User ONNX models and weights files that used to crash mid-extraction or print tracebacks.

The models are real torch exports run by onnxruntime; the weights files are real files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bench.errors import BenchError
from bench.extractors.zoo import ExtractorSpec, get_spec
from bench.images.synthetic import write_image_folder

torch = pytest.importorskip("torch", reason="torch exports the test models")

SIZE = 32  # the models' input size: small, so that extraction is quick
IMAGES = 21  # batches of 8, 8 and 5: the last one is smaller


class Lambda(torch.nn.Module):
    def __init__(self, forward: Callable) -> None:
        super().__init__()
        self.function = forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


def pooled(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=(2, 3))


def export(
    path: Path,
    forward: Callable = pooled,
    size: int = SIZE,
    batch: int = 8,
    dynamic: bool = True,
) -> Path:
    """`forward` exported with torch.onnx; a dynamic batch axis unless `dynamic` is false."""
    axes = {"image": {0: "n"}, "features": {0: "n"}} if dynamic else None
    torch.onnx.export(
        Lambda(forward),
        (torch.zeros(batch, 3, size, size),),
        str(path),
        input_names=["image"],
        output_names=["features"],
        opset_version=17,
        dynamo=False,
        dynamic_axes=axes,
    )
    return path


def spec_of(path: Path) -> ExtractorSpec:
    pre = {"input_size": SIZE, "mean": [127, 127, 127], "std": [128, 128, 128]}
    return get_spec("mine", onnx_path=str(path), preprocess=pre)


@pytest.fixture
def files(tmp_path: Path, bench_env: Path) -> list[Path]:
    root = write_image_folder(tmp_path / "images", count=IMAGES, size=40, seed=5)
    return sorted(root.rglob("*.jpg"))


def sample(files: list[Path], spec: ExtractorSpec) -> np.ndarray:
    from bench.extractors.preprocess import load_and_preprocess

    return np.stack([load_and_preprocess(f, spec) for f in files[:8]])


def test_a_fixed_batch_axis_runs_padded_to_its_size(files: list[Path], tmp_path: Path) -> None:
    from bench.extractors.export import user_onnx
    from bench.extractors.inference import OnnxExtractor

    fixed = spec_of(export(tmp_path / "fixed.onnx", dynamic=False))
    dynamic = spec_of(export(tmp_path / "dynamic.onnx"))
    _, record = user_onnx(fixed, sample(files, fixed))
    assert record["feature_dim"] == 3
    extractor = OnnxExtractor(Path(fixed.weights), fixed, threads=1)
    assert extractor.fixed_batch == 8
    got, kept, _ = extractor.extract(files, batch_size=8, decode_threads=1)
    want, _, _ = OnnxExtractor(Path(dynamic.weights), dynamic, threads=1).extract(files, 8, 1)
    assert got.shape == (IMAGES, 3) and len(kept) == IMAGES, "the last batch of 5 is padded"
    np.testing.assert_allclose(got, want, atol=1e-6)
    odd, _, _ = extractor.extract(files, batch_size=5, decode_threads=1)  # 5 -> padded to 8
    np.testing.assert_allclose(odd, want, atol=1e-6)


def test_an_output_width_that_follows_the_batch_is_refused(
    files: list[Path], tmp_path: Path
) -> None:
    from bench.extractors.export import user_onnx
    from bench.extractors.inference import OnnxExtractor

    square = spec_of(export(tmp_path / "square.onnx", lambda x: pooled(x) @ pooled(x).T))
    with pytest.raises(BenchError) as refused:
        user_onnx(square, sample(files, square))
    message = str(refused.value)
    assert "extractor 'mine'" in message and str(tmp_path / "square.onnx") in message
    assert "gives features of shape [1, 1] on the check batch's first image" in message
    assert "expected [1, 8]" in message and "\n" not in message
    with pytest.raises(BenchError, match=r"shape \[5, 5\] on batch 3 \(images 17-21 of 21\)"):
        OnnxExtractor(Path(square.weights), square, threads=1).extract(files, 8, 1)


def test_a_model_mixing_the_images_of_a_batch_is_refused(files: list[Path], tmp_path: Path) -> None:
    from bench.extractors.export import user_onnx

    mixing = spec_of(export(tmp_path / "mix.onnx", lambda x: pooled(x) - pooled(x).mean(0)))
    with pytest.raises(BenchError, match="other features alone than in a batch of 8"):
        user_onnx(mixing, sample(files, mixing))


@pytest.mark.parametrize(
    ("forward", "size", "expected"),
    [
        (pooled, 100, "takes input 'image' of shape [n, 3, 100, 100] (tensor(float)): "
         f"expected [n, 3, {SIZE}, {SIZE}] float32 (input_size {SIZE})"),
        (lambda x: x, SIZE, "outputs 'features' of shape [n, 3, 32, 32]: expected "
         "[n, feature_dim] (globally pooled features)"),
    ],
    ids=["input-size", "unpooled"],
)  # fmt: skip
def test_the_declared_signature_is_checked_when_the_model_opens(
    tmp_path: Path, forward: Callable, size: int, expected: str
) -> None:
    from bench.extractors.inference import OnnxExtractor

    spec = spec_of(export(tmp_path / "m.onnx", forward, size))
    with pytest.raises(BenchError) as refused:
        OnnxExtractor(Path(spec.weights), spec)
    assert str(refused.value) == f"extractor 'mine': {tmp_path / 'm.onnx'} {expected}"


def test_an_unloadable_file_is_one_line(tmp_path: Path) -> None:
    from bench.extractors.inference import OnnxExtractor

    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(BenchError) as refused:
        OnnxExtractor(corrupt, spec_of(corrupt))
    assert f"{corrupt} does not load in onnxruntime: " in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.fixture
def lite_classifier() -> Callable[[Path], object]:
    pytest.importorskip("efficientnet_lite_pytorch", reason="the EfficientNet-Lite architecture")
    from bench.extractors.models import efficientnet_lite_classifier

    return lambda weights: efficientnet_lite_classifier(get_spec("efficientnet-lite0"), weights)


def test_a_weights_file_that_is_not_a_state_dict(tmp_path: Path, lite_classifier: Callable) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_text("this is not a checkpoint\n")
    with pytest.raises(BenchError) as refused:
        lite_classifier(garbage)
    message = str(refused.value)
    assert message.startswith(
        f"{garbage} is not a torch state dict (torch.load with weights_only=True failed: "
    )
    assert message.endswith(
        "): expected an efficientnet-lite0 state dict (efficientnet-lite-pytorch)"
    )
    assert "\n" not in message and "weights_only=False" not in message, "never torch's advice"
    module = tmp_path / "module.pth"
    torch.save(torch.nn.Linear(2, 2), module)  # a pickled module: code, not tensors
    with pytest.raises(BenchError, match=r"Unsupported global: .*Linear was not an allowed") as e:
        lite_classifier(module)
    assert "weights_only=False" not in str(e.value) and "\n" not in str(e.value)


def test_a_state_dict_of_another_architecture(tmp_path: Path, lite_classifier: Callable) -> None:
    other = tmp_path / "linear.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), other)
    with pytest.raises(BenchError) as refused:
        lite_classifier(other)
    message = str(refused.value)
    assert message.startswith(f"{other} has ") and "\n" not in message
    assert "missing keys (_conv_stem.weight, _bn0.weight, _bn0.bias and " in message
    assert "and 2 unexpected keys (weight, bias): expected an efficientnet-lite0" in message
