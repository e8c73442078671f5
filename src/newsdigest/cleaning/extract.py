"""Page extraction: the main text of an HTML page, split into its headline lines and its body.

trafilatura finds the main content block (its fast mode, without the readability/jusText
comparison). On the block it returns, rules of ours remove what it lets through on news pages:
the headline and standfirst at the top, link-only teasers, the page's own URL, furniture lines
and lines that recur across the same source's pages (:class:`~newsdigest.boilerplate.SourceMemory`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import trafilatura
from lxml.etree import _Element  # type: ignore[import-untyped]  # lxml ships no type information
from lxml.html import HtmlElement  # type: ignore[import-untyped]
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from newsdigest.cleaning.boilerplate import SourceMemory, line_key
from newsdigest.cleaning.flat import is_furniture

logger = logging.getLogger(__name__)

# Pages larger than this lose their scripts and styles first, then their tail: a news article's
# text never needs megabytes, and the parser's time grows with the input.
MAX_PAGE_CHARS = 2_000_000
# A fast-mode result shorter than this is compared with trafilatura's full mode (fallbacks on).
SHORT_RESULT_CHARS = 600
# The full mode's text replaces the fast one only when it is this many times longer.
FALLBACK_GAIN = 3.0
# Memory removal that would take more than this share of a body is skipped: the page is a
# republished copy of an earlier one, not a page made of boilerplate.
MAX_MEMORY_SHARE = 0.5

_HEAVY_BLOCKS = re.compile(r"<(script|style|svg|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_LOOKS_LIKE_URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_TITLE_PATHS = (
    '//meta[@property="og:title"]/@content',
    '//meta[@name="twitter:title"]/@content',
    "//title//text()",
    "//h1//text()",
)
_OWN_URL_PATHS = '//link[@rel="canonical"]/@href|//meta[@property="og:url"]/@content'


@dataclass(frozen=True)
class ExtractedPage:
    """A page's main text: the headline lines found above the body, and the body itself."""

    title: str
    lead: tuple[str, ...]
    body: str

    @property
    def full_text(self) -> str:
        """Headline lines and body together, as readers of the whole page see them."""
        return "\n".join([*self.lead, self.body]).strip()


@dataclass(frozen=True)
class _PageHints:
    """What the page says about itself before extraction: titles, own URLs and link texts."""

    titles: tuple[str, ...]
    own_urls: frozenset[str]
    link_texts: frozenset[str]


def _squash(text: str) -> str:
    """Lower-cased text with single spaces, for comparing lines."""
    return " ".join(text.split()).lower()


def _tokens(text: str) -> set[str]:
    """Lower-cased word tokens."""
    return {token.lower() for token in _WORD.findall(text)}


def is_title_like(line: str, title: str) -> bool:
    """A line that repeats a title: most of its words are the title's, and it covers half the title."""
    line_words, title_words = _tokens(line), _tokens(title)
    if not line_words or not title_words:
        return False
    shared = len(line_words & title_words)
    return shared / len(line_words) >= 0.8 and shared / len(title_words) >= 0.5


def _read_hints(tree: HtmlElement, url: str | None) -> _PageHints:
    """Titles, canonical URLs and the texts of links (three words or more) of a parsed page."""
    titles: list[str] = []
    for path in _TITLE_PATHS:
        titles.extend(str(value).strip() for value in tree.xpath(path)[:3] if str(value).strip())
    own = {_squash(str(value)) for value in tree.xpath(_OWN_URL_PATHS)}
    if url:
        own.add(_squash(url))
    links = set()
    for anchor in tree.iter("a"):
        text = _squash(anchor.text_content())
        if text.count(" ") >= 2:
            links.add(text)
    return _PageHints(titles=tuple(titles), own_urls=frozenset(own), link_texts=frozenset(links))


def _shrink(html: str | bytes) -> str | bytes:
    """Bound the work on a huge page: drop scripts and styles, then cut the tail."""
    if len(html) <= MAX_PAGE_CHARS:
        return html
    text = html if isinstance(html, str) else html.decode("utf-8", errors="replace")
    text = _HEAVY_BLOCKS.sub("", text)
    return text[:MAX_PAGE_CHARS]


def _block_text(element: _Element) -> str:
    """Plain text of one extracted block, as trafilatura's text output renders it."""
    return xmltotxt(element, False).strip()


def _run_trafilatura(tree: HtmlElement, url: str | None, fast: bool) -> _Element | None:
    """trafilatura's main-content XML body for a parsed page, or None."""
    document = trafilatura.bare_extraction(tree, url=url, fast=fast, include_comments=False)
    # as_dict is left False, so a result is a Document; the dict case only narrows the declared type.
    if document is None or isinstance(document, dict):
        return None
    body: _Element | None = document.body
    return body


def _is_junk(text: str, hints: _PageHints, memory: SourceMemory | None) -> bool:
    """A block that is not article text: the page's URL, a furniture line, a link-only teaser."""
    squashed = _squash(text)
    if squashed in hints.own_urls or is_furniture(text):
        return True
    # A paragraph that is the whole text of a link is a teaser; a bare URL cited in the text is kept.
    if squashed in hints.link_texts and not _LOOKS_LIKE_URL.match(squashed):
        return True
    return memory is not None and memory.is_boilerplate(text)


def _prune_lists(body: _Element, hints: _PageHints, memory: SourceMemory | None) -> None:
    """Remove lists whose every item is junk (share menus, related-article lists)."""
    for listing in list(body.iter("list")):
        items = list(listing.iter("item"))
        if items and all(_is_junk(_block_text(item), hints, memory) for item in items):
            parent = listing.getparent()
            if parent is not None:
                parent.remove(listing)


def _split_lead(blocks: list[_Element], texts: list[str], hints: _PageHints) -> int:
    """Number of leading blocks that are the headline, a heading under it, or the page's URL."""
    index, saw_title = 0, False
    # A kicker or section label ("World", "Analysis") may stand above the headline.
    for position in range(min(3, len(blocks))):
        if any(is_title_like(texts[position], title) for title in hints.titles):
            if all(len(text.split()) <= 4 for text in texts[:position]):
                index = position
            break
    while index < len(blocks):
        text = texts[index]
        is_title = index < 3 and any(is_title_like(text, title) for title in hints.titles)
        if not text or _squash(text) in hints.own_urls or is_title:
            saw_title = saw_title or is_title
        elif blocks[index].tag == "head" and (saw_title or index == 0):
            pass  # a standfirst set as a heading under the headline, or a heading before any text
        else:
            break
        index += 1
    return index


def _body_from(
    body: _Element, hints: _PageHints, memory: SourceMemory | None
) -> tuple[tuple[str, ...], str, list[str]]:
    """Apply the rules to trafilatura's body: (lead lines, body text, every block's text for memory)."""
    _prune_lists(body, hints, memory)
    blocks = list(body)
    texts = [_block_text(block) for block in blocks]
    lead_end = _split_lead(blocks, texts, hints)
    lead = tuple(text for text in texts[:lead_end] if text and _squash(text) not in hints.own_urls)
    keep = [False] * lead_end + [bool(text) for text in texts[lead_end:]]
    for index in range(lead_end, len(blocks)):
        if keep[index] and blocks[index].tag not in ("table", "list") and _is_junk(texts[index], hints, None):
            keep[index] = False
    if memory is not None:
        recurring = [i for i in range(lead_end, len(blocks)) if keep[i] and memory.is_boilerplate(texts[i])]
        kept_chars = sum(len(texts[i]) for i in range(len(blocks)) if keep[i])
        if sum(len(texts[i]) for i in recurring) <= MAX_MEMORY_SHARE * kept_chars:
            for index in recurring:
                keep[index] = False
    # Headings left at the end introduce something the extractor did not keep.
    last = len(blocks) - 1
    while last >= lead_end and (not keep[last] or blocks[last].tag == "head"):
        keep[last] = False
        last -= 1
    for block, kept in zip(blocks, keep, strict=True):
        if not kept:
            body.remove(block)
    seen_lines = [line for text in texts for line in text.split("\n") if line.strip()]
    return lead, xmltotxt(body, False).strip(), seen_lines


def extract_page(html: str | bytes, url: str | None = None, memory: SourceMemory | None = None) -> ExtractedPage:
    """Headline lines and body text of a page; empty when no text is found; never raises.

    With a memory, lines that recurred on the source's earlier pages are removed, and this
    page's lines are learned for the next ones.
    """
    try:
        html = _shrink(html)
        tree = load_html(html)
        if tree is None:
            return ExtractedPage(title="", lead=(), body="")
        hints = _read_hints(tree, url)
        body = _run_trafilatura(tree, url, fast=True)
        fast_chars = 0 if body is None else len(xmltotxt(body, False))
        if fast_chars < SHORT_RESULT_CHARS:
            # A short result is where trafilatura's slower comparison with other algorithms pays off;
            # it parses again because the fast run has pruned the first tree.
            fuller_tree = load_html(html)
            fuller = None if fuller_tree is None else _run_trafilatura(fuller_tree, url, fast=False)
            if fuller is not None and len(xmltotxt(fuller, False)) > FALLBACK_GAIN * fast_chars:
                body = fuller
        if body is None:
            return ExtractedPage(title=hints.titles[0] if hints.titles else "", lead=(), body="")
        lead, text, seen_lines = _body_from(body, hints, memory)
        if memory is not None:
            memory.learn(seen_lines)
        return ExtractedPage(title=hints.titles[0] if hints.titles else "", lead=lead, body=text)
    except Exception as error:  # noqa: BLE001 - a page that breaks the parser is an empty article, not a crash
        logger.warning("extraction failed for %s: %s", url or "a page", error)
        return ExtractedPage(title="", lead=(), body="")


def clean_page(html: str | bytes, url: str | None = None, memory: SourceMemory | None = None) -> str:
    """Main article text of a web page without its headline, or "" when none is found; never raises."""
    return extract_page(html, url, memory).body


__all__ = ["ExtractedPage", "SourceMemory", "clean_page", "extract_page", "is_title_like", "line_key"]
