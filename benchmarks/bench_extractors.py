"""Extractor throughput on real Caltech101 images: onnxruntime versus torch eager.

    .venv/bin/python benchmarks/bench_extractors.py [--images 128] [--batch 32] [--threads 2]

Prints images/s per model for decode+preprocess, inference (onnxruntime, torch) and end to
end, measured by the same code the caltech101 suite uses (bench.extractors.throughput).
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.extractors.export import export_onnx
from bench.extractors.preprocess import load_and_preprocess
from bench.extractors.throughput import measure
from bench.extractors.zoo import get_spec
from bench.images.caltech import image_root
from bench.images.folders import load_image_set

MODELS = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    image_set = load_image_set(image_root({"dataset": "caltech101"}))
    picks = np.random.default_rng(0).choice(len(image_set.paths), args.images, replace=False)
    files = [image_set.root / image_set.paths[i] for i in picks]
    print(f"{'model':<20} {'stage':<18} {'runtime':<12} {'images/s':>9}")
    for name in MODELS:
        spec = get_spec(name)
        sample = np.stack([load_and_preprocess(f, spec) for f in files[:8]])
        onnx_path, export = export_onnx(spec, sample)
        for row in measure(spec, onnx_path, files, export, [args.batch], [args.threads]):
            print(f"{name:<20} {row['stage']:<18} {row['runtime']:<12} {row['images_per_s']:>9.1f}")


if __name__ == "__main__":
    main()
