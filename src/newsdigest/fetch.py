"""Fetching: http(s) through httpx with time and size caps, local files and offline mirrors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from newsdigest.config import FetchSettings
from newsdigest.errors import FetchError

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    """The body of a fetched document and what the server said about it."""

    url: str  # the final URL, after redirects and mirror mapping
    content: bytes
    status_code: int = 200
    content_type: str = ""
    local: bool = False


def local_path_for(location: str) -> Path | None:
    """The filesystem path a location names, or None when it is a network URL."""
    if location.startswith("file:"):
        return Path(unquote(urlsplit(location).path))
    if "://" in location:
        return None
    return Path(location)


class Fetcher:
    """Fetches sources and pages; one instance per run shares its connection pool."""

    def __init__(self, settings: FetchSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def mirror_path(self, url: str) -> Path | None:
        """The local file an offline mirror holds for `url`, if a configured prefix matches."""
        bare = url.split("#", 1)[0].split("?", 1)[0]
        for prefix, folder in self.settings.mirrors:
            if bare.startswith(prefix):
                relative = unquote(bare[len(prefix) :]).lstrip("/") or "index.html"
                candidate = (folder / relative).resolve()
                # A mirror never serves a file outside its own folder, whatever the URL says.
                if folder.resolve() in candidate.parents:
                    return candidate
        return None

    def fetch(self, location: str) -> Fetched:
        """Fetch a URL, file: URL or path; raise FetchError with a readable reason on failure."""
        path = local_path_for(location)
        if path is None:
            path = self.mirror_path(location)
            if path is None:
                return self._fetch_http(location)
        return self._read_local(path, location)

    def _read_local(self, path: Path, location: str) -> Fetched:
        try:
            with path.open("rb") as handle:
                content = handle.read(self.settings.max_bytes + 1)
        except FileNotFoundError:
            raise FetchError(f"file not found: {path}") from None
        except IsADirectoryError:
            raise FetchError(f"is a folder, not a file: {path}") from None
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(content) > self.settings.max_bytes:
            raise FetchError(f"larger than the {self.settings.max_bytes}-byte cap: {path}")
        return Fetched(url=location, content=content, local=True, content_type=_guess_type(path))

    def _fetch_http(self, url: str) -> Fetched:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme {scheme!r}: only http and https are fetched")
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    retryable = response.status_code >= 500 or response.status_code in (408, 429)
                    reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                    raise FetchError(reason, retryable=retryable)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
                    raise FetchError(f"response of {declared} bytes is over the {self.settings.max_bytes}-byte cap")
                chunks: list[bytes] = []
                size = 0
                # iter_bytes decodes gzip as it goes, so the cap also bounds decompressed size.
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.settings.max_bytes:
                        raise FetchError(f"response is over the {self.settings.max_bytes}-byte cap")
                    chunks.append(chunk)
                return Fetched(
                    url=str(response.url),
                    content=b"".join(chunks),
                    status_code=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                )
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out ({type(exc).__name__})", retryable=True) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"network error: {type(exc).__name__}: {exc}", retryable=True) from None


def _guess_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return {
        ".html": "text/html",
        ".htm": "text/html",
        ".xml": "application/xml",
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
        ".json": "application/feed+json",
        ".txt": "text/plain",
    }.get(suffix, "")
