"""Corpus definitions: `datasets/<name>.yaml` files turned into Corpus objects.

A definition is validated against the schema of its kind (keys, types, ranges) when it is
read, before any corpus is generated or loaded; the kind's loader then checks what needs the
data (files exist, row counts, ground truth).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import model_validator

from bench import paths
from bench.config import (
    Flag,
    NonNegativeInt,
    PositiveInt,
    Text,
    load,
    one_of,
    read_yaml,
    schema,
    unknown_key,
)
from bench.corpora.corpus import METRICS, Corpus
from bench.corpora.formats import FORMATS
from bench.corpora.synthetic import SyntheticSpec
from bench.corpora.synthetic_bytes import ByteSpec
from bench.errors import BenchError

COMMON_KEYS = ("kind", "description")
T = TypeVar("T")


HDF5_ONLY = ("path", "override_distance")
SPLIT_ONLY = ("train", "queries", "ground_truth")


@schema
class FileSpec:
    """A `kind: file` dataset: one HDF5 `path`, or `train` + `queries` (+ `ground_truth`).

    `override_distance` (HDF5 only) lets `metric` differ from the file's distance attribute:
    the catalogue's lastfm-64-dot is `dot` in a file saying angular.
    """

    format: one_of(FORMATS) | None = None  # type: ignore[valid-type]
    path: Text | None = None
    train: Text | None = None
    queries: Text | None = None
    ground_truth: Text | None = None
    metric: one_of(METRICS) | None = None  # type: ignore[valid-type]
    limit: PositiveInt | None = None
    query_limit: PositiveInt | None = None
    override_distance: Flag | None = None

    @property
    def hdf5(self) -> bool:
        return self.format == "hdf5" or (self.format is None and self.path is not None)

    @model_validator(mode="after")
    def _one_shape(self) -> FileSpec:
        """The other shape's keys are unknown here (an HDF5 file holds train, test, truth)."""
        other = SPLIT_ONLY if self.hdf5 else HDF5_ONLY
        found = [key for key in other if getattr(self, key) is not None]
        if found:
            valid = [field.name for field in dataclasses.fields(self) if field.name not in other]
            raise ValueError(unknown_key((found[0],), valid))
        return self


@schema
class NamedSpec:
    """A `kind: named` dataset: a public dataset of the catalogue, downloaded when first used."""

    name: Text | None = None


@schema
class ImagesSpec:
    """A `kind: images` dataset: an image folder (or Caltech101) through a feature extractor."""

    dataset: Text | None = None
    root: Text | None = None
    url: Text | None = None
    checksum: Text | None = None
    md5: Text | None = None
    split: one_of(("provided", "seeded")) | None = None  # type: ignore[valid-type]
    seed: NonNegativeInt | None = None
    include_background: Flag | None = None
    per_class: PositiveInt | None = None
    model: Text | None = None
    weights: Text | None = None
    weights_file: Text | None = None
    onnx: Text | None = None
    preprocess: dict[str, Any] | None = None
    pca: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    threads: PositiveInt | None = None
    decode_threads: PositiveInt | None = None


# Corpus kinds, like the backends: a kind names its schema and the function that turns a
# dataset spec into a Corpus, imported when first used (the image study sits above the
# corpora and is loaded only for image datasets).
KINDS: dict[str, tuple[type, str]] = {
    "synthetic": (SyntheticSpec, "bench.corpora.synthetic:corpus_from_params"),
    "synthetic-bytes": (ByteSpec, "bench.corpora.synthetic_bytes:corpus_from_params"),
    "file": (FileSpec, "bench.corpora.files:file_corpus"),
    "images": (ImagesSpec, "bench.images.features:image_corpus_from_spec"),
    "named": (NamedSpec, "bench.catalogue.resolve:named_corpus"),
}
# A name with no YAML may still be a named public dataset or a vector file's path.
RESOLVER = "bench.catalogue.resolve:spec_for"


def dataset_names() -> list[str]:
    return sorted(p.stem for p in paths.datasets_dir().glob("*.yaml"))


def dataset_spec(name: str) -> dict[str, Any]:
    """The definition of dataset `name`, validated (a BenchError naming the file if not)."""
    path = paths.datasets_dir() / f"{name}.yaml"
    if not path.exists():
        module, _, function = RESOLVER.partition(":")
        spec = getattr(importlib.import_module(module), function)(name)
        if spec is not None:
            check_spec(spec, f"dataset {name!r}")
            return spec
        raise BenchError(
            f"unknown dataset {name!r}: expected one of {', '.join(dataset_names())} "
            f"(files in {paths.datasets_dir()}), a named dataset (`bench datasets`) or a "
            "vector file's path"
        )
    spec = read_yaml(path, "dataset")
    check_spec(spec, f"dataset file {path}")
    return spec


def _kind(spec: dict[str, Any], where: str) -> str:
    """The spec's kind, after checking the keys every kind shares."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise BenchError(f"{where}: kind={kind!r}: expected one of {', '.join(KINDS)}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise BenchError(f"{where}: description={description!r}: expected a string")
    return kind


def _own_keys(spec: Any) -> Any:
    """A dataset spec without the keys every kind shares (anything else is left to `load`)."""
    if not isinstance(spec, Mapping):
        return spec
    return {key: value for key, value in spec.items() if key not in COMMON_KEYS}


def kind_params(schema_class: type[T], spec: Any, where: str) -> T:
    """`spec` checked against its kind's schema, `kind` and `description` aside.

    The kind's function calls this on the spec it is given (from `corpus_from_spec`, or
    from a direct caller: the catalogue, tests), so each spec is checked once, where it is
    used, with the same messages as a dataset file.
    """
    return load(schema_class, _own_keys(spec), where)


def check_spec(spec: dict[str, Any], where: str) -> None:
    """Raise a one-line BenchError, naming `where`, unless `spec` is a valid definition."""
    kind_params(KINDS[_kind(spec, where)][0], spec, where)


def declared_size(spec: dict[str, Any]) -> tuple[int, int] | None:
    """The train and query counts a synthetic spec declares (known before it is generated);
    None for the kinds whose sizes are known once loaded."""
    kind = spec.get("kind")
    if kind not in ("synthetic", "synthetic-bytes"):
        return None
    params = kind_params(KINDS[kind][0], spec, f"dataset spec {spec!r}")
    return params.n, params.queries


def corpus_from_spec(name: str, spec: dict[str, Any]) -> Corpus:
    """The corpus of a dataset spec; its kind's function checks the kind's keys."""
    kind = _kind(spec, f"dataset {name!r}")
    module, _, function = KINDS[kind][1].partition(":")
    return getattr(importlib.import_module(module), function)(name, _own_keys(spec))


def load_corpus(name: str) -> Corpus:
    return corpus_from_spec(name, dataset_spec(name))
