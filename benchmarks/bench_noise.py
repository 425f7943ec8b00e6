"""Does the timing hold still? False alarms, detection, spread and overhead under load.

Starts a bounded, unrelated CPU-bound load on one core (a subprocess that stops by itself),
then measures, as issue 10 asks:

  (a) `bench run` of the suite twice, then `bench compare`: false regressions over N pairs;
  (b) `bench ab` with B = hnswlib doing 15 % more searches (benchmarks/slower.py) and A the
      normal adapter: how often B is flagged over N pairs; and A against itself (A/A);
  (c) the median CV of QPS per point, quiet (before the load) and loaded;
  (d) harness vs bare loop (benchmarks/bench_overhead.py), alternating, pinned and unpinned.

    .venv/bin/python benchmarks/bench_noise.py              # the real thing (long: ~1 h)
    .venv/bin/python benchmarks/bench_noise.py --smoke      # every step at toy sizes
    .venv/bin/python benchmarks/bench_noise.py --only ab --pin --max-rounds 20   # one step

(b)'s B does 15 % more searches in single mode only: its batch points are an A/A check
inside the same run. `--pin` passes `--pin` to `bench run` and `bench ab` (each worker on the
core idle longest just before its job; the load is on `--load-core`, 0 by default).

It prints one table: each measure with its spread and the machine's load while it ran.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

LOAD = "import time\nend = time.time() + {seconds}\nx = 0\nwhile time.time() < end:\n    x += 1\n"
HNSWLIB = {
    "library": "hnswlib",
    "install": "pip install hnswlib",
    "metrics": ["euclidean", "angular", "inner_product"],
    "algorithms": {
        "hnswlib": {
            "grids": {
                "ci": {"build": {"M": [16], "ef_construction": [100]}, "query": {"ef": [20, 80]}}
            }
        }
    },
}


@contextmanager
def cpu_load(seconds: float, core: int) -> Iterator[None]:
    """An unrelated busy loop on `core`; it ends by itself after `seconds` (or with us)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOAD.format(seconds=seconds)],
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def bench(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}"}
    return subprocess.run(
        [sys.executable, "-m", "bench", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def suite_file(folder: Path, smoke: bool, algorithms: str | None) -> Path:
    data = yaml.safe_load((ROOT / "suites" / "ci.yaml").read_text())
    if algorithms:
        data["algorithms"] = algorithms.split(",")
    if smoke:
        data.update(
            algorithms=["hnswlib", "faiss-ivf", "bruteforce"],
            repetitions=2,
            min_time_s=0.01,
            query_limit=100,
        )
    path = folder / "noise.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def table_rows(markdown: str, heading: str) -> int:
    if heading not in markdown:
        return 0
    block = markdown.split(heading, 1)[1].split("###", 1)[0].split("<details>", 1)[0]
    return max(0, sum(line.startswith("| ") for line in block.splitlines()) - 1)


def median_cv(run_dir: Path) -> float:
    frame = pd.read_csv(run_dir / "results.csv")
    points = frame[frame["status"] == "ok"].drop_duplicates(["job_id", "query_params", "mode"])
    return float(points["qps_cv"].median())


def compare_pairs(root: Path, suite: Path, pairs: int, pin: list[str]) -> dict[str, object]:
    false, unsure, cvs = [], [], []
    for i in range(pairs):
        runs = [root / f"pair{i}-{side}" for side in "ab"]
        for run in runs:
            bench("run", "--suite", suite, "--run", run.name, "--results", root, "--no-plot", *pin)
            cvs.append(median_cv(run))
        result = bench("compare", *runs)
        false.append(table_rows(result.stdout, "### Regressions"))
        unsure.append(table_rows(result.stdout, "### Inconclusive"))
    return {"false": false, "inconclusive": unsure, "cv": cvs}


def ab_pairs(
    root: Path, suite: Path, args: argparse.Namespace, slower: bool, pin: list[str]
) -> list[bool]:
    folders = {}
    for name, adapter in (("a", "bench.backends.hnswlib:Hnswlib"), ("b", "slower:SlowerHnswlib")):
        folder = root / f"backends-{name}"
        folder.mkdir(exist_ok=True)
        (folder / "hnswlib.yaml").write_text(yaml.safe_dump({**HNSWLIB, "adapter": adapter}))
        folders[name] = folder
    b = folders["b"] if slower else folders["a"]
    flagged = []
    for i in range(args.pairs):
        result = bench(
            "ab", "--suite", suite, "--algorithms", "hnswlib",
            "--rounds", args.rounds, "--max-rounds", args.max_rounds,
            "--backends-a", folders["a"], "--backends-b", b,
            "--run", f"ab-{'slower' if slower else 'same'}-{i}", "--results", root, *pin,
        )  # fmt: skip
        flagged.append(result.returncode == 1)
    return flagged


def overhead(alternations: int, repetitions: int, pin: bool) -> list[float]:
    """harness/bare QPS ratios of hnswlib, the two measured alternately."""
    from bench_overhead import CORPUS, bare_qps, bare_search, harness_qps

    from bench.corpora.registry import load_corpus

    corpus = load_corpus(CORPUS)
    train, queries = np.asarray(corpus.train), np.ascontiguousarray(corpus.queries)
    search = bare_search("hnswlib", train)
    ratios = []
    allowed = os.sched_getaffinity(0)
    for _ in range(alternations):
        if pin:
            os.sched_setaffinity(0, {max(allowed)})
        bare = bare_qps(search, queries, repetitions)
        os.sched_setaffinity(0, allowed)
        harness = harness_qps(repetitions, pin=pin)["hnswlib"]
        ratios.append(harness / bare)
    return ratios


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    return f"{min(values):.3g}-{max(values):.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="ABBA rounds of bench ab")
    parser.add_argument("--max-rounds", type=int, default=10, help="bench ab's --max-rounds")
    parser.add_argument("--alternations", type=int, default=6, help="overhead: bare/harness")
    parser.add_argument("--smoke", action="store_true", help="toy sizes: checks every step runs")
    parser.add_argument("--algorithms", help="a subset of the ci suite's (comma-separated)")
    parser.add_argument("--load-core", type=int, default=0)
    parser.add_argument("--load-seconds", type=float, default=3 * 3600, help="load stops then")
    parser.add_argument("--pin", action="store_true", help="bench run/ab with --pin")
    parser.add_argument(
        "--only", choices=["compare", "ab", "overhead"], help="that step alone (under the load)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.pairs, args.rounds, args.max_rounds, args.alternations = 1, 1, 1, 1
        args.load_seconds = min(args.load_seconds, 60)
    pin = ["--pin"] if args.pin else []
    steps = [args.only] if args.only else ["compare", "ab", "overhead"]
    lines = MeasureTable()
    with tempfile.TemporaryDirectory(prefix="bench-noise-") as folder:
        root = Path(folder)
        suite = suite_file(root, args.smoke, args.algorithms)
        if "compare" in steps:
            quiet = root / "quiet"
            bench(
                "run", "--suite", suite, "--run", quiet.name, "--results", root, "--no-plot", *pin
            )
            lines.append(
                ("(c) median CV per point, quiet", f"{median_cv(quiet):.2%}", "-", _load())
            )
        with cpu_load(seconds=args.load_seconds, core=args.load_core):
            time.sleep(1)
            if "compare" in steps:
                found = compare_pairs(root, suite, args.pairs, pin)
                false = f"per pair {found['false']}, inconclusive {found['inconclusive']}"
                lines.append(
                    (
                        "(a) false regressions, compare pairs",
                        str(sum(found["false"])),
                        false,
                        _load(),
                    )
                )
                cvs = found["cv"]
                median = f"{statistics.median(cvs):.2%}"
                lines.append(("(c) median CV per point, loaded", median, spread(cvs), _load()))
            if "ab" in steps:
                for slower, what in (
                    (True, "15 % slower B flagged"),
                    (False, "identical B flagged"),
                ):
                    flags = ab_pairs(root, suite, args, slower, pin)
                    lines.append((f"(b) ab: {what}", f"{sum(flags)}/{len(flags)}", "-", _load()))
            if "overhead" in steps:
                for pinned in (False, True):
                    ratios = overhead(args.alternations, 1 if args.smoke else 5, pinned)
                    name = f"(d) harness/bare, {'pinned' if pinned else 'unpinned'}, loaded"
                    lines.append(
                        (name, f"{statistics.median(ratios):.3f}", spread(ratios), _load())
                    )


class MeasureTable:
    """Prints each measure as soon as it exists: the whole run lasts about an hour."""

    WIDTH = 48

    def __init__(self) -> None:
        print(f"{'measure':<{self.WIDTH}}  {'value':>8}  {'spread':<40}  load", flush=True)

    def append(self, line: tuple[str, str, str, str]) -> None:
        name, value, extent, load = line
        print(f"{name:<{self.WIDTH}}  {value:>8}  {extent:<40}  {load}", flush=True)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
