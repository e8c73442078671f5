"""The tagger's weights: four label scores per feature packed into one integer, and scoring a window.

Weights are integers (the file's, scaled). The four label scores of a feature are packed into one
Python integer, FIELD bits each, so adding packed values adds all four scores at once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from pathlib import Path

from newsdigest.claims.tagger.features import (
    bucket,
    left_comma,
    left_shape,
    left_words,
    right_comma,
    right_shape,
    right_words,
    token_feats,
    window,
    word_feats,
)
from newsdigest.claims.tagger.tokens import Token

WEIGHTS = Path(__file__).parent.parent / "weights" / "attribution.json.gz"
LABELS = ("O", "S", "C", "Q")  # outside, source, cue, content
OUT, SOURCE, CUE, CONTENT = range(4)

_FIELD = 40
_HALF = 1 << (_FIELD - 1)
_MASK = (1 << _FIELD) - 1
_LIMIT = (1 << 34) - 1
# Per-model memo of packed sums (per word, per feature block); bounded so odd input cannot grow it.
_CACHE_SIZE = 200_000

# Weights files since this format store each feature's four scores already packed (see pack).
PACKED_FORMAT = 2

Scores = tuple[int, int, int, int]


def pack(values: Sequence[float]) -> int:
    """Four label scores as one integer, FIELD bits each, clamped: adding packed values adds each score."""
    return sum(max(-_LIMIT, min(_LIMIT, round(v))) << (_FIELD * y) for y, v in enumerate(values))


def _unpack(total: int) -> Scores:
    f0 = ((total + _HALF) & _MASK) - _HALF
    total = (total - f0) >> _FIELD
    f1 = ((total + _HALF) & _MASK) - _HALF
    total = (total - f1) >> _FIELD
    f2 = ((total + _HALF) & _MASK) - _HALF
    return f0, f1, f2, (total - f2) >> _FIELD


@dataclass(frozen=True)
class Model:
    """Weights of the tagger: per feature one score per label, plus label transitions (in file units)."""

    weights: dict[str, int]  # feature name -> the four label scores, packed (see pack)
    transitions: list[list[int]]  # [previous][current]
    start: list[int]
    cue_words: frozenset[str]
    sources: dict[str, float] = field(default_factory=dict)  # source choice: feature name -> weight
    word_cache: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)
    pair_cache: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    block_cache: dict[tuple[object, ...], int] = field(default_factory=dict, compare=False, repr=False)


@lru_cache(maxsize=4)
def load_model(path: Path = WEIGHTS) -> Model:
    """The shipped (or a given) weights file, read once."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    scale = float(data.get("scale", 1.0))
    weights = data.pop("weights")
    if data.get("format") != PACKED_FORMAT:
        # An older file: four scores per feature, in a list.
        weights = {name: pack(values) for name, values in weights.items()}
    model = Model(
        weights=weights,
        transitions=[[round(v) for v in row] for row in data["transitions"]],
        start=[round(v) for v in data["start"]],
        cue_words=frozenset(data["cue_words"]),
        sources={name: value / scale for name, value in data.get("sources", {}).items()},
    )
    _prepare(model)
    return model


def _word_entry(model: Model, word: str) -> tuple[int, ...]:
    """A word's packed scores as the token itself (w and s3 together), as each neighbour, then quoted or not."""
    get = model.weights.get
    names = word_feats(word)
    return (get(names[0], 0) + get(names[1], 0), *(get(name, 0) for name in names[2:]))


def _prepare(model: Model) -> None:
    """Fill the per-word and per-pair memos for every word and pair the weights know: a one-off at load time."""
    words = {name[2:] for name in model.weights if name.startswith("w=")}
    pairs = {
        (name[3:].split("|")[0], name[3:].split("|")[1])
        for name in model.weights
        if name.startswith(("pw=", "wn=")) and name.count("|") == 1
    }
    get = model.weights.get
    for word in list(words)[:_CACHE_SIZE]:
        model.word_cache[word] = _word_entry(model, word)
    for a, b in list(pairs)[:_CACHE_SIZE]:
        model.pair_cache[(a, b)] = (get("pw=" + a + "|" + b, 0), get("wn=" + a + "|" + b, 0))


def emissions(feats: Sequence[Sequence[str]], model: Model) -> list[Scores]:
    """The four label scores of every token, from its feature names."""
    get = model.weights.get
    return [_unpack(sum(map(get, names, repeat(0, len(names))))) for names in feats]


def scores(tokens: Sequence[Token], model: Model) -> list[Scores]:
    """The same as emissions(features(tokens)), memoised per word and per feature block: the fast path."""
    win = window(tokens, model.cue_words)
    words, lower, shapes, quotes, padded = win.words, win.lower, win.shapes, win.quotes, win.padded
    get = model.weights.get
    word_cache = model.word_cache
    blocks = model.block_cache
    entries = []
    for word in padded:
        entry = word_cache.get(word)
        if entry is None:
            entry = _word_entry(model, word)
            if len(word_cache) < _CACHE_SIZE:
                word_cache[word] = entry
        entries.append(entry)
    # Word pairs: (a, b) scores "pw=a|b" for the token b and "wn=a|b" for the token a.
    pair_cache = model.pair_cache
    pairs = [(0, 0)]
    for j in range(1, len(words) + 2):
        pair_key = (padded[j], padded[j + 1])
        pair = pair_cache.get(pair_key)
        if pair is None:
            pair = (get("pw=" + pair_key[0] + "|" + pair_key[1], 0), get("wn=" + pair_key[0] + "|" + pair_key[1], 0))
            if len(pair_cache) < _CACHE_SIZE:
                pair_cache[pair_key] = pair
        pairs.append(pair)
    shapes_padded = ["<s>", *shapes, "</s>"]
    no_left = get("L=none", 0)
    no_right = get("R=none", 0)
    opening = win.opening
    starts, ends, sentence, has_quote, left, right = (
        win.starts,
        win.ends,
        win.sentence,
        win.has_quote,
        win.left,
        win.right,
    )
    half, mask, width = _HALF, _MASK, _FIELD
    result = []
    key: tuple[object, ...]
    for i in range(len(words)):
        q = quotes[i]
        shape = shapes[i]
        own = entries[i + 2]
        total = own[0] + entries[i + 1][1] + entries[i][2] + entries[i + 3][3] + entries[i + 4][4] + own[5 + q]
        total += pairs[i + 1][0] + pairs[i + 2][1]
        position = i - starts[i]
        before, after, has_q, opens = shapes_padded[i], shapes_padded[i + 2], has_quote[sentence[i]], opening[i]
        key = (before, shape, after, q, has_q, ends[i], opens, min(position, 7))
        value = blocks.get(key)
        if value is None:
            value = _remember(model, key, token_feats(before, shape, after, q, has_q, ends[i], opens, position))
        total += value
        li = left[i]
        if li >= 0:
            distance = min(i - li, 13)
            lw, lp = lower[li], padded[li + 1]
            key = ("Lw", lw, lp, distance)
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, left_words(lw, lp, bucket(distance)))
            total += value
            comma = left_comma(words, li, i)
            key = ("Ls", distance, q, shape, comma)
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, left_shape(bucket(distance), q, shape, comma))
            total += value
        else:
            total += no_left
        ri = right[i]
        if ri >= 0:
            distance = min(ri - i, 13)
            comma = right_comma(words, i, ri)
            rw, rn = lower[ri], padded[ri + 3]
            key = ("Rw", rw, rn, distance, comma, opens)
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, right_words(rw, rn, bucket(distance), comma, opens))
            total += value
            key = ("Rs", distance, q, shape, comma)
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, right_shape(bucket(distance), q, shape, comma))
            total += value
        else:
            total += no_right
        # _unpack, inlined: this loop is the tagger's hot path.
        f0 = ((total + half) & mask) - half
        total = (total - f0) >> width
        f1 = ((total + half) & mask) - half
        total = (total - f1) >> width
        f2 = ((total + half) & mask) - half
        result.append((f0, f1, f2, (total - f2) >> width))
    return result


def _remember(model: Model, key: tuple[object, ...], names: list[str]) -> int:
    """The packed sum of a feature block, memoised under its key while the memo has room."""
    get = model.weights.get
    value = sum(map(get, names, repeat(0, len(names))))
    if len(model.block_cache) < _CACHE_SIZE:
        model.block_cache[key] = value
    return value
