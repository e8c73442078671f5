"""Train the attribution tagger (averaged structured perceptron) on PolNeAR's train split.

Run from the project root::

    python -m benchmarks.train_attribution --polnear ../shared/data/attribution-dev/polnear \
        --out src/newsdigest/claims/weights/attribution.json.gz [--epochs N] [--limit N]

Then the source chooser (which candidate span, if any, is a cue's source) is trained on the tagger's
own output for the training articles, matched to the gold attributions as benchmarks/attribution.py
matches them.

Only feature names (single words, word pairs, shapes, distances) and their weights are written;
rare features are dropped, so no phrase of the training text ends up in the weights file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from benchmarks.attribution import Article, load_split, match, overlap, run
from newsdigest.claims.attribution import trim_span
from newsdigest.claims.tagger.decode import best_path, tag
from newsdigest.claims.tagger.features import features
from newsdigest.claims.tagger.model import CONTENT, CUE, LABELS, OUT, PACKED_FORMAT, SOURCE, Model, load_model, pack
from newsdigest.claims.tagger.sources import source_candidates
from newsdigest.claims.tagger.tokens import paragraphs, tokenize

N = len(LABELS)


def cue_lexicon(articles: Sequence[Article], min_count: int = 3, min_rate: float = 0.15) -> list[str]:
    """Lower-cased words that are part of a cue often enough to anchor the distance features."""
    total: Counter[str] = Counter()
    as_cue: Counter[str] = Counter()
    for article in articles:
        cue_chars = bytearray(len(article.text))
        for gold in article.gold:
            for start, end in gold.cue:
                cue_chars[start:end] = b"\x01" * (end - start)
        for token in tokenize(article.text):
            word = token.text.lower()
            total[word] += 1
            if token.start < len(cue_chars) and cue_chars[token.start]:
                as_cue[word] += 1
    return sorted(w for w, n in as_cue.items() if n >= min_count and n / total[w] >= min_rate and w.isalpha())


def gold_labels(article: Article) -> bytearray:
    """The label of every character of the text (source, cue, content or outside)."""
    labels = bytearray(len(article.text))
    for gold in article.gold:
        for spans, label in ((gold.content, CONTENT), (gold.source, SOURCE), (gold.cue, CUE)):
            for start, end in spans:
                labels[start:end] = bytes([label]) * (end - start)
    return labels


def windows(articles: Sequence[Article], cue_words: frozenset[str]) -> list[tuple[list[list[str]], list[int]]]:
    """(features, gold labels) of every window of every article."""
    data = []
    for article in articles:
        chars = gold_labels(article)
        for tokens in paragraphs(article.text):
            labels = [chars[t.start] if t.start < len(chars) else OUT for t in tokens]
            data.append((features(tokens, cue_words), labels))
    return data


def train(data: Sequence[tuple[list[list[str]], list[int]]], epochs: int, min_count: int) -> dict:
    """Averaged perceptron weights, as the JSON document load_model reads."""
    counts: Counter[str] = Counter(name for feats, _ in data for token in feats for name in token)
    names = [name for name, n in counts.items() if n >= min_count]
    index = {name: i for i, name in enumerate(names)}
    encoded = [([array("i", [index[f] for f in token if f in index]) for token in feats], gold) for feats, gold in data]
    del data
    size = len(names)
    w = [0.0] * (size * N)
    u = [0.0] * (size * N)  # step-weighted updates, for the averaged weights w - u / c
    trans = [[0.0] * N for _ in range(N)]
    trans_u = [[0.0] * N for _ in range(N)]
    start = [0.0] * N
    start_u = [0.0] * N
    c = 1
    rng = random.Random(13)
    for epoch in range(epochs):
        rng.shuffle(encoded)
        errors = tokens = 0
        began = time.perf_counter()
        for feats, gold in encoded:
            emits = []
            for ids in feats:
                emit = [0.0] * N
                for f in ids:
                    base = f * N
                    emit[0] += w[base]
                    emit[1] += w[base + 1]
                    emit[2] += w[base + 2]
                    emit[3] += w[base + 3]
                emits.append(emit)
            predicted = best_path(emits, trans, start)
            tokens += len(gold)
            if predicted != gold:
                for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
                    if g != p:
                        errors += 1
                        for f in feats[i]:
                            w[f * N + g] += 1.0
                            u[f * N + g] += c
                            w[f * N + p] -= 1.0
                            u[f * N + p] -= c
                    gp, pp = (gold[i - 1], predicted[i - 1]) if i else (None, None)
                    if i == 0 and g != p:
                        start[g] += 1.0
                        start_u[g] += c
                        start[p] -= 1.0
                        start_u[p] -= c
                    elif i and (gp, g) != (pp, p):
                        trans[gp][g] += 1.0
                        trans_u[gp][g] += c
                        trans[pp][p] -= 1.0
                        trans_u[pp][p] -= c
            c += 1
        print(
            f"  epoch {epoch + 1}: {errors / max(tokens, 1):.4f} token errors, {time.perf_counter() - began:.0f}s",
            file=sys.stderr,
            flush=True,
        )
    return {
        "weights": {name: [w[i * N + y] - u[i * N + y] / c for y in range(N)] for i, name in enumerate(names)},
        "transitions": [[trans[x][y] - trans_u[x][y] / c for y in range(N)] for x in range(N)],
        "start": [start[y] - start_u[y] / c for y in range(N)],
    }


def source_examples(articles: Sequence[Article], model: Model) -> list[tuple[list[list[str]], list[bool]]]:
    """For every tagged attribution that matches a gold one: its candidate sources' features and which are right."""
    examples = []
    for article in articles:
        text = article.text
        groups = []
        for tokens, labels in tag(text, model):
            for _cue, contents, candidates in source_candidates(tokens, labels):
                pieces = [trim_span(text, tokens[run[1]].start, tokens[run[2] - 1].end) for run in contents]
                pieces = [(start, end) for start, end in pieces if end > start]
                if not pieces:
                    continue
                spans = [
                    ((tokens[run[1]].start, tokens[run[2] - 1].end),) if run is not None else ()
                    for run, _ in candidates
                ]
                groups.append((tuple(pieces), [names for _, names in candidates], spans))
        for p, g in match([content for content, _, _ in groups], article.gold):
            truth = article.gold[g].source
            right = [(not span and not truth) or overlap(span, truth) > 0 for span in groups[p][2]]
            if any(right):
                examples.append((groups[p][1], right))
    return examples


def train_sources(examples: list[tuple[list[list[str]], list[bool]]], epochs: int, min_count: int) -> dict[str, float]:
    """An averaged perceptron that picks one candidate source (or none) per attribution."""
    counts: Counter[str] = Counter(name for candidates, _ in examples for names in candidates for name in names)
    keep = {name for name, n in counts.items() if n >= min_count}
    examples = [([[n for n in names if n in keep] for names in candidates], right) for candidates, right in examples]
    w: dict[str, float] = {}
    u: dict[str, float] = {}
    c = 1
    rng = random.Random(17)
    for epoch in range(epochs):
        rng.shuffle(examples)
        errors = 0
        for candidates, right in examples:
            scores = [sum(w.get(name, 0.0) for name in names) for names in candidates]
            guess = max(range(len(candidates)), key=scores.__getitem__)
            if not right[guess]:
                errors += 1
                gold = max((i for i in range(len(candidates)) if right[i]), key=scores.__getitem__)
                for name in candidates[gold]:
                    w[name] = w.get(name, 0.0) + 1.0
                    u[name] = u.get(name, 0.0) + c
                for name in candidates[guess]:
                    w[name] = w.get(name, 0.0) - 1.0
                    u[name] = u.get(name, 0.0) - c
            c += 1
        print(f"  sources epoch {epoch + 1}: {errors / max(len(examples), 1):.4f} wrong", file=sys.stderr, flush=True)
    return {name: w[name] - u[name] / c for name in w}


def save(
    model: dict,
    cue_words: list[str],
    path: Path,
    prune: float,
    scale: float = 100.0,
    sources: dict[str, float] | None = None,
) -> None:
    """Write the weights as gzipped JSON, dropping near-zero features and rounding to integers.

    Each feature's four label scores are stored packed into one integer, as the tagger holds them:
    loading then builds no per-feature lists (tens of MB that the process would keep).
    """
    weights = {
        name: [round(v * scale) for v in values]
        for name, values in model["weights"].items()
        if max(abs(v) for v in values) >= prune
    }
    document = {
        "labels": list(LABELS),
        "scale": scale,
        "cue_words": cue_words,
        "transitions": [[round(v * scale) for v in row] for row in model["transitions"]],
        "start": [round(v * scale) for v in model["start"]],
        "format": PACKED_FORMAT,
        "weights": {name: pack(values) for name, values in sorted(weights.items()) if any(values)},
        "sources": {name: round(v * scale) for name, v in sorted((sources or {}).items()) if round(v * scale)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as handle:
        json.dump(document, handle, separators=(",", ":"), ensure_ascii=False)
    print(f"wrote {path}: {len(document['weights'])} features, {path.stat().st_size / 1024:.0f} KiB", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_attribution", description=__doc__.splitlines()[0])
    parser.add_argument("--polnear", required=True, type=Path, help="folder with train/text and train/attributions")
    parser.add_argument("--out", required=True, type=Path, help="where to write the weights (.json.gz)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--min-count", type=int, default=3, help="drop features seen fewer times in train")
    parser.add_argument("--prune", type=float, default=0.5, help="drop features whose largest weight is smaller")
    parser.add_argument("--limit", type=int, help="only the first N training articles")
    parser.add_argument("--source-epochs", type=int, default=10, help="epochs of the source chooser (0: heuristic)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    articles = load_split(args.polnear, "train")[: args.limit]
    cue_words = cue_lexicon(articles)
    print(f"{len(articles)} articles, {len(cue_words)} cue words", file=sys.stderr)
    data = windows(articles, frozenset(cue_words))
    model = train(data, args.epochs, args.min_count)
    save(model, cue_words, args.out, args.prune)
    load_model.cache_clear()
    if args.source_epochs:
        # Which candidate is the source: learnt from the tagger's own output on the training articles.
        examples = source_examples(articles, load_model(args.out))
        print(f"{len(examples)} source choices", file=sys.stderr)
        sources = train_sources(examples, args.source_epochs, args.min_count)
        save(model, cue_words, args.out, args.prune, sources=sources)
        load_model.cache_clear()
    dev = load_split(args.polnear, "dev")
    summary = run(dev, systems=("ours",), weights=args.out)["ours"].summary()
    print("dev: " + ", ".join(f"{key} {value:.3f}" for key, value in summary.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
