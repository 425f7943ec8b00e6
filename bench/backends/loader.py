"""Importing an adapter class by its "module:Class" name.

Apart from the registry (`bench.backends.registry`), so that the worker, which gets the name
in its job, does not import the backend YAML schemas.
"""

from __future__ import annotations

import importlib

from bench.backends.base import Backend
from bench.errors import BackendUnavailable, BenchError


def load_adapter(adapter: str, install: str = "") -> type[Backend]:
    """Import the adapter class named "module:Class"."""
    module_name, _, class_name = adapter.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f". Install it with: {install}" if install else ""
        raise BackendUnavailable(f"adapter {adapter!r} is unavailable: {exc}{hint}") from exc
    if not hasattr(module, class_name):
        raise BenchError(f"adapter {adapter!r}: module {module_name!r} has no class {class_name!r}")
    return getattr(module, class_name)
