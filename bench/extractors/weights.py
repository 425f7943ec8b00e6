"""What a model's weights are, by content (no torch here; the zoo says where they come from).

Kept apart from the torch code so that a model's fingerprint (which names its weights by
hash) can be computed, and a cached ONNX export found, on a machine without torch.
"""

from __future__ import annotations

from pathlib import Path

from bench.download import file_digest
from bench.extractors.zoo import ExtractorSpec

RANDOM_SEED = 0  # `weights: random` networks are seeded, so one fingerprint is one network


def weights_identity(spec: ExtractorSpec, weights_file: Path | None = None) -> str:
    """What the weights are, by content: a file's sha256, a published hash, or `random`."""
    if weights_file is not None:
        return f"file sha256:{file_digest(weights_file, 'sha256')}"
    if spec.weights == "random":
        return f"random seed {RANDOM_SEED}"
    if spec.weights.startswith("finetuned:"):
        return spec.weights
    if spec.weights_source:
        return f"{spec.weights_source} sha256:{spec.weights_sha256}"
    return spec.weights
