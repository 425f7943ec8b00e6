"""Export a zoo model to ONNX (dynamic batch axis), check onnxruntime against torch, cache it.

The .onnx and a JSON record (parity, versions, weights) are cached under
datasets/cache/models/<fingerprint>.onnx, the fingerprint being of (model spec, weights by
hash, export settings, torch version), so export runs once. The record also stores the
fingerprint without the torch version (`identity`): on a machine without torch the cached
export is found by it, and onnxruntime inference needs no torch at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench import paths
from bench.errors import BenchError
from bench.extractors.weights import weights_identity
from bench.extractors.zoo import ExtractorSpec
from bench.storage import atomic_path, cache_path, fingerprint, write_bytes_atomic

log = logging.getLogger(__name__)
EXPORT_VERSION = 2
OPSET = 17
PARITY_TOLERANCE = 1e-3  # max |onnxruntime - torch| accepted, on features of order 1

Sample = np.ndarray | Callable[[], np.ndarray]


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return str(torch.__version__)


def export_identity(spec: ExtractorSpec, weights_file: Path | None = None) -> str:
    """Everything that decides the network except the torch version."""
    return fingerprint(
        "export", EXPORT_VERSION, OPSET, asdict(spec), weights_identity(spec, weights_file)
    )


def find_export(identity: str) -> dict[str, Any] | None:
    """The newest cached export record with this identity whose .onnx is still there."""
    folder = paths.cache_dir() / "models"
    records = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        onnx = folder / f"{record.get('fingerprint')}.onnx"
        if record.get("identity") == identity and onnx.exists():
            records.append((onnx.stat().st_mtime, record))
    return max(records, key=lambda r: r[0])[1] if records else None


def model_fingerprint(spec: ExtractorSpec, weights_file: Path | None = None) -> str:
    """The cache key of the ONNX model of `spec` (and of the features it extracts)."""
    if spec.family == "onnx":
        from bench.corpora.formats import content_fingerprint

        return fingerprint("onnx", content_fingerprint(Path(spec.weights)), asdict(spec))
    identity = export_identity(spec, weights_file)
    version = torch_version()
    if version is None:
        record = find_export(identity)
        return record["fingerprint"] if record else fingerprint(identity, "no torch")
    return fingerprint(identity, version)


def _sample(sample: Sample) -> np.ndarray:
    array = sample() if callable(sample) else sample
    return np.ascontiguousarray(array, dtype=np.float32)


def export_onnx(
    spec: ExtractorSpec,
    sample: Sample,
    weights_file: Path | None = None,
    module: Any = None,
) -> tuple[Path, dict[str, Any]]:
    """The cached ONNX file of `spec` and its export record (parity with torch, sizes).

    `sample` is a real preprocessed batch [n, 3, size, size] (or a function making one, called
    only when needed) used for the parity check; `module` overrides the zoo's torch module
    (a fine-tuned model, for example).
    """
    if spec.family == "onnx":
        return user_onnx(spec, _sample(sample))
    key = model_fingerprint(spec, weights_file)
    onnx_path = cache_path("models", key, ".onnx")
    record_path = cache_path("models", key, ".json")
    if onnx_path.exists() and record_path.exists():
        return onnx_path, json.loads(record_path.read_text())
    if torch_version() is None:
        raise BenchError(
            f"no exported ONNX model for {spec.name} (weights {spec.weights}) in the cache "
            f"{onnx_path.parent}, and exporting needs torch: pip install 'bench[torch]' "
            "(onnxruntime alone runs a model once it is exported)"
        )
    import torch

    from bench.extractors.models import build_module

    model = module if module is not None else build_module(spec, onnx_path.parent, weights_file)
    batch = _sample(sample)
    inputs = torch.from_numpy(batch)
    with atomic_path(onnx_path) as tmp:
        torch.onnx.export(
            model,
            (inputs,),
            str(tmp),
            input_names=["image"],
            output_names=["features"],
            opset_version=OPSET,
            dynamo=False,
            dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
        )
    with torch.inference_mode():
        expected = model(inputs).numpy()
    got = run_onnx(onnx_path, batch)
    single = run_onnx(onnx_path, batch[:1])  # the batch axis really is dynamic
    diff = float(max(np.abs(got - expected).max(), np.abs(single - expected[:1]).max()))
    record = {
        "model": spec.name,
        "weights": spec.weights,
        "weights_identity": weights_identity(spec, weights_file),
        "fingerprint": key,
        "identity": export_identity(spec, weights_file),
        "torch": torch.__version__,
        "opset": OPSET,
        "input_size": spec.input_size,
        "feature_dim": int(got.shape[1]),
        "model_bytes": onnx_path.stat().st_size,
        "parity_images": len(batch),
        "max_abs_diff": diff,
        "max_abs_feature": float(np.abs(expected).max()),
    }
    if diff > PARITY_TOLERANCE * max(1.0, record["max_abs_feature"]):
        onnx_path.unlink()
        raise BenchError(
            f"{spec.name}: onnxruntime features differ from torch's by up to {diff:.2e} "
            f"(expected under {PARITY_TOLERANCE:g}); the export is not trusted"
        )
    write_bytes_atomic(record_path, json.dumps(record, indent=1).encode())
    log.info("exported %s to ONNX: max |onnxruntime - torch| = %.2e", spec.name, diff)
    return onnx_path, record


def user_onnx(spec: ExtractorSpec, sample: np.ndarray) -> tuple[Path, dict[str, Any]]:
    """A user's .onnx: its declared signature checked, then run on the sample batch and on
    its first image alone, which must give that image the same features (a model that mixes
    the images of a batch, or whose width follows the batch size, is refused here, before
    any extraction)."""
    from bench.extractors.inference import OnnxExtractor

    path = Path(spec.weights)
    extractor = OnnxExtractor(path, spec)
    if extractor.fixed_batch is not None:
        log.info(
            "%s: %s has a fixed batch axis of %d; batches run at that size, the last padded",
            spec.name,
            path,
            extractor.fixed_batch,
        )
    features = extractor.infer(sample, "the check batch")
    single = extractor.infer(sample[:1], "the check batch's first image")
    finite = np.isfinite(features).all() and np.isfinite(single).all()  # else: corpus check
    diff = float(np.abs(single - features[:1]).max()) if finite else 0.0
    if diff > PARITY_TOLERANCE * max(1.0, float(np.abs(features).max())):
        raise BenchError(
            f"extractor {spec.name!r}: {path} gives an image other features alone than in a "
            f"batch of {len(sample)} (up to {diff:.2e} apart): expected each image's features "
            "to depend on that image only"
        )
    return path, {
        "model": spec.name,
        "weights": str(path),
        "source": "user onnx",
        "fingerprint": model_fingerprint(spec),
        "feature_dim": int(features.shape[1]),
        "model_bytes": path.stat().st_size,
        "max_abs_diff": None,
    }


def run_onnx(path: Path, batch: np.ndarray, threads: int = 0) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch.astype(np.float32)})[0]
