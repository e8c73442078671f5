"""The figures, quotations and dates of a text, as written: what a claim must carry over verbatim."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\w.])[$€£¥]?\d[\d,.]*\d%?|(?<![\w.])[$€£¥]?\d%?(?![\w])")
_QUOTE = re.compile(r"[\"“]([^\"“”]{2,}?)[\"”]")
_DATE = re.compile(
    r"\b(?:on\s+)?((?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{1,2}"
    r"(?:,\s*\d{4})?|\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)(?:\s+\d{4})?)\b"
)
QUANTITY_WORDS = re.compile(
    r"\b(?:hundreds?|thousands?|millions?|billions?|trillions?|dozens?|percent|per cent|half|double|triple)\b",
    re.IGNORECASE,
)


def numbers_in(text: str) -> list[str]:
    """Numeric tokens as written: "11,000", "$20", "3.5%"."""
    return [m.group(0).rstrip(".,") for m in _NUMBER.finditer(text)]


def quotes_in(text: str) -> list[str]:
    """The quoted strings of a text, without their quotation marks."""
    return [m.group(1).strip() for m in _QUOTE.finditer(text)]


def date_of(sentence: str) -> str | None:
    """The first date or weekday a sentence gives, as written ("April 15", "Monday"), or None."""
    match = _DATE.search(sentence)
    return match.group(1) if match else None


def has_figures(sentence: str) -> bool:
    """Whether a sentence holds a number or a quantity word ("thousands", "half")."""
    return bool(numbers_in(sentence) or QUANTITY_WORDS.search(sentence))
