"""Where the project's data lives, each place overridable by a BENCH_* variable.

An empty variable counts as unset: `Path("")` is the current directory, so `BENCH_CACHE=`
would otherwise scatter cache folders into whatever folder the command ran from. A variable
that names something other than a folder is refused in one line naming it (`folder`).
"""

import difflib
import os
from pathlib import Path
from typing import Literal

from bench.errors import BenchError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Missing = Literal["refuse", "create", "allow"]


def _setting(variable: str) -> str:
    return os.environ.get(variable, "")


def folder(variable: str, default: Path, missing: Missing = "refuse") -> Path:
    """The folder named by `variable` (`default` when unset or empty), checked.

    Definition folders (datasets, suites, backends, catalogue) must exist (`refuse`); the
    cache is created when missing (`create`); the results root may be missing until a run
    creates it (`allow`). Anything else there (a file) is refused."""
    value = _setting(variable)
    path = Path(value) if value else default
    named = f"{variable}={value}" if value else f"{path} (the default when {variable} is unset)"
    if missing == "create":
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            pass  # a file there: refused below
        except OSError as exc:
            raise BenchError(
                f"{named}: cannot create the folder ({exc.strerror}): expected a writable "
                f"folder; set {variable} to one"
            ) from exc
    if path.is_dir() or (missing == "allow" and not path.exists()):
        return path
    what = "a file" if path.exists() else "missing"
    raise BenchError(f"{named} is not a folder ({what}): expected {_EXPECTED[variable]}")


_EXPECTED = {
    "BENCH_BACKENDS": "a folder of backend YAML files",
    "BENCH_DATASETS": "a folder of dataset YAML files",
    "BENCH_SUITES": "a folder of suite YAML files",
    "BENCH_CATALOGUE": "a folder of catalogue YAML files",
    "BENCH_CACHE": "a folder for the cache (created when missing)",
    "BENCH_RESULTS": "a folder for the results (created when missing)",
}


VARIABLES = (*_EXPECTED, "BENCH_HOME", "BENCH_EXTRA_BACKENDS")


def unknown_variables() -> list[str]:
    """One line per BENCH_* variable that nothing reads (a typo such as BENCH_CAHCE would
    otherwise leave the cache where it was without a word), naming the closest known one."""
    lines = []
    for name in sorted(set(os.environ) - set(VARIABLES)):
        if name.startswith("BENCH_"):
            close = difflib.get_close_matches(name, VARIABLES, n=1, cutoff=0.85)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(VARIABLES)}"
            lines.append(f"{name} is not a variable bench reads: {hint}")
    return lines


def names_a_path(value: str) -> bool:
    """Whether a `--suite` / `--dataset` value is a path rather than a bare name: it has a
    folder separator or a suffix. A bare name is looked up in suites/ or datasets/ first, so
    a folder of the same name in the current directory (a run folder) does not shadow it."""
    separators = {os.sep, "/", *([os.altsep] if os.altsep else [])}
    return any(sep in value for sep in separators) or bool(Path(value).suffix)


def home() -> Path:
    value = _setting("BENCH_HOME")
    return Path(value) if value else PROJECT_ROOT


def backends_dirs() -> tuple[Path, ...]:
    """The project's backend YAMLs (or the folder BENCH_BACKENDS), plus any folders in
    BENCH_EXTRA_BACKENDS (os.pathsep list)."""
    extra = [Path(p) for p in _setting("BENCH_EXTRA_BACKENDS").split(os.pathsep) if p]
    return (folder("BENCH_BACKENDS", PROJECT_ROOT / "backends"), *extra)


def datasets_dir() -> Path:
    return folder("BENCH_DATASETS", PROJECT_ROOT / "datasets")


def suites_dir() -> Path:
    return folder("BENCH_SUITES", PROJECT_ROOT / "suites")


def catalogue_dir() -> Path:
    return folder("BENCH_CATALOGUE", PROJECT_ROOT / "datasets" / "catalogue")


def cache_dir() -> Path:
    return folder("BENCH_CACHE", home() / "datasets" / "cache", missing="create")


def results_dir() -> Path:
    return folder("BENCH_RESULTS", home() / "results", missing="allow")
