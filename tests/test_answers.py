"""Answers kept per job, and re-scored without re-running."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.report.rescore import rescore_frame
from bench.results.answers import AnswerLog, answers_hash, load_answers
from bench.results.store import read_results


def test_identical_repetitions_share_one_copy(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "a.npz", "job")
    ids = np.arange(20).reshape(4, 5)
    first = log.add({"ef": 10}, "single", ids)
    again = log.add({"ef": 10}, "single", ids.copy())
    other = log.add({"ef": 10}, "single", ids[::-1])
    batch = log.add({"ef": 10}, "batch", ids)
    assert first == again and first["answers"] != other["answers"]
    assert batch["answers"] != first["answers"] and batch["answers_hash"] == first["answers_hash"]
    with np.load(tmp_path / "a.npz") as stored:
        assert len(stored.files) == 3 and stored["a0"].dtype == np.int32
    kept = load_answers(tmp_path.parent, f"{tmp_path.name}/a.npz#a1", other["answers_hash"])
    assert np.array_equal(kept, ids[::-1])
    with pytest.raises(Exception, match="do not match"):
        load_answers(tmp_path.parent, f"{tmp_path.name}/a.npz#a1", answers_hash(ids))


@pytest.fixture
def run_dir(hnswlib_run: Path) -> Path:
    return hnswlib_run


def test_answers_rescore_bit_for_bit_and_at_another_k(run_dir: Path) -> None:
    frame = read_results(run_dir)
    assert (frame["status"] == "ok").all() and frame["answers"].str.startswith("answers/").all()
    files = list((run_dir / "answers").glob("*.npz"))
    assert len(files) == 1
    # hnswlib answers deterministically: both repetitions of a point share one stored copy
    per_point = frame.groupby(["query_params", "mode"])
    assert (per_point["answers_hash"].nunique() == 1).all()
    assert (per_point["answers"].nunique() == 1).all()
    with np.load(files[0]) as stored:
        assert len(stored.files) == 4  # 2 ef x 2 modes
    same = rescore_frame(run_dir)
    assert same["recall"].tolist() == frame["recall"].tolist()  # bit for bit
    at_one = rescore_frame(run_dir, k=1)
    assert (at_one["k"] == 1).all()
    assert at_one["recall"].tolist() != frame["recall"].tolist()
    assert set(np.round(at_one["recall"] * 40, 6)) <= set(range(41))  # hits out of 40 queries
