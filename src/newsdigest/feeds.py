"""Feeds: RSS, Atom and JSON Feed documents (and folders of flat text) into FeedEntry records."""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from newsdigest.errors import FeedError
from newsdigest.fetch import Fetched
from newsdigest.models import FeedEntry

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.IGNORECASE | re.DOTALL)


def parse_feed(fetched: Fetched, source: str) -> tuple[list[FeedEntry], str | None]:
    """Entries of a feed document and a warning, if it parsed with complaints; FeedError if it is no feed."""
    content = fetched.content
    if not content.strip():
        raise FeedError("empty document")
    if _looks_like_json(content, fetched.content_type):
        return _parse_json_feed(content, source), None
    if _HTML_START.match(content[:2048]):
        raise FeedError("an HTML page, not a feed")
    headers = {"content-type": fetched.content_type} if fetched.content_type else {}
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


def _to_datetime(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _stable_guid(*parts: str | None) -> str:
    digest = hashlib.sha1("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()
    return f"urn:sha1:{digest}"


def _entry_from_feedparser(item: Any, source: str) -> FeedEntry:
    link = item.get("link") or None
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


def _parse_json_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
        url = item.get("url") if isinstance(item.get("url"), str) else None
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
                published=_parse_json_date(item.get("date_published") or item.get("date_modified")),
                author=author,
                summary_html=summary,
                content_html=content_html,
            )
        )
    return entries


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def read_text_folder(location: str, source: str) -> list[FeedEntry]:
    """Entries from a folder (or one file) of flattened article text, with optional JSON sidecars."""
    root = Path(location)
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix == ".txt" and p.is_file())
    elif root.is_file():
        files = [root]
    else:
        raise FeedError(f"no such file or folder: {root}")
    entries: list[FeedEntry] = []
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        meta = _read_sidecar(path.with_suffix(".json"))
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), path.stem)
        title = str(meta.get("title") or _headline_from(first_line))
        entries.append(
            FeedEntry(
                source=str(meta.get("source") or source),
                guid=str(meta.get("id") or f"text:{path.name}:{hashlib.sha1(raw).hexdigest()[:16]}"),
                url=meta.get("url") if isinstance(meta.get("url"), str) else None,
                title=title,
                published=_parse_json_date(meta.get("published")),
                author=meta.get("author") if isinstance(meta.get("author"), str) else None,
                text=text,
            )
        )
    return entries


def _read_sidecar(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"unreadable metadata file {path.name}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _headline_from(line: str, max_words: int = 14) -> str:
    words = line.split()
    return " ".join(words[:max_words]) + ("..." if len(words) > max_words else "")
