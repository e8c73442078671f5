"""The digest as an email: subject, Message-ID, the HTML and text bodies under a size cap, the multipart message."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment

from newsdigest.config.records import EmailSettings
from newsdigest.digest.render import default_templates_dir, render_digest, template_environment
from newsdigest.errors import ConfigError
from newsdigest.models import Digest

HTML_LIMIT = 100_000  # bytes of HTML; Gmail clips a message whose HTML passes about 102 KB


def safe_url(value: str | None) -> str | None:
    """The URL if it is a plain web link; a feed's javascript: or data: link becomes no link."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def full_digest_link(settings: EmailSettings, digest_date: date) -> str | None:
    """The configured link to the whole digest, with {date} filled in."""
    if not settings.full_digest_url:
        return None
    return settings.full_digest_url.replace("{date}", digest_date.isoformat())


def _email_environment(templates: Path, timezone: str) -> Environment:
    # Every feed-supplied string is text, never markup: the email escapes everything.
    env = template_environment(templates, timezone, escape_everything=True)
    env.filters["safe_url"] = safe_url
    return env


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
    """HTML and text for the mail; a digest too big for `limit` bytes of HTML is cut after a whole story."""
    env = _email_environment(templates or default_templates_dir(), digest.timezone)
    template = env.get_template("email.html.j2")
    total = len(digest.stories)

    def html_for(shown: int) -> str:
        return template.render(
            digest=digest,
            stories=digest.stories[:shown],
            omitted=total - shown,
            full_url=safe_url(full_url),
            failed=digest.failed_sources,
            warned=[s for s in digest.sources if s.ok and s.warning],
            sources_ok=sum(1 for s in digest.sources if s.ok),
        )

    html = html_for(total)
    shown = total
    if len(html.encode("utf-8")) > limit:
        low, high = 0, total - 1  # the largest count that fits: sizes grow with the count
        while low < high:
            middle = (low + high + 1) // 2
            if len(html_for(middle).encode("utf-8")) <= limit:
                low = middle
            else:
                high = middle - 1
        shown = low
        html = html_for(shown)
    text_digest = digest
    if shown < total:
        where = f": {safe_url(full_url)}" if safe_url(full_url) else " in the digest's web and Markdown files"
        more = f"{total - shown} more {'story' if total - shown == 1 else 'stories'} in the full digest{where}"
        text_digest = replace(digest, stories=digest.stories[:shown], notes=(more, *digest.notes))
    text = render_digest(text_digest, templates=templates, formats=("txt",))["txt"]
    return EmailBody(html=html, text=text, shown=shown, total=total)


def message_id(digest_date: date, recipient: str, sender: str) -> str:
    """The same Message-ID for the same digest and recipient on every try: receivers can fold a copy."""
    address = parseaddr(sender)[1] or sender
    domain = address.rpartition("@")[2] or "newsdigest.invalid"
    key = f"{digest_date.isoformat()}\n{recipient.strip().lower()}\n{address.lower()}"
    return f"<digest.{digest_date.isoformat()}.{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}>"


def subject_for(digest: Digest) -> str:
    """ "Title — 2025-04-16: 12 stories", on one line whatever the title holds."""
    count = len(digest.stories)
    title = " ".join(digest.title.split())
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
