"""Frozen records passed between the stages or kept in the store.

The pipeline's path: Source -> (Fetched) -> FeedEntry -> Article -> NewDocument -> DedupRecord -> Story
-> Digest. What the store keeps between runs: StoredArticle, SourceHealth, OutboxRow. Records used
inside one stage only stay in that stage's package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class SourceKind(StrEnum):
    """How a source's location is read."""

    FEED = "feed"  # RSS, Atom or JSON Feed, over http(s) or from a local file
    TEXT = "text"  # a folder (or file) of flattened article text, like the seed article


@dataclass(frozen=True)
class WatchList:
    """Keywords or /regular expressions/ that admit, keep out or highlight articles."""

    include: tuple[str, ...] = ()  # when set, only articles matching one of these
    exclude: tuple[str, ...] = ()  # articles matching one of these are left out
    highlight: tuple[str, ...] = ()  # stories matching one of these rise to the top, the term marked

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude or self.highlight)


@dataclass(frozen=True)
class Source:
    """One configured source of articles."""

    name: str
    location: str  # URL, file: URL or local path (already resolved against the config folder)
    kind: SourceKind = SourceKind.FEED
    fetch_pages: bool = True  # fetch the article page when the feed carries only a teaser
    respect_robots: bool = True  # article pages only where the site's robots.txt allows
    category: str | None = None  # groups stories into sections and OPML folders
    watch: WatchList = field(default_factory=WatchList)
    max_stories: int | None = None  # a noisy source leads at most this many stories
    weight: float = 1.0  # scales the rank of the stories the source carries


@dataclass(frozen=True)
class Validators:
    """What a server said about a document last time, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """The body of a fetched document and what the server said about it."""

    url: str  # the final URL, after redirects and mirror mapping
    content: bytes
    status_code: int = 200
    content_type: str = ""
    local: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server answered a conditional GET with 304: nothing new since last time."""
        return self.status_code == 304


@dataclass(frozen=True)
class FeedEntry:
    """One item read from a source, before its page is fetched and cleaned."""

    source: str
    guid: str
    url: str | None
    title: str
    published: datetime | None
    author: str | None = None
    summary_html: str = ""  # the feed's description, usually a teaser
    content_html: str = ""  # the feed's full content, when it carries one
    text: str = ""  # flattened text for TEXT sources


@dataclass(frozen=True)
class SourceResult:
    """What reading one source produced: its entries, or the reason it failed."""

    source: str
    ok: bool
    entries: tuple[FeedEntry, ...] = ()
    error: str | None = None
    status_code: int | None = None
    warning: str | None = None  # a feed that parsed with complaints still delivers entries
    retryable: bool = False  # the failure may pass on a second try (timeout, 5xx)
    retry_after: float | None = None  # seconds the server asked us to wait (429/503)
    not_modified: bool = False  # a conditional GET answered 304: nothing new
    etag: str | None = None
    last_modified: str | None = None
    skipped: bool = False  # not checked this run: its wait after failures is not over


@dataclass(frozen=True)
class Article:
    """A cleaned article: the unit deduplication and claims work on."""

    article_id: str  # stable: derived from the canonical URL, or the GUID when there is none
    source: str
    url: str | None
    canonical_url: str | None
    guid: str
    title: str
    published: datetime | None
    text: str
    author: str | None = None
    extraction: str = ""  # how the text was obtained: feed, page, text, teaser


@dataclass(frozen=True)
class SourceHealth:
    """What the store remembers of a source between runs."""

    name: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_check: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_status: str = "new"  # new, ok, not modified, failed, waiting


@dataclass(frozen=True)
class NewDocument:
    """The parts of a new article that deduplication reads."""

    article_id: str
    title: str
    text: str


@dataclass(frozen=True)
class DedupRecord:
    """What deduplication keeps per article: its signatures and where it landed."""

    article_id: str
    fingerprint: str
    signature: tuple[int, ...]
    terms: dict[str, int]
    story_id: str
    duplicate_of: str | None = None


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store keeps it, with its dedup record."""

    article: Article
    digest_date: date
    first_seen: datetime
    dedup: DedupRecord


@dataclass(frozen=True)
class Claim:
    """One key claim: a sentence taken verbatim from an article, with who made it and when."""

    text: str
    kind: str  # "attributed", "figure" or "lead"
    speaker: str | None = None
    speaker_role: str | None = None
    cue: str | None = None
    claim_date: str | None = None  # as the article gives it, e.g. "April 15"
    score: float = 0.0
    outlets: tuple[str, ...] = ()
    article_id: str = ""
    is_new: bool = False  # first reported by a follow-up or since the story's last digest: shown first, marked new


@dataclass(frozen=True)
class StoryArticle:
    """An article as a story lists it: who carried it, where and when."""

    article_id: str
    source: str
    title: str
    url: str | None
    published: datetime | None
    duplicate_of: str | None = None  # set when this copy repeats another article's text
    is_new: bool = True  # first seen in this digest


@dataclass(frozen=True)
class Story:
    """Articles about one event, with the claims that matter."""

    story_id: str
    title: str
    articles: tuple[StoryArticle, ...]
    claims: tuple[Claim, ...] = ()
    first_seen: datetime | None = None
    latest: datetime | None = None
    is_update: bool = False  # the story was in an earlier digest and gained articles
    highlights: tuple[str, ...] = ()  # watch terms the story matches
    section: str = ""  # the section it is shown under, when the digest has sections
    summary: str = ""  # one line under the title: what the story is about
    notes: tuple[str, ...] = ()  # one-line notes under the story, e.g. where its outlets' figures differ

    @property
    def outlets(self) -> tuple[str, ...]:
        """Distinct outlets that carried the story, in first-seen order."""
        seen: dict[str, None] = {}
        for article in self.articles:
            seen.setdefault(article.source, None)
        return tuple(seen)


@dataclass(frozen=True)
class SourceStatus:
    """How a source fared in a run, for the digest footer."""

    source: str
    ok: bool
    entries: int = 0
    new_articles: int = 0
    error: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class Digest:
    """Everything the templates need to render one day's digest."""

    title: str
    digest_date: date
    generated_at: datetime
    stories: tuple[Story, ...]
    sources: tuple[SourceStatus, ...] = ()
    new_articles: int = 0
    timezone: str = "UTC"
    notes: tuple[str, ...] = field(default=())

    @property
    def new_in_digest(self) -> int:
        """Articles its stories list that were first seen for this date: the same on every re-run of the day."""
        return sum(1 for story in self.stories for article in story.articles if article.is_new)

    @property
    def failed_sources(self) -> tuple[SourceStatus, ...]:
        """Sources that could not be read in this run."""
        return tuple(s for s in self.sources if not s.ok)


@dataclass(frozen=True)
class OutboxRow:
    """One recipient's delivery of one digest."""

    digest_date: date
    recipient: str
    status: str
    attempts: int
    message_id: str
    last_error: str | None = None
    claimed_at: datetime | None = None
    updated_at: datetime | None = None
    sent_at: datetime | None = None
