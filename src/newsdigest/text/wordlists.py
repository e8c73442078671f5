"""Word lists as package data: one word (or phrase) a line in ``words/<name>.txt``, ``#`` starts a comment."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def word_list(name: str) -> tuple[str, ...]:
    """The entries of words/<name>.txt in file order (read once; order matters where a list becomes a regex)."""
    text = files(__package__ or "newsdigest.text").joinpath("words", f"{name}.txt").read_text(encoding="utf-8")
    entries = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(entry for entry in entries if entry)


def word_set(name: str) -> frozenset[str]:
    """The entries of words/<name>.txt as a set, for membership tests."""
    return frozenset(word_list(name))
