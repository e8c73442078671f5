"""Attribution benchmark: our tagger against a plain speech-verb regex on PolNeAR-style BRAT data.

Run from the project root::

    python -m benchmarks.attribution --polnear DIR [--split dev] [--json FILE] [--limit N]

DIR holds ``<split>/text/<name>`` and ``<split>/attributions/<name>.ann``; PolNeAR names its
annotation files ``<stem>_<annotator>.ann``, and an article annotated by several people is
scored against the first annotator in sorted order.

Metric (the data README's): a predicted attribution matches a gold one when their content spans
overlap by at least half of the shorter span, pairs taken one-to-one, greedily, largest overlap
first; precision, recall and F1 over attributions. Speaker accuracy is the share of matched pairs
whose predicted source overlaps the gold source (both absent counts as right).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._metrics import harmonic_mean
from newsdigest.claims.attribution import Attribution, find_attributions
from newsdigest.claims.tagger.model import WEIGHTS, Model, load_model

Spans = tuple[tuple[int, int], ...]
SYSTEMS = ("ours", "baseline")


@dataclass(frozen=True)
class Gold:
    """One annotated attribution: its content, cue and source as character ranges."""

    content: Spans
    cue: Spans
    source: Spans


@dataclass(frozen=True)
class Article:
    """An article's text and its gold attributions."""

    name: str
    text: str
    gold: tuple[Gold, ...]


def parse_ann(ann: str) -> list[Gold]:
    """Attributions of one BRAT file: T lines give the spans, E lines join them."""
    spans: dict[str, Spans] = {}
    events: list[dict[str, list[str]]] = []
    for line in ann.splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 2:
            _, _, ranges = parts[1].partition(" ")
            pieces = []
            for piece in ranges.split(";"):
                numbers = piece.split()
                if len(numbers) == 2 and numbers[0].isdigit() and numbers[1].isdigit():
                    pieces.append((int(numbers[0]), int(numbers[1])))
            spans[parts[0]] = tuple(pieces)
        elif line.startswith("E") and len(parts) >= 2:
            roles: dict[str, list[str]] = {}
            for argument in parts[1].split():
                role, _, target = argument.partition(":")
                roles.setdefault(re.sub(r"\d+$", "", role), []).append(target)
            events.append(roles)
    golds = []
    for roles in events:
        content = tuple(piece for target in roles.get("Content", []) for piece in spans.get(target, ()))
        if not content:
            continue  # an attribution without content cannot be matched by the metric
        cue = tuple(piece for target in roles.get("Cue", []) for piece in spans.get(target, ()))
        source = tuple(piece for target in roles.get("Source", []) for piece in spans.get(target, ()))
        golds.append(Gold(tuple(sorted(content)), cue, source))
    return golds


def load_split(root: Path, split: str = "dev") -> list[Article]:
    """The articles of one split, in name order, each with its (first annotator's) attributions."""
    text_dir, ann_dir = root / split / "text", root / split / "attributions"
    if not text_dir.is_dir():
        raise SystemExit(f"{text_dir}: not found")
    articles = []
    for path in sorted(text_dir.iterdir()):
        candidates = [ann_dir / f"{path.name}.ann", ann_dir / f"{path.stem}.ann"]
        candidates += sorted(ann_dir.glob(f"{path.stem}_*.ann"))
        ann = next((c for c in candidates if c.is_file()), None)
        if ann is None:
            continue
        text = path.read_text(encoding="utf-8")
        articles.append(Article(path.name, text, tuple(parse_ann(ann.read_text(encoding="utf-8")))))
    return articles


# --- metric ---------------------------------------------------------------------------------------


def _length(spans: Spans) -> int:
    return sum(end - start for start, end in spans)


def overlap(a: Spans, b: Spans) -> int:
    """Characters two span sets share."""
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


@dataclass
class Tally:
    """Pooled counts of one system over a split."""

    predicted: int = 0
    gold: int = 0
    matched: int = 0
    speaker_right: int = 0
    ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Precision, recall, F1, speaker accuracy and median ms per article."""
        precision = self.matched / self.predicted if self.predicted else 0.0
        recall = self.matched / self.gold if self.gold else 0.0
        return {
            "precision": precision,
            "recall": recall,
            "f1": harmonic_mean(precision, recall),
            "speaker_accuracy": self.speaker_right / self.matched if self.matched else 0.0,
            "ms_per_article": statistics.median(self.ms) if self.ms else 0.0,
        }


def match(contents: Sequence[Spans], gold: Sequence[Gold]) -> list[tuple[int, int]]:
    """Greedy one-to-one (prediction, gold) index pairs, largest overlap first; a pair's content spans
    must share at least half of the shorter one."""
    pairs = []
    for p, content in enumerate(contents):
        for g, truth in enumerate(gold):
            shared = overlap(content, truth.content)
            if shared and 2 * shared >= min(_length(content), _length(truth.content)):
                pairs.append((-shared, p, g))
    pairs.sort()
    used_p: set[int] = set()
    used_g: set[int] = set()
    matched = []
    for _, p, g in pairs:
        if p not in used_p and g not in used_g:
            used_p.add(p)
            used_g.add(g)
            matched.append((p, g))
    return matched


def score_article(predicted: Sequence[tuple[Spans, Spans]], gold: Sequence[Gold], tally: Tally) -> None:
    """Add one article's greedy one-to-one matches to the tally; predictions are (content, source) spans."""
    matched = match([content for content, _ in predicted], gold)
    for p, g in matched:
        source, truth = predicted[p][1], gold[g].source
        tally.speaker_right += (not source and not truth) or overlap(source, truth) > 0
    tally.predicted += len(predicted)
    tally.gold += len(gold)
    tally.matched += len(matched)


# --- the two systems ------------------------------------------------------------------------------


def ours(text: str, model: Model | None = None) -> list[tuple[Spans, Spans]]:
    """Our tagger's attributions as (content, source) spans."""
    return [_spans(a) for a in find_attributions(text, model)]


def _spans(attribution: Attribution) -> tuple[Spans, Spans]:
    content = attribution.content_spans or ((attribution.content_start, attribution.content_end),)
    source: Spans = ()
    if attribution.source_start is not None and attribution.source_end is not None:
        source = ((attribution.source_start, attribution.source_end),)
    return content, source


_VERBS = (
    r"said|says|told|tells|added|adds|asked|explained|wrote|writes|argued|argues|claimed|claims|noted|"
    r"insisted|announced|stated|suggested|warned|declared|replied|responded|acknowledged|admitted|denied|"
    r"believes|believed|thinks|thought|reported|reports"
)
_SUBJECT = r"(?:[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*|[Hh]e|[Ss]he|[Tt]hey|[Ww]e|I|[Tt]he\s+\w+(?:\s+\w+)?)"
_QUOTED = re.compile(r"[“\"]([^”\"]{3,})[”\"]")
_SAID_THAT = re.compile(rf"(?P<src>{_SUBJECT})\s+(?P<cue>{_VERBS})\b,?\s+(?:that\s+)?(?P<content>[^.?!]{{8,}})")
_AFTER = re.compile(rf"^(?P<content>.{{8,}}?),[”\"]?\s+(?P<src>{_SUBJECT})\s+(?P<cue>{_VERBS})\b")
_AFTER_INVERTED = re.compile(rf"^(?P<content>.{{8,}}?),[”\"]?\s+(?P<cue>{_VERBS})\s+(?P<src>{_SUBJECT})")
_ACCORDING = re.compile(rf"(?P<cue>[Aa]ccording to)\s+(?P<src>{_SUBJECT})")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[”\"]?|$)")


def baseline(text: str) -> list[tuple[Spans, Spans]]:
    """Speech verbs, quotation marks and "according to", one attribution a sentence at most."""
    found: list[tuple[Spans, Spans]] = []
    for sentence in _SENTENCE.finditer(text):
        base, body = sentence.start(), sentence.group(0)
        lead = len(body) - len(body.lstrip())
        body_stripped = body.strip()
        base += lead
        for pattern in (_AFTER, _AFTER_INVERTED, _SAID_THAT):
            match = pattern.search(body_stripped)
            if match:
                content = ((base + match.start("content"), base + match.end("content")),)
                found.append((content, ((base + match.start("src"), base + match.end("src")),)))
                break
        else:
            match = _ACCORDING.search(body_stripped)
            quote = _QUOTED.search(body_stripped)
            if match:
                rest = (base + match.end(), base + len(body_stripped))
                before = (base, base + match.start())
                content = max((rest, before), key=lambda span: span[1] - span[0])
                found.append(((content,), ((base + match.start("src"), base + match.end("src")),)))
            elif quote and re.search(rf"\b(?:{_VERBS})\b", body_stripped):
                found.append((((base + quote.start(1), base + quote.end(1)),), ()))
    return found


def run(articles: Sequence[Article], systems: Sequence[str] = SYSTEMS, weights: Path = WEIGHTS) -> dict[str, Tally]:
    """Score the named systems on the articles; timings are per article, one call each."""
    # Reading the weights is a one-off, not a per-article cost, so it happens before the clock runs.
    model = load_model(weights) if "ours" in systems else None
    functions: dict[str, Callable[[str], list[tuple[Spans, Spans]]]] = {
        "ours": lambda text: ours(text, model),
        "baseline": baseline,
    }
    tallies = {name: Tally() for name in systems}
    for article in articles:
        for name in systems:
            start = time.perf_counter()
            predicted = functions[name](article.text)
            tallies[name].ms.append((time.perf_counter() - start) * 1000)
            score_article(predicted, article.gold, tallies[name])
    return tallies


def report(split: str, articles: Sequence[Article], summary: dict[str, dict[str, float]]) -> str:
    """The printed table."""
    gold = sum(len(a.gold) for a in articles)
    lines = [
        f"split: {split}, {len(articles)} articles, {gold} gold attributions",
        f"{'system':<10} {'precision':>9} {'recall':>7} {'F1':>7} {'speaker':>8} {'ms/article':>11}",
    ]
    for name, row in summary.items():
        lines.append(
            f"{name:<10} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>7.3f} "
            f"{row['speaker_accuracy']:>8.3f} {row['ms_per_article']:>11.2f}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.attribution", description=__doc__.splitlines()[0])
    parser.add_argument("--polnear", required=True, type=Path, help="folder with <split>/text and <split>/attributions")
    parser.add_argument("--split", default="dev", help="which split to score (default: dev)")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON")
    parser.add_argument("--limit", type=int, help="only the first N articles in name order")
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="the tagger's weights file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    articles = load_split(args.polnear, args.split)
    if args.limit is not None:
        articles = articles[: max(args.limit, 0)]
    if not articles:
        print(f"no annotated articles in {args.polnear / args.split}", file=sys.stderr)
        return 1
    summary = {name: tally.summary() for name, tally in run(articles, weights=args.weights).items()}
    print(report(args.split, articles, summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
