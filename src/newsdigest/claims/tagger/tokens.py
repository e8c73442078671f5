"""Tokens with their offsets, the paragraph windows the tagger works on, and sentence ends among tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from newsdigest.text.sentences import ABBREVIATIONS

# Long paragraphs are tagged in windows: Viterbi is linear, but an unbroken 50,000-word text
# must not hold one huge lattice in memory, and no attribution spans more than a few sentences.
MAX_WINDOW = 400

_TOKEN = re.compile(r"\w+(?:[-'’.&]\w+)*|[^\w\s]")
OPEN_QUOTES = frozenset({"“", "‘"})
CLOSE_QUOTES = frozenset({"”"})
_STOPS = frozenset({".", "!", "?"})
_AFTER_STOP = frozenset({"”", '"', "’", "'", ")"})
# The shipped weights were trained with "U.N." ending a sentence; the tagger keeps that reading of
# the shared abbreviation list until it is retrained (otherwise the dev F1 moves, 0.7904 -> 0.7901).
_TRAINED_AS_SENTENCE_END = frozenset({"u.n"})


class Token(NamedTuple):
    """A token of the text with its character offsets."""

    text: str
    start: int
    end: int


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
        if j + 1 >= n or tokens[j + 1].text[0].isupper() or tokens[j + 1].text in OPEN_QUOTES:
            ends[j] = True
    if tokens:
        ends[-1] = True
    return ends


def _abbreviation(word: str) -> bool:
    """A title, a middle initial ("Vann R. Newkirk") or another abbreviation that does not end a sentence."""
    lower = word.lower()
    return (lower in ABBREVIATIONS and lower not in _TRAINED_AS_SENTENCE_END) or (len(word) == 1 and word.isupper())


def sentence_ids(ends: Sequence[bool]) -> list[int]:
    """The sentence index of every token, from sentence_ends."""
    ids = []
    current = 0
    for end in ends:
        ids.append(current)
        current += end
    return ids
