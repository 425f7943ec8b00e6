"""Generation, loading and ground truth stay within a fixed memory budget whatever N.

Memory-mapped pages count toward RSS once touched, but they are file-backed and the kernel
can drop them at any time; what must stay bounded first is anonymous memory (RssAnon in
/proc/self/status): arrays the process allocates. The runner's memory cap counts the whole
RSS, though, so the byte corpora (the path to 100M rows) must also keep their mapped pages
few: RssAnon + RssFile. Each size runs in a fresh subprocess that samples its own memory
every millisecond and reports the peak growth over the baseline taken after imports. The
assertions compare that growth with a fixed block budget and between a small and a four
times larger corpus (a growth that followed N would show there).
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.runner.resident import peak_resident, resident_bytes

MiB = 2**20
DIM = 64
SMALL, LARGE = 250_000, 1_000_000  # 64 MB and 256 MB of float32 train, 4+ generation chunks
BLOCK_BUDGET = 128 * MiB  # 2 threads x (score buffer, its partition copy, chunk) + slack

CHILD = r"""
import json, sys

import numpy as np  # noqa: F401  (imports first: their pages are the baseline)
from bench.corpora.registry import corpus_from_spec
from bench.groundtruth.cache import ground_truth
from bench.runner.resident import peak_resident, resident_bytes

anon, mapped = resident_bytes()
spec = json.loads(sys.argv[1])
stages = {}
with peak_resident() as stages["generate"]:
    corpus_from_spec("memory", spec)  # writes the memory maps chunk by chunk
with peak_resident() as stages["load"]:
    corpus = corpus_from_spec("memory", spec)  # maps them again and validates every row
with peak_resident() as stages["ground_truth"]:
    truth = ground_truth(corpus)
print(json.dumps({
    "growth": {name: peak.anon_peak - anon for name, peak in stages.items()},
    "resident_growth": {name: peak.total_peak - anon - mapped for name, peak in stages.items()},
    "train_bytes": corpus.train.nbytes,
    "k": truth.k,
}))
"""


def peak_growth(n: int, cache: Path, spec: dict | None = None) -> dict:
    spec = spec or {
        "kind": "synthetic",
        "distribution": "clustered",
        "n": n,
        "dim": DIM,
        "queries": 1000,
        "clusters": 64,
        "metric": "euclidean",
        "seed": 9,
    }
    env = {**os.environ, "BENCH_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_generation_loading_and_ground_truth_use_bounded_anonymous_memory(
    tmp_path: Path,
) -> None:
    small = peak_growth(SMALL, tmp_path / "cache")
    large = peak_growth(LARGE, tmp_path / "cache")
    assert large["train_bytes"] == LARGE * DIM * 4
    report = {
        "small": {k: v // MiB for k, v in small["growth"].items()},
        "large": {k: v // MiB for k, v in large["growth"].items()},
    }
    for stage in ("generate", "load", "ground_truth"):
        grown = large["growth"].get(stage, 0)
        # Within a fixed budget of blocks, at most half the data size ...
        assert grown < min(BLOCK_BUDGET, large["train_bytes"] // 2), (stage, report)
        # ... and not growing with N: 4x the data (192 MB more) adds at most a few MB.
        assert grown < small["growth"].get(stage, 0) + 16 * MiB, (stage, report)


def byte_spec(n: int) -> dict:
    return {
        "kind": "synthetic-bytes",
        "dtype": "uint8",
        "n": n,
        "dim": 128,
        "queries": 1000,
        "clusters": 64,
        "spread": 0.5,
        "seed": 9,
    }


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_byte_generation_and_ground_truth_do_not_grow_with_n(tmp_path: Path) -> None:
    """250k and 1M x 128 uint8 (32 and 128 MB): what 100M (12.8 GB) needs, block for block."""
    small = peak_growth(SMALL, tmp_path / "cache", byte_spec(SMALL))
    large = peak_growth(LARGE, tmp_path / "cache", byte_spec(LARGE))
    assert large["train_bytes"] == LARGE * 128
    report = {
        name: {k: v // MiB for k, v in run["growth"].items()}
        for name, run in (("small", small), ("large", large))
    }
    for stage in ("generate", "load", "ground_truth"):
        grown = large["growth"].get(stage, 0)
        assert grown < BLOCK_BUDGET, (stage, report)
        assert grown < small["growth"].get(stage, 0) + 16 * MiB, (stage, report)
    # mapped pages too: the scan releases each chunk and the refinement's scattered reads each
    # few rows, so more rows do not mean more resident pages (the refinement's reads left 75 MB
    # more at 1M, before). Libraries loaded on the way (BLAS: ~125 MB of code pages, the same
    # at both sizes) count here, hence a budget above the anonymous one.
    resident = {
        name: {k: v // MiB for k, v in run["resident_growth"].items()}
        for name, run in (("small", small), ("large", large))
    }
    for stage in ("generate", "load", "ground_truth"):
        grown = large["resident_growth"].get(stage, 0)
        assert grown < 2 * BLOCK_BUDGET, (stage, resident)
        # mapped pages come in folios of up to 2 MB (read-ahead is 8 MB here), a few per
        # thread in flight: a 48 MiB margin, still below the 75 MB the old reads added
        assert grown < small["resident_growth"].get(stage, 0) + 48 * MiB, (stage, resident)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_peak_resident_tells_allocated_memory_from_mapped_file_pages(tmp_path: Path) -> None:
    file = tmp_path / "pages.bin"
    file.write_bytes(b"\1" * (64 * MiB))
    # Leave 150 MB of freed, resident pages on the heap, as the tests before this one do:
    # np.ones(64 MiB) then reuses them and RssAnon grows by 0 (CI failed so)
    chunks = [bytearray(100_000) for _ in range(1500)]
    for chunk in chunks:
        np.frombuffer(chunk, dtype=np.uint8)[:] = 1
    pinned_above_them = bytearray(4096)
    del chunks
    before = resident_bytes()[0]
    with peak_resident() as allocating:
        # A private anonymous map, not malloc, which may hand back those resident pages
        private = mmap.mmap(-1, 64 * MiB, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        block = np.frombuffer(private, dtype=np.uint8)
        block[:] = 1
        # Hold the pages until a sample has seen them: a sampler thread starved of CPU can
        # miss a window of a few milliseconds. The deadline only bounds a broken sampler.
        deadline = time.monotonic() + 60
        while allocating.anon_peak <= before + 48 * MiB and time.monotonic() < deadline:
            time.sleep(0.01)
        del block
        private.close()
    mapped = np.memmap(file, dtype=np.uint8, mode="r")
    with peak_resident() as reading:
        assert int(mapped.sum(dtype=np.uint64)) == 64 * MiB
    assert allocating.anon_peak > before + 48 * MiB  # the array, freed since
    assert reading.anon_peak < before + 16 * MiB  # reading a map allocates nothing ...
    assert reading.total_peak > reading.anon_peak + 48 * MiB  # ... but its pages are resident
    del pinned_above_them
