"""robots.txt for article pages: read once per site and run, its rules obeyed, with a per-source override."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from newsdigest.cleaning.articles import PrefetchedPages, build_articles
from newsdigest.config.load import parse_config
from newsdigest.config.records import FetchSettings
from newsdigest.errors import ConfigError, FetchError
from newsdigest.models import FeedEntry
from newsdigest.sources.fetch import ROBOTS_MAX_BYTES, ROBOTS_RUNS_KEPT, Fetcher, RobotsCache, robots_for_run

UA = "newsdigest-test/1.0 (+a test)"
PAGE = "<html><body><article><h1>Ferry</h1>"
PAGE += "".join(
    f"<p>In part {n} the council agreed on crossing number {n * 7} of the June timetable.</p>" for n in range(30)
)
PAGE += "</article></body></html>"
Handler = Callable[[httpx.Request], httpx.Response]


class Site:
    """A stand-in for the network: robots.txt answers per host, pages everywhere, every request recorded."""

    def __init__(self, robots: dict[str, Handler | str]) -> None:
        self.robots = robots
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(str(request.url))
        assert request.headers["user-agent"] == UA  # robots.txt is asked for under our own name
        if request.url.path == "/robots.txt":
            answer = self.robots.get(request.url.host, "")
            return answer(request) if callable(answer) else httpx.Response(200, text=answer)
        if request.url.path.startswith("/moved"):
            return httpx.Response(302, headers={"location": "https://other.example/private/moved.html"})
        return httpx.Response(200, text=PAGE, headers={"content-type": "text/html"})

    def robots_reads(self) -> int:
        """How many times a robots.txt was requested."""
        return sum(url.endswith("/robots.txt") for url in self.requests)


def _fetcher(site: Site, cache: RobotsCache | None = None) -> Fetcher:
    # Private addresses allowed: the hosts are made up and never resolved (the transport answers).
    settings = FetchSettings(user_agent=UA, allow_private_addresses=True, per_host_interval=0.0)
    return Fetcher(settings, transport=httpx.MockTransport(site), robots=cache)


def _status(code: int) -> Handler:
    return lambda request: httpx.Response(code, text="nothing here")


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the server said nothing", request=request)


RULES = "User-agent: *\nDisallow: /private/\nAllow: /private/open.html\n\nUser-agent: somebot\nDisallow: /\n"


def test_a_disallowed_page_is_refused_and_an_allowed_one_fetched() -> None:
    site = Site({"news.example": RULES})
    with _fetcher(site) as fetcher:
        assert fetcher.fetch("https://news.example/story.html", from_feed=True, robots=True).content
        assert fetcher.fetch("https://news.example/private/open.html", from_feed=True, robots=True).content
        with pytest.raises(FetchError, match=r"disallowed by robots\.txt \(https://news\.example/robots\.txt\)"):
            fetcher.fetch("https://news.example/private/a.html", from_feed=True, robots=True)
    assert "https://news.example/private/a.html" not in site.requests
    assert site.robots_reads() == 1  # three pages, one robots.txt


def test_the_group_naming_our_user_agent_wins_over_the_star_group() -> None:
    site = Site({"news.example": "User-agent: *\nAllow: /\n\nUser-agent: newsdigest-test\nDisallow: /news/\n"})
    with _fetcher(site) as fetcher:
        with pytest.raises(FetchError, match="disallowed"):
            fetcher.fetch("https://news.example/news/1.html", from_feed=True, robots=True)
        assert fetcher.fetch("https://news.example/about.html", from_feed=True, robots=True).content


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        (_status(404), True),  # no robots.txt: every page may be fetched
        (_status(403), True),  # RFC 9309: any 4xx is "unavailable", not a ban
        (_status(410), True),
        (_status(500), False),  # unreachable: nothing this run (RFC 9309, Google)
        (_status(503), False),
        (_status(429), False),  # asked to slow down: treated as unreachable, as Google does
        (_timeout, False),
    ],
)
def test_what_a_missing_or_failing_robots_txt_means(answer: Handler, allowed: bool) -> None:
    site = Site({"news.example": answer})
    with _fetcher(site) as fetcher:
        for _ in range(3):
            if allowed:
                assert fetcher.fetch("https://news.example/a.html", from_feed=True, robots=True).content
            else:
                with pytest.raises(FetchError, match=r"robots\.txt could not be read .*no page of it this run"):
                    fetcher.fetch("https://news.example/a.html", from_feed=True, robots=True)
    assert site.robots_reads() == 1  # a failure is remembered for the run too: no hammering
    assert ("https://news.example/a.html" in site.requests) is allowed


def test_robots_txt_is_per_origin_and_a_redirect_target_asks_its_own() -> None:
    site = Site({"news.example": "", "other.example": "User-agent: *\nDisallow: /private/\n"})
    with _fetcher(site) as fetcher:
        assert fetcher.fetch("https://news.example/private/x.html", from_feed=True, robots=True).content
        with pytest.raises(FetchError, match=r"disallowed by robots\.txt \(https://other\.example/robots\.txt\)"):
            fetcher.fetch("https://news.example/moved/1.html", from_feed=True, robots=True)
        assert fetcher.fetch("http://news.example:8080/private/x.html", from_feed=True, robots=True).content
    robots = sorted(url for url in site.requests if url.endswith("/robots.txt"))
    assert robots == [
        "http://news.example:8080/robots.txt",
        "https://news.example/robots.txt",
        "https://other.example/robots.txt",
    ]
    assert "https://other.example/private/moved.html" not in site.requests


def test_feeds_and_mirrors_do_not_ask_robots_txt(tmp_path: Path) -> None:
    site = Site({"news.example": "User-agent: *\nDisallow: /\n"})
    with _fetcher(site) as fetcher:
        assert fetcher.fetch("https://news.example/feed.xml").content  # a configured feed: the user's choice
    (tmp_path / "a.html").write_text(PAGE, encoding="utf-8")
    settings = FetchSettings(user_agent=UA, mirrors=(("https://news.example/", tmp_path),))
    with Fetcher(settings, transport=httpx.MockTransport(site)) as fetcher:
        assert fetcher.fetch("https://news.example/a.html", from_feed=True, robots=True).local  # no site visited
    assert site.robots_reads() == 0 and len(site.requests) == 1


def test_only_the_start_of_a_huge_robots_txt_is_read() -> None:
    huge = "User-agent: *\n" + "# padding\n" * (ROBOTS_MAX_BYTES // 10) + "Disallow: /\n"
    site = Site({"news.example": huge})
    with _fetcher(site) as fetcher:
        assert fetcher.fetch("https://news.example/a.html", from_feed=True, robots=True).content


def test_many_threads_read_one_robots_txt_and_a_run_shares_it_across_fetchers() -> None:
    site = Site({"news.example": RULES})
    cache = robots_for_run("run-under-test")
    urls = [f"https://news.example/{'private/' if n % 2 else ''}{n}.html" for n in range(24)]
    with _fetcher(site, cache) as fetcher:
        pages = PrefetchedPages(fetcher, urls, threads=8)
    with _fetcher(site, robots_for_run("run-under-test")) as fetcher:  # the next batch of the same run
        PrefetchedPages(fetcher, urls[:2])
    assert site.robots_reads() == 1
    refused = [url for url, page in pages.pages.items() if isinstance(page, FetchError)]
    assert refused == urls[1::2]
    with _fetcher(site, robots_for_run("the next run")) as fetcher:
        PrefetchedPages(fetcher, urls[:1])
    assert site.robots_reads() == 2  # a new run reads it again
    for n in range(ROBOTS_RUNS_KEPT + 1):
        robots_for_run(f"later run {n}")
    assert robots_for_run("run-under-test") is not cache  # old runs are forgotten


def _entry(source: str, url: str) -> FeedEntry:
    return FeedEntry(
        source=source,
        guid=url,
        url=url,
        title="Ferry timetable",
        published=datetime(2025, 4, 15, 9, tzinfo=UTC),
        summary_html="<p>The council agreed the ferry timetable, a teaser of some forty words or so. "
        + "More words about the ferry and the council follow here to make it a teaser. " * 3
        + "</p>",
    )


def test_a_refused_page_keeps_the_feed_text_with_a_warning_unless_the_source_opts_out() -> None:
    site = Site({"news.example": "User-agent: *\nDisallow: /\n"})
    entries = [_entry("Polite", "https://news.example/1.html"), _entry("Opted out", "https://news.example/2.html")]
    with _fetcher(site) as fetcher:
        articles, warnings = build_articles(entries, fetcher, {"Polite", "Opted out"}, robots_exempt={"Opted out"})
    assert [article.extraction for article in articles] == ["teaser", "page"]
    assert "ferry timetable" in articles[0].text
    assert warnings == ["page https://news.example/1.html: disallowed by robots.txt (https://news.example/robots.txt)"]
    assert "https://news.example/1.html" not in site.requests and "https://news.example/2.html" in site.requests


def test_respect_robots_is_a_source_key_true_by_default(tmp_path: Path) -> None:
    config = parse_config(
        {"sources": [{"url": "https://a.example/feed"}, {"url": "https://b.example/feed", "respect_robots": False}]},
        tmp_path,
    )
    assert [source.respect_robots for source in config.sources] == [True, False]
    with pytest.raises(ConfigError, match="respect_robots"):
        parse_config({"sources": [{"url": "https://a.example/feed", "respect_robots": "no"}]}, tmp_path)


def test_a_private_address_is_refused_by_the_guard_before_any_robots_txt() -> None:
    site = Site({})
    fetcher = Fetcher(FetchSettings(user_agent=UA), transport=httpx.MockTransport(site))
    with fetcher, pytest.raises(FetchError, match=r"^refused: 10\.1\.2\.3 resolves to the non-public address"):
        fetcher.fetch("http://10.1.2.3/internal/report.html", from_feed=True, robots=True)
    assert site.requests == []
