"""The digest's date and time window, and which of the entries read are new in it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsdigest.models import FeedEntry
from newsdigest.stories.urls import canonical_url


@dataclass(frozen=True)
class Window:
    """The time span a digest covers."""

    start: datetime
    end: datetime

    def admits(self, published: datetime | None) -> bool:
        """Whether an entry published then belongs in the digest (undated entries do: first seen now)."""
        return published is None or self.start <= published <= self.end + timedelta(hours=1)


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
