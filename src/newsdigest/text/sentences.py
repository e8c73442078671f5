"""Sentences as every stage sees them: one splitter for claims, salience and the model backend.

The attribution tagger finds sentence ends among its own tokens (newsdigest.claims.tagger.tokens),
with the same abbreviation list, ABBREVIATIONS.
"""

from __future__ import annotations

import re

from newsdigest.text.wordlists import word_set

ABBREVIATIONS = word_set("abbreviations")
# An end stop, closing marks, spaces, then (maybe after an opening mark) the next sentence's first
# letter or digit; split_sentences checks that the letter is no lower-case one, in any script. CJK
# full stops end a sentence with no space after them.
_BOUNDARY = re.compile(
    r"([.!?\u2026\u061f\u0964][\"'\u201d\u2019\u00bb)\]]*)\s+(?=[\"'\u201c\u2018\u00ab\u201e(\[]?([^\W_]))"
    r"|([\u3002\uff01\uff1f][\u300d\u300f\u201d)\uff09]*)\s*(?=\S)"
    # Two sentences glued by a lost space ("on Wednesday.The stabbing"): a lower-case word's stop
    # right before a capitalised word (two letters each side, so "U.S." and "N.Y." stay whole).
    r"|(?<=[a-z\u00df-\u00ff]{2})([.!?])(?=[A-Z][a-z])"
)
MAX_SENTENCE_CHARS = 2_000
# Scripts written without spaces between words: characters per word, roughly, for word counts.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SOUTHEAST_ASIAN = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
CJK_CHARS_PER_WORD = 2
SOUTHEAST_ASIAN_CHARS_PER_WORD = 4


def word_count(text: str) -> int:
    """Words as a reader counts them, in any script.

    Spaced words count when they hold a letter or digit (a lone dash or stop is none); text in CJK
    or Thai, written without spaces, counts by characters.
    """
    cjk = len(_CJK.findall(text))
    southeast = len(_SOUTHEAST_ASIAN.findall(text))
    if not cjk and not southeast:
        return sum(1 for word in text.split() if any(char.isalnum() for char in word))
    spaced = _SOUTHEAST_ASIAN.sub(" ", _CJK.sub(" ", text)).split()
    spaced_words = sum(1 for word in spaced if any(char.isalnum() for char in word))
    return spaced_words + -(-cjk // CJK_CHARS_PER_WORD) + -(-southeast // SOUTHEAST_ASIAN_CHARS_PER_WORD)


def is_abbreviation(word: str) -> bool:
    """Whether a full stop after this word (given with or without the stop) ends no sentence."""
    return word.lower().rstrip(".") in ABBREVIATIONS


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, split on end punctuation but not after common abbreviations."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        closing = match.group(3) or match.group(4)
        if closing:
            sentences.append(paragraph[start : match.end()].strip())
            start = match.end()
            continue
        following = match.group(2)
        if following.isalpha() and following.lower() != following.upper() and not following.isupper():
            continue  # a lower-case letter goes on the same sentence ("e.g. this")
        end = match.end(1)
        before = paragraph[start:end].rstrip(".!?\"'\u201d\u2019)]").split()
        last_word = before[-1] if before else ""
        # A single letter is an initial ("Vann R. Newkirk"), not a sentence's last word.
        if is_abbreviation(last_word) or (len(last_word) == 1 and last_word.isalpha()):
            continue
        sentences.append(paragraph[start:end].strip())
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def paragraph_sentences(text: str) -> list[tuple[int, str]]:
    """(paragraph number, sentence) for every sentence of a text whose paragraphs are its lines.

    A paragraph is split only in its first 40,000 characters and longer sentences are dropped:
    a run-on text with no punctuation must not become one enormous "sentence".
    """
    found: list[tuple[int, str]] = []
    paragraphs = [p for p in text.split("\n") if p.strip()]
    for number, paragraph in enumerate(paragraphs):
        for sentence in split_sentences(paragraph[: MAX_SENTENCE_CHARS * 20]):
            if len(sentence) <= MAX_SENTENCE_CHARS:
                found.append((number, sentence))
    return found


def article_sentences(text: str) -> list[str]:
    """The sentences of an article, paragraph after paragraph."""
    return [sentence for _, sentence in paragraph_sentences(text)]
