from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from newsdigest.config.records import FetchSettings
from newsdigest.errors import FetchError
from newsdigest.sources.fetch import Fetcher
from tests.conftest import LocalServer


def _settings(**overrides: object) -> FetchSettings:
    """Fetch settings for tests: no spacing between requests to the local server."""
    return FetchSettings(per_host_interval=0, **overrides)  # type: ignore[arg-type]


def test_fetches_over_http_with_our_user_agent(http_server: LocalServer) -> None:
    url = http_server.add("/feed.xml", "<rss/>", content_type="application/rss+xml")
    with Fetcher(_settings(user_agent="newsdigest-test/1")) as fetcher:
        fetched = fetcher.fetch(url)
    assert fetched.content == b"<rss/>"
    assert fetched.content_type == "application/rss+xml"
    assert http_server.requests[0][1]["User-Agent"] == "newsdigest-test/1"


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (410, False), (500, True), (503, True)])
def test_http_errors_become_fetch_errors(http_server: LocalServer, status: int, retryable: bool) -> None:
    url = http_server.add("/x", "oops", status=status)
    with (
        Fetcher(_settings(retries=0)) as fetcher,
        pytest.raises(FetchError, match=str(status)) as info,
    ):
        fetcher.fetch(url)
    assert info.value.retryable is retryable


def test_size_cap_stops_large_bodies_and_gzip_bombs(http_server: LocalServer) -> None:
    url = http_server.add("/big", b"x" * 5000)
    with Fetcher(_settings(max_bytes=1000)) as fetcher, pytest.raises(FetchError, match="cap"):
        fetcher.fetch(url)
    bomb = gzip.compress(b"\0" * 2_000_000)
    http_server.routes["/bomb"] = http_server.routes["/big"].__class__(
        200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}
    )
    with (
        Fetcher(_settings(max_bytes=100_000)) as fetcher,
        pytest.raises(FetchError, match="cap"),
    ):
        fetcher.fetch(http_server.url("/bomb"))


def test_refused_connection_is_a_retryable_fetch_error() -> None:
    with Fetcher(_settings(connect_timeout=2)) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch("http://127.0.0.1:9/feed")  # the discard port: nothing listens
    assert info.value.retryable


def test_local_files_file_urls_and_mirrors(tmp_path: Path) -> None:
    page = tmp_path / "site" / "news" / "a.html"
    page.parent.mkdir(parents=True)
    page.write_text("<p>hello</p>")
    settings = _settings(mirrors=(("https://paper.example/", tmp_path / "site"),))
    with Fetcher(settings) as fetcher:
        assert fetcher.fetch(str(page)).content == b"<p>hello</p>"
        assert fetcher.fetch(page.as_uri()).content == b"<p>hello</p>"
        mirrored = fetcher.fetch("https://paper.example/news/a.html?utm_source=x#top")
        assert mirrored.content == b"<p>hello</p>" and mirrored.local
        with pytest.raises(FetchError, match="not found"):
            fetcher.fetch("https://paper.example/news/missing.html")
        # A mirror never reads outside its folder.
        assert fetcher.mirror_path("https://paper.example/../../etc/passwd") is None


def test_only_http_and_https_go_to_the_network() -> None:
    with Fetcher(_settings()) as fetcher, pytest.raises(FetchError, match="scheme"):
        fetcher.fetch("ftp://files.example/feed.xml")
