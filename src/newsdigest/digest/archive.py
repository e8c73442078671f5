"""The archive of written digests: an index page and an Atom feed rebuilt from the digest folder."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
STORY_LINKS = 3  # article links per story in a feed entry: the first outlets, enough to read on
_URL_LIMIT = 2048  # a longer article URL is left out of the feed rather than carried whole
_PREVIOUS_FEED_LIMIT = 20_000_000  # a feed.xml larger than this is not ours: it is not read back
_ATOM = "{http://www.w3.org/2005/Atom}"
_DNS_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
# Characters XML 1.0 does not allow at all, even escaped: a feed title carrying one would break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class ArchiveStory:
    """A story as the archive lists it: its anchor id, its title and its one-line summary."""

    story_id: str
    title: str
    summary: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (outlet, article URL) of its first articles with a web address


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


def _article_links(articles: object) -> tuple[tuple[str, str], ...]:
    """(outlet, URL) of a story's first articles whose URL is a plain web address, one per outlet."""
    if not isinstance(articles, list):
        return ()
    links: dict[str, str] = {}
    for article in articles:
        if len(links) >= STORY_LINKS:
            break
        url, source = (article.get("url"), article.get("source")) if isinstance(article, dict) else (None, None)
        if not isinstance(url, str) or len(url) > _URL_LIMIT or _NOT_XML.search(url) or any(c.isspace() for c in url):
            continue
        try:
            parts = urlsplit(url)
        except ValueError:  # "http://[::1" and the like: not a link a reader could follow
            continue
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            continue
        links.setdefault(_shown(source, TITLE_LIMIT) or parts.netloc, url)
    return tuple(links.items())


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
                _article_links(story.get("articles")),
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


def story_days(entries: Sequence[ArchiveEntry]) -> dict[str, list[ArchiveEntry]]:
    """Each story id with the digests that carry it, oldest first: a continuing story's days, to link together."""
    days: dict[str, list[ArchiveEntry]] = {}
    for entry in sorted(entries, key=lambda item: item.digest_date):
        for story in entry.stories:
            days.setdefault(story.story_id, []).append(entry)
    return days


def _story_href(entry: ArchiveEntry, story_id: str, base_url: str | None) -> str | None:
    if "html" not in entry.files:
        return None
    return f"{_link(f'{entry.digest_date.isoformat()}.html', base_url)}#story-{quote(story_id, safe='')}"


def _view(
    entry: ArchiveEntry, base_url: str | None, days: Mapping[str, list[ArchiveEntry]] | None = None
) -> dict[str, Any]:
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
                "links": [{"outlet": outlet, "url": url} for outlet, url in story.links],
                # The story's other days in the archive (a continuing story keeps its id): date and anchor.
                "days": [
                    {"date": other.digest_date.isoformat(), "href": _story_href(other, story.story_id, base_url)}
                    for other in (days or {}).get(story.story_id, [])
                    if other.digest_date != entry.digest_date
                ],
            }
            for story in entry.stories
        ],
        "entry_id": entry_id(entry.digest_date, base_url),
    }


def _tag_authority(base_url: str | None) -> str:
    """The authority of the feed's tag: URIs: the base URL's host when it is a DNS name, else `newsdigest`."""
    host = urlsplit(http_url(base_url, trailing_slash=True)).hostname if base_url else None
    # A tag: URI's authority is a domain name (RFC 4151): an IP literal such as [::1] would break the id.
    return host if host and _DNS_NAME.fullmatch(host) and not host.replace(".", "").isdigit() else "newsdigest"


def entry_id(digest_date: date, base_url: str | None = None) -> str:
    """The Atom id of a day's digest: a tag: URI under the base URL's host (or `newsdigest`) and the date."""
    authority = _tag_authority(base_url)
    return f"tag:{authority},{digest_date.isoformat()}:digest"


def entry_fingerprint(element: ET.Element) -> str:
    """A hash of a feed entry's content: every child but <updated>, so a rebuild can tell whether it changed."""
    parts = [
        [child.tag, sorted(child.attrib.items()), (child.text or "").strip()]
        for child in element
        if child.tag != f"{_ATOM}updated"
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _feed_entries(feed_xml: str | bytes) -> dict[str, tuple[str, datetime | None]]:
    """Entry id -> (fingerprint, updated time) of an Atom document; empty when it is not one we can read."""
    try:
        root = ET.fromstring(feed_xml)
    except ET.ParseError:
        return {}
    found: dict[str, tuple[str, datetime | None]] = {}
    for element in root.iter(f"{_ATOM}entry"):
        entry_id = (element.findtext(f"{_ATOM}id") or "").strip()
        updated = _timestamp((element.findtext(f"{_ATOM}updated") or "").strip(), _EPOCH)
        if entry_id:
            found[entry_id] = (entry_fingerprint(element), updated if updated != _EPOCH else None)
    return found


def read_feed_times(path: Path) -> dict[str, tuple[str, datetime | None]]:
    """Entry id -> (content fingerprint, updated time) of the feed.xml already written; empty if none or unreadable."""
    try:
        if path.stat().st_size > _PREVIOUS_FEED_LIMIT:
            return {}
        return _feed_entries(path.read_bytes())
    except OSError:
        return {}


def render_archive(
    entries: list[ArchiveEntry],
    title: str | None = None,
    base_url: str | None = None,
    templates: Path | None = None,
    previous: Mapping[str, tuple[str, datetime | None]] | None = None,
) -> dict[str, str]:
    """The archive page and the Atom feed for these entries (newest first), keyed by file name.

    `previous` (read_feed_times of the last feed) keeps an entry's <updated> where its content is
    unchanged: re-running a day that gives the same digest leaves the feed byte for byte as it was.
    """
    env = _environment(templates or default_templates_dir())
    days = story_days(entries)
    views = [_view(entry, None, days) for entry in entries]  # the page sits next to the digests: relative links
    heading = (
        clip(strip_xml_forbidden(title), TITLE_LIMIT)
        if title
        else (entries[0].title if entries else DEFAULT_ARCHIVE_TITLE)
    )
    authority = _tag_authority(base_url)
    context = {
        "title": heading,
        "entries": views,
        "feed_id": f"tag:{authority},2025:digests",
        "feed_file": FEED_NAME,
        "index_href": _link(INDEX_NAME, base_url),
        "feed_href": _link(FEED_NAME, base_url),
        "total_stories": sum(entry.story_count for entry in entries),
    }
    feed_template = env.get_template("feed.xml.j2")

    def feed(shown: list[ArchiveEntry]) -> str:
        return feed_template.render(
            **context,
            feed_entries=[_view(entry, base_url) for entry in shown],
            feed_updated=_rfc3339(max((entry.updated for entry in shown), default=_EPOCH)),
        )

    shown = entries[:FEED_LIMIT]
    feed_xml = feed(shown)
    if previous:
        # The generated time changes on every re-run; what a reader cares about is whether the entry did.
        now_seen = _feed_entries(feed_xml)
        kept = []
        for entry in shown:
            key = entry_id(entry.digest_date, base_url)
            old_print, old_time = previous.get(key, ("", None))
            same = old_time is not None and now_seen.get(key, ("", None))[0] == old_print
            kept.append(replace(entry, updated=old_time) if same and old_time is not None else entry)
        if kept != shown:
            feed_xml = feed(kept)
    return {
        INDEX_NAME: env.get_template("archive.html.j2").render(**context),
        FEED_NAME: feed_xml,
    }


def write_archive(
    out_dir: Path, title: str | None = None, base_url: str | None = None, templates: Path | None = None
) -> dict[str, Path]:
    """Rebuild index.html and feed.xml in the digest folder from the digests in it, atomically."""
    previous = read_feed_times(out_dir / FEED_NAME)
    rendered = render_archive(
        scan_digests(out_dir), title=title, base_url=base_url, templates=templates, previous=previous
    )
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
