"""Procedural image corpora: shapes and textures, JPEG-encoded, seeded, any count and size.

Each class is a kind of picture (a shape or a texture) with random colours, positions and
noise, so that extraction throughput can be measured at any scale without a dataset, and
retrieval quality has something to find.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.corpora.cache import write_bytes_atomic

KINDS = ("circle", "square", "triangle", "stripes", "checker", "noise")


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def draw(kind: str, size: int, rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (size, size), _colour(rng))
    pen = ImageDraw.Draw(image)
    lo, hi = size // 8, size - size // 8
    x0, y0 = (int(v) for v in rng.integers(lo, size // 2, 2))
    x1, y1 = (int(v) for v in rng.integers(size // 2 + 1, hi + 1, 2))
    if kind == "circle":
        pen.ellipse((x0, y0, x1, y1), fill=_colour(rng))
    elif kind == "square":
        pen.rectangle((x0, y0, x1, y1), fill=_colour(rng))
    elif kind == "triangle":
        pen.polygon([(x0, y1), (x1, y1), ((x0 + x1) // 2, y0)], fill=_colour(rng))
    elif kind == "stripes":
        width = max(2, int(rng.integers(3, max(4, size // 8))))
        for x in range(0, size, 2 * width):
            pen.rectangle((x, 0, x + width - 1, size), fill=_colour(rng))
    elif kind == "checker":
        cell = max(2, int(rng.integers(4, max(5, size // 6))))
        colour = _colour(rng)
        for x in range(0, size, cell):
            for y in range(0, size, cell):
                if (x // cell + y // cell) % 2:
                    pen.rectangle((x, y, x + cell - 1, y + cell - 1), fill=colour)
    else:
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    noise = rng.normal(0, 8, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def write_image_folder(
    dest: Path, count: int, size: int = 224, seed: int = 0, quality: int = 90
) -> Path:
    """`count` JPEGs spread over the KINDS as class folders under `dest` (idempotent)."""
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        path = dest / kind / f"image_{i:06d}.jpg"
        if path.exists():
            continue
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        buffer = io.BytesIO()
        draw(kind, size, rng).save(buffer, format="JPEG", quality=quality)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buffer.getvalue())
    return dest
