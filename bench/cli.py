"""The `bench` command line."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table
from rich.text import Text

from bench import paths
from bench.errors import BenchError

# Markup off: messages carry user text (paths, names, shapes such as "[n, 3, 224, 224]") that
# Rich would otherwise read as style tags, losing it or raising MarkupError. Colour is a Text.
console = Console(markup=False, soft_wrap=True)

results_option = click.option(
    "--results",
    "results_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding run directories (default: results/).",
)


def _run_name(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--run names a folder under --results, like a suite's `name:`: it must not climb out."""
    from bench.runner.suite import check_name

    if value is None:
        return None
    try:
        return check_name(value)
    except ValueError as exc:
        raise BenchError(f"--run {value!r}: {exc}") from None


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
def cli(verbose: bool) -> None:
    """Benchmark approximate nearest-neighbour libraries and image feature extractors."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    for line in paths.unknown_variables():
        logging.getLogger(__name__).warning(line)


@cli.command()
@click.option(
    "--suite",
    "suite_name",
    default=None,
    help="Suite name (suites/<name>.yaml) or path to a suite YAML [default: quick].",
)
@click.option(
    "--dataset",
    default=None,
    help="Run on one dataset without a suite file: a dataset YAML name, a named public "
    "dataset (`bench datasets`) or a vector file path (.hdf5, .fvecs, .fbin, .npy, ...).",
)
@click.option("--grid", default=None, help="Named grid of the backends (default: quick).")
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=None,
    help="Queries searched before timing, at most the corpus' queries (default: the suite's; "
    "100 with --dataset).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    help="Override one parameter's values: ALGORITHM.PARAM=V1,V2 (repeatable).",
)
@click.option(
    "--run",
    "run_name",
    default=None,
    callback=_run_name,
    help="Run directory name (default: the suite).",
)
@results_option
@click.option(
    "--algorithms", default=None, help="Comma-separated algorithms (run even if excluded)."
)
@click.option("--retry-failed", is_flag=True, help="Run failed jobs again.")
@click.option("--no-plot", is_flag=True, help="Do not draw the Pareto plots at the end.")
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where jobs run: here one at a time, or on a Dask cluster.",
)
@click.option("--scheduler", default=None, help="Dask scheduler address (with --executor dask).")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["csv", "parquet"]),
    multiple=True,
    default=("csv",),
    show_default=True,
    help="Also write results.parquet (the CSV is always written: it is what resume reads).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another `bench run` holds the run directory, wait for it instead of refusing.",
)
@click.option("--pin", is_flag=True, help="Pin each worker to one core and this process elsewhere.")
def run(
    suite_name: str | None,
    dataset: str | None,
    grid: str | None,
    warmup: int | None,
    sets: tuple[str, ...],
    run_name: str | None,
    results_root: Path | None,
    algorithms: str | None,
    retry_failed: bool,
    no_plot: bool,
    executor: str,
    scheduler: str | None,
    formats: tuple[str, ...],
    wait: bool,
    pin: bool,
) -> None:
    """Run a suite, or one dataset ad hoc; finished jobs in the run directory are skipped.

    \b
    Examples:
      bench run --suite quick
      bench run --dataset random-xs-20-euclidean --algorithms hnswlib,annoy
      bench run --dataset glove-25-angular --algorithms hnswlib --set hnswlib.M=16,32
      bench run --dataset data/sift_base.fvecs --algorithms faiss-ivf --grid standard
      bench run --dataset my-images --algorithms bruteforce --warmup 5   # few queries
      bench run --suite my-suite.yaml    # with inline grids, e.g. grids: {hnswlib:
                                         #   {build: {M: [32], ef_construction: [200]},
                                         #    query: {ef: [50]}}}
    """
    from dataclasses import replace

    from bench.results.runlock import run_lock
    from bench.runner.adhoc import adhoc_suite, algorithm_names, apply_sets
    from bench.runner.executors import LocalExecutor
    from bench.runner.run import run_suite
    from bench.runner.suite import load_suite

    if suite_name and paths.names_a_path(suite_name) and Path(suite_name).is_dir():
        raise BenchError(
            f"--suite {suite_name} is a folder: expected a suite name (suites/<name>.yaml) "
            f"or the path of a suite YAML file"
        )
    if executor == "dask":
        from bench.runner.dask_executor import DaskExecutor

        if not scheduler:
            raise BenchError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        chosen = DaskExecutor(scheduler)
    else:
        chosen = LocalExecutor()

    chosen_algorithms = algorithm_names(algorithms) if algorithms is not None else None
    if dataset and suite_name:
        raise BenchError("--dataset runs without a suite: expected --dataset or --suite, not both")
    if dataset:
        suite = adhoc_suite(dataset, chosen_algorithms, **({"grid": grid} if grid else {}))
    else:
        suite = load_suite(suite_name or "quick")
        if chosen_algorithms:
            suite = replace(suite, algorithms=chosen_algorithms, exclude=())  # named: run them
        if grid:
            suite = replace(suite, grid=grid)
    suite = apply_sets(suite, sets)
    if warmup is not None:
        suite = replace(suite, warmup=warmup)
    if pin:
        suite = replace(suite, pin=True)
    run_dir = (results_root or paths.results_dir()) / (run_name or suite.name)
    with run_lock(run_dir, wait=wait):  # held through the image stage too
        if suite.images:  # the image study first: it produces the feature corpora the jobs use
            from bench.images.stage import run_image_stage

            run_image_stage(suite.images, run_dir)
        statuses = run_suite(suite, run_dir, executor=chosen, retry_failed=retry_failed)
    console.print(f"jobs: {dict(statuses)}")
    console.print(f"results: {run_dir / 'results.csv'}")
    if "parquet" in formats:
        from bench.results.store import write_parquet

        console.print(f"results: {write_parquet(run_dir)}")
    _warn_if_noisy(run_dir)
    if not no_plot:
        _plot(run_dir)


def _warn_if_noisy(run_dir: Path) -> None:
    """Say so when many points of the run moved more than the noisy threshold."""
    from bench.metrics.spread import NOISY_CV
    from bench.results.store import read_results

    if not (run_dir / "results.csv").exists():
        return
    frame = read_results(run_dir)
    points = frame[frame["status"] == "ok"].drop_duplicates(["job_id", "query_params", "mode"])
    noisy = int((points["noisy"] == 1).sum())
    if noisy:
        console.print(
            Text("warning:", style="yellow"),
            f"{noisy} of {len(points)} points are noisy (QPS CV > "
            f"{NOISY_CV:.0%} over their repetitions; median CV "
            f"{points['qps_cv'].median():.1%}, median load {frame['load_1m'].median():.2f}): "
            "the machine was busy; rerun on a quiet machine or compare with `bench ab`",
        )


def _plot(source: Path) -> None:
    """Plot the results of a run directory, or of a results file into its folder."""
    from bench.report.pareto import plot_pareto
    from bench.report.scaling import plot_scaling
    from bench.report.statuses import require_rows, status_counts
    from bench.results.store import read_results

    if not source.is_dir() and source.suffix not in (".csv", ".parquet"):
        raise BenchError(
            f"{source}: expected a run directory or its results file (.csv or .parquet)"
        )
    frame = read_results(source)
    require_rows(frame, source, "plot")
    if not (frame["status"] == "ok").any():  # a report still lists the failures: no error
        console.print(
            f"no plots: {source} has no row with status ok ({status_counts(frame)}); "
            f"`bench report {source}` lists their errors",
            soft_wrap=True,
        )
        return
    run_dir = source if source.is_dir() else source.parent
    written = [
        p for mode in ("single", "batch") for p in plot_pareto(frame, run_dir / "plots", mode)
    ]
    if frame["n_train"].nunique() > 1:
        written += plot_scaling(frame, run_dir)
    for path in written:
        console.print(f"plot: {path}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True))
def plot(run_dir: Path) -> None:
    """Draw recall vs QPS Pareto fronts for a run directory (or its results file); the plots
    go to the run directory's plots/."""
    _plot(run_dir)


@cli.command()
def backends() -> None:
    """List registered algorithms with their library version, or why they are unavailable."""
    from bench.backends.registry import algorithms

    table = Table("algorithm", "library", "version", "metrics", "status")
    for algorithm in algorithms().values():
        reason = algorithm.unavailable_reason()
        table.add_row(
            algorithm.name,
            algorithm.library,
            algorithm.version() or "-",
            ", ".join(algorithm.metrics),
            reason or "available",
        )
    console.print(table)


@cli.command()
def datasets() -> None:
    """List the corpus definitions in datasets/ and the named public datasets."""
    from bench.catalogue.entries import catalogue
    from bench.catalogue.local import status
    from bench.corpora.registry import dataset_names, dataset_spec

    table = Table("dataset", "kind", "description")
    invalid = []
    for name in dataset_names():  # one bad file is listed as such, not the end of the listing
        try:
            spec = dataset_spec(name)
        except BenchError as exc:
            invalid.append(name)
            table.add_row(name, Text("invalid", style="red"), Text(str(exc), style="red"))
            continue
        table.add_row(name, str(spec.get("kind")), str(spec.get("description", "")))
    console.print(table)
    named = Table("named dataset", "family", "metric", "dim", "train", "test", "size", "status")
    for entry in catalogue().values():
        state = status(entry)
        named.add_row(
            entry.name,
            entry.family,
            entry.metric,
            str(entry.dim),
            f"{entry.n_train:,}",
            f"{entry.n_test:,}",
            _size(entry.size_bytes),
            state.text + (f" ({_size(state.bytes_on_disk)})" if state.bytes_on_disk else ""),
        )
    console.print(named)
    if invalid:
        raise BenchError(
            f"{len(invalid)} dataset file(s) in {paths.datasets_dir()} are invalid: "
            f"{', '.join(invalid)} (the table says why): expected valid dataset YAML files"
        )


def _size(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return ""


@cli.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download again; keep the old copy until then.")
def fetch(names: tuple[str, ...], force: bool) -> None:
    """Download (or generate) named datasets into the cache and verify them (sha256)."""
    from bench.catalogue.entries import named
    from bench.catalogue.local import ensure, verification

    for name in names:
        entry = named(name)
        for path in ensure(entry, full_check=True, force=force):
            console.print(f"{name}: {path} ({_size(path.stat().st_size)}, {verification(entry)})")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--k", type=int, default=None, help="Score at this k (<= the run's; default its k).")
@click.option(
    "--epsilon",
    type=float,
    default=1e-3,
    show_default=True,
    help="Tie slack: absolute for recall, relative for recall_rel.",
)
def rescore(run_dir: Path, k: int | None, epsilon: float) -> None:
    """Recompute recall (and P@k) from a run's kept answers, without re-running anything."""
    from bench.report.rescore import write_rescored

    console.print(f"rescored: {write_rescored(run_dir, k, epsilon)}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["ann-benchmarks"]), required=True)
def export(run_dir: Path, out_dir: Path, fmt: str) -> None:
    """Write a run in another tool's results layout (ann-benchmarks: OUT_DIR/<dataset>/...)."""
    from bench.interop.ann_benchmarks import export_run

    written = export_run(run_dir, out_dir)
    console.print(f"{len(written)} result files under {out_dir} ({fmt} layout)")


@cli.command("import-ann-benchmarks")
@click.argument("source", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory to append to, e.g. one of ours to compare in one report "
    "(default: results/ann-benchmarks).",
)
def import_ann_benchmarks(source: Path, into: Path | None) -> None:
    """Read ann-benchmarks result files; recall recomputed here from their neighbours."""
    from bench.interop.ann_benchmarks import import_results

    run_dir = into or paths.results_dir() / "ann-benchmarks"
    imported, skipped = import_results(source, run_dir)
    already = f" ({skipped} skipped: already in the run)" if skipped else ""
    console.print(f"imported {imported} results into {run_dir}{already}")


@cli.command()
def schema() -> None:
    """Print the results CSV schema as a Markdown table."""
    from bench.results.schema import markdown_table

    click.echo(markdown_table())


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--site",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write a static multi-run site into this folder instead (index, run, corpus and "
    "algorithm pages).",
)
def report(runs: tuple[Path, ...], site: Path | None) -> None:
    """Write RUN/report.html (interactive, self-contained, works offline) and RUN/report.md.

    RUN is a run directory or its results file (.csv or .parquet). Other CSVs in the run
    directory become tables and plots/*.png not shown yet become a gallery. With --site OUT,
    several runs become one static site: OUT/index.html and a page per run, corpus and
    algorithm."""
    from bench.report import html, markdown
    from bench.report.summary import build_report

    if site is not None:
        from bench.report.site import write_site

        pages = write_site(site, list(runs))
        console.print(f"site: {pages[0]} ({len(pages)} pages)")
        return
    if len(runs) > 1:
        raise click.UsageError("several runs need --site OUT (one report per run otherwise)")
    run_dir = runs[0]
    content = build_report(run_dir)
    out_dir = run_dir if run_dir.is_dir() else run_dir.parent
    console.print(f"report: {html.write(content, out_dir / 'report.html')}")
    console.print(f"report: {markdown.write(content, out_dir / 'report.md')}")


@cli.command()
@click.argument("baseline", type=click.Path(path_type=Path, exists=True))
@click.argument("current", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--qps-threshold",
    default=0.10,
    show_default=True,
    help="Relative median QPS drop tolerated (the drop must also be beyond the noise band).",
)
@click.option(
    "--build-threshold",
    default=0.25,
    show_default=True,
    help="Relative build time increase tolerated.",
)
@click.option(
    "--alpha",
    default=0.05,
    show_default=True,
    help="1 - confidence of the QPS noise band (repetition intervals and drift).",
)
@click.option(
    "--recall-tolerance", default=1e-3, show_default=True, help="Absolute recall drop tolerated."
)
@click.option(
    "--min-build-seconds",
    default=0.1,
    show_default=True,
    help="Builds shorter than this in both runs are not judged.",
)
@click.option(
    "--normalize",
    is_flag=True,
    help="Compare QPS relative to each run's bruteforce single-mode QPS per corpus.",
)
@click.option(
    "--markdown",
    "markdown_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the Markdown (for a PR comment) to this file.",
)
def compare(
    baseline: Path,
    current: Path,
    qps_threshold: float,
    build_threshold: float,
    alpha: float,
    recall_tolerance: float,
    min_build_seconds: float,
    normalize: bool,
    markdown_file: Path | None,
) -> None:
    """Compare CURRENT against BASELINE (run dirs or results files).

    Exit 0: pass; 1: a regression (recall, QPS beyond the noise, build time, failed or missing
    rows, invalid QPS); 3: no regression but some QPS rows too noisy to judge; 2: bad input,
    nothing to judge (no ok row in the baseline; no row matched and no job newly failed), or
    the --markdown file could not be written (then nothing is printed and the old file stays)."""
    from bench.report.compare import Thresholds, compare_runs, render_markdown
    from bench.storage import write_bytes_atomic

    thresholds = Thresholds(
        recall_tolerance=recall_tolerance,
        qps=qps_threshold,
        build=build_threshold,
        alpha=alpha,
        min_build_s=min_build_seconds,
    )
    result = compare_runs(baseline, current, thresholds, normalized=normalize)
    text = render_markdown(result)
    if markdown_file is not None:  # first: a failed write exits 2 (an IO error), never 1
        write_bytes_atomic(markdown_file, text.encode())
    click.echo(text)
    if result.exit_code:
        raise SystemExit(result.exit_code)


@cli.command()
@click.option("--suite", "suite_name", default="ci", show_default=True, help="Suite to measure.")
@click.option(
    "--run",
    "run_name",
    default="ab",
    show_default=True,
    callback=_run_name,
    help="Run directory name.",
)
@results_option
@click.option(
    "--algorithms", default=None, help="Comma-separated algorithms (run even if excluded)."
)
@click.option("--python-a", default="", help="Interpreter (venv) for A's workers.")
@click.option("--python-b", default="", help="Interpreter (venv) for B's workers.")
@click.option(
    "--backends-a", type=click.Path(path_type=Path), default=None, help="Backends folder of A."
)
@click.option(
    "--backends-b", type=click.Path(path_type=Path), default=None, help="Backends folder of B."
)
@click.option("--grid-a", default=None, help="Grid name (parameter set) of A.")
@click.option("--grid-b", default=None, help="Grid name (parameter set) of B.")
@click.option(
    "--rounds", default=3, show_default=True, help="ABBA rounds per job at least (2 pairs each)."
)
@click.option(
    "--max-rounds",
    default=10,
    show_default=True,
    help="ABBA rounds per job at most: more run while an interval is too wide to judge.",
)
@click.option(
    "--threshold", default=0.05, show_default=True, help="Relative QPS drop of B tolerated."
)
@click.option("--alpha", default=0.05, show_default=True, help="1 - confidence of the intervals.")
@click.option("--pin", is_flag=True, help="Pin each worker to one core and this process elsewhere.")
def ab(
    suite_name: str,
    run_name: str,
    results_root: Path | None,
    algorithms: str | None,
    python_a: str,
    python_b: str,
    backends_a: Path | None,
    backends_b: Path | None,
    grid_a: str | None,
    grid_b: str | None,
    rounds: int,
    max_rounds: int,
    threshold: float,
    alpha: float,
    pin: bool,
) -> None:
    """Measure variants A and B of a suite in one session, interleaved (ABBA rounds).

    Writes ab.csv, ab-observations.csv and ab.md into the run directory. Exit 0: no point of
    B slower beyond the noise and the threshold; 1: a regression or a failed job; 3: only
    inconclusive points; 2: bad input."""
    from dataclasses import replace

    import pandas as pd

    from bench.report import ab as ab_report
    from bench.runner import ab as ab_runner
    from bench.runner.adhoc import algorithm_names
    from bench.runner.executors import LocalExecutor
    from bench.runner.run import prepare_corpora
    from bench.runner.suite import load_suite

    if not 1 <= rounds <= max_rounds:
        raise BenchError(
            f"--rounds {rounds} --max-rounds {max_rounds}: expected 1 <= rounds <= max-rounds"
        )
    if not (0 < threshold < 1 and 0 < alpha < 1):
        raise BenchError(f"--threshold {threshold} --alpha {alpha}: expected numbers in (0, 1)")
    with ab_runner.backends_folder(backends_a):  # its algorithms may be the variants' own
        suite = load_suite(suite_name)
        if algorithms is not None:
            suite = replace(suite, algorithms=algorithm_names(algorithms), exclude=())
        suite = replace(suite, pin=pin or suite.pin)
    variants = (
        ab_runner.Variant("A", python_a, backends_a, grid_a),
        ab_runner.Variant("B", python_b, backends_b, grid_b),
    )
    corpora = prepare_corpora(suite, LocalExecutor())
    jobs = [ab_runner.plan_variant(suite, v, corpora) for v in variants]
    pairs = ab_runner.pair_jobs(*jobs)
    points = sum(len(a.query_grid) * len(a.modes) for a, _ in pairs)
    console.print(
        f"{len(pairs)} job pairs x {rounds}-{max_rounds} rounds x {len(ab_runner.ORDER)} workers"
    )

    def on_start(job, round_: int, name: str) -> None:
        console.log(f"round {round_ + 1} {name}: {job.algorithm} on {job.corpus}")

    def settled(job_observations: pd.DataFrame) -> bool:
        return ab_report.settled(job_observations, threshold, alpha, points)

    observations = ab_runner.run_ab(pairs, rounds, max_rounds, settled, on_start)
    summary = ab_report.summarize(observations, threshold, alpha, points)
    notes = [
        f"B/A: geometric mean over the paired neighbours of {rounds} to {max_rounds} ABBA "
        f"rounds (more while an interval was wider than the threshold), interval: "
        f"{1 - alpha:.0%} family-wise (Bonferroni over {points} points) Student t over the "
        f"pairs; regression: B slower by more than {threshold:.0%} and the whole interval "
        "below 1.",
    ]
    if variants[0].describe() == variants[1].describe():
        notes.append("A and B are the same: this is an A/A run (a check of the noise).")
    text = ab_report.render_markdown(summary, variants[0].describe(), variants[1].describe(), notes)
    run_dir = (results_root or paths.results_dir()) / run_name
    ab_report.write(summary, observations, text, run_dir)
    click.echo(text)
    console.print(f"results: {run_dir / 'ab.csv'}")
    code = ab_report.exit_code(summary)
    if code:
        raise SystemExit(code)


@cli.command()
@click.option("--model", default="efficientnet-lite0", show_default=True)
@click.option("--epochs", default=6, show_default=True)
@click.option(
    "--trainable-blocks",
    default=3,
    show_default=True,
    help="Last blocks trained (the earlier ones stay frozen).",
)
@click.option("--learning-rate", default=1e-3, show_default=True)
@click.option("--per-class", default=None, type=int, help="Cap images per class and split.")
@click.option("--root", default=None, help="Image folder (default: Caltech101).")
@click.option("--run", "run_name", default="finetune", show_default=True, callback=_run_name)
def finetune(
    model: str,
    epochs: int,
    trainable_blocks: int,
    learning_rate: float,
    per_class: int | None,
    root: str | None,
    run_name: str,
) -> None:
    """Fine-tune an extractor on the train split; P@k and mAP@10 before/after on the test split."""
    from bench.images.finetune import FinetuneSettings
    from bench.images.finetune_stage import run_finetune

    settings = FinetuneSettings(
        model=model, epochs=epochs, trainable_blocks=trainable_blocks, learning_rate=learning_rate
    )
    images = {"root": root} if root else {"dataset": "caltech101"}
    images["per_class"] = per_class
    run_dir = paths.results_dir() / run_name
    outcome = run_finetune(settings, run_dir, images)
    table = Table("stage", "P@1", "P@5", "P@10", "mAP@10")
    for stage in ("before", "after"):
        s = outcome[stage]
        table.add_row(stage, *(f"{s[k]:.3f}" for k in ("p_at_1", "p_at_5", "p_at_10", "map_at_10")))
    console.print(table)
    console.print(
        f"training: {outcome['record']['train_s']:.0f} s "
        f"(+ {outcome['record']['activation_cache_s']:.0f} s caching activations)"
    )
    console.print(f"results: {run_dir}")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers are ended and temporary folders removed."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


_WRITTEN_ATOMICALLY = "the files already written are complete, and nothing was half-written"
_INTERRUPTED = {  # what an interrupted command leaves, where it is not _WRITTEN_ATOMICALLY
    "run": "finished jobs are saved; run the same command to resume",
    "fetch": "the part downloaded is kept (.part); run the same command to resume it",
}


def _command() -> str:
    """The subcommand named on the command line (the first word that is a command)."""
    return next((word for word in sys.argv[1:] if word in cli.commands), "")


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli(standalone_mode=False)
    except BenchError as exc:
        console.print(Text("error:", style="red"), str(exc), soft_wrap=True)
        sys.exit(2)
    except click.exceptions.Abort as exc:
        terminated = isinstance(exc.__context__, _Terminated)
        console.print(
            f"{'terminated' if terminated else 'interrupted'}: "
            f"{_INTERRUPTED.get(_command(), _WRITTEN_ATOMICALLY)}"
        )
        sys.exit(143 if terminated else 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OSError as exc:  # full disk, read-only folder, missing file: say which, no traceback
        # exit 2, as for other bad input: 1 means a regression to `compare` and `ab`
        where = f"{exc.filename}: " if exc.filename else ""
        console.print(Text("error:", style="red"), f"{where}{exc.strerror or exc}", soft_wrap=True)
        sys.exit(2)
