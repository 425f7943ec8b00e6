"""Extractor throughput: images/s per stage and end to end, onnxruntime versus torch eager.

Inference is timed on preprocessed batches already in memory (so it measures the model);
decode is timed separately through the same thread pool the extraction uses; end to end runs
the real pipeline (decode pool feeding batched inference) over the files.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.extractors.inference import OnnxExtractor
from bench.extractors.preprocess import load_and_preprocess
from bench.extractors.zoo import ExtractorSpec


def _rate(run: Any, images: int, repetitions: int) -> float:
    run()  # warm-up
    best = min(_timed(run) for _ in range(repetitions))
    return images / best


def _timed(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def decode_rate(files: list[Path], spec: ExtractorSpec, threads: int) -> float:
    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(lambda f: load_and_preprocess(f, spec), files))
        return len(files) / (time.perf_counter() - start)


def measure(
    spec: ExtractorSpec,
    onnx_path: Path,
    files: list[Path],
    export: dict[str, Any],
    batch_sizes: list[int],
    threads_list: list[int],
    repetitions: int = 3,
) -> list[dict[str, Any]]:
    """One row per (runtime, stage, batch size, threads)."""
    tensors = np.stack([t for t in (load_and_preprocess(f, spec) for f in files) if t is not None])
    base = {
        "model": spec.name,
        "weights": spec.weights,
        "feature_dim": export.get("feature_dim"),
        "model_bytes": onnx_path.stat().st_size,
        "max_abs_diff": export.get("max_abs_diff"),
        "cpu_count": os.cpu_count(),
    }
    rows = []
    torch_model = _torch_model(spec, onnx_path.parent)
    for threads in threads_list:
        rows.append(
            {
                **base,
                "runtime": "pillow",
                "stage": "decode+preprocess",
                "batch_size": 1,
                "threads": threads,
                "images_per_s": decode_rate(files, spec, threads),
            }
        )
        extractor = OnnxExtractor(onnx_path, spec, threads)
        for batch_size in batch_sizes:
            batches = [tensors[i : i + batch_size] for i in range(0, len(tensors), batch_size)]
            rows.append(
                {
                    **base,
                    "runtime": "onnxruntime",
                    "stage": "inference",
                    "batch_size": batch_size,
                    "threads": threads,
                    "images_per_s": _rate(
                        lambda b=batches, e=extractor: [e.infer(x) for x in b],
                        len(tensors),
                        repetitions,
                    ),
                }
            )
            if torch_model is not None:
                rows.append(
                    {
                        **base,
                        "runtime": "torch",
                        "stage": "inference",
                        "batch_size": batch_size,
                        "threads": threads,
                        "images_per_s": _torch_rate(
                            torch_model, batches, threads, len(tensors), repetitions
                        ),
                    }
                )
            _, _, times = extractor.extract(files, batch_size, threads)
            rows.append(
                {
                    **base,
                    "runtime": "onnxruntime",
                    "stage": "end-to-end",
                    "batch_size": batch_size,
                    "threads": threads,
                    "images_per_s": len(files) / times.wall_s,
                    "decode_busy_s": times.decode_s,
                    "inference_busy_s": times.inference_s,
                    "wall_s": times.wall_s,
                }
            )
    return rows


def _torch_model(spec: ExtractorSpec, cache: Path) -> Any:
    try:
        from bench.extractors.models import build_module
    except ImportError:
        return None
    return build_module(spec, cache) if spec.family != "onnx" else None


def _torch_rate(
    model: Any, batches: list[np.ndarray], threads: int, images: int, repetitions: int
) -> float:
    import torch

    torch.set_num_threads(threads)
    inputs = [torch.from_numpy(b) for b in batches]

    def run() -> None:
        with torch.inference_mode():
            for x in inputs:
                model(x)

    return _rate(run, images, repetitions)
