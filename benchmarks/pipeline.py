"""Pipeline benchmark: the whole daily flow on a generated corpus served from 127.0.0.1.

Run from the project root::

    python -m benchmarks.pipeline --articles N [--feeds F] [--runner threads|dask] [--workers 2] [--json FILE]

The corpus has N articles in F RSS feeds whose items carry a one-sentence teaser, so every
article page is fetched and extracted, as for most real feeds. A tenth of the articles are
syndicated copies on another feed, and articles come in groups of three reports of one event.
The same corpus is then run through the stages as plain function calls, without Prefect, so the
share of the time Prefect's own machinery takes can be read off.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import psutil

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "te",
    "su",
    "na",
    "vi",
    "do",
    "re",
    "sa",
    "ko",
    "li",
    "ma",
    "no",
    "pe",
    "ti",
    "ru",
    "ve",
    "da",
]
_PLACES = [
    "Arden",
    "Belmar",
    "Corvin",
    "Dunmore",
    "Eskel",
    "Farrow",
    "Galen",
    "Harlow",
    "Ivesby",
    "Jarrow",
    "Kelso",
    "Lorne",
    "Marlow",
    "Norby",
]
_NOUNS = [
    "residents",
    "workers",
    "students",
    "passengers",
    "patients",
    "farmers",
    "voters",
    "tenants",
    "drivers",
    "visitors",
]
_VERBS = ["evacuated", "affected", "registered", "counted", "moved", "hired", "trained", "reached"]
_TOPICS = [
    "flood",
    "budget",
    "strike",
    "election",
    "bridge",
    "hospital",
    "harbour",
    "railway",
    "school",
    "festival",
    "drought",
    "storm",
]


def _name(rng: random.Random) -> str:
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(2))


def _event(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "topic": rng.choice(_TOPICS),
        "place": rng.choice(_PLACES),
        "people": [_name(rng) for _ in range(3)],
        "figures": [rng.randint(100, 99_000) for _ in range(3)],
        "number": number,
    }


def _report(event: dict[str, Any], rng: random.Random, paragraphs: int = 7) -> tuple[str, list[str]]:
    """A headline and paragraphs about an event, in words of their own."""
    topic, place, (a, b, c), (x, y, z) = event["topic"], event["place"], event["people"], event["figures"]
    title = f"{place} {topic}: {rng.choice(['officials', 'residents', 'council'])} report {x:,} {rng.choice(_NOUNS)}"
    templates = [
        f"{a}, who leads the {place} {topic} response, said on Tuesday that {x:,} {rng.choice(_NOUNS)} were "
        f"{rng.choice(_VERBS)} in the first week.",
        f"According to {b}, the cost of the {topic} could reach {y:,} dollars by the end of the year.",
        f'"We have never seen anything like this in {place}," {c} told reporters, adding that {z:,} more '
        f"{rng.choice(_NOUNS)} could be {rng.choice(_VERBS)}.",
        f"The regional office in {place} confirmed {x:,} cases and said a full count would follow next month.",
        f"{b} warned that the {topic} would test the town's reserves, which stand at {y:,} dollars.",
        f"Local groups said {rng.randint(2, 40)} shelters had opened and {rng.randint(50, 900)} volunteers "
        f"had signed up since Monday.",
        f"{a} denied that the {place} authorities had been warned in advance about the {topic}.",
        f"Officials in neighbouring districts said they would send {rng.randint(3, 60)} crews to help.",
    ]
    rng.shuffle(templates)
    return title, templates[:paragraphs]


def _page(title: str, outlet: str, paragraphs: list[str], related: list[str]) -> str:
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    links = "".join(f'<li><a href="/x/{n}">{escape(t)}</a></li>' for n, t in enumerate(related))
    return (
        f"<!doctype html><html><head><title>{escape(title)} | {outlet}</title>"
        f'<meta property="og:title" content="{escape(title)}"></head><body>'
        f'<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a></nav>'
        f'<main><article><h1>{escape(title)}</h1><p class="byline">By staff of {outlet}</p>{body}'
        f'<aside class="related"><h3>Related</h3><ul>{links}</ul></aside></article>'
        f'<section class="newsletter"><h3>The {outlet} briefing</h3><p>Sign up for our daily email.</p></section>'
        f"</main><footer>Copyright 2025 {outlet}. All rights reserved.</footer></body></html>"
    )


def build_corpus(articles: int, feeds: int, seed: int = 7) -> dict[str, bytes]:
    """Paths on the local server -> bodies: `feeds` RSS feeds and one page per article."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    items: list[list[str]] = [[] for _ in range(feeds)]
    routes: dict[str, bytes] = {}
    originals: list[tuple[str, str, list[str]]] = []
    event: dict[str, Any] = {}
    for number in range(articles):
        feed = number % feeds
        outlet = f"Outlet {feed}"
        path = f"/o{feed}/a{number}.html"
        if originals and rng.random() < 0.1:
            title, paragraphs = originals[rng.randrange(len(originals))][1:]  # a syndicated copy
        else:
            if number % 3 == 0:
                event = _event(rng, number)
            title, paragraphs = _report(event, rng)
            originals.append((path, title, paragraphs))
        related = [originals[rng.randrange(len(originals))][1] for _ in range(4)]
        routes[path] = _page(title, outlet, paragraphs, related).encode()
        published = format_datetime(now - timedelta(seconds=10 * (articles - number)), usegmt=True)
        items[feed].append(
            f"<item><title>{escape(title)}</title><link>{{base}}{path}</link><guid>{{base}}{path}</guid>"
            f"<pubDate>{published}</pubDate><description>{escape(paragraphs[0])}</description></item>"
        )
    for feed, entries in enumerate(items):
        routes[f"/feeds/{feed}.xml"] = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Outlet {feed}</title>{''.join(entries)}</channel></rss>"
        ).encode()
    return routes


class CorpusServer:
    """Serves the corpus on 127.0.0.1 from a process of its own, so its memory and CPU are not the flow's."""

    def __init__(self, articles: int, feeds: int) -> None:
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve_corpus, args=(articles, feeds, sender), daemon=True)
        self.process.start()
        self.base, self.corpus_seconds = receiver.recv()

    def close(self) -> None:
        """Stop serving."""
        self.process.terminate()
        self.process.join(10)


def _serve_corpus(articles: int, feeds: int, ready: Any) -> None:
    """The server process: build the corpus, report the base URL, serve until terminated."""
    started = time.perf_counter()
    routes = build_corpus(articles, feeds)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = routes.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            # Feeds carry an ETag, so a second run asks conditionally and hears 304 Not Modified.
            etag = f'"{zlib.crc32(body):08x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            kind = "application/rss+xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    for path, body in list(routes.items()):
        if path.startswith("/feeds/"):
            routes[path] = body.replace(b"{base}", base.encode())
    ready.send((base, time.perf_counter() - started))
    httpd.serve_forever()


class MemorySampler:
    """Peak resident memory of this process plus its children (Prefect's server, Dask workers), sampled.

    The corpus server is left out: it stands in for the publishers' machines.
    """

    def __init__(self, exclude: set[int], interval: float = 0.2) -> None:
        self.exclude = exclude
        self.interval = interval
        self.peak_total = 0.0
        self.peak_own = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        own_process = psutil.Process()
        own = own_process.memory_info().rss
        total = own
        for child in own_process.children(recursive=True):
            if child.pid in self.exclude:
                continue
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        self.peak_own = max(self.peak_own, own / 2**20)
        self.peak_total = max(self.peak_total, total / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def write_config(folder: Path, base: str, feeds: int, runner: str, workers: int) -> Path:
    """A configuration reading every feed of the corpus."""
    lines = [
        "[digest]",
        "window_hours = 72",
        "max_stories = 40",
        "[fetch]",
        "per_host_interval = 0",
        "per_host_connections = 16",
        "retries = 0",
        "[run]",
        f'task_runner = "{runner}"',
        f"dask_workers = {workers}",
    ]
    for feed in range(feeds):
        lines += ["[[sources]]", f'name = "Outlet {feed}"', f'url = "{base}/feeds/{feed}.xml"']
    path = folder / "pipeline.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plain_run(config_path: Path, state: str, out: Path) -> float:
    """The flow's own steps (newsdigest.pipeline) as plain calls on thread pools, no Prefect: wall seconds."""
    from newsdigest.config.load import load_config_once
    from newsdigest.pipeline import plan_run, run_without_prefect

    started = time.perf_counter()
    plan = plan_run(load_config_once(config_path), datetime.now(UTC), out_dir=str(out), state=state)
    run_without_prefect(plan)
    return time.perf_counter() - started


def run(articles: int, feeds: int, runner: str, workers: int, plain: bool) -> dict[str, Any]:
    """Serve a corpus, run the flow on it once (after a warm-up of the Prefect server), measure."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect import flow

    from newsdigest.config.load import load_config_once
    from newsdigest.flow import flow_for

    @flow(name="warm-up")
    def warm_up() -> None:
        """Starts Prefect's temporary server before the clock starts."""

    warm_up()
    server = CorpusServer(articles, feeds)
    with tempfile.TemporaryDirectory(prefix="newsdigest-pipeline-") as tmp:
        folder = Path(tmp)
        config_path = write_config(folder, server.base, feeds, runner, workers)
        config = load_config_once(config_path)
        with MemorySampler(exclude={server.process.pid}) as memory:
            started = time.perf_counter()
            summary = flow_for(config)(
                config_path=str(config_path), out_dir=str(folder / "out"), state=str(folder / "state.sqlite")
            )
            wall = time.perf_counter() - started
        # The same corpus again: nothing is new and every feed answers 304.
        again = time.perf_counter()
        second = flow_for(config)(
            config_path=str(config_path), out_dir=str(folder / "out"), state=str(folder / "state.sqlite")
        )
        second_wall = time.perf_counter() - again
        result: dict[str, Any] = {
            "articles": articles,
            "feeds": feeds,
            "runner": runner,
            "workers": workers if runner == "dask" else 1,
            "new_articles": summary.new_articles,
            "stories": summary.stories,
            "failed_sources": len(summary.failed_sources),
            "wall_seconds": round(wall, 2),
            "articles_per_second": round(summary.new_articles / wall, 1) if wall else 0.0,
            "stage_seconds": summary.seconds,
            "second_run_seconds": round(second_wall, 2),
            "second_run_new_articles": second.new_articles,
            "corpus_seconds": round(server.corpus_seconds, 2),
            # The flow's process with Prefect's temporary server and any Dask workers; the flow's own alone.
            "peak_rss_mb": round(memory.peak_total, 1),
            "peak_rss_flow_process_mb": round(memory.peak_own, 1),
        }
        if plain:
            plain_wall = plain_run(config_path, str(folder / "plain.sqlite"), folder / "plain-out")
            result["plain_wall_seconds"] = round(plain_wall, 2)
            result["prefect_share"] = round(max(0.0, 1 - plain_wall / wall), 3) if wall else 0.0
    server.close()
    return result


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--feeds", type=int, help="number of feeds (default: one per 100 articles, at least 5)")
    parser.add_argument("--runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--no-plain", action="store_true", help="skip the run without Prefect")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--keep-prefect-home",
        action="store_true",
        help="use the usual PREFECT_HOME (its database keeps every earlier run) instead of a fresh one",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.keep_prefect_home:
        return _main(args)
    # Prefect's temporary server keeps its database in PREFECT_HOME; one that holds every earlier
    # benchmark and test run (it grew to 880 MB in a morning here) slows the server's writes, so
    # each benchmark run gets a fresh one and its figures do not depend on what ran before.
    home = tempfile.mkdtemp(prefix="newsdigest-prefect-home-")
    os.environ["PREFECT_HOME"] = home
    # Registered before Prefect is imported, so it runs after Prefect's own exit handlers have
    # stopped the temporary server: stopped any earlier, the server drops its last events noisily.
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return _main(args)


def _main(args: argparse.Namespace) -> int:
    for noisy in ("trafilatura", "htmldate", "courlan", "newsdigest", "prefect", "distributed"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    feeds = args.feeds or max(5, args.articles // 100)
    result = run(args.articles, feeds, args.runner, args.workers, plain=not args.no_plain)
    stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result["stage_seconds"].items())
    print(
        f"{result['articles']} articles in {feeds} feeds, runner {result['runner']}: "
        f"{result['new_articles']} new, {result['stories']} stories, {result['wall_seconds']} s, "
        f"{result['articles_per_second']} articles/s, peak {result['peak_rss_mb']} MB "
        f"(flow process {result['peak_rss_flow_process_mb']} MB)\n  stages: {stages}"
    )
    print(f"  second run (every feed 304): {result['second_run_seconds']} s, {result['second_run_new_articles']} new")
    if "plain_wall_seconds" in result:
        print(f"  without Prefect: {result['plain_wall_seconds']} s (Prefect's share {result['prefect_share']:.1%})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["failed_sources"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
