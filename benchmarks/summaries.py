"""Summaries benchmark: our extractive summary against Lead-3 at the same word budget, ROUGE-1/2/Lsum F1.

Run from the project root::

    python -m benchmarks.summaries --dataset FILE.jsonl[.gz] [--split heldout|train|all] [--limit N]
                                   [--budget reference|N] [--json FILE]

FILE has one JSON object a line with ``article`` and ``reference`` (``title``, ``id`` and
``reference_sents`` are used when present); gzip is accepted. Stories are split into train (75%) and
held-out (25%) by a stable hash of ``id`` (``split_of``); the default ``--split heldout`` is the part
the model never saw in training. A file without ids is evaluated whole.

Sentences: both systems split the article text as the digest does (``salience.article_sentences``:
``claims.split_sentences`` on each newline-separated paragraph), never the dataset's ``article_sents``.

Budget and cut, the same for both systems: the budget is the reference's word count (words = whitespace
tokens with a letter or digit, so the CNN highlights' detached " ." do not count) or a fixed N. Each
system lists sentences in its order of preference -- Lead-3 the first three sentences, ours the model's
ranking -- and the summary keeps whole sentences in that order until the next one would cross the
budget; that one is cut after the budget's last word. The kept pieces are shown in article order, one a
line for ROUGE-Lsum. A second pair of rows ("whole sentences") is what the digest shows: ours is
``salience.summarize`` (the best whole sentences that fit, none cut), the lead baseline the first of the
three leading sentences that fit, none cut.

ROUGE is Google's ``rouge-score`` package, F1 with the Porter stemmer, scores averaged over stories
(x100). Times are the mean milliseconds per article of sentence splitting plus selection, ROUGE not
included.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsdigest.claims.extract import extract_claims
from newsdigest.claims.rank import select_claims
from newsdigest.claims.salience import ranked, summarize
from newsdigest.text.sentences import article_sentences

SYSTEMS = ("ours", "lead3", "ours_whole", "lead3_whole", "digest_claims")
LABELS = {
    "ours": "ours",
    "lead3": "Lead-3",
    "ours_whole": "ours, whole sentences",
    "lead3_whole": "Lead-3, whole sentences",
    "digest_claims": "digest's key claims",
}
METRICS = ("rouge1", "rouge2", "rougeLsum")
TRAIN_SHARE = 75  # percent of the ids that go to training


@dataclass(frozen=True)
class Story:
    """One story to summarise: its text and the reference summary's sentences."""

    id: str
    title: str
    article: str
    reference_sents: tuple[str, ...]


def split_of(story_id: str) -> str:
    """'train' or 'heldout', stable across runs and machines (SHA-1 of the id, not Python's hash)."""
    bucket = int(hashlib.sha1(story_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < TRAIN_SHARE else "heldout"


def _open(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def load_stories(path: Path, split: str = "heldout", limit: int | None = None) -> list[Story]:
    """Stories of a JSONL file in file order, the chosen split only when the file has ids."""
    stories = []
    for line in _open(path):
        if not line.strip():
            continue
        row = json.loads(line)
        story_id = str(row.get("id") or "")
        if split != "all" and story_id and split_of(story_id) != split:
            continue
        reference = row.get("reference_sents") or article_sentences(row.get("reference") or "")
        stories.append(
            Story(
                id=story_id,
                title=row.get("title") or "",
                article=row.get("article") or "",
                reference_sents=tuple(reference),
            )
        )
        if limit is not None and len(stories) >= limit:
            break
    return stories


def word_count(text: str) -> int:
    """Whitespace tokens that hold a letter or digit."""
    return sum(1 for token in text.split() if any(char.isalnum() for char in token))


def cut_to_budget(sentences: Sequence[str], preference: Sequence[int], budget: int) -> list[str]:
    """Whole sentences in order of preference until the budget; the one crossing it is cut; article order."""
    kept: list[tuple[int, str]] = []
    used = 0
    for index in preference:
        if used >= budget:
            break
        words = sentences[index].split()
        if used + len(words) > budget:
            kept.append((index, " ".join(words[: budget - used])))
            used = budget
        else:
            kept.append((index, sentences[index]))
            used += len(words)
    return [text for _, text in sorted(kept)]


def lead3(article: str, title: str, budget: int) -> list[str]:
    """The first three sentences, cut to the budget."""
    sentences = article_sentences(article)
    return cut_to_budget(sentences, range(min(3, len(sentences))), budget)


def ours(article: str, title: str, budget: int) -> list[str]:
    """Our ranking, cut to the budget."""
    sentences = article_sentences(article)
    return cut_to_budget(sentences, ranked(sentences, title), budget)


def lead3_whole(article: str, title: str, budget: int) -> list[str]:
    """Those of the first three sentences that fit the budget whole."""
    kept, used = [], 0
    for sentence in article_sentences(article)[:3]:
        if used + len(sentence.split()) <= budget:
            kept.append(sentence)
            used += len(sentence.split())
    return kept


def ours_whole(article: str, title: str, budget: int) -> list[str]:
    """Our best whole sentences that fit the budget (salience.summarize)."""
    return summarize(article, title, budget)


def digest_claims(article: str, title: str, budget: int) -> list[str]:
    """A one-article story's key claims exactly as the digest picks them (whole claims, best first)."""
    return [claim.text for claim in select_claims(extract_claims(article, title=title), budget)]


SUMMARISERS: dict[str, Callable[[str, str, int], list[str]]] = {
    "ours": ours,
    "lead3": lead3,
    "ours_whole": ours_whole,
    "lead3_whole": lead3_whole,
    "digest_claims": digest_claims,
}


@dataclass
class Run:
    """Per-system ROUGE scores and timings of one benchmark run."""

    scores: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {name: {metric: [] for metric in METRICS} for name in SYSTEMS}
    )
    ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in SYSTEMS})


def make_scorer() -> Callable[[str, str], dict[str, float]]:
    """rouge_score's scorer, imported late so that the module loads without the dev extra."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)

    def score(reference: str, prediction: str) -> dict[str, float]:
        return {name: value.fmeasure for name, value in scorer.score(reference, prediction).items()}

    return score


def _timed(summarise: Callable[[str, str, int], list[str]], story: Story, words: int) -> tuple[list[str], float]:
    start = time.perf_counter()
    result = summarise(story.article, story.title, words)
    return result, (time.perf_counter() - start) * 1000


def run(stories: Sequence[Story], budget: int | None = None, progress: bool = True) -> Run:
    """Summarise and score every story with every system; budget None means the reference's word count."""
    score = make_scorer()
    result = Run()
    for number, story in enumerate(stories, 1):
        reference = "\n".join(story.reference_sents)
        words = budget if budget is not None else word_count(reference)
        for name, summarise in SUMMARISERS.items():
            summary, ms = _timed(summarise, story, words)
            result.ms[name].append(ms)
            for metric, value in score(reference, "\n".join(summary)).items():
                result.scores[name][metric].append(value)
        if progress and (number % 100 == 0 or number == len(stories)):
            print(f"  {number}/{len(stories)} stories", file=sys.stderr, flush=True)
    return result


def summarise_run(result: Run) -> dict[str, dict[str, float]]:
    """Mean ROUGE F1 (x100) and mean ms/article of each system."""
    table = {}
    for name in SYSTEMS:
        row = {
            metric: 100 * statistics.fmean(values) if values else 0.0 for metric, values in result.scores[name].items()
        }
        row["ms_per_article"] = statistics.fmean(result.ms[name]) if result.ms[name] else 0.0
        table[name] = row
    return table


def report(summary: dict[str, dict[str, float]], stories: int, budget: str) -> str:
    """The printed table; the last line is ours against Lead-3."""
    lines = [
        f"{stories} stories, budget: {budget}",
        f"{'system':<26} {'ROUGE-1':>8} {'ROUGE-2':>8} {'ROUGE-Lsum':>10} {'ms/article':>10}",
    ]
    for name in SYSTEMS:
        row = summary[name]
        lines.append(
            f"{LABELS[name]:<26} {row['rouge1']:>8.2f} {row['rouge2']:>8.2f} {row['rougeLsum']:>10.2f} "
            f"{row['ms_per_article']:>10.2f}"
        )
    a, b = summary["ours"], summary["lead3"]
    lines.append("")
    lines.append(
        "ours vs Lead-3: "
        + ", ".join(f"{metric} {a[metric] - b[metric]:+.2f}" for metric in METRICS)
        + f"; {a['ms_per_article']:.2f} vs {b['ms_per_article']:.2f} ms/article"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summaries", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path, help="JSONL file (gzip accepted) of article/reference")
    parser.add_argument("--split", choices=("heldout", "train", "all"), default="heldout", help="which part by id hash")
    parser.add_argument("--limit", type=int, help="only the first N stories of the split, in file order")
    parser.add_argument("--budget", default="reference", help="'reference' (its word count) or a number of words")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)

    budget = None if args.budget == "reference" else int(args.budget)
    stories = load_stories(args.dataset, args.split, args.limit)
    if not stories:
        raise SystemExit(f"{args.dataset}: no stories in split {args.split!r}")
    summary = summarise_run(run(stories, budget))
    print(report(summary, len(stories), args.budget))
    if args.json:
        document = {**summary, "dataset": args.dataset.name, "split": args.split, "stories": len(stories)}
        document["budget"] = args.budget
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
