"""Sentences as every stage sees them: one splitter for claims, salience and the model backend.

The attribution tagger finds sentence ends among its own tokens (newsdigest.claims.tagger.tokens),
with the same abbreviation list, ABBREVIATIONS.
"""

from __future__ import annotations

import re

from newsdigest.text.wordlists import word_set

ABBREVIATIONS = word_set("abbreviations")
_BOUNDARY = re.compile(r"([.!?\u2026][\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u024f])")
MAX_SENTENCE_CHARS = 2_000


def is_abbreviation(word: str) -> bool:
    """Whether a full stop after this word (given with or without the stop) ends no sentence."""
    return word.lower().rstrip(".") in ABBREVIATIONS


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, split on end punctuation but not after common abbreviations."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
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
