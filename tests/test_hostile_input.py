"""Nothing a feed sends can stop the morning run: the input side (issue 20).

Text is cleaned once where it enters (control characters dropped, bidi controls neutralised,
oversized entries cut), so SQLite, PostgreSQL and every output format see the same clean text;
a source's attempts share one time budget, and a timed-out source is not tried again in the run;
trust in a configured source covers its scheme, host and port, not every port of its host.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from newsdigest.config.records import Config, FetchSettings
from newsdigest.errors import FetchError
from newsdigest.models import FeedEntry, Source, SourceKind
from newsdigest.sources.fetch import Fetcher, origin_of
from newsdigest.sources.readers import read_source, safe_entry
from newsdigest.text.safe import (
    MAX_ENTRY_CHARS,
    MAX_ENTRY_PARAGRAPHS,
    MAX_TITLE_CHARS,
    cap_html,
    cap_text,
    safe_html,
    safe_line,
    safe_text,
)
from tests.conftest import fresh_postgres_database
from tests.faultserver import FaultServer, article_text, fixed, recent, rss, send

# Characters that must never reach a digest: NUL and other controls, bidi overrides and
# isolates, zero-width spaces, a byte-order mark inside text.
FORBIDDEN = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\ufeff"]


def _assert_clean(text: str) -> None:
    found = [f"U+{ord(ch):04X}" for ch in FORBIDDEN if ch in text]
    assert not found, found


# --- the cleaning itself ---------------------------------------------------------------------


def test_safe_text_drops_controls_and_keeps_layout() -> None:
    assert safe_text("a\x00b\x01c\x1bd\x7fe\x85f") == "abcdef"
    assert safe_text("one\ttwo\nthree\r\nfour") == "one\ttwo\nthree\r\nfour"
    assert safe_text("line\u2028next\u2029para") == "line\nnext\npara"
    assert safe_text("lone \ud800 surrogate \uffff") == "lone  surrogate "


def test_bidi_controls_and_zero_width_characters_are_neutralised() -> None:
    assert safe_text("price \u202e001$\u202c ok") == "price 001$ ok"
    assert safe_text("\u2066isolated\u2069 \u2067rtl\u2069 \u2068first\u2069") == "isolated rtl first"
    assert safe_text("zero\u200bwidth\u2060joined\ufeff") == "zerowidthjoined"
    assert safe_text("\u200e\u200fmarks\u061c") == "marks"
    # Joiners inside a word or an emoji sequence are writing, not tricks; at a word's edge they go.
    assert (
        safe_text("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")
        == "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
    assert safe_text("\U0001f469\u200d\U0001f52c") == "\U0001f469\u200d\U0001f52c"
    assert safe_text("\u200dedge\u200c word \u200c") == "edge word "
    # Tag characters can hide a whole sentence from the reader's eye.
    assert safe_text("visible" + "".join(chr(0xE0000 + ord(c)) for c in "hidden")) == "visible"


def test_safe_line_is_one_line_of_single_spaces() -> None:
    assert safe_line("  Head\x00line\n\twith \u202ebreaks\u202c  ") == "Headline with breaks"
    assert len(safe_line("x" * 10_000, MAX_TITLE_CHARS)) <= MAX_TITLE_CHARS


def test_safe_html_removes_references_to_forbidden_characters() -> None:
    html = "<p>a&#0;b&#x0;c&#00;d&#x202E;e&#8238;f&#x200b;g&#1;h&lrm;i&ZeroWidthSpace;j&#65;k</p>"
    assert safe_html(html) == "<p>abcdefghij&#65;k</p>"
    # Windows-1252 references (&#150; is an en dash in HTML) and ordinary ones stay.
    assert safe_html("1990&#150;1995 &amp; &#8212; &eacute;") == "1990&#150;1995 &amp; &#8212; &eacute;"
    assert safe_html("raw\x00nul\u202e") == "rawnul"


def test_html_is_cut_at_the_paragraph_and_size_caps_between_tags() -> None:
    many = "".join(f"<p>Paragraph {n}.</p>" for n in range(MAX_ENTRY_PARAGRAPHS + 500))
    cut, was_cut = cap_html(many)
    assert was_cut
    assert cut.count("<p>") == MAX_ENTRY_PARAGRAPHS
    assert cut.endswith("</p>")
    huge = "<p>" + "word " * (MAX_ENTRY_CHARS // 2) + "</p><p>tail</p>"
    cut, was_cut = cap_html(huge)
    assert was_cut and len(cut) <= MAX_ENTRY_CHARS
    small = "<p>one</p><p>two</p>"
    assert cap_html(small) == (small, False)


def test_text_is_cut_at_the_paragraph_and_size_caps() -> None:
    many = "\n\n".join(f"Paragraph {n}." for n in range(MAX_ENTRY_PARAGRAPHS + 10))
    cut, was_cut = cap_text(many)
    assert was_cut and len([line for line in cut.split("\n") if line.strip()]) == MAX_ENTRY_PARAGRAPHS
    cut, was_cut = cap_text("word " * MAX_ENTRY_CHARS)
    assert was_cut and len(cut) <= MAX_ENTRY_CHARS
    assert cap_text("a\n\nb") == ("a\n\nb", False)


def test_cleaning_is_linear_in_the_input() -> None:
    # A growth ratio within one run, in CPU time: ten times the input may not cost fifty times the work.
    def cpu(size: int) -> float:
        text = ("<p>word\u202e&#0;\x00 \u200b&lrm;</p>" * size)[: size * 20]
        started = time.process_time()
        for _ in range(3):
            cap_html(safe_html(text))
            cap_text(safe_text(text))
        return time.process_time() - started

    small, large = cpu(20_000), cpu(200_000)
    assert large < max(small, 0.01) * 50, (small, large)


def test_an_entry_is_cleaned_field_by_field() -> None:
    entry = FeedEntry(
        source="feed\x00",
        guid="g\x00" + "x" * 5000,
        url="https://example.org/a\x00b",
        title="Bad\x00 \u202etitle\u202c\u200b",
        published=None,
        author="Ann\x00 Writer\u2066",
        summary_html="<p>sum&#0;mary\x00</p>",
        content_html="<p>con\u202etent</p>" * (MAX_ENTRY_PARAGRAPHS + 1),
        text="te\x00xt\u2067",
    )
    safe = safe_entry(entry)
    for value in (safe.source, safe.guid, safe.url or "", safe.title, safe.author or "", safe.text):
        _assert_clean(value)
    assert safe.title == "Bad title"
    assert safe.author == "Ann Writer"
    assert safe.summary_html == "<p>summary</p>"
    assert safe.content_html.count("<p>") == MAX_ENTRY_PARAGRAPHS
    assert len(safe.guid) <= 200 and safe.guid != safe_entry(FeedEntry("s", "other", None, "t", None)).guid
    assert safe.url == "https://example.org/ab"


# --- feeds with NULs, read through the one entry point ---------------------------------------


def _nul_rss_raw() -> bytes:
    body = rss(
        [
            {
                "title": "Raw NUL title",
                "link": "http://news.example/raw",
                "guid": "raw-1",
                "description": "A summary with a raw NUL in it.",
                "pubDate": recent(2),
            }
        ]
    )
    return body.replace("Raw NUL title", "Raw \x00NUL\u202e title").replace("raw NUL", "raw \x00NUL").encode()


def _nul_rss_reference() -> bytes:
    body = rss(
        [
            {
                "title": "Reference NUL title",
                "link": "http://news.example/ref",
                "guid": "ref-1",
                "description": "A summary with a NUL reference in it.",
                "pubDate": recent(2),
            }
        ]
    )
    return body.replace("Reference NUL title", "Reference &#0;NUL&#x202E; title").replace("a NUL", "a &#0;NUL").encode()


def _nul_json_feed() -> bytes:
    item = {
        "id": "json-1",
        "url": "http://news.example/json",
        "title": "JSON \u0000NUL\u2066 title",
        "summary": "A summary with a JSON \u0000 escape.",
        "content_html": "<p>Content with a \u0000 and &#0; and \u202e.</p>",
        "authors": [{"name": "Writer\u0000"}],
        "date_published": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
    }
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [item]}).encode()


@pytest.mark.parametrize(
    ("maker", "content_type"),
    [
        (_nul_rss_raw, "application/rss+xml"),
        (_nul_rss_reference, "application/rss+xml"),
        (_nul_json_feed, "application/feed+json"),
    ],
)
def test_a_feed_with_nuls_reads_into_clean_entries(tmp_path: Path, maker: Any, content_type: str) -> None:
    suffix = ".json" if "json" in content_type else ".xml"
    path = tmp_path / f"feed{suffix}"
    path.write_bytes(maker())
    with Fetcher(FetchSettings()) as fetcher:
        result = read_source(Source(name="nul", location=str(path)), fetcher)
    assert result.ok, result.error
    assert result.entries
    for entry in result.entries:
        for value in (entry.title, entry.summary_html, entry.content_html, entry.author or "", entry.guid):
            _assert_clean(value)
            assert "&#0;" not in value
        assert "NUL" in entry.title or "JSON" in entry.title


def test_a_text_folder_with_nuls_reads_into_clean_entries(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes("A headline\x00 with \u202ea trick\n\nBody text\x00 here.\n".encode())
    (tmp_path / "a.json").write_text(json.dumps({"title": "Side\u0000car", "author": "A\u0000B"}), encoding="utf-8")
    with Fetcher(FetchSettings()) as fetcher:
        result = read_source(Source(name="texts", location=str(tmp_path), kind=SourceKind.TEXT), fetcher)
    assert result.ok, result.error
    (entry,) = result.entries
    assert entry.title == "Sidecar" and entry.author == "AB"
    _assert_clean(entry.text)
    assert "Body text here." in entry.text


def test_an_oversized_text_file_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"Head line\n" + b"word " * (MAX_ENTRY_CHARS // 2))
    with Fetcher(FetchSettings()) as fetcher:
        result = read_source(Source(name="big", location=str(tmp_path), kind=SourceKind.TEXT), fetcher)
    (entry,) = result.entries
    assert len(entry.text) <= MAX_ENTRY_CHARS


def test_a_source_brings_at_most_its_newest_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("newsdigest.sources.readers.MAX_ENTRIES_PER_SOURCE", 3)
    hours = [30, 2, None, 50, 5]  # hours ago; None: undated, which the window counts as new
    items = [
        {"title": f"entry {n}", "link": f"http://news.example/{n}", "guid": f"e{n}"}
        | ({"pubDate": recent(age)} if age is not None else {})
        for n, age in enumerate(hours)
    ]
    path = tmp_path / "many.xml"
    path.write_text(rss(items), encoding="utf-8")
    with Fetcher(FetchSettings()) as fetcher:
        result = read_source(Source(name="many", location=str(path)), fetcher)
    assert [entry.guid for entry in result.entries] == ["e1", "e2", "e4"]  # the newest three, in feed order
    assert result.warning is not None and "5 entries, only the newest 3 read" in result.warning


# --- the whole run, on SQLite and PostgreSQL ------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store: a SQLite file, or a database on the local PostgreSQL server (skipped where there is none)."""
    if request.param == "sqlite":
        yield str(tmp_path / "state.sqlite")
        return
    with fresh_postgres_database() as url:
        yield url


def _good_items(server: FaultServer, prefix: str, count: int) -> list[dict[str, str]]:
    return [
        {
            "title": f"{prefix} story {n}",
            "link": server.url(f"/articles/{prefix}-{n}.html"),
            "guid": f"{prefix}-{n}",
            "description": article_text(prefix, n),
            "pubDate": recent(2 + n),
        }
        for n in range(count)
    ]


def _write_config(path: Path, sources: list[tuple[str, str]], **fetch: str) -> None:
    lines = ["[digest]", 'title = "Hostile run"', "window_hours = 48", "max_stories = 100", "[fetch]"]
    settings = {"per_host_interval": "0", "per_host_connections": "16", "retries": "0"} | fetch
    lines += [f"{key} = {value}" for key, value in settings.items()]
    for name, url in sources:
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"', "fetch_pages = false"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_feeds_with_nuls_neither_stop_the_run_nor_reach_any_store_or_format(
    prefect_harness: None, state_url: str, tmp_path: Path
) -> None:
    from newsdigest.flow import daily_digest
    from newsdigest.store import Store

    server = FaultServer()
    try:
        good = _good_items(server, "harbour", 3)
        server.routes["/feeds/good"] = fixed(200, rss(good))
        server.routes["/feeds/raw"] = fixed(200, _nul_rss_raw())
        server.routes["/feeds/reference"] = fixed(200, _nul_rss_reference())
        server.routes["/feeds/json"] = fixed(200, _nul_json_feed(), "application/feed+json")
        config = tmp_path / "hostile.toml"
        names = ["good", "raw", "reference", "json"]
        _write_config(config, [(name, server.url(f"/feeds/{name}")) for name in names])
        args = {"config_path": str(config), "out_dir": str(tmp_path / "digests"), "state": state_url}
        for _run in range(2):  # the second run reads the same feeds again: it must not crash either
            summary = daily_digest(**args)
            assert not summary.failed_sources, summary.failed_sources
            for path in summary.files.values():
                text = Path(path).read_text(encoding="utf-8")
                _assert_clean(text)
                assert "&#0;" not in text
        with Store.open(state_url) as store:
            stored = [row.article for row in store.articles_for_digest(summary.digest_date)]
        urls = {article.url for article in stored}
        assert {item["link"] for item in good} <= urls
        assert {"http://news.example/raw", "http://news.example/ref", "http://news.example/json"} <= urls
        for article in stored:
            _assert_clean(article.title + article.text + (article.author or ""))
    finally:
        server.close()


# --- a source's time budget -----------------------------------------------------------------------


def _drip(handler: BaseHTTPRequestHandler) -> None:
    """Headers, then a byte every 0.2 s for a minute."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "300")
    handler.end_headers()
    for _ in range(300):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def _slow_error(handler: BaseHTTPRequestHandler) -> None:
    """A 500 after 2.5 s: the first try spends so much of a 4-second budget that a retry could not start in it."""
    time.sleep(2.5)
    send(handler, 500, b"busy", "text/plain")


def test_a_timeout_is_not_worth_another_try_in_the_same_run() -> None:
    server = FaultServer()

    def late(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        send(handler, 200, b"<rss/>")

    server.routes["/slow"] = late
    try:
        with (
            Fetcher(FetchSettings(per_host_interval=0, read_timeout=0.5)) as fetcher,
            pytest.raises(FetchError) as info,
        ):
            fetcher.fetch(server.url("/slow"))
        assert "timed out" in str(info.value)
        assert not info.value.retryable
    finally:
        server.close()


@pytest.mark.slow
def test_a_dripping_feed_is_cut_once_and_retries_stay_within_the_budget(prefect_harness: None, tmp_path: Path) -> None:
    from newsdigest.flow import daily_digest

    server = FaultServer()
    try:
        server.routes["/feeds/good"] = fixed(200, rss(_good_items(server, "ferry", 2)))
        server.routes["/feeds/drip"] = _drip
        server.routes["/feeds/slow-error"] = _slow_error
        server.routes["/feeds/quick-error"] = fixed(500, "busy", "text/plain")
        config = tmp_path / "drip.toml"
        sources = [(name, server.url(f"/feeds/{name}")) for name in ("good", "drip", "slow-error", "quick-error")]
        # One retry, 2 s after the first try; each source has 4 s in all.
        _write_config(config, sources, retries="1", total_timeout="4", read_timeout="3")
        summary = daily_digest(
            config_path=str(config), out_dir=str(tmp_path / "digests"), state=str(tmp_path / "state.sqlite")
        )
        assert "took longer than 4 s" in summary.failed_sources["drip"]
        assert server.hits["/feeds/drip"] == 1  # cut at the budget, and not asked again
        # A quick transient failure is retried (once: retries = 1), with no extra try after the last.
        assert server.hits["/feeds/quick-error"] == 2, server.hits
        # A slow one is not: the wait before a retry would end after the budget does.
        assert server.hits["/feeds/slow-error"] == 1, server.hits
        assert "HTTP 500" in summary.failed_sources["slow-error"]
        assert "HTTP 500" in summary.failed_sources["quick-error"]
        assert "good" not in summary.failed_sources
    finally:
        server.close()


def test_a_server_dripping_its_headers_is_cut_at_the_total_deadline() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sent = []

    def drip_headers() -> None:
        connection, _ = listener.accept()
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(100):  # a header byte every 0.2 s: 20 s, unless the client hangs up
            try:
                connection.sendall(b"x")
            except OSError:
                break
            sent.append(1)
            time.sleep(0.2)
        connection.close()

    server = threading.Thread(target=drip_headers, daemon=True)
    server.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    settings = FetchSettings(per_host_interval=0, total_timeout=2, read_timeout=1)
    try:
        with (
            Fetcher(settings, trusted_hosts=frozenset({origin_of(url) or ""})) as fetcher,
            pytest.raises(FetchError, match="took longer than 2 s") as info,
        ):
            fetcher.fetch(url)
        assert not info.value.retryable
        server.join(30)
        assert len(sent) < 100  # the client hung up long before the server was done
    finally:
        listener.close()


# --- trust is per origin --------------------------------------------------------------------------


def test_origins_name_scheme_host_and_port() -> None:
    assert origin_of("http://Example.org/feed") == "http://example.org:80"
    assert origin_of("https://example.org/feed") == "https://example.org:443"
    assert origin_of("http://127.0.0.1:8080/x?y") == "http://127.0.0.1:8080"
    assert origin_of("http://[::1]:81/") == "http://[::1]:81"
    assert origin_of("ftp://example.org/") is None and origin_of("/a/path") is None


def test_config_trusts_the_origins_of_its_network_sources() -> None:
    config = Config(
        sources=(
            Source(name="a", location="http://10.0.0.5:8080/feed.xml"),
            Source(name="b", location="https://intranet.example/rss"),
            Source(name="c", location="seeds/articles", kind=SourceKind.TEXT),
            Source(name="d", location="file:///tmp/feed.xml"),
        )
    )
    assert config.source_hosts() == frozenset({"http://10.0.0.5:8080", "https://intranet.example:443"})


def test_a_trusted_source_does_not_open_the_other_ports_of_its_host() -> None:
    feed_server, other_server = FaultServer(), FaultServer()
    try:
        feed_server.routes["/page.html"] = fixed(200, "<p>on the source's own port</p>", "text/html")
        other_server.routes["/admin"] = fixed(200, "secret", "text/plain")
        trusted = frozenset({origin_of(feed_server.url("/feed.xml")) or ""})
        with Fetcher(FetchSettings(per_host_interval=0), trusted_hosts=trusted) as fetcher:
            page = fetcher.fetch(feed_server.url("/page.html"), from_feed=True)
            assert b"own port" in page.content
            with pytest.raises(FetchError, match="non-public"):
                fetcher.fetch(other_server.url("/admin"), from_feed=True)
        assert "/admin" not in other_server.hits
    finally:
        feed_server.close()
        other_server.close()


def test_a_source_redirecting_to_another_port_of_its_host_is_refused() -> None:
    feed_server, other_server = FaultServer(), FaultServer()
    try:
        other_server.routes["/internal"] = fixed(200, "secret", "text/plain")
        feed_server.routes["/feed.xml"] = fixed(302, b"", "text/plain", Location=other_server.url("/internal"))
        with Fetcher(FetchSettings(per_host_interval=0)) as fetcher, pytest.raises(FetchError, match="non-public"):
            fetcher.fetch(feed_server.url("/feed.xml"))
        assert "/internal" not in other_server.hits
    finally:
        feed_server.close()
        other_server.close()
