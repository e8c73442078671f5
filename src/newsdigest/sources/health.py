"""Source health: when to check a source next, and when to call it failing.

A source that fails waits before it is tried again: ``backoff_seconds`` after the first
failure, doubling with each further one up to ``max_backoff_seconds``, with a little jitter so
that sources failing together do not come back together; a server's Retry-After wins when it
asks for longer. After ``failing_after`` failed runs in a row the source is reported as
failing, and it is still tried, at the slow pace the backoff has reached.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from newsdigest.config.records import FetchSettings
from newsdigest.models import SourceHealth, SourceResult

JITTER = 0.2  # the wait is scaled by a random factor in [1 - JITTER, 1 + JITTER]


def backoff_seconds(failures: int, settings: FetchSettings, rand: Callable[[], float] = random.random) -> float:
    """The wait after `failures` failures in a row: exponential, capped, jittered."""
    if failures <= 0:
        return 0.0
    # typeshed types int ** int as Any (a negative exponent gives a float); here it is a number of seconds.
    base: float = min(settings.backoff_seconds * 2 ** (failures - 1), settings.max_backoff_seconds)
    return base * (1 - JITTER + 2 * JITTER * rand())


def is_due(health: SourceHealth | None, now: datetime) -> bool:
    """Whether a source may be checked now (never checked, or its wait is over)."""
    return health is None or health.next_check is None or health.next_check <= now


def is_failing(health: SourceHealth | None, settings: FetchSettings) -> bool:
    """Whether a source has failed enough runs in a row to be reported as failing."""
    return health is not None and health.consecutive_failures >= settings.failing_after


def waiting_result(health: SourceHealth) -> SourceResult:
    """The result of a run that skipped a source because its wait is not over."""
    when = health.next_check.strftime("%Y-%m-%d %H:%M UTC") if health.next_check else "later"
    reason = (
        f"not checked: waiting until {when} after {health.consecutive_failures} failed "
        f"run{'s' if health.consecutive_failures != 1 else ''} ({health.last_error or 'unknown error'})"
    )
    return SourceResult(source=health.name, ok=False, error=reason, skipped=True)


def updated_health(
    previous: SourceHealth | None,
    result: SourceResult,
    now: datetime,
    settings: FetchSettings,
    rand: Callable[[], float] = random.random,
) -> SourceHealth:
    """The source's health after this run's result."""
    health = previous or SourceHealth(name=result.source)
    if result.skipped:
        return replace(health, last_status="waiting")
    if result.ok:
        return replace(
            health,
            last_attempt=now,
            last_success=now,
            last_error=None,
            consecutive_failures=0,
            next_check=None,
            # A 304 carries no new validators; keep the ones that earned it.
            etag=result.etag or health.etag,
            last_modified=result.last_modified or health.last_modified,
            last_status="not modified" if result.not_modified else "ok",
        )
    failures = health.consecutive_failures + 1
    wait = backoff_seconds(failures, settings, rand)
    if result.retry_after is not None:
        wait = max(wait, result.retry_after)
    return replace(
        health,
        last_attempt=now,
        last_error=result.error,
        consecutive_failures=failures,
        next_check=now + timedelta(seconds=wait),
        last_status="failed",
    )


def footer_reason(result: SourceResult, health: SourceHealth, settings: FetchSettings) -> str | None:
    """The reason a digest shows for a source that did not deliver, flagged when it is failing."""
    if result.ok:
        return None
    reason = result.error or "unknown error"
    if is_failing(health, settings):
        return f"failing for {health.consecutive_failures} runs in a row: {reason}"
    return reason
