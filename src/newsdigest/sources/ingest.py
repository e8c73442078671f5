"""Ingest: read a source into entries, pick the new ones, and turn each into a clean Article."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from newsdigest.cleaning.boilerplate import MemoryBank, source_key
from newsdigest.cleaning.extract import clean_page
from newsdigest.cleaning.flat import clean_feed_html, clean_text, word_count
from newsdigest.errors import FeedError, FetchError
from newsdigest.models import Article, FeedEntry, Source, SourceKind, SourceResult
from newsdigest.sources.feeds import parse_feed, read_text_folder
from newsdigest.sources.fetch import Fetched, Fetcher, Validators, redact_url
from newsdigest.stories.dedup import article_key, canonical_url

# Feed content shorter than this is a teaser: the page is fetched for the full text.
FULL_TEXT_MIN_WORDS = 120
PAGE_MIN_WORDS = 40
# Pages of one batch fetched at the same time (the per-host gate still applies).
PAGE_FETCH_THREADS = 8


def read_source(source: Source, fetcher: Fetcher, validators: Validators | None = None) -> SourceResult:
    """Fetch and parse one source; any failure becomes a failed SourceResult with its reason.

    With validators from the last run, a feed that has not changed costs one small request.
    """
    try:
        if source.kind is SourceKind.TEXT:
            entries = read_text_folder(source.location, source.name)
            return SourceResult(source=source.name, ok=True, entries=tuple(entries))
        fetched = fetcher.fetch(source.location, validators=validators)
        if fetched.not_modified:
            return SourceResult(
                source=source.name,
                ok=True,
                status_code=304,
                not_modified=True,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
            )
        entries, warning = parse_feed(fetched, source.name)
        return SourceResult(
            source=source.name,
            ok=True,
            entries=tuple(entries),
            status_code=fetched.status_code,
            warning=warning,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )
    except FetchError as exc:
        return SourceResult(
            source=source.name, ok=False, error=str(exc), retryable=exc.retryable, retry_after=exc.retry_after
        )
    except FeedError as exc:
        return SourceResult(source=source.name, ok=False, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad source must never end the run
        return SourceResult(source=source.name, ok=False, error=f"unexpected {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class Window:
    """The time span a digest covers."""

    start: datetime
    end: datetime

    def admits(self, published: datetime | None) -> bool:
        """Whether an entry published then belongs in the digest (undated entries do: first seen now)."""
        return published is None or self.start <= published <= self.end + timedelta(hours=1)


def select_new_entries(
    entries: Iterable[FeedEntry], window: Window, seen_urls: set[str], seen_guids: set[str]
) -> list[FeedEntry]:
    """Entries inside the window that neither the store nor an earlier entry of this batch has."""
    chosen: list[FeedEntry] = []
    batch_urls: set[str] = set()
    batch_guids: set[str] = set()
    for entry in sorted(entries, key=_entry_order):
        url = canonical_url(entry.url)
        if not window.admits(entry.published):
            continue
        if entry.guid in seen_guids or entry.guid in batch_guids:
            continue
        if url is not None and (url in seen_urls or url in batch_urls):
            continue
        chosen.append(entry)
        batch_guids.add(entry.guid)
        if url is not None:
            batch_urls.add(url)
    return chosen


def _entry_order(entry: FeedEntry) -> tuple[str, str, str]:
    # Earliest first, so the original of a syndicated story is kept ahead of its copies.
    stamp = entry.published.isoformat() if entry.published else "9999"
    return (stamp, entry.source, entry.guid)


class PageSource(Protocol):
    """Whatever hands build_article a page: a Fetcher, or a batch's pages fetched ahead."""

    def fetch(self, location: str, *, from_feed: bool = False) -> Fetched: ...


class PrefetchedPages:
    """A batch's article pages fetched at once on a few threads, handed out as build_article asks.

    Cleaning is CPU work and fetching is waiting: fetching the batch's pages together lets the
    waits overlap even where a task runner gives a batch one thread (a Dask worker process).
    The fetcher's per-host gate still spaces the requests to each host.
    """

    def __init__(self, fetcher: Fetcher, urls: Sequence[str], threads: int = PAGE_FETCH_THREADS) -> None:
        self.fetcher = fetcher
        self.pages: dict[str, Fetched | FetchError] = {}
        unique = list(dict.fromkeys(urls))
        if unique:
            with ThreadPoolExecutor(min(threads, len(unique))) as pool:
                self.pages = dict(zip(unique, pool.map(self._attempt, unique), strict=True))

    def _attempt(self, url: str) -> Fetched | FetchError:
        try:
            return self.fetcher.fetch(url, from_feed=True)
        except FetchError as exc:
            return exc

    def fetch(self, location: str, *, from_feed: bool = False) -> Fetched:
        """The page fetched ahead for this URL (or its error, raised); any other URL is fetched now."""
        page = self.pages.get(location) if from_feed else None
        if page is None:
            return self.fetcher.fetch(location, from_feed=from_feed)
        if isinstance(page, FetchError):
            raise page
        return page


def _needs_page(entry: FeedEntry, fetch_pages: bool) -> bool:
    """Whether build_article will want the entry's page: a feed item with no more than a teaser."""
    if entry.text or not entry.url or not fetch_pages:
        return False
    return word_count(clean_feed_html(entry.content_html)) < FULL_TEXT_MIN_WORDS


def build_article(
    entry: FeedEntry, fetcher: PageSource, fetch_pages: bool = True, memories: MemoryBank | None = None
) -> tuple[Article, str | None]:
    """The clean Article for an entry, and a warning when only a teaser could be had.

    With memories, each source's recurring lines are removed and this entry's lines learned.
    """
    warning = None
    source_memory = memories.for_source(entry.source) if memories else None
    if entry.text:
        text, how = clean_text(entry.text, source_memory), "text"
    else:
        text, how = clean_feed_html(entry.content_html, source_memory), "feed"
        if word_count(text) < FULL_TEXT_MIN_WORDS and entry.url and fetch_pages:
            try:
                fetched = fetcher.fetch(entry.url, from_feed=True)
                site_memory = memories.for_source(source_key(entry.url, entry.source)) if memories else None
                page_text = clean_page(fetched.content, url=entry.url, memory=site_memory)
                if word_count(page_text) >= max(PAGE_MIN_WORDS, word_count(text)):
                    text, how = page_text, "page"
            except FetchError as exc:
                warning = f"page {redact_url(entry.url)}: {exc}"
        if word_count(text) < PAGE_MIN_WORDS:
            teaser = clean_feed_html(entry.summary_html)
            if word_count(teaser) > word_count(text):
                text, how = teaser, "teaser"
    canonical = canonical_url(entry.url)
    article = Article(
        article_id=article_key(canonical, entry.guid),
        source=entry.source,
        url=entry.url,
        canonical_url=canonical,
        guid=entry.guid,
        title=entry.title,
        published=entry.published,
        text=text,
        author=entry.author,
        extraction=how,
    )
    return article, warning


def build_articles(
    entries: Sequence[FeedEntry], fetcher: Fetcher, page_sources: set[str], memories: MemoryBank | None = None
) -> tuple[list[Article], list[str]]:
    """Articles for a batch of entries, and the warnings met on the way."""
    articles: list[Article] = []
    warnings: list[str] = []
    pages = PrefetchedPages(fetcher, [e.url for e in entries if e.url and _needs_page(e, e.source in page_sources)])
    for entry in entries:
        article, warning = build_article(entry, pages, entry.source in page_sources, memories)
        articles.append(article)
        if warning:
            warnings.append(warning)
    return articles, warnings


def resolve_digest_date(pinned: date | None, timezone: str, now: datetime) -> date:
    """The digest's date: the pinned one, or today in the configured time zone."""
    return pinned or now.astimezone(ZoneInfo(timezone)).date()


def digest_window(
    digest_date: date, timezone: str, window_hours: int, now: datetime, since: datetime | None = None
) -> Window:
    """The span a digest covers: `window_hours` (or since the last digest) up to now or the date's end."""
    zone = ZoneInfo(timezone)
    day_end = datetime.combine(digest_date + timedelta(days=1), time.min, tzinfo=zone)
    end = min(now, day_end).astimezone(UTC)
    start = since.astimezone(UTC) if since is not None and since < end else end - timedelta(hours=window_hours)
    return Window(start=start, end=end)
