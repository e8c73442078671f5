"""Per-source memory: lines that recur on a source's pages are its boilerplate.

A publisher's tag line, its newsletter box and its standing teaser block come back on every
page; an article's sentences do not. The memory counts, for each source, on how many distinct
pages each line was seen, and calls a line boilerplate once it was seen on ``min_pages`` earlier
pages. Lines are kept as short hashes, so the memory of a source stays small and holds no text.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

# A line is boilerplate once it appeared on this many earlier pages of the same source.
DEFAULT_MIN_PAGES = 2
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
    """Line hashes of one source with the number of pages each was seen on.

    The counts read from the store are a base that is never written to (several batches of one
    process may share it); the pages seen here are counted apart, in `learned`, for the store.
    """

    def __init__(self, counts: Mapping[str, int] | None = None, min_pages: int = DEFAULT_MIN_PAGES) -> None:
        self.stored: Mapping[str, int] = counts if counts is not None else {}
        self.min_pages = min_pages
        self.learned: dict[str, int] = {}  # what this memory added, for the store

    def pages_seen(self, key: str) -> int:
        """On how many pages the line with this hash was seen, stored and new together."""
        return self.stored.get(key, 0) + self.learned.get(key, 0)

    def is_boilerplate(self, line: str) -> bool:
        """Whether the line was seen on enough earlier pages of this source."""
        if len(line.strip()) < MIN_LINE_CHARS:
            return False
        return self.pages_seen(line_key(line)) >= self.min_pages

    def learn(self, lines: Iterable[str]) -> None:
        """Count one page's lines (each distinct line once)."""
        learned = self.learned
        for key in {line_key(line) for line in lines if len(line.strip()) >= MIN_LINE_CHARS}:
            learned[key] = learned.get(key, 0) + 1

    def __len__(self) -> int:
        return len(self.stored) + sum(1 for key in self.learned if key not in self.stored)


class StoredLineCache:
    """Recurring lines read from the store, shared by the batches a process cleans until the store changes.

    Reading a busy host's recurring lines for every batch costs more the bigger the store grows; the
    store only changes when the flow saves a chunk, so the flow hands each batch a revision (its run and
    the chunks saved so far), and a process reads a host again only when a newer revision arrives. A
    batch submitted before the latest save may see the newer lines, as it would have reading the store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: object = None
        self._revision = -1
        self._counts: dict[str, Mapping[str, int]] = {}

    def counts(
        self,
        run: object,
        revision: int,
        keys: Iterable[str],
        load: Callable[[list[str]], Mapping[str, Mapping[str, int]]],
    ) -> dict[str, Mapping[str, int]]:
        """Each key's stored counts (read-only), read through `load` for keys this revision has not read."""
        wanted = sorted(set(keys))
        with self._lock:
            if run != self._run or revision > self._revision:
                self._run, self._revision, self._counts = run, revision, {}
            missing = [key for key in wanted if key not in self._counts]
            if missing:
                loaded = load(missing)
                for key in missing:
                    self._counts[key] = MappingProxyType(dict(loaded.get(key, {})))
            return {key: self._counts[key] for key in wanted}


_PROCESS_LINES = StoredLineCache()


def process_line_cache() -> StoredLineCache:
    """The cache of stored lines that every cleaning batch of this process shares."""
    # Reached through a function: a task sent to another process (Dask) refers to it by name and
    # finds that process's own cache, instead of carrying a copy (and its lock) along.
    return _PROCESS_LINES


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
