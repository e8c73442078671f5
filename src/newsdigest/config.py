"""The configuration: one typed object, loaded once from a TOML file and passed down."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsdigest import __version__
from newsdigest.errors import ConfigError
from newsdigest.models import Source, SourceKind

DEFAULT_USER_AGENT = f"newsdigest/{__version__} (+self-hosted news digest)"
DEFAULT_STATE_PATH = ".newsdigest/state.sqlite"
DEFAULT_OUT_DIR = "digests"


@dataclass(frozen=True)
class DigestSettings:
    """What goes into a digest and where it is written."""

    title: str = "Daily news digest"
    date: date | None = None  # pins the digest date (a snapshot corpus); None means today
    timezone: str = "UTC"
    window_hours: int = 24
    max_stories: int = 40
    words_per_story: int = 160
    out_dir: Path = Path(DEFAULT_OUT_DIR)


@dataclass(frozen=True)
class FetchSettings:
    """How sources and pages are fetched."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 10_000_000
    retries: int = 2
    # URL prefix -> local folder: lets a snapshot (the bundled seeds) be read offline.
    mirrors: tuple[tuple[str, Path], ...] = ()


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds for near-duplicates and story grouping."""

    near_duplicate_threshold: float = 0.7
    story_threshold: float = 0.22
    retention_days: int = 7


@dataclass(frozen=True)
class CleanSettings:
    """How article text is cleaned."""

    # Learn each source's recurring lines (newsletter boxes, tag lines) and remove them.
    source_memory: bool = True
    # Pages a line must have appeared on before it counts as the source's boilerplate.
    memory_min_pages: int = 2


@dataclass(frozen=True)
class Config:
    """The whole configuration of one run."""

    sources: tuple[Source, ...]
    digest: DigestSettings = field(default_factory=DigestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    state: str = DEFAULT_STATE_PATH  # a SQLite path or an SQLAlchemy database URL
    path: Path | None = None  # the file this came from

    def with_overrides(
        self, *, digest_date: date | None = None, out_dir: Path | None = None, state: str | None = None
    ) -> Config:
        """A copy with the command line's choices applied on top of the file's."""
        digest = self.digest
        if digest_date is not None:
            digest = replace(digest, date=digest_date)
        if out_dir is not None:
            digest = replace(digest, out_dir=out_dir)
        return replace(self, digest=digest, state=state if state is not None else self.state)


_ALLOWED: dict[str, set[str]] = {
    "": {"digest", "fetch", "dedup", "clean", "store", "sources"},
    "digest": {"title", "date", "timezone", "window_hours", "max_stories", "words_per_story", "out_dir"},
    "fetch": {"user_agent", "connect_timeout", "read_timeout", "max_bytes", "retries", "mirrors"},
    "dedup": {"near_duplicate_threshold", "story_threshold", "retention_days"},
    "clean": {"source_memory", "memory_min_pages"},
    "store": {"url"},
    "sources": {"name", "url", "path", "kind", "fetch_pages"},
}


def _check_keys(table: dict[str, Any], section: str, where: str) -> None:
    unknown = sorted(set(table) - _ALLOWED[section])
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in [{section or 'top level'}]")


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, section: str) -> Any:
    value = table[key]
    # bool is an int in Python; a number key given true/false is still a mistake.
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}: [{section}] {key} must be {_kind_name(kind)}, not a boolean")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: [{section}] {key} must be {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _is_url(value: str) -> bool:
    return "://" in value or value.startswith("file:")


def _parse_sources(raw: list[Any], base: Path, where: str) -> tuple[Source, ...]:
    sources: list[Source] = []
    names: set[str] = set()
    for index, item in enumerate(raw, start=1):
        label = f"sources #{index}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: [[sources]] #{index} must be a table")
        _check_keys(item, "sources", where)
        if ("url" in item) == ("path" in item):
            raise ConfigError(f"{where}: [[sources]] #{index} needs exactly one of 'url' or 'path'")
        location = item.get("url") or item.get("path")
        if not isinstance(location, str) or not location.strip():
            raise ConfigError(f"{where}: [[sources]] #{index} 'url'/'path' must be a non-empty string")
        if "path" in item or not _is_url(location):
            location = str(_resolve(base, location))
        kind_name = item.get("kind", "feed")
        try:
            kind = SourceKind(kind_name)
        except ValueError:
            raise ConfigError(
                f"{where}: [[sources]] #{index} kind must be 'feed' or 'text', got {kind_name!r}"
            ) from None
        name = item.get("name") or location
        if not isinstance(name, str):
            raise ConfigError(f"{where}: [[sources]] #{index} name must be a string")
        if name in names:
            raise ConfigError(f"{where}: two sources are named {name!r}; names identify sources in the store")
        names.add(name)
        fetch_pages = _typed(item, "fetch_pages", bool, where, label) if "fetch_pages" in item else True
        sources.append(Source(name=name, location=location, kind=kind, fetch_pages=fetch_pages))
    return tuple(sources)


def parse_config(data: dict[str, Any], base: Path, where: str = "config") -> Config:
    """Build a Config from parsed TOML; relative paths are resolved against `base`."""
    _check_keys(data, "", where)
    digest_raw = data.get("digest", {})
    fetch_raw = data.get("fetch", {})
    dedup_raw = data.get("dedup", {})
    store_raw = data.get("store", {})
    clean_raw = data.get("clean", {})
    tables = {"digest": digest_raw, "fetch": fetch_raw, "dedup": dedup_raw, "clean": clean_raw, "store": store_raw}
    for section, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        _check_keys(table, section, where)

    digest = DigestSettings()
    if "title" in digest_raw:
        digest = replace(digest, title=_typed(digest_raw, "title", str, where, "digest"))
    if "date" in digest_raw:
        raw_date = digest_raw["date"]
        if isinstance(raw_date, str):
            try:
                raw_date = date.fromisoformat(raw_date)
            except ValueError:
                raise ConfigError(f"{where}: [digest] date must be YYYY-MM-DD, got {digest_raw['date']!r}") from None
        if not isinstance(raw_date, date):
            raise ConfigError(f"{where}: [digest] date must be a date, got {raw_date!r}")
        digest = replace(digest, date=raw_date)
    if "timezone" in digest_raw:
        zone = _typed(digest_raw, "timezone", str, where, "digest")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}: [digest] timezone {zone!r} is not a known time zone") from None
        digest = replace(digest, timezone=zone)
    for key in ("window_hours", "max_stories", "words_per_story"):
        if key in digest_raw:
            value = _typed(digest_raw, key, int, where, "digest")
            if value <= 0:
                raise ConfigError(f"{where}: [digest] {key} must be positive, got {value}")
            digest = replace(digest, **{key: value})
    if "out_dir" in digest_raw:
        digest = replace(digest, out_dir=_resolve(base, _typed(digest_raw, "out_dir", str, where, "digest")))

    fetch = FetchSettings()
    if "user_agent" in fetch_raw:
        fetch = replace(fetch, user_agent=_typed(fetch_raw, "user_agent", str, where, "fetch"))
    for key in ("connect_timeout", "read_timeout"):
        if key in fetch_raw:
            fetch = replace(fetch, **{key: float(_typed(fetch_raw, key, (int, float), where, "fetch"))})
    for key in ("max_bytes", "retries"):
        if key in fetch_raw:
            fetch = replace(fetch, **{key: _typed(fetch_raw, key, int, where, "fetch")})
    if "mirrors" in fetch_raw:
        mirrors = _typed(fetch_raw, "mirrors", dict, where, "fetch")
        fetch = replace(
            fetch, mirrors=tuple((prefix, _resolve(base, str(folder))) for prefix, folder in mirrors.items())
        )

    dedup = DedupSettings()
    for key in ("near_duplicate_threshold", "story_threshold"):
        if key in dedup_raw:
            value = float(_typed(dedup_raw, key, (int, float), where, "dedup"))
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"{where}: [dedup] {key} must be in (0, 1], got {value}")
            dedup = replace(dedup, **{key: value})
    if "retention_days" in dedup_raw:
        dedup = replace(dedup, retention_days=_typed(dedup_raw, "retention_days", int, where, "dedup"))

    clean = CleanSettings()
    if "source_memory" in clean_raw:
        clean = replace(clean, source_memory=_typed(clean_raw, "source_memory", bool, where, "clean"))
    if "memory_min_pages" in clean_raw:
        value = _typed(clean_raw, "memory_min_pages", int, where, "clean")
        if value < 1:
            raise ConfigError(f"{where}: [clean] memory_min_pages must be at least 1, got {value}")
        clean = replace(clean, memory_min_pages=value)

    state = DEFAULT_STATE_PATH
    if "url" in store_raw:
        state = _typed(store_raw, "url", str, where, "store")
        if "://" not in state:
            state = str(_resolve(base, state))

    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{where}: 'sources' must be an array of tables ([[sources]])")
    return Config(
        sources=_parse_sources(raw_sources, base, where),
        digest=digest,
        fetch=fetch,
        dedup=dedup,
        clean=clean,
        state=state,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file."""
    config_path = Path(path).expanduser()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {config_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {config_path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: {exc}") from None
    config = parse_config(data, config_path.resolve().parent, where=str(config_path))
    return replace(config, path=config_path.resolve())
