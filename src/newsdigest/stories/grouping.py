"""Story grouping: the terms that identify an event, and the index that finds an article's story."""

from __future__ import annotations

import math
import operator
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from newsdigest.stories.nearcopy import words

_UNSEEN: list[str] = []  # marks a term not yet in the story postings
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)([A-Z][\w'’-]*)")
# The same matches as r"\b[A-Z][\w'’-]*[a-zA-Z0-9]|\b[A-Z]\b" and r"\b\d[\d,.]*\d\b|\b\d\b", written to start
# with a character class (the word boundary checked by a look-behind), which the regex engine scans for fast.
_CAPITALIZED = re.compile(r"[A-Z](?<!\w[A-Z])(?:[\w'’-]*[a-zA-Z0-9]|\b)")
_NUMBER = re.compile(r"\d(?<!\w\d)(?:[\d,.]*\d\b|\b)")
_STOP_CAPS = {
    "the",
    "a",
    "an",
    "and",
    "but",
    "or",
    "in",
    "on",
    "at",
    "of",
    "for",
    "to",
    "by",
    "with",
    "from",
    "as",
    "it",
    "he",
    "she",
    "they",
    "we",
    "i",
    "his",
    "her",
    "their",
    "its",
    "our",
    "this",
    "that",
    "these",
    "those",
    "there",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "mr",
    "mrs",
    "ms",
    "dr",
    "after",
    "before",
    "when",
    "while",
    "if",
    "according",
    "officials",
    "update",
    "live",
    "updates",
}
_STOP_WORDS = _STOP_CAPS | {
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "has",
    "have",
    "had",
    "will",
    "would",
    "could",
    "should",
    "can",
    "said",
    "says",
    "told",
    "not",
    "no",
    "more",
    "than",
    "about",
    "also",
    "who",
    "which",
    "what",
    "all",
    "new",
    "one",
    "two",
    "last",
    "year",
    "week",
    "day",
    "people",
    "over",
    "into",
    "out",
    "up",
    "after",
    "so",
    "some",
}


# Per-token decisions of story_terms, cached: the same names and words come back in every article, and
# each term string is interned, so a term repeated across thousands of articles is stored once.
_NAME_TERMS: dict[str, tuple[str | None, str, bool]] = {}
_WORD_TERMS: dict[str, str | None] = {}
_NUMBER_TERMS: dict[str, str] = {}
_TERM_CACHE_LIMIT = 500_000
_T = TypeVar("_T")


def _cached(cache: dict[str, _T], key: str, value: _T) -> _T:
    if len(cache) >= _TERM_CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _name_term(match: str) -> tuple[str | None, str, bool]:
    token = match.strip("'’-")
    low = token.lower()
    term = None if low in _STOP_CAPS else sys.intern(f"E:{low}")
    return _cached(_NAME_TERMS, match, (term, token, low in _STOP_WORDS))


def _word_term(word: str) -> str | None:
    keep = len(word) > 3 and word not in _STOP_WORDS and not word.isdigit()
    return _cached(_WORD_TERMS, word, sys.intern(f"W:{word}") if keep else None)


def _number_term(match: str) -> str:
    return _cached(_NUMBER_TERMS, match, sys.intern(f"N:{match.replace(',', '')}"))


def story_terms(title: str, text: str, lead_words: int = 160) -> Counter[str]:
    """Weighted terms that identify an event: names and figures count double, content words once."""
    parts = text.split(None, lead_words)
    if len(parts) > lead_words:
        parts.pop()  # the unsplit rest of the text
    body = f"{title}.\n{' '.join(parts)}"
    sentence_initial: set[str] | None = None  # found only when a capitalised stop word needs it
    names_and_figures: list[str] = []
    name_terms = _NAME_TERMS
    for match in _CAPITALIZED.findall(body):
        term, token, stop_word = name_terms.get(match) or _name_term(match)
        if term is None:
            continue
        if stop_word:
            if sentence_initial is None:
                sentence_initial = set(_SENTENCE_START.findall(body))
            if token in sentence_initial:
                continue
        names_and_figures.append(term)
    number_terms = _NUMBER_TERMS
    names_and_figures.extend(number_terms.get(match) or _number_term(match) for match in _NUMBER.findall(body))
    terms: Counter[str] = Counter()
    for term, count in Counter(names_and_figures).items():
        terms[term] = 2 * count
    word_terms = _WORD_TERMS
    for word, count in Counter(words(body)).items():
        term = word_terms.get(word, "") or (None if word in word_terms else _word_term(word))
        if term is not None:
            terms[term] = count
    return terms


class _Idf(dict[str, float]):
    """Inverse document frequencies of one moment of an index, computed on first use."""

    def __init__(self, total: int, df: dict[str, int]) -> None:
        super().__init__()
        self.total = total
        self.df = df

    def __missing__(self, term: str) -> float:
        value = math.log(1.0 + self.total / (1 + self.df.get(term, 0)))
        self[term] = value
        return value

    def fill(self, terms: Iterable[str]) -> None:
        """Compute the values of all these terms at once (cheaper than one __missing__ call each)."""
        total, get, log = self.total, self.df.get, math.log
        self.update({term: log(1.0 + total / (1 + get(term, 0))) for term in terms if term not in self})


@dataclass
class StoryIndex:
    """Known articles' story terms, for assigning a new article to an existing story.

    Candidates come from an inverted index of names and figures that are still rare (in at most
    `max_postings` articles), looked up for the article's `max_query_terms` rarest ones; only the
    `max_candidates` articles sharing the most of them are scored in full. So the cost of one lookup
    does not grow with the number of known articles.
    """

    documents: dict[str, Mapping[str, int]] = field(default_factory=dict)
    story_of: dict[str, str] = field(default_factory=dict)
    max_postings: int = 128
    max_query_terms: int = 8
    max_candidates: int = 8
    _df: Counter[str] = field(default_factory=Counter)
    _postings: dict[str, list[str] | None] = field(default_factory=dict)

    def add(self, article_id: str, terms: Mapping[str, int], story_id: str, candidate: bool = True) -> None:
        """Index an article's terms under its story; a copy of another article (candidate=False) only counts."""
        df = self._df
        previous = self.documents.get(article_id)
        if previous is not None:
            for term in previous:
                df[term] -= 1
        self.documents[article_id] = terms
        self.story_of[article_id] = story_id
        df.update(terms.keys())  # one more article holds each term
        if not candidate or previous is not None:
            return
        postings = self._postings
        for term in terms:
            if term.startswith("W:"):
                continue
            posting = postings.get(term, _UNSEEN)
            if posting is _UNSEEN:
                postings[term] = [article_id]
            elif posting is not None:
                if len(posting) >= self.max_postings:
                    postings[term] = None  # too common to single out an event
                else:
                    posting.append(article_id)

    def _idf(self, term: str) -> float:
        total = max(len(self.documents), 1)
        return math.log(1.0 + total / (1 + self._df.get(term, 0)))

    @staticmethod
    def _weighted(
        left: Mapping[str, int],
        right: Mapping[str, int],
        idf: _Idf,
        left_mass: float,
        floor: float = 0.0,
        left_keys: set[str] | None = None,
    ) -> float:
        """Weighted Jaccard; 0.0 early when it cannot exceed `floor`."""
        common = (left_keys if left_keys is not None else set(left)).intersection(right)
        # fsum: exact, so the set's (per-process) iteration order cannot change the last bit.
        shared = math.fsum([min(left[term], right[term]) * idf[term] for term in common])
        # The right bag weighs at least `shared`, so the similarity is at most shared / left_mass.
        if not shared or shared < floor * left_mass:
            return 0.0
        idf.fill(right)
        right_mass = math.fsum([count * idf[term] for term, count in right.items()])
        union = left_mass + right_mass - shared  # the sum of max(a, b) * weight over both bags
        return shared / union if union > 0 else 0.0

    def _query_idf(self, terms: Mapping[str, int]) -> _Idf:
        """The idf table for one lookup, filled for the query's terms first (in their order)."""
        idf = _Idf(max(len(self.documents), 1), self._df)
        idf.fill(terms)
        return idf

    def similarity(self, left: Mapping[str, int], right: Mapping[str, int]) -> float:
        """Weighted Jaccard of two term bags, each term weighted by its rarity among known articles."""
        idf = self._query_idf(left)
        return self._weighted(left, right, idf, math.fsum([count * idf[term] for term, count in left.items()]))

    def best_story(self, terms: Mapping[str, int], threshold: float) -> tuple[str, float] | None:
        """The story whose closest article reaches `threshold`, with that similarity."""
        # Only articles sharing a name or a figure can be about the same event; the rarest say most.
        postings = self._postings
        keys = [term for term in terms if not term.startswith("W:") and postings.get(term)]
        if not keys:
            return None
        if len(keys) > self.max_query_terms:
            df = self._df
            keys = sorted(keys, key=lambda term: (df.get(term, 0), term))[: self.max_query_terms]
        shared: Counter[str] = Counter()
        for term in keys:
            shared.update(postings[term])
        candidates: Iterable[str] = shared
        if len(shared) > self.max_candidates:
            ranked = sorted(shared.items(), key=operator.itemgetter(1), reverse=True)
            candidates = [article_id for article_id, _ in ranked[: self.max_candidates]]
        idf = self._query_idf(terms)
        left_mass = math.fsum([count * weight for count, weight in zip(terms.values(), idf.values(), strict=True)])
        left_keys = set(terms)
        best: tuple[str, float] | None = None
        for article_id in sorted(candidates):
            floor = threshold if best is None else best[1]
            score = self._weighted(terms, self.documents[article_id], idf, left_mass, floor * 0.999, left_keys)
            if score >= threshold and (best is None or score > best[1]):
                best = (self.story_of[article_id], score)
        return best
