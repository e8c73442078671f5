"""Rendering: a Digest becomes Markdown, HTML, plain text and JSON through the Jinja2 templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from newsdigest.digest.filters import term_pattern
from newsdigest.models import Claim, Digest, Story

FORMATS = ("md", "html", "txt", "json")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def default_templates_dir() -> Path:
    """The digest_templates/ folder of this checkout, or the copy installed with the package."""
    checkout = Path(__file__).resolve().parents[3] / "digest_templates"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "digest_templates"


def md_escape(value: object) -> str:
    """Escape text for Markdown, so a feed's title cannot inject links, markup or HTML."""
    return _MD_SPECIAL.sub(r"\\\1", str(value))


def template_environment(templates: Path, timezone: str, *, escape_everything: bool = False) -> Environment:
    """The Jinja2 environment every template renders in: strict, with the digest's filters.

    HTML templates are autoescaped; `escape_everything` escapes every template (the email's).
    """
    zone = ZoneInfo(timezone)

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else "unknown time"

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
    env.filters["localtime"] = localtime
    env.filters["claim_label"] = claim_label
    env.filters["mark_md"] = lambda text, terms: mark_terms(text, terms, md_escape, "**{}**")
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


def claim_label(claim: Claim) -> str:
    """Who and when, for the start of a claim's line: "Andrii Cherniak (HUR spokesperson), April 15"."""
    parts: list[str] = []
    if claim.speaker:
        parts.append(f"{claim.speaker} ({claim.speaker_role})" if claim.speaker_role else claim.speaker)
    elif claim.kind == "figure":
        parts.append("Figures")
    elif claim.kind == "fact":
        parts.append("Key point")
    else:
        parts.append("Lead")
    if claim.claim_date:
        parts.append(claim.claim_date)
    return ", ".join(parts)


def _claim_dict(claim: Claim) -> dict[str, Any]:
    return {
        "text": claim.text,
        "kind": claim.kind,
        "speaker": claim.speaker,
        "speaker_role": claim.speaker_role,
        "cue": claim.cue,
        "date": claim.claim_date,
        "outlets": list(claim.outlets),
        "score": claim.score,
    }


def _story_dict(story: Story) -> dict[str, Any]:
    return {
        "id": story.story_id,
        "title": story.title,
        "is_update": story.is_update,
        "highlights": list(story.highlights),
        "section": story.section,
        "outlets": list(story.outlets),
        "outlet_count": len(story.outlets),
        "first_seen": story.first_seen.isoformat() if story.first_seen else None,
        "latest": story.latest.isoformat() if story.latest else None,
        "claims": [_claim_dict(claim) for claim in story.claims],
        "articles": [
            {
                "id": article.article_id,
                "source": article.source,
                "title": article.title,
                "url": article.url,
                "published": article.published.isoformat() if article.published else None,
                "duplicate_of": article.duplicate_of,
                "new": article.is_new,
            }
            for article in story.articles
        ],
    }


def digest_to_dict(digest: Digest) -> dict[str, Any]:
    """The digest as plain data: what the JSON format carries."""
    return {
        "title": digest.title,
        "date": digest.digest_date.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "timezone": digest.timezone,
        "new_articles": digest.new_articles,
        "story_count": len(digest.stories),
        "stories": [_story_dict(story) for story in digest.stories],
        "sources": [
            {
                "name": s.source,
                "ok": s.ok,
                "entries": s.entries,
                "new_articles": s.new_articles,
                "error": s.error,
                "warning": s.warning,
            }
            for s in digest.sources
        ],
        "notes": list(digest.notes),
    }


def render_digest(
    digest: Digest, templates: Path | None = None, formats: tuple[str, ...] = FORMATS
) -> Mapping[str, str]:
    """The digest rendered in each requested format, keyed by file extension."""
    env = template_environment(templates or default_templates_dir(), digest.timezone)
    context = {
        "digest": digest,
        "data": digest_to_dict(digest),
        "failed": digest.failed_sources,
        "warned": [s for s in digest.sources if s.ok and s.warning],
        "sources_ok": sum(1 for s in digest.sources if s.ok),
    }
    return {fmt: env.get_template(f"digest.{fmt}.j2").render(**context) for fmt in formats}
