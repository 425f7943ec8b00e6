"""Batched onnxruntime inference over image files, decoding in a thread pool.

Decoding and preprocessing (Pillow releases the GIL) run in a pool of threads ahead of
inference, so that the CPU-bound model is not starved; per-stage times are kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.extractors.preprocess import load_and_preprocess
from bench.extractors.zoo import ExtractorSpec


@dataclass
class StageTimes:
    images: int = 0
    decode_s: float = 0.0  # decode + preprocess, summed over worker threads
    inference_s: float = 0.0
    wall_s: float = 0.0
    failed: list[str] = field(default_factory=list)


class OnnxExtractor:
    def __init__(self, onnx_path: Path, spec: ExtractorSpec, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]

    def _decode(self, path: Path) -> tuple[np.ndarray | None, float]:
        start = time.perf_counter()
        tensor = load_and_preprocess(path, self.spec)
        return tensor, time.perf_counter() - start

    def _batches(
        self, paths: Sequence[Path], batch_size: int, decode_threads: int, times: StageTimes
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(batch tensor, indices of the decoded images) in order; the pool runs ahead."""
        with ThreadPoolExecutor(decode_threads) as pool:
            decoded = pool.map(self._decode, paths)
            tensors: list[np.ndarray] = []
            indices: list[int] = []
            for index, (tensor, seconds) in enumerate(decoded):
                times.decode_s += seconds
                if tensor is None:
                    times.failed.append(str(paths[index]))
                else:
                    tensors.append(tensor)
                    indices.append(index)
                if len(tensors) == batch_size or (index == len(paths) - 1 and tensors):
                    yield np.stack(tensors), np.asarray(indices)
                    tensors, indices = [], []

    def extract(
        self, paths: Sequence[Path], batch_size: int = 32, decode_threads: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, StageTimes]:
        """Features [n_ok, dim] (float32), the indices of the images that decoded, and times."""
        times = StageTimes(images=len(paths))
        threads = decode_threads or os.cpu_count() or 1
        features, kept = [], []
        start = time.perf_counter()
        for batch, indices in self._batches(paths, batch_size, threads, times):
            infer_start = time.perf_counter()
            features.append(self.infer(batch))
            times.inference_s += time.perf_counter() - infer_start
            kept.append(indices)
        times.wall_s = time.perf_counter() - start
        if not features:
            return np.empty((0, 0), np.float32), np.empty(0, np.int64), times
        return (np.concatenate(features).astype(np.float32), np.concatenate(kept), times)
