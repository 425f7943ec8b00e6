"""A small ann-benchmarks-layout HDF5 file with exact neighbours, for the example dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import paths
from bench.corpora.formats import write_ann_hdf5
from bench.groundtruth.exact import exact_knn

EXAMPLE_PATH = "datasets/cache/example/example-2k-32-euclidean.hdf5"


def write_example(path: Path | None = None) -> Path:
    """Write a small ann-benchmarks-layout HDF5 file for `datasets/example-file.yaml`."""
    path = path or paths.PROJECT_ROOT / EXAMPLE_PATH
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((16, 32), dtype=np.float32) * 4
    vectors = centres[rng.integers(0, 16, 2200)] + rng.standard_normal((2200, 32), np.float32)
    train, test = vectors[:2000], vectors[2000:]
    truth = exact_knn(train, test, 100, "euclidean")
    write_ann_hdf5(path, train, test, truth.ids, truth.distances, "euclidean")
    return path


if __name__ == "__main__":
    print(f"wrote {write_example()}")
