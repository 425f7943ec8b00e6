"""Where the project's data lives. Overridable with BENCH_HOME so tests can use a temp tree."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    return Path(os.environ.get("BENCH_HOME", PROJECT_ROOT))


def backends_dirs() -> tuple[Path, ...]:
    """The project's backend YAMLs (or the folder BENCH_BACKENDS), plus any folders in
    BENCH_EXTRA_BACKENDS (os.pathsep list)."""
    extra = [Path(p) for p in os.environ.get("BENCH_EXTRA_BACKENDS", "").split(os.pathsep) if p]
    return (Path(os.environ.get("BENCH_BACKENDS", PROJECT_ROOT / "backends")), *extra)


def datasets_dir() -> Path:
    return Path(os.environ.get("BENCH_DATASETS", PROJECT_ROOT / "datasets"))


def suites_dir() -> Path:
    return Path(os.environ.get("BENCH_SUITES", PROJECT_ROOT / "suites"))


def cache_dir() -> Path:
    path = Path(os.environ.get("BENCH_CACHE", home() / "datasets" / "cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS", home() / "results"))
