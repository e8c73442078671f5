"""Text folders: a folder (or one file) of flattened article text, with optional JSON sidecars, as entries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from newsdigest.errors import FeedError
from newsdigest.models import FeedEntry, Source, SourceResult, Validators
from newsdigest.sources.feeds import parse_iso_date, web_link
from newsdigest.sources.fetch import Fetcher
from newsdigest.text.safe import MAX_ENTRIES_PER_SOURCE, MAX_ENTRY_CHARS


def read_text_source(source: Source, fetcher: Fetcher, validators: Validators | None = None) -> SourceResult:
    """Read a text-folder source from the local disk (the fetcher and validators are not needed)."""
    return SourceResult(source=source.name, ok=True, entries=tuple(read_text_folder(source.location, source.name)))


def read_text_folder(location: str, source: str) -> list[FeedEntry]:
    """Entries from a folder (or one file) of flattened article text, with optional JSON sidecars."""
    root = Path(location)
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix == ".txt" and p.is_file())[:MAX_ENTRIES_PER_SOURCE]
    elif root.is_file():
        files = [root]
    else:
        raise FeedError(f"no such file or folder: {root}")
    entries: list[FeedEntry] = []
    for path in files:
        with path.open("rb") as handle:
            # A UTF-8 character is at most four bytes: more than this could not survive the entry cap.
            raw = handle.read(MAX_ENTRY_CHARS * 4)
        text = raw.decode("utf-8", errors="replace")
        meta = _read_sidecar(path.with_suffix(".json"))
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), path.stem)
        title = str(meta.get("title") or _headline_from(first_line))
        entries.append(
            FeedEntry(
                source=str(meta.get("source") or source),
                guid=str(meta.get("id") or f"text:{path.name}:{hashlib.sha1(raw).hexdigest()[:16]}"),
                url=web_link(meta.get("url")),
                title=title,
                published=parse_iso_date(meta.get("published")),
                author=meta.get("author") if isinstance(meta.get("author"), str) else None,
                text=text,
            )
        )
    return entries


def _read_sidecar(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"unreadable metadata file {path.name}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _headline_from(line: str, max_words: int = 14) -> str:
    words = line.split()
    return " ".join(words[:max_words]) + ("..." if len(words) > max_words else "")
