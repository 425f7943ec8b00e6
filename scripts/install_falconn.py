"""Install falconn 1.3.1 into the Python environment that runs this script.

Run it with the interpreter of the target environment::

    .venv/bin/python scripts/install_falconn.py

The only falconn release on PyPI (1.3.1, 2017) does not build on Python 3.11 as shipped: its
sdist bundles a pybind11 that predates 3.11. It builds from that same sdist once two things are
patched:

* the bundled ``external/pybind11/include`` is replaced by the include directory of a current
  ``pybind11`` (pip package; a current pybind11 also handles numpy 2);
* ``-std=c++11`` becomes ``-std=c++17`` in its ``setup.py``.

One more flag is added for convenience, not need: ``-g0``. Python's own CFLAGS may carry ``-g``
(pyenv's do), which makes an 80 MB extension and a build 1.7 times as long; ``-g0`` gives the
same code in a 0.8 MB wheel.

Its Python wrapper (``falconn/__init__.py``) needs no change for numpy 2: it uses no removed
numpy alias.

Steps, each stopping at the first that succeeds:

1. ``import falconn`` already works: nothing to do.
2. A wheel built earlier for this interpreter is in the cache folder (``~/.cache/bench/wheels``,
   or ``$BENCH_WHEEL_CACHE``): install it.
3. Build the wheel from the sdist (about 70 s of CPU time), copy it to the cache, install it.

Then import falconn and answer a small real query, in a child process so that a crash (for
instance a cached wheel compiled with ``-march=native`` on another CPU) is reported rather than
taking this script down. A cached wheel that fails this check is replaced by a fresh build.

Exit status: 0 when falconn works, 1 with a message naming the failed step otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

FALCONN_VERSION = "1.3.1"
DEFAULT_CACHE = Path("~/.cache/bench/wheels").expanduser()
CACHE_ENV_VAR = "BENCH_WHEEL_CACHE"
# Installed into the target environment before the build (no build isolation).
BUILD_REQUIREMENTS = {"pybind11": "pybind11", "setuptools": "setuptools", "wheel": "wheel"}
# falconn's metadata declares no dependency, but its wrapper imports numpy.
RUNTIME_REQUIREMENTS = {"numpy": "numpy"}
# Lines of a failed command's output shown in the error message.
OUTPUT_TAIL_LINES = 60

# A tiny real query: build an index on random unit vectors, look one of them up.
VERIFY_CODE = """
import numpy as np
import falconn

rng = np.random.default_rng(0)
data = rng.standard_normal((1000, 32)).astype(np.float32)
data /= np.linalg.norm(data, axis=1, keepdims=True)
params = falconn.get_default_parameters(1000, 32)
index = falconn.LSHIndex(params)
index.setup(data)
query = index.construct_query_object()
query.set_num_probes(4 * params.l)
found = query.find_k_nearest_neighbors(data[123], 5)
assert found and found[0] == 123, f"expected point 123 first, got {found}"
print(f"falconn ok: {params.lsh_family}, l={params.l}, query found {found}")
"""


class StepFailed(Exception):
    """A step of the installation failed; the message says which and why."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def log(message: str) -> None:
    print(f"[install_falconn] {message}", flush=True)


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run(step: str, args: Sequence[str | os.PathLike[str]], verbose: bool = False) -> str:
    """Run a command; return its combined output, or raise StepFailed with its tail."""
    command = [str(arg) for arg in args]
    if verbose:
        log("$ " + " ".join(command))
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if verbose and result.stdout:
        print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise StepFailed(
            step,
            f"command failed with exit status {result.returncode}: {' '.join(command)}\n"
            f"--- last lines of its output ---\n{tail(result.stdout)}",
        )
    return result.stdout


def pip(step: str, *args: str | os.PathLike[str], verbose: bool = False) -> str:
    return run(step, [sys.executable, "-m", "pip", *args], verbose=verbose)


def python_ok(code: str) -> tuple[bool, str]:
    """Run code in a fresh child of this interpreter; return (success, combined output)."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    output = result.stdout.strip()
    if result.returncode < 0:
        output += f"\n(killed by signal {-result.returncode})"
    return result.returncode == 0, output


def falconn_importable() -> bool:
    return python_ok("import falconn")[0]


def ensure_modules(step: str, requirements: dict[str, str], verbose: bool) -> None:
    """pip-install the packages whose module does not import (module name -> requirement)."""
    missing = [req for module, req in requirements.items() if not python_ok(f"import {module}")[0]]
    if missing:
        log(f"installing {', '.join(missing)}")
        pip(step, "install", "--quiet", *missing, verbose=verbose)


def supported_tags() -> set[str]:
    """The wheel tags (e.g. cp311-cp311-manylinux_2_36_x86_64) this interpreter accepts."""
    try:
        from packaging.tags import sys_tags
    except ImportError:  # pip always vendors packaging
        from pip._vendor.packaging.tags import sys_tags
    return {str(tag) for tag in sys_tags()}


def wheel_matches(wheel: Path, tags: set[str]) -> bool:
    """Whether a wheel's file name says it installs on this interpreter."""
    parts = wheel.stem.split("-")
    if len(parts) not in (5, 6):  # name-version[-build]-python-abi-platform
        return False
    python_tags, abi_tags, platform_tags = (part.split(".") for part in parts[-3:])
    return any(
        f"{python}-{abi}-{platform}" in tags
        for python in python_tags
        for abi in abi_tags
        for platform in platform_tags
    )


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV_VAR)
    return Path(configured).expanduser() if configured else DEFAULT_CACHE


def find_cached_wheel(cache: Path) -> Path | None:
    if not cache.is_dir():
        return None
    tags = supported_tags()
    candidates = [
        wheel
        for wheel in cache.glob("*.whl")
        if wheel.name.lower().startswith(f"falconn-{FALCONN_VERSION}-")
        and wheel_matches(wheel, tags)
    ]
    # Newest first, should several builds be there.
    candidates.sort(key=lambda wheel: wheel.stat().st_mtime, reverse=True)
    return candidates[0] if candidates else None


def install_wheel(step: str, wheel: Path, verbose: bool) -> None:
    log(f"installing {wheel.name}")
    pip(step, "install", "--quiet", "--no-deps", "--force-reinstall", wheel, verbose=verbose)


def verify() -> None:
    step = "verify"
    log("verifying: import falconn and answer a small query")
    ok, output = python_ok(VERIFY_CODE)
    if not ok:
        raise StepFailed(step, f"falconn is installed but does not work:\n{tail(output)}")
    log(output.splitlines()[-1])


def download_sdist(workdir: Path, verbose: bool) -> Path:
    step = "download sdist"
    log(f"downloading the falconn {FALCONN_VERSION} sdist")
    download_dir = workdir / "download"
    pip(
        step,
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"falconn=={FALCONN_VERSION}",
        "--dest",
        download_dir,
        verbose=verbose,
    )
    archives = sorted(download_dir.glob("*.tar.gz"))
    if len(archives) != 1:
        raise StepFailed(step, f"expected one .tar.gz in {download_dir}, found {archives}")
    return archives[0]


def unpack_sdist(archive: Path, workdir: Path) -> Path:
    step = "unpack sdist"
    log(f"unpacking {archive.name}")
    source_root = workdir / "source"
    try:
        with tarfile.open(archive) as tar:
            # The "data" filter refuses links and paths out of source_root (Python >= 3.11.4).
            if hasattr(tarfile, "data_filter"):
                tar.extractall(source_root, filter="data")
            else:
                tar.extractall(source_root)
    except (tarfile.TarError, OSError) as error:
        raise StepFailed(step, f"cannot unpack {archive}: {error}") from error
    tops = [path for path in source_root.iterdir() if path.is_dir()]
    if len(tops) != 1 or not (tops[0] / "setup.py").is_file():
        raise StepFailed(step, f"expected one source folder with a setup.py, found {tops}")
    return tops[0]


def replace_once(path: Path, old: str, new: str, step: str) -> None:
    text = path.read_text()
    if text.count(old) != 1:
        raise StepFailed(step, f"expected {old!r} exactly once in {path}")
    path.write_text(text.replace(old, new))


def patch_source(source: Path) -> None:
    step = "patch source"
    ok, include = python_ok("import pybind11; print(pybind11.get_include())")
    if not ok:
        raise StepFailed(step, f"cannot locate pybind11's include directory:\n{include}")
    new_include = Path(include.splitlines()[-1])
    if not (new_include / "pybind11" / "pybind11.h").is_file():
        raise StepFailed(step, f"no pybind11/pybind11.h under {new_include}")
    old_include = source / "external" / "pybind11" / "include"
    if not old_include.is_dir():
        raise StepFailed(step, f"the sdist has no bundled {old_include}")
    log(f"patching: bundled pybind11 headers -> {new_include}")
    shutil.rmtree(old_include)
    shutil.copytree(new_include, old_include)
    log("patching: setup.py -std=c++11 -> -std=c++17, no debug info (-g0)")
    setup_py = source / "setup.py"
    replace_once(setup_py, "'-std=c++11'", "'-std=c++17'", step)
    replace_once(setup_py, "'-O3']", "'-O3', '-g0']", step)


def build_wheel(source: Path, workdir: Path, verbose: bool) -> Path:
    step = "build wheel"
    log("building the wheel (about 70 s of CPU time)")
    wheel_dir = workdir / "wheel"
    started = time.monotonic()
    pip(
        step,
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        wheel_dir,
        source,
        verbose=verbose,
    )
    wheels = sorted(wheel_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise StepFailed(step, f"expected one wheel in {wheel_dir}, found {wheels}")
    log(f"built {wheels[0].name} in {time.monotonic() - started:.0f} s")
    return wheels[0]


def store_in_cache(wheel: Path, cache: Path) -> None:
    """Copy the wheel into the cache; a cache that cannot be written only costs a warning."""
    target = cache / wheel.name
    try:
        cache.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copy2(wheel, partial)
        partial.replace(target)  # atomic: a concurrent reader never sees half a wheel
    except OSError as error:
        log(f"warning: cannot cache {wheel.name} in {cache} ({error}); installing it anyway")
        return
    log(f"cached {target}")


def build_and_install(cache: Path, verbose: bool) -> None:
    ensure_modules("install build requirements", BUILD_REQUIREMENTS | RUNTIME_REQUIREMENTS, verbose)
    with tempfile.TemporaryDirectory(prefix="falconn-build-") as tmp:
        workdir = Path(tmp)
        source = unpack_sdist(download_sdist(workdir, verbose), workdir)
        patch_source(source)
        wheel = build_wheel(source, workdir, verbose)
        store_in_cache(wheel, cache)
        install_wheel("install built wheel", wheel, verbose)
    verify()


def install(rebuild: bool, verbose: bool) -> None:
    log(f"target interpreter: {sys.executable}")
    if not rebuild and falconn_importable():
        log("falconn is already importable; nothing to do")
        return

    cache = cache_dir()
    cached = None if rebuild else find_cached_wheel(cache)
    if cached is not None:
        log(f"found cached wheel {cached}")
        ensure_modules("install runtime requirements", RUNTIME_REQUIREMENTS, verbose)
        try:
            install_wheel("install cached wheel", cached, verbose)
            verify()
            return
        except StepFailed as error:
            log(f"the cached wheel does not work here ({error}); removing it, building afresh")
            cached.unlink(missing_ok=True)
    elif rebuild:
        log("--rebuild: building from the sdist")
    else:
        log(f"no cached wheel for this interpreter in {cache}; building from the sdist")
    build_and_install(cache, verbose)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="build from the sdist even if falconn imports or a cached wheel exists",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the commands run and their output"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        install(rebuild=args.rebuild, verbose=args.verbose)
    except StepFailed as error:
        log(f"FAILED at step '{error.step}': {error.detail}")
        return 1
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
