"""Declarative validation: `key()` states a key on a settings dataclass; `read_table` reads a TOML table by it.

A table is read against its dataclass's fields: unknown keys, wrong types and failed checks are all
collected as `Problem`s (each with the path of the key it concerns), never raised one at a time.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

Check = Callable[[Any], Any]
PathPart = str | int
KeyPath = tuple[PathPart, ...]  # ("digest", "cron"), ("sources", 0, "weight"): a table or a key in the file
INT64 = 2**63 - 1


@dataclass(frozen=True)
class KeySpec:
    """What the file may say about one key, beyond its name, type and default."""

    help: str
    checks: tuple[Check, ...] = ()  # applied in order; each returns the value (maybe normalised) or raises
    toml: str | None = None  # the key's name in the file when it differs from the attribute's
    env: str | None = None  # an environment variable that, when set and not blank, wins over the file


def key(default: Any, help: str, *checks: Check, toml: str | None = None, env: str | None = None) -> Any:
    """A dataclass field that is a key of the configuration file: its default, help, checks and names."""
    spec = KeySpec(help=help, checks=checks, toml=toml, env=env)
    return field(default=default, metadata={"key": spec})


@dataclass(frozen=True)
class Problem:
    """One mistake in the configuration: the key (or table) it concerns and what is wrong."""

    path: KeyPath
    message: str
    from_file: bool = True  # False when an environment variable supplied the value: no line to show


def label(path: KeyPath) -> str:
    """How a table or key is named in messages: [digest], [digest] cron, [[sources]] #2 weight."""
    if not path:
        return "[top level]"
    if len(path) >= 2 and isinstance(path[1], int):
        table, rest = f"[[{path[0]}]] #{path[1] + 1}", path[2:]
    else:
        table, rest = f"[{path[0]}]", path[1:]
    return " ".join([table, *(str(part) for part in rest)])


def keys_of(cls: type) -> dict[str, tuple[str, KeySpec]]:
    """The file's key names of a settings dataclass -> (the attribute's name, its KeySpec)."""
    found: dict[str, tuple[str, KeySpec]] = {}
    for item in dataclasses.fields(cls):
        spec = item.metadata.get("key")
        if isinstance(spec, KeySpec):
            found[spec.toml or item.name] = (item.name, spec)
    return found


def read_table(
    cls: type, raw: object, where: KeyPath, base: Path, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], set[str], list[Problem]]:
    """The table `raw` read by the keys of `cls`: the good values by attribute, the attributes given, the problems.

    `cls(**values)` is the record when there are no problems; the values given are also those refused,
    so that a rule between keys does not report a key given wrongly as missing.
    """
    if not isinstance(raw, dict):
        return {}, set(), [Problem(where, f"{label(where)} must be a table")]
    problems: list[Problem] = []
    refused: Mapping[str, str] = getattr(cls, "refused", {})
    allowed = keys_of(cls)
    for name in raw:
        if name in refused:
            problems.append(Problem((*where, name), f"{label(where)} {refused[name]}"))
        elif name not in allowed:
            problems.append(Problem((*where, name), f"unknown key {name!r} in {label(where)}"))
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    given: set[str] = set()
    for name, (attribute, spec) in allowed.items():
        path = (*where, name)
        hint = hints[attribute]
        present, from_file = False, True
        value: Any = None
        if name in raw:
            given.add(attribute)
            try:
                value, present = read_value(raw[name], hint, base), True
            except ValueError as exc:
                problems.append(Problem(path, f"{label(path)} {exc}"))
        setting = (environ or {}).get(spec.env, "").strip() if spec.env else ""
        if setting:
            given.add(attribute)
            # The environment wins over the file, so a scheduler or a container can set it; blank means unset.
            try:
                value, present, from_file = read_environment(setting, hint), True, False
            except ValueError as exc:
                problems.append(Problem(path, f"{spec.env} {exc}", from_file=False))
                continue
        if not present:
            continue
        try:
            for check in spec.checks:
                if value is None:
                    break
                value = check(value)
        except ValueError as exc:
            where_from = f" (set by {spec.env})" if not from_file else ""
            problems.append(Problem(path, f"{label(path)}{where_from} {exc}", from_file=from_file))
            continue
        values[attribute] = value
    return values, given, problems


def _optional(hint: Any) -> Any:
    """X for `X | None`, else the hint itself (TOML has no null: an absent key is the only None)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return hint


def _shown(value: object) -> str:
    return "a boolean" if isinstance(value, bool) else repr(value)


def read_value(value: object, hint: Any, base: Path) -> Any:
    """A TOML value as the annotated type; relative paths resolved against `base`; ValueError if it does not fit."""
    hint = _optional(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be bool, got {value!r}")
        return value
    # bool is an int in Python; a number key given true/false is still a mistake.
    if hint is int:
        if isinstance(value, bool):
            raise ValueError("must be int, not a boolean")
        if not isinstance(value, int):
            raise ValueError(f"must be int, got {value!r}")
        if not -INT64 <= value <= INT64:  # tomllib reads any size; TOML's integers are 64-bit
            raise ValueError(f"is too large, got {value}")
        return value
    if hint is float:
        if isinstance(value, bool):
            raise ValueError("must be int or float, not a boolean")
        if not isinstance(value, int | float):
            raise ValueError(f"must be int or float, got {value!r}")
        # nan passes every comparison check and inf overflows later: neither is a setting.
        if (isinstance(value, int) and not -INT64 <= value <= INT64) or not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"must be str, got {_shown(value)}")
        return value
    if hint is date:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"must be YYYY-MM-DD, got {value!r}") from None
        if not isinstance(value, date):
            raise ValueError(f"must be a date, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str):
            raise ValueError(f"must be a path (a string), got {_shown(value)}")
        return resolve(base, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        choices = [member.value for member in hint]
        if value not in choices:
            raise ValueError(f"must be {' or '.join(repr(c) for c in choices)}, got {value!r}")
        return hint(value)
    if hint == tuple[str, ...]:
        items = [value] if isinstance(value, str) else value  # one string stands for an array of one
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"must be an array of strings, got {value!r}")
        return tuple(items)
    if hint == tuple[tuple[str, Path], ...]:
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            raise ValueError(f"must be a table of strings, got {value!r}")
        return tuple((prefix, resolve(base, folder)) for prefix, folder in value.items())
    raise TypeError(f"no reader for {hint!r}")  # a settings field with a type this module does not know


def read_environment(setting: str, hint: Any) -> Any:
    """An environment variable's text as the annotated type: a number, or comma-separated items."""
    hint = _optional(hint)
    if hint is int:
        try:
            return int(setting)
        except ValueError:
            raise ValueError(f"must be a whole number, got {setting!r}") from None
    if hint == tuple[str, ...]:
        return tuple(item for item in setting.split(",") if item.strip())
    if hint is str:
        return setting
    raise TypeError(f"no environment reader for {hint!r}")


def resolve(base: Path, value: str) -> Path:
    """A path from the file: ~ expanded, relative ones taken from the file's folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)
