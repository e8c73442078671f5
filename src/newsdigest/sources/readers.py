"""Reading a source: the table from a source kind to its reader, and the one entry point that uses it.

A reader turns a configured Source into a SourceResult, and may raise FetchError or FeedError:
read_source turns any failure into a failed result, so one bad source never ends a run.
Adding a kind is the enum value in models.SourceKind, a module with its reader, and a row here.
"""

from __future__ import annotations

from collections.abc import Callable

from newsdigest.errors import FeedError, FetchError
from newsdigest.models import Source, SourceKind, SourceResult, Validators
from newsdigest.sources.feeds import read_feed
from newsdigest.sources.fetch import Fetcher
from newsdigest.sources.textdir import read_text_source

Reader = Callable[[Source, Fetcher, Validators | None], SourceResult]

READERS: dict[SourceKind, Reader] = {
    SourceKind.FEED: read_feed,
    SourceKind.TEXT: read_text_source,
}


def read_source(source: Source, fetcher: Fetcher, validators: Validators | None = None) -> SourceResult:
    """Read one source with its kind's reader; any failure becomes a failed SourceResult with its reason."""
    try:
        return READERS[source.kind](source, fetcher, validators)
    except FetchError as exc:
        return SourceResult(
            source=source.name, ok=False, error=str(exc), retryable=exc.retryable, retry_after=exc.retry_after
        )
    except FeedError as exc:
        return SourceResult(source=source.name, ok=False, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad source must never end the run
        return SourceResult(source=source.name, ok=False, error=f"unexpected {type(exc).__name__}: {exc}")
