"""The corpus a run measured, resolved again by name, or a refusal when the name changed.

Commands that revisit a run's kept answers (rescore, export) resolve the corpus by its name
now; a dataset YAML edited since the run (another seed, file or limit) would silently give
other vectors, so the resolved corpus' fingerprint must equal the rows' `corpus_fingerprint`.
"""

from __future__ import annotations

from pathlib import Path

from bench.corpora.corpus import Corpus
from bench.corpora.registry import corpus_from_spec, dataset_spec
from bench.errors import BenchError


def measured_corpus(run_dir: Path, name: str, fingerprint: str) -> Corpus:
    """Corpus `name` as resolved now; BenchError unless it is the version the run measured."""
    corpus = corpus_from_spec(name, dataset_spec(name))
    if corpus.fingerprint != fingerprint:
        raise BenchError(
            f"{run_dir}: corpus {name!r} now has fingerprint {corpus.fingerprint}, expected "
            f"{fingerprint} as in the run (its dataset changed since the run)"
        )
    return corpus
