"""ann-benchmarks' synthetic `random-*` float sets, built here with its recipe (offline).

The recipe (ann-benchmarks `datasets.py`, `random_float`): sklearn `make_blobs(n_samples,
n_features=dim, centers, random_state=1)`, then `train_test_split(test_size=0.1,
random_state=1)`. The file is written in ann-benchmarks' HDF5 layout with float32 vectors
(as the hosted files are) and 100 exact neighbours per test vector, computed with sklearn's
brute-force search in ann-benchmarks' distance scale (true L2; 1 - cos for angular).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.catalogue.entries import GT_K, NamedDataset
from bench.corpora.formats import write_ann_hdf5


def generate_random(entry: NamedDataset, path: Path) -> None:
    from sklearn.datasets import make_blobs
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import NearestNeighbors

    n = entry.n_train + entry.n_test
    vectors, _ = make_blobs(
        n_samples=n, n_features=entry.dim, centers=entry.generate["centers"], random_state=1
    )
    train, test = train_test_split(vectors, test_size=0.1, random_state=1)
    train, test = train.astype(np.float32), test.astype(np.float32)
    metric = "cosine" if entry.metric == "angular" else "euclidean"
    search = NearestNeighbors(n_neighbors=GT_K, algorithm="brute", metric=metric).fit(train)
    distances, neighbors = search.kneighbors(test)
    write_ann_hdf5(path, train, test, neighbors, distances, entry.metric)
