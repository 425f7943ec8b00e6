"""Where the project's data lives. Overridable with BENCH_HOME so tests can use a temp tree."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    return Path(os.environ.get("BENCH_HOME", PROJECT_ROOT))


def backends_dir() -> Path:
    return PROJECT_ROOT / "backends"


def datasets_dir() -> Path:
    return PROJECT_ROOT / "datasets"


def suites_dir() -> Path:
    return PROJECT_ROOT / "suites"


def cache_dir() -> Path:
    path = Path(os.environ.get("BENCH_CACHE", home() / "datasets" / "cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS", home() / "results"))
