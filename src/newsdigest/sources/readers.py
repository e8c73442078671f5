"""Reading a source: the table from a source kind to its reader, and the one entry point that uses it.

A reader turns a configured Source into a SourceResult, and may raise FetchError or FeedError:
read_source turns any failure into a failed result, so one bad source never ends a run. It is also
the boundary where a source's text enters the run: every entry of every kind is made safe here
(newsdigest.text.safe: no control, bidi or zero-width characters, entries capped in size and
paragraphs), so the stores and every output format see the same clean text.
Adding a kind is the enum value in models.SourceKind, a module with its reader, and a row here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from newsdigest.errors import FeedError, FetchError
from newsdigest.models import FeedEntry, Source, SourceKind, SourceResult, Validators
from newsdigest.sources.feeds import read_feed
from newsdigest.sources.fetch import Fetcher
from newsdigest.sources.textdir import read_text_source
from newsdigest.text.safe import (
    MAX_ENTRIES_PER_SOURCE,
    MAX_NAME_CHARS,
    cap_html,
    cap_text,
    safe_html,
    safe_line,
    safe_text,
)

# Longer than this, a guid or a link is replaced (a guid) or dropped (a link): PostgreSQL cannot index
# a value of several kilobytes, and no real identifier or article address is that long.
MAX_GUID_CHARS = 200
MAX_URL_CHARS = 2_000
MAX_REASON_CHARS = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Reader = Callable[[Source, Fetcher, Validators | None], SourceResult]

READERS: dict[SourceKind, Reader] = {
    SourceKind.FEED: read_feed,
    SourceKind.TEXT: read_text_source,
}


def read_source(source: Source, fetcher: Fetcher, validators: Validators | None = None) -> SourceResult:
    """Read one source with its kind's reader; any failure becomes a failed SourceResult with its reason."""
    try:
        result = READERS[source.kind](source, fetcher, validators)
    except FetchError as exc:
        return SourceResult(
            source=source.name, ok=False, error=_reason(str(exc)), retryable=exc.retryable, retry_after=exc.retry_after
        )
    except FeedError as exc:
        return SourceResult(source=source.name, ok=False, error=_reason(str(exc)))
    except Exception as exc:  # noqa: BLE001 - one bad source must never end the run
        return SourceResult(source=source.name, ok=False, error=_reason(f"unexpected {type(exc).__name__}: {exc}"))
    entries, warning = result.entries, result.warning
    if len(entries) > MAX_ENTRIES_PER_SOURCE:
        entries = _newest(entries, MAX_ENTRIES_PER_SOURCE)
        cut = f"{len(result.entries)} entries, only the newest {len(entries)} read"
        warning = f"{warning}; {cut}" if warning else cut
    return replace(
        result,
        entries=tuple(safe_entry(entry) for entry in entries),
        warning=_reason(warning) if warning is not None else None,
    )


def _newest(entries: tuple[FeedEntry, ...], keep: int) -> tuple[FeedEntry, ...]:
    """The `keep` newest entries, in the source's order; an undated entry counts as new (the window sees it now)."""
    order = sorted(
        range(len(entries)),
        key=lambda i: (entries[i].published is None, entries[i].published or _EPOCH),
        reverse=True,
    )
    kept = set(order[:keep])
    return tuple(entry for i, entry in enumerate(entries) if i in kept)


def _reason(text: str) -> str:
    """A failure's reason, which may quote the document: one safe line."""
    return safe_line(text, MAX_REASON_CHARS)


def safe_entry(entry: FeedEntry) -> FeedEntry:
    """The entry with every text field made safe and its HTML and text cut at the entry caps."""
    guid = entry.guid
    if len(guid) > MAX_GUID_CHARS or not guid.strip() or safe_text(guid) != guid:
        # A guid that would have to change is replaced by a hash of what was sent: stable from run
        # to run, and two guids that differ only in dropped characters stay two.
        guid = "urn:sha1:" + hashlib.sha1(guid.encode("utf-8", "surrogatepass")).hexdigest()
    url = None
    if entry.url is not None and len(entry.url) <= MAX_URL_CHARS:
        url = safe_line(entry.url, MAX_URL_CHARS).replace(" ", "%20") or None
    author = safe_line(entry.author, MAX_NAME_CHARS) if entry.author else None
    return replace(
        entry,
        source=safe_line(entry.source, MAX_NAME_CHARS) or "(unnamed)",
        guid=guid,
        url=url,
        title=safe_line(entry.title) or "(untitled)",
        author=author or None,
        summary_html=_safe_capped_html(entry.summary_html),
        content_html=_safe_capped_html(entry.content_html),
        text=_safe_capped_text(entry.text),
    )


def _safe_capped_html(html: str) -> str:
    # Capped before cleaning so a 50 MB field costs no more than a capped one, and after it in case
    # a dropped character joined a new tag.
    return cap_html(safe_html(cap_html(html)[0]))[0]


def _safe_capped_text(text: str) -> str:
    return cap_text(safe_text(cap_text(text)[0]))[0]
