"""Fetching: http(s) through httpx with caps, politeness, an address guard, robots.txt, local files and mirrors."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from protego import Protego

from newsdigest.config.records import FetchSettings
from newsdigest.errors import FetchError
from newsdigest.models import Fetched, Validators

MAX_REDIRECTS = 5
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Only the start of a robots.txt is read, as the big crawlers do (RFC 9309 asks for at least 500 KiB).
ROBOTS_MAX_BYTES = 512_000
ROBOTS_RUNS_KEPT = 4  # runs whose robots.txt answers a process keeps (a `serve` process runs day after day)


_SECRET_PARAMS = re.compile(
    r"([?&](?:[^=&]*(?:token|key|secret|password|passwd|auth|sig)[^=&]*)=)[^&#\s'\"]*", re.IGNORECASE
)
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A URL fit for a log line or a digest: no user:password@, no token-like query values."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = parts._replace(netloc=f"***@{netloc}").geturl()
    return _SECRET_PARAMS.sub(r"\1***", url)


def redact_text(text: str) -> str:
    """A message with every URL in it redacted (see redact_url)."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def origin_of(url: str) -> str | None:
    """The scheme, host and port a URL is served from ("http://example.org:80"); None unless http(s) with a host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:  # a port out of range or not a number
        return None
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local, reserved)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_host(host: str) -> None:
    """Raise FetchError unless every address the host resolves to is public."""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}", retryable=True) from None
    for address in sorted(addresses):
        if not is_public_address(address):
            raise FetchError(f"refused: {host} resolves to the non-public address {address}")


class HostGate:
    """Per-host politeness shared by every fetcher in the process: a few connections, spaced out."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    # Keyed by host and connection limit: a fetcher with other settings gets its own gate, not
    # whatever limit the first fetcher in the process happened to have.
    _hosts: ClassVar[dict[tuple[str, int], tuple[threading.BoundedSemaphore, list[float]]]] = {}

    def __init__(self, connections: int, interval: float) -> None:
        self.connections = connections
        self.interval = interval

    def _slot(self, host: str) -> tuple[threading.BoundedSemaphore, list[float]]:
        key = (host, self.connections)
        with self._lock:
            if key not in self._hosts:
                self._hosts[key] = (threading.BoundedSemaphore(self.connections), [0.0])
            return self._hosts[key]

    def enter(self, host: str) -> threading.BoundedSemaphore:
        """Wait for a free connection and for the interval since the host's last request to pass."""
        semaphore, last_start = self._slot(host)
        semaphore.acquire()
        with self._lock:
            start = max(time.monotonic(), last_start[0] + self.interval)
            last_start[0] = start
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return semaphore


class _StatusError(FetchError):
    """A FetchError for an HTTP error status; robots.txt handling needs the code, everyone else the message."""

    def __init__(self, message: str, status: int, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.status = status


@dataclass(frozen=True)
class RobotsAnswer:
    """What one origin's robots.txt says: its rules, or a refusal of every page for this run."""

    rules: Protego | None = None  # None with no refusal: no robots.txt (4xx), every page allowed
    refusal: str | None = None  # the robots.txt could not be read (5xx, timeout): no page this run

    def refuses(self, url: str, user_agent: str) -> str | None:
        """Why the page may not be fetched, or None when it may."""
        if self.refusal is not None:
            return self.refusal
        if self.rules is not None and not self.rules.can_fetch(url, user_agent):
            return "disallowed by robots.txt"
        return None


class RobotsCache:
    """robots.txt answers per origin (scheme, host, port), each fetched once; shared by the fetchers of a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, RobotsAnswer] = {}
        self._loading: dict[str, threading.Lock] = {}
        self.fetches = 0  # robots.txt requests made through this cache (tests count them)

    def answer(self, origin: str, load: Callable[[], RobotsAnswer]) -> RobotsAnswer:
        """The origin's answer, loading it once even when several threads ask at the same time."""
        with self._lock:
            if origin in self._answers:
                return self._answers[origin]
            origin_lock = self._loading.setdefault(origin, threading.Lock())
        with origin_lock:
            with self._lock:
                if origin in self._answers:
                    return self._answers[origin]
                self.fetches += 1
            answer = load()
            with self._lock:
                self._answers[origin] = answer
            return answer


_RUN_ROBOTS: dict[str, RobotsCache] = {}
_RUN_ROBOTS_LOCK = threading.Lock()


def robots_for_run(run: str) -> RobotsCache:
    """The robots.txt cache every fetcher of this run shares in this process (a new run reads them again)."""
    # Reached by name, like the boilerplate line cache: a task sent to a Dask worker finds that process's own.
    with _RUN_ROBOTS_LOCK:
        cache = _RUN_ROBOTS.get(run)
        if cache is None:
            cache = _RUN_ROBOTS[run] = RobotsCache()
            while len(_RUN_ROBOTS) > ROBOTS_RUNS_KEPT:
                del _RUN_ROBOTS[next(iter(_RUN_ROBOTS))]
        return cache


def parse_robots(content: bytes) -> RobotsAnswer:
    """The rules of a robots.txt body (its first ROBOTS_MAX_BYTES); lines that are not rules are ignored."""
    text = content[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
    return RobotsAnswer(rules=Protego.parse(text))


def local_path_for(location: str) -> Path | None:
    """The filesystem path a location names, or None when it is a network URL."""
    if location.startswith("file:"):
        return Path(unquote(urlsplit(location).path))
    if "://" in location:
        return None
    return Path(location)


class Fetcher:
    """Fetches sources and pages; one instance per run shares its connection pool."""

    def __init__(
        self,
        settings: FetchSettings,
        transport: httpx.BaseTransport | None = None,
        trusted_hosts: frozenset[str] = frozenset(),
        robots: RobotsCache | None = None,
    ) -> None:
        self.settings = settings
        self.robots = robots if robots is not None else RobotsCache()
        # Origins ("http://10.0.0.5:8080", see origin_of) of the configured sources: the user chose
        # them, private or not. Trust is the source's scheme, host and port, never the host's other
        # ports; a bare host name here (no "://") still trusts the whole host, for callers that name one.
        self.trusted_hosts = trusted_hosts
        self.gate = HostGate(settings.per_host_connections, settings.per_host_interval)
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,  # followed by hand, so that every hop passes the address check
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

    def fetch(
        self, location: str, *, from_feed: bool = False, validators: Validators | None = None, robots: bool = False
    ) -> Fetched:
        """Fetch a URL, file: URL or path; raise FetchError with a readable reason on failure.

        A location taken from a feed (an entry's link) is never read from the local disk, and
        goes to the network only when its host is public or trusted. With `robots`, each URL
        requested (redirects too) must be allowed by its site's robots.txt; mirrors and files
        are read without asking, since no site is visited.
        """
        path = None if from_feed else local_path_for(location)
        if path is None:
            path = self.mirror_path(location)
            if path is None:
                # A configured source's own origin is the user's choice; where it redirects is not.
                trusted = frozenset() if from_feed else frozenset({origin_of(location) or ""}) - {""}
                return self._fetch_http(location, validators, trusted, robots=robots)
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

    def _check_target(self, url: str, trusted: frozenset[str]) -> str:
        """The URL's host, after checking its scheme and, unless trusted or allowed, its addresses."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme {scheme!r}: only http and https are fetched")
        host = (parts.hostname or "").lower()
        if not host:
            raise FetchError(f"no host in URL {url!r}")
        trust = self.trusted_hosts | trusted
        if not self.settings.allow_private_addresses and origin_of(url) not in trust and host not in trust:
            check_public_host(host)
        return host

    def robots_refusal(self, url: str) -> str | None:
        """Why the site's robots.txt forbids this URL to our User-Agent, or None when it allows it.

        The robots.txt is fetched once per origin through the same caps, redirects and address
        guard as a page. 2xx: its rules. 4xx other than 429 (none there): every page allowed.
        5xx, 429, a timeout or a network error: no page of that origin this run, as RFC 9309 and
        Google treat an unreachable robots.txt (a full disallow until it can be read again; the
        next run asks again).
        """
        origin = origin_of(url)
        if origin is None:
            return None
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme.lower()]:
            netloc += f":{parts.port}"
        robots_url = f"{parts.scheme.lower()}://{netloc}/robots.txt"

        def load() -> RobotsAnswer:
            try:
                fetched = self._fetch_http(robots_url)
            except _StatusError as exc:
                if exc.status == 429 or exc.status >= 500:
                    return RobotsAnswer(refusal=f"{robots_url} could not be read ({exc}): no page of it this run")
                return RobotsAnswer()
            except FetchError as exc:
                return RobotsAnswer(refusal=f"{robots_url} could not be read ({exc}): no page of it this run")
            return parse_robots(fetched.content)

        answer = self.robots.answer(origin, load)
        reason = answer.refuses(url, self.settings.user_agent)
        return f"{reason} ({robots_url})" if reason is not None and answer.refusal is None else reason

    def _fetch_http(
        self,
        url: str,
        validators: Validators | None = None,
        trusted: frozenset[str] = frozenset(),
        *,
        robots: bool = False,
    ) -> Fetched:
        if robots:
            # The address guard speaks first (its reason is the real one); then the robots.txt is read,
            # before the page's own clock starts.
            self._check_target(url, trusted)
            first_refusal = self.robots_refusal(url)
            if first_refusal is not None:
                raise FetchError(first_refusal)
        deadline = time.monotonic() + self.settings.total_timeout
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        watchdog = _Watchdog(self.settings.total_timeout)
        over_time = f"took longer than {self.settings.total_timeout:.0f} s in all"
        try:
            for hop in range(MAX_REDIRECTS + 1):
                host = self._check_target(url, trusted)
                refusal = self.robots_refusal(url) if robots and hop else None  # where a redirect leads
                if refusal is not None:
                    raise FetchError(refusal)
                semaphore = self.gate.enter(host)
                try:
                    extensions = {"trace": watchdog.trace}
                    with self._client.stream("GET", url, headers=headers, extensions=extensions) as response:
                        if response.status_code in _REDIRECT_CODES and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            continue
                        return self._read_response(response, deadline)
                except httpx.TimeoutException as exc:
                    # A source that timed out has had its time: trying again in the same run would only
                    # hold the run longer (the next run tries it again).
                    raise FetchError(over_time if watchdog.expired else f"timed out ({type(exc).__name__})") from None
                except httpx.HTTPError as exc:
                    if watchdog.expired:
                        raise FetchError(over_time) from None
                    detail = redact_text(str(exc))
                    raise FetchError(f"network error: {type(exc).__name__}: {detail}", retryable=True) from None
                finally:
                    semaphore.release()
            raise FetchError(f"more than {MAX_REDIRECTS} redirects")
        finally:
            watchdog.cancel()

    def _read_response(self, response: httpx.Response, deadline: float) -> Fetched:
        """The body of a final (non-redirect) response, within the size cap and the total deadline."""
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if response.status_code == 304:
            return Fetched(url=str(response.url), content=b"", status_code=304, etag=etag, last_modified=last_modified)
        if response.status_code >= 400:
            retry_after = None
            if response.status_code in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            retryable = (response.status_code >= 500 or response.status_code in (408, 429)) and retry_after is None
            reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
            if retry_after is not None:
                reason += f", asked to retry after {retry_after:.0f} s"
            raise _StatusError(reason, response.status_code, retryable=retryable, retry_after=retry_after)
        if response.status_code >= 300 or response.status_code < 200:
            raise FetchError(f"unexpected HTTP {response.status_code} {response.reason_phrase}".strip())
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
            if time.monotonic() > deadline:
                raise FetchError(f"took longer than {self.settings.total_timeout:.0f} s in all")
            chunks.append(chunk)
        return Fetched(
            url=str(response.url),
            content=b"".join(chunks),
            status_code=response.status_code,
            content_type=response.headers.get("content-type", ""),
            etag=etag,
            last_modified=last_modified,
        )


class _Watchdog:
    """Ends a request at its total deadline, even while the server drips its status line or headers.

    httpx's timeouts are per read: a server that sends a byte a second never trips them, and the
    body loop's deadline check never runs while the headers are still arriving. The watchdog learns
    each new connection's socket from httpcore's trace events and shuts it down when time is up,
    which ends the blocked read at once. (A connection reused from the pool has no connect event;
    there the per-read timeout and the body loop's check remain the bound.)
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, object]) -> None:
        """httpcore's trace callback: remember the socket of each connection made for this request."""
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        get_extra_info = getattr(stream, "get_extra_info", None)
        sock = get_extra_info("socket") if callable(get_extra_info) else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        """Stop the timer: the request is over."""
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


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
