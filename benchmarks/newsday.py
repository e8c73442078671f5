"""News-day benchmark: the whole flow on a day of real pages and wire stories, its key claims scored.

Run from the project root::

    python -m benchmarks.newsday [--part report|fit|all] [--cnn N] [--topics N] [--plain] [--json FILE]

The day is generated into a temporary folder from ``../shared/data`` at run time (nothing of it is
kept in the project):

- the scrapinghub development pages, each under its own hostname (``https://<host>/a/<id>.html``,
  read through ``[fetch.mirrors]``), one RSS feed per site; their gold bodies are the reference text;
- held-out CNN Corpus stories rendered as pages of four made-up outlets, each with the furniture
  real sites carry (bylines and datelines, update stamps, reading times, promotions, a sponsored
  disclosure, "Related" teasers, share prompts, captions in figures or as plain lines, list
  debris); one outlet sends its articles as flattened text in the feed itself; a quarter of the
  stories are syndicated on a second outlet and a sixth come back later as a follow-up with a new lead;
- stories-dev (ECB+) articles of a few topics spread over four wire feeds;
- the few pages of trafilatura's evaluation set written in other scripts (Chinese, Japanese,
  Cyrillic, Greek, Arabic), in every part: too few to split, they only measure that such
  stories get claims (they have no gold body, so they are not in `clean`).

Feeds are served from 127.0.0.1; the flow runs as ``newsdigest run`` in a subprocess with a fresh
PREFECT_HOME (``--plain``: the same steps as plain calls in this process, no Prefect). The JSON digest
is scored:

- clean: share of claims (of stories built only from pages with a gold body) whose word trigrams
  are at least 90% inside the gold bodies of the story's articles; a claim under 5 words is not clean;
- speaker_ok: share of attributed claims (of the same stories) whose speaker has at most 6 words,
  starts with a capital letter and appears verbatim in the story's article text (gold bodies and titles);
- overlong: share of claims over 60 words; empty_stories: share of stories without a claim;
- ROUGE-1/2 (F1, stemmed, x100) of each CNN story's claims (digest order) against its highlights,
  beside Lead-3 of the original article, both cut to the highlights' word count;
- follow-ups: share grouped with their original, and share whose new lead the story shows;
- story precision/recall: pairwise, over the stories-dev articles' digest stories.

``--part`` picks a stable half of every data set (SHA-1 of the id): fit rules on ``fit``, report
``report`` (the default).
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import hashlib
import html
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from benchmarks._feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SCRAPINGHUB = DATA / "extraction-dev" / "scrapinghub"
CNN = DATA / "summarization-dev" / "cnn_corpus.jsonl.gz"
STORIES = DATA / "stories-dev" / "corpus.jsonl"
TRAFILATURA = DATA / "extraction-dev" / "trafilatura-eval"
# Scripts other than Latin, for the pages of trafilatura's set that are written in them.
_OTHER_SCRIPT = re.compile(
    r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"
)
DAY = date(2025, 6, 2)
MAX_CLAIM_WORDS = 60
MAX_SPEAKER_WORDS = 6
CLEAN_SHARE = 0.9
MIN_CLAIM_WORDS = 5

# CJK characters count one token each: such scripts put no spaces between words.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; each CJK character is a token of its own."""
    return _TOKEN.findall(text.lower())


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def word_count(text: str) -> int:
    """Words as a reader counts them: spaced words with a letter or digit, two CJK characters a word."""
    cjk = len(_CJK.findall(text))
    spaced = sum(1 for word in _CJK.sub(" ", text).split() if any(map(str.isalnum, word)))
    return spaced + (cjk + 1) // 2


def part_of(key: str) -> str:
    """'fit' or 'report': a stable half of any data set by the SHA-1 of an id."""
    return "fit" if int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "report"


# --- the day's articles ------------------------------------------------------------------------------


@dataclass
class Page:
    """One article of the day: where it lives, what feed carries it, and what is known about it."""

    url: str
    outlet: str
    title: str
    published: datetime
    html: str = ""
    raw: bytes = b""  # a page kept as its bytes, in its own encoding
    feed_text: str = ""  # an outlet that sends the article's flattened text in the feed
    gold: str = ""  # the article's own text, paragraphs on lines
    kind: str = ""  # scrapinghub | cnn | syndicated | followup | stories
    group: str = ""  # the CNN story id or the stories-dev gold story
    reference: list[str] = field(default_factory=list)
    new_lead: str = ""


@dataclass
class Outlet:
    """A made-up outlet's name, host and habits."""

    name: str
    host: str
    style: str  # figure | flat | tweet | feedtext


OUTLETS = [
    Outlet("Pinecrest Gazette", "www.pinecrest-gazette.example", "figure"),
    Outlet("Ridgeline Post", "ridgeline-post.example", "flat"),
    Outlet("Coastal Wire Service", "www.coastalwire.example", "tweet"),
    Outlet("Valley Sentinel", "valley-sentinel.example", "feedtext"),
]
WIRES = ["Northgate Wire", "Harbor Press Agency", "Summit Daily", "Lakeshore Tribune"]
_FIRST = ["Jane", "Tomas", "Priya", "Marcus", "Elena", "Kwame", "Sofia", "Daniel", "Aiko", "Lucas"]
_LAST = ["Roe", "Okafor", "Lindqvist", "Moreau", "Haddad", "Castillo", "Brennan", "Nakamura", "Petrov", "Adler"]
_WEEKDAYS = ["Mon.", "Tue.", "Wed.", "Thu.", "Fri.", "Sat.", "Sun."]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _title_of(page_html: str) -> str:
    for pattern in (r'property="og:title"\s+content="([^"]+)"', r"<title[^>]*>(.*?)</title>"):
        found = re.search(pattern, page_html, re.S | re.I)
        if found and found.group(1).strip():
            return html.unescape(re.sub(r"\s+", " ", found.group(1))).strip()[:200]
    return "Untitled"


def _paragraphs(sentences: list[str], rng: random.Random) -> list[str]:
    """Sentences grouped into paragraphs of one to three, as news sites set them."""
    out: list[str] = []
    position = 0
    while position < len(sentences):
        size = 1 if position == 0 else rng.choice((1, 1, 2, 2, 3))
        out.append(" ".join(s.strip() for s in sentences[position : position + size] if s.strip()))
        position += size
    return [p for p in out if p]


def _caption(rng: random.Random, outlet: Outlet, title: str) -> str:
    words = [w for w in re.findall(r"[A-Z][a-z]{3,}", title)][:2] or ["The scene"]
    return (
        f"{' '.join(words)} seen from the street on {rng.choice(['Monday', 'Sunday', 'Friday'])}. "
        f"(Photo: {_person(rng)}/{outlet.name})"
    )


def _furnished(outlet: Outlet, title: str, body: list[str], related: list[str], rng: random.Random) -> tuple[str, str]:
    """A page (HTML) or a feed's flattened text for an article, with the outlet's furniture."""
    author = _person(rng)
    stamp = f"{rng.randint(1, 11)}:{rng.randint(10, 59)} AM EDT 06/0{rng.randint(1, 2)}/2025"
    weekday = rng.choice(_WEEKDAYS)
    paragraphs = list(body)
    teaser = f"Related: {related[0]}" if related else ""
    promo = f"Join our free {rng.choice(['$5,000', '$10,000', '$25,000'])} prediction challenge and win big every week"
    captions = [_caption(rng, outlet, title) for _ in range(rng.choice((1, 2, 3)))]
    if outlet.style == "feedtext":
        lines = [
            f"By {author} | {outlet.name}",
            f"UPDATED: {weekday}, Jun. 2, 2025",
            f"Reading time: {rng.randint(2, 7)} minutes",
            *captions,
            *paragraphs[:2],
            teaser,
            *paragraphs[2:4],
            promo,
            *paragraphs[4:],
            "Share this story",
        ]
        return "", "\n\n".join(line for line in lines if line)
    if outlet.style == "figure":
        figure = "".join(
            f"<figure><img src='/i{n}.jpg'><figcaption>{escape(c)}</figcaption></figure>"
            for n, c in enumerate(captions)
        )
        inner = [f"<p>{escape(p)}</p>" for p in paragraphs]
        if len(inner) > 3 and teaser:
            inner.insert(3, f"<p><strong>{escape(teaser)}</strong></p>")
        if len(inner) > 6:
            inner.insert(6, f"<p>{escape(promo)}</p>")
        article = (
            f"<p class='byline'>{stamp} by {escape(author)}</p><p class='updated'>UPDATED: {weekday}, Jun. 2</p>"
            f"<p>Reading time: {rng.randint(2, 7)} min</p>{figure}{''.join(inner)}"
            f"<p><em>This article contains sponsored links; {escape(outlet.name)} may earn a commission.</em></p>"
        )
    elif outlet.style == "flat":
        # Everything in one box, paragraphs between line breaks: captions become plain lines.
        lines = [f"{escape(author)}, Staff Reports", stamp, *map(escape, captions), *map(escape, paragraphs)]
        if len(lines) > 6 and teaser:
            lines.insert(6, escape(teaser))
        lines.append("Advertisement")
        lines.append(escape(promo) + ".")
        article = "<div class='content'>" + "<br><br>".join(lines) + "</div>"
    else:
        inner = []
        for number, text in enumerate(paragraphs):
            tweet = "<a class='tweet' href='/t'>Click To Tweet</a>" if number in (2, 5) else ""
            inner.append(f"<p>{escape(text)}{tweet}</p>")
        scores = "".join(f"<p>{_person(rng).split()[1]} {rng.randint(2, 30)} points.</p>" for _ in range(3))
        listing = "".join(f"<p>{n}.</p><p>({rng.randint(90, 130)})</p>" for n in (1, 2))
        article = (
            f"<p>By {escape(author)}</p><p>Published {weekday} June 2, 2025</p>"
            f"<figure><figcaption>{escape(captions[0])}</figcaption></figure>{''.join(inner)}{scores}{listing}"
            f"<p>Tempo de leitura: {rng.randint(1, 5)} minuto</p>"
        )
    links = "".join(f"<li><a href='/r/{n}'>{escape(t)}</a></li>" for n, t in enumerate(related))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)} | {escape(outlet.name)}</title>"
        f"<meta property='og:title' content=\"{escape(title)}\"></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a> "
        "<a href='/opinion'>Opinion</a></nav>"
        f"<main><article><h1>{escape(title)}</h1>{article}"
        f"<div class='share'>Share on Facebook Share on X Copy link</div></article>"
        f"<aside><h3>Most read</h3><ul>{links}</ul></aside>"
        f"<section class='newsletter'><h3>{escape(outlet.name)} today</h3>"
        "<p>Sign up for our morning email.</p></section>"
        f"</main><footer>Copyright 2025 {escape(outlet.name)}. All rights reserved.</footer></body></html>"
    )
    return page, ""


def _cnn_rows(part: str, limit: int) -> list[dict[str, Any]]:
    from benchmarks.summaries import split_of

    rows: list[dict[str, Any]] = []
    with gzip.open(CNN, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            key = str(row["id"])
            if split_of(key) != "heldout" or (part != "all" and part_of(key) != part):
                continue
            if len(row.get("article_sents") or []) < 6 or not row.get("reference_sents"):
                continue
            rows.append(row)
            if len(rows) >= limit:
                break
    return rows


def build_day(part: str, cnn: int, topics: int, seed: int = 11) -> list[Page]:
    """Every article of the news day, pages rendered, in no particular order."""
    rng = random.Random(seed)
    start = datetime(DAY.year, DAY.month, DAY.day, 1, tzinfo=UTC)
    pages: list[Page] = []

    def moment() -> datetime:
        return start + timedelta(minutes=rng.randint(0, 20 * 60))

    truth = json.loads((SCRAPINGHUB / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id, item in sorted(truth.items()):
        if part != "all" and part_of(page_id) != part:
            continue
        host = urlsplit(item["url"]).hostname or "unknown.example"
        with gzip.open(SCRAPINGHUB / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8", errors="replace") as f:
            raw = f.read()
        pages.append(
            Page(
                url=f"https://{host}/a/{page_id[:16]}.html",
                outlet=host.removeprefix("www."),
                title=_title_of(raw),
                published=moment(),
                html=raw,
                gold=item["articleBody"],
                kind="scrapinghub",
                group=page_id,
            )
        )

    rows = _cnn_rows(part, cnn)
    titles = [row["title"] for row in rows]
    for number, row in enumerate(rows):
        sentences = [s for s in row["article_sents"] if s.strip()]
        body = _paragraphs(sentences, rng)
        outlet = OUTLETS[number % len(OUTLETS)]
        related = rng.sample(titles, 3)
        first = moment()
        slug = hashlib.sha1(row["id"].encode()).hexdigest()[:12]
        copies: list[tuple[str, Outlet, list[str], datetime, str]] = [("cnn", outlet, body, first, "")]
        if number % 4 == 1:
            copies.append(("syndicated", OUTLETS[(number + 1) % len(OUTLETS)], body, first + timedelta(hours=1), ""))
        if number % 6 == 2 and len(body) > 5:
            # The follow-up leads with a later paragraph and drops the first: a new lead, same story.
            moved = body[4]
            followup = [moved, *body[1:4], *body[5:]]
            copies.append(
                ("followup", OUTLETS[(number + 2) % len(OUTLETS)], followup, first + timedelta(hours=3), moved)
            )
        for kind, where, paragraphs, published, new_lead in copies:
            page_html, feed_text = _furnished(where, row["title"], paragraphs, related, rng)
            pages.append(
                Page(
                    url=f"https://{where.host}/{kind}/{slug}.html",
                    outlet=where.name,
                    title=row["title"] if kind != "followup" else f"{row['title']}: the latest",
                    published=published,
                    html=page_html,
                    feed_text=feed_text,
                    gold="\n".join(paragraphs),
                    kind=kind,
                    group=row["id"],
                    reference=list(row["reference_sents"]),
                    new_lead=new_lead,
                )
            )

    evaldata = json.loads((TRAFILATURA / "evaldata.json").read_text(encoding="utf-8"))
    for url, item in sorted(evaldata.items()):
        if not _OTHER_SCRIPT.search(" ".join(item.get("with") or [])):
            continue
        host = urlsplit(url).hostname or "unknown.example"
        with gzip.open(TRAFILATURA / "html" / item["file"], "rb") as f:
            raw_bytes = f.read()
        pages.append(
            Page(
                url=f"https://{host}/a/{item['file'].split('.')[0]}.html",
                outlet=host.removeprefix("www."),
                title=_title_of(raw_bytes.decode("utf-8", errors="replace")),
                published=moment(),
                raw=raw_bytes,
                kind="script",
                group=url,
            )
        )

    story_rows = [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    topic_names = sorted({row["story"].split("_")[0] for row in story_rows})
    chosen = [t for t in topic_names if part == "all" or part_of(t) == part][:topics]
    for number, row in enumerate(r for r in story_rows if r["story"].split("_")[0] in chosen):
        wire = WIRES[number % len(WIRES)]
        host = re.sub(r"[^a-z]+", "-", wire.lower()).strip("-") + ".example"
        lines = [line for line in row["text"].split("\n") if line.strip()]
        if lines and lines[0].strip() == row["title"].strip():
            lines = lines[1:]
        outlet = Outlet(wire, host, "figure")
        page_html, _ = _furnished(outlet, row["title"], lines, [], rng)
        pages.append(
            Page(
                url=f"https://{host}/story/{row['id']}.html",
                outlet=wire,
                title=row["title"],
                published=moment(),
                html=page_html,
                gold="\n".join(lines),
                kind="stories",
                group=row["story"],
            )
        )
    return pages


# --- serving and running -----------------------------------------------------------------------------


def _feed(outlet: str, pages: list[Page]) -> bytes:
    items = []
    for page in pages:
        content = ""
        if page.feed_text:
            paragraphs = "".join(f"<p>{escape(p)}</p>" for p in page.feed_text.split("\n\n"))
            content = f"<content:encoded>{escape(paragraphs)}</content:encoded>"
        items.append(
            f"<item><title>{escape(page.title)}</title><link>{escape(page.url)}</link><guid>{escape(page.url)}</guid>"
            f"<pubDate>{format_datetime(page.published, usegmt=True)}</pubDate>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(outlet)}</title>{''.join(items)}</channel></rss>"
    ).encode()


def write_day(pages: list[Page], folder: Path, base: str) -> tuple[Path, dict[str, bytes]]:
    """Page files under their hosts' mirror folders, the feeds' bodies, and the configuration file."""
    by_outlet: dict[str, list[Page]] = {}
    for page in pages:
        by_outlet.setdefault(page.outlet, []).append(page)
        if page.html or page.raw:
            parts = urlsplit(page.url)
            target = folder / "pages" / (parts.hostname or "") / parts.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(page.raw or page.html.encode("utf-8"))
    hosts = sorted({urlsplit(p.url).hostname or "" for p in pages if p.html or p.raw})
    feeds: dict[str, bytes] = {}
    lines = [
        "[digest]",
        f'date = "{DAY.isoformat()}"',
        "window_hours = 48",
        "max_stories = 1000",
        "words_per_story = 160",
        "[fetch]",
        "per_host_interval = 0",
        "per_host_connections = 8",
        "retries = 0",
        "[fetch.mirrors]",
        *(f'"https://{host}/" = "{(folder / "pages" / host).as_posix()}/"' for host in hosts),
    ]
    for number, (outlet, items) in enumerate(sorted(by_outlet.items())):
        feeds[f"/feeds/{number}.xml"] = _feed(outlet, items)
        lines += ["[[sources]]", f"name = {json.dumps(outlet)}", f'url = "{base}/feeds/{number}.xml"']
    config = folder / "newsday.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config, feeds


def run_flow(config: Path, out: Path, state: Path, plain: bool) -> dict[str, Any]:
    """The day's digest as JSON data: `newsdigest run` in a subprocess, or the plain steps here."""
    if plain:
        from newsdigest.config.load import load_config_once
        from newsdigest.pipeline import plan_run, run_without_prefect

        for noisy in ("trafilatura", "htmldate", "courlan", "newsdigest"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        plan = plan_run(load_config_once(config), datetime.now(UTC), out_dir=str(out), state=str(state))
        run_without_prefect(plan)
    else:
        home = tempfile.mkdtemp(prefix="newsdigest-prefect-home-")
        env = dict(os.environ, PREFECT_HOME=home, PREFECT_SERVER_ANALYTICS_ENABLED="false")
        env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        command = [sys.executable, "-m", "newsdigest.cli", "run", "--config", str(config), "--out", str(out)]
        try:
            done = subprocess.run(
                [*command, "--state", str(state), "--quiet"], env=env, capture_output=True, text=True, timeout=900
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"newsdigest run failed ({done.returncode}): {done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads((out / f"{DAY.isoformat()}.json").read_text(encoding="utf-8"))
    return data


# --- scoring -----------------------------------------------------------------------------------------


def _trigrams(words: list[str]) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 0)))


def is_clean(claim: str, gold: str) -> bool:
    """Whether at least 90% of a claim's word trigrams are in the gold text, and it has 5 words or more."""
    if word_count(claim) < MIN_CLAIM_WORDS:
        return False
    mine = _trigrams(tokens(claim))
    if not mine:
        return False
    theirs = _trigrams(tokens(gold))
    inside = sum(min(count, theirs[gram]) for gram, count in mine.items())
    return inside / sum(mine.values()) >= CLEAN_SHARE


def speaker_ok(speaker: str, text: str) -> bool:
    """A speaker of at most 6 words, starting with a capital, named verbatim in the article text."""
    words = speaker.split()
    return 0 < len(words) <= MAX_SPEAKER_WORDS and speaker[:1].isupper() and speaker in text


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def _budget_cut(sentences: list[str], budget: int) -> str:
    words: list[str] = []
    for sentence in sentences:
        words.extend(sentence.split())
        if len(words) >= budget:
            break
    return " ".join(words[:budget])


def score(digest: dict[str, Any], pages: list[Page]) -> dict[str, Any]:
    """The news day's figures from its JSON digest."""
    from rouge_score import rouge_scorer

    by_url = {page.url: page for page in pages}
    story_of: dict[str, str] = {}
    claims_total = clean = attributed = speakers_ok = overlong = empty = 0
    bad_claims: list[str] = []
    bad_speakers: list[str] = []
    empty_titles: list[str] = []
    for story in digest["stories"]:
        members = [by_url[a["url"]] for a in story["articles"] if a.get("url") in by_url]
        for article in story["articles"]:
            story_of[article.get("url") or ""] = story["id"]
        gold = "\n".join(page.gold for page in members)
        context = gold + "\n" + "\n".join(page.title for page in members)
        all_gold = bool(members) and len(members) == len(story["articles"]) and all(p.gold for p in members)
        if not story["claims"]:
            empty += 1
            empty_titles.append(f"{story['title'][:100]} ({', '.join(a.get('url') or '' for a in story['articles'])})")
        for claim in story["claims"]:
            text = claim["text"]
            if word_count(text) > MAX_CLAIM_WORDS:
                overlong += 1
            if all_gold:
                claims_total += 1
                if is_clean(text, gold):
                    clean += 1
                elif len(bad_claims) < 400:
                    bad_claims.append(text[:300])
            if claim.get("speaker") and all_gold:
                attributed += 1
                if speaker_ok(claim["speaker"], context):
                    speakers_ok += 1
                elif len(bad_speakers) < 400:
                    bad_speakers.append(f"{claim['speaker']!r}: {text[:160]}")
    stories = digest["stories"]
    all_claims = sum(len(s["claims"]) for s in stories)

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    rouge: dict[str, list[float]] = {"ours_rouge1": [], "ours_rouge2": [], "lead3_rouge1": [], "lead3_rouge2": []}
    story_by_id = {s["id"]: s for s in stories}
    for page in pages:
        if page.kind != "cnn" or page.url not in story_of:
            continue
        reference = "\n".join(page.reference)
        budget = sum(1 for w in reference.split() if any(map(str.isalnum, w)))
        from newsdigest.text.sentences import article_sentences

        ours = _budget_cut([c["text"] for c in story_by_id[story_of[page.url]]["claims"]], budget)
        lead = _budget_cut(article_sentences(page.gold)[:3], budget)
        for name, text in (("ours", ours), ("lead3", lead)):
            result = scorer.score(reference, text)
            rouge[f"{name}_rouge1"].append(result["rouge1"].fmeasure * 100)
            rouge[f"{name}_rouge2"].append(result["rouge2"].fmeasure * 100)

    followups = [p for p in pages if p.kind == "followup"]
    originals = {p.group: p for p in pages if p.kind == "cnn"}
    grouped = shown = 0
    for page in followups:
        original = originals.get(page.group)
        story_id = story_of.get(page.url)
        if original is not None and story_id is not None and story_of.get(original.url) == story_id:
            grouped += 1
            lead_sentence = page.new_lead.split(". ")[0][:120]
            if lead_sentence and lead_sentence in json.dumps(story_by_id[story_id], ensure_ascii=False):
                shown += 1

    scripts = [story_of[p.url] for p in pages if p.kind == "script" and p.url in story_of]
    scripts_with_claims = sum(1 for story_id in scripts if story_by_id[story_id]["claims"])

    ecb = [p for p in pages if p.kind == "stories"]
    predicted = [story_of.get(p.url, f"missing:{p.url}") for p in ecb]
    gold_labels = [p.group for p in ecb]
    both = sum(_pairs(n) for n in Counter(zip(predicted, gold_labels, strict=True)).values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted).values())
    gold_pairs = sum(_pairs(n) for n in Counter(gold_labels).values())

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 2) if values else 0.0

    return {
        "articles": len(pages),
        "stories": len(stories),
        "claims": all_claims,
        "clean": round(clean / claims_total, 4) if claims_total else 0.0,
        "clean_claims_scored": claims_total,
        "speaker_ok": round(speakers_ok / attributed, 4) if attributed else 1.0,
        "attributed": attributed,
        "overlong": round(overlong / all_claims, 4) if all_claims else 0.0,
        "max_claim_words": max((word_count(c["text"]) for s in stories for c in s["claims"]), default=0),
        "empty_stories": round(empty / len(stories), 4) if stories else 0.0,
        "other_script_stories": len(scripts),
        "other_script_with_claims": round(scripts_with_claims / len(scripts), 4) if scripts else 1.0,
        "cnn_stories": len(rouge["ours_rouge1"]),
        **{name: mean(values) for name, values in rouge.items()},
        "ours_minus_lead3_rouge2": round(mean(rouge["ours_rouge2"]) - mean(rouge["lead3_rouge2"]), 2),
        "followups": len(followups),
        "followups_grouped": round(grouped / len(followups), 4) if followups else 1.0,
        "followups_new_lead_shown": round(shown / len(followups), 4) if followups else 1.0,
        "story_precision": round(both / predicted_pairs, 4) if predicted_pairs else 1.0,
        "story_recall": round(both / gold_pairs, 4) if gold_pairs else 1.0,
        "bad_claims": bad_claims,
        "bad_speakers": bad_speakers,
        "empty_titles": empty_titles,
    }


def run(part: str = "report", cnn: int = 200, topics: int = 5, plain: bool = False) -> dict[str, Any]:
    """Build the day, serve it, run the flow on it, score its digest."""
    started = time.perf_counter()
    pages = build_day(part, cnn, topics)
    with tempfile.TemporaryDirectory(prefix="newsdigest-newsday-") as tmp:
        folder = Path(tmp)
        server = FeedServer()
        try:
            config, feeds = write_day(pages, folder, server.base)
            server.documents.update(feeds)
            flow_started = time.perf_counter()
            digest = run_flow(config, folder / "out", folder / "state.sqlite", plain)
            flow_seconds = time.perf_counter() - flow_started
        finally:
            server.close()
    result = score(digest, pages)
    result.update(
        part=part,
        runner="plain" if plain else "flow",
        flow_seconds=round(flow_seconds, 1),
        seconds=round(time.perf_counter() - started, 1),
    )
    return result


def summary_line(result: dict[str, Any]) -> str:
    """The benchmark's one line."""
    return (
        f"newsday {result['part']} ({result['runner']}): {result['articles']} articles, {result['stories']} stories, "
        f"{result['claims']} claims; clean {result['clean']:.3f}, speaker_ok {result['speaker_ok']:.3f}, "
        f"overlong {result['overlong']:.3f} (max {result['max_claim_words']} words), "
        f"empty stories {result['empty_stories']:.3f} (other scripts with claims "
        f"{result['other_script_with_claims']:.2f} of {result['other_script_stories']}); "
        f"ROUGE-1/2 ours {result['ours_rouge1']}/{result['ours_rouge2']} "
        f"Lead-3 {result['lead3_rouge1']}/{result['lead3_rouge2']} on {result['cnn_stories']} CNN stories; "
        f"follow-ups grouped {result['followups_grouped']:.2f}, "
        f"new lead shown {result['followups_new_lead_shown']:.2f}; "
        f"stories P {result['story_precision']:.3f} R {result['story_recall']:.3f}; {result['seconds']} s"
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.newsday", description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("report", "fit", "all"), default="report")
    parser.add_argument("--cnn", type=int, default=200, help="CNN stories (held-out ones of the part)")
    parser.add_argument("--topics", type=int, default=5, help="stories-dev topics (two stories each)")
    parser.add_argument("--plain", action="store_true", help="run the steps as plain calls, without Prefect")
    parser.add_argument("--json", type=Path, help="write the figures (and the failing claims) here")
    parser.add_argument("--show", type=int, default=0, help="print this many failing claims and speakers")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    atexit.register(logging.shutdown)
    result = run(args.part, args.cnn, args.topics, args.plain)
    print(summary_line(result))
    for text in result["bad_claims"][: args.show]:
        print("  not clean:", text)
    for text in result["bad_speakers"][: args.show]:
        print("  speaker:", text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
