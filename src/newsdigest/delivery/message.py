"""The digest as an email: subject, Message-ID, the HTML and text bodies under a size cap, the multipart message."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path

from jinja2 import Environment

from newsdigest.config.records import EmailSettings
from newsdigest.digest.render import (
    TITLE_LIMIT,
    bounded,
    clip,
    default_templates_dir,
    render_digest,
    safe_url,
    template_environment,
)
from newsdigest.errors import ConfigError
from newsdigest.models import Digest, Story

__all__ = ["HTML_LIMIT", "EmailBody", "build_message", "message_id", "render_email", "safe_url", "subject_for"]

HTML_LIMIT = 100_000  # bytes of HTML; Gmail clips a message whose HTML passes about 102 KB
EMAIL_ARTICLES = 6  # articles listed under a story in the email; the rest are counted, and in the full digest


def full_digest_link(settings: EmailSettings, digest_date: date) -> str | None:
    """The configured link to the whole digest, with {date} filled in."""
    if not settings.full_digest_url:
        return None
    return settings.full_digest_url.replace("{date}", digest_date.isoformat())


def _email_environment(templates: Path, timezone: str) -> Environment:
    # Every feed-supplied string is text, never markup: the email escapes everything.
    return template_environment(templates, timezone, escape_everything=True)


@dataclass(frozen=True)
class EmailBody:
    """The two alternatives of one digest mail, and how many stories they show."""

    html: str
    text: str
    shown: int
    total: int


def render_email(
    digest: Digest, full_url: str | None = None, limit: int = HTML_LIMIT, templates: Path | None = None
) -> EmailBody:
    """HTML and text for the mail; stories that would take the HTML past `limit` bytes are left to the full digest.

    Every field is bounded first (render.bounded), so no single title or claim can fill the mail.
    Stories go in best first while they fit; one that does not fit is left out and the next ones
    are still tried, so one oversized story cannot hide every story after it.
    """
    digest = bounded(digest)
    env = _email_environment(templates or default_templates_dir(), digest.timezone)
    template = env.get_template("email.html.j2")
    total = len(digest.stories)

    def html_for(stories: tuple[Story, ...]) -> str:
        return template.render(
            digest=digest,
            stories=stories,
            omitted=total - len(stories),
            full_url=safe_url(full_url),
            failed=digest.failed_sources,
            warned=[s for s in digest.sources if s.ok and s.warning],
            sources_ok=sum(1 for s in digest.sources if s.ok),
            article_limit=EMAIL_ARTICLES,
        )

    def size(stories: tuple[Story, ...]) -> int:
        return len(html_for(stories).encode("utf-8"))

    shown = digest.stories
    html = html_for(shown)
    if len(html.encode("utf-8")) > limit:
        shown = _fitting(digest.stories, size, limit)
        html = html_for(shown)
    text_digest = digest
    if len(shown) < total:
        where = f": {safe_url(full_url)}" if safe_url(full_url) else " in the digest's web and Markdown files"
        left = total - len(shown)
        more = f"{left} more {'story' if left == 1 else 'stories'} in the full digest{where}"
        text_digest = replace(digest, stories=shown, notes=(more, *digest.notes))
    text = render_digest(text_digest, templates=templates, formats=("txt",))["txt"]
    return EmailBody(html=html, text=text, shown=len(shown), total=total)


def _fitting(stories: tuple[Story, ...], size: Callable[[tuple[Story, ...]], int], limit: int) -> tuple[Story, ...]:
    """The stories, best first, that fit in `limit` bytes together; each one that would not fit is skipped.

    A story's cost is measured once, alone (its card, its line in the contents, its section heading),
    so choosing takes one render per story, not one per story per try; the choice is then checked
    whole and trimmed from the end while it does not fit (sections shared by several stories make
    the sum an overestimate, so this rarely loops).
    """
    empty = size(())
    costs = [size((story,)) - empty for story in stories]
    budget = limit - empty
    chosen: list[int] = []
    for index, cost in enumerate(costs):
        if cost <= budget:
            chosen.append(index)
            budget -= cost
    while chosen and size(tuple(stories[i] for i in chosen)) > limit:
        chosen.pop()
    return tuple(stories[i] for i in chosen)


def message_id(digest_date: date, recipient: str, sender: str) -> str:
    """The same Message-ID for the same digest and recipient on every try: receivers can fold a copy."""
    address = parseaddr(sender)[1] or sender
    domain = address.rpartition("@")[2] or "newsdigest.invalid"
    key = f"{digest_date.isoformat()}\n{recipient.strip().lower()}\n{address.lower()}"
    return f"<digest.{digest_date.isoformat()}.{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}>"


def subject_for(digest: Digest) -> str:
    """ "Title — 2025-04-16: 12 stories", on one line whatever the title holds."""
    count = len(digest.stories)
    title = clip(digest.title, TITLE_LIMIT)
    return f"{title} — {digest.digest_date.isoformat()}: {count} {'story' if count == 1 else 'stories'}"


def build_message(
    digest: Digest,
    settings: EmailSettings,
    recipient: str,
    *,
    now: datetime,
    body: EmailBody | None = None,
    msg_id: str | None = None,
) -> EmailMessage:
    """One recipient's message: multipart/alternative, text first and HTML last (the preferred one)."""
    if not settings.sender:
        raise ConfigError("[email] from is not set")
    body = body or render_email(digest, full_digest_link(settings, digest.digest_date))
    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = subject_for(digest)
    message["From"] = settings.sender
    message["To"] = recipient
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = msg_id or message_id(digest.digest_date, recipient, settings.sender)
    message["Auto-Submitted"] = "auto-generated"
    if settings.list_unsubscribe:
        message["List-Unsubscribe"] = f"<{settings.list_unsubscribe}>"
    message.set_content(body.text, subtype="plain", charset="utf-8")
    message.add_alternative(body.html, subtype="html", charset="utf-8")
    return message


def mask_address(address: str) -> str:
    """ "a…@example.com": enough for the owner to recognise, not a list of addresses for a public page."""
    local, _, domain = (parseaddr(address)[1] or address).partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"
