from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdigest.config.records import FetchSettings
from newsdigest.errors import FeedError
from newsdigest.models import Fetched, Source, SourceKind
from newsdigest.sources.feeds import parse_feed
from newsdigest.sources.fetch import Fetcher
from newsdigest.sources.readers import READERS, read_source
from newsdigest.sources.textdir import read_text_folder
from tests.conftest import SEED_ARTICLE, LocalServer

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>T</title><link>https://t.example/</link><description>d</description>
<item><title>First &amp; best</title><link>https://t.example/a.html</link><guid>a-1</guid>
<pubDate>Tue, 15 Apr 2025 08:30:00 GMT</pubDate><description>&lt;p&gt;Teaser.&lt;/p&gt;</description>
<content:encoded><![CDATA[<p>Full text here.</p><p>Second paragraph.</p>]]></content:encoded></item>
<item><title>No date</title><link>https://t.example/b.html</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2025-04-15T10:00:00Z</updated>
<entry><title>Atom one</title><id>urn:a:1</id><link href="https://a.example/1.html"/>
<updated>2025-04-15T10:00:00Z</updated><summary>Short.</summary><author><name>Ann</name></author></entry>
</feed>"""


def _fetched(body: str, content_type: str = "") -> Fetched:
    return Fetched(url="https://t.example/feed", content=body.encode("utf-8"), content_type=content_type)


def test_rss_entries_carry_guid_dates_teaser_and_full_content() -> None:
    entries, warning = parse_feed(_fetched(RSS), "T")
    assert warning is None
    first, second = entries
    assert first.guid == "a-1" and first.title == "First & best"
    assert first.published is not None and first.published.isoformat() == "2025-04-15T08:30:00+00:00"
    assert "Teaser" in first.summary_html and "Second paragraph" in first.content_html
    assert second.published is None and second.guid == "https://t.example/b.html"


def test_atom_entries() -> None:
    (entry,), _ = parse_feed(_fetched(ATOM), "A")
    assert entry.guid == "urn:a:1" and entry.url == "https://a.example/1.html" and entry.author == "Ann"


def test_json_feed_entries() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "j1",
                "url": "https://j.example/1.html",
                "title": "J one",
                "summary": "S",
                "date_published": "2025-04-15T09:00:00Z",
                "authors": [{"name": "Jo"}],
                "content_text": "A\n\nB",
            },
            "not an item",
        ],
    }
    (entry,), _ = parse_feed(_fetched(json.dumps(feed), "application/feed+json"), "J")
    assert entry.guid == "j1" and entry.author == "Jo" and entry.content_html == "<p>A</p><p>B</p>"
    assert entry.published is not None and entry.published.hour == 9


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty"),
        ("<!DOCTYPE html><html><body>hi</body></html>", "HTML page"),
        ('{"hello": 1}', "not a JSON Feed"),
        ("{broken json", "invalid JSON"),
        ("this is not xml at all <<<", "not"),
    ],
)
def test_documents_that_are_not_feeds_raise_feed_error(body: str, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse_feed(_fetched(body), "X")


def test_malformed_feed_with_entries_is_kept_with_a_warning() -> None:
    broken = RSS.replace("</channel></rss>", "<item><title>unclosed</title>")
    entries, warning = parse_feed(_fetched(broken), "T")
    assert len(entries) >= 2
    assert warning is not None and "malformed" in warning


def test_failed_sources_are_records_not_exceptions(http_server: LocalServer, tmp_path: Path) -> None:
    ok_url = http_server.add("/ok.xml", RSS, content_type="application/rss+xml")
    bad_url = http_server.add("/bad.xml", "<rss><channel><item><title>x", content_type="application/rss+xml")
    down_url = http_server.add("/down.xml", "boom", status=500)
    with Fetcher(FetchSettings(per_host_interval=0)) as fetcher:
        ok = read_source(Source("ok", ok_url), fetcher)
        bad = read_source(Source("bad", bad_url), fetcher)
        down = read_source(Source("down", down_url), fetcher)
        missing = read_source(Source("missing", str(tmp_path / "nope.xml")), fetcher)
    assert ok.ok and len(ok.entries) == 2
    assert not bad.ok and "feed" in (bad.error or "")
    assert not down.ok and "500" in (down.error or "") and down.retryable
    assert not missing.ok and "not found" in (missing.error or "")


def test_text_folder_reads_the_seed_with_its_sidecar() -> None:
    (entry,) = read_text_folder(str(SEED_ARTICLE.parent), "fallback")
    assert entry.source == "The Kyiv Independent"
    assert entry.text == SEED_ARTICLE.read_text(encoding="utf-8")
    assert entry.published is not None and entry.published.date().isoformat() == "2025-04-15"
    with Fetcher(FetchSettings(per_host_interval=0)) as fetcher:
        result = read_source(Source("seed", str(SEED_ARTICLE.parent), kind=SourceKind.TEXT), fetcher)
    assert result.ok and len(result.entries) == 1


def test_every_source_kind_has_a_reader() -> None:
    # A kind added to the enum without a row in the table would fail every source of that kind.
    assert set(READERS) == set(SourceKind)
