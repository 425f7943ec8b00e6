"""Reading and validating the project's YAML files (suites, datasets, backends).

Every configuration file is checked at the door with one mechanism: a schema is a frozen
pydantic dataclass (`@schema`) whose fields use the strict types below, and `load` turns any
problem into a one-line `BenchError` that names the file, the key, what was expected and what
came. Unknown keys are refused with the list of valid ones. Each schema lives beside the code
that reads that kind of file (suites in `bench.runner.suite`, backends in
`bench.backends.registry`, corpora in `bench.corpora`), so this module imports no stage.

Types are strict on purpose: YAML's `'10'`, `10.5` and `true` are not the integer 10, and a
string is never a list (pydantic would otherwise coerce some of these).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pydantic
import yaml
from pydantic import ConfigDict, PlainValidator, TypeAdapter, ValidationError

from bench.errors import BenchError, utf8_text

T = TypeVar("T")
log = logging.getLogger(__name__)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping that gives one key twice (YAML itself would keep the last silently)."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys: `k: 10` then `k: 20` is a mistake in a
    configuration file, not an override. Keys brought in by a merge (`<<: *base`) may be
    overridden, as YAML intends."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in first
            except TypeError:  # an unhashable key: the base constructor says so
                continue
            if repeated:
                raise DuplicateKeyError(
                    problem=f"duplicate key {key!r} (first given at line {first[key] + 1})",
                    problem_mark=key_node.start_mark,
                )
            first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def parse_yaml(text: str) -> Any:
    """Parse YAML text: the one parser of every file and value the tool reads."""
    return yaml.load(text, Loader=_Loader)


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """Parse a YAML mapping, with an error that names the file and what was expected."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise BenchError(f"{what} file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise BenchError(f"{what} file {path} is a folder: expected a YAML file") from exc
    except OSError as exc:
        raise BenchError(f"{what} file {path} cannot be read: {exc.strerror}") from exc
    text = utf8_text(raw, f"{what} file {path}", "a UTF-8 YAML file")
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise BenchError(f"{what} file {path} is not valid YAML: {_yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise BenchError(f"{what} file {path}: expected a YAML mapping, got {type(data).__name__}")
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where in the file and what the parser found."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def drop_repeats(values: Iterable[T], what: str) -> list[T]:
    """Listing an entry twice means it once (running it twice would duplicate rows under one
    identity): keep the first, say so."""
    values = list(values)
    unique = list(dict.fromkeys(values))
    if len(unique) != len(values):
        repeated = [v for v in unique if values.count(v) > 1]
        log.warning("%s: %s listed more than once, kept once", what, repeated)
    return unique


class Definition(typing.Protocol):
    """A named definition read from a YAML file (a backend's algorithm, a catalogue entry)."""

    name: str
    source: Path | None


D = TypeVar("D", bound=Definition)


def by_name(definitions: Iterable[D], what: str) -> dict[str, D]:
    """Definitions by name; a name defined twice (in one file or two) is refused, naming both
    files, since which one wins would depend on the order the files are read in."""
    found: dict[str, D] = {}
    for definition in definitions:
        if definition.name in found:
            raise BenchError(
                f"{what} {definition.name!r} is defined twice "
                f"({found[definition.name].source} and {definition.source})"
            )
        found[definition.name] = definition
    return found


# --- strict field types: each validator raises ValueError("expected ...") -----------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bounds(minimum: float | None, maximum: float | None, above: float | None) -> str:
    if above is not None:
        return f" > {above:g}"
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if maximum is not None:
        return f" <= {maximum:g}"
    return "" if minimum is None else f" >= {minimum:g}"


def _in_bounds(
    value: float, minimum: float | None, maximum: float | None, above: float | None
) -> bool:
    return (
        (minimum is None or value >= minimum)
        and (maximum is None or value <= maximum)
        and (above is None or value > above)
    )


def _int_expectation(minimum: int | None = None, maximum: int | None = None) -> str:
    if maximum is None and minimum == 1:
        return "a positive integer"
    if maximum is None and minimum == 0:
        return "a non-negative integer"
    return "an integer" + _bounds(minimum, maximum, None)


def check_int(value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """A strict integer (not a bool, float or string) within the bounds."""
    if not _is_int(value) or not _in_bounds(value, minimum, maximum, None):
        raise ValueError(f"expected {_int_expectation(minimum, maximum)}")
    return value


def check_number(
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> float:
    """A strict finite number (an int or a float, not a bool or string) within the bounds."""
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or not math.isfinite(value) or not _in_bounds(value, minimum, maximum, above):
        raise ValueError("expected a number" + _bounds(minimum, maximum, above))
    return value  # an int stays an int: fingerprints of what was written stay the same


def check_text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


def check_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def check_choice(value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"expected one of {', '.join(map(str, choices))}")
    return value


def _plain(python_type: type, check: Callable[[Any], Any]) -> Any:
    return Annotated[python_type, PlainValidator(check)]


def integer(minimum: int | None = None, maximum: int | None = None) -> Any:
    return _plain(int, functools.partial(check_int, minimum=minimum, maximum=maximum))


def number(
    minimum: float | None = None, maximum: float | None = None, above: float | None = None
) -> Any:
    return _plain(
        float, functools.partial(check_number, minimum=minimum, maximum=maximum, above=above)
    )


def one_of(choices: Iterable[str]) -> Any:
    return _plain(str, functools.partial(check_choice, choices=tuple(choices)))


PositiveInt = integer(1)
NonNegativeInt = integer(0)
Number = number()
PositiveNumber = number(above=0)
Text = _plain(str, check_text)
Flag = _plain(bool, check_flag)


# --- schemas and the door ----------------------------------------------------------------


def schema(cls: type[T]) -> type[T]:
    """A frozen dataclass validated by pydantic, refusing unknown keys.

    Constructing one directly (or through `dataclasses.replace`) raises a one-line
    `BenchError` too, naming the class.
    """
    validated = pydantic.dataclasses.dataclass(frozen=True, config=ConfigDict(extra="forbid"))(cls)
    init = validated.__init__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except ValidationError as exc:
            raise BenchError(describe(exc, validated.__name__, validated)) from None

    validated.__init__ = __init__  # type: ignore[method-assign]
    return validated


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def load(cls: type[T], data: Any, where: str) -> T:
    """Validate `data` (a parsed YAML mapping) as `cls`; `where` names the file for errors."""
    if not isinstance(data, Mapping):
        raise BenchError(f"{where}: expected a mapping, got {type(data).__name__}")
    try:
        return _adapter(cls).validate_python(dict(data))
    except ValidationError as exc:
        raise BenchError(describe(exc, where, cls)) from None


def key_path(loc: Iterable[Any]) -> str:
    """('algorithms', 'hnswlib', 'grids', 'quick', 'build', 'M', 0) -> algorithms.hnswlib...M[0]"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(cls: Any, loc: tuple[Any, ...]) -> list[str]:
    """The field names of the schema found at `loc` under `cls` (best effort)."""
    origin, args = typing.get_origin(cls), typing.get_args(cls)
    if origin is Annotated:
        return _fields_at(args[0], loc)
    if not loc:
        return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls, include_extras=True)
        return _fields_at(hints[loc[0]], loc[1:]) if loc[0] in hints else []
    if origin in (dict, Mapping):
        return _fields_at(args[1], loc[1:])
    if origin in (list, tuple):
        return _fields_at(args[0], loc[1:])
    for member in args:  # a union: the first member that has fields there
        if found := _fields_at(member, loc):
            return found
    return []


def unknown_key(loc: Iterable[Any], valid: Iterable[str]) -> str:
    valid = list(valid)
    expected = f": expected one of {', '.join(valid)}" if valid else ""
    return f"unknown key {key_path(loc)!r}{expected}"


def bad_value(loc: Iterable[Any], value: Any, message: str) -> str:
    key = key_path(loc)
    return f"{key}={_shown(value)}: {message}" if key else message


def _problem(error: Any, cls: Any) -> str:
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return unknown_key(loc, _fields_at(cls, loc[:-1]))
    if kind in ("missing", "missing_argument"):
        return f"missing key {key_path(loc)!r}"
    if kind == "value_error":
        message = str(error["ctx"]["error"])
    elif kind in ("tuple_type", "list_type"):
        message = "expected a list"
    elif kind in ("dict_type", "dataclass_type"):
        message = "expected a mapping"
    elif kind == "too_short":
        message = f"expected at least {error['ctx']['min_length']} item(s)"
    else:
        message = re.sub(r"^Input should be", "expected", error["msg"])
    if loc[-1:] == ("[key]",):  # a mapping's key is wrong: name it, not its value again
        return f"key {key_path(loc[:-1])!r}: {message}"
    return bad_value(loc, value, message)


def describe(exc: ValidationError, where: str, cls: Any) -> str:
    """One line for the first problem, e.g. `suite file s.yaml: k='10': expected ...`."""
    errors = exc.errors()
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {_problem(errors[0], cls)}{more}"
