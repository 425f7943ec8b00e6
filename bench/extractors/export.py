"""Export a zoo model to ONNX (dynamic batch axis), check onnxruntime against torch, cache it.

The .onnx and a JSON sidecar (parity, versions, weights) are cached under
datasets/cache/models/ by a fingerprint of what produced them, so export runs once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpora.cache import atomic_path, cache_path, fingerprint, write_bytes_atomic
from bench.errors import BenchError
from bench.extractors.zoo import ExtractorSpec

log = logging.getLogger(__name__)
EXPORT_VERSION = 1
OPSET = 17


def model_fingerprint(spec: ExtractorSpec, weights_file: Path | None = None) -> str:
    if spec.family == "onnx":
        from bench.corpora.formats import content_fingerprint

        return fingerprint("onnx", content_fingerprint(Path(spec.weights)), asdict(spec))
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "none"
    weights = str(weights_file) if weights_file else spec.weights
    return fingerprint("export", EXPORT_VERSION, asdict(spec), weights, torch_version)


def export_onnx(
    spec: ExtractorSpec, sample: np.ndarray, weights_file: Path | None = None, module: Any = None
) -> tuple[Path, dict[str, Any]]:
    """The cached ONNX file of `spec` and its export record (parity with torch, sizes).

    `sample` is a real preprocessed batch [n, 3, size, size] used for the parity check;
    `module` overrides the zoo's torch module (a fine-tuned model, for example).
    """
    if spec.family == "onnx":
        return Path(spec.weights), {"source": "user onnx", "max_abs_diff": None}
    key = model_fingerprint(spec, weights_file)
    onnx_path = cache_path("models", key, ".onnx")
    record_path = cache_path("models", key, ".json")
    if onnx_path.exists() and record_path.exists():
        return onnx_path, json.loads(record_path.read_text())
    try:
        import torch
    except ImportError as exc:
        raise BenchError(
            f"no exported ONNX model for {spec.name} in the cache, and exporting "
            "needs torch: pip install 'bench[torch]'"
        ) from exc
    from bench.extractors.models import build_module

    model = module if module is not None else build_module(spec, onnx_path.parent, weights_file)
    inputs = torch.from_numpy(np.ascontiguousarray(sample, dtype=np.float32))
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
    with torch.no_grad():
        expected = model(inputs).numpy()
    got = run_onnx(onnx_path, sample)
    diff = float(np.abs(got - expected).max())
    record = {
        "model": spec.name,
        "weights": spec.weights,
        "fingerprint": key,
        "torch": torch.__version__,
        "opset": OPSET,
        "feature_dim": int(got.shape[1]),
        "model_bytes": onnx_path.stat().st_size,
        "max_abs_diff": diff,
        "max_abs_feature": float(np.abs(expected).max()),
    }
    write_bytes_atomic(record_path, json.dumps(record, indent=1).encode())
    log.info("exported %s to ONNX: max |onnxruntime - torch| = %.2e", spec.name, diff)
    return onnx_path, record


def run_onnx(path: Path, batch: np.ndarray, threads: int = 0) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch.astype(np.float32)})[0]
