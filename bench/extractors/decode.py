"""Decoding an image file to RGB: the one place Pillow opens images for the harness."""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image

log = logging.getLogger(__name__)


def decode_rgb(path: Path, target: int) -> Image.Image | None:
    """Decode to RGB, letting JPEG decode at reduced scale (draft mode) when it can.

    Returns None (and logs the path) for a file Pillow cannot decode; never raises for that.
    """
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (target, target))
            rgb = image.convert("RGB")
            rgb.load()
            return rgb
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        log.warning("cannot decode %s: %s", path, exc)
        return None
