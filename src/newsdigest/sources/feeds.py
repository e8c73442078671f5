"""Feeds: RSS, Atom and JSON Feed documents into FeedEntry records, and the reader of a feed source."""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import charset_normalizer
import feedparser

from newsdigest.errors import FeedError
from newsdigest.models import FeedEntry, Fetched, Source, SourceResult, Validators
from newsdigest.sources.fetch import Fetcher

_DECLARED_CHARSET = re.compile(rb"<\?xml[^>]*encoding=[\"']([\w.:-]+)[\"']", re.IGNORECASE)
_DECLARED_CHARSET_TEXT = re.compile(r"(?<=<\?xml)([^>]*?)encoding=[\"'][\w.:-]+[\"']", re.IGNORECASE)
_NON_ASCII_RUNS = re.compile(rb"[\x80-\xff]+(?:[ -~]{0,3}[\x80-\xff]+)*")
_HEADER_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
# An entry dated further ahead than this is treated as undated (first seen now).
FUTURE_TOLERANCE = timedelta(days=1)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.IGNORECASE | re.DOTALL)


def read_feed(source: Source, fetcher: Fetcher, validators: Validators | None = None) -> SourceResult:
    """Fetch and parse a feed source; with validators from the last run, an unchanged feed costs one small request."""
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


def parse_feed(fetched: Fetched, source: str) -> tuple[list[FeedEntry], str | None]:
    """Entries of a feed document and a warning, if it parsed with complaints; FeedError if it is no feed."""
    content = fetched.content
    if not content.strip():
        raise FeedError("empty document")
    if _looks_like_json(content, fetched.content_type):
        return _parse_json_feed(content, source), None
    if _HTML_START.match(content[:2048]):
        raise FeedError("an HTML page, not a feed")
    content, content_type = _as_utf8(content, fetched.content_type)
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(content, response_headers=headers)
    version = parsed.get("version", "")
    # An item with neither a link nor any text is debris of a broken document, not an entry.
    entries = [
        entry
        for entry in (_entry_from_feedparser(item, source) for item in parsed.entries)
        if entry.url or entry.summary_html.strip() or entry.content_html.strip()
    ]
    if parsed.get("bozo"):
        reason = _bozo_reason(parsed.get("bozo_exception"))
        if "amplification" in reason or ("entity" in reason.lower() and "expan" in reason.lower()):
            # What a loose parse recovers from an entity-expansion bomb is the bomb, not news.
            raise FeedError(f"not a readable feed: refused XML entity expansion ({reason})")
        # feedparser's loose parser often recovers entries from a malformed feed; keep them.
        if not entries:
            raise FeedError(f"not a readable feed: {reason}")
        return entries, f"malformed feed, {len(entries)} entries recovered: {reason}"
    if not version and not entries:
        raise FeedError("not a feed: no RSS, Atom or JSON Feed structure found")
    return entries, None


def _bozo_reason(exc: object) -> str:
    text = str(exc or "unknown parse error").strip().splitlines()[0]
    return text[:200]


def _looks_like_json(content: bytes, content_type: str) -> bool:
    if "json" in content_type.lower():
        return True
    return content.lstrip()[:1] == b"{"


def _as_utf8(content: bytes, content_type: str) -> tuple[bytes, str]:
    """Feed bytes that do not decode as their declared UTF-8 (or as anything declared): detect and convert.

    Servers often send a Windows-1251 or Latin-1 file under a UTF-8 declaration; feedparser
    would fall back to Windows-1252 and garble every non-ASCII letter.
    """
    in_document = _DECLARED_CHARSET.search(content[:200])
    in_header = _HEADER_CHARSET.search(content_type)
    declared_name = (
        in_document.group(1).decode("ascii", "replace") if in_document else in_header.group(1) if in_header else None
    )
    if declared_name and declared_name.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return content, content_type  # a non-UTF-8 declaration: feedparser honours it
    try:
        content.decode("utf-8")
        return content, content_type
    except UnicodeDecodeError:
        pass
    guess = _guess_encoding(content[:200_000])
    if guess is None:
        return content, content_type
    text = content.decode(guess, errors="replace")
    text = _DECLARED_CHARSET_TEXT.sub(r'\1encoding="utf-8"', text, count=1)
    media_type = content_type.split(";", 1)[0].strip()
    return text.encode("utf-8"), f"{media_type or 'application/xml'}; charset=utf-8"


def _guess_encoding(sample: bytes) -> str | None:
    """The likelier legacy encoding of bytes that are not UTF-8.

    A feed is mostly ASCII markup around a few non-ASCII words, which is too little signal for
    a detector; the runs of non-ASCII bytes alone are tried as well, and the less chaotic of
    the two guesses wins.
    """
    guesses = [charset_normalizer.from_bytes(sample).best()]
    runs = b" ".join(_NON_ASCII_RUNS.findall(sample))
    if runs:
        guesses.append(charset_normalizer.from_bytes(runs).best())
    found = [guess for guess in guesses if guess is not None and guess.encoding]
    return min(found, key=lambda guess: guess.chaos).encoding if found else None


def _to_datetime(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return _plausible(datetime.fromtimestamp(calendar.timegm(struct), tz=UTC))
    except (OverflowError, ValueError, TypeError):
        return None


def _plausible(published: datetime | None) -> datetime | None:
    """A publication date, or None when it lies in the future: a wrong clock, not news from tomorrow."""
    if published is not None and published > datetime.now(UTC) + FUTURE_TOLERANCE:
        return None
    return published


def _stable_guid(*parts: str | None) -> str:
    digest = hashlib.sha1("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()
    return f"urn:sha1:{digest}"


def web_link(link: Any) -> str | None:
    """An entry's link if it is http(s); a file:, javascript: or data: link is no link at all."""
    if not isinstance(link, str) or not link.strip():
        return None
    return link.strip() if link.strip().lower().startswith(("http://", "https://")) else None


def _entry_from_feedparser(item: Any, source: str) -> FeedEntry:
    link = web_link(item.get("link"))
    title = (item.get("title") or "").strip()
    summary = item.get("summary") or ""
    content = ""
    for block in item.get("content") or []:
        value = block.get("value") or ""
        if len(value) > len(content):
            content = value
    if content.strip() == summary.strip():
        # feedparser copies <description> into content for some RSS variants; it is still a teaser.
        content = "" if len(summary) < 600 else content
    guid = item.get("id") or link or _stable_guid(source, title, summary)
    return FeedEntry(
        source=source,
        guid=str(guid),
        url=link,
        title=title or "(untitled)",
        published=_to_datetime(item.get("published_parsed") or item.get("updated_parsed")),
        author=item.get("author") or None,
        summary_html=summary,
        content_html=content,
    )


def parse_iso_date(value: Any) -> datetime | None:
    """An ISO 8601 date (UTC when it names no zone), or None when it is absent, unreadable or in the future."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _plausible(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _parse_json_feed(content: bytes, source: str) -> list[FeedEntry]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed has no 'items' list")
    entries: list[FeedEntry] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        url = web_link(item.get("url"))
        title = str(item.get("title") or "").strip()
        summary = str(item.get("summary") or "")
        content_html = str(item.get("content_html") or "")
        if not content_html and item.get("content_text"):
            content_html = "".join(f"<p>{_escape(p)}</p>" for p in str(item["content_text"]).split("\n\n"))
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = ", ".join(str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")) or None
        guid = str(item.get("id") or url or _stable_guid(source, title, summary))
        entries.append(
            FeedEntry(
                source=source,
                guid=guid,
                url=url,
                title=title or "(untitled)",
                published=parse_iso_date(item.get("date_published") or item.get("date_modified")),
                author=author,
                summary_html=summary,
                content_html=content_html,
            )
        )
    return entries


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
