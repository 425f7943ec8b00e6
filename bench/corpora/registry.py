"""Corpus definitions: `datasets/<name>.yaml` files turned into Corpus objects."""

from __future__ import annotations

import importlib
from typing import Any

from bench import paths
from bench.config import read_yaml
from bench.corpora.corpus import Corpus
from bench.errors import BenchError

# Corpus kinds, like the backends: a kind names the function that turns a dataset spec into
# a Corpus, imported when first used (the image study sits above the corpora and is loaded
# only for image datasets).
KINDS = {
    "synthetic": "bench.corpora.synthetic:corpus_from_params",
    "synthetic-bytes": "bench.corpora.synthetic_bytes:corpus_from_params",
    "file": "bench.corpora.files:file_corpus",
    "images": "bench.images.features:image_corpus_from_spec",
}


def dataset_names() -> list[str]:
    return sorted(p.stem for p in paths.datasets_dir().glob("*.yaml"))


def dataset_spec(name: str) -> dict[str, Any]:
    path = paths.datasets_dir() / f"{name}.yaml"
    if not path.exists():
        raise BenchError(
            f"unknown dataset {name!r}: expected one of {', '.join(dataset_names())} "
            f"(files in {paths.datasets_dir()})"
        )
    return read_yaml(path, "dataset")


def corpus_from_spec(name: str, spec: dict[str, Any]) -> Corpus:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise BenchError(
            f"dataset {name!r}: unknown kind {kind!r}: expected one of {', '.join(KINDS)}"
        )
    module, _, function = KINDS[kind].partition(":")
    params = {key: value for key, value in spec.items() if key not in ("kind", "description")}
    return getattr(importlib.import_module(module), function)(name, params)


def load_corpus(name: str) -> Corpus:
    return corpus_from_spec(name, dataset_spec(name))
