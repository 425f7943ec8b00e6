"""Decode and preprocess images for a spec: resize the shorter side, centre-crop, normalise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.extractors.decode import decode_rgb
from bench.extractors.zoo import ExtractorSpec

# Up to this aspect ratio the whole image is resized, then cropped (the reference result);
# beyond it only the cropped square is resampled, as the whole would not fit in memory.
WHOLE_RESIZE_MAX_ASPECT = 16


def resize_and_crop(image: Image.Image, resize: int, size: int) -> Image.Image:
    """Scale the shorter side to `resize`, then take the centre `size` x `size` square.

    Resizing the whole image of a 1 x 65535 PNG (a few hundred bytes) would make it
    256 x 16.8M pixels (12.9 GB) before the crop. Past WHOLE_RESIZE_MAX_ASPECT, only the
    source region under the square is resampled (Pillow's `box`, with the filter taps of the
    whole resize), so the work stays at `size` x `size`. The two agree to a grey level or two
    on some pixels (Pillow orders its two passes differently, and takes the box in float32).
    """
    width, height = image.size
    scale = resize / min(width, height)
    scaled_w, scaled_h = max(size, round(width * scale)), max(size, round(height * scale))
    left, top = (scaled_w - size) // 2, (scaled_h - size) // 2
    if max(width, height) <= WHOLE_RESIZE_MAX_ASPECT * min(width, height):
        resized = image.resize((scaled_w, scaled_h), Image.Resampling.BILINEAR)
        return resized.crop((left, top, left + size, top + size))
    box = (
        left * width / scaled_w,
        top * height / scaled_h,
        (left + size) * width / scaled_w,
        (top + size) * height / scaled_h,
    )
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box)


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
