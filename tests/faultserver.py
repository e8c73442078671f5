"""A misbehaving HTTP server on 127.0.0.1: good feeds next to every kind of bad response."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

Behaviour = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class GoodArticle:
    """An article a good feed serves: it must reach the digest."""

    url: str
    title: str


def rss(items: list[dict[str, str]], encoding: str = "utf-8", channel: str = "Fault test feed") -> str:
    """An RSS 2.0 document with the given items (title, link, guid, description, pubDate)."""
    parts = [f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>{channel}</title>']
    for item in items:
        fields = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in item.items())
        parts.append(f"<item>{fields}</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


_VOCABULARY = [
    "harbour",
    "council",
    "river",
    "bridge",
    "school",
    "library",
    "museum",
    "station",
    "tram",
    "ferry",
    "market",
    "bakery",
    "orchard",
    "vineyard",
    "factory",
    "mill",
    "quarry",
    "forest",
    "meadow",
    "glacier",
    "volcano",
    "island",
    "lagoon",
    "canyon",
    "desert",
    "tundra",
    "prairie",
    "marsh",
    "festival",
    "concert",
    "exhibition",
    "tournament",
    "election",
    "referendum",
    "budget",
    "pension",
    "tariff",
    "subsidy",
    "census",
    "drought",
    "flood",
    "storm",
    "blizzard",
    "heatwave",
    "earthquake",
    "landslide",
    "wildfire",
    "eclipse",
    "comet",
    "telescope",
    "satellite",
    "vaccine",
    "clinic",
    "hospital",
    "pharmacy",
    "surgeon",
    "nurse",
    "teacher",
    "student",
    "farmer",
    "fisher",
    "miner",
    "pilot",
    "sailor",
    "engineer",
    "architect",
    "painter",
    "poet",
    "novelist",
    "composer",
    "violinist",
    "drummer",
    "dancer",
    "sculptor",
    "potter",
    "weaver",
]


def article_text(topic: str, number: int, sentences: int = 9) -> str:
    """Distinct sentences about one topic: each article draws its own words, so none is a near-copy."""
    rng = random.Random(f"{topic}-{number}")
    lines = []
    for k in range(sentences):
        words = " ".join(rng.sample(_VOCABULARY, 9))
        lines.append(f"The {topic} report {number}.{k} mentions {words} and the figure {rng.randint(10, 99_999)}.")
    return " ".join(lines)


class FaultServer:
    """Routes of canned behaviours, each a function that writes its own (possibly broken) response."""

    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: dict[str, int] = {}
        self.conditional_hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                if self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"):
                    server.conditional_hits[path] = server.conditional_hits.get(path, 0) + 1
                behaviour = server.routes.get(path)
                try:
                    if behaviour is None:
                        send(self, 404, b"not found", "text/plain")
                    else:
                        behaviour(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should with a slow or huge response

            def log_message(self, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            # The flow reads every source at once: socketserver's default backlog of 5 drops connections
            # on a busy machine, and a dropped SYN is a 1 s retransmit, past the tests' 2 s connect timeout.
            request_queue_size = 128

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
) -> None:
    """A complete, well-formed response."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def fixed(status: int, body: bytes | str, content_type: str = "application/rss+xml", **headers: str) -> Behaviour:
    """A behaviour that always sends the same response."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    header_map = {key.replace("_", "-"): value for key, value in headers.items()}
    return lambda handler: send(handler, status, data, content_type, header_map)


def with_etag(body: str, etag: str) -> Behaviour:
    """A feed that answers a matching If-None-Match with 304 Not Modified."""
    data = body.encode("utf-8")

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        send(handler, 200, data, "application/rss+xml", {"ETag": etag})

    return behaviour


def slow_drip(handler: BaseHTTPRequestHandler) -> None:
    """Headers, then one byte a second, for a minute."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "60")
    handler.end_headers()
    for _ in range(60):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(1)


def reset_mid_body(handler: BaseHTTPRequestHandler) -> None:
    """Promise 100 kB, send 2 kB of a feed, then reset the connection."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(rss([{"title": "cut", "link": "http://x/1"}] * 30).encode()[:2000])
    handler.wfile.flush()
    # SO_LINGER with a zero timeout turns close() into a TCP reset.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.wfile.close()
    handler.rfile.close()
    handler.connection.close()
    handler.close_connection = True


def huge_body(declared: bool) -> Behaviour:
    """50 MB of body, with or without a Content-Length that says so."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        size = 50 * 1024 * 1024
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        if declared:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)
        handler.close_connection = True

    return behaviour


def _make_bomb(megabytes: int) -> bytes:
    """A gzip stream of zeros, built a megabyte at a time so the test process never holds the whole."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(megabytes)]
    parts.append(compressor.flush())
    return b"".join(parts)


GZIP_BOMB = _make_bomb(200)


def gzip_bomb(handler: BaseHTTPRequestHandler) -> None:
    """A body of about 200 kB that inflates to 200 MB."""
    send(handler, 200, GZIP_BOMB, "application/rss+xml", {"Content-Encoding": "gzip"})


def redirect(location: str) -> Behaviour:
    """A 302 to the given location."""
    return lambda handler: send(handler, 302, b"", "text/plain", {"Location": location})


ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE bomb [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
    + ']><rss version="2.0"><channel><title>&j;</title><item><title>&j;</title>'
    + "<description>&j;</description></item></channel></rss>"
)


def http_date(moment: datetime) -> str:
    """An RFC 1123 date for RSS pubDate."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def recent(hours: float) -> str:
    """pubDate of a moment `hours` ago."""
    return http_date(datetime.now(UTC) - timedelta(hours=hours))
