"""Story grouping benchmark and trainer: one event, one story, across independently written reports.

Run from the project root::

    python -m benchmarks.stories --corpus ../shared/data/stories-dev/corpus.jsonl [--json FILE]
    python -m benchmarks.stories --train --corpus ../shared/data/stories-dev/corpus.jsonl \\
        [--background ../shared/data/summarization-dev/cnn_corpus.jsonl.gz]

Scoring runs the grouping the flow runs (``assign_stories``: one article at a time, in publication order)
and, in the same process, the anchor of the issue: TF-IDF (sublinear tf, stop words out) with average-link
agglomerative clustering on cosine distance, cut at 0.7 and 0.8 -- an offline method that sees every
article at once. Scores are pairwise story precision and recall, on the whole file and on its two halves
of topics (the ``story`` label's prefix before ``_``): the model is fitted on the "fit" half only, so the
"held" half is the figure to quote.

``--train`` writes the two files the grouping reads (``src/newsdigest/stories/weights/``): the background
document frequencies of story terms, counted over the training part of the CNN corpus (the part
``benchmarks.summaries.split_of`` calls "train"; terms in fewer than three articles are left out), and the
logistic model over ``grouping.FEATURES``, fitted on the fit half's topics with each article compared with
the stories the index offers it (gold stories so far). The model's bias is shifted so that the default
``story_threshold`` (0.22) is the operating point chosen on the fit half.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from benchmarks.dedup import pair_scores
from benchmarks.summaries import split_of
from newsdigest.models import NewDocument
from newsdigest.stories import grouping
from newsdigest.stories.assign import assign_stories
from newsdigest.stories.grouping import FEATURES, StoryIndex, story_terms
from newsdigest.stories.nearcopy import words
from newsdigest.text.wordlists import word_set

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / ".." / "shared" / "data" / "stories-dev" / "corpus.jsonl"
DEFAULT_BACKGROUND = ROOT / ".." / "shared" / "data" / "summarization-dev" / "cnn_corpus.jsonl.gz"
WEIGHTS = ROOT / "src" / "newsdigest" / "stories" / "weights"
DEFAULT_THRESHOLD = 0.22  # [dedup] story_threshold's default
MIN_BACKGROUND_DF = 3


def load(path: Path) -> list[dict[str, str]]:
    """The corpus in publication order (ties by id)."""
    with path.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return sorted(items, key=lambda doc: (doc.get("published") or "", doc["id"]))


def topic(label: str) -> str:
    """The topic of a gold story label ("t02_ecbplus" -> "t02")."""
    return label.split("_", 1)[0]


def halves(docs: Sequence[dict[str, str]]) -> tuple[set[str], set[str]]:
    """(fit, held) topics: every other topic in sorted order."""
    topics = sorted({topic(doc["story"]) for doc in docs})
    return set(topics[0::2]), set(topics[1::2])


# --- the anchor: TF-IDF + average link -----------------------------------------------------------------


def tfidf_vectors(docs: Sequence[dict[str, str]]) -> list[dict[str, float]]:
    """Unit TF-IDF vectors (sublinear tf, smoothed idf, stop words and one-letter tokens out)."""
    stop = word_set("stopwords")
    counts = [
        Counter(w for w in words(f"{doc['title']}\n{doc['text']}") if len(w) > 1 and w not in stop) for doc in docs
    ]
    df = Counter(term for count in counts for term in count)
    n = len(docs)
    vectors = []
    for count in counts:
        raw = {t: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in count.items()}
        norm = math.sqrt(sum(x * x for x in raw.values())) or 1.0
        vectors.append({t: x / norm for t, x in raw.items()})
    return vectors


def average_link(vectors: Sequence[dict[str, float]], cut: float) -> list[int]:
    """Average-link agglomerative clusters on cosine distance, merged while the distance is at most `cut`."""
    n = len(vectors)
    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            small, big = (vectors[i], vectors[j]) if len(vectors[i]) < len(vectors[j]) else (vectors[j], vectors[i])
            sim[i][j] = sim[j][i] = sum(x * big.get(t, 0.0) for t, x in small.items())
    # Sums of pairwise similarities between live clusters, updated on each merge (Lance-Williams for average).
    size = dict.fromkeys(range(n), 1)
    members = {i: [i] for i in range(n)}
    total = {i: {j: sim[i][j] for j in range(n) if j != i} for i in range(n)}
    while len(size) > 1:
        best, pair = -1.0, (-1, -1)
        for a, row in total.items():
            for b, value in row.items():
                if a < b and value / (size[a] * size[b]) > best:
                    best, pair = value / (size[a] * size[b]), (a, b)
        if 1.0 - best > cut:
            break
        a, b = pair
        for c, value in total.pop(b).items():
            total[c].pop(b)
            if c != a:
                total[a][c] = total[a].get(c, 0.0) + value
                total[c][a] = total[a][c]
        size[a] += size.pop(b)
        members[a] += members.pop(b)
    labels = [0] * n
    for cluster, items in members.items():
        for i in items:
            labels[i] = cluster
    return labels


# --- scoring ---------------------------------------------------------------------------------------------


def ours(docs: Sequence[dict[str, str]], threshold: float) -> list[str]:
    """Story ids from the flow's grouping, articles taken one at a time in publication order."""
    records = assign_stories(
        [NewDocument(doc["id"], doc.get("title") or "", doc.get("text") or "") for doc in docs],
        [],
        story_threshold=threshold,
    )
    return [record.story_id for record in records]


def scores(predicted: Sequence[object], docs: Sequence[dict[str, str]]) -> dict[str, float]:
    """Pairwise story precision and recall on the whole corpus and on each half of its topics."""
    fit, held = halves(docs)
    gold = [doc["story"] for doc in docs]
    result: dict[str, float] = {}
    for name, keep in (("", None), ("fit_", fit), ("held_", held)):
        chosen = [i for i, doc in enumerate(docs) if keep is None or topic(doc["story"]) in keep]
        precision, recall = pair_scores([str(predicted[i]) for i in chosen], [gold[i] for i in chosen])
        result[f"{name}story_precision"], result[f"{name}story_recall"] = precision, recall
    return result


def evaluate(path: Path, threshold: float, anchors: Sequence[float] = (0.7, 0.8)) -> dict[str, object]:
    """Our grouping and the TF-IDF anchors on one corpus."""
    docs = load(path)
    result: dict[str, object] = {"documents": len(docs), **scores(ours(docs, threshold), docs)}
    vectors = tfidf_vectors(docs)
    result["anchors"] = {f"tfidf_average_link_{cut}": scores(average_link(vectors, cut), docs) for cut in anchors}
    return result


def report(result: dict[str, object]) -> str:
    """A table: rows are methods, columns P/R on all, fit and held topics."""
    rows = [("ours (incremental, as the flow)", result), *result["anchors"].items()]  # type: ignore[attr-defined]
    lines = [f"{'method':<34} {'P':>6} {'R':>6} {'fit P':>6} {'fit R':>6} {'held P':>6} {'held R':>6}"]
    for name, row in rows:
        lines.append(
            f"{name:<34} {row['story_precision']:>6.3f} {row['story_recall']:>6.3f} "
            f"{row['fit_story_precision']:>6.3f} {row['fit_story_recall']:>6.3f} "
            f"{row['held_story_precision']:>6.3f} {row['held_story_recall']:>6.3f}"
        )
    return "\n".join(lines)


# --- training ----------------------------------------------------------------------------------------------


def background_df(path: Path) -> dict[str, object]:
    """Document frequencies of story terms over the CNN corpus's training part."""
    df: Counter[str] = Counter()
    documents = 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            if split_of(str(item["id"])) != "train":
                continue
            documents += 1
            df.update(story_terms(item.get("title") or "", item.get("article") or "").keys())
    kept = {term: n for term, n in sorted(df.items()) if n >= MIN_BACKGROUND_DF}
    return {"documents": documents, "min_df": MIN_BACKGROUND_DF, "df": kept}


def examples(docs: Sequence[dict[str, str]], topics: set[str]) -> tuple[list[list[float]], list[int]]:
    """Features and labels of each article of these topics against the stories the index offers it.

    The index holds the gold stories so far (every topic, so the document frequencies are the run's).
    """
    index = StoryIndex()
    xs: list[list[float]] = []
    ys: list[int] = []
    for doc in docs:
        terms = dict(story_terms(doc.get("title") or "", doc.get("text") or ""))
        if topic(doc["story"]) in topics:
            for story_id, features in index.features(terms, index.candidate_stories(terms)):
                xs.append(features)
                ys.append(1 if story_id == doc["story"] else 0)
        index.add(doc["id"], terms, doc["story"])
    return xs, ys


def fit_logistic(xs: Sequence[Sequence[float]], ys: Sequence[int], l2: float = 1e-3, epochs: int = 3000) -> list[float]:
    """Weights then bias of an L2-regularised logistic regression, by full-batch gradient descent."""
    width = len(xs[0])
    w = [0.0] * (width + 1)
    rate = 1.0
    for _ in range(epochs):
        grad = [0.0] * (width + 1)
        for x, y in zip(xs, ys, strict=True):
            z = w[-1] + sum(a * b for a, b in zip(w, x, strict=False))
            error = 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z)))) - y
            for k in range(width):
                grad[k] += error * x[k]
            grad[-1] += error
        for k in range(width + 1):
            w[k] -= rate * (grad[k] / len(xs) + (l2 * w[k] if k < width else 0.0))
    return w


def train(corpus: Path, background: Path, out: Path) -> dict[str, object]:
    """Write the background table and the model; the operating point is chosen on the fit half."""
    out.mkdir(parents=True, exist_ok=True)
    table = background_df(background)
    (out / "background_df.json.gz").write_bytes(
        gzip.compress(json.dumps(table, separators=(",", ":")).encode("utf-8"), mtime=0)
    )
    grouping._background.cache_clear()
    docs = load(corpus)
    fit, _ = halves(docs)
    xs, ys = examples(docs, fit)
    w = fit_logistic(xs, ys)
    chosen = [i for i, doc in enumerate(docs) if topic(doc["story"]) in fit]
    logit = math.log(DEFAULT_THRESHOLD / (1 - DEFAULT_THRESHOLD))
    best: tuple[float, float] | None = None
    sweep = []
    for step in range(0, 13):
        point = -1.0 + 0.25 * step  # the decision z >= point, written as a bias shift
        _write_model(out, w[:-1], w[-1] - point + logit)
        # The whole corpus goes through, as in a run; only the fit half's labels are looked at.
        predicted = ours(docs, DEFAULT_THRESHOLD)
        precision, recall = pair_scores([predicted[i] for i in chosen], [docs[i]["story"] for i in chosen])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        sweep.append({"point": point, "precision": round(precision, 3), "recall": round(recall, 3)})
        if precision >= 0.95 and (best is None or f1 > best[1]):
            best = (point, f1)
    point = best[0] if best else 1.0
    _write_model(out, w[:-1], w[-1] - point + logit)
    return {"examples": len(ys), "positives": sum(ys), "weights": w, "point": point, "sweep": sweep}


def _write_model(out: Path, weights: Sequence[float], bias: float) -> None:
    model = {
        "features": list(FEATURES),
        "weights": [round(v, 6) for v in weights],
        "bias": round(bias, 6),
        "note": "logistic model of benchmarks/stories.py --train; score >= [dedup] story_threshold joins a story",
    }
    (out / "story_model.json").write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    grouping._model.cache_clear()


def build_parser() -> argparse.ArgumentParser:
    """The command line's options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stories", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="labelled stories (JSON lines)")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON")
    parser.add_argument("--story-threshold", type=float, default=DEFAULT_THRESHOLD, help="score that joins a story")
    parser.add_argument("--train", action="store_true", help="fit the model and background table, then score")
    parser.add_argument("--background", type=Path, default=DEFAULT_BACKGROUND, help="with --train: the CNN corpus")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="with --train: where the two files go")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    if args.train:
        trained = train(args.corpus, args.background, args.out)
        print(json.dumps({k: v for k, v in trained.items() if k != "weights"}), file=sys.stderr)
    result = evaluate(args.corpus, args.story_threshold)
    print(f"corpus: {args.corpus}, {result['documents']} documents")
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
