"""A batch's article pages are fetched together, still within each host's connection limit."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from newsdigest.cleaning.articles import build_articles
from newsdigest.config.records import FetchSettings
from newsdigest.models import FeedEntry
from newsdigest.sources.fetch import Fetcher
from tests.conftest import LocalServer

PAGE_DELAY = 0.4
PARAGRAPH = (
    "The harbour council met on Tuesday evening to discuss the ferry timetable for the summer season, "
    "and members agreed that the early crossing would run every day from the first of June. "
)


def _page(number: int) -> str:
    body = "".join(f"<p>{PARAGRAPH}Paragraph {i} of page {number} adds its own detail.</p>" for i in range(4))
    head = f"<head><title>Page {number}</title></head>"
    return f"<html>{head}<body><article><h1>Page {number}</h1>{body}</article></body></html>"


def _entries(server: LocalServer, pages: int) -> list[FeedEntry]:
    entries = []
    for number in range(pages):
        url = server.add(f"/news/{number}.html", _page(number))
        server.routes[f"/news/{number}.html"] = replace(server.routes[f"/news/{number}.html"], delay=PAGE_DELAY)
        entries.append(
            FeedEntry(
                source="Harbour Times",
                guid=f"g{number}",
                url=url,
                title=f"Page {number}",
                published=datetime(2025, 4, 15, 9, tzinfo=UTC),
                summary_html=f"<p>Teaser {number} about the ferry timetable.</p>",
            )
        )
    return entries


class _CountingTransport(httpx.HTTPTransport):
    """Counts the requests waiting on the server at the same moment: concurrency without a clock."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return super().handle_request(request)  # returns once the (delayed) headers arrive
        finally:
            with self._lock:
                self.in_flight -= 1


def _build(entries: list[FeedEntry], connections: int) -> tuple[int, list, list[str]]:
    """The articles and warnings, and the most page requests that were waiting on the server at once."""
    settings = FetchSettings(per_host_connections=connections, per_host_interval=0.0)
    transport = _CountingTransport()
    with Fetcher(settings, transport=transport, trusted_hosts=frozenset({"127.0.0.1"})) as fetcher:
        articles, warnings = build_articles(entries, fetcher, {"Harbour Times"})
        return transport.most_in_flight, articles, warnings


def test_a_batchs_pages_are_fetched_at_the_same_time(http_server: LocalServer) -> None:
    entries = _entries(http_server, 6)
    # One page is gone: its entry keeps the teaser and the batch a warning, the others are unaffected.
    del http_server.routes["/news/5.html"]
    most_in_flight, articles, warnings = _build(entries, connections=8)
    assert [a.extraction for a in articles] == ["page"] * 5 + ["teaser"]
    assert all(f"page {n} adds its own detail" in articles[n].text for n in range(5))
    assert len(warnings) == 1 and "404" in warnings[0]
    # Each page takes PAGE_DELAY to answer: fetched together, several wait on the server at once.
    assert most_in_flight >= 2, "the pages were fetched one after another"


def test_the_host_limit_still_holds(http_server: LocalServer) -> None:
    entries = _entries(http_server, 4)
    most_in_flight, articles, _ = _build(entries, connections=1)
    assert [a.extraction for a in articles] == ["page"] * 4
    # One connection to the host: the four slow pages cannot overlap.
    assert most_in_flight == 1
    # The four pages and the host's robots.txt, read once for the whole batch.
    assert sorted(path for path, _ in http_server.requests)[-1:] == ["/robots.txt"]
    assert len(http_server.requests) == 5
