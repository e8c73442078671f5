"""Cleaning: an HTML page, feed HTML or flattened text becomes article text without boilerplate."""

from __future__ import annotations

import re
import unicodedata

from bs4 import BeautifulSoup

from newsdigest.cleaning.boilerplate import SourceMemory
from newsdigest.text.sentences import word_count as count_words

# Lines that are page furniture wherever they appear in flattened text.
_FURNITURE = re.compile(
    r"""^(
        comments?(\s*\(\d+\))? | \d+\s+comments? | show\s+comments | log\s*in\s+to\s+comment |
        advertisement | sponsored( content)? | share( this( article| story)?)? | share\s+on\s+\w+ |
        (read|see)\s+(also|more|next)\b.* | related( articles| stories)?:? | more\s+from\b.* |
        subscribe( now)? | sign\s+up\b.* | follow\s+us\b.* | copy\s+link | print |
        (photo|image)\s*:.* | tags?:.* | topics?:.* | (facebook|twitter|x|linkedin|email|whatsapp)
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Lines that open with a promotion or a legal notice: what follows them on the line is the same kind.
_PROMO_START = re.compile(
    r"""^(
        click\s+here\b | tap\s+here\b | get\s.{0,60}\b(app|on\s+the\s+go)\b | download\s+(the|our)\s.{0,40}\bapp\b |
        follow\s+(us\b|@) | sign\s+up\s+(for|to|now)\b | subscribe\s+(to|now|for|here)\b |
        you\s+(may|might)\s+also\s+like |
        write\s+to\s.{1,80}\sat\s\S+@\S+ | (copyright|\u00a9)\s*(\u00a9\s*)?\d{4} | .*\ball\s+rights\s+reserved\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# A lower-case word part run straight into a capitalised name inside one token: "IndependentTim".
# Three lower-case letters first, so "McDonald", "iPhone" and "YouTube" are not bylines.
_GLUED_WORDS = re.compile(r"[a-z\u00df-\u00f6\u00f8-\u00ff]{3}[A-Z\u00c0-\u00d6\u00d8-\u00de][a-z]")
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")
# A line ending like this closes its sentence; anything else may continue on the next line.
_LINE_END = re.compile(r"[.!?\u2026:;][\"'\u201d\u2019)\]]*$")
_JOINS_WITHOUT_SPACE = frozenset(",.;:)!?%")
# What a non-prose line costs a run of prose, in words: a subhead or two inside an article costs
# less than a paragraph brings, a menu of twenty links costs more than an article can carry.
LABEL_PENALTY = 6
_BLOCK_TAGS = ("p", "li", "h1", "h2", "h3", "h4", "blockquote", "pre", "td")


def normalize_whitespace(text: str) -> str:
    """Unicode NFC, one space between words, one newline between paragraphs, no empty lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = (re.sub(r"[ \t\u00a0\u2009\u200b]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def is_prose(line: str) -> bool:
    """A line that reads as a sentence of running text rather than a label, headline or byline."""
    count = len(line.split())
    return (count >= 4 and bool(_SENTENCE_END.search(line))) or count >= 25


def is_glued_byline(line: str) -> bool:
    """A short line without sentence punctuation in which two names ran together ("OutletAuthor")."""
    words = line.split()
    return 1 <= len(words) <= 8 and not _SENTENCE_END.search(line) and bool(_GLUED_WORDS.search(line))


def is_furniture(line: str) -> bool:
    """A line that is a page's furniture: comments link, share prompt, advert label, promotion, legal notice."""
    stripped = line.strip()
    return bool(_FURNITURE.match(stripped)) or (len(stripped) < 400 and bool(_PROMO_START.match(stripped)))


def clean_text(text: str, memory: SourceMemory | None = None) -> str:
    """Clean flattened article text: keep the main run of prose, drop furniture, labels and teasers.

    The input may be a whole page flattened to text (menus, footer and all) or an article with
    a little boilerplate attached; with a memory, lines seen on the source's earlier pages go too.
    """
    all_lines = join_broken_lines(normalize_whitespace(text).split("\n"))
    lines = [
        line
        for line in all_lines
        if not is_furniture(line) and not is_glued_byline(line) and not (memory and memory.is_boilerplate(line))
    ]
    if memory is not None:
        memory.learn(all_lines)
    lines = _drop_label_runs(main_text_lines(lines))
    while lines and not is_prose(lines[-1]):
        lines.pop()
    lines = _drop_trailing_teasers(lines)
    start = 0
    # Labels and a headline before the first sentence are not part of the body.
    while start < len(lines) and not is_prose(lines[start]):
        start += 1
    return "\n".join(lines[start:])


def join_broken_lines(lines: list[str]) -> list[str]:
    """Rejoin a sentence that flattening broke at a link or an inline tag ("said\nthe minister\n, ...")."""
    joined: list[str] = []
    for line in lines:
        if joined and not _LINE_END.search(joined[-1]) and (line[0].islower() or line[0] in _JOINS_WITHOUT_SPACE):
            glue = "" if line[0] in _JOINS_WITHOUT_SPACE else " "
            joined[-1] = joined[-1] + glue + line
        else:
            joined.append(line)
    return joined


def main_text_lines(lines: list[str]) -> list[str]:
    """The runs of lines where prose outweighs labels: menus, footers and link lists fall outside them.

    Each prose line scores its word count, any other line a fixed penalty; every run whose best
    total reaches half the best run's is kept (an article split by an advert stays whole).
    """
    runs: list[tuple[int, int, int]] = []  # (peak total, start, end)
    start: int | None = None
    total = peak = peak_end = 0
    for index, line in enumerate(lines):
        score = len(line.split()) if is_prose(line) else -LABEL_PENALTY
        if start is None:
            if score > 0:
                start, total, peak, peak_end = index, score, score, index + 1
            continue
        total += score
        if total > peak:
            peak, peak_end = total, index + 1
        if total <= 0:
            runs.append((peak, start, peak_end))
            start = None
    if start is not None:
        runs.append((peak, start, peak_end))
    if not runs:
        return []
    best = max(run[0] for run in runs)
    return [line for peak, first, end in runs if peak >= best / 2 for line in lines[first:end]]


def _drop_label_runs(lines: list[str]) -> list[str]:
    """Drop runs of three or more non-prose lines between paragraphs: menus and link lists inside the text."""
    kept: list[str] = []
    pending: list[str] = []
    for line in lines:
        if is_prose(line):
            if len(pending) < 3:
                kept.extend(pending)
            pending = []
            kept.append(line)
        else:
            pending.append(line)
    return kept + (pending if len(pending) < 3 else [])


def _drop_trailing_teasers(lines: list[str]) -> list[str]:
    """Remove "headline + one-line summary" blocks at the end: related-article teasers."""
    while True:
        tail_start = len(lines)
        # Up to two short prose lines after a headline-like line close a teaser block.
        while tail_start > 0 and len(lines) - tail_start < 2 and is_prose(lines[tail_start - 1]):
            if len(lines[tail_start - 1].split()) > 45:
                break
            tail_start -= 1
        headline = tail_start - 1
        if (
            tail_start < len(lines)
            and headline > 0
            and not is_prose(lines[headline])
            and len(lines[headline].split()) >= 3
            and any(is_prose(line) for line in lines[:headline])
        ):
            lines = lines[:headline]
            while lines and not is_prose(lines[-1]):
                lines.pop()
            continue
        return lines


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, one block element a line (for feed HTML)."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "iframe", "form", "nav", "aside", "figure"]):
        tag.decompose()
    blocks = [
        node.get_text(" ", strip=True) for node in soup.find_all(_BLOCK_TAGS) if not node.find_parent(_BLOCK_TAGS)
    ]
    if any(blocks):
        return normalize_whitespace("\n".join(blocks))
    # Plain text in a feed is often hard-wrapped: line breaks inside it are spaces, blank lines paragraphs.
    for br in soup.find_all("br"):
        br.replace_with("\n\n")
    raw = soup.get_text()
    paragraphs = (" ".join(chunk.split()) for chunk in re.split(r"\n\s*\n", raw))
    return normalize_whitespace("\n".join(p for p in paragraphs if p))


def clean_feed_html(html: str, memory: SourceMemory | None = None) -> str:
    """Article text from a feed's HTML content or summary."""
    return clean_text(html_to_text(html), memory) if html.strip() else ""


def word_count(text: str) -> int:
    """Number of words, in any script (Japanese or Thai text has few spaces: text.sentences.word_count)."""
    return count_words(text)
