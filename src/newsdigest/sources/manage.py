"""Managing the configured sources: add, remove, OPML import and export, feed discovery.

The configuration file is edited as text, so that its comments and layout survive: a source
is appended as a new ``[[sources]]`` table, or its table is cut out. Every edit is checked by
loading the result before it replaces the file (atomically).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin
from xml.sax.saxutils import quoteattr

from lxml import etree, html  # type: ignore[import-untyped]  # lxml ships no type information

from newsdigest.config.load import load_config
from newsdigest.config.records import Config
from newsdigest.delivery.files import write_atomic
from newsdigest.errors import ConfigError, FeedError
from newsdigest.models import Source, SourceKind
from newsdigest.sources.feeds import parse_feed
from newsdigest.sources.fetch import Fetcher

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")
_TABLE_HEADER = re.compile(r"^\s*\[")


@dataclass(frozen=True)
class NewSource:
    """A source to add: its name, feed URL and optional category."""

    name: str
    url: str
    category: str | None = None


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these)."""
    return json.dumps(value, ensure_ascii=False)


def _source_block(source: NewSource) -> str:
    lines = ["[[sources]]", f"name = {_toml_string(source.name)}", f"url = {_toml_string(source.url)}"]
    if source.category:
        lines.append(f"category = {_toml_string(source.category)}")
    return "\n".join(lines) + "\n"


def _write_checked(config_path: Path, text: str) -> Config:
    """Validate the new text as a configuration, then replace the file with it."""
    probe = config_path.with_name(f".{config_path.name}.check")
    try:
        probe.write_text(text, encoding="utf-8")
        config = load_config(probe)
    finally:
        probe.unlink(missing_ok=True)
    write_atomic(config_path, text)
    return config


def add_sources(config_path: Path, new: list[NewSource]) -> list[NewSource]:
    """Append sources whose name and URL are not configured yet; returns those added."""
    config = load_config(config_path)
    names = {source.name for source in config.sources}
    urls = {source.location for source in config.sources}
    added = []
    for source in new:
        if source.name in names or source.url in urls:
            continue
        names.add(source.name)
        urls.add(source.url)
        added.append(source)
    if added:
        text = config_path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join("\n" + _source_block(source) for source in added)
        _write_checked(config_path, text)
    return added


def _source_tables(lines: list[str]) -> list[tuple[int, int]]:
    """(first line, end line) of every [[sources]] table in the file's lines."""
    spans = []
    for index, line in enumerate(lines):
        if line.strip().replace(" ", "") == "[[sources]]":
            end = index + 1
            while end < len(lines) and not _TABLE_HEADER.match(lines[end]):
                end += 1
            spans.append((index, end))
    return spans


def remove_source(config_path: Path, name_or_url: str) -> str:
    """Cut the source with this name or URL out of the file; returns its name. ConfigError if absent."""
    lines = config_path.read_text(encoding="utf-8").splitlines(keepends=True)
    for start, end in _source_tables(lines):
        table = tomllib.loads("".join(lines[start:end]))["sources"][0]
        if name_or_url in (table.get("name"), table.get("url"), table.get("path")):
            # Take the blank lines before the table with it, so the file does not gather gaps.
            while start > 0 and not lines[start - 1].strip():
                start -= 1
            _write_checked(config_path, "".join(lines[:start] + lines[end:]))
            return str(table.get("name") or name_or_url)
    raise ConfigError(f"{config_path}: no source named or located at {name_or_url!r}")


def read_opml(data: bytes) -> list[NewSource]:
    """Feeds of an OPML subscription list; a folder outline's title becomes the category."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"not an OPML file: {exc}") from None
    found = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        parent = outline.getparent()
        category = None
        if parent is not None and parent.tag == "outline" and not parent.get("xmlUrl"):
            category = parent.get("title") or parent.get("text")
        name = (outline.get("title") or outline.get("text") or url).strip()
        found.append(NewSource(name=name, url=url.strip(), category=category))
    return found


def write_opml(sources: tuple[Source, ...], title: str) -> str:
    """An OPML 2.0 document of the feed sources, grouped in folders by category."""
    groups: dict[str | None, list[Source]] = {}
    for source in sources:
        if source.kind is SourceKind.FEED:
            groups.setdefault(source.category, []).append(source)

    def outline(source: Source, indent: str) -> str:
        return (
            f'{indent}<outline type="rss" text={quoteattr(source.name)} title={quoteattr(source.name)} '
            f"xmlUrl={quoteattr(source.location)}/>"
        )

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_esc(title)}</title></head>",
    ]
    lines.append("  <body>")
    for category, members in groups.items():
        if category is None:
            lines.extend(outline(source, "    ") for source in members)
        else:
            lines.append(f"    <outline text={quoteattr(category)} title={quoteattr(category)}>")
            lines.extend(outline(source, "      ") for source in members)
            lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def discover_feed(url: str, fetcher: Fetcher) -> tuple[str, str]:
    """The feed behind a URL and its title: the URL itself if it is a feed, else the page's advertised feed."""
    fetched = fetcher.fetch(url)
    try:
        parse_feed(fetched, url)
        return url, _feed_title(fetched.content) or url
    except FeedError:
        pass
    try:
        page = html.fromstring(fetched.content)
    except (etree.ParserError, ValueError):
        raise FeedError(f"{url} is neither a feed nor an HTML page") from None
    for link in page.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES and link.get("href"):
            feed_url = urljoin(fetched.url, link.get("href").strip())
            feed = fetcher.fetch(feed_url, from_feed=True)
            parse_feed(feed, feed_url)  # raises FeedError when the advertised feed is not one
            title = link.get("title") or _feed_title(feed.content) or (page.findtext(".//title") or "").strip()
            return feed_url, title.strip() or feed_url
    raise FeedError(f'{url} is not a feed and advertises none (no <link rel="alternate"> to a feed)')


def _feed_title(content: bytes) -> str | None:
    """The channel or feed title of an RSS, Atom or JSON Feed document."""
    if content.lstrip()[:1] == b"{":
        try:
            title = json.loads(content).get("title")
        except (ValueError, AttributeError):
            return None
        return title.strip() if isinstance(title, str) else None
    import feedparser

    title = feedparser.parse(content).feed.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else None
