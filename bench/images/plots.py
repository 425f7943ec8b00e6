"""Plots of image retrieval: t-SNE scatter, its thumbnail grid and the points (with small
thumbnails) for the report's interactive t-SNE, query-result grids, PCA sweep, and
extraction throughput."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from bench.extractors.decode import decode_rgb
from bench.figures import save_figure

TSNE_POINTS = 400  # points (with thumbnails) kept for the interactive t-SNE: bounds the report
THUMB_PX = 48


def tsne_embedding(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE of the vectors (reduced to 50 dimensions by PCA first, as is customary)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    reduced = PCA(n_components=min(50, *vectors.shape), random_state=seed).fit_transform(vectors)
    return TSNE(
        n_components=2, init="pca", random_state=seed, perplexity=min(30.0, (len(vectors) - 1) / 3)
    ).fit_transform(reduced)


def plot_tsne(
    points: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], title: str, path: Path
) -> Path:
    fig, ax = plt.subplots(figsize=(9, 9))
    palette = sns.color_palette("husl", len(classes))
    ax.scatter(points[:, 0], points[:, 1], c=[palette[i] for i in labels], s=6, alpha=0.8)
    for label in np.unique(labels)[:: max(1, len(classes) // 25)]:
        centre = np.median(points[labels == label], axis=0)
        ax.annotate(classes[label], centre, fontsize=7, ha="center")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, path)


def thumbnail_grid(
    points: np.ndarray, files: list[Path], path: Path, cells: int = 30, thumb: int = 40
) -> Path:
    """Thumbnails placed at their t-SNE positions, each snapped to the nearest free grid cell."""
    scaled = (points - points.min(0)) / np.maximum(np.ptp(points, 0), 1e-9) * (cells - 1)
    canvas = Image.new("RGB", (cells * thumb, cells * thumb), "white")
    taken = np.zeros((cells, cells), dtype=bool)
    grid = np.stack(np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij"), -1)
    for i in np.random.default_rng(0).permutation(len(files))[: cells * cells]:
        free = ~taken
        if not free.any():
            break
        distance = ((grid - scaled[i]) ** 2).sum(-1)
        distance[~free] = np.inf
        x, y = np.unravel_index(np.argmin(distance), distance.shape)
        taken[x, y] = True
        image = decode_rgb(files[i], thumb)
        if image is not None:
            canvas.paste(ImageOps.fit(image, (thumb, thumb)), (int(x) * thumb, int(y) * thumb))
    canvas.save(path)
    return path


def thumbnail_uri(file: Path, size: int = THUMB_PX) -> str:
    """A `size` px square JPEG of the image as a data URI; empty if it cannot be decoded."""
    image = decode_rgb(file, size)
    if image is None:
        return ""
    buffer = io.BytesIO()
    ImageOps.fit(image, (size, size)).save(buffer, format="JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def tsne_points(
    points: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    paths: list[str],
    root: Path,
    limit: int = TSNE_POINTS,
) -> list[dict[str, object]]:
    """Rows x, y, class, path (relative to `root`), thumbnail (data URI) for at most `limit`
    points, a seeded sample, in their original order: the report draws these with the
    thumbnail on hover, so their number bounds the report's size (about 2 kB a point)."""
    keep = np.arange(len(points))
    if len(keep) > limit:
        keep = np.sort(np.random.default_rng(0).choice(len(points), size=limit, replace=False))
    return [
        {
            "x": float(points[i, 0]),
            "y": float(points[i, 1]),
            "class": classes[labels[i]],
            "path": paths[i],
            "thumbnail": thumbnail_uri(root / paths[i]),
        }
        for i in keep
    ]


@dataclass(frozen=True)
class QueryResults:
    """One row of a query-result grid: a query image and its nearest train images."""

    query: Path
    query_class: str
    results: list[Path]
    classes: list[str]
    distances: list[float]  # cosine distance to the query

    @property
    def hits(self) -> list[bool]:
        return [name == self.query_class for name in self.classes]


def query_figure(rows: list[QueryResults], thumb: int = 96) -> Figure:
    """One row per query: the query, then its results, each with its class and distance
    written above it, framed green (same class as the query) or red."""
    columns = 1 + max(len(row.results) for row in rows)
    inches = thumb / 60
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(columns * inches, len(rows) * inches * 1.3), squeeze=False
    )
    for ax_row, row in zip(axes, rows, strict=True):
        cells = [(row.query, f"query\n{row.query_class}", "black")] + [
            (file, f"{name}\nd={distance:.3f}", "green" if hit else "red")
            for file, name, distance, hit in zip(
                row.results, row.classes, row.distances, row.hits, strict=True
            )
        ]
        for ax in ax_row:
            ax.axis("off")
        for ax, (file, text, colour) in zip(ax_row, cells, strict=False):
            image = decode_rgb(file, thumb)
            if image is not None:
                ax.imshow(ImageOps.fit(image, (thumb, thumb)))
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
            ax.set_title(text, fontsize=7, color=colour, pad=2)
    fig.tight_layout(pad=0.3)
    return fig


def query_grid(rows: list[QueryResults], path: Path, thumb: int = 96) -> Path:
    """query_figure written as a PNG."""
    fig = query_figure(rows, thumb)
    return save_figure(fig, path, dpi=100)


def plot_pca_sweep(frame: pd.DataFrame, path: Path) -> Path:
    """Accuracy, explained variance and search time against the PCA dimension, per model."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, (column, label) in zip(
        axes,
        [
            ("p_at_1", "P@1 (train/test)"),
            ("explained_variance", "explained variance"),
            ("search_ms_per_query", "exact search ms / query"),
        ],
        strict=True,
    ):
        sns.lineplot(data=frame, x="dims", y=column, hue="model", marker="o", ax=ax)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("PCA dimensions")
        ax.set_ylabel(label)
    fig.suptitle("PCA sweep (fitted on the train split only)")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_throughput(frame: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 5))
    sns.lineplot(
        data=frame,
        x="batch_size",
        y="images_per_s",
        hue="model",
        style="runtime",
        marker="o",
        ax=ax,
    )
    ax.set_xscale("log", base=2)
    ax.set_ylabel("images / s (inference only)")
    ax.set_title("Extractor throughput: onnxruntime vs torch eager")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_tsne_pair(
    vectors: dict[str, tuple[np.ndarray, np.ndarray]],
    labels: list[int],
    classes: list[str],
    path: Path,
) -> Path:
    """Side-by-side t-SNE of the same categories before and after fine-tuning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(15, 7))
    palette = sns.color_palette("husl", len(labels))
    for ax, (stage, (matrix, y)) in zip(axes, vectors.items(), strict=True):
        mask = np.isin(y, labels)
        points = tsne_embedding(matrix[mask])
        for colour, label in zip(palette, labels, strict=True):
            mine = y[mask] == label
            ax.scatter(points[mine, 0], points[mine, 1], s=18, color=colour, label=classes[label])
        ax.set_title(f"{stage} fine-tuning: the {len(labels)} worst categories (test split)")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
