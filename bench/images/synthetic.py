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

from bench.storage import write_bytes_atomic

KINDS = (
    "circle",
    "square",
    "triangle",
    "ring",
    "cross",
    "stripes",
    "checker",
    "dots",
    "gradient",
    "noise",
)


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
    elif kind == "ring":
        width = max(1, (x1 - x0) // 6)
        pen.ellipse((x0, y0, x1, y1), outline=_colour(rng), width=width)
    elif kind == "cross":
        colour, width = _colour(rng), max(1, (x1 - x0) // 5)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        pen.rectangle((x0, cy - width, x1, cy + width), fill=colour)
        pen.rectangle((cx - width, y0, cx + width, y1), fill=colour)
    elif kind == "dots":
        colour, radius = _colour(rng), max(1, size // 24)
        for cx, cy in rng.integers(0, size, (int(rng.integers(8, 24)), 2)):
            pen.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
    elif kind == "gradient":
        ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
        axis = ramp[None, :, None] if rng.random() < 0.5 else ramp[:, None, None]
        start, end = (np.asarray(_colour(rng), np.float32) for _ in range(2))
        pixels = start + (end - start) * np.broadcast_to(axis, (size, size, 1))
        image = Image.fromarray(pixels.astype(np.uint8))
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


def synthetic_jpeg(index: int, size: int = 224, seed: int = 0, quality: int = 90) -> bytes:
    """The JPEG bytes of image `index` of a seeded set: the same bytes on every run.

    Its class is `KINDS[index % len(KINDS)]`; each image has its own random stream.
    """
    kind = KINDS[index % len(KINDS)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    buffer = io.BytesIO()
    draw(kind, size, rng).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_image_folder(
    dest: Path, count: int, size: int = 224, seed: int = 0, quality: int = 90
) -> Path:
    """`count` JPEGs spread over the KINDS as class folders under `dest` (idempotent).

    The result is a folder of class folders, loadable like Caltech101.
    """
    for i in range(count):
        path = dest / KINDS[i % len(KINDS)] / f"image_{i:06d}.jpg"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, synthetic_jpeg(i, size, seed, quality))
    return dest
