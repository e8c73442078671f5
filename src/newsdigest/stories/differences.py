"""Where outlets differ: one story's outlets giving different figures for the same quantity.

A figure is a number with the word it counts ("11,000 troops", "14.2 million people"). Two outlets disagree
when they count the same word in the same setting (another content word of the sentence next to the figure
in both) with values close enough to be one quantity told two ways (at most MAX_RATIO apart, "11,000" and
"12,000", not "3 dead" and "40 hurt"), and neither outlet gives the other's value too. Only the first
LEAD_SENTENCES sentences of each article are read: the facts of the event, not its background.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsdigest.text.sentences import article_sentences
from newsdigest.text.wordlists import word_set

LEAD_SENTENCES = 6
MAX_RATIO = 1.5
MAX_NOTES = 2
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_FIGURE = re.compile(
    r"(?<![\w.,$€£-])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s+(thousand|million|billion|trillion))?\s+([a-z][a-z-]{2,})"
)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s+(thousand|million|billion|trillion))?")
_WORD = re.compile(r"[a-z][a-z-]{2,}")
# Counted words whose differing values are not one quantity: time spans, ages, ranks, units of measure.
_NOT_QUANTITIES = frozenset(
    [
        "years",
        "year",
        "months",
        "month",
        "weeks",
        "week",
        "days",
        "day",
        "hours",
        "hour",
        "minutes",
        "minute",
        "seconds",
        "second",
        "old",
        "times",
        "percent",
        "cent",
        "points",
        "point",
        "miles",
        "mile",
        "kilometres",
        "kilometers",
        "km",
        "feet",
        "metres",
        "meters",
        "inches",
        "degrees",
        "games",
        "matches",
        "goals",
        "runs",
        "yards",
    ]
)


@dataclass(frozen=True)
class Figure:
    """A counted quantity in one sentence: its value, the word it counts, the sentence's other content words."""

    value: float
    written: str
    unit: str
    context: frozenset[str]


def figures(text: str) -> list[Figure]:
    """The counted quantities of the text's first sentences."""
    stop = word_set("stopwords")
    found = []
    for sentence in article_sentences(text)[:LEAD_SENTENCES]:
        words = {word for word in _WORD.findall(sentence.lower()) if word not in stop}
        for number, scale, unit in _FIGURE.findall(sentence):
            if unit in stop or unit in _NOT_QUANTITIES or unit in _SCALES:
                continue
            value = float(number.replace(",", "")) * _SCALES.get(scale, 1.0)
            written = f"{number} {scale} {unit}" if scale else f"{number} {unit}"
            found.append(Figure(value, written, unit, frozenset(words - {unit})))
    return found


def numbers(text: str) -> set[float]:
    """Every number written in the text's first sentences, whatever follows it."""
    return {
        float(number.replace(",", "")) * _SCALES.get(scale, 1.0)
        for sentence in article_sentences(text)[:LEAD_SENTENCES]
        for number, scale in _NUMBER.findall(sentence)
    }


def differences(reports: Sequence[tuple[str, str]]) -> list[str]:
    """One line per quantity the outlets give differently: `reports` are (outlet, text), earliest first."""
    by_outlet: dict[str, list[Figure]] = {}
    values: dict[str, set[float]] = {}
    for outlet, text in reports:
        by_outlet.setdefault(outlet, []).extend(figures(text))
        values.setdefault(outlet, set()).update(numbers(text))
    notes: list[str] = []
    said: set[str] = set()
    outlets = list(by_outlet)
    for i, first in enumerate(outlets):
        for second in outlets[i + 1 :]:
            for left in by_outlet[first]:
                if left.unit in said:
                    continue
                for right in by_outlet[second]:
                    if not _differ(left, right, values[first], values[second]):
                        continue
                    notes.append(f"Figures differ: {first} gives {left.written}, {second} {right.written}.")
                    said.add(left.unit)
                    break
                if len(notes) >= MAX_NOTES:
                    return notes
    return notes


def _differ(left: Figure, right: Figure, left_values: set[float], right_values: set[float]) -> bool:
    if left.unit != right.unit or left.value == right.value or min(left.value, right.value) <= 0:
        return False
    if max(left.value, right.value) / min(left.value, right.value) > MAX_RATIO:
        return False
    if not left.context & right.context:
        return False  # the same word counted in different settings: "3 people died" and "5 people were hurt"
    # An outlet that writes the other's value too is telling two quantities (two quakes, an update), not
    # contradicting.
    return right.value not in left_values and left.value not in right_values
