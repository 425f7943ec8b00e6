"""Batched onnxruntime inference over image files, decoding in a thread pool.

Decoding and preprocessing (Pillow releases the GIL) run in a pool of threads ahead of
inference, so that the CPU-bound model is not starved; at most `prefetch` images are in
flight, so memory stays bounded however slow the model is. Per-stage times are kept,
including how long inference sat waiting for decoded images (`wait_s`: near zero means
decoding kept up). Needs onnxruntime and Pillow only, never torch.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from bench.errors import BenchError
from bench.extractors.preprocess import decode, preprocess
from bench.extractors.zoo import ExtractorSpec

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class StageTimes:
    images: int = 0
    decode_s: float = 0.0  # summed over the decode threads
    preprocess_s: float = 0.0  # summed over the decode threads
    inference_s: float = 0.0
    wait_s: float = 0.0  # inference waiting for the decode pool
    wall_s: float = 0.0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "images": self.images,
            "failed_images": len(self.failed),
            "decode_busy_s": self.decode_s,
            "preprocess_busy_s": self.preprocess_s,
            "inference_busy_s": self.inference_s,
            "inference_wait_s": self.wait_s,
            "wall_s": self.wall_s,
        }


def ordered_map(
    work: Callable[[T], R], items: Sequence[T], threads: int, prefetch: int
) -> Iterator[R]:
    """`work` over `items` in a thread pool, results in order, at most `prefetch` in flight.

    (ThreadPoolExecutor.map submits everything at once, so its results pile up in memory
    when the consumer is slower than the pool.)
    """
    with ThreadPoolExecutor(max(1, threads)) as pool:
        pending: deque[Future[R]] = deque()
        upcoming = iter(items)
        for item in upcoming:
            pending.append(pool.submit(work, item))
            if len(pending) >= prefetch:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(upcoming, None)
            if nxt is not None:
                pending.append(pool.submit(work, nxt))
            yield result


@dataclass(frozen=True)
class Decoded:
    tensor: np.ndarray | None
    decode_s: float
    preprocess_s: float


def decode_and_preprocess(path: Path, spec: ExtractorSpec) -> Decoded:
    start = time.perf_counter()
    image = decode(path, spec)
    decoded = time.perf_counter()
    tensor = None if image is None else preprocess(image, spec)
    return Decoded(tensor, decoded - start, time.perf_counter() - decoded)


def decoded_batches(
    paths: Sequence[Path],
    spec: ExtractorSpec,
    batch_size: int,
    threads: int,
    times: StageTimes,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(batch [b, 3, s, s], indices into `paths` of its images), in order; bad files skipped.

    The time spent waiting here for the pool is added to `times.wait_s`.
    """
    prefetch = 2 * batch_size + 2 * threads
    results = ordered_map(lambda p: decode_and_preprocess(p, spec), paths, threads, prefetch)
    tensors: list[np.ndarray] = []
    indices: list[int] = []
    for index in range(len(paths)):
        waited = time.perf_counter()
        item = next(results)
        times.wait_s += time.perf_counter() - waited
        times.decode_s += item.decode_s
        times.preprocess_s += item.preprocess_s
        if item.tensor is None:
            times.failed.append(str(paths[index]))
        else:
            tensors.append(item.tensor)
            indices.append(index)
        if len(tensors) == batch_size or (index == len(paths) - 1 and tensors):
            yield np.stack(tensors), np.asarray(indices, dtype=np.int64)
            tensors, indices = [], []


def one_line(exc: Exception) -> str:
    """onnxruntime's messages span lines (one per bad index): joined for a one-line error."""
    return " ".join(str(exc).split())


def _shape(dims: Sequence[object]) -> str:
    """A declared shape as the user reads it: symbolic or unknown axes shown as n."""
    return "[" + ", ".join(str(d) if isinstance(d, int) else "n" for d in dims) + "]"


class OnnxExtractor:
    """An onnxruntime session over an exported extractor: features of image files.

    The model's declared signature is checked when the session opens: one float input
    [n, 3, size, size] and an output of rank 2. A model whose batch axis is fixed (exported
    for batches of 8, say) is run in batches of that size, the last one padded with zeros
    and its padding rows dropped. Every output is checked to be [rows of the batch, the
    feature width of the first batch], so a model that mixes images of a batch is named.
    """

    def __init__(self, onnx_path: Path, spec: ExtractorSpec, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        self.path = onnx_path
        self.threads = threads or os.cpu_count() or 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise self.error(f"does not load in onnxruntime: {one_line(exc)}") from None
        self.input_name, self.fixed_batch = self._check_input()
        self.feature_dim = self._check_output()

    def error(self, problem: str) -> BenchError:
        return BenchError(f"extractor {self.spec.name!r}: {self.path} {problem}")

    def _check_input(self) -> tuple[str, int | None]:
        """The input's name and its fixed batch size (None: any batch size)."""
        size = self.spec.input_size
        expected = f"expected [n, 3, {size}, {size}] float32 (input_size {size})"
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(repr(i.name) for i in inputs)
            raise self.error(f"has {len(inputs)} inputs ({names}): {expected}, the only input")
        declared = inputs[0]
        dims = list(declared.shape)
        wrong = len(dims) != 4 or any(
            isinstance(d, int) and d != w for d, w in zip(dims[1:], (3, size, size), strict=True)
        )
        if wrong or declared.type != "tensor(float)":
            raise self.error(
                f"takes input {declared.name!r} of shape {_shape(dims)} ({declared.type}): "
                f"{expected}"
            )
        batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else None
        return declared.name, batch

    def _check_output(self) -> int | None:
        """The declared feature width, when the model states it."""
        declared = self.session.get_outputs()[0]
        dims = list(declared.shape)
        if len(dims) != 2:
            raise self.error(
                f"outputs {declared.name!r} of shape {_shape(dims)}: expected [n, feature_dim] "
                "(globally pooled features)"
            )
        return dims[1] if isinstance(dims[1], int) and dims[1] > 0 else None

    def _run(self, batch: np.ndarray, where: str) -> np.ndarray:
        try:
            out = self.session.run(None, {self.input_name: batch})[0]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise self.error(f"fails on {where}: {one_line(exc)}") from None
        if self.feature_dim is None and out.ndim == 2 and len(out) == len(batch):
            self.feature_dim = int(out.shape[1])  # the first batch sets the width
        if out.shape != (len(batch), self.feature_dim):
            raise self.error(
                f"gives features of shape {list(out.shape)} on {where}: expected "
                f"[{len(batch)}, {self.feature_dim or 'feature_dim'}] (one row per image, "
                "the same width for every batch)"
            )
        return out.astype(np.float32, copy=False)

    def infer(self, batch: np.ndarray, where: str = "a batch") -> np.ndarray:
        """Features [len(batch), feature_dim]; `where` names the batch in errors."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.fixed_batch is None:
            return self._run(batch, f"{where}, input {list(batch.shape)}")
        step, parts = self.fixed_batch, []
        for start in range(0, len(batch), step):
            chunk = batch[start : start + step]
            padded = np.zeros((step, *batch.shape[1:]), np.float32)
            padded[: len(chunk)] = chunk
            what = f"{where}, {len(chunk)} images padded to the model's fixed batch of {step}"
            parts.append(self._run(padded, what)[: len(chunk)])
        return np.concatenate(parts)

    def extract(
        self, paths: Sequence[Path], batch_size: int = 32, decode_threads: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, StageTimes]:
        """Features [n_ok, dim] (float32), the indices of the images that decoded, and times.

        Images that cannot be decoded are left out and listed in `times.failed`.
        """
        times = StageTimes(images=len(paths))
        threads = decode_threads or os.cpu_count() or 1
        features, kept = [], []
        start = time.perf_counter()
        batches = decoded_batches(paths, self.spec, batch_size, threads, times)
        for number, (batch, indices) in enumerate(batches, 1):
            infer_start = time.perf_counter()
            where = f"batch {number} (images {indices[0] + 1}-{indices[-1] + 1} of {len(paths)})"
            features.append(self.infer(batch, where))
            times.inference_s += time.perf_counter() - infer_start
            kept.append(indices)
        times.wall_s = time.perf_counter() - start
        if not features:
            return np.empty((0, 0), np.float32), np.empty(0, np.int64), times
        return np.concatenate(features), np.concatenate(kept), times
