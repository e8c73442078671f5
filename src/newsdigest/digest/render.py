"""Rendering: a Digest becomes Markdown, HTML, plain text and JSON through the Jinja2 templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from newsdigest.digest.filters import term_pattern
from newsdigest.digest.formats import EXTENSIONS, output_format
from newsdigest.digest.jsonio import digest_to_dict
from newsdigest.models import Claim, Digest

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


def render_digest(
    digest: Digest, templates: Path | None = None, formats: tuple[str, ...] = EXTENSIONS
) -> Mapping[str, str]:
    """The digest rendered in each requested format (by default every one in the table), keyed by extension."""
    env = template_environment(templates or default_templates_dir(), digest.timezone)
    context = {
        "digest": digest,
        "data": digest_to_dict(digest),
        "failed": digest.failed_sources,
        "warned": [s for s in digest.sources if s.ok and s.warning],
        "sources_ok": sum(1 for s in digest.sources if s.ok),
    }
    return {fmt: env.get_template(output_format(fmt).template).render(**context) for fmt in formats}
