"""Where each table and key starts in a TOML file's text, so that a problem can name its line.

tomllib keeps no positions, so the text is scanned: table headers, `key =` lines (dotted and quoted keys
too), skipping what is inside strings, multi-line strings and arrays that span lines.
"""

from __future__ import annotations

import re

from newsdigest.config.schema import KeyPath, PathPart

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_lines(text: str) -> dict[KeyPath, int]:
    """Each table's and key's path -> the 1-based line it starts on; [[arrays]] count from 0 in the path."""
    found: dict[KeyPath, int] = {}
    counts: dict[KeyPath, int] = {}
    table: KeyPath = ()
    scanner = _ValueScanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.open:  # the rest of a multi-line string or array: no keys here
            scanner.feed(line)
            continue
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            array = stripped.startswith("[[")
            parts, _end = _parse_key(stripped, 2 if array else 1)
            if not parts:
                continue
            name = tuple(parts)
            if array:
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (*name, index)
            else:
                table = name
            for size in range(1, len(table) + 1):
                found.setdefault(table[:size], number)
            continue
        parts, end = _parse_key(stripped, 0)
        if not parts or not stripped[end:].lstrip().startswith("="):
            continue
        path = (*table, *parts)
        for size in range(len(table) + 1, len(path) + 1):
            found.setdefault(path[:size], number)
        scanner.feed(stripped[end:].lstrip()[1:])
    return found


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of the key at `path`, else of the nearest table around it that is in the file."""
    for size in range(len(path), 0, -1):
        if path[:size] in lines:
            return lines[path[:size]]
    return None


def _parse_key(text: str, start: int) -> tuple[list[PathPart], int]:
    """The parts of a (dotted, maybe quoted) key starting at `start`, and where the key ends."""
    parts: list[PathPart] = []
    position = start
    while True:
        while position < len(text) and text[position] in " \t":
            position += 1
        if position >= len(text):
            return [], position
        char = text[position]
        if char in "\"'":
            close = position + 1
            while close < len(text) and text[close] != char:
                close += 2 if char == '"' and text[close] == "\\" else 1
            if close >= len(text):
                return [], position
            parts.append(text[position + 1 : close])  # escapes kept as written: only matching needs the name
            position = close + 1
        else:
            match = _BARE_KEY.match(text, position)
            if not match:
                return [], position
            parts.append(match.group())
            position = match.end()
        while position < len(text) and text[position] in " \t":
            position += 1
        if position < len(text) and text[position] == ".":
            position += 1
            continue
        return parts, position


class _ValueScanner:
    """Follows a value across lines: inside a multi-line string, or inside brackets not yet closed."""

    def __init__(self) -> None:
        self.depth = 0  # unclosed [ and {
        self.string: str | None = None  # the delimiter of the multi-line string we are in

    @property
    def open(self) -> bool:
        """Whether the value goes on past the end of the line fed last."""
        return self.depth > 0 or self.string is not None

    def feed(self, text: str) -> None:
        """Take in one more line (or the part of it after `key =`)."""
        position = 0
        while position < len(text):
            if self.string is not None:
                if self.string == '"""' and text[position] == "\\":
                    position += 2
                    continue
                if text.startswith(self.string, position):
                    self.string = None
                    position += 3
                    continue
                position += 1
                continue
            char = text[position]
            if char == "#":
                return
            if text.startswith(('"""', "'''"), position):
                self.string = text[position : position + 3]
                position += 3
            elif char in "\"'":
                close = position + 1
                while close < len(text) and text[close] != char:
                    close += 2 if char == '"' and text[close] == "\\" else 1
                position = close + 1
            else:
                if char in "[{":
                    self.depth += 1
                elif char in "]}":
                    self.depth = max(0, self.depth - 1)
                position += 1
