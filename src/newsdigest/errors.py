"""One exception tree for the whole package."""

from __future__ import annotations


class NewsDigestError(Exception):
    """Base of every error newsdigest raises on purpose."""


class ConfigError(NewsDigestError):
    """The configuration file is missing, malformed or names an unknown key."""


class FetchError(NewsDigestError):
    """A source or page could not be fetched; the message is the reason shown to users."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable  # a timeout, a dropped connection or a 5xx may work on a second try
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)


class FeedError(NewsDigestError):
    """A fetched document is not a feed the pipeline can read."""


class StoreError(NewsDigestError):
    """The state store could not be opened or written."""


class DeliveryError(NewsDigestError):
    """A digest cannot be mailed at all: nothing rendered for the date, or no usable server settings."""


class SummarizerError(NewsDigestError):
    """The chat endpoint could not be reached or gave nothing usable; the message is the reason logged."""
