"""Story grouping: the terms that identify an event, and the index that finds an article's story."""

from __future__ import annotations

import gzip
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import TypeVar

from newsdigest.stories.nearcopy import words

_UNSEEN: list[str] = []  # marks a term not yet in the story postings
_BACKGROUND = "weights/background_df.json.gz"  # written by benchmarks/stories.py --train
_MODEL = "weights/story_model.json"  # written by benchmarks/stories.py --train
_TOP_TERMS = 8
MIN_EVENT_WORDS = 0.1  # cosine of the words that are not names, with at least one of a story's articles
_YEAR = re.compile(r"N:(?:19|20)\d\d$")
FEATURES = (
    "words_mean",
    "names_mean",
    "figures_mean",
    "words_max",
    "names_max",
    "article_terms_in_story",
    "story_terms_in_article",
    "years_clash",
    "dates_clash",
    "dates_agree",
)
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)([A-Z][\w'’-]*)")
# The same matches as r"\b[A-Z][\w'’-]*[a-zA-Z0-9]|\b[A-Z]\b" and r"\b\d[\d,.]*\d\b|\b\d\b", written to start
# with a character class (the word boundary checked by a look-behind), which the regex engine scans for fast.
_CAPITALIZED = re.compile(r"[A-Z](?<!\w[A-Z])(?:[\w'’-]*[a-zA-Z0-9]|\b)")
_NUMBER = re.compile(r"\d(?<!\w\d)(?:[\d,.]*\d\b|\b)")
# A month with a year ("February 4, 2009", "Sept. 2013"): two reports of one event tend to give the same one,
# and two events of one kind seldom do.
_DATED = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?((?:19|20)\d\d)\b"
)
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
_TITLE_TERMS: dict[str, str] = {}
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
    """Weighted terms that identify an event: names, figures and dates count double, content words once."""
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
    names_and_figures.extend(sys.intern(f"D:{year}-{month.lower()}") for month, year in _DATED.findall(body))
    terms: Counter[str] = Counter()
    word_terms = _WORD_TERMS
    for word in words(title):
        term = word_terms.get(word, "") or (None if word in word_terms else _word_term(word))
        if term is not None:
            terms[_TITLE_TERMS.get(word) or _cached(_TITLE_TERMS, word, sys.intern(f"T:{word}"))] = 1
    for term, count in Counter(names_and_figures).items():
        terms[term] = 2 * count
    for word, count in Counter(words(body)).items():
        term = word_terms.get(word, "") or (None if word in word_terms else _word_term(word))
        if term is not None:
            terms[term] = count
    return terms


class _Idf(dict[str, float]):
    """Inverse document frequencies of one moment of an index, computed on first use.

    Known articles count with a fixed background table (document frequencies over general news, shipped
    with the package), so that the first articles of a fresh store already weigh a common word low.
    """

    def __init__(self, total: int, df: Mapping[str, int], background: _Background) -> None:
        super().__init__()
        self.known = total
        self.total = total + background.documents
        self.df = df
        self.background = background.df

    def __missing__(self, term: str) -> float:
        value = math.log((1.0 + self.total) / (1.0 + self.df.get(term, 0) + self.background.get(term, 0)))
        self[term] = value
        return value

    def fill(self, terms: Iterable[str]) -> None:
        """Compute the values of all these terms at once (cheaper than one __missing__ call each)."""
        total, get, background, log = 1.0 + self.total, self.df.get, self.background.get, math.log
        self.update(
            {term: log(total / (1.0 + get(term, 0) + background(term, 0))) for term in terms if term not in self}
        )


@dataclass(frozen=True)
class _Background:
    """Document frequencies of story terms over a background of news articles."""

    documents: int
    df: dict[str, int]


@cache
def _background() -> _Background:
    data = json.loads(gzip.decompress(files(__package__ or "newsdigest.stories").joinpath(_BACKGROUND).read_bytes()))
    return _Background(int(data["documents"]), {sys.intern(term): int(n) for term, n in data["df"].items()})


@cache
def _model() -> tuple[tuple[float, ...], float]:
    data = json.loads(files(__package__ or "newsdigest.stories").joinpath(_MODEL).read_text(encoding="utf-8"))
    if list(data["features"]) != list(FEATURES):
        raise ValueError(f"{_MODEL}: features {data['features']} are not {list(FEATURES)}")
    return tuple(float(w) for w in data["weights"]), float(data["bias"])


@dataclass(frozen=True)
class _Vectors:
    """One article's story terms as unit tf-idf vectors (words, names, figures) and its years and dates."""

    words: dict[str, float]
    events: dict[str, float]  # the words that are not also names: what happened rather than to whom
    names: dict[str, float]
    figures: dict[str, float]
    specific: dict[str, float]  # names and figures together, each with its weight in its own vector
    top: tuple[tuple[str, float], ...]  # the heaviest specific terms
    years: frozenset[str]
    dates: frozenset[str]
    documents: int  # how many articles the idf was computed over


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(math.fsum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}


def _vectors(terms: Mapping[str, int], idf: _Idf, documents: int) -> _Vectors:
    # Sublinear tf: a name repeated ten times is a main actor, not ten times the evidence.
    idf.fill(terms)
    parts: dict[str, dict[str, float]] = {"W": {}, "E": {}, "N": {}, "D": {}}
    for term, count in terms.items():
        part = parts.get(term[0])
        if part is not None:
            part[term] = (1.0 + math.log(count)) * idf[term]
    events = {term: weight for term, weight in parts["W"].items() if f"E:{term[2:]}" not in terms}
    names, figures = _unit(parts["E"]), _unit(parts["N"])
    specific = {**names, **figures}
    top = tuple(sorted(specific.items(), key=lambda item: (-item[1], item[0]))[:_TOP_TERMS])
    years = frozenset(term for term in figures if _YEAR.match(term))
    return _Vectors(
        _unit(parts["W"]), _unit(events), names, figures, specific, top, years, frozenset(parts["D"]), documents
    )


def _shares_title(title: Iterable[str], terms: Mapping[str, int]) -> bool:
    # Reports of one event put a word of it in their headlines; a roundup under "Evening briefing" that
    # quotes a story's first lines does not. (Also accepting a headline word found in the story's texts, or
    # a rare one among its names, let such roundups in: story precision 0.877 -> 0.837 or 0.862 on the
    # 10,000-document syndication corpus, for +0.03 recall on stories-dev.)
    return any(term in terms for term in title)


def _cosine(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    if len(left) > len(right):
        left, right = right, left
    get = right.get
    return math.fsum([weight * get(term, 0.0) for term, weight in left.items()])


def shares_events(article: _Vectors, members: Sequence[_Vectors]) -> bool:
    """Whether the article says what happened in words one of the story's articles uses too, names aside.

    One person or one place in two events shares names, not the words of what happened; the model,
    fitted on events of one kind, leans on names, so this is asked of a story before the model is.
    """
    return any(_cosine(article.events, member.events) >= MIN_EVENT_WORDS for member in members)


def story_features(article: _Vectors, members: Sequence[_Vectors]) -> list[float]:
    """The model's inputs for one article against one story's articles, in the order of FEATURES."""
    count = len(members)
    words_cos = [_cosine(article.words, member.words) for member in members]
    names_cos = [_cosine(article.names, member.names) for member in members]
    figures_cos = [_cosine(article.figures, member.figures) for member in members]
    profile: dict[str, float] = {}
    for member in members:
        for term, weight in member.specific.items():
            profile[term] = profile.get(term, 0.0) + weight / count
    # Coverage both ways: the article's main names and figures in the story, and the story's in the article.
    top_mass = math.fsum(weight for _, weight in article.top)
    covered = math.fsum(weight for term, weight in article.top if term in profile) / top_mass if top_mass else 0.0
    story_top = sorted(profile.items(), key=lambda item: (-item[1], item[0]))[:_TOP_TERMS]
    story_mass = math.fsum(weight for _, weight in story_top)
    covering = (
        math.fsum(weight for term, weight in story_top if term in article.specific) / story_mass if story_mass else 0.0
    )
    years = frozenset().union(*(member.years for member in members))
    dates = frozenset().union(*(member.dates for member in members))
    return [
        math.fsum(words_cos) / count,
        math.fsum(names_cos) / count,
        math.fsum(figures_cos) / count,
        max(words_cos),
        max(names_cos),
        covered,
        covering,
        1.0 if article.years and years and not article.years & years else 0.0,
        1.0 if article.dates and dates and not article.dates & dates else 0.0,
        1.0 if article.dates & dates else 0.0,
    ]


def story_score(features: Sequence[float]) -> float:
    """How sure the shipped model is that an article reports the story's event, from 0 to 1."""
    weights, bias = _model()
    z = bias + math.fsum(w * x for w, x in zip(weights, features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@dataclass
class StoryIndex:
    """Known articles' story terms, for assigning a new article to an existing story.

    Candidates come from an inverted index of names and figures that are still rare (in at most
    `max_postings` articles), looked up for the article's `max_query_terms` rarest ones; only the
    stories of the `max_candidates` articles sharing the most of them are scored. A story is scored on
    its `max_members` latest articles (copies left out) by a small trained model over tf-idf cosines of
    words, names and figures, how far the main names and figures agree, and whether years and dates
    clash. So the cost of one lookup does not grow with the number of known articles.
    """

    documents: dict[str, Mapping[str, int]] = field(default_factory=dict)
    story_of: dict[str, str] = field(default_factory=dict)
    max_postings: int = 128
    max_query_terms: int = 8
    max_candidates: int = 8
    max_members: int = 6
    _df: Counter[str] = field(default_factory=Counter)
    _postings: dict[str, list[str] | None] = field(default_factory=dict)
    _members: dict[str, list[str]] = field(default_factory=dict)
    _vectors: dict[str, _Vectors] = field(default_factory=dict)
    _idf_cache: _Idf | None = None

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
        members = self._members.setdefault(story_id, [])
        members.append(article_id)
        if len(members) > self.max_members:
            self._vectors.pop(members.pop(0), None)
        postings = self._postings
        for term in terms:
            if term[0] in "WT":
                continue
            posting = postings.get(term, _UNSEEN)
            if posting is _UNSEEN:
                postings[term] = [article_id]
            elif posting is not None:
                if len(posting) >= self.max_postings:
                    postings[term] = None  # too common to single out an event
                else:
                    posting.append(article_id)

    def _idf(self) -> _Idf:
        # Kept until the index has grown by a tenth: idf values computed on first use are cached in it, and
        # a term's rarity moves little in the meantime, so the cost per lookup stays flat as the index grows.
        cached = self._idf_cache
        if cached is None or 10 * len(self.documents) > 11 * cached.known:
            cached = self._idf_cache = _Idf(len(self.documents), self._df, _background())
        return cached

    def similarity(self, left: Mapping[str, int], right: Mapping[str, int]) -> float:
        """Cosine of two articles' word vectors, each term weighted by its rarity among known articles."""
        idf = self._idf()
        return _cosine(_vectors(left, idf, 0).words, _vectors(right, idf, 0).words)

    def _member_vectors(self, article_id: str, idf: _Idf) -> _Vectors:
        # Cached until the index has grown by a quarter: idf drifts slowly once there are many articles.
        cached = self._vectors.get(article_id)
        if cached is None or 4 * len(self.documents) > 5 * cached.documents:
            cached = _vectors(self.documents[article_id], idf, len(self.documents))
            self._vectors[article_id] = cached
        return cached

    def candidate_stories(self, terms: Mapping[str, int]) -> list[str]:
        """Stories of the known articles that share the most rare names and figures with these terms."""
        # Only articles sharing a name or a figure can be about the same event; the rarest say most.
        postings = self._postings
        keys = [term for term in terms if term[0] not in "WT" and postings.get(term)]
        if not keys:
            return []
        if len(keys) > self.max_query_terms:
            df = self._df
            keys = sorted(keys, key=lambda term: (df.get(term, 0), term))[: self.max_query_terms]
        shared: Counter[str] = Counter()
        for term in keys:
            shared.update(postings[term])
        ranked = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[: self.max_candidates]
        stories: list[str] = []
        for article_id, _ in ranked:
            story_id = self.story_of[article_id]
            if story_id not in stories:
                stories.append(story_id)
        return stories

    def features(
        self, terms: Mapping[str, int], story_ids: Iterable[str], gates: bool = False
    ) -> list[tuple[str, list[float]]]:
        """Each story's model inputs for an article with these terms (a story without articles is left out).

        With gates=True, a story is also left out unless one of its articles shares a headline word with
        the article and one shares words of what happened (names aside): the two checks the model is not
        asked to learn, because the events it was fitted on never fail them.
        """
        article_ids = [(story_id, self._members.get(story_id, ())) for story_id in story_ids]
        if gates:
            documents = self.documents
            title = [term for term in terms if term[0] == "T"]
            article_ids = [
                (story_id, members)
                for story_id, members in article_ids
                if any(_shares_title(title, documents[member]) for member in members)
            ]
        if not article_ids:
            return []
        idf = self._idf()
        article = _vectors(terms, idf, len(self.documents))
        result = []
        for story_id, members in article_ids:
            vectors = [self._member_vectors(member, idf) for member in members]
            if vectors and (not gates or shares_events(article, vectors)):
                result.append((story_id, story_features(article, vectors)))
        return result

    def best_story(self, terms: Mapping[str, int], threshold: float) -> tuple[str, float] | None:
        """The candidate story the model scores highest, with its score, when that reaches `threshold`."""
        best: tuple[str, float] | None = None
        for story_id, features in self.features(terms, self.candidate_stories(terms), gates=True):
            score = story_score(features)
            if score >= threshold and (best is None or score > best[1]):
                best = (story_id, score)
        return best
