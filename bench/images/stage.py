"""The image stage of a suite: extractor throughput, retrieval quality, PCA sweep, t-SNE.

Configured by a suite's `images:` mapping; writes tidy CSVs (extraction.csv, quality.csv,
categories.csv, pca.csv, tsne.csv: t-SNE points with thumbnails for the report) and plots
into the run directory. Each model's results are written
once; a resumed run skips models already in quality.csv.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.corpora.corpus import normalize_rows
from bench.extractors.export import export_onnx
from bench.extractors.throughput import measure
from bench.groundtruth.exact import exact_knn
from bench.images import plots
from bench.images.caltech import image_root
from bench.images.features import (
    Features,
    extract_features,
    extractor_spec,
    fit_pca,
    limit_per_class,
    reduce,
)
from bench.images.folders import load_image_set
from bench.images.quality import evaluate, per_category, scores
from bench.results.rundir import append_table

log = logging.getLogger(__name__)
WORST = 10


def done_models(run_dir: Path) -> set[str]:
    path = run_dir / "quality.csv"
    return set(pd.read_csv(path)["model"]) if path.exists() else set()


def pca_sweep(features: Features, dims_list: list[int]) -> list[dict[str, Any]]:
    image_set = features.image_set
    train = features.vectors[image_set.is_train]
    test = features.vectors[~image_set.is_train]
    labels_train = image_set.labels[image_set.is_train]
    labels_test = image_set.labels[~image_set.is_train]
    rows = []
    for dims in [*sorted(d for d in dims_list if d < train.shape[1]), train.shape[1]]:
        if dims < train.shape[1]:
            mean, components, explained = fit_pca(train, dims)
            tr, te = reduce(train, mean, components), reduce(test, mean, components)
        else:
            tr, te, explained = train, test, 1.0
        tr, te = normalize_rows(tr), normalize_rows(te)
        start = time.perf_counter()
        answers = exact_knn(tr, te, 10, "angular").ids
        seconds = time.perf_counter() - start
        rows.append(
            {
                "model": features.spec.name,
                "dims": dims,
                "explained_variance": explained,
                **scores(answers, labels_train, labels_test),
                "search_ms_per_query": seconds * 1e3 / len(te),
            }
        )
    return rows


def run_image_stage(config: dict[str, Any], run_dir: Path) -> None:
    plots_dir = run_dir / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    throughput = config.get("throughput", {})
    for model in config.get("extractors", ["efficientnet-lite0"]):
        if model in done_models(run_dir):
            log.info("image stage: %s already done", model)
            continue
        spec_dict = {
            **{
                k: v
                for k, v in config.items()
                if k in ("dataset", "root", "split", "per_class", "seed")
            },
            "model": model,
        }
        image_set = limit_per_class(
            load_image_set(image_root(spec_dict), split=spec_dict.get("split", "provided")),
            spec_dict.get("per_class"),
        )
        spec = extractor_spec(spec_dict)
        log.info("image stage: %s on %d images (%s)", model, len(image_set.paths), image_set.split)
        start = time.perf_counter()
        features = extract_features(image_set, spec)
        extract_s = time.perf_counter() - start
        kept = features.image_set
        files = [kept.root / p for p in kept.paths]
        sample = files[: int(throughput.get("images", 128))]
        onnx_path, export = _onnx(spec, sample)
        rows = measure(
            spec,
            onnx_path,
            sample,
            export,
            throughput.get("batch_sizes", [1, 8, 32, 64]),
            throughput.get("threads", [1, 2]),
        )
        append_table(run_dir / "extraction.csv", rows)

        results, answers = evaluate(features.vectors, kept.labels, kept.is_train)
        quality = [
            {
                "model": model,
                "weights": spec.weights,
                "protocol": protocol,
                "images": len(kept.paths),
                "classes": len(kept.classes),
                "split": kept.split,
                "feature_dim": features.vectors.shape[1],
                "extract_s": extract_s,
                **values,
            }
            for protocol, values in results.items()
        ]
        train_labels, test_labels = kept.labels[kept.is_train], kept.labels[~kept.is_train]
        categories = per_category(answers, train_labels, test_labels, kept.classes)
        append_table(
            run_dir / "categories.csv",
            categories.head(WORST).assign(model=model).to_dict("records"),
        )
        append_table(run_dir / "pca.csv", pca_sweep(features, config.get("pca_dims", [])))
        image_views(model, features, answers, run_dir, config)
        append_table(run_dir / "quality.csv", quality)  # last: marks the model as done
    if (run_dir / "pca.csv").exists():
        plots.plot_pca_sweep(pd.read_csv(run_dir / "pca.csv"), plots_dir / "pca-sweep.png")
    if (run_dir / "extraction.csv").exists():
        frame = pd.read_csv(run_dir / "extraction.csv")
        plots.plot_throughput(
            frame[(frame["stage"] == "inference") & (frame["threads"] == frame["threads"].max())],
            plots_dir / "extractor-throughput.png",
        )
    if config.get("finetune") is not None and not (run_dir / "finetune.csv").exists():
        from bench.images.finetune import FinetuneSettings
        from bench.images.finetune_stage import run_finetune

        run_finetune(FinetuneSettings(**config["finetune"]), run_dir, config)


def _onnx(spec: Any, sample: list[Path]) -> tuple[Path, dict[str, Any]]:
    from bench.extractors.preprocess import load_and_preprocess

    batch = np.stack(
        [t for t in (load_and_preprocess(f, spec) for f in sample[:8]) if t is not None]
    )
    return export_onnx(spec, batch)


def image_views(
    model: str, features: Features, answers: np.ndarray, run_dir: Path, config: dict[str, Any]
) -> None:
    """t-SNE of the test split (PNG, thumbnail grid, points in RUN_DIR/tsne.csv) and the grid
    of a few queries' results (train/test `answers`) with class and distance on each image."""
    kept = features.image_set
    test = ~kept.is_train
    plots_dir = run_dir / "plots"
    if config.get("tsne", True):
        test_paths = list(np.asarray(kept.paths, dtype=object)[test])
        points = plots.tsne_embedding(features.vectors[test])
        plots.plot_tsne(
            points,
            kept.labels[test],
            kept.classes,
            f"{model}: t-SNE of the test split",
            plots_dir / f"tsne-{model}.png",
        )
        plots.thumbnail_grid(
            points, [kept.root / p for p in test_paths], plots_dir / f"tsne-grid-{model}.png"
        )
        rows = plots.tsne_points(points, kept.labels[test], kept.classes, test_paths, kept.root)
        append_table(run_dir / "tsne.csv", [{"model": model, **row} for row in rows])
    plots.query_grid(query_results(features, answers), plots_dir / f"queries-{model}.png")


def query_results(
    features: Features, answers: np.ndarray, count: int = 8, shown: int = 6
) -> list[plots.QueryResults]:
    """`count` seeded test queries with their first `shown` train answers, each answer's
    class and cosine distance (the distance the answers were found by)."""
    kept = features.image_set
    train, test = np.flatnonzero(kept.is_train), np.flatnonzero(~kept.is_train)
    vectors = normalize_rows(features.vectors)
    picks = np.random.default_rng(0).choice(len(test), size=min(count, len(test)), replace=False)
    rows = []
    for i in picks:
        query, found = test[i], train[answers[i, :shown]]
        rows.append(
            plots.QueryResults(
                query=kept.root / kept.paths[query],
                query_class=kept.classes[kept.labels[query]],
                results=[kept.root / kept.paths[j] for j in found],
                classes=[kept.classes[kept.labels[j]] for j in found],
                distances=[float(1.0 - vectors[query] @ vectors[j]) for j in found],
            )
        )
    return rows
