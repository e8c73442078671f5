"""The digest's output formats: the one table that rendering, the archive and `newsdigest open` read.

To add a format, add a row to FORMATS and its template digest_templates/digest.<extension>.j2; every run
then writes it, the archive links to it when `archive_link` is set, and `open --format` offers it when it
has a `viewer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Viewer = Literal["browser", "pager"]


@dataclass(frozen=True)
class OutputFormat:
    """One file format a digest is written in."""

    extension: str  # the file is <date>.<extension>; also the format's name everywhere
    template: str  # in the templates folder
    media_type: str
    archive_link: bool  # whether an archive row links to the file
    viewer: Viewer | None  # how `newsdigest open` shows it; None: it does not


# In the order the archive lists them: the web page first, the data last.
FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat("html", "digest.html.j2", "text/html", archive_link=True, viewer="browser"),
    OutputFormat("md", "digest.md.j2", "text/markdown", archive_link=True, viewer="pager"),
    OutputFormat("txt", "digest.txt.j2", "text/plain", archive_link=True, viewer="pager"),
    OutputFormat("json", "digest.json.j2", "application/json", archive_link=True, viewer=None),
)

EXTENSIONS: tuple[str, ...] = tuple(fmt.extension for fmt in FORMATS)
ARCHIVE_FORMATS: tuple[str, ...] = tuple(fmt.extension for fmt in FORMATS if fmt.archive_link)
OPEN_FORMATS: tuple[str, ...] = tuple(fmt.extension for fmt in FORMATS if fmt.viewer is not None)
_BY_EXTENSION = {fmt.extension: fmt for fmt in FORMATS}


def output_format(extension: str) -> OutputFormat:
    """The table's row for an extension; ValueError for a format the digest is not written in."""
    try:
        return _BY_EXTENSION[extension]
    except KeyError:
        raise ValueError(f"unknown digest format {extension!r}: one of {', '.join(EXTENSIONS)}") from None
