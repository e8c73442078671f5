"""Deduplication benchmark: our dedup and story grouping against exact-fingerprint dedup on a labelled corpus.

Run from the project root::

    python -m benchmarks.dedup --make-corpus N --out FILE.jsonl [--source CNN.jsonl.gz] [--seed S]
    python -m benchmarks.dedup --corpus FILE.jsonl [--json FILE]
    python -m benchmarks.dedup --scaling 10000,50000,100000 [--json FILE]

The corpus is built from real news articles (the CNN summarization set): each selected story's original,
syndicated variants of it (other outlets, new headlines, boilerplate lines, a paragraph added or dropped,
truncation, typo fixes, tracking parameters on the URL) labelled as duplicates of the original, and
"fresh" documents stitched from sentences of many unrelated stories, each labelled as its own story.
Scores are over pairs of documents: two documents are a predicted duplicate pair when they end in the
same duplicate cluster, and a predicted story pair when they get the same story id.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from newsdigest.models import NewDocument
from newsdigest.stories.assign import assign_stories
from newsdigest.stories.nearcopy import shingle_hashes, text_fingerprint
from newsdigest.stories.urls import article_key, canonical_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / ".." / "shared" / "data" / "summarization-dev" / "cnn_corpus.jsonl.gz"
METHODS = ("exact", "ours")
LABELS = {"exact": "exact fingerprint + URL", "ours": "ours (MinHash + stories)"}
STORY_SHARE = 0.7  # of the documents; the rest are fresh documents
DOCS_PER_STORY = 5  # at least: originals are capped by the source, so big corpora get more variants
SOURCE_OVERLAP = 0.3  # source articles this similar to an earlier one are left out: they may be one story

OUTLETS = [
    ("The Morning Ledger", "morningledger.example"),
    ("Riverside Courier", "riversidecourier.example"),
    ("Northgate Herald", "northgateherald.example"),
    ("Capital Wire", "capitalwire.example"),
    ("The Evening Post-Dispatch", "eveningpd.example"),
    ("Harbor Times", "harbortimes.example"),
    ("Metro Daily", "metrodaily.example"),
    ("Plains Gazette", "plainsgazette.example"),
    ("Coastline News", "coastlinenews.example"),
    ("The Valley Observer", "valleyobserver.example"),
    ("Summit Report", "summitreport.example"),
    ("World Desk Syndicate", "worlddesk.example"),
]
BOILERPLATE = [
    "Share this article",
    "Sign up for our newsletter to get the day's top stories in your inbox.",
    "Follow us on social media for the latest updates.",
    "Advertisement",
    "Read more: today's top headlines",
    "Click here to get breaking news alerts on your phone.",
    "Comments are closed on this article.",
    "Photo: file image",
    "Copyright {year} {outlet}. All rights reserved.",
    "This story was originally published by {source}.",
]
ADDED_PARAGRAPHS = [
    "Update: This article has been updated with additional information.",
    "Editor's note: An earlier version of this story misstated a detail. It has been corrected.",
    "{source} contributed to this report.",
    "Related: {other}",
]
HEADLINES = ["{title}", "{title} | {outlet}", "{title} - report", "UPDATED: {title}", "What we know: {title}"]
FRESH_TITLES = [
    "Morning briefing",
    "Live updates",
    "News in brief",
    "The day in review",
    "What you need to know today",
    "Weekend reading",
    "Evening roundup",
]
TRACKING = [
    "utm_source=newsletter&utm_medium=email&utm_campaign=daily",
    "utm_source=twitter&utm_medium=social",
    "fbclid=IwAR0abc123",
    "utm_source=rss&utm_medium=feed&ref=homepage",
    "gclid=CjwKCAjw",
]
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Story:
    """One source article: its id, title, sentences, category and publication time."""

    id: str
    title: str
    sentences: list[str]
    category: str
    published: datetime | None


# --- corpus ---------------------------------------------------------------------------------------


def load_source(path: Path) -> list[Story]:
    """The source articles, without those that repeat or update an earlier one (they would blur the labels)."""
    opener = gzip.open if path.suffix == ".gz" else open
    stories: list[Story] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            sentences = [s.strip() for s in item.get("article_sents") or [] if s.strip()]
            if not sentences:
                sentences = [s for s in re.split(r"(?<=[.!?])\s+", item.get("article") or "") if s]
            if len(" ".join(sentences).split()) < 80:
                continue  # too short to syndicate with a paragraph dropped
            published = None
            if item.get("date"):
                published = datetime.fromisoformat(item["date"]).replace(tzinfo=UTC)
            stories.append(
                Story(str(item["id"]), item.get("title") or "", sentences, item.get("category") or "news", published)
            )
    return _distinct(stories)


def _distinct(stories: list[Story]) -> list[Story]:
    """Drop articles whose exact word 5-gram Jaccard with an earlier one reaches SOURCE_OVERLAP."""
    sets = [shingle_hashes(" ".join(story.sentences)) for story in stories]
    frequency = Counter(h for shingles in sets for h in shingles)
    postings: dict[int, list[int]] = defaultdict(list)
    kept: list[Story] = []
    for index, shingles in enumerate(sets):
        shared: Counter[int] = Counter()
        for value in shingles:
            if frequency[value] <= 20:  # common phrases say nothing about two articles being one
                shared.update(postings[value])
        if any(count / len(shingles | sets[other]) >= SOURCE_OVERLAP for other, count in shared.items()):
            continue
        for value in shingles:
            postings[value].append(index)
        kept.append(stories[index])
    return kept


def _slug(text: str) -> str:
    """A URL path segment from a headline."""
    return _SLUG.sub("-", text.lower()).strip("-")[:60] or "story"


def _paragraphs(sentences: list[str], rng: random.Random) -> list[str]:
    """Sentences grouped into paragraphs of two to four."""
    paragraphs, index = [], 0
    while index < len(sentences):
        size = rng.randint(2, 4)
        paragraphs.append(" ".join(sentences[index : index + size]))
        index += size
    return paragraphs


def _typo_fix(paragraphs: list[str], rng: random.Random) -> list[str]:
    """One to three words with two inner letters swapped (a copy editor's fix, or a slip)."""
    result = list(paragraphs)
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(result))
        tokens = result[index].split(" ")
        long = [i for i, token in enumerate(tokens) if len(token) >= 6 and token.isalpha()]
        if not long:
            continue
        i = rng.choice(long)
        token = tokens[i]
        j = rng.randint(1, len(token) - 3)
        tokens[i] = token[:j] + token[j + 1] + token[j] + token[j + 2 :]
        result[index] = " ".join(tokens)
    return result


def _variant(
    story: Story, paragraphs: list[str], outlet: tuple[str, str], source: str, other_title: str, rng: random.Random
) -> tuple[str, list[str]]:
    """A syndicated copy's headline and paragraphs: two to four edits that keep most of the text."""
    name, _ = outlet
    year = story.published.year if story.published else 2013
    title = rng.choice(HEADLINES).format(title=story.title, outlet=name)
    body = list(paragraphs)
    edits = rng.sample(["boilerplate", "added", "removed", "typos", "boilerplate_end"], rng.randint(2, 4))
    for edit in edits:
        if edit == "removed" and len(body) >= 5:
            if rng.random() < 0.5:
                del body[rng.randrange(1, len(body) - 1)]  # a middle paragraph
            else:
                keep = max(4, math.ceil(len(body) * rng.uniform(0.85, 0.95)))
                body = [*body[:keep], f"Read the full story at {source}."]
        elif edit == "added":
            body.insert(
                rng.randint(1, len(body)), rng.choice(ADDED_PARAGRAPHS).format(source=source, other=other_title)
            )
        elif edit == "typos":
            body = _typo_fix(body, rng)
        elif edit.startswith("boilerplate"):
            line = rng.choice(BOILERPLATE).format(year=year, outlet=name, source=source)
            body = [*body, line] if edit == "boilerplate_end" else [line, *body]
    return title, body


def _url(host: str, story: Story, published: datetime, title: str) -> str:
    """An article URL on an outlet's host."""
    return f"https://{host}/{_slug(story.category)}/{published:%Y/%m/%d}/{_slug(title)}"


def _iso(moment: datetime) -> str:
    """UTC timestamp in ISO 8601 with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_corpus(size: int, source: Path, seed: int = 0) -> list[dict[str, object]]:
    """A labelled corpus of `size` documents in publication order."""
    rng = random.Random(seed)
    pool = load_source(source)
    if not pool:
        raise SystemExit(f"{source}: no usable articles")
    dated = [story.published for story in pool if story.published]
    start = min(dated) if dated else datetime(2013, 1, 1, tzinfo=UTC)
    span = ((max(dated) - start) if dated else timedelta(days=365)).total_seconds()
    story_docs = max(1, round(size * STORY_SHARE)) if size > 1 else size
    chosen = rng.sample(pool, min(len(pool), max(1, story_docs // DOCS_PER_STORY)))
    copies = [story_docs // len(chosen) - 1] * len(chosen)
    for index in range(story_docs % len(chosen)):
        copies[index] += 1
    documents: list[dict[str, object]] = []
    for number, (story, count) in enumerate(zip(chosen, copies, strict=True)):
        published = story.published or start + timedelta(seconds=rng.uniform(0, span))
        outlet = rng.choice(OUTLETS)
        paragraphs = _paragraphs(story.sentences, rng)
        original_id = f"s{number:05d}-0"
        url = _url(outlet[1], story, published, story.title)
        label = f"story-{number:05d}"
        documents.append(
            {
                "id": original_id,
                "url": url,
                "title": story.title,
                "text": "\n\n".join(paragraphs),
                "source": outlet[0],
                "published": _iso(published),
                "dup_of": None,
                "story": label,
            }
        )
        for copy in range(1, count + 1):
            moment = published + timedelta(minutes=rng.uniform(5, 48 * 60))
            kind = rng.random()
            if kind < 0.2:  # the same page shared again with click-tracking parameters
                name, host = outlet
                title = story.title
                variant_url = f"{url}?{rng.choice(TRACKING)}"
                text = "\n\n".join(paragraphs)
            else:
                name, host = rng.choice([other for other in OUTLETS if other != outlet])
                if kind < 0.35:  # verbatim syndication, only the layout differs
                    title = rng.choice(HEADLINES).format(title=story.title, outlet=name)
                    text = "\n".join(paragraphs)
                else:
                    other = rng.choice(pool).title
                    title, body = _variant(story, paragraphs, (name, host), outlet[0], other, rng)
                    text = "\n\n".join(body)
                variant_url = _url(host, story, moment, title)
            documents.append(
                {
                    "id": f"s{number:05d}-{copy}",
                    "url": variant_url,
                    "title": title,
                    "text": text,
                    "source": name,
                    "published": _iso(moment),
                    "dup_of": original_id,
                    "story": label,
                }
            )
    for number in range(size - story_docs):
        # A roundup stitched from one or two sentences of six to ten unrelated articles: not a copy of any
        # of them and not a report of any one event, so it is a story of its own.
        pieces = []
        for story in rng.sample(pool, rng.randint(6, 10)):
            at = rng.randrange(len(story.sentences))
            pieces.append(" ".join(story.sentences[at : at + rng.randint(1, 2)]))
        rng.shuffle(pieces)
        name, host = rng.choice(OUTLETS)
        moment = start + timedelta(seconds=rng.uniform(0, span))
        documents.append(
            {
                "id": f"f{number:06d}",
                "url": f"https://{host}/briefing/{moment:%Y/%m/%d}/{number}",
                "title": rng.choice(FRESH_TITLES),
                "text": "\n\n".join(" ".join(pieces[i : i + 2]) for i in range(0, len(pieces), 2)),
                "source": name,
                "published": _iso(moment),
                "dup_of": None,
                "story": f"fresh-{number:06d}",
            }
        )
    documents.sort(key=lambda doc: (doc["published"], doc["id"]))
    return documents


def write_corpus(documents: Iterable[dict[str, object]], path: Path) -> int:
    """Write documents as JSON lines; the count written."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")
            count += 1
    return count


# --- scoring --------------------------------------------------------------------------------------


def _pairs(count: int) -> int:
    """Pairs among `count` items."""
    return count * (count - 1) // 2


def pair_scores(predicted: list[str], gold: list[str]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering from cluster sizes and contingency counts, not pairs."""
    both = sum(_pairs(n) for n in Counter(zip(predicted, gold, strict=True)).values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted).values())
    gold_pairs = sum(_pairs(n) for n in Counter(gold).values())
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / gold_pairs if gold_pairs else 1.0
    return precision, recall


@dataclass
class Labels:
    """What the benchmark knows of each document before the run: ids, URLs and gold labels."""

    ids: list[str]
    url_keys: list[str]
    gold_dup: list[str]
    gold_story: list[str]
    in_order: bool


def read_labels(path: Path) -> Labels:
    """Ids, URL keys and gold clusters of a corpus file (dup_of chains followed to their root)."""
    ids, url_keys, dup_of, stories, published = [], [], {}, [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            ids.append(item["id"])
            url_keys.append(article_key(canonical_url(item.get("url")), item["id"]))
            dup_of[item["id"]] = item.get("dup_of")
            stories.append(item["story"])
            published.append(item.get("published") or "")

    def root(doc_id: str) -> str:
        seen = set()
        while dup_of.get(doc_id) and doc_id not in seen:
            seen.add(doc_id)
            doc_id = dup_of[doc_id]
        return doc_id

    in_order = all(a <= b for a, b in pairwise(published))
    return Labels(ids, url_keys, [root(i) for i in ids], stories, in_order)


class _Reader:
    """Streams (title, text) in publication order, timing the JSON parsing so it can be left out."""

    def __init__(self, path: Path, in_order: bool) -> None:
        self.path = path
        self.in_order = in_order
        self.parse_seconds = 0.0

    def __iter__(self) -> Iterator[tuple[str, str]]:
        with self.path.open(encoding="utf-8") as handle:
            if self.in_order:
                for line in handle:
                    start = time.perf_counter()
                    item = json.loads(line)
                    self.parse_seconds += time.perf_counter() - start
                    yield item.get("title") or "", item.get("text") or ""
                return
            items = [json.loads(line) for line in handle]  # out of order: sort in memory
        for item in sorted(items, key=lambda doc: doc.get("published") or ""):
            yield item.get("title") or "", item.get("text") or ""


def run_method(
    path: Path, method: str, near_threshold: float = 0.7, story_threshold: float = 0.22, workers: int = 1
) -> dict[str, float]:
    """Deduplicate and group one corpus with one method; scores, speed and peak memory."""
    labels = read_labels(path)
    reader = _Reader(path, labels.in_order)
    ids = labels.ids if labels.in_order else _sorted_ids(path)
    position = {doc_id: i for i, doc_id in enumerate(labels.ids)}
    dup_root: list[str] = [""] * len(ids)
    story: list[str] = [""] * len(ids)
    start = time.perf_counter()
    cpu_start = _cpu_seconds()
    if method == "exact":
        first_by_key: dict[str, str] = {}
        for doc_id, (_, text) in zip(ids, reader, strict=True):
            i = position[doc_id]
            keys = (
                (f"u:{labels.url_keys[i]}", f"f:{text_fingerprint(text)}")
                if text.strip()
                else (f"u:{labels.url_keys[i]}",)
            )
            root = next((first_by_key[key] for key in keys if key in first_by_key), doc_id)
            for key in keys:
                first_by_key.setdefault(key, root)
            dup_root[i] = story[i] = root
    else:
        first_by_url: dict[str, str] = {}
        url_copies: list[tuple[int, str]] = []

        def fresh() -> Iterator[NewDocument]:
            for doc_id, (title, text) in zip(ids, reader, strict=True):
                i = position[doc_id]
                key = labels.url_keys[i]
                if key in first_by_url:  # the flow skips an entry whose canonical URL it already has
                    url_copies.append((i, first_by_url[key]))
                    continue
                first_by_url[key] = doc_id
                yield NewDocument(doc_id, title, text)

        records = assign_stories(
            fresh(), [], near_duplicate_threshold=near_threshold, story_threshold=story_threshold, workers=workers
        )
        for record in records:
            i = position[record.article_id]
            dup_root[i] = record.duplicate_of or record.article_id
            story[i] = record.story_id
        for i, first in url_copies:
            dup_root[i] = dup_root[position[first]]
            story[i] = story[position[first]]
    seconds = time.perf_counter() - start - reader.parse_seconds
    cpu_seconds = _cpu_seconds() - cpu_start - reader.parse_seconds  # parsing is about all CPU time
    dup_precision, dup_recall = pair_scores(dup_root, labels.gold_dup)
    story_precision, story_recall = pair_scores(story, labels.gold_story)
    return {
        "dup_precision": dup_precision,
        "dup_recall": dup_recall,
        "story_precision": story_precision,
        "story_recall": story_recall,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "docs_per_second": len(ids) / seconds if seconds else 0.0,
        "peak_rss_mb": _peak_rss_mb(workers if method == "ours" else 1),
        "documents": len(ids),
    }


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished workers: a figure other load cannot inflate."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb(workers: int) -> float:
    """Peak resident memory in MB: this process's, plus the largest worker's once per worker (an upper bound)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    if workers <= 1:
        return own
    return own + workers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _sorted_ids(path: Path) -> list[str]:
    """Document ids in publication order, for a corpus file that is not written in that order."""
    with path.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle]
    return [item["id"] for item in sorted(items, key=lambda doc: doc.get("published") or "")]


def run_isolated(path: Path, method: str, near: float, story: float, workers: int) -> dict[str, float]:
    """run_method in a fresh interpreter, so that its peak memory is its own."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.dedup", "--corpus", str(path), "--method", method]
        command += ["--near-threshold", str(near), "--story-threshold", str(story)]
        command += ["--workers", str(workers)]
        subprocess.run([*command, "--json", str(out), "--quiet"], check=True, cwd=ROOT)
        return json.loads(out.read_text(encoding="utf-8"))


# --- reports --------------------------------------------------------------------------------------


def report(results: dict[str, dict[str, float]]) -> str:
    """The method table; the last line says what MinHash and story grouping add over exact fingerprints."""
    lines = [
        f"{'method':<26} {'dup P':>6} {'dup R':>6} {'story P':>7} {'story R':>7} {'docs/s':>8} {'peak MB':>8}",
    ]
    for method, row in results.items():
        lines.append(
            f"{LABELS[method]:<26} {row['dup_precision']:>6.3f} {row['dup_recall']:>6.3f} "
            f"{row['story_precision']:>7.3f} {row['story_recall']:>7.3f} {row['docs_per_second']:>8.0f} "
            f"{row['peak_rss_mb']:>8.0f}"
        )
    if set(METHODS) <= results.keys():
        ours, exact = results["ours"], results["exact"]
        lines.append("")
        lines.append(
            f"ours vs exact: dup recall {ours['dup_recall']:.3f} vs {exact['dup_recall']:.3f} "
            f"({ours['dup_recall'] - exact['dup_recall']:+.3f}), dup precision {ours['dup_precision']:.3f} vs "
            f"{exact['dup_precision']:.3f}, {exact['docs_per_second'] / max(ours['docs_per_second'], 1e-9):.1f}x "
            "the time per document"
        )
    return "\n".join(lines)


def scaling(sizes: list[int], source: Path, seed: int, near: float, story: float, workers: int) -> dict[str, object]:
    """Generate and run each size with both methods; rows and the largest/smallest time ratio of ours."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"corpus-{size}.jsonl"
            started = time.perf_counter()
            # In a child process: a child's peak RSS starts from its parent's at fork, so the parent stays small.
            command = [sys.executable, "-m", "benchmarks.dedup", "--make-corpus", str(size), "--out", str(path)]
            command += ["--source", str(source), "--seed", str(seed)]
            subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            print(f"  {size} documents generated in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
            for method in METHODS:
                row = run_isolated(path, method, near, story, workers)
                rows.append({"size": size, "method": method, **row})
                print(f"  {size} {method}: {row['seconds']:.1f} s", file=sys.stderr, flush=True)
            path.unlink()
    ours = {row["size"]: row["seconds"] for row in rows if row["method"] == "ours"}
    cpu = {row["size"]: row["cpu_seconds"] for row in rows if row["method"] == "ours"}
    ratio = ours[max(ours)] / ours[min(ours)] if len(ours) > 1 and ours[min(ours)] else None
    cpu_ratio = cpu[max(cpu)] / cpu[min(cpu)] if len(cpu) > 1 and cpu[min(cpu)] else None
    return {"rows": rows, "time_ratio": ratio, "cpu_time_ratio": cpu_ratio, "sizes": sizes}


def scaling_report(result: dict[str, object]) -> str:
    """The scaling table: seconds, documents per second and peak memory per size and method."""
    lines = [
        f"{'documents':>9} {'method':<7} {'seconds':>8} {'CPU s':>7} {'docs/s':>8} {'peak MB':>8} "
        f"{'dup P':>6} {'dup R':>6} {'story P':>7} {'story R':>7}"
    ]
    for row in result["rows"]:  # type: ignore[union-attr]
        lines.append(
            f"{row['size']:>9} {row['method']:<7} {row['seconds']:>8.1f} {row['cpu_seconds']:>7.1f} "
            f"{row['docs_per_second']:>8.0f} "
            f"{row['peak_rss_mb']:>8.0f} {row['dup_precision']:>6.3f} {row['dup_recall']:>6.3f} "
            f"{row['story_precision']:>7.3f} {row['story_recall']:>7.3f}"
        )
    sizes = result["sizes"]
    if result["time_ratio"] is not None:
        lines.append("")
        lines.append(
            f"ours, {max(sizes)} vs {min(sizes)} documents: {result['time_ratio']:.1f}x the time, "  # type: ignore[arg-type]
            f"{result['cpu_time_ratio']:.1f}x the CPU time"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dedup", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--make-corpus", type=int, metavar="N", help="build a labelled corpus of N documents")
    action.add_argument("--corpus", type=Path, help="score the methods on this corpus (JSON lines)")
    action.add_argument("--scaling", help="comma-separated corpus sizes to generate and time, e.g. 10000,100000")
    parser.add_argument("--out", type=Path, help="with --make-corpus: the corpus file to write")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the CNN corpus (JSON lines, gzipped)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the corpus")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON")
    parser.add_argument("--method", choices=(*METHODS, "both"), default="both", help="with --corpus: which method")
    parser.add_argument("--near-threshold", type=float, default=0.7, help="estimated Jaccard of a near-copy")
    parser.add_argument("--story-threshold", type=float, default=0.22, help="story model score that joins a story")
    parser.add_argument("--workers", type=int, default=1, help="processes for per-article work in our dedup (1: none)")
    parser.add_argument("--quiet", action="store_true", help="print nothing (used for the isolated runs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.make_corpus is not None:
        if args.out is None:
            parser.error("--make-corpus needs --out")
        count = write_corpus(make_corpus(args.make_corpus, args.source, args.seed), args.out)
        print(f"{count} documents written to {args.out}")
        return 0
    if args.scaling:
        sizes = [int(part) for part in args.scaling.split(",") if part.strip()]
        result = scaling(sizes, args.source, args.seed, args.near_threshold, args.story_threshold, args.workers)
        print(scaling_report(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
        return 0
    if args.method == "both":
        results = {
            m: run_isolated(args.corpus, m, args.near_threshold, args.story_threshold, args.workers) for m in METHODS
        }
    else:
        row = run_method(args.corpus, args.method, args.near_threshold, args.story_threshold, args.workers)
        results = {args.method: row}
    if not args.quiet:
        print(f"corpus: {args.corpus}, {next(iter(results.values()))['documents']} documents")
        print(report(results))
    if args.json:
        document = results["ours"] if "ours" in results else next(iter(results.values()))
        document = {**document, "methods": results} if len(results) > 1 else document
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
