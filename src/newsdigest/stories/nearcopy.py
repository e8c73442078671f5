"""Near-copies: word tokens, text fingerprints, MinHash signatures and the LSH index that finds copies."""

from __future__ import annotations

import hashlib
import operator
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise, repeat

_WORD = re.compile(r"\w+", re.UNICODE)
_MERSENNE = (1 << 61) - 1
_ASCII_NON_WORD = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}
NUM_PERM = 64
BANDS = 16  # 16 bands of 4 rows: a pair at Jaccard 0.7 becomes a candidate with probability ~0.99


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    if text.isascii():
        # For ASCII, \w is [A-Za-z0-9_]: mapping every other character to a space and splitting gives
        # the regex's tokens several times faster.
        return text.lower().translate(_ASCII_NON_WORD).split()
    return [w.lower() for w in _WORD.findall(text)]


def tokens_fingerprint(tokens: list[str]) -> str:
    """A hash of these word tokens (see text_fingerprint), for a caller that has tokenised the text already."""
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()


def text_fingerprint(text: str) -> str:
    """A hash of the text's words: equal for texts that differ only in spacing, case or punctuation."""
    return tokens_fingerprint(words(text))


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
    return tuple(slots)  # type: ignore[arg-type]  # densified: no slot is None any more


def minhash(text: str) -> tuple[int, ...]:
    """A MinHash signature of the text's word 5-gram set (one-permutation hashing, 64 slots)."""
    return tokens_signature(words(text))


def tokens_signature(tokens: list[str]) -> tuple[int, ...]:
    """The MinHash signature of these word tokens (see minhash), for a caller that has tokenised the text already."""
    return _signature_of(_shingles_of(tokens))


def estimated_jaccard(left: Sequence[int], right: Sequence[int]) -> float:
    """Share of equal MinHash slots: an estimate of the shingle sets' Jaccard similarity."""
    if not left or len(left) != len(right):
        return 0.0
    equal: int = sum(map(operator.eq, left, right))  # operator.eq is typed as returning Any
    return equal / len(left)


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
