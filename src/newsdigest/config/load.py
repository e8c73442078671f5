"""Loading: read the TOML file, validate every table against its record, build the `Config`.

Every problem in the file is collected and reported in one ConfigError, each with its key and line.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsdigest.config.lines import key_lines, line_of
from newsdigest.config.records import (
    CleanSettings,
    Config,
    DedupSettings,
    DigestSettings,
    EmailSettings,
    FetchSettings,
    RunSettings,
    SourceTable,
    StoreTable,
    SummarizerSettings,
    WatchTable,
)
from newsdigest.config.schema import KeyPath, Problem, label, read_table, resolve
from newsdigest.errors import ConfigError
from newsdigest.models import Source

# The file's tables, each read into its record; [[sources]] is the one array of tables.
TABLES: dict[str, type] = {
    "digest": DigestSettings,
    "fetch": FetchSettings,
    "dedup": DedupSettings,
    "clean": CleanSettings,
    "store": StoreTable,
    "email": EmailSettings,
    "filters": WatchTable,
    "run": RunSettings,
    "summarizer": SummarizerSettings,
}
SOURCES = "sources"
_UNPLACED = 1 << 30  # sorts a problem with no line after every line of a file


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file; a ConfigError lists every problem with its line."""
    config_path = Path(path).expanduser()
    try:
        text = decode_toml(config_path.read_bytes(), str(config_path))
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {config_path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {config_path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: {exc}") from None
    config, problems = build_config(data, config_path.resolve().parent, os.environ)
    if config is None:
        raise config_error(str(config_path), problems, key_lines(text))
    return replace(config, path=config_path.resolve())


def decode_toml(data: bytes, where: str) -> str:
    """The file's text: TOML is UTF-8 (a byte-order mark allowed); ConfigError naming the encoding or the line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{where}: the file is UTF-16 text; save it as UTF-8 (line 1)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{where}: not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be read; "
            f"save the file as UTF-8 (line {line})"
        ) from None


_loaded: dict[tuple[object, ...], Config] = {}


def load_config_once(path: str | Path) -> Config:
    """The configuration at `path`, parsed once per process while the file is unchanged.

    The command line validates it before Prefect starts and the flow reads it again by path (a
    deployment only has the path): both get the same parsed object.
    """
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
        # The environment's NEWSDIGEST_ variables override the file (SMTP settings): they are part of the key.
        overrides = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("NEWSDIGEST_")))
        key = (str(resolved), stat.st_mtime_ns, stat.st_size, overrides)
    except OSError:
        return load_config(path)  # let the loader report the missing file in its own words
    if key not in _loaded:
        _loaded.clear()  # one configuration per process is the common case; keep no stale ones
        _loaded[key] = load_config(path)
    return _loaded[key]


def parse_config(
    data: dict[str, Any], base: Path, where: str = "config", environ: Mapping[str, str] | None = None
) -> Config:
    """A Config from parsed TOML, relative paths resolved against `base`; `environ` gives NEWSDIGEST_* overrides."""
    config, problems = build_config(data, base, environ or {})
    if config is None:
        raise config_error(where, problems, None)
    return config


def config_error(where: str, problems: list[Problem], lines: dict[KeyPath, int] | None) -> ConfigError:
    """One ConfigError for all the problems, each with its line when the file's text is known."""
    shown: list[tuple[int, str]] = []
    for problem in problems:
        line = line_of(lines, problem.path) if lines is not None and problem.from_file else None
        shown.append((line or _UNPLACED, problem.message + (f" (line {line})" if line else "")))
    shown.sort(key=lambda item: item[0])  # in the file's order; those with no line (environment) last
    if len(shown) == 1:
        return ConfigError(f"{where}: {shown[0][1]}")
    return ConfigError(f"{where}: {len(shown)} problems:\n" + "\n".join(f"  {message}" for _, message in shown))


def build_config(data: dict[str, Any], base: Path, environ: Mapping[str, str]) -> tuple[Config | None, list[Problem]]:
    """The Config the parsed file describes, or None and every problem found in it."""
    problems = [
        Problem((name,), f"unknown key {name!r} in {label(())}")
        for name in data
        if name not in TABLES and name != SOURCES
    ]
    records: dict[str, Any] = {}
    for name, cls in TABLES.items():
        values, given, found = read_table(cls, data.get(name, {}), (name,), base, environ)
        found += _table_rules(name, values, given)
        problems += found
        if not found:
            records[name] = cls(**values)
    sources, found = _read_sources(data.get(SOURCES, []), base)
    problems += found
    if problems:
        return None, problems
    store: StoreTable = records["store"]
    # A database URL is used as written; a file path is the file's, not the working directory's.
    state = store.url if "://" in store.url or "url" not in data.get("store", {}) else str(resolve(base, store.url))
    filters: WatchTable = records["filters"]
    config = Config(
        sources=sources,
        digest=records["digest"],
        fetch=records["fetch"],
        dedup=records["dedup"],
        clean=records["clean"],
        email=records["email"],
        filters=filters.watch_list(),
        run=records["run"],
        summarizer=records["summarizer"],
        state=state,
    )
    return config, []


def _table_rules(name: str, values: dict[str, Any], given: set[str]) -> list[Problem]:
    """Rules between keys of one table; a key given but refused is already reported, so not again here."""
    problems: list[Problem] = []
    if name == "summarizer" and values.get("backend") == "openai":
        problems += [
            Problem((name, needed), f'[summarizer] {needed} is needed when backend = "openai"')
            for needed in ("base_url", "model")
            if needed not in given
        ]
    if name == "email" and values.get("to") and "sender" not in given:
        problems.append(
            Problem((name, "from"), "[email] from is needed when there are recipients (or set NEWSDIGEST_EMAIL_FROM)")
        )
    return problems


def _read_sources(raw: object, base: Path) -> tuple[tuple[Source, ...], list[Problem]]:
    """The [[sources]] tables as Sources: each read against SourceTable, with exactly one location, names unique."""
    if not isinstance(raw, list):
        return (), [Problem((SOURCES,), f"{SOURCES!r} must be an array of tables ([[sources]])")]
    sources: list[Source] = []
    problems: list[Problem] = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        where: KeyPath = (SOURCES, index)
        values, _given, found = read_table(SourceTable, item, where, base)
        if isinstance(item, dict) and ("url" in item) == ("path" in item):
            found.append(Problem(where, f"{label(where)} needs exactly one of 'url' or 'path'"))
        problems += found
        if found:
            continue
        entry = SourceTable(**values)
        location = entry.url or entry.path or ""
        if entry.path is not None or not _is_url(location):
            location = str(resolve(base, location))
        name = entry.name or location
        if name in names:
            problems.append(
                Problem((*where, "name"), f"two sources are named {name!r}; names identify sources in the store")
            )
        names.add(name)
        sources.append(
            Source(
                name=name,
                location=location,
                kind=entry.kind,
                fetch_pages=entry.fetch_pages,
                respect_robots=entry.respect_robots,
                category=entry.category,
                watch=entry.watch_list(),
                max_stories=entry.max_stories,
                weight=entry.weight,
            )
        )
    return tuple(sources), problems


def _is_url(value: str) -> bool:
    return "://" in value or value.startswith("file:")
