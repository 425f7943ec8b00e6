"""A vector file's own ground truth: checked against exact search on a sample, then cached.

A file whose neighbours disagree with an exact computation is refused (its recall numbers
would be wrong); one that agrees is used as is, which saves the exact computation on large
files. Missing distances are computed for the given ids only.
"""

from __future__ import annotations

import logging

import numpy as np

from bench.corpora.corpus import Corpus
from bench.corpora.distances import exact_distances
from bench.corpora.files import FileGroundTruth, check_ground_truth_sample
from bench.corpora.groundtruth import MAX_K, GroundTruth, groundtruth_paths, store_ground_truth
from bench.errors import BenchError

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.99


def adopt_file_ground_truth(corpus: Corpus, truth: FileGroundTruth, sample: int = 20) -> None:
    k = min(MAX_K, len(corpus.train))
    ids_path, dist_path, _ = groundtruth_paths(corpus.fingerprint, k)
    if ids_path.exists() and dist_path.exists():
        return
    agreement = check_ground_truth_sample(corpus, truth.ids, sample=sample, k=min(10, truth.k))
    if agreement < MIN_AGREEMENT:
        raise BenchError(
            f"corpus {corpus.name!r}: the ground truth in {truth.source} agrees "
            f"with exact search on only {agreement:.1%} of sampled neighbours "
            f"(expected at least {MIN_AGREEMENT:.0%}); fix the file or drop "
            "`ground_truth` so the harness computes it"
        )
    if truth.k < k:
        log.info(
            "%s: the file's ground truth has k=%d < %d; computing it exactly instead",
            corpus.name,
            truth.k,
            k,
        )
        return
    ids = np.ascontiguousarray(truth.ids[:, :k], dtype=np.int64)
    distances = (
        truth.distances[:, :k]
        if truth.distances is not None
        else np.stack(
            [
                exact_distances(corpus.queries[i], np.asarray(corpus.train[ids[i]]), corpus.metric)
                for i in range(len(ids))
            ]
        ).astype(np.float32)
    )
    store_ground_truth(
        corpus,
        GroundTruth(ids=ids, distances=distances),
        {
            "corpus_fingerprint": corpus.fingerprint,
            "source": truth.source,
            "sample_agreement": agreement,
            "k": k,
            "seconds": 0.0,
        },
    )
    log.info(
        "%s: using the file's own ground truth (%.1f%% agreement on a sample)",
        corpus.name,
        100 * agreement,
    )
