"""Per-source memory: lines that recur on a source's pages are its boilerplate.

A publisher's tag line, its newsletter box and its standing teaser block come back on every
page; an article's sentences do not. The memory counts, for each source, on how many distinct
pages each line was seen, and calls a line boilerplate once it was seen on ``min_pages`` earlier
pages. Lines are kept as short hashes, so the memory of a source stays small and holds no text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

# A line is boilerplate once it appeared on this many earlier pages of the same source.
DEFAULT_MIN_PAGES = 2
# Most line hashes kept per source; the least seen are forgotten first.
MAX_LINES_PER_SOURCE = 20_000
# Lines shorter than this (in characters) are left to the cleaner's other rules: "Share",
# "Advertisement" or a lone date recur everywhere but are also too short to be worth a hash.
MIN_LINE_CHARS = 12


def line_key(line: str) -> str:
    """Stable short hash of a line, ignoring case and spacing."""
    squashed = " ".join(line.split()).lower()
    return hashlib.blake2b(squashed.encode("utf-8"), digest_size=8).hexdigest()


def source_key(url: str | None, fallback: str = "") -> str:
    """The memory's key for a page: its host without "www.", else the fallback (a source name)."""
    host = urlsplit(url).hostname if url else None
    if host:
        return host.removeprefix("www.")
    return fallback


class SourceMemory:
    """Line hashes of one source with the number of pages each was seen on."""

    def __init__(self, counts: Mapping[str, int] | None = None, min_pages: int = DEFAULT_MIN_PAGES) -> None:
        self.counts: dict[str, int] = dict(counts or {})
        self.min_pages = min_pages
        self.learned: dict[str, int] = {}  # what this run added, for the store

    def is_boilerplate(self, line: str) -> bool:
        """Whether the line was seen on enough earlier pages of this source."""
        if len(line.strip()) < MIN_LINE_CHARS:
            return False
        return self.counts.get(line_key(line), 0) >= self.min_pages

    def learn(self, lines: Iterable[str]) -> None:
        """Count one page's lines (each distinct line once)."""
        for key in {line_key(line) for line in lines if len(line.strip()) >= MIN_LINE_CHARS}:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.learned[key] = self.learned.get(key, 0) + 1
        if len(self.counts) > MAX_LINES_PER_SOURCE:
            ranked = sorted(self.counts.items(), key=lambda item: item[1], reverse=True)
            self.counts = dict(ranked[:MAX_LINES_PER_SOURCE])

    def __len__(self) -> int:
        return len(self.counts)


class MemoryBank:
    """Memories of several sources, created on first use."""

    def __init__(self, min_pages: int = DEFAULT_MIN_PAGES) -> None:
        self.min_pages = min_pages
        self.memories: dict[str, SourceMemory] = {}

    def for_source(self, key: str, counts: Mapping[str, int] | None = None) -> SourceMemory:
        """The memory of one source, seeded with stored counts the first time it is asked for."""
        if key not in self.memories:
            self.memories[key] = SourceMemory(counts, self.min_pages)
        return self.memories[key]

    def learned(self) -> dict[str, dict[str, int]]:
        """Per source, the line counts added since the memories were loaded."""
        return {key: memory.learned for key, memory in self.memories.items() if memory.learned}
