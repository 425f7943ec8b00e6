"""Reading the project's YAML files (suites, datasets, backends) with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.errors import BenchError


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
