"""Image corpora for the ANN suite: extracted (optionally PCA-reduced) features with labels.

A dataset YAML of kind `images` names an image folder (or `caltech101`), an extractor and
optionally `pca: <dims>`; features are cached by (model fingerprint, image list, each image's
contents), the PCA by its dimension and the train split it was fitted on (train only).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpora.corpus import Corpus, normalize_rows
from bench.corpora.registry import ImagesSpec, kind_params
from bench.errors import BenchError
from bench.extractors.export import export_onnx, model_fingerprint
from bench.extractors.inference import OnnxExtractor
from bench.extractors.preprocess import load_and_preprocess
from bench.extractors.zoo import ExtractorSpec, get_spec
from bench.images.caltech import image_root
from bench.images.contents import image_contents
from bench.images.folders import ImageSet, load_image_set
from bench.storage import cache_path, cached_npy, fingerprint, load_npy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Features:
    """Features of every decodable image of an ImageSet (row i is image_set.paths[i])."""

    image_set: ImageSet
    vectors: np.ndarray  # float32 [n, dim], as the model outputs them
    spec: ExtractorSpec
    model_key: str
    export: dict[str, Any]
    failed: tuple[str, ...] = ()  # images (relative paths) that could not be decoded
    contents: tuple[str, ...] = ()  # content digest of each image of image_set


def limit_per_class(image_set: ImageSet, per_class: int | None) -> ImageSet:
    if not per_class:
        return image_set
    keep = np.zeros(len(image_set.labels), dtype=bool)
    for label in np.unique(image_set.labels):
        for is_train in (True, False):
            members = np.flatnonzero((image_set.labels == label) & (image_set.is_train == is_train))
            keep[members[:per_class]] = True
    return image_set.subset(keep)


def extractor_spec(spec: dict[str, Any]) -> ExtractorSpec:
    return get_spec(
        spec.get("model", "efficientnet-lite0"),
        spec.get("weights"),
        spec.get("onnx"),
        spec.get("preprocess"),
    )


def extract_features(
    image_set: ImageSet,
    spec: ExtractorSpec,
    batch_size: int = 32,
    weights_file: Path | None = None,
    threads: int | None = None,
    decode_threads: int | None = None,
) -> Features:
    """Export (cached), then extract features of every image (cached); bad images dropped.

    Features are cached by (model fingerprint, image folder, image list, the images' contents)
    as .npy, with the indices of the images that decoded; the others are listed in
    `Features.failed` and logged on every run, cached or not. Classes left without an image
    are dropped.
    """
    files = image_set.files

    def sample() -> np.ndarray:
        tensors = (load_and_preprocess(f, spec) for f in files[:32])
        good = [t for t in tensors if t is not None][:8]
        if not good:
            raise BenchError(f"none of the first images of {image_set.root} can be decoded")
        return np.stack(good)

    onnx_path, export = export_onnx(spec, sample, weights_file)
    model_key = model_fingerprint(spec, weights_file)
    contents = image_contents(image_set.root, image_set.paths)
    key = fingerprint("features", model_key, str(image_set.root), image_set.paths, contents)
    kept_path = cache_path("features", f"{key}-kept", ".npy")
    vectors_path = cache_path("features", f"{key}-vectors", ".npy")
    if not (kept_path.exists() and vectors_path.exists()):
        extractor = OnnxExtractor(onnx_path, spec, threads)
        vectors, kept, times = extractor.extract(files, batch_size, decode_threads)
        if len(kept) == 0:
            raise BenchError(f"no image of {image_set.root} could be decoded")
        log.info(
            "%s: %d images in %.1f s (%.1f images/s); %d could not be decoded",
            spec.name,
            len(files),
            times.wall_s,
            len(files) / times.wall_s,
            len(times.failed),
        )
        cached_npy(kept_path, kept.shape, np.int64, lambda out: out.__setitem__(..., kept))
        cached_npy(
            vectors_path, vectors.shape, np.float32, lambda out: out.__setitem__(..., vectors)
        )
    kept = np.asarray(load_npy(kept_path))
    failed = np.ones(len(image_set.paths), dtype=bool)
    failed[kept] = False
    failed_paths = tuple(np.asarray(image_set.paths, dtype=object)[failed])
    if failed_paths:  # on every run: the cached kept list records them, the log must too
        log.warning(
            "%s: %d images could not be decoded and are left out: %s",
            image_set.root,
            len(failed_paths),
            ", ".join(failed_paths),
        )
    return Features(
        image_set.subset(kept).without_empty_classes("no decodable image"),
        load_npy(vectors_path),
        spec,
        model_key,
        export,
        failed_paths,
        tuple(np.asarray(contents, dtype=object)[kept]),
    )


def fit_pca(train: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, components [dims, d], explained variance ratio) fitted on the train rows only."""
    from sklearn.decomposition import PCA

    if not 1 <= dims <= min(train.shape):
        raise BenchError(f"pca={dims}: expected 1 <= pca <= {min(train.shape)}")
    pca = PCA(n_components=dims, svd_solver="full", random_state=0).fit(train)
    return (
        pca.mean_.astype(np.float32),
        pca.components_.astype(np.float32),
        float(pca.explained_variance_ratio_.sum()),
    )


def reduce(vectors: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    return ((vectors - mean) @ components.T).astype(np.float32)


def image_corpus_from_spec(name: str, given: dict[str, Any]) -> Corpus:
    """The `kind: images` corpus kind (and `image_corpus`'s): `given` is checked here, once;
    the keys it sets, as checked, are what the rest reads."""
    checked = kind_params(ImagesSpec, given, f"dataset {name!r}")
    spec = {key: value for key, value in asdict(checked).items() if value is not None}
    image_set = limit_per_class(
        load_image_set(
            image_root(spec),
            bool(spec.get("include_background", False)),
            spec.get("split", "provided"),
            seed=int(spec.get("seed", 0)),
        ),
        spec.get("per_class"),
    )
    weights_file = Path(spec["weights_file"]) if spec.get("weights_file") else None
    features = extract_features(
        image_set,
        extractor_spec(spec),
        int(spec.get("batch_size", 32)),
        weights_file,
        spec.get("threads"),
        spec.get("decode_threads"),
    )
    kept = features.image_set
    train, queries = features.vectors[kept.is_train], features.vectors[~kept.is_train]
    info: dict[str, Any] = {
        "kind": "images",
        "model": features.spec.name,
        "weights": features.spec.weights,
        "weights_random": features.spec.flagged_random,
        "split": kept.split,
        "classes": list(kept.classes),
        "export": features.export,
        "failed_images": list(features.failed),
        "skipped_files": list(kept.skipped),
    }
    if spec.get("pca"):
        mean, components, explained = fit_pca(train, int(spec["pca"]))
        train, queries = reduce(train, mean, components), reduce(queries, mean, components)
        info["pca_explained_variance"] = explained
    return Corpus(
        name=name,
        train=normalize_rows(train),
        queries=normalize_rows(queries),
        metric="angular",
        fingerprint=fingerprint(  # not the root folder: the same set anywhere matches
            "image-corpus",
            features.model_key,
            kept.paths,
            features.contents,
            kept.labels.tolist(),
            kept.is_train.tolist(),
            spec.get("pca"),
        ),
        train_labels=kept.labels[kept.is_train],
        query_labels=kept.labels[~kept.is_train],
        info={
            **info,
            "train_paths": list(np.asarray(kept.paths)[kept.is_train]),
            "query_paths": list(np.asarray(kept.paths)[~kept.is_train]),
            "root": str(kept.root),
        },
    )


def image_corpus(
    root: str | Path | None = None,
    model: str = "efficientnet-lite0",
    split: str = "provided",
    *,
    name: str | None = None,
    include_background: bool = False,
    seed: int = 0,
    per_class: int | None = None,
    pca: int | None = None,
    weights: str | None = None,
    weights_file: str | Path | None = None,
    batch_size: int = 32,
    threads: int | None = None,
) -> Corpus:
    """An image folder (or Caltech101 when `root` is None) through `model`, as a Corpus.

    train = features of the train split, queries = features of the test split, labels =
    class indices, metric angular (rows L2-normalised); `info` has the class names, image
    paths, the split used, the export record (parity with torch) and any bad images.
    """
    spec: dict[str, Any] = {
        "model": model,
        "split": split,
        "include_background": include_background,
        "seed": seed,
        "batch_size": batch_size,
    }
    if root is not None:
        spec["root"] = str(root)
    optional = {
        "per_class": per_class,
        "pca": pca,
        "weights": weights,
        "weights_file": str(weights_file) if weights_file else None,
        "threads": threads,
    }
    spec.update({key: value for key, value in optional.items() if value is not None})
    label = Path(root).name if root is not None else "caltech101"
    return image_corpus_from_spec(name or f"{label}-{model}", spec)
