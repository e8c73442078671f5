"""Who said (or believes, or wants) what: attribution spans found by a small trained tagger.

Every token of a paragraph gets one of four labels - outside, source, cue, content - from an
averaged structured perceptron (first-order Viterbi) over hand-made token features. The weights
come from ``benchmarks/train_attribution.py`` and ship as ``weights/attribution.json.gz``
(feature names and numbers only). Labelled spans are then joined into attributions around
their cues; each cue's source is picked by a second small averaged perceptron (same file) among
candidates - tagged source runs nearby, the words next to the cue, the opening words of its
sentence, or no source at all. Pronoun or role sources ("He added", "the spokesperson said") are
resolved to the last named speaker of the article.

Tagging is linear in the text, with memoised per-word and per-feature-block scores; a long
paragraph is cut into windows of at most MAX_WINDOW tokens.
"""

from __future__ import annotations

import gzip
import json
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

WEIGHTS = Path(__file__).parent / "weights" / "attribution.json.gz"
LABELS = ("O", "S", "C", "Q")  # outside, source, cue, content
OUT, SOURCE, CUE, CONTENT = range(4)
# Long paragraphs are tagged in windows: Viterbi is linear, but an unbroken 50,000-word text
# must not hold one huge lattice in memory, and no attribution spans more than a few sentences.
MAX_WINDOW = 400
# A content span further than this many tokens from every cue is noise, not an attribution.
MAX_CUE_DISTANCE = 80
# Candidate sources made of the words next to a cue, or opening its sentence, are at most this long.
SOURCE_FALLBACK = 8

_TOKEN = re.compile(r"\w+(?:[-'’.&]\w+)*|[^\w\s]")
_OPEN_QUOTES = {"“", "‘"}
_CLOSE_QUOTES = {"”"}
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "sen", "rep", "gov", "gen", "st", "jr", "sr", "lt", "col", "u.s", "no"}
_PRONOUNS = {"he", "she", "they", "i", "we", "it", "you", "him", "her", "them"}
_DEFINITE = {"the", "his", "her", "their", "its", "this", "that"}
_NOT_NAMES = _PRONOUNS | _DEFINITE | {"a", "an", "some", "many", "most", "both", "several", "one", "two", "others"}


@dataclass(frozen=True)
class Attribution:
    """One attribution: character spans into the text for its source (may be absent), cue and content."""

    cue: str
    cue_start: int
    cue_end: int
    content: str
    content_start: int
    content_end: int
    source: str | None = None
    source_start: int | None = None
    source_end: int | None = None
    speaker: str | None = None  # the source resolved to a name ("He" -> "Andrii Cherniak"); None if unknown
    content_spans: tuple[tuple[int, int], ...] = ()  # the content's pieces when a cue interrupts it

    @property
    def direct(self) -> bool:
        """Whether the content is (mostly) a verbatim quotation."""
        return any(mark in self.content for mark in '"“”')


class Token(NamedTuple):
    """A token of the text with its character offsets."""

    text: str
    start: int
    end: int


# --- tokens, sentences, features ------------------------------------------------------------------


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Words (with inner apostrophes, hyphens, dots) and single punctuation marks, with offsets."""
    return [Token(m.group(0), m.start() + offset, m.end() + offset) for m in _TOKEN.finditer(text)]


def paragraphs(text: str) -> Iterator[list[Token]]:
    """Token windows of at most MAX_WINDOW tokens, one paragraph (text line) or part of one each."""
    offset = 0
    for line in text.split("\n"):
        tokens = tokenize(line, offset)
        offset += len(line) + 1
        first = 0
        while first < len(tokens):
            cut = len(tokens) - first
            if cut > MAX_WINDOW:
                # Cut after the last sentence end in the window, so a sentence is rarely split.
                ends = sentence_ends(tokens[first : first + MAX_WINDOW])
                cut = max((i + 1 for i, end in enumerate(ends) if end and i > MAX_WINDOW // 2), default=MAX_WINDOW)
            yield tokens[first : first + cut]
            first += cut


_STOPS = frozenset({".", "!", "?"})
_AFTER_STOP = frozenset({"”", '"', "’", "'", ")"})


def sentence_ends(tokens: Sequence[Token]) -> list[bool]:
    """For each token, whether a sentence ends right after it (quote marks after a full stop go with it)."""
    n = len(tokens)
    ends = [False] * n
    for i, token in enumerate(tokens):
        if token.text not in _STOPS:
            continue
        if token.text == "." and i and _abbreviation(tokens[i - 1].text):
            continue
        j = i
        while j + 1 < n and tokens[j + 1].text in _AFTER_STOP:
            j += 1
        if j + 1 >= n or tokens[j + 1].text[0].isupper() or tokens[j + 1].text in _OPEN_QUOTES:
            ends[j] = True
    if tokens:
        ends[-1] = True
    return ends


_MORE_ABBREVIATIONS = frozenset(
    [
        "md",
        "va",
        "vt",
        "ga",
        "fla",
        "calif",
        "mass",
        "conn",
        "ariz",
        "colo",
        "ill",
        "ind",
        "kan",
        "ky",
        "la",
        "mich",
        "minn",
        "miss",
        "mo",
        "neb",
        "nev",
        "okla",
        "ore",
        "pa",
        "tenn",
        "wash",
        "wis",
        "inc",
        "corp",
        "co",
        "ltd",
        "sgt",
        "capt",
        "maj",
        "adm",
        "prof",
        "rev",
        "ft",
        "mt",
        "jan",
        "feb",
        "aug",
        "sept",
        "oct",
        "nov",
        "dec",
        "d.c",
    ]
)


def _abbreviation(word: str) -> bool:
    """A title, a middle initial ("Vann R. Newkirk") or another abbreviation that does not end a sentence."""
    lower = word.lower()
    return lower in _ABBREVIATIONS or lower in _MORE_ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _sentence_ids(ends: Sequence[bool]) -> list[int]:
    """The sentence index of every token, from sentence_ends."""
    ids = []
    current = 0
    for end in ends:
        ids.append(current)
        current += end
    return ids


def _shape(word: str) -> str:
    if word[0].isupper():
        return "X" if word.isupper() and len(word) > 1 else "Xx"
    if word[0].isdigit():
        return "d"
    return "x" if word[0].isalpha() else word


_BUCKETS = ("0", "1", "2", "3", "4-6", "4-6", "4-6", "7-12", "7-12", "7-12", "7-12", "7-12", "7-12")


def _bucket(distance: int) -> str:
    return _BUCKETS[distance] if distance < 13 else "far"


def _quote_states(words: Sequence[str]) -> list[int]:
    """1 for tokens inside quotation marks (curly or straight, straight ones toggling), else 0."""
    states = []
    inside = False
    for word in words:
        if word in _OPEN_QUOTES:
            inside = True
            states.append(1)
        elif word in _CLOSE_QUOTES:
            states.append(1)
            inside = False
        elif word == '"':
            states.append(1)
            inside = not inside
        else:
            states.append(int(inside))
    return states


@dataclass
class _Window:
    """What the features of one window are computed from."""

    words: list[str]
    lower: list[str]
    shapes: list[str]
    quotes: list[int]
    ends: list[bool]
    sentence: list[int]
    left: list[int]  # nearest cue word before the token in its sentence, or -1
    right: list[int]  # nearest cue word after the token in its sentence, or -1
    starts: list[int]  # first token of the token's sentence
    has_quote: list[int]  # per sentence: whether any token is quoted
    opening: list[int]  # 1 while no comma, colon, bracket or cue word has come since the sentence began
    padded: list[str]  # lower, with two <s> before and two </s> after


def _window(tokens: Sequence[Token], cue_words: frozenset[str]) -> _Window:
    words = [t.text for t in tokens]
    lower = [w.lower() for w in words]
    quotes = _quote_states(words)
    ends = sentence_ends(tokens)
    n = len(tokens)
    # Sentence index of each token, and for each token the nearest likely cue word on each side
    # within its sentence: content and sources are laid out around cues.
    sentence = _sentence_ids(ends)
    is_cue = [w in cue_words for w in lower]
    left: list[int] = [-1] * n
    right: list[int] = [-1] * n
    starts: list[int] = [0] * n
    last = -1
    begin = 0
    for i in range(n):
        if i and sentence[i] != sentence[i - 1]:
            last = -1
            begin = i
        left[i] = last
        starts[i] = begin
        if is_cue[i]:
            last = i
    last = -1
    for i in range(n - 1, -1, -1):
        if i < n - 1 and sentence[i] != sentence[i + 1]:
            last = -1
        right[i] = last
        if is_cue[i]:
            last = i
    has_quote = [0] * (sentence[-1] + 1 if n else 1)
    for i in range(n):
        has_quote[sentence[i]] |= quotes[i]
    opening = [1] * n
    for i in range(1, n):
        if starts[i] != i:
            opening[i] = int(opening[i - 1] and not is_cue[i - 1] and words[i - 1] not in _BREAKS)
    return _Window(
        words,
        lower,
        [_shape(w) for w in words],
        quotes,
        ends,
        sentence,
        left,
        right,
        starts,
        has_quote,
        opening,
        ["<s>", "<s>", *lower, "</s>", "</s>"],
    )


def _token_feats(
    shape_before: str, shape: str, shape_after: str, q: int, has_q: int, end: bool, opening: int, position: int
) -> list[str]:
    return [
        f"op={opening}|{shape}",
        "b",
        "sh=" + shape,
        "shc=" + shape_before + shape + shape_after,
        f"q={q}{has_q}",
        f"first={int(position == 0)}",
        f"end={int(end)}",
        "pos=" + (_BUCKETS[position] if position < 7 else "far"),
    ]


def _left_feats(lw: str, lp: str, distance: int, q: int, shape: str, comma: int) -> list[str]:
    d = _bucket(distance)
    return _left_words(lw, lp, d) + _left_shape(d, q, shape, comma)


def _left_words(lw: str, lp: str, d: str) -> list[str]:
    return ["Lw=" + lw, f"Lwd={lw}|{d}", f"Lp={lp}|{d}"]


def _left_shape(d: str, q: int, shape: str, comma: int) -> list[str]:
    return [f"L={d}|{q}", f"Lsh={d}|{shape}", f"Lc={comma}|{shape}"]


def _right_feats(rw: str, rn: str, distance: int, q: int, shape: str, comma: int, opening: int) -> list[str]:
    d = _bucket(distance)
    return _right_words(rw, rn, d, comma, opening) + _right_shape(d, q, shape, comma)


def _right_words(rw: str, rn: str, d: str, comma: int, opening: int) -> list[str]:
    return ["Rw=" + rw, f"Rwd={rw}|{d}", f"Rn={rn}|{comma}", f"Rop={opening}|{d}|{rw}"]


def _right_shape(d: str, q: int, shape: str, comma: int) -> list[str]:
    return [f"R={d}|{q}", f"Rc={comma}|{shape}", f"Rsh={d}|{shape}"]


def _word_feats(word: str) -> list[str]:
    """Features of a word as the token itself (w, s3) and as each neighbour (p1, p2, n1, n2), then quoted or not."""
    return [
        "w=" + word,
        "s3=" + word[-3:],
        "p1=" + word,
        "p2=" + word,
        "n1=" + word,
        "n2=" + word,
        "qw=0" + word,
        "qw=1" + word,
    ]


def _left_comma(words: Sequence[str], li: int, i: int) -> int:
    return int("," in words[li + 1 : i]) if i - li < 40 else 2


def _right_comma(words: Sequence[str], i: int, ri: int) -> int:
    return int("," in words[i + 1 : ri]) if ri - i < 40 else 1


def features(tokens: Sequence[Token], cue_words: frozenset[str]) -> list[list[str]]:
    """The feature names of every token of one window (what the trainer sees; tagging scores the same ones)."""
    win = _window(tokens, cue_words)
    words, lower, shapes, quotes, padded = win.words, win.lower, win.shapes, win.quotes, win.padded
    shapes_padded = ["<s>", *shapes, "</s>"]
    result = []
    for i in range(len(words)):
        w = lower[i]
        q = quotes[i]
        shape = shapes[i]
        own, as_p1, as_p2 = _word_feats(w), _word_feats(padded[i + 1]), _word_feats(padded[i])
        as_n1, as_n2 = _word_feats(padded[i + 3]), _word_feats(padded[i + 4])
        feats = [own[0], own[1], as_p1[2], as_p2[3], as_n1[4], as_n2[5], own[6 + q]]
        feats.append("pw=" + padded[i + 1] + "|" + w)
        feats.append("wn=" + w + "|" + padded[i + 3])
        feats += _token_feats(
            shapes_padded[i],
            shape,
            shapes_padded[i + 2],
            q,
            win.has_quote[win.sentence[i]],
            win.ends[i],
            win.opening[i],
            i - win.starts[i],
        )
        li = win.left[i]
        if li >= 0:
            feats += _left_feats(lower[li], padded[li + 1], i - li, q, shape, _left_comma(words, li, i))
        else:
            feats.append("L=none")
        ri = win.right[i]
        if ri >= 0:
            feats += _right_feats(
                lower[ri], padded[ri + 3], ri - i, q, shape, _right_comma(words, i, ri), win.opening[i]
            )
        else:
            feats.append("R=none")
        result.append(feats)
    return result


# --- the model ------------------------------------------------------------------------------------

# Weights are integers (the file's, scaled). The four label scores of a feature are packed into one
# Python integer, FIELD bits each, so adding packed values adds all four scores at once.
_FIELD = 40
_HALF = 1 << (_FIELD - 1)
_MASK = (1 << _FIELD) - 1
_LIMIT = (1 << 34) - 1
# Per-model memo of packed sums (per word, per feature block); bounded so odd input cannot grow it.
_CACHE_SIZE = 200_000


# Weights files since this format store each feature's four scores already packed (see pack).
PACKED_FORMAT = 2


def pack(values: Sequence[float]) -> int:
    """Four label scores as one integer, FIELD bits each, clamped: adding packed values adds each score."""
    return sum(max(-_LIMIT, min(_LIMIT, round(v))) << (_FIELD * y) for y, v in enumerate(values))


def _unpack(total: int) -> tuple[int, int, int, int]:
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
    word_cache: dict = field(default_factory=dict, compare=False, repr=False)
    pair_cache: dict = field(default_factory=dict, compare=False, repr=False)
    block_cache: dict = field(default_factory=dict, compare=False, repr=False)


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


def _prepare(model: Model) -> None:
    """Fill the per-word and per-pair memos for every word and pair the weights know: a one-off at load time."""
    words = {name[2:] for name in model.weights if name.startswith("w=")}
    pairs = {
        tuple(name[3:].split("|")) for name in model.weights if name.startswith(("pw=", "wn=")) and name.count("|") == 1
    }
    get = model.weights.get
    for word in list(words)[:_CACHE_SIZE]:
        names = _word_feats(word)
        model.word_cache[word] = (get(names[0], 0) + get(names[1], 0), *(get(name, 0) for name in names[2:]))
    for a, b in list(pairs)[:_CACHE_SIZE]:
        model.pair_cache[(a, b)] = (get("pw=" + a + "|" + b, 0), get("wn=" + a + "|" + b, 0))


def emissions(feats: Sequence[Sequence[str]], model: Model) -> list[tuple[int, int, int, int]]:
    """The four label scores of every token, from its feature names."""
    get = model.weights.get
    return [_unpack(sum(map(get, names, repeat(0, len(names))))) for names in feats]


def scores(tokens: Sequence[Token], model: Model) -> list[tuple[int, int, int, int]]:
    """The same as emissions(features(tokens)), memoised per word and per feature block: the fast path."""
    win = _window(tokens, model.cue_words)
    words, lower, shapes, quotes, padded = win.words, win.lower, win.shapes, win.quotes, win.padded
    get = model.weights.get
    word_cache = model.word_cache
    blocks = model.block_cache
    entries = []
    for word in padded:
        entry = word_cache.get(word)
        if entry is None:
            names = _word_feats(word)
            entry = (get(names[0], 0) + get(names[1], 0), *(get(name, 0) for name in names[2:]))
            if len(word_cache) < _CACHE_SIZE:
                word_cache[word] = entry
        entries.append(entry)
    # Word pairs: (a, b) scores "pw=a|b" for the token b and "wn=a|b" for the token a.
    pair_cache = model.pair_cache
    pairs = [(0, 0)]
    for j in range(1, len(words) + 2):
        key = (padded[j], padded[j + 1])
        pair = pair_cache.get(key)
        if pair is None:
            pair = (get("pw=" + key[0] + "|" + key[1], 0), get("wn=" + key[0] + "|" + key[1], 0))
            if len(pair_cache) < _CACHE_SIZE:
                pair_cache[key] = pair
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
    for i in range(len(words)):
        q = quotes[i]
        shape = shapes[i]
        own = entries[i + 2]
        total = own[0] + entries[i + 1][1] + entries[i][2] + entries[i + 3][3] + entries[i + 4][4] + own[5 + q]
        total += pairs[i + 1][0] + pairs[i + 2][1]
        position = i - starts[i]
        key = (
            shapes_padded[i],
            shape,
            shapes_padded[i + 2],
            q,
            has_quote[sentence[i]],
            ends[i],
            opening[i],
            min(position, 7),
        )
        value = blocks.get(key)
        if value is None:
            value = _remember(model, key, _token_feats(*key[:7], position))
        total += value
        li = left[i]
        if li >= 0:
            distance = min(i - li, 13)
            key = ("Lw", lower[li], padded[li + 1], distance)
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, _left_words(key[1], key[2], _bucket(distance)))
            total += value
            key = ("Ls", distance, q, shape, _left_comma(words, li, i))
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, _left_shape(_bucket(distance), q, shape, key[4]))
            total += value
        else:
            total += no_left
        ri = right[i]
        if ri >= 0:
            distance = min(ri - i, 13)
            comma = _right_comma(words, i, ri)
            key = ("Rw", lower[ri], padded[ri + 3], distance, comma, opening[i])
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, _right_words(key[1], key[2], _bucket(distance), comma, key[5]))
            total += value
            key = ("Rs", distance, q, shape, comma)
            value = blocks.get(key)
            if value is None:
                value = _remember(model, key, _right_shape(_bucket(distance), q, shape, comma))
            total += value
        else:
            total += no_right
        f0 = ((total + half) & mask) - half
        total = (total - f0) >> width
        f1 = ((total + half) & mask) - half
        total = (total - f1) >> width
        f2 = ((total + half) & mask) - half
        result.append((f0, f1, f2, (total - f2) >> width))
    return result


def _remember(model: Model, key: tuple, names: list[str]) -> int:
    get = model.weights.get
    value = sum(map(get, names, repeat(0, len(names))))
    if len(model.block_cache) < _CACHE_SIZE:
        model.block_cache[key] = value
    return value


def best_path(
    emits: Sequence[Sequence[float]], transitions: Sequence[Sequence[float]], start: Sequence[float]
) -> list[int]:
    """First-order Viterbi over the four labels, unrolled."""
    if not emits:
        return []
    (t00, t01, t02, t03), (t10, t11, t12, t13), (t20, t21, t22, t23), (t30, t31, t32, t33) = transitions
    e = emits[0]
    p0, p1, p2, p3 = start[0] + e[0], start[1] + e[1], start[2] + e[2], start[3] + e[3]
    backs = []
    for e0, e1, e2, e3 in emits[1:]:
        # Best previous label for each current label y; ties go to the lower label.
        b0, v0 = 0, p0 + t00
        if p1 + t10 > v0:
            b0, v0 = 1, p1 + t10
        if p2 + t20 > v0:
            b0, v0 = 2, p2 + t20
        if p3 + t30 > v0:
            b0, v0 = 3, p3 + t30
        b1, v1 = 0, p0 + t01
        if p1 + t11 > v1:
            b1, v1 = 1, p1 + t11
        if p2 + t21 > v1:
            b1, v1 = 2, p2 + t21
        if p3 + t31 > v1:
            b1, v1 = 3, p3 + t31
        b2, v2 = 0, p0 + t02
        if p1 + t12 > v2:
            b2, v2 = 1, p1 + t12
        if p2 + t22 > v2:
            b2, v2 = 2, p2 + t22
        if p3 + t32 > v2:
            b2, v2 = 3, p3 + t32
        b3, v3 = 0, p0 + t03
        if p1 + t13 > v3:
            b3, v3 = 1, p1 + t13
        if p2 + t23 > v3:
            b3, v3 = 2, p2 + t23
        if p3 + t33 > v3:
            b3, v3 = 3, p3 + t33
        backs.append((b0, b1, b2, b3))
        p0, p1, p2, p3 = v0 + e0, v1 + e1, v2 + e2, v3 + e3
    final = (p0, p1, p2, p3)
    y = final.index(max(final))
    path = [y]
    for back in reversed(backs):
        y = back[y]
        path.append(y)
    path.reverse()
    return path


def viterbi(feats: Sequence[Sequence[str]], model: Model) -> list[int]:
    """The best label sequence for one window."""
    return best_path(emissions(feats, model), model.transitions, model.start)


def tag(text: str, model: Model | None = None) -> Iterator[tuple[list[Token], list[int]]]:
    """Each window of the text with its predicted labels."""
    model = model or load_model()
    for tokens in paragraphs(text):
        yield tokens, best_path(scores(tokens, model), model.transitions, model.start)


# --- from labels to attributions -----------------------------------------------------------------


def _runs(labels: Sequence[int]) -> list[tuple[int, int, int]]:
    """Maximal runs of one non-outside label: (label, first token, last token + 1)."""
    runs = []
    i = 0
    while i < len(labels):
        j = i
        while j + 1 < len(labels) and labels[j + 1] == labels[i]:
            j += 1
        if labels[i] != OUT:
            runs.append((labels[i], i, j + 1))
        i = j + 1
    return runs


def _gap(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    return max(b[1] - a[2], a[1] - b[2], 0)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A span without surrounding spaces and commas (quote marks stay: they belong to a direct quote)."""
    while start < end and text[start] in " ,;:—–-":
        start += 1
    while end > start and text[end - 1] in " ,;:—–-":
        end -= 1
    return start, end


_EVIDENTIAL = frozenset(
    {
        "seem",
        "seems",
        "seemed",
        "seeming",
        "appears",
        "appeared",
        "reportedly",
        "allegedly",
        "apparently",
        "known",
        "supposedly",
        "purportedly",
    }
)
_BE = frozenset({"is", "was", "were", "are", "been", "be", "being", "'s", "’s"})


def _sourceless(tokens: Sequence[Token], cue: tuple[int, int, int]) -> bool:
    """Cues that PolNeAR leaves without a source: passives without an agent, "seems", "reportedly"."""
    words = [token.text.lower() for token in tokens[cue[1] : cue[2]]]
    if any(word in _EVIDENTIAL for word in words):
        return True
    before = tokens[cue[1] - 1].text.lower() if cue[1] else ""
    after = tokens[cue[2]].text.lower() if cue[2] < len(tokens) else ""
    if after == "by":
        return False
    verbs = [word for word in words if word not in _BE]
    passive = (before in _BE or any(word in _BE for word in words)) and bool(verbs) and verbs[0].endswith(("ed", "en"))
    return passive


_BREAKS = frozenset(",;:(")
_OPENERS = frozenset({"“", '"', "‘", "'", "(", "—", "-", "―"})
_ANY_BUT_CUE = (OUT, SOURCE, CONTENT)
Run = tuple[int, int, int]  # (label, first token, last token + 1)


def _nearby_words(
    tokens: Sequence[Token],
    labels: Sequence[int],
    sentence: Sequence[int],
    cue: Run,
    after: bool,
    allowed: tuple[int, ...] = (OUT, SOURCE),
) -> Run | None:
    """Up to SOURCE_FALLBACK untagged (or source) words of the cue's sentence right before (or after) the cue."""
    here = sentence[cue[1]]
    if not after:
        start = cue[1]
        while (
            start > 0
            and cue[1] - start < SOURCE_FALLBACK
            and labels[start - 1] in allowed
            and sentence[start - 1] == here
            and tokens[start - 1].text not in _BREAKS
        ):
            start -= 1
        return (SOURCE, start, cue[1]) if start < cue[1] else None
    end = cue[2]
    while (
        end < len(tokens)
        and end - cue[2] < SOURCE_FALLBACK
        and labels[end] in allowed
        and sentence[end] == here
        and tokens[end].text not in _BREAKS
        and tokens[end].text != "."
    ):
        end += 1
    return (SOURCE, cue[2], end) if end > cue[2] else None


def _sentence_opening(tokens: Sequence[Token], labels: Sequence[int], sentence: Sequence[int], cue: Run) -> Run | None:
    """The first words of the cue's sentence, up to a comma or the cue: the subject, often the source."""
    here = sentence[cue[1]]
    begin = cue[1]
    while begin > 0 and sentence[begin - 1] == here:
        begin -= 1
    while begin < cue[1] and tokens[begin].text in _OPENERS:
        begin += 1
    stop = begin
    while stop < cue[1] and stop - begin < SOURCE_FALLBACK and tokens[stop].text not in _BREAKS and labels[stop] != CUE:
        stop += 1
    return (SOURCE, begin, stop) if stop > begin else None


def _group(
    tokens: Sequence[Token], labels: Sequence[int], model: Model | None = None
) -> list[tuple[Run, list[Run], list[Run]]]:
    """Each cue run with the content runs nearest to it and its source run (none, one)."""
    result = []
    for cue, contents, candidates in source_candidates(tokens, labels):
        if model is not None and model.sources:
            get = model.sources.get
            best = max(candidates, key=lambda candidate: sum(map(get, candidate[1], repeat(0.0, len(candidate[1])))))
            chosen = [best[0]] if best[0] is not None else []
        else:
            chosen = _heuristic_source(tokens, cue, candidates)
        result.append((cue, contents, chosen))
    return result


def _heuristic_source(
    tokens: Sequence[Token], cue: Run, candidates: Sequence[tuple[Run | None, list[str]]]
) -> list[Run]:
    """Without trained source weights: the nearest source run of the cue's sentence, else the fallback words."""
    if _sourceless(tokens, cue):
        return []
    same = [run for run, names in candidates if run is not None and names[0] == "k=same"]
    if same:
        return [min(same, key=lambda run: _gap(run, cue))]
    fallback = [run for run, names in candidates if run is not None and names[0] in ("k=fb", "k=fa")]
    return fallback[:1]


def source_candidates(
    tokens: Sequence[Token], labels: Sequence[int]
) -> list[tuple[Run, list[Run], list[tuple[Run | None, list[str]]]]]:
    """Each cue run that has content, with its content runs and its possible sources (None: no source), featurised."""
    runs = _runs(labels)
    cues = [run for run in runs if run[0] == CUE]
    if not cues:
        return []
    ends = sentence_ends(tokens)
    sentence = _sentence_ids(ends)
    contents: dict[int, list] = {index: [] for index in range(len(cues))}
    cue_starts = [cue[1] for cue in cues]
    source_runs = []
    for run in runs:
        if run[0] == CONTENT:
            # The nearest cue (runs are disjoint): the last one before the run or the first after it.
            after = bisect_left(cue_starts, run[1])
            if after == len(cues) or (after and run[1] - cues[after - 1][2] <= cues[after][1] - run[2]):
                index = after - 1
            else:
                index = after
            distance = _gap(run, cues[index])
            if distance <= MAX_CUE_DISTANCE:
                contents[index].append(run)
        elif run[0] == SOURCE:
            source_runs.append(run)
    result = []
    for index, cue in enumerate(cues):
        if not contents[index]:
            continue
        here = sentence[cue[1]]
        same = sorted((run for run in source_runs if sentence[run[1]] == here), key=lambda run, cue=cue: _gap(run, cue))
        previous = [run for run in source_runs if here - 2 <= sentence[run[1]] < here and run[2] <= cue[1]][-3:]
        following = [run for run in source_runs if sentence[run[1]] == here + 1][:1]
        found: list[tuple[str, Run]] = [("same", run) for run in same]
        found += [("prev", run) for run in reversed(previous)]
        found += [("next", run) for run in following]
        before = _nearby_words(tokens, labels, sentence, cue, after=False)
        after = _nearby_words(tokens, labels, sentence, cue, after=True)
        if before is not None and before not in same:
            found.append(("fb", before))
        if after is not None and after not in same:
            found.append(("fa", after))
        seen = {run[1:] for _, run in found}
        more = [
            ("ss", _sentence_opening(tokens, labels, sentence, cue)),
            ("fw", _nearby_words(tokens, labels, sentence, cue, after=False, allowed=_ANY_BUT_CUE)),
            ("fz", _nearby_words(tokens, labels, sentence, cue, after=True, allowed=_ANY_BUT_CUE)),
        ]
        for kind, run in more:
            if run is not None and run[1:] not in seen:
                seen.add(run[1:])
                found.append((kind, run))
        context = _cue_context(tokens, cue, len(same))
        candidates: list[tuple[Run | None, list[str]]] = [(None, ["k=none", *("none|" + name for name in context)])]
        ranks: dict[str, int] = {}
        for kind, run in found:
            rank = ranks.get(kind, 0)
            ranks[kind] = rank + 1
            candidates.append(
                (run, _candidate_features(tokens, labels, sentence, cue, contents[index], kind, rank, run, context))
            )
        result.append((cue, contents[index], candidates))
    return result


def _cue_context(tokens: Sequence[Token], cue: Run, same: int) -> list[str]:
    first = tokens[cue[1]].text.lower()
    context = [
        f"cw={first}",
        f"sl={int(_sourceless(tokens, cue))}",
        f"ns={min(same, 3)}",
        f"cl={min(cue[2] - cue[1], 3)}",
    ]
    before = tokens[cue[1] - 1].text.lower() if cue[1] else "<s>"
    after = tokens[cue[2]].text.lower() if cue[2] < len(tokens) else "</s>"
    context += [f"cp={before}", f"cn={after}", f"ce={tokens[cue[2] - 1].text.lower()}"]
    return context


def _candidate_features(
    tokens: Sequence[Token],
    labels: Sequence[int],
    sentence: Sequence[int],
    cue: Run,
    contents: Sequence[Run],
    kind: str,
    rank: int,
    run: Run,
    context: Sequence[str],
) -> list[str]:
    before = run[2] <= cue[1]
    gap = cue[1] - run[2] if before else run[1] - cue[2]
    lo, hi = (run[2], cue[1]) if before else (cue[2], run[1])
    between = labels[lo:hi]
    words = [token.text.lower() for token in tokens[run[1] : run[2]]]
    first, last = words[0], words[-1]
    inside = contents[0][1] < run[1] and run[2] <= contents[-1][2]
    after = tokens[run[2]].text.lower() if run[2] < len(tokens) else "</s>"
    preceding = tokens[run[1] - 1].text.lower() if run[1] else "<s>"
    starts = run[1] == 0 or sentence[run[1] - 1] != sentence[run[1]]
    side = "b" if before else "a"
    k = kind + "|"
    names = [
        "k=" + kind,
        f"{k}rank={min(rank, 2)}",
        f"{k}side={side}",
        f"{k}gap={_bucket(max(gap, 0))}",
        f"{k}{side}gap={_bucket(max(gap, 0))}",
        f"{k}first={first}",
        f"{k}last={last}",
        f"{k}after={after}",
        f"{k}pre={preceding}",
        f"{k}len={_bucket(len(words))}",
        f"{k}shape={_shape(tokens[run[1]].text)}",
        f"{k}cross={int(CONTENT in between)}",
        f"{k}cue={int(CUE in between)}",
        f"{k}inside={int(inside)}",
        f"{k}comma={int(',' in (t.text for t in tokens[lo:hi]))}",
        f"{k}start={int(starts)}",
        f"{k}pron={int(len(words) == 1 and first in _PRONOUNS | {'who', 'which'})}",
        f"{k}S={int(all(labels[i] == SOURCE for i in range(run[1], run[2])))}",
        f"{k}{side}rank={min(rank, 2)}",
        f"{k}anyS={int(SOURCE in labels[run[1] : run[2]])}",
        f"{k}anyQ={int(CONTENT in labels[run[1] : run[2]])}",
        f"{k}caps={min(sum(t.text[:1].isupper() for t in tokens[run[1] : run[2]]), 3)}",
        f"{k}sd={max(min(sentence[cue[1]] - sentence[run[1]], 2), -1)}",
    ]
    names += (k + name for name in context)
    names += (
        f"{k}{context[0]}|{_bucket(max(gap, 0))}",
        f"{k}{min(rank, 2)}|{context[2]}",
        f"{k}first2={first}|{words[1] if len(words) > 1 else '</s>'}",
        f"{k}{side}|pre={preceding}",
    )
    names += {f"{k}has={word}" for word in words[:8]}
    names.append(f"{k}{side}|{context[0]}")
    return names


class SpeakerMemory:
    """Names seen so far in an article: pronoun and role sources resolve to the last named speaker."""

    def __init__(self, text: str) -> None:
        self.last: str | None = None
        # Full names anywhere in the text, so "Trump said" resolves to "Donald Trump".
        self.full: dict[str, str] = {}
        for match in re.finditer(r"\b([A-Z][a-z]+(?:\s+[A-Z]\.)?\s+(?:[A-Z][a-z]+[- ])?[A-Z][a-z'’]+)\b", text):
            name = match.group(1)
            if name.split()[0].lower() not in _NOT_NAMES:
                self.full.setdefault(name.split()[-1], name)

    def resolve(self, source: str | None) -> str | None:
        """The speaker a source names: itself, the full form of a surname, or the last named speaker."""
        if not source:
            return None
        words = source.replace("’s", "").replace("'s", "").split()
        first = words[0].lower()
        named = [w for w in words[1:] if w[:1].isupper()] or ([words[0]] if first not in _NOT_NAMES else [])
        if named:
            speaker = source.strip()
            # "Andrii Cherniak, a spokesperson for HUR": the name before the apposition is the speaker.
            head = speaker.split(",")[0].strip()
            if head != speaker and head[:1].isupper() and head.split()[0].lower() not in _NOT_NAMES:
                speaker = head
            if len(speaker.split()) == 1:
                speaker = self.full.get(speaker.replace("’s", "").replace("'s", ""), speaker)
            self.last = speaker
            return speaker
        if first in _PRONOUNS and first not in {"i", "we", "you", "it", "they", "them"} and len(words) == 1:
            return self.last
        if first in _DEFINITE and len(words) <= 3 and not words[-1].endswith("s"):
            # "the spokesperson", "his campaign manager": one person just introduced by name.
            return self.last
        return None


def find_attributions(text: str, model: Model | None = None) -> list[Attribution]:
    """Every attribution of an article, in text order: source, cue and content spans and the resolved speaker."""
    if not text or not text.strip():
        return []
    model = model or load_model()
    memory = SpeakerMemory(text)
    found: list[Attribution] = []
    for tokens, labels in tag(text, model):
        for cue, contents, sources in _group(tokens, labels, model):
            cue_start, cue_end = tokens[cue[1]].start, tokens[cue[2] - 1].end
            pieces = [_trim(text, tokens[run[1]].start, tokens[run[2] - 1].end) for run in contents]
            pieces = [(start, end) for start, end in pieces if end > start]
            if not pieces:
                continue
            start, end = pieces[0][0], pieces[-1][1]
            source = source_start = source_end = None
            if sources:
                run = sources[0]
                source_start, source_end = _trim(text, tokens[run[1]].start, tokens[run[2] - 1].end)
                source = text[source_start:source_end] or None
            found.append(
                Attribution(
                    cue=text[cue_start:cue_end],
                    cue_start=cue_start,
                    cue_end=cue_end,
                    content=text[start:end],
                    content_start=start,
                    content_end=end,
                    source=source,
                    source_start=source_start if source else None,
                    source_end=source_end if source else None,
                    speaker=memory.resolve(source),
                    content_spans=tuple(pieces),
                )
            )
    return found
