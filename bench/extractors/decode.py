"""Decoding an image file to RGB: the one place Pillow opens images for the harness."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

# Integer modes wider than 8 bits: Pillow's convert("RGB") clips them at 255 (a 16-bit PNG
# becomes almost all white), so they are scaled to 8 bits first. "I" is how Pillow opens some
# 16-bit PNGs and TIFFs; its values are read as 16-bit too, clipped to that range.
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


def to_8bit(image: Image.Image) -> Image.Image:
    """A greyscale image of 16-bit samples as 8-bit greyscale (value * 255 / 65535)."""
    samples = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
    return Image.fromarray(np.round(samples * (255 / 65535)).astype(np.uint8), mode="L")


def too_many_pixels(path: Path, image: Image.Image) -> bool:
    """Whether `image` (as it would be decoded) is over Pillow's pixel limit; logged if so."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = image.width * image.height
    if limit is None or pixels <= limit:
        return False
    log.warning(
        "skipping %s: %d x %d = %.1f megapixels, more than the %.1f megapixels Pillow decodes "
        "safely (Image.MAX_IMAGE_PIXELS, a decompression-bomb guard)",
        path,
        image.width,
        image.height,
        pixels / 1e6,
        limit / 1e6,
    )
    return True


def decode_rgb(path: Path, target: int) -> Image.Image | None:
    """Decode to upright RGB, letting JPEG decode at reduced scale (draft mode) when it can.

    The EXIF orientation tag is applied, as cameras store the pixels sideways and rely on it.
    Returns None (and logs the path) for a file Pillow cannot decode or that has more pixels
    than Pillow's limit; never raises for that.
    """
    # Pillow warns (a bare Python warning naming no file) when an image has more pixels than
    # Image.MAX_IMAGE_PIXELS, and refuses twice that. too_many_pixels reports such a file by
    # name instead, after JPEG draft mode has had its say. The filter is set on every call,
    # not once at import: a caller's `warnings.catch_warnings()` (pytest's, for one) drops it.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (target, target))
            if too_many_pixels(path, image):
                return None
            upright = ImageOps.exif_transpose(image)
            if upright.mode in SIXTEEN_BIT_MODES:
                upright = to_8bit(upright)
            rgb = upright.convert("RGB")
            rgb.load()
            return rgb
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        log.warning("cannot decode %s: %s", path, exc)
        return None
