"""Hostile-entry benchmark: the real flow on a local server with a 5 MB entry and a 50,000-paragraph entry.

Run from the project root::

    python -m benchmarks.hostile [--json FILE]

Each case is one run of the daily flow (Prefect's temporary server, threads) against feeds
served from 127.0.0.1: a few ordinary articles, plus, in the hostile cases, one entry whose
feed content is 5 MB of text in long paragraphs, or 50,000 short paragraphs. Sources cap an
entry at newsdigest.text.safe.MAX_ENTRY_CHARS characters and MAX_ENTRY_PARAGRAPHS paragraphs
where it enters, so a hostile case should cost about what the baseline costs plus the cut
entry's share. Printed per case: wall seconds, CPU seconds of the flow's process (the local
server's threads included; Prefect's server is another process and is not), the digest's
outcome (stories, new articles, failed sources) and how much of the hostile entry was kept.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from benchmarks._feedserver import FeedServer

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def _words(rng: random.Random, count: int) -> str:
    """Made-up words, so no text of any real article goes into the corpus."""
    return " ".join(
        "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 4))) for _ in range(count)
    )


def _sentence(rng: random.Random) -> str:
    return f"The {_words(rng, 1)} council said {_words(rng, rng.randint(8, 20))} on {rng.randint(1, 28)} May."


def ordinary_items(base: str, count: int) -> list[dict[str, str]]:
    """Articles a normal feed carries: a title, a link and a few paragraphs of content."""
    rng = random.Random(20)
    now = datetime.now(UTC)
    items = []
    for n in range(count):
        paragraphs = "".join(f"<p>{' '.join(_sentence(rng) for _ in range(3))}</p>" for _ in range(6))
        items.append(
            {
                "title": f"Ordinary report {n}: {_words(rng, 5)}",
                "link": f"{base}/articles/ordinary-{n}.html",
                "guid": f"ordinary-{n}",
                "description": paragraphs,
                "pubDate": format_datetime(now - timedelta(hours=1 + n), usegmt=True),
            }
        )
    return items


def five_megabyte_entry(base: str) -> dict[str, str]:
    """One entry whose content is 5 MB of text in 50 paragraphs of about 100 kB each."""
    rng = random.Random(5)
    paragraph_chars = 100_000
    paragraphs = []
    for _ in range(50):
        sentences: list[str] = []
        size = 0
        while size < paragraph_chars:
            sentences.append(_sentence(rng))
            size += len(sentences[-1]) + 1
        paragraphs.append("<p>" + " ".join(sentences) + "</p>")
    return _hostile_item(base, "five-megabytes", "".join(paragraphs))


def fifty_thousand_paragraphs_entry(base: str) -> dict[str, str]:
    """One entry whose content is 50,000 paragraphs of one sentence each."""
    rng = random.Random(50)
    return _hostile_item(base, "fifty-thousand-paragraphs", "".join(f"<p>{_sentence(rng)}</p>" for _ in range(50_000)))


def _hostile_item(base: str, name: str, content: str) -> dict[str, str]:
    return {
        "title": f"Hostile entry: {name}",
        "link": f"{base}/articles/{name}.html",
        "guid": name,
        "description": content,
        "pubDate": format_datetime(datetime.now(UTC) - timedelta(minutes=30), usegmt=True),
    }


def rss(items: list[dict[str, str]]) -> bytes:
    """An RSS 2.0 document of the items."""
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Benchmark</title>']
    for item in items:
        parts.append("<item>" + "".join(f"<{key}>{escape(value)}</{key}>" for key, value in item.items()) + "</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_case(name: str, hostile: dict[str, str] | None, server: FeedServer, folder: Path) -> dict[str, Any]:
    """One flow run on the ordinary feed and, if given, a feed with the hostile entry; its figures."""
    from newsdigest.flow import daily_digest
    from newsdigest.store import Store

    server.documents[f"/{name}/ordinary.xml"] = rss(ordinary_items(server.base, 5))
    feeds = [("ordinary", f"{server.base}/{name}/ordinary.xml")]
    sent_chars = 0
    if hostile is not None:
        server.documents[f"/{name}/hostile.xml"] = rss([hostile])
        feeds.append(("hostile", f"{server.base}/{name}/hostile.xml"))
        sent_chars = len(hostile["description"])
    lines = ["[digest]", 'title = "Hostile benchmark"', "window_hours = 48", "[fetch]", "per_host_interval = 0"]
    for feed, url in feeds:
        lines += ["[[sources]]", f'name = "{feed}"', f'url = "{url}"', "fetch_pages = false"]
    config = folder / f"{name}.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    state = folder / f"{name}.sqlite"
    cpu, started = _cpu_seconds(), time.perf_counter()
    summary = daily_digest(config_path=str(config), out_dir=str(folder / name), state=str(state))
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    digest = json.loads(Path(summary.files["json"]).read_text(encoding="utf-8"))
    in_digest = any(
        article.get("title", "").startswith("Hostile entry")
        for story in digest.get("stories", [])
        for article in story.get("articles", [])
    )
    with Store.open(str(state)) as store:
        kept = [row.article for row in store.articles_for_digest(summary.digest_date) if row.article.guid != ""]
    hostile_text = next((a.text for a in kept if a.title.startswith("Hostile entry")), "")
    return {
        "case": name,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "stories": summary.stories,
        "new_articles": summary.new_articles,
        "failed_sources": sorted(summary.failed_sources),
        "hostile_chars_sent": sent_chars,
        "hostile_chars_stored": len(hostile_text),
        "hostile_paragraphs_stored": len([line for line in hostile_text.split("\n") if line.strip()]),
        "hostile_in_digest": in_digest,
        "stage_seconds": summary.seconds,
    }


def run() -> list[dict[str, Any]]:
    """The three cases, each in a fresh store, after a warm-up of Prefect's temporary server."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> None:
        """Starts Prefect's temporary server before the clock starts."""

    warm_up()
    server = FeedServer()
    try:
        with tempfile.TemporaryDirectory(prefix="newsdigest-hostile-") as tmp:
            folder = Path(tmp)
            return [
                run_case("baseline", None, server, folder),
                run_case("five-megabyte-entry", five_megabyte_entry(server.base), server, folder),
                run_case("fifty-thousand-paragraphs", fifty_thousand_paragraphs_entry(server.base), server, folder),
            ]
    finally:
        server.close()


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    # A fresh PREFECT_HOME, so the figures do not depend on an earlier run's database (see benchmarks.pipeline).
    home = tempfile.mkdtemp(prefix="newsdigest-prefect-home-")
    os.environ["PREFECT_HOME"] = home
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    for noisy in ("trafilatura", "htmldate", "courlan", "newsdigest", "prefect"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    rows = run()
    print(f"{'case':<27} {'wall s':>7} {'CPU s':>7} {'stories':>7} {'new':>4} {'failed':>6}  hostile entry")
    for row in rows:
        kept = (
            f"{row['hostile_chars_sent']:,} chars sent, {row['hostile_chars_stored']:,} stored in "
            f"{row['hostile_paragraphs_stored']:,} paragraphs, in digest: {row['hostile_in_digest']}"
            if row["hostile_chars_sent"]
            else "-"
        )
        print(
            f"{row['case']:<27} {row['wall_seconds']:>7.2f} {row['cpu_seconds']:>7.2f} {row['stories']:>7} "
            f"{row['new_articles']:>4} {len(row['failed_sources']):>6}  {kept}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0 if all(not row["failed_sources"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
