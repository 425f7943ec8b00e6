"""What the libraries answered, kept beside the results so any row can be re-scored.

The worker collects each observation's neighbour ids (int32, -1 for a short answer) in an
`AnswerLog`; the run stores them as one compressed `.npz` per job, `RUN/answers/<job_id>.npz`,
written atomically. Each row references its answers as `answers/<job_id>.npz#<key>` and
carries `answers_hash`, the sha256 of its own ids: repetitions of one point (query
parameters and mode) that answered identically share one stored array, and equal hashes
prove they were identical.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.storage import write_bytes_atomic

ANSWERS_DIR = "answers"
NPZ_SUFFIX = ".answers.npz"  # beside the worker's output file, before the run stores it


def answers_hash(ids: np.ndarray) -> str:
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    return hashlib.sha256(str(ids.shape).encode() + ids.tobytes()).hexdigest()[:32]


class AnswerLog:
    """One job's answers: a key per distinct (point, answer), saved as one npz."""

    def __init__(self, path: Path, job_id: str) -> None:
        self.path, self.job_id = path, job_id
        self.arrays: dict[str, np.ndarray] = {}
        self.keys: dict[tuple[str, str], str] = {}  # (point, hash) -> key

    def add(self, query_params: dict[str, Any], mode: str, ids: np.ndarray) -> dict[str, str]:
        """Keep `ids`; return the row's `answers` and `answers_hash` columns."""
        digest = answers_hash(ids)
        point = json.dumps([query_params, mode], sort_keys=True)
        key = self.keys.get((point, digest))
        if key is None:
            key = f"a{len(self.arrays)}"
            self.keys[(point, digest)] = key
            self.arrays[key] = np.ascontiguousarray(ids, dtype=np.int32)
            self.save()
        return {"answers": f"{ANSWERS_DIR}/{self.job_id}.npz#{key}", "answers_hash": digest}

    def save(self) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.arrays)
        write_bytes_atomic(self.path, buffer.getvalue())


def store_job_answers(run_dir: Path, job_id: str, data: bytes | None) -> None:
    """Write a job's answers (the worker's npz bytes) into the run directory, atomically."""
    if data:
        write_bytes_atomic(run_dir / ANSWERS_DIR / f"{job_id}.npz", data)


def load_answers(run_dir: Path, ref: str, expected_hash: str | None = None) -> np.ndarray:
    """The ids a row references (`answers/<job>.npz#<key>`), checked against its hash."""
    file, sep, key = ref.partition("#")
    path = run_dir / file
    if not sep or not path.exists():
        raise BenchError(f"answers {ref!r}: expected an existing {ANSWERS_DIR}/<job>.npz#<key>")
    with np.load(path) as stored:
        if key not in stored:
            raise BenchError(f"{path}: no array {key!r}, expected one of {', '.join(stored)}")
        ids = stored[key]
    if expected_hash and answers_hash(ids) != expected_hash:
        raise BenchError(f"{path}#{key}: ids do not match the row's answers_hash {expected_hash}")
    return ids
