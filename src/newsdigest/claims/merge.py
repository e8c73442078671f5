"""One claim, several outlets: two outlets' sentences stating the same figures about the same thing become one.

"The council voted 7 to 2 to close the bridge" and "Councillors backed the bridge's closure by 7 votes to 2"
are one claim: every figure of one in the other (number words count as figures; an added age or date is
allowed), no other person or place (at least half the names of the one with fewer are in the other), a
word of what they are about in common and MIN_OVERLAP of all their words (compared by their first letters,
so "council" meets "councillors"). A sentence with a changed figure or another name is another claim,
however alike the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from newsdigest.models import Claim
from newsdigest.text.wordlists import word_set

STEM = 4  # letters a word is compared by ("vote" meets "voted", "clos" meets "closure")
MIN_SHARED_WORDS = 1  # words (not names) of what the claim is about, in both sentences
# Share of the two sentences' words (names included) in both: a sentence that restates an event's figures
# inside another statement ("was convicted of two counts" / "is charged with two counts") shares fewer.
MIN_OVERLAP = 0.15
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_TOKEN = re.compile(r"[A-Za-z][\w'’-]*|\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class _Facts:
    figures: frozenset[str]
    names: frozenset[str]
    stems: frozenset[str]


def _facts(text: str) -> _Facts:
    stop = word_set("stopwords")
    tokens = _TOKEN.findall(text)
    figures = {match.replace(",", "") for match in _FIGURE.findall(text)}
    names, stems = set(), set()
    for index, token in enumerate(tokens):
        low = token.lower()
        if low in _NUMBER_WORDS:
            figures.add(_NUMBER_WORDS[low])
        elif token[0].isupper() and index > 0 and low not in stop:
            names.add(low)
        elif token[0].isalpha() and len(low) > 3 and low not in stop:
            stems.add(low[:STEM])
    stems.update(name[:STEM] for name in names)
    return _Facts(frozenset(figures), frozenset(names), frozenset(stems))


def same_claim(left: str, right: str) -> bool:
    """Whether two sentences state the same figures about the same thing (see the module's rule)."""
    a, b = _facts(left), _facts(right)
    small, large = (a, b) if len(a.figures) <= len(b.figures) else (b, a)
    # Every figure of the sparer sentence in the other (an age or a date may be added, not changed).
    if not small.figures or not small.figures <= large.figures:
        return False
    if a.names and b.names:
        fewer, more = (a.names, b.names) if len(a.names) <= len(b.names) else (b.names, a.names)
        if 2 * len(fewer & more) < len(fewer):
            return False  # another person or place: another claim
    names = {name[:STEM] for name in a.names | b.names}
    if len((a.stems & b.stems) - names) < MIN_SHARED_WORDS:
        return False
    return len(a.stems & b.stems) >= MIN_OVERLAP * len(a.stems | b.stems)


def merge_paraphrases(claims: Sequence[Claim]) -> list[Claim]:
    """The claims with another outlet's restatement folded into the first one: its outlets added, its best score."""
    kept: list[Claim] = []
    for claim in claims:
        for index, earlier in enumerate(kept):
            if earlier.article_id != claim.article_id and same_claim(earlier.text, claim.text):
                outlets = tuple(dict.fromkeys((*earlier.outlets, *claim.outlets)))
                kept[index] = replace(earlier, outlets=outlets, score=max(earlier.score, claim.score))
                break
        else:
            kept.append(claim)
    return kept
