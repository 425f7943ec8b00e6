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

    @property
    def flagged_random(self) -> bool:
        return self.weights == "random"


TF_LITE_NORM = ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0))  # TensorFlow's Lite models
IMAGENET_NORM = ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
INCEPTION_NORM = ((127.5, 127.5, 127.5), (127.5, 127.5, 127.5))  # [-1, 1], as Google trained


def _lite(level: int, size: int) -> ExtractorSpec:
    return ExtractorSpec(
        f"efficientnet-lite{level}",
        "efficientnet-lite",
        size,
        size + 32,
        *TF_LITE_NORM,
        weights="imagenet",
        arch=f"efficientnet-lite{level}",
    )


def _torchvision(
    name: str, arch: str, size: int = 224, resize: int = 256, norm: tuple = IMAGENET_NORM
) -> ExtractorSpec:
    return ExtractorSpec(name, "torchvision", size, resize, *norm, weights="imagenet", arch=arch)


ZOO: dict[str, ExtractorSpec] = {
    spec.name: spec
    for spec in (
        _lite(0, 224),
        _lite(1, 240),
        _lite(2, 260),
        _torchvision("resnet50", "resnet50"),
        _torchvision("vgg16", "vgg16"),
        _torchvision("vgg19", "vgg19"),
        _torchvision("mobilenet", "mobilenet_v2"),
        _torchvision("inceptionv3", "inception_v3", 299, 342, INCEPTION_NORM),
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
