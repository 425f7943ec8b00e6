"""The command line prints user text verbatim (no Rich markup), and `bench run --warmup`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.images.synthetic import write_image_folder


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=300
    )


def test_names_with_markup_closing_tags_are_printed_verbatim(bench_env: Path) -> None:
    fetched = bench("fetch", "glove[/i]")
    assert fetched.returncode == 2, fetched.stderr
    assert "error: unknown named dataset 'glove[/i]': expected one of" in fetched.stdout
    ran = bench("run", "--dataset", "x[/b]", "--algorithms", "bruteforce", "--run", "m1")
    assert ran.returncode == 2, ran.stderr
    assert "MarkupError" not in ran.stderr and "name='x[/b]'" in ran.stdout


def test_a_shape_in_brackets_survives_in_the_error(bench_env: Path, tmp_path: Path) -> None:
    """An ONNX model taking 100x100 images, told to take 224: the shape it needs is printed,
    and so is an image folder whose name has brackets."""
    torch = pytest.importorskip("torch", reason="torch exports the test model")
    root = write_image_folder(tmp_path / "imgs[train]", count=10, size=40, seed=1)
    model = tmp_path / "small.onnx"
    torch.onnx.export(
        torch.nn.AdaptiveAvgPool2d(1),
        (torch.zeros(1, 3, 100, 100),),
        str(model),
        input_names=["image"],
        output_names=["features"],
        dynamo=False,
    )
    spec = {
        "kind": "images",
        "root": str(root),
        "split": "seeded",
        "model": "mine",
        "onnx": str(model),
        "preprocess": {"input_size": 224, "mean": [127] * 3, "std": [128] * 3},
    }
    (bench_env / "datasets" / "mine.yaml").write_text(yaml.safe_dump(spec))
    result = bench("run", "--dataset", "mine", "--algorithms", "bruteforce", "--no-plot")
    assert result.returncode == 2, result.stderr
    assert (
        f"error: extractor 'mine': {model} takes input 'image' of shape [1, 3, 100, 100] "
        "(tensor(float)): expected [n, 3, 224, 224] float32 (input_size 224)\n"
    ) == result.stdout
    bad_root = {**spec, "root": str(root / "absent[x]")}
    (bench_env / "datasets" / "mine.yaml").write_text(yaml.safe_dump(bad_root))
    missing = bench("run", "--dataset", "mine", "--algorithms", "bruteforce", "--no-plot")
    assert missing.returncode == 2 and str(root / "absent[x]") in missing.stdout


def test_warmup_larger_than_the_queries_names_the_option(bench_env: Path) -> None:
    """tiny-euclidean has 60 queries; the default warm-up is 100."""
    results = bench_env / "results"
    args = ["run", "--dataset", "tiny-euclidean", "--algorithms", "bruteforce", "--no-plot"]
    refused = bench(*args, "--results", str(results))
    assert refused.returncode == 2, refused.stderr
    message = " ".join(refused.stdout.split())
    assert "warmup=100 is larger than the 60 queries" in message
    assert "expected warmup <= 60 (`bench run --warmup N`, or `warmup:` in the suite" in message
    negative = bench(*args, "--warmup", "-1")
    assert negative.returncode == 2 and "-1 is not in the range x>=0" in negative.stderr
    done = bench(*args, "--warmup", "7", "--results", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = pd.read_csv(results / "tiny-euclidean" / "results.csv")
    assert set(rows["warmup_queries"]) == {7}
