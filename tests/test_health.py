"""Source health: backoff, Retry-After, failing sources, and the fetch guards behind them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsdigest.config.records import FetchSettings
from newsdigest.errors import FetchError
from newsdigest.models import SourceHealth, SourceResult
from newsdigest.sources.fetch import Fetcher, is_public_address, parse_retry_after
from newsdigest.sources.health import (
    backoff_seconds,
    footer_reason,
    is_due,
    is_failing,
    updated_health,
    waiting_result,
)
from tests.conftest import LocalServer

NOW = datetime(2025, 4, 16, 6, 0, tzinfo=UTC)
SETTINGS = FetchSettings(backoff_seconds=100, max_backoff_seconds=1000, failing_after=3, per_host_interval=0)


def test_backoff_doubles_is_capped_and_jittered() -> None:
    assert backoff_seconds(0, SETTINGS) == 0
    assert [backoff_seconds(n, SETTINGS, rand=lambda: 0.5) for n in (1, 2, 3, 4, 5)] == [100, 200, 400, 800, 1000]
    low, high = backoff_seconds(2, SETTINGS, rand=lambda: 0.0), backoff_seconds(2, SETTINGS, rand=lambda: 1.0)
    assert low == pytest.approx(160) and high == pytest.approx(240)


def test_failures_count_up_set_the_next_check_and_success_resets() -> None:
    failed = SourceResult(source="A", ok=False, error="HTTP 500")
    health = None
    for _ in range(3):
        health = updated_health(health, failed, NOW, SETTINGS, rand=lambda: 0.5)
    assert health is not None
    assert health.consecutive_failures == 3 and is_failing(health, SETTINGS)
    assert health.next_check == NOW + timedelta(seconds=400)
    assert not is_due(health, NOW) and is_due(health, NOW + timedelta(seconds=401))
    assert footer_reason(failed, health, SETTINGS) == "failing for 3 runs in a row: HTTP 500"
    ok = SourceResult(source="A", ok=True, etag='"v2"')
    healed = updated_health(health, ok, NOW, SETTINGS)
    assert healed.consecutive_failures == 0 and healed.next_check is None and healed.etag == '"v2"'
    assert footer_reason(ok, healed, SETTINGS) is None


def test_retry_after_wins_when_longer_and_a_304_keeps_the_validators() -> None:
    limited = SourceResult(source="A", ok=False, error="HTTP 429", retry_after=7200)
    health = updated_health(None, limited, NOW, SETTINGS, rand=lambda: 0.5)
    assert health.next_check == NOW + timedelta(seconds=7200)
    waiting = waiting_result(health)
    assert waiting.skipped and "waiting until 2025-04-16 08:00 UTC after 1 failed run" in (waiting.error or "")
    assert updated_health(health, waiting, NOW, SETTINGS).consecutive_failures == 1
    known = SourceHealth(name="A", etag='"v1"', last_modified="Tue, 15 Apr 2025 10:00:00 GMT")
    unchanged = updated_health(known, SourceResult(source="A", ok=True, not_modified=True), NOW, SETTINGS)
    assert unchanged.etag == '"v1"' and unchanged.last_status == "not modified"


def test_retry_after_parsing() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 16 Apr 2025 07:00:00 GMT", now=NOW) == 3600
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_public_address_check() -> None:
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "0.0.0.0",
    ):
        assert not is_public_address(address), address
    assert not is_public_address("::ffff:127.0.0.1")
    assert is_public_address("93.184.216.34") and is_public_address("2606:2800:220:1::1")


def test_links_from_feeds_to_private_addresses_and_files_are_refused(http_server: LocalServer) -> None:
    url = http_server.add("/page.html", "<p>secret</p>")
    with Fetcher(SETTINGS) as fetcher:
        with pytest.raises(FetchError, match="non-public"):
            fetcher.fetch(url, from_feed=True)
        with pytest.raises(FetchError, match="scheme"):
            fetcher.fetch("file:///etc/passwd", from_feed=True)
        assert fetcher.fetch(url).content == b"<p>secret</p>"  # a configured source's own address
    with Fetcher(SETTINGS, trusted_hosts=frozenset({"127.0.0.1"})) as fetcher:
        assert fetcher.fetch(url, from_feed=True).content == b"<p>secret</p>"
    assert http_server.requests and all(path == "/page.html" for path, _ in http_server.requests)


def test_credentials_never_reach_a_log_line() -> None:
    from newsdigest.sources.fetch import redact_text, redact_url

    assert redact_url("https://user:hunter2@feeds.example/rss?token=abc&page=2") == (
        "https://***@feeds.example/rss?token=***&page=2"
    )
    assert redact_url("https://feeds.example/rss?api_key=k1#x") == "https://feeds.example/rss?api_key=***#x"
    assert redact_url("https://feeds.example/a?b=c") == "https://feeds.example/a?b=c"
    assert (
        redact_text("error for url 'https://u:p@x.example/f?sig=1'")
        == "error for url 'https://***@x.example/f?sig=***'"
    )
