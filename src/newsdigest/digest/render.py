"""Rendering: a Digest becomes Markdown, HTML, plain text and JSON through the Jinja2 templates.

Every format shows the same bounded digest (`bounded`): whatever a feed sends, a field is one line
of single spaces and at most this long, cut at a word boundary with "…" (a word longer than the
limit is cut inside it):

    digest, story and article titles   TITLE_LIMIT    300 characters
    a story's summary, a note, a source's error or warning   SUMMARY_LIMIT  400 characters
    a claim                             CLAIM_LIMIT    1,000 characters
    an outlet, a speaker, a role, a section, a watch term, a claim's date   NAME_LIMIT  120 characters
    a link                              URL_LIMIT      2,000 characters; a longer one is dropped
    notes under one story               STORY_NOTES_LIMIT  5

The email, the archive page and the Atom feed apply the same limits to what they show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from newsdigest.digest.filters import term_pattern
from newsdigest.digest.formats import EXTENSIONS, output_format
from newsdigest.digest.jsonio import digest_to_dict
from newsdigest.models import Claim, Digest, SourceStatus, Story, StoryArticle

TITLE_LIMIT = 300
SUMMARY_LIMIT = 400
CLAIM_LIMIT = 1_000
NAME_LIMIT = 120
URL_LIMIT = 2_000
STORY_NOTES_LIMIT = 5
FEW_OUTLETS = 3  # a claim carried by up to this many outlets names them; by more, counts them
META_OUTLETS = 5  # a story's line names up to this many outlets, then "and N more"
SHORT_ROLE_WORDS = 3  # a role this short goes before the name, as a paper writes it: "Port director Ana Ruiz"

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
# Inline Markdown: characters CommonMark (or a common extension) may read as markup, escaped with a
# backslash; "<" becomes an entity, and so does "&" where it would start one, because Python-Markdown
# and other older renderers do not take a backslash before them.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#~])")
_MD_ENTITY_START = re.compile(r"&(?=#?\w+;)")
# At the start of a line these open a list, a quote, a setext heading underline or a thematic break;
# elsewhere in a line they are plain text ("!" matters only before "[", which is escaped).
_MD_BLOCK_START = re.compile(r"^(?:([-+=>])|(\d{1,9})([.)]))")
# Kept as they are in a Markdown link destination: what a URL may carry that no Markdown renderer
# reads there; everything else (spaces, quotes, <, >, parentheses, brackets, backslashes) is
# percent-encoded. Brackets stay only in the host, where an IPv6 address needs them.
_URL_SAFE = "/:?#@!$&*+,;=%"
_ARTICLES = ("the ", "a ", "an ")


def default_templates_dir() -> Path:
    """The digest_templates/ folder of this checkout, or the copy installed with the package."""
    checkout = Path(__file__).resolve().parents[3] / "digest_templates"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "digest_templates"


def clip(value: object, limit: int) -> str:
    """The text on one line of single spaces, at most `limit` characters, cut after a whole word with "…"."""
    text = _WHITESPACE.sub(" ", str(value)).strip()
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    # A word longer than half the limit is cut inside it: a 1 MB word must not empty the field.
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:") + "…"


def safe_url(value: str | None) -> str | None:
    """The URL if it is a plain web link of sane length; a feed's javascript: or data: link becomes no link."""
    if not value:
        return None
    url = _WHITESPACE.sub("%20", value.strip())  # a feed's unencoded space: the link still works
    if len(url) > URL_LIMIT:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _claim_bounded(claim: Claim) -> Claim:
    return replace(
        claim,
        text=clip(claim.text, CLAIM_LIMIT),
        speaker=clip(claim.speaker, NAME_LIMIT) if claim.speaker else claim.speaker,
        speaker_role=clip(claim.speaker_role, NAME_LIMIT) if claim.speaker_role else claim.speaker_role,
        cue=clip(claim.cue, NAME_LIMIT) if claim.cue else claim.cue,
        claim_date=clip(claim.claim_date, NAME_LIMIT) if claim.claim_date else claim.claim_date,
        outlets=tuple(clip(outlet, NAME_LIMIT) for outlet in claim.outlets),
    )


def _article_bounded(article: StoryArticle) -> StoryArticle:
    url = article.url.strip() if article.url else article.url
    return replace(
        article,
        title=clip(article.title, TITLE_LIMIT),
        source=clip(article.source, NAME_LIMIT),
        url=url if url is None or len(url) <= URL_LIMIT else None,
    )


def _story_bounded(story: Story) -> Story:
    return replace(
        story,
        title=clip(story.title, TITLE_LIMIT),
        summary=clip(story.summary, SUMMARY_LIMIT),
        notes=tuple(clip(note, SUMMARY_LIMIT) for note in story.notes[:STORY_NOTES_LIMIT]),
        section=clip(story.section, NAME_LIMIT),
        highlights=tuple(clip(term, NAME_LIMIT) for term in story.highlights),
        claims=tuple(_claim_bounded(claim) for claim in story.claims),
        articles=tuple(_article_bounded(article) for article in story.articles),
    )


def _status_bounded(status: SourceStatus) -> SourceStatus:
    return replace(
        status,
        source=clip(status.source, NAME_LIMIT),
        error=clip(status.error, SUMMARY_LIMIT) if status.error else status.error,
        warning=clip(status.warning, SUMMARY_LIMIT) if status.warning else status.warning,
    )


def bounded(digest: Digest) -> Digest:
    """The digest with every shown field on one line and within its limit (see the module docstring).

    Idempotent: a bounded digest read back from its JSON file comes out the same.
    """
    return replace(
        digest,
        title=clip(digest.title, TITLE_LIMIT),
        stories=tuple(_story_bounded(story) for story in digest.stories),
        sources=tuple(_status_bounded(status) for status in digest.sources),
        notes=tuple(clip(note, SUMMARY_LIMIT) for note in digest.notes),
    )


def md_escape(value: object) -> str:
    """Escape text for Markdown, so a feed's title cannot inject links, markup, HTML or block structure."""
    return _md_block_safe(_md_inline(_WHITESPACE.sub(" ", str(value)).strip()))


def _md_inline(text: str) -> str:
    escaped = _MD_SPECIAL.sub(r"\\\1", _MD_ENTITY_START.sub("&amp;", text))
    return escaped.replace("<", "&lt;")


def _md_block_safe(text: str) -> str:
    """Text that starts a line without opening a list, a heading underline or a break."""
    match = _MD_BLOCK_START.match(text)
    if not match:
        return text
    if match.group(1):
        return "\\" + text
    return f"{match.group(2)}\\{match.group(3)}{text[match.end() :]}"


def md_destination(url: str) -> str:
    """A URL as a CommonMark link destination that cannot end early or carry markup."""
    parts = urlsplit(url)
    host = url[: url.find(parts.netloc) + len(parts.netloc)] if parts.netloc else ""
    head = quote(host, safe=_URL_SAFE + "[]")
    return _MD_ENTITY_START.sub("%26", head + quote(url[len(host) :], safe=_URL_SAFE))


def md_link(text: object, url: str | None) -> str:
    """`[text](url)` for a web link, escaped for CommonMark; the escaped text alone for anything else."""
    link = safe_url(url)
    label = md_escape(text)
    return f"[{label}]({md_destination(link)})" if link else label


@dataclass(frozen=True)
class ClaimLine:
    """A claim as a digest shows it: who said it (when the line needs saying), the text, which outlets carry it."""

    text: str
    label: str  # "" when the text or the line before already says who
    outlets: str  # "" unless a few outlets of the story carry this claim and others do not
    is_new: bool


def _mentions(text: str, phrase: str) -> bool:
    return phrase.casefold() in text.casefold()


def _surname_in(text: str, speaker: str) -> bool:
    last = speaker.split()[-1] if speaker.split() else ""
    return len(last) > 2 and last[:1].isupper() and re.search(rf"(?<!\w){re.escape(last)}(?!\w)", text) is not None


def _same_speaker(one: str, other: str) -> bool:
    """Whether two speaker strings name one speaker: equal, or one a name of 2+ words ending the other.

    "Tomas Reyes" and "Head librarian Tomas Reyes" are one person; "Reyes" alone could be anyone.
    """
    a, b = one.casefold().split(), other.casefold().split()
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return short == long or (len(short) >= 2 and long[-len(short) :] == short)


def who(speaker: str, role: str | None) -> str:
    """A speaker as a paper introduces them: "Port director Ana Ruiz", or "Ana Ruiz, spokesperson for …"."""
    if not role or _mentions(speaker, role):
        name = speaker
    elif len(role.split()) <= SHORT_ROLE_WORDS and not role.endswith(")"):
        bare = next((role[len(a) :] for a in _ARTICLES if role.casefold().startswith(a)), role)
        name = f"{bare} {speaker}"
    else:
        name = f"{speaker}, {role}"
    return name[:1].upper() + name[1:]


def claim_label(claim: Claim, introduced: bool = False) -> str:
    """Who (and when, if the text does not say) for the start of a run of a speaker's claims; "" for a plain fact.

    A speaker met before in the story is named without the role again. Facts, figures and leads
    carry no label: "Lead" or "Figures" tell a reader nothing, and read as debris in another language.
    """
    if not claim.speaker:
        return ""
    label = who(claim.speaker, None if introduced else claim.speaker_role)
    if claim.claim_date and not _mentions(claim.text, claim.claim_date):
        label = f"{label}, {claim.claim_date}"
    return label


def outlet_names(outlets: Sequence[str], few: int = META_OUTLETS) -> str:
    """Up to `few` outlets by name, then "and N more"."""
    if len(outlets) <= few:
        return ", ".join(outlets)
    return f"{', '.join(outlets[: few - 1])} and {len(outlets) - few + 1} more"


def _needs_label(claim: Claim, met: str | None) -> bool:
    """Whether a run's first claim needs its speaker named: not when its text names them (and their role, at first)."""
    speaker = claim.speaker or ""
    if met is not None:
        return not (_mentions(claim.text, speaker) or _surname_in(claim.text, met) or _surname_in(claim.text, speaker))
    role = claim.speaker_role or ""
    # "Analyst Ana Ruiz of Grain Research" says the role "Analyst of Grain Research": word by word.
    said = set(_WORD.findall(f"{claim.text} {speaker}".casefold()))
    role_unsaid = any(word not in said for word in _WORD.findall(role.casefold()) if len(word) > 2)
    return not _mentions(claim.text, speaker) or role_unsaid


def _told_by_summary(claim: Claim, summary: str) -> bool:
    """Whether the summary already tells the claim, so its line would only repeat it.

    It does when it is the claim, or the claim's opening cut with "…" where the part cut off holds
    no figure (the claim's date aside) and the summary names the claim's speaker (assemble's
    story_summary adds them after a cut).
    """
    if not summary:
        return False
    text, told = " ".join(claim.text.split()), " ".join(summary.split())
    if text == told:
        return True
    stem, cut, _ = told.partition("…")
    stem = stem.rstrip()
    if not cut or len(stem) < 20 or not text.startswith(stem):
        return False
    rest = text[len(stem) :].replace(claim.claim_date or "\0", "")
    return not any(ch.isdigit() for ch in rest) and (not claim.speaker or _mentions(told, claim.speaker))


def claim_lines(story: Story) -> list[ClaimLine]:
    """The story's claims as lines: new ones first, the one its summary tells left out, speakers named once a run.

    A run is consecutive claims of one speaker: only its first line is labelled, and not even that
    when its text already names the speaker (and their role, the first time). A speaker met earlier
    in the story is named again by the shorter of the two names, without the role. A claim's outlets
    are shown when more than one carries it, unless every claim is carried by the same ones (a copied
    article), where they would repeat on every line.
    """
    told = [claim for claim in story.claims if _told_by_summary(claim, story.summary)]
    claims = sorted(
        (claim for claim in story.claims if claim not in told),
        key=lambda claim: not claim.is_new,  # stable: rank order within the new and the rest
    )
    uniform = (
        len({frozenset(claim.outlets) for claim in claims}) == 1 and len(claims[0].outlets) > 1 if claims else False
    )
    lines: list[ClaimLine] = []
    met_speakers = [claim.speaker for claim in told if claim.speaker]  # the summary named them
    previous: str | None = None
    for claim in claims:
        label = ""
        speaker = claim.speaker
        if speaker and not (previous and _same_speaker(previous, speaker)):
            met = next((name for name in met_speakers if _same_speaker(name, speaker)), None)
            if _needs_label(claim, met):
                if met is None:
                    label = claim_label(claim)
                else:
                    label = claim_label(replace(claim, speaker=min(met, speaker, key=len)), introduced=True)
            if met is None:
                met_speakers.append(speaker)
        previous = speaker
        outlets = ""
        if len(claim.outlets) > 1 and not uniform:
            count = len(claim.outlets)
            outlets = ", ".join(claim.outlets) if count <= FEW_OUTLETS else f"{count} outlets"
        lines.append(ClaimLine(text=claim.text, label=label, outlets=outlets, is_new=claim.is_new))
    return lines


def template_environment(templates: Path, timezone: str, *, escape_everything: bool = False) -> Environment:
    """The Jinja2 environment every template renders in: strict, with the digest's filters.

    HTML templates are autoescaped; `escape_everything` escapes every template (the email's).
    """
    zone = ZoneInfo(timezone)

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else "unknown time"

    def span(first: datetime | None, latest: datetime | None) -> str:
        """When a story ran: "15 Apr 12:00", "15 Apr 12:00–14:25" or "14 Apr 16:20 – 15 Apr 08:05"."""
        start, end = first or latest, latest or first
        if start is None or end is None:
            return "time unknown"
        start, end = start.astimezone(zone), end.astimezone(zone)
        day = f"{start.day} {start:%b %H:%M}"
        if start.replace(second=0, microsecond=0) == end.replace(second=0, microsecond=0):
            return day
        if start.date() == end.date():
            return f"{day}–{end:%H:%M}"
        return f"{day} – {end.day} {end:%b %H:%M}"

    env = Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=True
        if escape_everything
        else select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["md_link"] = md_link
    env.filters["safe_url"] = safe_url
    env.filters["localtime"] = localtime
    env.filters["span"] = span
    env.filters["claim_lines"] = claim_lines
    env.filters["outlet_names"] = outlet_names
    env.filters["mark_md"] = lambda text, terms: _md_block_safe(mark_terms(text, terms, _md_inline, "**{}**"))
    env.filters["mark_txt"] = lambda text, terms: mark_terms(text, terms, str, "*{}*")
    env.filters["mark_html"] = lambda text, terms: Markup(mark_terms(text, terms, _html_escape, "<mark>{}</mark>"))
    return env


def _html_escape(text: str) -> str:
    return str(escape(text))


def mark_terms(text: str, terms: Sequence[str], escape_text: Callable[[str], str], wrap: str) -> str:
    """Escape the text for its format and wrap every occurrence of a watch term (escaped too)."""
    spans = sorted(
        {(match.start(), match.end()) for term in terms for match in term_pattern(term).finditer(text) if match.end()}
    )
    pieces, position = [], 0
    for start, end in spans:
        if start < position:
            continue  # overlapping matches of two terms: the first one wins
        pieces.append(escape_text(text[position:start]))
        pieces.append(wrap.format(escape_text(text[start:end])))
        position = end
    pieces.append(escape_text(text[position:]))
    return "".join(pieces)


def render_digest(
    digest: Digest, templates: Path | None = None, formats: tuple[str, ...] = EXTENSIONS
) -> Mapping[str, str]:
    """The digest rendered in each requested format (by default every one in the table), keyed by extension."""
    digest = bounded(digest)
    env = template_environment(templates or default_templates_dir(), digest.timezone)
    context = {
        "digest": digest,
        "data": digest_to_dict(digest),
        "failed": digest.failed_sources,
        "warned": [s for s in digest.sources if s.ok and s.warning],
        "sources_ok": sum(1 for s in digest.sources if s.ok),
    }
    return {fmt: env.get_template(output_format(fmt).template).render(**context) for fmt in formats}
