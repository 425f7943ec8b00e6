"""Extractor throughput: images/s per stage and end to end, onnxruntime versus torch eager.

Stages are timed apart so that each number means one thing:
- `decode` and `preprocess`: one thread, per image (Pillow draft-mode JPEG decode; resize,
  crop and normalise);
- `decode+preprocess`: the thread pool the extraction uses, over all the files;
- `inference`: the model alone, on preprocessed batches already in memory;
- `end-to-end`: the real pipeline, the decode pool feeding batched inference, with the time
  inference spent waiting for decoded images (`inference_wait_s`).
Decoding keeps up with inference when `decode_headroom` (decode pool images/s divided by
inference images/s, same threads) is above 1 and `inference_wait_s` is small.

Each row is one observation, flat, for the lead's results schema. The best of
`repetitions` runs (after a warm-up) is kept, said so in `kept`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.extractors.inference import OnnxExtractor, StageTimes, decoded_batches, ordered_map
from bench.extractors.preprocess import decode, load_and_preprocess, preprocess
from bench.extractors.zoo import ExtractorSpec, get_spec

BATCH_SIZES = (1, 8, 32, 64)


def _best_seconds(run: Callable[[], object], repetitions: int) -> float:
    run()  # warm-up
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def single_thread_stage_rates(files: Sequence[Path], spec: ExtractorSpec) -> dict[str, float]:
    """images/s of decode alone and preprocess alone, one thread."""
    decode_s = preprocess_s = 0.0
    count = 0
    for path in files:
        start = time.perf_counter()
        image = decode(path, spec)
        decoded = time.perf_counter()
        if image is None:
            continue
        preprocess(image, spec)
        decode_s += decoded - start
        preprocess_s += time.perf_counter() - decoded
        count += 1
    return {"decode": count / decode_s, "preprocess": count / preprocess_s}


def decode_rate(files: Sequence[Path], spec: ExtractorSpec, threads: int) -> float:
    """images/s of decode + preprocess through the extraction's thread pool."""
    start = time.perf_counter()
    for _ in ordered_map(lambda f: load_and_preprocess(f, spec), files, threads, 4 * threads):
        pass
    return len(files) / (time.perf_counter() - start)


def measure(
    spec: ExtractorSpec,
    onnx_path: Path,
    files: list[Path],
    export: dict[str, Any],
    batch_sizes: Sequence[int] = BATCH_SIZES,
    threads_list: Sequence[int] = (1, 2),
    repetitions: int = 3,
    torch_eager: bool = True,
) -> list[dict[str, Any]]:
    """One row per (runtime, stage, batch size, threads) over `files`.

    torch eager is measured when torch (and the model's torch module) is available here;
    the same network as the ONNX file, so the two runtimes compare like with like.
    """
    tensors = np.stack([t for t in (load_and_preprocess(f, spec) for f in files) if t is not None])
    base = {
        "model": spec.name,
        "weights": spec.weights,
        "weights_random": spec.flagged_random,
        "input_size": spec.input_size,
        "feature_dim": export.get("feature_dim"),
        "model_bytes": onnx_path.stat().st_size,
        "max_abs_diff": export.get("max_abs_diff"),
        "images": len(files),
        "cpu_count": os.cpu_count(),
        "kept": f"best of {repetitions}",
    }

    def row(runtime: str, stage: str, batch: int, threads: int, rate: float, **extra: Any):
        return {
            **base,
            "runtime": runtime,
            "stage": stage,
            "batch_size": batch,
            "threads": threads,
            "images_per_s": rate,
            **extra,
        }

    rows = [
        row("pillow", stage, 1, 1, rate)
        for stage, rate in single_thread_stage_rates(files, spec).items()
    ]
    torch_model = _torch_model(spec, onnx_path.parent) if torch_eager else None
    for threads in threads_list:
        pool_rate = decode_rate(files, spec, threads)
        rows.append(row("pillow", "decode+preprocess", 1, threads, pool_rate))
        extractor = OnnxExtractor(onnx_path, spec, threads)
        for batch_size in batch_sizes:
            batches = [tensors[i : i + batch_size] for i in range(0, len(tensors), batch_size)]
            seconds = _best_seconds(
                lambda b=batches, e=extractor: [e.infer(x) for x in b], repetitions
            )
            ort_rate = len(tensors) / seconds
            rows.append(
                row(
                    "onnxruntime",
                    "inference",
                    batch_size,
                    threads,
                    ort_rate,
                    decode_headroom=pool_rate / ort_rate,
                )
            )
            _, _, times = extractor.extract(files, batch_size, threads)
            rows.append(_end_to_end(row, "onnxruntime", batch_size, threads, times))
            if torch_model is not None:
                torch_rate = len(tensors) / _torch_seconds(
                    torch_model, batches, threads, repetitions
                )
                rows.append(
                    row(
                        "torch",
                        "inference",
                        batch_size,
                        threads,
                        torch_rate,
                        decode_headroom=pool_rate / torch_rate,
                    )
                )
                times = _torch_end_to_end(torch_model, spec, files, batch_size, threads)
                rows.append(_end_to_end(row, "torch", batch_size, threads, times))
    return rows


def _end_to_end(
    row: Callable[..., dict[str, Any]], runtime: str, batch: int, threads: int, times: StageTimes
) -> dict[str, Any]:
    return row(
        runtime, "end-to-end", batch, threads, times.images / times.wall_s, **times.as_dict()
    )


def _torch_model(spec: ExtractorSpec, cache: Path) -> Any:
    if spec.family == "onnx":
        return None
    try:
        from bench.extractors.models import build_module
    except ImportError:  # torch is not installed: onnxruntime only
        return None
    return build_module(spec, cache)


def _torch_seconds(model: Any, batches: list[np.ndarray], threads: int, repetitions: int) -> float:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    inputs = [torch.from_numpy(b) for b in batches]

    def run() -> None:
        with torch.inference_mode():
            for x in inputs:
                model(x)

    try:
        return _best_seconds(run, repetitions)
    finally:
        torch.set_num_threads(previous)


def _torch_end_to_end(
    model: Any, spec: ExtractorSpec, files: Sequence[Path], batch_size: int, threads: int
) -> StageTimes:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    times = StageTimes(images=len(files))
    start = time.perf_counter()
    try:
        with torch.inference_mode():
            for batch, _ in decoded_batches(files, spec, batch_size, threads, times):
                infer_start = time.perf_counter()
                model(torch.from_numpy(batch))
                times.inference_s += time.perf_counter() - infer_start
    finally:
        torch.set_num_threads(previous)
    times.wall_s = time.perf_counter() - start
    return times


def extraction_benchmark(
    model: str,
    files: Sequence[Path],
    batch_sizes: Sequence[int] = BATCH_SIZES,
    threads: Sequence[int] = (1, 2),
    repetitions: int = 3,
    weights: str | None = None,
    torch_eager: bool = True,
) -> list[dict[str, Any]]:
    """Export `model` (cached) and measure its extraction throughput over `files`."""
    from bench.extractors.export import export_onnx

    spec = get_spec(model, weights)
    files = list(files)

    def sample() -> np.ndarray:
        return np.stack(
            [t for t in (load_and_preprocess(f, spec) for f in files[:8]) if t is not None]
        )

    onnx_path, export = export_onnx(spec, sample)
    return measure(spec, onnx_path, files, export, batch_sizes, threads, repetitions, torch_eager)
