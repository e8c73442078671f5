"""Deduplication and story grouping: canonical URLs, fingerprints, MinHash near-copies, story clusters."""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import operator
import re
import struct
import sys
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice, pairwise, repeat
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track a click rather than name a resource.
_TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "cmpid",
    "ocid",
    "smid",
    "smtyp",
    "src",
    "source",
    "_ga",
    "_gl",
    "mkt_tok",
    "spm",
    "share",
    "sharesource",
    "at_medium",
    "at_campaign",
    "cid",
}
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_", "vero_", "__hs", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WORD = re.compile(r"\w+", re.UNICODE)
_MERSENNE = (1 << 61) - 1
_ASCII_NON_WORD = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}
NUM_PERM = 64
_UNSEEN: list[str] = []  # marks a term not yet in the story postings
_BATCH = 512  # articles per task when features are computed in worker processes
BANDS = 16  # 16 bands of 4 rows: a pair at Jaccard 0.7 becomes a candidate with probability ~0.99


def canonical_url(url: str | None) -> str | None:
    """The URL with tracking parameters, fragment, default port and host case removed."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port and parts.port != _DEFAULT_PORTS.get(scheme) else None
    netloc = f"{host}:{port}" if port else host
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def article_key(canonical: str | None, guid: str) -> str:
    """A stable article id: from the canonical URL, or from the GUID when there is no URL."""
    basis = canonical or f"guid:{guid}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    if text.isascii():
        # For ASCII, \w is [A-Za-z0-9_]: mapping every other character to a space and splitting gives
        # the regex's tokens several times faster.
        return text.lower().translate(_ASCII_NON_WORD).split()
    return [w.lower() for w in _WORD.findall(text)]


def _fingerprint_of(tokens: list[str]) -> str:
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()


def text_fingerprint(text: str) -> str:
    """A hash of the text's words: equal for texts that differ only in spacing, case or punctuation."""
    return _fingerprint_of(words(text))


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


# Stable word ids, cached: a word's id is computed once per process, not once per occurrence.
_WORD_IDS: dict[str, int] = {}
_WORD_IDS_LIMIT = 2_000_000


def _word_id(word: str) -> int:
    # 30 bits: hash() of a small int is the int itself, fast, and involves no per-process string salt.
    value = _hash64(word) >> 34
    if len(_WORD_IDS) >= _WORD_IDS_LIMIT:
        _WORD_IDS.clear()
    _WORD_IDS[word] = value
    return value


def _shingles_of(tokens: list[str], size: int = 5) -> list[int]:
    """30-bit hashes of the word n-grams, with repeats; hash() of a tuple of ints is not salted per process."""
    wids = list(map(_WORD_IDS.get, tokens))
    if None in wids:
        wids = [_word_id(token) if wid is None else wid for wid, token in zip(wids, tokens, strict=True)]
    if len(wids) < size:
        return [hash(tuple(wids)) >> _HASH_SHIFT] if wids else []
    grams = zip(*(wids[i : len(wids) - size + 1 + i] for i in range(size)), strict=True)
    # The top 30 bits: small ints sort and compare several times faster than 64-bit ones.
    return list(map(operator.rshift, map(hash, grams), repeat(_HASH_SHIFT)))


def shingle_hashes(text: str, size: int = 5) -> set[int]:
    """30-bit hashes of the text's overlapping word n-grams (a text shorter than `size` words is one n-gram)."""
    return set(_shingles_of(words(text), size))


def _donor_orders(count: int) -> list[tuple[int, ...]]:
    # For each slot, a fixed pseudo-random order of the other slots to borrow from when it is empty.
    orders = []
    for slot in range(count):
        others = [other for other in range(count) if other != slot]
        others.sort(key=lambda other: hashlib.blake2b(f"newsdigest-oph-{slot}-{other}".encode()).digest())
        orders.append(tuple(others))
    return orders


_DONORS = _donor_orders(NUM_PERM)
# hash() of a tuple of small ints is deterministic on 64-bit CPython (no PYTHONHASHSEED salt; the tuple hash
# has been xxHash-based since 3.8), which tests/test_dedup.py checks in a child process with another seed.
_HASH_SHIFT = 34  # hash() is a signed 64-bit value; shifted, it lies in [-2**29, 2**29)
_SLOT_BITS = 30 - (NUM_PERM.bit_length() - 1)  # the top log2(NUM_PERM) of the 30 bits choose the slot
_BIN_STARTS = [(slot << _SLOT_BITS) - (1 << 29) for slot in range(NUM_PERM + 1)]
_EMPTY_SIGNATURE = tuple([_MERSENNE] * NUM_PERM)


def _signature_of(hashes: list[int]) -> tuple[int, ...]:
    """One-permutation MinHash: the smallest hash in each of NUM_PERM ranges, empty ranges densified."""
    if not hashes:
        return _EMPTY_SIGNATURE
    ordered = sorted(hashes)
    bounds = list(map(bisect_left, repeat(ordered), _BIN_STARTS))
    slots: list[int | None] = [
        ordered[start] + (1 << 29) if start < end else None  # stored unsigned
        for start, end in pairwise(bounds)
    ]
    if None in slots:
        # Optimal densification (Shrivastava 2017): an empty slot takes the value of the first
        # non-empty slot in its own fixed order, so two texts agree on it with probability ~ Jaccard.
        filled = list(slots)
        for slot, value in enumerate(slots):
            if value is None:
                filled[slot] = next(slots[d] for d in _DONORS[slot] if slots[d] is not None)
        slots = filled
    return tuple(slots)  # type: ignore[arg-type]


def minhash(text: str) -> tuple[int, ...]:
    """A MinHash signature of the text's word 5-gram set (one-permutation hashing, 64 slots)."""
    return _signature_of(_shingles_of(words(text)))


def estimated_jaccard(left: Sequence[int], right: Sequence[int]) -> float:
    """Share of equal MinHash slots: an estimate of the shingle sets' Jaccard similarity."""
    if not left or len(left) != len(right):
        return 0.0
    return sum(map(operator.eq, left, right)) / len(left)


def signature_to_bytes(signature: Sequence[int]) -> bytes:
    """Pack a signature for the store."""
    return struct.pack(f"<{len(signature)}Q", *signature)


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    """Unpack a signature written by signature_to_bytes."""
    return struct.unpack(f"<{len(data) // 8}Q", data[: len(data) // 8 * 8])


class NearDuplicateIndex:
    """Locality-sensitive hashing over MinHash bands: finds candidate near-copies without all pairs."""

    def __init__(self, bands: int = BANDS) -> None:
        self.bands = bands
        self.rows = NUM_PERM // bands
        self._buckets: dict[int, list[str]] = defaultdict(list)
        self._signatures: dict[str, tuple[int, ...]] = {}

    def _band_keys(self, signature: Sequence[int]) -> list[int]:
        # hash() of a tuple of ints is not salted per process; a rare collision only adds a candidate.
        rows = self.rows
        return [hash((band, *signature[band * rows : (band + 1) * rows])) for band in range(self.bands)]

    def add(self, key: str, signature: Sequence[int]) -> None:
        """Index a signature under a key."""
        self._signatures[key] = tuple(signature)
        buckets = self._buckets
        for band_key in self._band_keys(signature):
            buckets[band_key].append(key)

    def best_match(self, signature: Sequence[int], threshold: float) -> tuple[str, float] | None:
        """The indexed key most similar to `signature`, if its estimated Jaccard reaches `threshold`."""
        candidates: set[str] = set()
        buckets = self._buckets
        for band_key in self._band_keys(signature):
            bucket = buckets.get(band_key)
            if bucket:
                candidates.update(bucket)
        best: tuple[str, float] | None = None
        for key in sorted(candidates):
            score = estimated_jaccard(signature, self._signatures[key])
            if score >= threshold and (best is None or score > best[1]):
                best = (key, score)
                if score == 1.0:
                    break  # nothing later in the order can beat it
        return best


# --- story grouping -------------------------------------------------------------------------------

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


def _cached(cache: dict, key: str, value: object) -> object:  # type: ignore[type-arg]
    if len(cache) >= _TERM_CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _name_term(match: str) -> tuple[str | None, str, bool]:
    token = match.strip("'’-")
    low = token.lower()
    term = None if low in _STOP_CAPS else sys.intern(f"E:{low}")
    return _cached(_NAME_TERMS, match, (term, token, low in _STOP_WORDS))  # type: ignore[return-value]


def _word_term(word: str) -> str | None:
    keep = len(word) > 3 and word not in _STOP_WORDS and not word.isdigit()
    return _cached(_WORD_TERMS, word, sys.intern(f"W:{word}") if keep else None)  # type: ignore[return-value]


def _number_term(match: str) -> str:
    return _cached(_NUMBER_TERMS, match, sys.intern(f"N:{match.replace(',', '')}"))  # type: ignore[return-value]


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
            shared.update(postings[term])  # type: ignore[arg-type]
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


# --- assignment: new articles against what the store already knows ----------------------------------


@dataclass(frozen=True)
class DedupRecord:
    """What deduplication keeps per article: its signatures and where it landed."""

    article_id: str
    fingerprint: str
    signature: tuple[int, ...]
    terms: dict[str, int]
    story_id: str
    duplicate_of: str | None = None


@dataclass(frozen=True)
class NewDocument:
    """The parts of a new article that deduplication reads."""

    article_id: str
    title: str
    text: str


@dataclass(frozen=True)
class DocumentFeatures:
    """What deduplication computes from one article's words, before comparing it with anything."""

    fingerprint: str
    signature: tuple[int, ...]
    terms: dict[str, int]
    word_count: int


def document_features(document: NewDocument) -> DocumentFeatures:
    """Fingerprint, MinHash signature and story terms of one article (its text tokenised once)."""
    tokens = words(document.text)
    return DocumentFeatures(
        _fingerprint_of(tokens),
        _signature_of(_shingles_of(tokens)),
        dict(story_terms(document.title, document.text)),
        len(tokens),
    )


def _features_of_batch(batch: list[NewDocument]) -> list[DocumentFeatures]:
    return [document_features(document) for document in batch]


def _features(documents: Iterable[NewDocument], workers: int) -> Iterator[tuple[NewDocument, DocumentFeatures]]:
    """Each document with its features, computed here or, with workers > 1, in that many processes.

    Batches go to the pool one ahead of the caller, so the caller's comparisons overlap the next batch's
    feature work, and at most two batches of texts are held at a time.
    """
    if workers <= 1:
        for document in documents:
            yield document, document_features(document)
        return
    # spawn: the caller may run threads (Prefect does); a forked copy of a threaded process can deadlock.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        iterator = iter(documents)

        def submit() -> tuple[list[NewDocument], list[Future[list[DocumentFeatures]]]] | None:
            batch = list(islice(iterator, _BATCH * workers))
            if not batch:
                return None
            parts = [batch[i : i + _BATCH] for i in range(0, len(batch), _BATCH)]
            return batch, [pool.submit(_features_of_batch, part) for part in parts]

        pending = submit()
        while pending is not None:
            batch, futures = pending
            pending = submit()
            intern = sys.intern
            for document, features in zip(batch, (item for future in futures for item in future.result()), strict=True):
                # Unpickled term strings are fresh copies: interned, the index keeps one of each and compares
                # them by identity.
                terms = {intern(term): count for term, count in features.terms.items()}
                yield document, DocumentFeatures(features.fingerprint, features.signature, terms, features.word_count)


class StoryAssigner:
    """Deduplication that remembers: history loaded once, new articles assigned a chunk at a time.

    A run can hand its articles over as they are cleaned and let go of their text, instead of holding
    every article until one big assignment; the result is the same as one call with all of them in order.
    """

    def __init__(
        self, known: Sequence[DedupRecord], near_duplicate_threshold: float = 0.7, story_threshold: float = 0.22
    ) -> None:
        self.near_duplicate_threshold = near_duplicate_threshold
        self.story_threshold = story_threshold
        self._by_fingerprint: dict[str, DedupRecord] = {}
        self._near = NearDuplicateIndex()
        self._stories = StoryIndex()
        self._records: dict[str, DedupRecord] = {}
        for record in known:
            self._remember(record)

    def _remember(self, record: DedupRecord) -> None:
        self._records[record.article_id] = record
        self._by_fingerprint.setdefault(record.fingerprint, record)
        self._near.add(record.article_id, record.signature)
        self._stories.add(record.article_id, record.terms, record.story_id, candidate=record.duplicate_of is None)

    def assign(self, documents: Iterable[NewDocument], workers: int = 1) -> list[DedupRecord]:
        """Records for these documents, each compared with the history and every document before it."""
        results: list[DedupRecord] = []
        for document, features in _features(documents, workers):
            fingerprint, signature, terms = features.fingerprint, features.signature, features.terms
            original = self._by_fingerprint.get(fingerprint) if features.word_count else None
            if original is None and features.word_count >= 20:
                match = self._near.best_match(signature, self.near_duplicate_threshold)
                original = self._records[match[0]] if match else None
            if original is not None:
                root = original.duplicate_of or original.article_id
                record = DedupRecord(document.article_id, fingerprint, signature, terms, original.story_id, root)
            else:
                found = self._stories.best_story(terms, self.story_threshold)
                story_id = found[0] if found else f"s-{document.article_id}"
                record = DedupRecord(document.article_id, fingerprint, signature, terms, story_id)
            results.append(record)
            self._remember(record)
        return results


def assign_stories(
    documents: Iterable[NewDocument],
    known: Sequence[DedupRecord],
    near_duplicate_threshold: float = 0.7,
    story_threshold: float = 0.22,
    workers: int = 1,
) -> list[DedupRecord]:
    """Mark exact and near copies, and put each new article into an existing or a new story.

    Documents are taken in order, each compared with everything before it. With workers > 1 the
    per-article work (tokens, fingerprint, signature, terms) runs in that many processes; the result is
    the same.
    """
    return StoryAssigner(known, near_duplicate_threshold, story_threshold).assign(documents, workers)
