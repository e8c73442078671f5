"""The settings records: one frozen dataclass per TOML table, and `Config`, the whole configuration.

Each key of the file is stated here once, as a field made with `key()`: its name (the attribute's,
unless `toml=` says otherwise), its type (the annotation), its default, its checks and its help.
The loader (newsdigest.config.load) reads the file against these fields; nothing else lists them.
(`key()` returns a dataclasses.field, which ruff's RUF009 cannot tell; hence its noqa below.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from newsdigest import __version__
from newsdigest.config import checks
from newsdigest.config.schema import key
from newsdigest.models import Source, SourceKind, WatchList

DEFAULT_USER_AGENT = f"newsdigest/{__version__} (+self-hosted news digest)"
DEFAULT_STATE_PATH = ".newsdigest/state.sqlite"
DEFAULT_OUT_DIR = "digests"
SMTP_SECURITY = ("ssl", "starttls", "plain")
DEFAULT_SMTP_PORTS = {"ssl": 465, "starttls": 587, "plain": 25}
SUMMARIZER_BACKENDS = ("extractive", "openai")


@dataclass(frozen=True)
class DigestSettings:
    """What goes into a digest and where it is written."""

    title: str = key("Daily news digest", "the digest's title")
    date: date | None = key(None, "pins the digest date (a snapshot corpus); unset means today")  # noqa: RUF009
    timezone: str = key("UTC", "the time zone of the digest date and the cron", checks.time_zone)
    window_hours: int = key(
        24, "entries published this many hours before the digest date's end", checks.positive, checks.at_most(87_600)
    )
    max_stories: int = key(40, "stories in one digest", checks.positive, checks.at_most(10_000))
    words_per_story: int = key(160, "the budget of each story's key claims", checks.positive, checks.at_most(100_000))
    out_dir: Path = key(Path(DEFAULT_OUT_DIR), "the folder the digest files are written to")  # noqa: RUF009
    base_url: str | None = key(
        None, "where out_dir is served on the web; the Atom feed's links are absolute under it", checks.http_url
    )
    since_last_digest: bool = key(False, "cover everything since the last digest instead of window_hours")
    sections: str = key(
        "none",
        "group stories by none, category (the source's) or watch (the matched watch term)",
        checks.one_of("none", "category", "watch"),
    )
    cron: str = key("0 6 * * *", "the daily schedule `newsdigest serve` and prefect.yaml use", checks.cron)


@dataclass(frozen=True)
class FetchSettings:
    """How sources and pages are fetched."""

    user_agent: str = key(DEFAULT_USER_AGENT, "the User-Agent header of every request")
    connect_timeout: float = key(10.0, "seconds to connect", checks.positive, checks.at_most(3600))
    read_timeout: float = key(20.0, "seconds between two reads of a response", checks.positive, checks.at_most(3600))
    max_bytes: int = key(10_000_000, "the largest response read", checks.at_least(1), checks.at_most(10**10))
    retries: int = key(
        2, "further tries after a timeout, a dropped connection or a 5xx", checks.at_least(0), checks.at_most(10)
    )
    total_timeout: float = key(
        60.0,
        "a whole response, however slowly it drips, within this many seconds; also a source's budget for all "
        "of its tries in one run (a source that timed out is not tried again that run)",
        checks.positive,
        checks.at_most(86_400),
    )
    per_host_connections: int = key(2, "requests to one host at the same time", checks.at_least(1), checks.at_most(100))
    per_host_interval: float = key(
        1.0, "seconds between the starts of two requests to one host", checks.at_least(0), checks.at_most(3600)
    )
    allow_private_addresses: bool = key(
        False, "fetch pages whose address is loopback, private or link-local (off: a guard against SSRF)"
    )
    failing_after: int = key(
        3, "consecutive failed runs before a source is reported as failing", checks.at_least(1), checks.at_most(10_000)
    )
    backoff_seconds: float = key(
        900.0, "first wait after a failure; doubles with each further one", checks.at_least(0), checks.at_most(10**7)
    )
    max_backoff_seconds: float = key(
        86_400.0,
        "the longest wait: a failing source is still tried at least once a day",
        checks.at_least(0),
        checks.at_most(10**7),
    )
    mirrors: tuple[tuple[str, Path], ...] = key(
        (), "URL prefix -> local folder: lets a snapshot (the bundled seeds) be read offline"
    )


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds for near-duplicates and story grouping."""

    near_duplicate_threshold: float = key(0.7, "similarity above which two articles are copies", checks.fraction)
    story_threshold: float = key(0.22, "similarity above which an article joins a story", checks.fraction)
    retention_days: int = key(
        7, "days an article stays comparable to new ones", checks.at_least(1), checks.at_most(3650)
    )


@dataclass(frozen=True)
class CleanSettings:
    """How article text is cleaned."""

    source_memory: bool = key(True, "learn each source's recurring lines (newsletter boxes, tag lines), remove them")
    memory_min_pages: int = key(
        2,
        "pages a line must have appeared on before it counts as the source's boilerplate",
        checks.at_least(1),
        checks.at_most(10**6),
    )


@dataclass(frozen=True)
class EmailSettings:
    """Where the digest is mailed and through which SMTP server; never the password itself."""

    # Keys that would put a secret in the file; refused with the way to do it instead.
    refused: ClassVar[dict[str, str]] = dict.fromkeys(
        ("password", "smtp_password"),
        "must not hold a password in clear; put it in an environment variable and name that variable "
        "with password_env (or set NEWSDIGEST_SMTP_PASSWORD)",
    )

    to: tuple[str, ...] = key((), "the recipients", checks.addresses, env="NEWSDIGEST_EMAIL_TO")
    sender: str | None = key(None, "the From address", checks.email_address, toml="from", env="NEWSDIGEST_EMAIL_FROM")
    smtp_host: str | None = key(
        None, "unset: from the credentials block, else localhost", checks.stripped_or_none, env="NEWSDIGEST_SMTP_HOST"
    )
    smtp_port: int | None = key(
        None,
        "unset: from the block, else the security's usual port",
        checks.between(1, 65535),
        env="NEWSDIGEST_SMTP_PORT",
    )
    smtp_security: str | None = key(
        None,
        "ssl, starttls or plain; unset: from the block, else starttls",
        checks.stripped_or_none,
        checks.lower,
        checks.one_of(*SMTP_SECURITY),
        env="NEWSDIGEST_SMTP_SECURITY",
    )
    smtp_user: str | None = key(None, "the SMTP login", checks.stripped_or_none, env="NEWSDIGEST_SMTP_USER")
    password_env: str | None = key(
        None,
        "the environment variable that holds the password (NEWSDIGEST_SMTP_PASSWORD wins)",
        checks.stripped_or_none,
    )
    list_unsubscribe: str | None = key(
        None, "a mailto: or https: URL, or a bare address", checks.stripped_or_none, checks.mail_link
    )
    full_digest_url: str | None = key(
        None,
        'where the whole digest is read; "{date}" becomes YYYY-MM-DD',
        checks.stripped_or_none,
        checks.http_prefixed,
    )
    credentials_block: str | None = key(
        None, "a prefect-email EmailServerCredentials block's name", checks.stripped_or_none
    )
    send_empty: bool = key(False, "mail a digest that has no stories (a quiet day); `newsdigest send` always may")

    @property
    def enabled(self) -> bool:
        """Whether the digest is mailed at all: only when someone is to receive it."""
        return bool(self.to)


@dataclass(frozen=True)
class RunSettings:
    """Where the flow's tasks run."""

    task_runner: str = key(
        "threads",
        "threads (one process) or dask (processes, for the CPU-heavy stages)",
        checks.one_of("threads", "dask"),
    )
    dask_address: str | None = key(
        None, "a running Dask scheduler; unset starts a local cluster", checks.stripped_or_none
    )
    dask_workers: int = key(2, "worker processes of the local cluster", checks.at_least(1), checks.at_most(1024))


@dataclass(frozen=True)
class SummarizerSettings:
    """Where key claims come from: the built-in extractor, or an OpenAI-compatible chat endpoint."""

    refused: ClassVar[dict[str, str]] = {
        "api_key": "must not hold an API key in clear; put it in an environment variable and name that "
        "variable with api_key_env"
    }

    backend: str = key(
        "extractive",
        "extractive (no network) or openai (a llama.cpp, vLLM or Ollama server)",
        checks.lower,
        checks.one_of(*SUMMARIZER_BACKENDS),
    )
    base_url: str | None = key(
        None,
        "the API root, e.g. http://127.0.0.1:8080/v1; /chat/completions is appended",
        lambda url: checks.http_url(url, trailing_slash=False),
    )
    model: str | None = key(None, "the model's name on the server", checks.stripped_or_none)
    api_key_env: str | None = key(
        None, "the environment variable that holds the API key; never the key itself", checks.stripped_or_none
    )
    timeout_seconds: float = key(60.0, "one story's request, answer included", checks.positive, checks.at_most(3600))
    max_claims: int = key(5, "claims asked for (and kept) per story", checks.at_least(1), checks.at_most(100))
    temperature: float = key(0.0, "the sampling temperature", checks.between(0, 2))
    max_input_chars: int = key(
        12_000,
        "article text sent per story, shared among its articles (small models have small contexts)",
        checks.at_least(1_000),
        checks.at_most(10**8),
    )

    @property
    def enabled(self) -> bool:
        """Whether a language model is asked at all."""
        return self.backend == "openai"


@dataclass(frozen=True)
class WatchTable:
    """The watch keys of [filters] and of each [[sources]]: keywords or /regular expressions/."""

    include: tuple[str, ...] = key((), "when set, only articles matching one of these", checks.watch_terms)
    exclude: tuple[str, ...] = key((), "articles matching one of these are left out", checks.watch_terms)
    highlight: tuple[str, ...] = key(
        (), "stories matching one of these rise to the top, the term marked", checks.watch_terms
    )

    def watch_list(self) -> WatchList:
        """The terms as the pipeline's WatchList."""
        return WatchList(include=self.include, exclude=self.exclude, highlight=self.highlight)


@dataclass(frozen=True)
class SourceTable(WatchTable):
    """One [[sources]] table as written; the loader makes it a models.Source."""

    name: str | None = key(None, "the source's name in the store and the digest (default: its url or path)")
    url: str | None = key(None, "a feed's URL (a value without a scheme is a local path)", checks.non_empty)
    path: str | None = key(None, "a local file or folder, relative to the configuration file", checks.non_empty)
    kind: SourceKind = key(SourceKind.FEED, "feed (RSS, Atom, JSON Feed) or text (flattened article text)")  # noqa: RUF009
    fetch_pages: bool = key(True, "fetch the article page when the feed carries only a teaser")
    respect_robots: bool = key(True, "fetch article pages only where the site's robots.txt allows")
    category: str | None = key(None, "groups stories into sections and OPML folders", checks.stripped_or_none)
    max_stories: int | None = key(
        None, "a noisy source leads at most this many stories", checks.at_least(1), checks.at_most(10_000)
    )
    weight: float = key(1.0, "scales the rank of the stories the source carries", checks.positive, checks.at_most(1000))


@dataclass(frozen=True)
class StoreTable:
    """The [store] table."""

    url: str = key(
        DEFAULT_STATE_PATH,
        "a SQLite path (relative to the configuration file) or a postgresql:// URL",
        checks.state_url,
    )


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
        """Origins ("http://10.0.0.5:8080") of the configured network sources: pages there are fetched even if private.

        Trust is a source's scheme, host and port, not every port of its host. The form is
        sources.fetch.origin_of's (config cannot import sources, so it is written out here).
        """
        origins = set()
        for source in self.sources:
            parts = urlsplit(source.location.strip())
            scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
            if scheme not in ("http", "https") or not host:
                continue
            try:
                port = parts.port or (443 if scheme == "https" else 80)
            except ValueError:
                continue
            origins.add(f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}")
        return frozenset(origins)

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
