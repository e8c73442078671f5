"""Sentence salience: how summary-worthy each sentence of an article is, and extractive summaries from it.

A linear model over hand-made features (position, length, overlap with the title and with the article's
frequent content words, numbers, quotes, names, attribution, ...) scores each sentence. Its weights are
trained by ``benchmarks/train_salience.py`` on the CNN corpus and ship in ``claims/weights/salience.json``:
feature names and numbers only. Inference is plain Python so that the digest needs no NumPy.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from newsdigest.text.sentences import article_sentences
from newsdigest.text.wordlists import word_set

WEIGHTS_PATH = Path(__file__).parent / "weights" / "salience.json"

# Function words (words/stopwords.txt); content words are everything else of 3+ characters.
_STOPWORDS = word_set("stopwords")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_NUMBER = re.compile(r"\d")
_QUOTE_CHARS = re.compile(r"[\"“”]")
_CUE = re.compile(
    r"\b(?:said|says|told|tells|according to|announced|added|explained|stated|reported|confirmed|warned)\b"
)
# Sentences opening with these lean on the one before ("He", "But", "This").
_DEPENDENT_START = word_set("dependent_starts")
_FIRST_PERSON = frozenset(["i", "me", "my", "we", "our", "us", "i'm", "we're", "i've", "we've"])
_ENDS_CLEANLY = re.compile(r"[.!?][\"'”’)\]]*$")
_POSITION_BINS = (0, 1, 2, 3, 4, 5, 7, 10, 15, 25)
_LENGTH_BINS = (0, 6, 11, 16, 21, 26, 31, 41, 56)


def _stem(word: str) -> str:
    """A crude suffix stripper: enough for "country"/"countries" or "invest"/"investing" to overlap."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + keep
    return word


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def _content(tokens: Sequence[str]) -> list[str]:
    """Stemmed lower-case content words; the stop list is checked on the surface form."""
    out = []
    for token in tokens:
        lower = token.lower().replace("’", "'")
        if len(lower) >= 3 and lower not in _STOPWORDS and not lower.isdigit():
            out.append(_stem(lower))
    return out


def _bin(value: int, edges: Sequence[int]) -> int:
    """Index of the last edge that value reaches."""
    index = 0
    for number, edge in enumerate(edges):
        if value >= edge:
            index = number
    return index


FEATURE_NAMES: tuple[str, ...] = (
    *(f"pos_bin_{edge}" for edge in _POSITION_BINS),
    "rel_pos",
    "rel_pos_sq",
    "log_sentences",
    *(f"len_bin_{edge}" for edge in _LENGTH_BINS),
    "log_len",
    "title_overlap",
    "title_overlap_rel",
    "title_hits",
    "centroid_cos",
    "centroid_cos_rel",
    "centroid_rank",
    "tf_mean",
    "top10_cover",
    "first_sent_sim",
    "prev_sim",
    "numbers",
    "has_number",
    "quote",
    "starts_quote",
    "quote_share",
    "cue",
    "capitalised",
    "capitalised_share",
    "dependent_start",
    "first_person",
    "question",
    "exclamation",
    "no_end_punct",
    "colon_or_paren",
    "all_caps_word",
    "content_share",
    "lead_x_centroid",
    "lead_x_title",
    "relpos_x_centroid",
    "relpos_x_title",
    "relpos_x_numbers",
    "relpos_x_quote",
    "relpos_x_cue",
    "first_x_len",
    "first_x_dependent",
)


def _cosine(left: Counter[str], right: Counter[str], right_norm: float) -> float:
    if not left or not right_norm:
        return 0.0
    dot = sum(count * right.get(word, 0) for word, count in left.items())
    left_norm = math.sqrt(sum(count * count for count in left.values()))
    return dot / (left_norm * right_norm) if left_norm else 0.0


def features(sentences: Sequence[str], title: str = "") -> list[list[float]]:
    """One feature vector per sentence, in FEATURE_NAMES order."""
    total = len(sentences)
    if not total:
        return []
    token_lists = [_tokens(sentence) for sentence in sentences]
    content_lists = [_content(tokens) for tokens in token_lists]
    bags = [Counter(content) for content in content_lists]
    article: Counter[str] = Counter()
    for bag in bags:
        article.update(bag)
    article_norm = math.sqrt(sum(count * count for count in article.values()))
    top = {word for word, _ in article.most_common(10)}
    max_tf = max(article.values(), default=1)
    title_words = set(_content(_tokens(title)))
    overlaps = [len(title_words & set(bag)) / len(title_words) if title_words else 0.0 for bag in bags]
    # The centroid includes the sentence itself: leaving it out favours short sentences too much.
    centroid = [_cosine(bag, article, article_norm) for bag in bags]
    best_overlap = max(overlaps) or 1.0
    best_centroid = max(centroid) or 1.0
    order = sorted(range(total), key=lambda i: -centroid[i])
    centroid_rank = [0.0] * total
    for rank, index in enumerate(order):
        centroid_rank[index] = 1.0 - rank / total
    first_bag = bags[0]
    first_norm = math.sqrt(sum(count * count for count in first_bag.values()))
    rows = []
    for index, sentence in enumerate(sentences):
        tokens = token_lists[index]
        length = len(tokens)
        bag = bags[index]
        rel = index / total
        position = [0.0] * len(_POSITION_BINS)
        position[_bin(index, _POSITION_BINS)] = 1.0
        length_bins = [0.0] * len(_LENGTH_BINS)
        length_bins[_bin(length, _LENGTH_BINS)] = 1.0
        # Capitalised words after the first token: names, places, organisations.
        capitalised = sum(1 for token in tokens[1:] if token[:1].isupper())
        quote_chars = _QUOTE_CHARS.findall(sentence)
        quoted_share = 0.0
        if len(quote_chars) >= 2:
            inside = re.findall(r"[\"“]([^\"“”]*)[\"”]", sentence)
            quoted_share = min(sum(len(part) for part in inside) / max(len(sentence), 1), 1.0)
        lowered = [token.lower().replace("’", "'") for token in tokens]
        stripped = sentence.lstrip("\"“'‘( ")
        first_word = lowered[0] if lowered else ""
        prev_sim = 0.0
        if index:
            prev = bags[index - 1]
            prev_sim = _cosine(bag, prev, math.sqrt(sum(count * count for count in prev.values())))
        lead = 1.0 if index < 3 else 0.0
        rows.append(
            [
                *position,
                rel,
                rel * rel,
                math.log1p(total),
                *length_bins,
                math.log1p(length),
                overlaps[index],
                overlaps[index] / best_overlap,
                math.log1p(len(title_words & set(bag))),
                centroid[index],
                centroid[index] / best_centroid,
                centroid_rank[index],
                (sum(article[word] for word in content_lists[index]) / len(content_lists[index]) / max_tf)
                if content_lists[index]
                else 0.0,
                len(top & set(bag)) / 10,
                _cosine(bag, first_bag, first_norm) if index else 1.0,
                prev_sim,
                math.log1p(sum(1 for token in tokens if _NUMBER.search(token))),
                1.0 if _NUMBER.search(sentence) else 0.0,
                1.0 if quote_chars else 0.0,
                1.0 if sentence[:1] in '"“' else 0.0,
                quoted_share,
                1.0 if _CUE.search(sentence) else 0.0,
                math.log1p(capitalised),
                capitalised / length if length else 0.0,
                1.0 if first_word in _DEPENDENT_START else 0.0,
                1.0 if _FIRST_PERSON.intersection(lowered) and not quote_chars else 0.0,
                1.0 if sentence.rstrip("\"'”’) ").endswith("?") else 0.0,
                1.0 if sentence.rstrip("\"'”’) ").endswith("!") else 0.0,
                0.0 if _ENDS_CLEANLY.search(sentence) else 1.0,
                1.0 if ":" in stripped or "(" in stripped else 0.0,
                1.0 if any(len(token) >= 4 and token.isupper() and token.isalpha() for token in tokens) else 0.0,
                len(content_lists[index]) / length if length else 0.0,
                lead * centroid[index],
                lead * overlaps[index],
                rel * centroid[index],
                rel * overlaps[index],
                rel * (1.0 if _NUMBER.search(sentence) else 0.0),
                rel * (1.0 if quote_chars else 0.0),
                rel * (1.0 if _CUE.search(sentence) else 0.0),
                (math.log1p(length) if index == 0 else 0.0),
                (1.0 if index == 0 and first_word in _DEPENDENT_START else 0.0),
            ]
        )
    return rows


@lru_cache(maxsize=1)
def load_weights(path: Path = WEIGHTS_PATH) -> dict[str, Any]:
    """The trained model: feature names, standardisation, weights and selection settings."""
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if list(model["features"]) != list(FEATURE_NAMES):
        raise ValueError(f"{path}: its features do not match this version of newsdigest.claims.salience")
    return model


def sentence_scores(sentences: Sequence[str], title: str = "") -> list[float]:
    """How summary-worthy each sentence is: a score per sentence, higher is better (comparable within one article)."""
    model = load_weights()
    mean, scale, weights, bias = model["mean"], model["scale"], model["weights"], model["bias"]
    scores = []
    for row in features(sentences, title):
        total = bias
        for value, mu, sigma, weight in zip(row, mean, scale, weights, strict=True):
            total += weight * (value - mu) / sigma
        scores.append(total)
    return scores


def _word_set(sentence: str) -> set[str]:
    return set(_content(_tokens(sentence)))


def ranked(sentences: Sequence[str], title: str = "") -> list[int]:
    """Sentence indices best first, a sentence that mostly repeats a better one moved to the end."""
    if not sentences:
        return []
    threshold = load_weights().get("redundancy", 0.6)
    scores = sentence_scores(sentences, title)
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    repeats: list[int] = []
    kept_words: list[set[str]] = []
    for index in order:
        words = _word_set(sentences[index])
        # Two sentences saying the same thing waste the budget; keep the better one first.
        if words and any(len(words & other) / len(words) >= threshold for other in kept_words):
            repeats.append(index)
            continue
        kept.append(index)
        kept_words.append(words)
    return kept + repeats


def summarize(text: str, title: str, word_budget: int) -> list[str]:
    """The best whole sentences of an article that fit in word_budget words, verbatim, in article order."""
    sentences = article_sentences(text)
    chosen: list[int] = []
    used = 0
    for index in ranked(sentences, title):
        length = len(sentences[index].split())
        # A sentence that does not fit is skipped, not cut: a shorter good one may still fit.
        if used + length <= word_budget:
            chosen.append(index)
            used += length
    return [sentences[index] for index in sorted(chosen)]
