"""Text safe to store and show: what a source sends, cleaned once where it enters the run.

A feed can carry characters no reader should see and some stores refuse: NUL (PostgreSQL's
text columns reject it, and the digest files would carry it raw), other control characters,
bidi overrides and isolates that reorder the text around them (U+202E makes "txt.exe" read
"exe.txt"), zero-width characters and tag characters that hide words from the eye, lone
surrogates that no UTF-8 writer can encode. They are dropped here, in plain text and in the
numeric character references of HTML, so that every store and format gets the same text.

Entries are also capped in size (MAX_ENTRY_CHARS) and in paragraphs (MAX_ENTRY_PARAGRAPHS), and a
source in entries (MAX_ENTRIES_PER_SOURCE), so the work of every later stage is bounded by what
real articles need, whatever a feed sends.
"""

from __future__ import annotations

import re
from itertools import islice

# The largest feed HTML or flattened text of one entry, in characters. A long-read article is
# about 100 kB of HTML; whole web pages with their scripts rarely pass 1.5 MB.
MAX_ENTRY_CHARS = 1_000_000
# The most paragraphs (HTML block elements, or non-empty lines of flattened text) one entry keeps.
# A long article has a few hundred.
MAX_ENTRY_PARAGRAPHS = 2_000
# A title, an author or a source name longer than this is not one.
MAX_TITLE_CHARS = 1_000
# The most entries one source brings into a run (a feed keeps its newest; a text folder its first
# files by name): a feed within the size cap can carry tens of thousands of tiny entries, and every
# later stage works per entry.
MAX_ENTRIES_PER_SOURCE = 5_000
MAX_NAME_CHARS = 300

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Zero-width and invisible characters that carry no meaning in news text. The two joiners
# (U+200C, U+200D) are writing in Persian, Indic scripts and emoji sequences: they are judged by
# their neighbours below instead.
_INVISIBLE = "\u00ad\u180e\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\ufff9\ufffa\ufffb"
_JOINERS = "\u200c\u200d"


def _dropped_code_points() -> frozenset[int]:
    points = set(range(0x00, 0x20)) - {0x09, 0x0A, 0x0D}  # C0 controls, but tab and line ends
    points |= set(range(0x7F, 0xA0))  # DEL and the C1 controls
    points |= {ord(ch) for ch in _BIDI_CONTROLS + _INVISIBLE}
    points |= set(range(0xD800, 0xE000))  # surrogates: a lone one cannot be written as UTF-8
    points |= set(range(0xFDD0, 0xFDF0))  # noncharacters
    points |= {plane + last for plane in range(0, 0x110000, 0x10000) for last in (0xFFFE, 0xFFFF)}
    points |= set(range(0xE0000, 0xE0080))  # tag characters: invisible ASCII
    return frozenset(points)


_DROPPED = _dropped_code_points()
_TABLE: dict[int, int | None] = dict.fromkeys(_DROPPED)
_TABLE |= {0x2028: ord("\n"), 0x2029: ord("\n")}  # line and paragraph separators are line ends
_JOINER_RUN = re.compile(f"[{_JOINERS}]+")
_SPACES = re.compile(r"\s+")
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
# Named references to characters dropped above (HTML5 names; the semicolon is required for these).
_NAMED_INVISIBLE = re.compile(
    r"&(?:lrm|rlm|shy|ZeroWidthSpace|NegativeVeryThinSpace|NegativeThinSpace|NegativeMediumSpace|"
    r"NegativeThickSpace|NoBreak|InvisibleTimes|InvisibleComma|ApplyFunction|it|ic|af);"
)
# Where a paragraph of HTML starts: the block elements and line breaks the cleaning stage reads.
_HTML_BLOCK = re.compile(
    r"<(?:p|div|li|br|h[1-6]|tr|td|th|dd|dt|blockquote|pre|section|article|figure|table|ul|ol)\b", re.IGNORECASE
)


def _keep_joiners(match: re.Match[str]) -> str:
    """A run of joiners stays (as one) only between two characters that are not spaces."""
    text, start, end = match.string, match.start(), match.end()
    if start == 0 or end == len(text) or text[start - 1].isspace() or text[end].isspace():
        return ""
    return match.group(0)[0]


def safe_text(text: str) -> str:
    """Text without control, bidi, zero-width, tag or surrogate characters; tabs and line ends stay."""
    text = text.translate(_TABLE)
    if "\u200c" in text or "\u200d" in text:
        text = _JOINER_RUN.sub(_keep_joiners, text)
    return text


def safe_line(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """safe_text on one line: whitespace runs become one space, the ends are stripped, at most `limit` characters."""
    # Cut before cleaning too, so a megabyte "title" costs no more than a normal one.
    line = _SPACES.sub(" ", safe_text(text[: limit * 4])).strip()
    return line[:limit].rstrip()


def _reference(match: re.Match[str]) -> str:
    hex_digits, decimal = match.groups()
    point = int(hex_digits, 16) if hex_digits else int(decimal)
    if 0x80 <= point <= 0x9F:
        return match.group(0)  # HTML reads these as Windows-1252 (&#150; is an en dash)
    if point == 0 or point > 0x10FFFF or point in _DROPPED:
        return ""
    return match.group(0)


def safe_html(html: str) -> str:
    """safe_text on HTML, and numeric or named character references to dropped characters removed."""
    html = safe_text(html)
    if "&" not in html:
        return html
    html = _NUMERIC_REFERENCE.sub(_reference, html)
    return _NAMED_INVISIBLE.sub("", html)


def cap_html(
    html: str, max_chars: int = MAX_ENTRY_CHARS, max_paragraphs: int = MAX_ENTRY_PARAGRAPHS
) -> tuple[str, bool]:
    """HTML cut before its paragraph past `max_paragraphs` and within `max_chars`, between tags; and whether cut."""
    cut = len(html)
    past = next(islice(_HTML_BLOCK.finditer(html, 0, max_chars + 1), max_paragraphs, None), None)
    if past is not None:
        cut = past.start()
    if cut > max_chars:
        # Cut where a tag starts, so that no half tag is left at the end; near the cap, not far before it.
        tag = html.rfind("<", max(0, max_chars - 10_000), max_chars)
        cut = tag if tag > 0 else max_chars
    return (html, False) if cut >= len(html) else (html[:cut], True)


def cap_text(
    text: str, max_chars: int = MAX_ENTRY_CHARS, max_paragraphs: int = MAX_ENTRY_PARAGRAPHS
) -> tuple[str, bool]:
    """Flattened text cut after its `max_paragraphs`-th non-empty line and within `max_chars`; and whether cut."""
    head = text[:max_chars]
    kept, position = 0, 0
    while position < len(head):
        end = head.find("\n", position)
        end = len(head) if end < 0 else end
        if head[position:end].strip():
            kept += 1
            if kept == max_paragraphs:
                head = head[:end]
                break
        position = end + 1
    if len(head) < len(text) and len(head) == max_chars:
        # Cut at the last space, not inside a word.
        space = head.rfind(" ", max(0, max_chars - 1_000))
        head = head[:space] if space > 0 else head
    return (text, False) if len(head) >= len(text) else (head, True)
