"""Train the sentence-salience model of newsdigest.claims.salience on the training part of the CNN corpus.

Run from the project root::

    python -m benchmarks.train_salience --dataset ../shared/data/summarization-dev/cnn_corpus.jsonl.gz \\
        --out src/newsdigest/claims/weights/salience.json [--objective NAME] [--compare]

Only the stories that ``benchmarks.summaries.split_of`` puts in "train" are read. Sentences come from
``salience.article_sentences`` (the digest's splitter), not the dataset's ``article_sents``, so that the
model is trained on the sentences it will rank.

The model is linear over standardised features, fitted by averaged SGD in plain Python (no NumPy).
Objectives (``--objective``):

- ``gold``: logistic loss, label 1 for a sentence among ``gold_extractive_sents``;
- ``rouge``: logistic loss with a soft label, the sentence's ROUGE-1/2 recall against the reference
  relative to the article's best sentence -- training towards the metric itself;
- ``listwise``: a softmax over each article's sentences fitted to the mix of both labels, so that the
  model learns which sentence of *this* article to prefer rather than absolute probabilities.
- ``mixed`` (default): logistic loss on the average of the gold and soft ROUGE labels.

``--compare`` fits each objective on 80% of the training stories and prints ROUGE of the summaries
(the benchmark's cut rule, reference budget) on the other 20%, with a few redundancy thresholds; the
held-out part is never looked at. The written model is then fitted on all training stories.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.summaries import _open, cut_to_budget, make_scorer, split_of, word_count
from newsdigest.claims import salience

OBJECTIVES = ("gold", "rouge", "listwise", "mixed")


@dataclass
class Example:
    """One training story: its sentences, their features and labels, and the reference."""

    id: str
    title: str
    sentences: list[str]
    rows: list[list[float]]
    gold: list[float]
    rouge: list[float]
    reference: str


def _ngrams(tokens: Sequence[str], size: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def rouge_labels(sentences: Sequence[str], reference: str, tokenize) -> list[float]:
    """Each sentence's mean ROUGE-1/ROUGE-2 recall against the reference, over the article's best."""
    ref_tokens = tokenize(reference)
    ref1, ref2 = _ngrams(ref_tokens, 1), _ngrams(ref_tokens, 2)
    total1, total2 = max(sum(ref1.values()), 1), max(sum(ref2.values()), 1)
    raw = []
    for sentence in sentences:
        tokens = tokenize(sentence)
        hit1 = sum((_ngrams(tokens, 1) & ref1).values()) / total1
        hit2 = sum((_ngrams(tokens, 2) & ref2).values()) / total2
        # Recall alone would favour long sentences; dividing by a soft length keeps them comparable.
        raw.append((hit1 + hit2) / 2 / math.sqrt(max(len(tokens), 8) / 20))
    best = max(raw, default=0.0) or 1.0
    return [value / best for value in raw]


def load_examples(path: Path) -> list[Example]:
    """Training-split stories with features and labels."""
    tokenize = make_tokenizer()
    examples = []
    for line in _open(path):
        if not line.strip():
            continue
        row = json.loads(line)
        if split_of(str(row["id"])) != "train":
            continue
        sentences = salience.article_sentences(row["article"])
        if not sentences:
            continue
        gold = set(row.get("gold_extractive_sents") or [])
        reference = "\n".join(row.get("reference_sents") or [row["reference"]])
        examples.append(
            Example(
                id=str(row["id"]),
                title=row.get("title") or "",
                sentences=sentences,
                rows=salience.features(sentences, row.get("title") or ""),
                gold=[1.0 if sentence in gold else 0.0 for sentence in sentences],
                rouge=rouge_labels(sentences, reference, tokenize),
                reference=reference,
            )
        )
    return examples


def make_tokenizer():
    """rouge_score's own tokenizer with stemming, so that the soft labels count what ROUGE counts."""
    from rouge_score import tokenizers

    return tokenizers.DefaultTokenizer(use_stemmer=True).tokenize


def standardisation(examples: Sequence[Example]) -> tuple[list[float], list[float]]:
    """Per-feature mean and standard deviation over all training sentences (1 for a constant feature)."""
    columns = list(zip(*(row for example in examples for row in example.rows), strict=True))
    mean = [statistics.fmean(column) for column in columns]
    scale = [statistics.pstdev(column) or 1.0 for column in columns]
    return mean, scale


def _standardised(example: Example, mean: Sequence[float], scale: Sequence[float]) -> list[list[float]]:
    return [[(v - m) / s for v, m, s in zip(row, mean, scale, strict=True)] for row in example.rows]


def _target(example: Example, objective: str) -> list[float]:
    if objective == "gold":
        return example.gold
    if objective == "rouge":
        return example.rouge
    return [(g + r) / 2 for g, r in zip(example.gold, example.rouge, strict=True)]


def fit(
    examples: Sequence[Example], objective: str, epochs: int = 12, rate: float = 0.05, l2: float = 1e-4, seed: int = 7
) -> dict[str, object]:
    """Averaged SGD on the chosen objective; returns the model document (without selection settings)."""
    mean, scale = standardisation(examples)
    data = [(_standardised(example, mean, scale), _target(example, objective)) for example in examples]
    width = len(mean)
    weights, bias = [0.0] * width, 0.0
    total_w, total_b, steps = [0.0] * width, 0.0, 0
    rng = random.Random(seed)
    order = list(range(len(data)))
    for epoch in range(epochs):
        rng.shuffle(order)
        step = rate / (1 + epoch)
        for story in order:
            rows, target = data[story]
            if objective == "listwise":
                # Softmax over the article's sentences against the normalised label distribution.
                mass = sum(target)
                if not mass:
                    continue
                logits = [bias + sum(w * x for w, x in zip(weights, row, strict=True)) for row in rows]
                top = max(logits)
                exps = [math.exp(logit - top) for logit in logits]
                norm = sum(exps)
                gradients = [e / norm - t / mass for e, t in zip(exps, target, strict=True)]
                for row, gradient in zip(rows, gradients, strict=True):
                    for k in range(width):
                        weights[k] -= step * (gradient * row[k] + l2 * weights[k])
            else:
                for row, label in zip(rows, target, strict=True):
                    logit = bias + sum(w * x for w, x in zip(weights, row, strict=True))
                    probability = 1 / (1 + math.exp(-max(min(logit, 30.0), -30.0)))
                    gradient = probability - label
                    bias -= step * gradient
                    for k in range(width):
                        weights[k] -= step * (gradient * row[k] + l2 * weights[k])
            total_w = [t + w for t, w in zip(total_w, weights, strict=True)]
            total_b += bias
            steps += 1
    return {
        "features": list(salience.FEATURE_NAMES),
        "objective": objective,
        "mean": [round(v, 6) for v in mean],
        "scale": [round(v, 6) for v in scale],
        "weights": [round(t / steps, 6) for t in total_w],
        "bias": round(total_b / steps, 6),
    }


def _score_rows(model: dict[str, object], rows: Sequence[Sequence[float]]) -> list[float]:
    mean, scale, weights = model["mean"], model["scale"], model["weights"]
    return [
        float(model["bias"]) + sum(w * (v - m) / s for v, m, s, w in zip(row, mean, scale, weights, strict=True))
        for row in rows
    ]


def evaluate(model: dict[str, object], examples: Sequence[Example], redundancy: float) -> dict[str, float]:
    """Mean ROUGE F1 x100 of the benchmark's cut-to-reference-budget summaries under this model."""
    score = make_scorer()
    totals: dict[str, list[float]] = {}
    for example in examples:
        scores = _score_rows(model, example.rows)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        kept, repeats, seen = [], [], []
        for index in order:
            words = salience._word_set(example.sentences[index])
            if words and any(len(words & other) / len(words) >= redundancy for other in seen):
                repeats.append(index)
                continue
            kept.append(index)
            seen.append(words)
        summary = cut_to_budget(example.sentences, kept + repeats, word_count(example.reference))
        for metric, value in score(example.reference, "\n".join(summary)).items():
            totals.setdefault(metric, []).append(value)
    return {metric: round(100 * statistics.fmean(values), 2) for metric, values in totals.items()}


def _validation(example: Example) -> bool:
    """A fixed fifth of the training stories, by a hash salted differently from the train/held-out split."""
    return int(hashlib.sha1(f"validation:{example.id}".encode()).hexdigest()[:8], 16) % 5 == 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_salience", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path, help="the CNN corpus JSONL (gzip accepted)")
    parser.add_argument("--out", required=True, type=Path, help="where to write the model JSON")
    parser.add_argument("--objective", choices=OBJECTIVES, default="mixed")
    parser.add_argument("--redundancy", type=float, default=0.6, help="word-overlap share that makes a repeat")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--compare", action="store_true", help="print validation ROUGE of every objective first")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)

    examples = load_examples(args.dataset)
    print(f"{len(examples)} training stories, {sum(len(e.sentences) for e in examples)} sentences", file=sys.stderr)
    if args.compare:
        fit_part = [example for example in examples if not _validation(example)]
        check_part = [example for example in examples if _validation(example)]
        lead = {"features": list(salience.FEATURE_NAMES), "mean": [0.0] * len(salience.FEATURE_NAMES)}
        lead |= {"scale": [1.0] * len(salience.FEATURE_NAMES), "bias": 0.0}
        lead["weights"] = [-float(name == "rel_pos") for name in salience.FEATURE_NAMES]
        print(f"validation ({len(check_part)} stories), lead order: {evaluate(lead, check_part, 1.01)}")
        for objective in OBJECTIVES:
            model = fit(fit_part, objective, epochs=args.epochs)
            for redundancy in (0.5, 0.6, 0.7, 1.01):
                print(f"  {objective:<9} redundancy {redundancy}: {evaluate(model, check_part, redundancy)}")
    model = fit(examples, args.objective, epochs=args.epochs)
    model["redundancy"] = args.redundancy
    model["trained_on"] = f"{args.dataset.name}, train split ({len(examples)} stories)"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
