"""Articles from entries: the clean text of each entry (feed content, the fetched page or the teaser).

The pages a batch needs are fetched together first (PrefetchedPages), then each entry is cleaned.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeGuard

from newsdigest.cleaning.boilerplate import MemoryBank, source_key
from newsdigest.cleaning.extract import clean_page
from newsdigest.cleaning.flat import clean_feed_html, clean_text, word_count
from newsdigest.errors import FetchError
from newsdigest.models import Article, FeedEntry, Fetched
from newsdigest.sources.fetch import Fetcher, redact_url
from newsdigest.stories.urls import article_key, canonical_url

# Feed content shorter than this is a teaser: the page is fetched for the full text.
FULL_TEXT_MIN_WORDS = 120
PAGE_MIN_WORDS = 40
# Pages of one batch fetched at the same time (the per-host gate still applies).
PAGE_FETCH_THREADS = 8


class PageSource(Protocol):
    """Whatever hands build_article a page: a Fetcher, or a batch's pages fetched ahead."""

    def fetch(self, location: str, *, from_feed: bool = False) -> Fetched: ...


class RobotsPageSource(PageSource, Protocol):
    """A page source that can also be told to ask each site's robots.txt first (a Fetcher)."""

    def fetch(self, location: str, *, from_feed: bool = False, robots: bool = False) -> Fetched: ...


class PrefetchedPages:
    """A batch's article pages fetched at once on a few threads, handed out as build_article asks.

    Cleaning is CPU work and fetching is waiting: fetching the batch's pages together lets the
    waits overlap even where a task runner gives a batch one thread (a Dask worker process).
    The fetcher's per-host gate still spaces the requests to each host.
    """

    def __init__(
        self,
        fetcher: PageSource | RobotsPageSource,
        urls: Sequence[str],
        threads: int = PAGE_FETCH_THREADS,
        robots_exempt: Collection[str] = frozenset(),
    ) -> None:
        self.fetcher = fetcher
        # Pages fetched without asking robots.txt: those of sources configured with respect_robots = false.
        self.robots_exempt = robots_exempt
        self.pages: dict[str, Fetched | FetchError] = {}
        unique = list(dict.fromkeys(urls))
        if unique:
            with ThreadPoolExecutor(min(threads, len(unique))) as pool:
                self.pages = dict(zip(unique, pool.map(self._attempt, unique), strict=True))

    def _attempt(self, url: str) -> Fetched | FetchError:
        try:
            if url in self.robots_exempt or not _asks_robots(self.fetcher):
                return self.fetcher.fetch(url, from_feed=True)
            return self.fetcher.fetch(url, from_feed=True, robots=True)
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


def _asks_robots(fetcher: PageSource | RobotsPageSource) -> TypeGuard[RobotsPageSource]:
    """Whether the page source can check robots.txt (a Fetcher can; a test's stand-in may not)."""
    return isinstance(fetcher, Fetcher)


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
        page_text = ""
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
        # A brief of one or two sentences is still the article when the feed gives less.
        if word_count(text) < PAGE_MIN_WORDS and word_count(page_text) > word_count(text):
            text, how = page_text, "page"
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
    entries: Sequence[FeedEntry],
    fetcher: PageSource | RobotsPageSource,
    page_sources: set[str],
    memories: MemoryBank | None = None,
    robots_exempt: Collection[str] = frozenset(),
) -> tuple[list[Article], list[str]]:
    """Articles for a batch of entries, and the warnings met on the way.

    Article pages are fetched only where the site's robots.txt allows, except for the sources
    named in `robots_exempt`; a refused page leaves the entry with the feed's own text.
    """
    articles: list[Article] = []
    warnings: list[str] = []
    wanted = [e for e in entries if e.url and _needs_page(e, e.source in page_sources)]
    exempt_urls = {e.url for e in wanted if e.url and e.source in robots_exempt}
    pages = PrefetchedPages(fetcher, [e.url for e in wanted if e.url], robots_exempt=exempt_urls)
    for entry in entries:
        article, warning = build_article(entry, pages, entry.source in page_sources, memories)
        articles.append(article)
        if warning:
            warnings.append(warning)
    return articles, warnings
