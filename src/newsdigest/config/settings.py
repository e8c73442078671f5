"""The configuration: one typed object, loaded once from a TOML file and passed down."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsdigest import __version__
from newsdigest.errors import ConfigError
from newsdigest.models import Source, SourceKind, WatchList

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
    # Where out_dir is served on the web; the Atom feed's links are absolute under it. None: relative links.
    base_url: str | None = None
    # Cover everything since the last digest was written instead of the last window_hours.
    since_last_digest: bool = False
    sections: str = "none"  # none, category (the source's category) or watch (the matched watch term)
    cron: str = "0 6 * * *"  # the daily schedule `newsdigest serve` and prefect.yaml use


@dataclass(frozen=True)
class FetchSettings:
    """How sources and pages are fetched."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 10_000_000
    retries: int = 2
    total_timeout: float = 60.0  # a whole response, however slowly it drips, within this many seconds
    per_host_connections: int = 2  # requests to one host at the same time
    per_host_interval: float = 1.0  # seconds between the starts of two requests to one host
    # Fetch pages whose address is loopback, private or link-local (off: a guard against SSRF).
    allow_private_addresses: bool = False
    failing_after: int = 3  # consecutive failed runs before a source is reported as failing
    backoff_seconds: float = 900.0  # first wait after a failure; doubles with each further one
    max_backoff_seconds: float = 86_400.0  # a failing source is still tried at least once a day
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


SMTP_SECURITY = ("ssl", "starttls", "plain")
DEFAULT_SMTP_PORTS = {"ssl": 465, "starttls": 587, "plain": 25}


@dataclass(frozen=True)
class EmailSettings:
    """Where the digest is mailed and through which SMTP server; never the password itself."""

    to: tuple[str, ...] = ()
    sender: str | None = None  # the [email] `from` address
    smtp_host: str | None = None  # None: from the credentials block, else localhost
    smtp_port: int | None = None  # None: from the block, else the security's usual port
    smtp_security: str | None = None  # ssl, starttls or plain; None: from the block, else starttls
    smtp_user: str | None = None
    # The name of the environment variable that holds the password (NEWSDIGEST_SMTP_PASSWORD wins).
    password_env: str | None = None
    list_unsubscribe: str | None = None  # a mailto: or https: URL, or a bare address
    full_digest_url: str | None = None  # where the whole digest is read; "{date}" becomes YYYY-MM-DD
    credentials_block: str | None = None  # a prefect-email EmailServerCredentials block's name

    @property
    def enabled(self) -> bool:
        """Whether the digest is mailed at all: only when someone is to receive it."""
        return bool(self.to)


@dataclass(frozen=True)
class RunSettings:
    """Where the flow's tasks run."""

    task_runner: str = "threads"  # threads (one process) or dask (processes, for the CPU-heavy stages)
    dask_address: str | None = None  # a running Dask scheduler; None starts a local cluster
    dask_workers: int = 2  # worker processes of the local cluster


SUMMARIZER_BACKENDS = ("extractive", "openai")


@dataclass(frozen=True)
class SummarizerSettings:
    """Where key claims come from: the built-in extractor, or an OpenAI-compatible chat endpoint."""

    backend: str = "extractive"  # extractive (no network) or openai (a llama.cpp, vLLM or Ollama server)
    base_url: str | None = None  # the API root, e.g. http://127.0.0.1:8080/v1; /chat/completions is appended
    model: str | None = None
    # The name of the environment variable that holds the API key; the key itself is never in the file.
    api_key_env: str | None = None
    timeout_seconds: float = 60.0  # one story's request, answer included
    max_claims: int = 5  # claims asked for (and kept) per story
    temperature: float = 0.0
    # Article text sent per story, shared among its articles: small local models have small contexts.
    max_input_chars: int = 12_000

    @property
    def enabled(self) -> bool:
        """Whether a language model is asked at all."""
        return self.backend == "openai"


@dataclass(frozen=True)
class Config:
    """The whole configuration of one run."""

    sources: tuple[Source, ...]
    digest: DigestSettings = field(default_factory=DigestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    filters: WatchList = field(default_factory=WatchList)  # applies to every source
    run: RunSettings = field(default_factory=RunSettings)
    summarizer: SummarizerSettings = field(default_factory=SummarizerSettings)
    state: str = DEFAULT_STATE_PATH  # a SQLite path or an SQLAlchemy database URL
    path: Path | None = None  # the file this came from

    def with_sources(self, locations: Sequence[str]) -> Config:
        """A copy that reads these feed URLs or paths instead of the configured sources."""
        sources = tuple(Source(name=location, location=location, kind=SourceKind.FEED) for location in locations)
        return replace(self, sources=sources)

    def source_hosts(self) -> frozenset[str]:
        """Hosts of the configured network sources: pages there are fetched even if the address is private."""
        hosts = set()
        for source in self.sources:
            if "://" in source.location and not source.location.startswith("file:"):
                hosts.add((urlsplit(source.location).hostname or "").lower())
        return frozenset(hosts - {""})

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
    "": {"digest", "fetch", "dedup", "clean", "store", "sources", "email", "filters", "run", "summarizer"},
    "run": {"task_runner", "dask_address", "dask_workers"},
    "summarizer": {
        "backend",
        "base_url",
        "model",
        "api_key_env",
        "timeout_seconds",
        "max_claims",
        "temperature",
        "max_input_chars",
    },
    "digest": {
        "title",
        "date",
        "timezone",
        "window_hours",
        "max_stories",
        "words_per_story",
        "out_dir",
        "base_url",
        "since_last_digest",
        "sections",
        "cron",
    },
    "filters": {"include", "exclude", "highlight"},
    "fetch": {
        "user_agent",
        "connect_timeout",
        "read_timeout",
        "total_timeout",
        "max_bytes",
        "retries",
        "mirrors",
        "per_host_connections",
        "per_host_interval",
        "allow_private_addresses",
        "failing_after",
        "backoff_seconds",
        "max_backoff_seconds",
    },
    "dedup": {"near_duplicate_threshold", "story_threshold", "retention_days"},
    "clean": {"source_memory", "memory_min_pages"},
    "store": {"url"},
    "email": {
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_user",
        "password_env",
        "from",
        "to",
        "list_unsubscribe",
        "full_digest_url",
        "credentials_block",
    },
    "sources": {
        "name",
        "url",
        "path",
        "kind",
        "fetch_pages",
        "category",
        "include",
        "exclude",
        "highlight",
        "max_stories",
        "weight",
    },
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
        category = _typed(item, "category", str, where, label).strip() or None if "category" in item else None
        max_stories = _typed(item, "max_stories", int, where, label) if "max_stories" in item else None
        if max_stories is not None and max_stories < 1:
            raise ConfigError(f"{where}: [{label}] max_stories must be at least 1, got {max_stories}")
        weight = float(_typed(item, "weight", (int, float), where, label)) if "weight" in item else 1.0
        if weight <= 0:
            raise ConfigError(f"{where}: [{label}] weight must be positive, got {weight}")
        sources.append(
            Source(
                name=name,
                location=location,
                kind=kind,
                fetch_pages=fetch_pages,
                category=category,
                watch=parse_watch_list(item, where, label),
                max_stories=max_stories,
                weight=weight,
            )
        )
    return tuple(sources)


def _parse_run(raw: dict[str, Any], where: str) -> RunSettings:
    """The [run] table: the task runner and its Dask settings."""
    run = RunSettings()
    if "task_runner" in raw:
        runner = _typed(raw, "task_runner", str, where, "run")
        if runner not in ("threads", "dask"):
            raise ConfigError(f"{where}: [run] task_runner must be threads or dask, got {runner!r}")
        run = replace(run, task_runner=runner)
    if "dask_address" in raw:
        run = replace(run, dask_address=_typed(raw, "dask_address", str, where, "run").strip() or None)
    if "dask_workers" in raw:
        workers = _typed(raw, "dask_workers", int, where, "run")
        if workers < 1:
            raise ConfigError(f"{where}: [run] dask_workers must be at least 1, got {workers}")
        run = replace(run, dask_workers=workers)
    return run


def _parse_summarizer(raw: dict[str, Any], where: str) -> SummarizerSettings:
    """The [summarizer] table: the claim backend and, for openai, its endpoint."""
    if "api_key" in raw:
        raise ConfigError(
            f"{where}: [summarizer] must not hold an API key in clear; put it in an environment variable and "
            "name that variable with api_key_env"
        )
    _check_keys(raw, "summarizer", where)
    settings = SummarizerSettings()
    if "backend" in raw:
        backend = _typed(raw, "backend", str, where, "summarizer").strip().lower()
        if backend not in SUMMARIZER_BACKENDS:
            raise ConfigError(f"{where}: [summarizer] backend must be extractive or openai, got {raw['backend']!r}")
        settings = replace(settings, backend=backend)
    for key in ("model", "api_key_env"):
        if key in raw:
            settings = replace(settings, **{key: _typed(raw, key, str, where, "summarizer").strip() or None})
    if "base_url" in raw:
        base_url = _typed(raw, "base_url", str, where, "summarizer").strip().rstrip("/")
        try:
            host = urlsplit(base_url).hostname if base_url.lower().startswith(("https://", "http://")) else None
        except ValueError:
            host = None
        if not host or any(c.isspace() for c in base_url):
            raise ConfigError(f"{where}: [summarizer] base_url must be an http(s) URL, got {raw['base_url']!r}")
        settings = replace(settings, base_url=base_url)
    if "timeout_seconds" in raw:
        timeout = float(_typed(raw, "timeout_seconds", (int, float), where, "summarizer"))
        if timeout <= 0:
            raise ConfigError(f"{where}: [summarizer] timeout_seconds must be positive, got {timeout}")
        settings = replace(settings, timeout_seconds=timeout)
    if "temperature" in raw:
        temperature = float(_typed(raw, "temperature", (int, float), where, "summarizer"))
        if not 0.0 <= temperature <= 2.0:
            raise ConfigError(f"{where}: [summarizer] temperature must be between 0 and 2, got {temperature}")
        settings = replace(settings, temperature=temperature)
    for key, least in (("max_claims", 1), ("max_input_chars", 1_000)):
        if key in raw:
            value = _typed(raw, key, int, where, "summarizer")
            if value < least:
                raise ConfigError(f"{where}: [summarizer] {key} must be at least {least}, got {value}")
            settings = replace(settings, **{key: value})
    # Checked last: a key given with a wrong type is reported as that, not as missing.
    if settings.enabled:
        for key in ("base_url", "model"):
            if getattr(settings, key) is None:
                raise ConfigError(f'{where}: [summarizer] {key} is needed when backend = "openai"')
    return settings


def parse_watch_list(table: dict[str, Any], where: str, section: str) -> WatchList:
    """include / exclude / highlight arrays of keywords or /regular expressions/, each checked."""
    values: dict[str, tuple[str, ...]] = {}
    for key in ("include", "exclude", "highlight"):
        if key not in table:
            continue
        raw = table[key]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(term, str) and term.strip() for term in raw):
            raise ConfigError(f"{where}: [{section}] {key} must be an array of non-empty strings, got {table[key]!r}")
        for term in raw:
            if len(term) > 2 and term.startswith("/") and term.endswith("/"):
                try:
                    re.compile(term[1:-1])
                except re.error as exc:
                    raise ConfigError(f"{where}: [{section}] {key}: bad pattern {term!r}: {exc}") from None
        values[key] = tuple(term.strip() for term in raw)
    return WatchList(**values)


_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}


def cron_problem(expression: str) -> str | None:
    """Why a five-field cron expression is invalid, or None when it is valid."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}"
    for position, (field_name, low, high) in enumerate(_CRON_FIELDS):
        names = _CRON_NAMES.get(position, [])
        for part in fields[position].split(","):
            base, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                return f"bad step {step!r} in the {field_name} field"
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2 or not all(bounds):
                return f"bad {field_name} field {part!r}"
            for bound in bounds:
                if bound.lower() in names:
                    continue
                if not bound.isdigit() or not low <= int(bound) <= high:
                    return f"{field_name} {bound!r} is outside {low}-{high}"
    return None


def _address(value: str, what: str) -> str:
    _name, address = parseaddr(value)
    if not address or "@" not in address or any(c in value for c in "\r\n"):
        raise ConfigError(f"{what} must be an email address, got {value!r}")
    return value.strip()


def _parse_email(raw: dict[str, Any], environ: Mapping[str, str], where: str) -> EmailSettings:
    """The [email] table with the NEWSDIGEST_* environment variables applied on top."""
    if "password" in raw or "smtp_password" in raw:
        raise ConfigError(
            f"{where}: [email] must not hold a password in clear; put it in an environment variable and "
            "name that variable with password_env (or set NEWSDIGEST_SMTP_PASSWORD)"
        )
    _check_keys(raw, "email", where)
    values: dict[str, Any] = {}
    for key in ("smtp_host", "smtp_security", "smtp_user", "password_env", "list_unsubscribe", "full_digest_url"):
        if key in raw:
            values[key] = _typed(raw, key, str, where, "email").strip() or None
    if "credentials_block" in raw:
        values["credentials_block"] = _typed(raw, "credentials_block", str, where, "email").strip() or None
    if "from" in raw:
        values["sender"] = _typed(raw, "from", str, where, "email")
    if "smtp_port" in raw:
        values["smtp_port"] = _typed(raw, "smtp_port", int, where, "email")
    if "to" in raw:
        to = raw["to"]
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not all(isinstance(item, str) for item in to):
            raise ConfigError(f"{where}: [email] to must be an array of addresses, got {raw['to']!r}")
        values["to"] = to

    # The environment wins over the file, so a scheduler or a container can set them; empty means unset.
    overrides = {
        "NEWSDIGEST_SMTP_HOST": "smtp_host",
        "NEWSDIGEST_SMTP_SECURITY": "smtp_security",
        "NEWSDIGEST_SMTP_USER": "smtp_user",
        "NEWSDIGEST_EMAIL_FROM": "sender",
    }
    for variable, key in overrides.items():
        if environ.get(variable, "").strip():
            values[key] = environ[variable].strip()
    if environ.get("NEWSDIGEST_SMTP_PORT", "").strip():
        try:
            values["smtp_port"] = int(environ["NEWSDIGEST_SMTP_PORT"])
        except ValueError:
            raise ConfigError(
                f"NEWSDIGEST_SMTP_PORT must be a port number, got {environ['NEWSDIGEST_SMTP_PORT']!r}"
            ) from None
    if environ.get("NEWSDIGEST_EMAIL_TO", "").strip():
        values["to"] = [item for item in environ["NEWSDIGEST_EMAIL_TO"].split(",") if item.strip()]

    security = values.get("smtp_security")
    if security is not None:
        security = security.lower()
        if security not in SMTP_SECURITY:
            raise ConfigError(f"{where}: [email] smtp_security must be ssl, starttls or plain, got {security!r}")
        values["smtp_security"] = security
    port = values.get("smtp_port")
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"{where}: [email] smtp_port must be between 1 and 65535, got {port}")
    values["to"] = tuple(_address(item, f"{where}: [email] to") for item in values.get("to", ()))
    if values.get("sender") is not None:
        values["sender"] = _address(values["sender"], f"{where}: [email] from")
    elif values["to"]:
        raise ConfigError(f"{where}: [email] from is needed when there are recipients (or set NEWSDIGEST_EMAIL_FROM)")
    unsubscribe = values.get("list_unsubscribe")
    if unsubscribe and not unsubscribe.startswith(("mailto:", "https://", "http://")):
        values["list_unsubscribe"] = "mailto:" + _address(unsubscribe, f"{where}: [email] list_unsubscribe")
    full_url = values.get("full_digest_url")
    if full_url and not full_url.startswith(("https://", "http://")):
        raise ConfigError(f"{where}: [email] full_digest_url must be an http(s) URL, got {full_url!r}")
    return EmailSettings(**values)


def parse_config(
    data: dict[str, Any], base: Path, where: str = "config", environ: Mapping[str, str] | None = None
) -> Config:
    """Build a Config from parsed TOML; relative paths are resolved against `base`.

    `environ` (load_config passes os.environ) supplies the NEWSDIGEST_SMTP_* / NEWSDIGEST_EMAIL_* overrides.
    """
    _check_keys(data, "", where)
    digest_raw = data.get("digest", {})
    fetch_raw = data.get("fetch", {})
    dedup_raw = data.get("dedup", {})
    store_raw = data.get("store", {})
    clean_raw = data.get("clean", {})
    filters_raw = data.get("filters", {})
    run_raw = data.get("run", {})
    summarizer_raw = data.get("summarizer", {})
    tables = {
        "digest": digest_raw,
        "fetch": fetch_raw,
        "dedup": dedup_raw,
        "clean": clean_raw,
        "store": store_raw,
        "filters": filters_raw,
        "run": run_raw,
        "summarizer": summarizer_raw,
    }
    for section, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        # [summarizer] checks its own keys, so that an api_key in clear gets its own message.
        if section != "summarizer":
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
    if "base_url" in digest_raw:
        base_url = _typed(digest_raw, "base_url", str, where, "digest").strip()
        try:
            host = urlsplit(base_url).hostname if base_url.startswith(("https://", "http://")) else None
        except ValueError:
            host = None
        if not host or any(c.isspace() for c in base_url):
            raise ConfigError(f"{where}: [digest] base_url must be an http(s) URL, got {base_url!r}")
        digest = replace(digest, base_url=base_url)
    if "since_last_digest" in digest_raw:
        digest = replace(digest, since_last_digest=_typed(digest_raw, "since_last_digest", bool, where, "digest"))
    if "sections" in digest_raw:
        sections = _typed(digest_raw, "sections", str, where, "digest")
        if sections not in ("none", "category", "watch"):
            raise ConfigError(f"{where}: [digest] sections must be none, category or watch, got {sections!r}")
        digest = replace(digest, sections=sections)
    if "cron" in digest_raw:
        cron = _typed(digest_raw, "cron", str, where, "digest")
        problem = cron_problem(cron)
        if problem:
            raise ConfigError(f"{where}: [digest] cron {cron!r} is not valid: {problem}")
        digest = replace(digest, cron=cron)

    fetch = FetchSettings()
    if "user_agent" in fetch_raw:
        fetch = replace(fetch, user_agent=_typed(fetch_raw, "user_agent", str, where, "fetch"))
    for key in (
        "connect_timeout",
        "read_timeout",
        "total_timeout",
        "per_host_interval",
        "backoff_seconds",
        "max_backoff_seconds",
    ):
        if key in fetch_raw:
            value = float(_typed(fetch_raw, key, (int, float), where, "fetch"))
            if value < 0 or (value == 0 and key.endswith("timeout")):
                raise ConfigError(f"{where}: [fetch] {key} must be positive, got {value}")
            fetch = replace(fetch, **{key: value})
    for key in ("max_bytes", "retries", "per_host_connections", "failing_after"):
        if key in fetch_raw:
            value = _typed(fetch_raw, key, int, where, "fetch")
            if value < (0 if key == "retries" else 1):
                raise ConfigError(f"{where}: [fetch] {key} is too small: {value}")
            fetch = replace(fetch, **{key: value})
    if "allow_private_addresses" in fetch_raw:
        fetch = replace(
            fetch, allow_private_addresses=_typed(fetch_raw, "allow_private_addresses", bool, where, "fetch")
        )
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

    email_raw = data.get("email", {})
    if not isinstance(email_raw, dict):
        raise ConfigError(f"{where}: [email] must be a table")
    email = _parse_email(email_raw, environ or {}, where)

    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{where}: 'sources' must be an array of tables ([[sources]])")
    return Config(
        sources=_parse_sources(raw_sources, base, where),
        digest=digest,
        fetch=fetch,
        dedup=dedup,
        clean=clean,
        filters=parse_watch_list(filters_raw, where, "filters"),
        run=_parse_run(run_raw, where),
        summarizer=_parse_summarizer(summarizer_raw, where),
        email=email,
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
    try:
        config = parse_config(data, config_path.resolve().parent, where=str(config_path), environ=os.environ)
    except ConfigError as exc:
        line = _line_of_error(text, str(exc))
        if line is None:
            raise
        raise ConfigError(f"{exc} (line {line})") from None
    return replace(config, path=config_path.resolve())


_ERROR_PLACE = (
    re.compile(r"unknown key '(?P<key>[^']+)' in \[(?P<section>[^\]]+)\]"),
    re.compile(r"\[(?P<section>[a-z]+)(?: #(?P<index>\d+))?\] (?P<key>[a-z_]+)"),
    re.compile(r"\[\[(?P<section>sources)\]\] #(?P<index>\d+)"),
)


def _line_of_error(text: str, message: str) -> int | None:
    """The line of the key (or table) a ConfigError message names, found in the file's text."""
    for pattern in _ERROR_PLACE:
        match = pattern.search(message)
        if match:
            break
    else:
        return None
    section = match.group("section")
    section = "" if section == "top level" else section
    wanted_index = int(match.group("index")) if "index" in match.groupdict() and match.group("index") else 1
    key = match.groupdict().get("key")
    current, index, table_line = "", 0, None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        header = re.match(r"^\[\[?\s*([\w.\-]+)\s*\]\]?", line)
        if header:
            current = header.group(1)
            if current == section:
                index += 1
                if index == wanted_index:
                    table_line = number
            continue
        if current == section and index == wanted_index and key and re.match(rf"^\"?{re.escape(key)}\"?\s*=", line):
            return number
    return table_line
