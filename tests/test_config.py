"""Configuration is validated at the door: suites, dataset and backend YAMLs, one-line errors."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import yaml

from bench import paths
from bench.backends.registry import _algorithms_in, _registry
from bench.config import read_yaml
from bench.corpora.registry import check_spec, dataset_names, dataset_spec
from bench.errors import BenchError
from bench.runner.plan import select_algorithms
from bench.runner.suite import Suite, load_suite, suite_from_dict, suite_names

WHERE = "suite file s.yaml"


def suite_error(**settings) -> str:
    with pytest.raises(BenchError) as info:
        suite_from_dict("s", {"datasets": ["tiny-euclidean"], **settings}, WHERE)
    message = str(info.value)
    assert "\n" not in message and message.startswith(WHERE)
    return message


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"datasets": "h"}, "datasets='h': expected a list"),
        ({"datasets": []}, "datasets=[]: expected a non-empty list"),
        ({"grid": ["quick"]}, "grid=['quick']: expected a non-empty string"),
        ({"k": "10"}, "k='10': expected an integer from 1 to 100"),
        ({"k": 10.5}, "k=10.5: expected an integer from 1 to 100"),
        ({"k": True}, "k=True: expected an integer from 1 to 100"),
        ({"k": 0}, "k=0: expected an integer from 1 to 100"),
        ({"query_limit": -3}, "query_limit=-3: expected a positive integer, or null"),
        ({"query_limit": 0}, "query_limit=0: expected a positive integer, or null"),
        ({"warmup": -1}, "warmup=-1: expected a non-negative integer"),
        ({"repetitions": 0}, "repetitions=0: expected a positive integer"),
        ({"modes": []}, "modes=[]: expected a non-empty list"),
        ({"modes": "single"}, "modes='single': expected a list"),
        ({"modes": ["single", "burst"]}, "modes[1]='burst': expected one of single, batch"),
        ({"algorithms": "hnswlib"}, "algorithms='hnswlib': expected `all` or a list"),
        ({"timeout_s": 0}, "timeout_s=0: expected a number > 0"),
        ({"timeout_s": "600"}, "timeout_s='600': expected a number > 0"),
        ({"memory_limit_gb": -1}, "memory_limit_gb=-1: expected a number > 0"),
        ({"batch_threads": 0}, "batch_threads=0: expected an integer from 1 to 4096"),
        ({"batch_threads": 10**8}, "batch_threads=100000000: expected an integer from 1 to 4096"),
    ],
)
def test_suite_types_and_ranges(settings: dict, expected: str) -> None:
    assert expected in suite_error(**settings)


def test_unknown_suite_key_lists_the_valid_ones() -> None:
    message = suite_error(reps=3)
    assert "unknown key 'reps': expected one of name, datasets, algorithms, grid, k" in message
    assert "repetitions" in message and "query_limit" in message


@pytest.mark.parametrize("name", ["../../escape", "a/b", "..", ".hidden", "x..y", "", "a b"])
def test_suite_name_cannot_leave_the_results_folder(name: str) -> None:
    assert f"name={name!r}: expected a name of letters, digits" in suite_error(name=name)


def test_suite_name_from_a_file_stem_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "my suite.yaml"
    path.write_text("datasets: [tiny-euclidean]\n")
    with pytest.raises(BenchError, match=r"name='my suite': expected a name of letters"):
        load_suite(str(path))


def test_listed_twice_means_once_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        suite = suite_from_dict(
            "s", {"datasets": ["a", "b", "a"], "algorithms": ["hnswlib", "annoy", "hnswlib"]}
        )
    assert suite.datasets == ("a", "b") and suite.algorithms == ("hnswlib", "annoy")
    assert "algorithms: ['hnswlib'] listed more than once" in caplog.text
    assert "datasets: ['a'] listed more than once" in caplog.text


def test_direct_construction_and_replace_are_checked() -> None:
    suite = Suite(name="t", datasets=("x",), algorithms=None, timeout_s=60, memory_limit_gb=0.5)
    assert suite.timeout_s == 60 and suite.modes == ("single", "batch")
    with pytest.raises(BenchError, match="Suite: k=0: expected an integer from 1 to 100"):
        dataclasses.replace(suite, k=0)
    twice = dataclasses.replace(suite, algorithms=("hnswlib", "hnswlib"))
    assert twice.algorithms == ("hnswlib",)


TEST_GRID = {"datasets": ["tiny-euclidean"], "grid": "test"}  # tests/backends/testing.yaml


def selected(settings: dict) -> list[str]:
    return [a.name for a in select_algorithms(suite_from_dict("s", {**TEST_GRID, **settings}))]


@pytest.mark.usefixtures("bench_env")
def test_exclude_leaves_algorithms_out_of_all_and_of_a_list() -> None:
    every = selected({})
    assert "test-hanging" in every and "test-exact" in every
    kept = selected({"exclude": ["test-hanging", "test-hungry"]})
    assert kept == [name for name in every if name not in ("test-hanging", "test-hungry")]
    listed = {"algorithms": ["test-exact", "test-slow", "test-raising"]}
    assert selected({**listed, "exclude": ["test-slow"]}) == ["test-exact", "test-raising"]


@pytest.mark.usefixtures("bench_env")
def test_exclude_of_an_algorithm_not_in_the_list_warns(caplog: pytest.LogCaptureFixture) -> None:
    listed = {"algorithms": ["test-exact", "test-slow"]}
    assert selected({**listed, "exclude": ["test-hanging"]}) == ["test-exact", "test-slow"]
    assert "exclude names ['test-hanging'], not among its algorithms" in caplog.text


@pytest.mark.usefixtures("bench_env")
def test_exclude_refuses_an_unknown_name_and_an_empty_plan() -> None:
    message = suite_error(exclude=["test-exact", "nosuchlib"])
    assert "exclude[1]='nosuchlib': unknown algorithm 'nosuchlib': expected one of" in message
    assert "test-exact" in message
    with pytest.raises(BenchError, match="exclude leaves no algorithm to run") as info:
        selected({"algorithms": ["test-exact"], "exclude": ["test-exact"]})
    assert "\n" not in str(info.value)
    with pytest.raises(BenchError, match="exclude leaves no algorithm to run"):
        selected({"exclude": selected({})})


def test_the_quick_suite_leaves_out_the_variants_for_huge_corpora_and_pynndescent() -> None:
    names = {a.name for a in select_algorithms(load_suite("quick"))}
    assert {"hnswlib", "faiss-ivf", "scann", "bruteforce"} <= names
    huge_only = {"faiss-ivf-blocks", "faiss-ivfpq-ooc", "faiss-ivfsq-ooc", "hnswlib-blocks"}
    assert not names & (huge_only | {"usearch-i8", "diskann", "pynndescent"})
    assert "pynndescent" in {a.name for a in select_algorithms(load_suite("ci"))}


def test_every_shipped_yaml_validates() -> None:
    assert set(suite_names()) >= {"quick", "ci", "standard", "scale", "caltech101"}
    for name in suite_names():
        assert load_suite(name).name == name
    assert len(dataset_names()) >= 10
    for name in dataset_names():
        dataset_spec(name)  # raises on any problem
    folder = paths.PROJECT_ROOT / "backends"
    registry = _registry((folder,))
    assert {"hnswlib", "faiss-ivfpq", "annoy", "bruteforce"} <= set(registry)
    for path in sorted(folder.glob("*.yaml")):
        data = read_yaml(path, "backend")
        declared = "params" in data or all(
            "params" in (spec or {}) for spec in data["algorithms"].values()
        )
        assert declared, f"{path.name} must declare the parameters its adapter reads"


# --- backend YAMLs -----------------------------------------------------------------------

HNSWLIB = paths.PROJECT_ROOT / "backends" / "hnswlib.yaml"


def backend_error(tmp_path: Path, change) -> str:
    data = yaml.safe_load(HNSWLIB.read_text())
    change(data)
    path = tmp_path / "hnswlib.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BenchError) as info:
        _algorithms_in(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"backend file {path}: ")
    return message


def quick_build(data: dict) -> dict:
    return data["algorithms"]["hnswlib"]["grids"]["quick"]["build"]


def test_misspelt_parameter_is_refused_with_the_accepted_names(tmp_path: Path) -> None:
    message = backend_error(tmp_path, lambda d: quick_build(d).update(ef_constuction=[100]))
    assert (
        "unknown key 'algorithms.hnswlib.grids.quick.build.ef_constuction': "
        "expected one of M, ef_construction, seed" in message
    )
    message = backend_error(
        tmp_path, lambda d: d["algorithms"]["hnswlib"]["grids"]["ci"]["query"].update(eff=[3])
    )
    assert "unknown key 'algorithms.hnswlib.grids.ci.query.eff': expected one of ef" in message


@pytest.mark.parametrize(
    "value, shown",
    [([8.7], "M[0]=8.7"), (-1, "M[0]=-1"), ([16, "16"], "M[1]='16'"), ([True], "M[0]=True")],
)
def test_integer_parameters_are_integers_in_range(tmp_path: Path, value, shown: str) -> None:
    message = backend_error(tmp_path, lambda d: quick_build(d).update(M=value))
    assert f"algorithms.hnswlib.grids.quick.build.{shown}: expected an integer >= 2" in message


def test_fixed_parameters_are_checked(tmp_path: Path) -> None:
    message = backend_error(
        tmp_path, lambda d: d["algorithms"]["hnswlib"].update(fixed={"seed": -2})
    )
    assert "algorithms.hnswlib.fixed.seed=-2: expected a non-negative integer" in message


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda d: d["algorithms"]["hnswlib"]["grids"].update(quick="M=16"),
            "algorithms.hnswlib.grids.quick[0]='M=16': expected a mapping",
        ),
        (
            lambda d: d["algorithms"]["hnswlib"].update(grid={}),
            "unknown key 'algorithms.hnswlib.grid': expected one of adapter, metrics, fixed",
        ),
        (
            lambda d: d.update(adaptor="x"),
            "unknown key 'adaptor': expected one of library, adapter, metrics, algorithms",
        ),
        (lambda d: d.pop("library"), "missing key 'library'"),
        (
            lambda d: d.update(metrics=["hamming"]),
            "metrics[0]='hamming': expected one of euclidean, angular, inner_product",
        ),
        (
            lambda d: d.update(adapter="hnswlib"),
            "adapter='hnswlib': expected 'module:Class'",
        ),
        (
            lambda d: d["params"]["build"].update(M={"type": "integer"}),
            "params.build.M.type='integer': expected one of int, float, bool, str",
        ),
    ],
)
def test_backend_file_structure(tmp_path: Path, change, expected: str) -> None:
    assert expected in backend_error(tmp_path, change)


def test_choices_and_floats_are_checked(tmp_path: Path) -> None:
    data = yaml.safe_load((paths.PROJECT_ROOT / "backends" / "pynndescent.yaml").read_text())
    data["algorithms"]["pynndescent"]["grids"]["quick"]["build"]["diversify_prob"] = [1.5]
    path = tmp_path / "pynndescent.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BenchError, match=r"diversify_prob\[0\]=1.5: expected a number from 0 to 1"):
        _algorithms_in(path)
    data = yaml.safe_load((paths.PROJECT_ROOT / "backends" / "faiss.yaml").read_text())
    data["algorithms"]["faiss-ivf"]["fixed"]["index"] = "IVF"
    path = tmp_path / "faiss.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BenchError, match=r"fixed\.index='IVF': expected one of IVFFlat"):
        _algorithms_in(path)


def test_a_file_without_declarations_still_gets_its_structure_checked(tmp_path: Path) -> None:
    path = tmp_path / "free.yaml"
    path.write_text(
        "library: numpy\nadapter: bench.backends.hnswlib:Hnswlib\nmetrics: [euclidean]\n"
        "algorithms:\n  free: {grids: {g: {build: {M: [8, 16]}, query: {ef: 10}}}}\n"
    )
    (free,) = _algorithms_in(path)
    assert free.build_grid("g") == [{"M": 8}, {"M": 16}] and free.query_grid("g") == [{"ef": 10}]
    path.write_text(path.read_text().replace("ef: 10", "ef: {x: 1}"))
    with pytest.raises(BenchError, match=r"query.ef\[0\]=\{'x': 1\}: expected a number"):
        _algorithms_in(path)


def test_grid_unions_and_empty_grids_expand_as_before(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(
        "library: numpy\nadapter: bench.backends.bruteforce:BruteForce\nmetrics: [euclidean]\n"
        "algorithms:\n  u:\n    grids:\n      empty: {}\n      none:\n"
        "      union: [{build: {a: [1, 2]}}, {build: {a: 3, b: [x]}, query: {q: [1]}}]\n"
    )
    (u,) = _algorithms_in(path)
    assert u.build_grid("empty") == [{}] and u.query_grid("empty") == [{}]
    assert u.build_grid("none") == [{}]
    assert u.build_grid("union") == [{"a": 1}, {"a": 2}, {"a": 3, "b": "x"}]
    assert u.query_grid("union") == [{}, {"q": 1}]  # the first member has no query part


def test_missing_extra_backends_folder_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-folder"
    monkeypatch.setenv("BENCH_EXTRA_BACKENDS", str(missing))
    with pytest.raises(BenchError, match=f"backend folder {missing} does not exist"):
        _registry(paths.backends_dirs())


def test_an_algorithm_defined_in_two_backend_files_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "mine.yaml").write_text(
        "library: numpy\nadapter: bench.backends.bruteforce:BruteForce\nmetrics: [euclidean]\n"
        "algorithms:\n  hnswlib:\n    grids: {quick: {}}\n"
    )
    monkeypatch.setenv("BENCH_EXTRA_BACKENDS", str(extra))
    shipped = paths.PROJECT_ROOT / "backends" / "hnswlib.yaml"
    with pytest.raises(BenchError) as raised:
        _registry(paths.backends_dirs())
    assert str(raised.value) == (
        f"algorithm 'hnswlib' is defined twice ({shipped} and {extra / 'mine.yaml'})"
    )


def test_a_named_dataset_defined_in_two_catalogue_files_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.catalogue.entries import catalogue

    shipped = paths.PROJECT_ROOT / "datasets" / "catalogue" / "ann-benchmarks.yaml"
    (tmp_path / "a.yaml").write_bytes(shipped.read_bytes())
    (tmp_path / "b.yaml").write_bytes(shipped.read_bytes())
    monkeypatch.setenv("BENCH_CATALOGUE", str(tmp_path))
    with pytest.raises(BenchError) as raised:
        catalogue()
    assert str(raised.value).endswith(
        f"is defined twice ({tmp_path / 'a.yaml'} and {tmp_path / 'b.yaml'})"
    )
    assert str(raised.value).startswith("named dataset 'deep-image-96-angular'")


# --- dataset YAMLs -----------------------------------------------------------------------

SYNTHETIC = {"kind": "synthetic", "distribution": "gaussian", "n": 10, "dim": 2}


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"kind": "synthtic"}, "kind='synthtic': expected one of synthetic, synthetic-bytes"),
        ({**SYNTHETIC, "n": "10"}, "n='10': expected a positive integer"),
        ({**SYNTHETIC, "dim": 2.5}, "dim=2.5: expected a positive integer"),
        ({**SYNTHETIC, "spread": 0}, "spread=0: expected a number > 0"),
        ({**SYNTHETIC, "seed": -1}, "seed=-1: expected a non-negative integer"),
        ({**SYNTHETIC, "sead": 1}, "unknown key 'sead': expected one of distribution, n, dim"),
        ({**SYNTHETIC, "description": ["x"]}, "description=['x']: expected a string"),
        ({"kind": "file", "trian": "x"}, "unknown key 'trian': expected one of format, path"),
        ({"kind": "file", "path": "x", "limit": 0}, "limit=0: expected a positive integer"),
        (
            {"kind": "file", "path": "x", "train": "y"},
            "unknown key 'train': expected one of format, path, metric",
        ),
        (
            {"kind": "file", "train": "x", "queries": "y", "override_distance": True},
            "unknown key 'override_distance': expected one of format, train, queries",
        ),
        ({"kind": "file", "path": ["x"]}, "path=['x']: expected a non-empty string"),
        ({"kind": "file", "path": "x", "format": "fvec"}, "format='fvec': expected one of"),
        ({"kind": "file", "path": "x", "metric": "cosine"}, "metric='cosine': expected one of"),
        ({"kind": "images", "pca": "64"}, "pca='64': expected a positive integer"),
        ({"kind": "images", "split": "random"}, "split='random': expected one of provided"),
        ({"kind": "images", "modle": "x"}, "unknown key 'modle': expected one of dataset, root"),
        ({"kind": "images", "include_background": "no"}, "expected true or false"),
    ],
)
def test_dataset_specs_per_kind(spec: dict, expected: str) -> None:
    with pytest.raises(BenchError) as info:
        check_spec(spec, "dataset file d.yaml")
    assert str(info.value).startswith("dataset file d.yaml: ") and expected in str(info.value)


def test_dataset_file_is_named(bench_env: Path) -> None:
    path = bench_env / "datasets" / "bad.yaml"
    path.write_text("kind: synthetic\ndistribution: gaussian\nn: 10\ndim: '2'\n")
    with pytest.raises(BenchError, match=f"dataset file {path}: dim='2': expected a positive"):
        dataset_spec("bad")


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("description: a: b\n")
    with pytest.raises(BenchError) as info:
        read_yaml(path, "dataset")
    assert str(info.value) == (
        f"dataset file {path} is not valid YAML: line 1, column 15: "
        "mapping values are not allowed here"
    )


def test_inline_suite_grids_are_checked_like_backend_grids_when_read() -> None:
    message = suite_error(grids={"hnswlib": "M=16"})
    assert "grids.hnswlib[0]='M=16': expected a mapping" in message
    grid = {"build": {"M": [8], "ef_construction": [40]}, "query": {"ef": [10]}}
    suite = suite_from_dict(
        "s", {"datasets": ["x"], "algorithms": ["hnswlib"], "grids": {"hnswlib": grid}}
    )
    assert select_algorithms(suite)[0].name == "hnswlib"
    for wrong, expected in [
        ({"build": {"M": [8.7]}}, "grids.hnswlib.build.M[0]=8.7: expected an integer"),
        ({"query": {"eff": 10}}, "unknown key 'grids.hnswlib.query.eff': expected one of ef"),
    ]:
        message = suite_error(
            grids={"hnswlib": {part: {**grid[part], **wrong.get(part, {})} for part in grid}}
        )
        assert expected in message


@pytest.mark.usefixtures("bench_env")
def test_only_limits_a_dataset_to_some_algorithms_and_names_what_it_refuses() -> None:
    from bench.corpora.registry import load_corpus
    from bench.runner.plan import plan_jobs

    settings = {
        "datasets": ["tiny-euclidean", "tiny-angular"],
        "algorithms": ["test-exact", "test-slow"],
        "grid": "test",
        "warmup": 0,
        "only": {"tiny-angular": ["test-exact"]},
    }
    suite = suite_from_dict("s", settings)
    corpora = {name: (load_corpus(name), {}) for name in settings["datasets"]}
    jobs, _ = plan_jobs(suite, corpora)
    planned = sorted((job.corpus, job.algorithm) for job in jobs)
    assert planned == [
        ("tiny-angular", "test-exact"),
        ("tiny-euclidean", "test-exact"),
        ("tiny-euclidean", "test-slow"),
    ]
    message = suite_error(only={"tiny-angular": ["test-exact"]})
    assert "only: 'tiny-angular' is not among the suite's datasets" in message
    message = suite_error(algorithms=["test-exact"], only={"tiny-euclidean": ["test-slow"]})
    assert "only.tiny-euclidean: 'test-slow' is not among the suite's algorithms" in message
