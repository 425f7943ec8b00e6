"""Cost against corpus size: log-log curves per algorithm and fitted power-law exponents.

From a run's results (several corpora of one family at different sizes, e.g. the `scale`
suite), four measures per algorithm and train size N:

* build_s: index build wall seconds;
* bytes_per_vector: index_bytes / N;
* qps_at_recall: the best QPS (median of repetitions, single-query mode by default) among the
  operating points whose mean recall is at least `min_recall` at that N; sizes where no point
  reaches it have no value (the curve stops);
* groundtruth_s: exact ground-truth seconds per corpus, from RUN_DIR/groundtruth.csv when the
  run wrote one (bench.results.rundir.write_groundtruth_csv), drawn as "ground truth".

With several build configurations of one algorithm at one N, build_s and bytes_per_vector
are the smallest (the cheapest configuration), qps_at_recall the best over all of them. Rows
that differ in more than the corpus size (k, threads, library version) form separate curves,
named like `faiss-ivf (k=100)` (bench.results.identity).

Each curve is fitted by least squares as log10(cost) = exponent * log10(N) + intercept;
`plot_scaling` writes the fits to RUN_DIR/scaling.csv (tidy: algorithm, measure, exponent,
intercept, n_points) and one PNG per measure to RUN_DIR/plots/scaling-<measure>.png with the
exponents in the legend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from bench.figures import save_figure
from bench.results.identity import CORPUS, curve_labels
from bench.results.rundir import GROUNDTRUTH_CSV
from bench.storage import write_bytes_atomic

MIN_RECALL = 0.9
GROUND_TRUTH = "ground truth"
SCALING_CSV = "scaling.csv"
MEASURES: dict[str, str] = {
    "build_s": "build time (s)",
    "bytes_per_vector": "index bytes per vector",
    "qps_at_recall": "QPS at recall >= {min_recall:g}",
    "groundtruth_s": "exact ground truth (s)",
}
FIT_COLUMNS = ["algorithm", "measure", "exponent", "intercept", "n_points"]
POINT_COLUMNS = ["algorithm", "measure", "n_train", "value"]


def fit_power_law(sizes: np.ndarray, costs: np.ndarray) -> tuple[float, float]:
    """Least-squares (exponent, intercept) of log10(cost) against log10(size).

    cost ~= 10**intercept * size**exponent. Needs at least two distinct positive sizes and
    positive costs (raises ValueError otherwise)."""
    x = np.log10(np.asarray(sizes, dtype=float))
    y = np.log10(np.asarray(costs, dtype=float))
    if len(x) < 2 or len(np.unique(x)) < 2:
        raise ValueError(f"need at least two distinct sizes to fit a power law, got {len(x)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("sizes and costs must be positive and finite")
    exponent, intercept = np.polyfit(x, y, 1)
    return float(exponent), float(intercept)


def curve_names(names: pd.Series, corpora: pd.Series) -> pd.Series:
    """Curve names: `names` alone, or `name · family` when the run holds several corpus
    families (the corpus name without its size suffix: scale-10m -> scale, huge-u8-1m ->
    huge-u8; names without such a suffix share one family), so float and byte corpora of
    one algorithm are fitted separately."""
    family = corpora.astype(str).str.extract(r"^(.*)-\d+[kmb]?$", expand=False).fillna("")
    return names.where(family.eq("") | (family.nunique() < 2), names + " · " + family)


def _run_points(frame: pd.DataFrame, min_recall: float, mode: str) -> pd.DataFrame:
    ok = frame[frame["status"] == "ok"]
    if "corpus" in ok:
        ok = ok.assign(algorithm=curve_names(ok["algorithm"], ok["corpus"]))
    if ok.empty:
        return pd.DataFrame(columns=POINT_COLUMNS)
    per_n = ["algorithm", "n_train"]
    # A curve spans corpus sizes, so the corpus columns may differ along it; anything else
    # that differs (k, threads, library version) names a curve of its own.
    builds = (
        ok.assign(algorithm=curve_labels(ok, fixed=[*CORPUS, "mode", "threads"]))
        .drop_duplicates("job_id")
        .assign(bytes_per_vector=lambda f: f["index_bytes"].astype(float) / f["n_train"])
        .groupby(per_n, as_index=False)
        .agg(build_s=("build_s", "min"), bytes_per_vector=("bytes_per_vector", "min"))
    )
    searched = ok[ok["mode"] == mode]
    ops = (
        searched.assign(algorithm=curve_labels(searched, fixed=CORPUS))
        .groupby([*per_n, "job_id", "query_params"], as_index=False)
        .agg(recall=("recall", "mean"), qps=("qps", "median"))
    )
    best = (
        ops[ops["recall"] >= min_recall]
        .groupby(per_n, as_index=False)
        .agg(qps_at_recall=("qps", "max"))
    )
    wide = builds.merge(best, on=per_n, how="left")
    long = wide.melt(
        id_vars=per_n,
        value_vars=["build_s", "bytes_per_vector", "qps_at_recall"],
        var_name="measure",
        value_name="value",
    )
    return long[POINT_COLUMNS]


def _groundtruth_points(run_dir: Path | None) -> pd.DataFrame:
    path = Path(run_dir) / GROUNDTRUTH_CSV if run_dir is not None else None
    if path is None or not path.exists():
        return pd.DataFrame(columns=POINT_COLUMNS)
    table = pd.read_csv(path)
    table = table[pd.to_numeric(table["seconds"], errors="coerce").notna()]
    return pd.DataFrame(
        {
            "algorithm": curve_names(pd.Series(GROUND_TRUTH, index=table.index), table["corpus"]),
            "measure": "groundtruth_s",
            "n_train": table["n_train"].astype(int),
            "value": table["seconds"].astype(float),
        }
    )[POINT_COLUMNS]


def scaling_points(
    frame: pd.DataFrame,
    run_dir: Path | None = None,
    min_recall: float = MIN_RECALL,
    mode: str = "single",
) -> pd.DataFrame:
    """Tidy (algorithm, measure, n_train, value) points; only positive, finite values."""
    parts = [
        part
        for part in (_run_points(frame, min_recall, mode), _groundtruth_points(run_dir))
        if not part.empty
    ]
    if not parts:
        return pd.DataFrame(columns=POINT_COLUMNS)
    points = pd.concat(parts, ignore_index=True)
    points["n_train"] = points["n_train"].astype(int)
    points["value"] = points["value"].astype(float)
    points = points[np.isfinite(points["value"]) & (points["value"] > 0)]
    return points.sort_values(["measure", "algorithm", "n_train"]).reset_index(drop=True)


def fit_exponents(points: pd.DataFrame) -> pd.DataFrame:
    """One power-law fit per (algorithm, measure) with at least two distinct sizes."""
    fits = []
    for (algorithm, measure), group in points.groupby(["algorithm", "measure"], sort=True):
        if group["n_train"].nunique() < 2:
            continue
        exponent, intercept = fit_power_law(group["n_train"].to_numpy(), group["value"].to_numpy())
        fits.append(
            {
                "algorithm": algorithm,
                "measure": measure,
                "exponent": exponent,
                "intercept": intercept,
                "n_points": len(group),
            }
        )
    return pd.DataFrame(fits, columns=FIT_COLUMNS)


def _plot_measure(
    measure: str,
    points: pd.DataFrame,
    fits: pd.DataFrame,
    title: str,
    path: Path,
) -> None:
    algorithms = sorted(points["algorithm"].unique())
    palette = dict(zip(algorithms, sns.color_palette("husl", len(algorithms)), strict=True))
    fit_by_algorithm = fits.set_index("algorithm")
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for algorithm in algorithms:
        mine = points[points["algorithm"] == algorithm]
        label = algorithm
        if algorithm in fit_by_algorithm.index:
            fit = fit_by_algorithm.loc[algorithm]
            label = f"{algorithm} (N^{fit['exponent']:.2f})"
            sizes = np.array([mine["n_train"].min(), mine["n_train"].max()], dtype=float)
            ax.plot(
                sizes,
                10 ** fit["intercept"] * sizes ** fit["exponent"],
                color=palette[algorithm],
                linestyle=":",
                linewidth=1,
            )
        ax.plot(
            mine["n_train"],
            mine["value"],
            marker="o",
            ms=5,
            color=palette[algorithm],
            label=label,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("train vectors N (log)")
    ax.set_ylabel(f"{title} (log)")
    # a figure title: the legend beside the axes narrows them, and a long axes title was cut
    fig.suptitle(f"{title} against N")
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=8,
        title="fitted exponent (dotted: fit)",
        title_fontsize=8,
    )
    fig.tight_layout()
    save_figure(fig, path)


def plot_scaling(
    frame: pd.DataFrame,
    run_dir: Path,
    min_recall: float = MIN_RECALL,
    mode: str = "single",
) -> list[Path]:
    """Write RUN_DIR/scaling.csv and RUN_DIR/plots/scaling-<measure>.png; return the PNGs.

    `frame` is the run's results (bench.results.store.read_results); ground-truth seconds
    come from RUN_DIR/groundtruth.csv when present. Measures without points are skipped."""
    run_dir = Path(run_dir)
    points = scaling_points(frame, run_dir, min_recall, mode)
    fits = fit_exponents(points)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(run_dir / SCALING_CSV, fits.to_csv(index=False).encode())
    plots = run_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="whitegrid")
    written = []
    for measure, title in MEASURES.items():
        mine = points[points["measure"] == measure]
        if mine.empty:
            continue
        path = plots / f"scaling-{measure}.png"
        title = title.format(min_recall=min_recall)
        if measure == "qps_at_recall":
            title = f"{title} ({mode} mode)"
        _plot_measure(measure, mine, fits[fits["measure"] == measure], title, path)
        written.append(path)
    return written
