"""Decode and preprocess images for a spec: resize the shorter side, centre-crop, normalise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.extractors.decode import decode_rgb
from bench.extractors.zoo import ExtractorSpec


def resize_and_crop(image: Image.Image, resize: int, size: int) -> Image.Image:
    width, height = image.size
    scale = resize / min(width, height)
    resized = image.resize(
        (max(size, round(width * scale)), max(size, round(height * scale))),
        Image.Resampling.BILINEAR,
    )
    left = (resized.width - size) // 2
    top = (resized.height - size) // 2
    return resized.crop((left, top, left + size, top + size))


def to_tensor(image: Image.Image, spec: ExtractorSpec) -> np.ndarray:
    """float32 [3, size, size], normalised by the spec's mean and std (0..255 scale)."""
    pixels = np.asarray(image, dtype=np.float32)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    return ((pixels - mean) / std).transpose(2, 0, 1)


def decode(path: Path, spec: ExtractorSpec) -> Image.Image | None:
    """RGB image decoded at the smallest JPEG scale that still covers the spec's resize."""
    return decode_rgb(path, spec.resize)


def preprocess(image: Image.Image, spec: ExtractorSpec) -> np.ndarray:
    """Resize the shorter side, centre-crop and normalise: float32 [3, size, size]."""
    return to_tensor(resize_and_crop(image, spec.resize, spec.input_size), spec)


def load_and_preprocess(path: Path, spec: ExtractorSpec) -> np.ndarray | None:
    """The model input of one image, or None when the file cannot be decoded."""
    image = decode(path, spec)
    return None if image is None else preprocess(image, spec)
