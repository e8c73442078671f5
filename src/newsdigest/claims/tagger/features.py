"""The feature names of every token of a window: what the trainer sees and the tagger scores.

The tagger's fast path (model.scores) sums the same features block by block; the block functions
here (token_feats, left_words, left_shape, right_words, right_shape, word_feats) are shared by both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsdigest.claims.tagger.tokens import CLOSE_QUOTES, OPEN_QUOTES, Token, sentence_ends, sentence_ids

# Marks after which the words of a sentence no longer open it (see Window.opening).
BREAKS = frozenset(",;:(")
_BUCKETS = ("0", "1", "2", "3", "4-6", "4-6", "4-6", "7-12", "7-12", "7-12", "7-12", "7-12", "7-12")


def shape(word: str) -> str:
    """A word's shape: "X" (all capitals), "Xx" (capitalised), "d" (digit first), "x", or the mark itself."""
    if word[0].isupper():
        return "X" if word.isupper() and len(word) > 1 else "Xx"
    if word[0].isdigit():
        return "d"
    return "x" if word[0].isalpha() else word


def bucket(distance: int) -> str:
    """A token distance as a coarse bucket name: "0" to "3", "4-6", "7-12", "far"."""
    return _BUCKETS[distance] if distance < 13 else "far"


def _quote_states(words: Sequence[str]) -> list[int]:
    """1 for tokens inside quotation marks (curly or straight, straight ones toggling), else 0."""
    states = []
    inside = False
    for word in words:
        if word in OPEN_QUOTES:
            inside = True
            states.append(1)
        elif word in CLOSE_QUOTES:
            states.append(1)
            inside = False
        elif word == '"':
            states.append(1)
            inside = not inside
        else:
            states.append(int(inside))
    return states


@dataclass
class Window:
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


def window(tokens: Sequence[Token], cue_words: frozenset[str]) -> Window:
    """The per-token facts of a window that its features are made of."""
    words = [t.text for t in tokens]
    lower = [w.lower() for w in words]
    quotes = _quote_states(words)
    ends = sentence_ends(tokens)
    n = len(tokens)
    # Sentence index of each token, and for each token the nearest likely cue word on each side
    # within its sentence: content and sources are laid out around cues.
    sentence = sentence_ids(ends)
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
            opening[i] = int(opening[i - 1] and not is_cue[i - 1] and words[i - 1] not in BREAKS)
    return Window(
        words,
        lower,
        [shape(w) for w in words],
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


def token_feats(
    shape_before: str, shape: str, shape_after: str, q: int, has_q: int, end: bool, opening: int, position: int
) -> list[str]:
    """Features of the token's own shape, quoting and place in its sentence."""
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


def left_words(lw: str, lp: str, d: str) -> list[str]:
    """Features of the nearest cue word before the token (and the word before that cue)."""
    return ["Lw=" + lw, f"Lwd={lw}|{d}", f"Lp={lp}|{d}"]


def left_shape(d: str, q: int, shape: str, comma: int) -> list[str]:
    """Features of the token's distance from the cue before it, with its shape and quoting."""
    return [f"L={d}|{q}", f"Lsh={d}|{shape}", f"Lc={comma}|{shape}"]


def right_words(rw: str, rn: str, d: str, comma: int, opening: int) -> list[str]:
    """Features of the nearest cue word after the token (and the word after that cue)."""
    return ["Rw=" + rw, f"Rwd={rw}|{d}", f"Rn={rn}|{comma}", f"Rop={opening}|{d}|{rw}"]


def right_shape(d: str, q: int, shape: str, comma: int) -> list[str]:
    """Features of the token's distance from the cue after it, with its shape and quoting."""
    return [f"R={d}|{q}", f"Rc={comma}|{shape}", f"Rsh={d}|{shape}"]


def word_feats(word: str) -> list[str]:
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


def left_comma(words: Sequence[str], li: int, i: int) -> int:
    """1 if a comma lies between the cue before and the token, 2 when they are too far apart to look."""
    return int("," in words[li + 1 : i]) if i - li < 40 else 2


def right_comma(words: Sequence[str], i: int, ri: int) -> int:
    """1 if a comma lies between the token and the cue after it (1 too when they are far apart)."""
    return int("," in words[i + 1 : ri]) if ri - i < 40 else 1


def features(tokens: Sequence[Token], cue_words: frozenset[str]) -> list[list[str]]:
    """The feature names of every token of one window (what the trainer sees; tagging scores the same ones)."""
    win = window(tokens, cue_words)
    words, lower, shapes, quotes, padded = win.words, win.lower, win.shapes, win.quotes, win.padded
    shapes_padded = ["<s>", *shapes, "</s>"]
    result = []
    for i in range(len(words)):
        w = lower[i]
        q = quotes[i]
        own_shape = shapes[i]
        own, as_p1, as_p2 = word_feats(w), word_feats(padded[i + 1]), word_feats(padded[i])
        as_n1, as_n2 = word_feats(padded[i + 3]), word_feats(padded[i + 4])
        feats = [own[0], own[1], as_p1[2], as_p2[3], as_n1[4], as_n2[5], own[6 + q]]
        feats.append("pw=" + padded[i + 1] + "|" + w)
        feats.append("wn=" + w + "|" + padded[i + 3])
        feats += token_feats(
            shapes_padded[i],
            own_shape,
            shapes_padded[i + 2],
            q,
            win.has_quote[win.sentence[i]],
            win.ends[i],
            win.opening[i],
            i - win.starts[i],
        )
        li = win.left[i]
        if li >= 0:
            d = bucket(i - li)
            feats += left_words(lower[li], padded[li + 1], d) + left_shape(d, q, own_shape, left_comma(words, li, i))
        else:
            feats.append("L=none")
        ri = win.right[i]
        if ri >= 0:
            d = bucket(ri - i)
            comma = right_comma(words, i, ri)
            feats += right_words(lower[ri], padded[ri + 3], d, comma, win.opening[i]) + right_shape(
                d, q, own_shape, comma
            )
        else:
            feats.append("R=none")
        result.append(feats)
    return result
