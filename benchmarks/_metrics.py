"""Scoring functions for the extraction benchmark (scrapinghub shingles, trafilatura-eval with/without strings)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
SHINGLE_SIZE = 4


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 of one extractor over a dataset."""

    precision: float
    recall: float
    f1: float


def harmonic_mean(precision: float, recall: float) -> float:
    """F1 of a precision and a recall, 0 when both are 0."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def tokens(text: str) -> list[str]:
    """Word tokens of a text, as the scrapinghub metric counts them."""
    return _TOKEN.findall(text)


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """Multiset of `size`-token shingles; a shorter non-empty text is one shingle of all its tokens."""
    toks = tokens(text)
    if len(toks) < size:
        return Counter([tuple(toks)]) if toks else Counter()
    return Counter(tuple(toks[i : i + size]) for i in range(len(toks) - size + 1))


def shingle_page_scores(predicted: str, truth: str) -> tuple[float, float]:
    """(precision, recall) of one page from normalised shingle TP/FP/FN; empty vs empty is perfect."""
    pred, gold = shingles(predicted), shingles(truth)
    if not pred and not gold:
        return 1.0, 1.0
    tp = sum((pred & gold).values())
    fp = sum(pred.values()) - tp
    fn = sum(gold.values()) - tp
    total = tp + fp + fn
    tp, fp, fn = tp / total, fp / total, fn / total
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def shingle_score(pages: Iterable[tuple[float, float]]) -> Score:
    """Average per-page (precision, recall) pairs; F1 is the harmonic mean of the two averages."""
    pairs = list(pages)
    if not pairs:
        return Score(0.0, 0.0, 0.0)
    precision = sum(p for p, _ in pairs) / len(pairs)
    recall = sum(r for _, r in pairs) / len(pairs)
    return Score(precision, recall, harmonic_mean(precision, recall))


def normalize_for_match(text: str) -> str:
    """NFC and single spaces, so line breaks and odd spaces do not decide whether a string is found."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


@dataclass
class Counts:
    """Pooled confusion counts of the with/without metric."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, other: Counts) -> None:
        """Add another page's counts to these."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn


def with_without_counts(extracted: str, with_: Sequence[str], without: Sequence[str]) -> Counts:
    """Counts of one page: a found `with` string is a TP, missed an FN; a found `without` string an FP, else a TN."""
    text = normalize_for_match(extracted)
    found_with = sum(1 for s in with_ if normalize_for_match(s) in text)
    found_without = sum(1 for s in without if normalize_for_match(s) in text)
    return Counts(tp=found_with, fn=len(with_) - found_with, fp=found_without, tn=len(without) - found_without)


def counts_score(counts: Counts) -> Score:
    """Precision, recall and F1 of pooled with/without counts."""
    precision = counts.tp / (counts.tp + counts.fp) if counts.tp + counts.fp else 0.0
    recall = counts.tp / (counts.tp + counts.fn) if counts.tp + counts.fn else 0.0
    return Score(precision, recall, harmonic_mean(precision, recall))
