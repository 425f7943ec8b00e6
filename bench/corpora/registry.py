"""Corpus definitions: `datasets/<name>.yaml` files turned into Corpus objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench import paths
from bench.corpora.corpus import Corpus
from bench.corpora.synthetic import SyntheticSpec, synthetic_corpus
from bench.errors import BenchError

KINDS = ("synthetic", "file", "images")


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """Parse a YAML mapping, with an error that names the file and what was expected."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise BenchError(f"{what} file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise BenchError(f"{what} file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BenchError(f"{what} file {path}: expected a YAML mapping, got {type(data).__name__}")
    return data


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
    params = {key: value for key, value in spec.items() if key not in ("kind", "description")}
    if kind == "synthetic":
        try:
            return synthetic_corpus(name, SyntheticSpec(**params))
        except TypeError as exc:
            raise BenchError(f"dataset {name!r}: bad synthetic parameters: {exc}") from exc
    if kind == "file":
        from bench.corpora.file_truth import adopt_file_ground_truth
        from bench.corpora.files import load_file_corpus

        corpus, truth = load_file_corpus(name, params)
        if truth is not None:
            adopt_file_ground_truth(corpus, truth)
        return corpus
    if kind == "images":
        from bench.extractors.features import image_corpus_from_spec

        return image_corpus_from_spec(name, params)
    raise BenchError(f"dataset {name!r}: unknown kind {kind!r}: expected one of {', '.join(KINDS)}")


def load_corpus(name: str) -> Corpus:
    return corpus_from_spec(name, dataset_spec(name))
