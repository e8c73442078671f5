"""Deduplication and story grouping: canonical URLs, fingerprints, MinHash near-copies, story clusters."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
NUM_PERM = 64
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
    return [w.lower() for w in _WORD.findall(text)]


def text_fingerprint(text: str) -> str:
    """A hash of the text's words: equal for texts that differ only in spacing, case or punctuation."""
    return hashlib.sha1(" ".join(words(text)).encode("utf-8")).hexdigest()


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hashes(text: str, size: int = 5) -> set[int]:
    """64-bit hashes of the text's overlapping word n-grams."""
    tokens = words(text)
    if len(tokens) < size:
        return {_hash64(" ".join(tokens))} if tokens else set()
    return {_hash64(" ".join(tokens[i : i + size])) for i in range(len(tokens) - size + 1)}


def _permutations(count: int) -> list[tuple[int, int]]:
    # Fixed seeds: signatures stored yesterday must compare with today's.
    params = []
    for i in range(count):
        seed = hashlib.blake2b(f"newsdigest-minhash-{i}".encode(), digest_size=16).digest()
        a = int.from_bytes(seed[:8], "little") % (_MERSENNE - 1) + 1
        b = int.from_bytes(seed[8:], "little") % _MERSENNE
        params.append((a, b))
    return params


_PERMS = _permutations(NUM_PERM)


def minhash(text: str) -> tuple[int, ...]:
    """A MinHash signature of the text's word 5-gram set."""
    hashes = shingle_hashes(text)
    if not hashes:
        return tuple([_MERSENNE] * NUM_PERM)
    return tuple(min((a * h + b) % _MERSENNE for h in hashes) for a, b in _PERMS)


def estimated_jaccard(left: Sequence[int], right: Sequence[int]) -> float:
    """Share of equal MinHash slots: an estimate of the shingle sets' Jaccard similarity."""
    if not left or len(left) != len(right):
        return 0.0
    return sum(1 for x, y in zip(left, right, strict=True) if x == y) / len(left)


def signature_to_bytes(signature: Sequence[int]) -> bytes:
    """Pack a signature for the store."""
    return b"".join(value.to_bytes(8, "little") for value in signature)


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    """Unpack a signature written by signature_to_bytes."""
    return tuple(int.from_bytes(data[i : i + 8], "little") for i in range(0, len(data), 8))


class NearDuplicateIndex:
    """Locality-sensitive hashing over MinHash bands: finds candidate near-copies without all pairs."""

    def __init__(self, bands: int = BANDS) -> None:
        self.bands = bands
        self.rows = NUM_PERM // bands
        self._buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
        self._signatures: dict[str, tuple[int, ...]] = {}

    def _band_keys(self, signature: Sequence[int]) -> Iterable[tuple[int, bytes]]:
        for band in range(self.bands):
            chunk = signature[band * self.rows : (band + 1) * self.rows]
            yield band, hashlib.blake2b(signature_to_bytes(chunk), digest_size=8).digest()

    def add(self, key: str, signature: Sequence[int]) -> None:
        """Index a signature under a key."""
        self._signatures[key] = tuple(signature)
        for band_key in self._band_keys(signature):
            self._buckets[band_key].append(key)

    def best_match(self, signature: Sequence[int], threshold: float) -> tuple[str, float] | None:
        """The indexed key most similar to `signature`, if its estimated Jaccard reaches `threshold`."""
        candidates: set[str] = set()
        for band_key in self._band_keys(signature):
            candidates.update(self._buckets.get(band_key, ()))
        best: tuple[str, float] | None = None
        for key in sorted(candidates):
            score = estimated_jaccard(signature, self._signatures[key])
            if score >= threshold and (best is None or score > best[1]):
                best = (key, score)
        return best


# --- story grouping -------------------------------------------------------------------------------

_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)([A-Z][\w'’-]*)")
_CAPITALIZED = re.compile(r"\b[A-Z][\w'’-]*[a-zA-Z0-9]|\b[A-Z]\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")
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


def story_terms(title: str, text: str, lead_words: int = 160) -> Counter[str]:
    """Weighted terms that identify an event: names and figures count double, content words once."""
    lead = " ".join(text.split()[:lead_words])
    body = f"{title}.\n{lead}"
    terms: Counter[str] = Counter()
    sentence_initial = {m.group(1) for m in _SENTENCE_START.finditer(body)}
    for match in _CAPITALIZED.finditer(body):
        token = match.group(0).strip("'’-")
        low = token.lower()
        if low in _STOP_CAPS or (token in sentence_initial and low in _STOP_WORDS):
            continue
        terms[f"E:{low}"] += 2
    for match in _NUMBER.finditer(body):
        terms[f"N:{match.group(0).replace(',', '')}"] += 2
    for word in words(body):
        if len(word) > 3 and word not in _STOP_WORDS and not word.isdigit():
            terms[f"W:{word}"] += 1
    return terms


@dataclass
class StoryIndex:
    """Known articles' story terms, for assigning a new article to an existing story."""

    documents: dict[str, Counter[str]] = field(default_factory=dict)
    story_of: dict[str, str] = field(default_factory=dict)
    _postings: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, article_id: str, terms: Counter[str], story_id: str) -> None:
        """Index an article's terms under its story."""
        self.documents[article_id] = terms
        self.story_of[article_id] = story_id
        for term in terms:
            self._postings[term].add(article_id)

    def _idf(self, term: str) -> float:
        total = max(len(self.documents), 1)
        return math.log(1.0 + total / (1 + len(self._postings.get(term, ()))))

    def similarity(self, left: Counter[str], right: Counter[str]) -> float:
        """Weighted Jaccard of two term bags, each term weighted by its rarity among known articles."""
        shared = 0.0
        union = 0.0
        for term in left.keys() | right.keys():
            weight = self._idf(term)
            a, b = left.get(term, 0), right.get(term, 0)
            shared += min(a, b) * weight
            union += max(a, b) * weight
        return shared / union if union else 0.0

    def best_story(self, terms: Counter[str], threshold: float) -> tuple[str, float] | None:
        """The story whose closest article reaches `threshold`, with that similarity."""
        # Only articles sharing a name or a figure can be about the same event.
        candidates: set[str] = set()
        for term in terms:
            if not term.startswith("W:"):
                candidates |= self._postings.get(term, set())
        best: tuple[str, float] | None = None
        for article_id in sorted(candidates):
            score = self.similarity(terms, self.documents[article_id])
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


def assign_stories(
    documents: Sequence[NewDocument],
    known: Sequence[DedupRecord],
    near_duplicate_threshold: float = 0.7,
    story_threshold: float = 0.22,
) -> list[DedupRecord]:
    """Mark exact and near copies, and put each new article into an existing or a new story."""
    by_fingerprint: dict[str, DedupRecord] = {}
    near = NearDuplicateIndex()
    stories = StoryIndex()
    for record in known:
        by_fingerprint.setdefault(record.fingerprint, record)
        near.add(record.article_id, record.signature)
        stories.add(record.article_id, Counter(record.terms), record.story_id)
    records_by_id = {record.article_id: record for record in known}
    results: list[DedupRecord] = []
    for document in documents:
        fingerprint = text_fingerprint(document.text)
        signature = minhash(document.text)
        terms = story_terms(document.title, document.text)
        original = by_fingerprint.get(fingerprint) if words(document.text) else None
        if original is None and len(words(document.text)) >= 20:
            match = near.best_match(signature, near_duplicate_threshold)
            original = records_by_id[match[0]] if match else None
        if original is not None:
            root = original.duplicate_of or original.article_id
            record = DedupRecord(document.article_id, fingerprint, signature, dict(terms), original.story_id, root)
        else:
            found = stories.best_story(terms, story_threshold)
            story_id = found[0] if found else f"s-{document.article_id}"
            record = DedupRecord(document.article_id, fingerprint, signature, dict(terms), story_id)
        results.append(record)
        records_by_id[record.article_id] = record
        by_fingerprint.setdefault(fingerprint, record)
        near.add(record.article_id, signature)
        stories.add(record.article_id, terms, record.story_id)
    return results
