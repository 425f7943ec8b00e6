"""The `bench` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from bench import paths
from bench.errors import BenchError

console = Console()


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
def cli(verbose: bool) -> None:
    """Benchmark approximate nearest-neighbour libraries and image feature extractors."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


@cli.command()
@click.option(
    "--suite",
    "suite_name",
    default="quick",
    show_default=True,
    help="Suite name (suites/<name>.yaml) or path to a suite YAML.",
)
@click.option("--run", "run_name", default=None, help="Run directory name (default: the suite).")
@click.option(
    "--results",
    "results_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding run directories (default: results/).",
)
@click.option("--algorithms", default=None, help="Comma-separated subset of algorithms.")
@click.option("--retry-failed", is_flag=True, help="Run failed jobs again.")
@click.option("--no-plot", is_flag=True, help="Do not draw the Pareto plots at the end.")
def run(
    suite_name: str,
    run_name: str | None,
    results_root: Path | None,
    algorithms: str | None,
    retry_failed: bool,
    no_plot: bool,
) -> None:
    """Run a suite; finished jobs in the same run directory are skipped (resume)."""
    from dataclasses import replace

    from bench.runner.run import run_suite
    from bench.runner.suite import load_suite

    suite = load_suite(suite_name)
    if algorithms:
        suite = replace(suite, algorithms=tuple(a.strip() for a in algorithms.split(",")))
    run_dir = (results_root or paths.results_dir()) / (run_name or suite.name)
    statuses = run_suite(suite, run_dir, executor=chosen, retry_failed=retry_failed)
    console.print(f"jobs: {dict(statuses)}")
    console.print(f"results: {run_dir / 'results.csv'}")
    if not no_plot:
        _plot(run_dir)


def _plot(run_dir: Path) -> None:
    from bench.report.pareto import plot_pareto
    from bench.results.store import read_results

    for path in plot_pareto(read_results(run_dir), run_dir / "plots"):
        console.print(f"plot: {path}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True))
def plot(run_dir: Path) -> None:
    """Draw recall vs QPS Pareto fronts for a run directory."""
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
    """List the corpus definitions in datasets/."""
    from bench.corpora.registry import dataset_names, dataset_spec

    table = Table("dataset", "kind", "description")
    for name in dataset_names():
        spec = dataset_spec(name)
        table.add_row(name, str(spec.get("kind")), str(spec.get("description", "")))
    console.print(table)


@cli.command()
def schema() -> None:
    """Print the results CSV schema as a Markdown table."""
    from bench.results.schema import markdown_table

    click.echo(markdown_table())


def main() -> None:
    try:
        cli(standalone_mode=False)
    except BenchError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except click.exceptions.Abort:
        console.print("interrupted: finished jobs are saved; run the same command to resume")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
