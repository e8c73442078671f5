"""The archive of written digests: an index page and an Atom feed rebuilt from the digest folder."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from newsdigest.config.checks import http_url
from newsdigest.delivery.files import write_atomic
from newsdigest.digest.formats import ARCHIVE_FORMATS, output_format
from newsdigest.digest.render import SUMMARY_LIMIT, TITLE_LIMIT, clip, default_templates_dir

log = logging.getLogger(__name__)

INDEX_NAME = "index.html"
FEED_NAME = "feed.xml"
FEED_LIMIT = 30  # entries in the Atom feed: the newest digests only
DEFAULT_ARCHIVE_TITLE = "News digests"
_DIGEST_JSON = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the feed's updated time when there is no digest yet
# Characters XML 1.0 does not allow at all, even escaped: a feed title carrying one would break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class ArchiveStory:
    """A story as the archive lists it: its anchor id, its title and its one-line summary."""

    story_id: str
    title: str
    summary: str = ""


@dataclass(frozen=True)
class ArchiveEntry:
    """One digest found in the folder, read from its JSON file."""

    digest_date: date
    title: str
    story_count: int
    updated: datetime  # when the digest was generated (the JSON file's time if it does not say)
    stories: tuple[ArchiveStory, ...]
    files: tuple[str, ...]  # the formats present in the folder, in the formats table's order


def strip_xml_forbidden(value: object) -> str:
    """Text without the control characters that XML forbids, so any title can go into the feed."""
    return _NOT_XML.sub("", str(value))


def _shown(value: object, limit: int) -> str:
    """A digest file's text as the page and the feed show it: XML-safe, one line, within the digest's limit.

    The files may come from an older version or another program, so the limits are applied again here.
    """
    return clip(strip_xml_forbidden(value), limit) if isinstance(value, str) else ""


def _timestamp(value: object, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


def read_entry(path: Path) -> ArchiveEntry | None:
    """The archive entry of one `<date>.json` digest file; None (with a warning) when it cannot be read."""
    match = _DIGEST_JSON.match(path.name)
    if not match:
        return None
    try:
        digest_date = date.fromisoformat(match.group(1))
    except ValueError:
        return None
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        raw_stories = data.get("stories", [])
        if not isinstance(raw_stories, list) or not all(isinstance(story, dict) for story in raw_stories):
            raise ValueError("'stories' is not a list of objects")
        stories = tuple(
            ArchiveStory(
                strip_xml_forbidden(story.get("id", "")),
                _shown(story.get("title"), TITLE_LIMIT),
                _shown(story.get("summary"), SUMMARY_LIMIT),
            )
            for story in raw_stories
        )
        count = data.get("story_count", len(stories))
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"story_count is not a count: {count!r}")
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("archive: skipping %s, not a readable digest: %s", path, exc)
        return None
    title = data.get("title")
    files = tuple(fmt for fmt in ARCHIVE_FORMATS if (path.parent / f"{digest_date.isoformat()}.{fmt}").is_file())
    return ArchiveEntry(
        digest_date=digest_date,
        title=_shown(title, TITLE_LIMIT) if isinstance(title, str) and title.strip() else DEFAULT_ARCHIVE_TITLE,
        story_count=count,
        updated=_timestamp(data.get("generated_at"), modified),
        stories=stories,
        files=files,
    )


def scan_digests(out_dir: Path) -> list[ArchiveEntry]:
    """Every digest in the folder, newest first; other files are ignored and corrupt ones skipped."""
    if not out_dir.is_dir():
        return []
    entries = [entry for path in out_dir.iterdir() if path.is_file() and (entry := read_entry(path)) is not None]
    return sorted(entries, key=lambda entry: entry.digest_date, reverse=True)


def _link(name: str, base_url: str | None) -> str:
    return urljoin(http_url(base_url, trailing_slash=True), name) if base_url else name


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _environment(templates: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True,  # both the HTML page and the XML feed: every value is escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _view(entry: ArchiveEntry, base_url: str | None) -> dict[str, Any]:
    stem = entry.digest_date.isoformat()
    has_html = "html" in entry.files
    page = _link(f"{stem}.{'html' if has_html else 'json'}", base_url)
    return {
        "date": stem,
        "long_date": entry.digest_date.strftime("%A %d %B %Y"),
        "title": entry.title,
        "story_count": entry.story_count,
        "stories_word": "story" if entry.story_count == 1 else "stories",
        "updated": _rfc3339(entry.updated),
        "page": page,
        "page_type": output_format("html" if has_html else "json").media_type,
        "files": [(fmt, _link(f"{stem}.{fmt}", base_url)) for fmt in entry.files],
        "stories": [
            {
                "title": story.title,
                "summary": story.summary,
                "href": f"{page}#story-{quote(story.story_id, safe='')}" if has_html else None,
            }
            for story in entry.stories
        ],
        "entry_id": entry_id(entry.digest_date, base_url),
    }


def entry_id(digest_date: date, base_url: str | None = None) -> str:
    """The Atom id of a day's digest: a tag: URI under the base URL's host (or `newsdigest`) and the date."""
    authority = urlsplit(http_url(base_url, trailing_slash=True)).hostname if base_url else "newsdigest"
    return f"tag:{authority},{digest_date.isoformat()}:digest"


def render_archive(
    entries: list[ArchiveEntry],
    title: str | None = None,
    base_url: str | None = None,
    templates: Path | None = None,
) -> dict[str, str]:
    """The archive page and the Atom feed for these entries (newest first), keyed by file name."""
    env = _environment(templates or default_templates_dir())
    views = [_view(entry, None) for entry in entries]  # the page sits next to the digests: relative links
    heading = (
        clip(strip_xml_forbidden(title), TITLE_LIMIT)
        if title
        else (entries[0].title if entries else DEFAULT_ARCHIVE_TITLE)
    )
    feed_views = [_view(entry, base_url) for entry in entries[:FEED_LIMIT]]
    authority = urlsplit(http_url(base_url, trailing_slash=True)).hostname if base_url else "newsdigest"
    context = {
        "title": heading,
        "entries": views,
        "feed_entries": feed_views,
        "feed_id": f"tag:{authority},2025:digests",
        "feed_updated": _rfc3339(max((entry.updated for entry in entries[:FEED_LIMIT]), default=_EPOCH)),
        "feed_file": FEED_NAME,
        "index_href": _link(INDEX_NAME, base_url),
        "feed_href": _link(FEED_NAME, base_url),
        "absolute": base_url is not None,
        "total_stories": sum(entry.story_count for entry in entries),
    }
    return {
        INDEX_NAME: env.get_template("archive.html.j2").render(**context),
        FEED_NAME: env.get_template("feed.xml.j2").render(**context),
    }


def write_archive(
    out_dir: Path, title: str | None = None, base_url: str | None = None, templates: Path | None = None
) -> dict[str, Path]:
    """Rebuild index.html and feed.xml in the digest folder from the digests in it, atomically."""
    rendered = render_archive(scan_digests(out_dir), title=title, base_url=base_url, templates=templates)
    paths: dict[str, Path] = {}
    for name, text in rendered.items():
        write_atomic(out_dir / name, text)
        paths[name] = out_dir / name
    return paths


def find_digest(out_dir: Path, digest_date: date | None = None, fmt: str = "html") -> Path | None:
    """The digest file of that date in that format, or the newest one when no date is given; None if absent."""
    if digest_date is not None:
        path = out_dir / f"{digest_date.isoformat()}.{fmt}"
        return path if path.is_file() else None
    if not out_dir.is_dir():
        return None
    pattern = re.compile(rf"^(\d{{4}}-\d{{2}}-\d{{2}})\.{re.escape(fmt)}$")
    found: list[tuple[date, Path]] = []
    for path in out_dir.iterdir():
        match = pattern.match(path.name)
        if match and path.is_file():
            try:
                found.append((date.fromisoformat(match.group(1)), path))
            except ValueError:
                continue
    return max(found)[1] if found else None
