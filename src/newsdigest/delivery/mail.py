"""Email delivery: the digest as a multipart message, sent over SMTP once per recipient through the outbox.

Exactly once, as far as SMTP allows. Each (digest date, recipient) has one outbox row and one deterministic
Message-ID. A run takes a row (pending -> claimed), opens the connection and gives the envelope, marks the
row `sending` just before the DATA command, and `sent` when the server accepted the message. A crash leaves
the row where it was:

- `claimed`: DATA never started, so the server has nothing; once the claim is older than CLAIM_TIMEOUT a
  later run sends it.
- `sending`: the server may or may not have the message. We do not send it again (at most once for a
  crash in that window of milliseconds); the row becomes `failed` with "delivery unconfirmed" and shows in
  the next digest's footer, so a person can check. A duplicate is the worse failure for a daily mail.

A temporary failure (4xx, connection refused, timeout) is retried with backoff and then left `pending` for
the next run; a permanent one (5xx, an untrusted certificate, STARTTLS or AUTH not offered) is `failed`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from newsdigest.config.settings import DEFAULT_SMTP_PORTS, Config, EmailSettings
from newsdigest.digest.render import default_templates_dir, render_digest, template_environment
from newsdigest.errors import ConfigError, NewsDigestError
from newsdigest.models import Claim, Digest, SourceStatus, Story, StoryArticle
from newsdigest.store import OutboxRow, Store

logger = logging.getLogger(__name__)

HTML_LIMIT = 100_000  # bytes of HTML; Gmail clips a message whose HTML passes about 102 KB
CLAIM_TIMEOUT = timedelta(minutes=15)  # far longer than one SMTP attempt: an older claim is a crashed run's
RETRY_DELAYS = (2.0, 10.0, 30.0)  # seconds before the 2nd, 3rd and 4th try of a temporary failure
SMTP_TIMEOUT = 30.0
PENDING_DAYS = 3  # a run also finishes deliveries of digests this many days back
UNCONFIRMED = "delivery unconfirmed: interrupted after the message was handed to the server; not resent"


class DeliveryError(NewsDigestError):
    """A digest cannot be mailed at all: nothing rendered for the date, or no usable server settings."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect; the password stays out of repr and logs."""

    host: str
    port: int
    security: str  # ssl, starttls or plain
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool = True
    timeout: float = SMTP_TIMEOUT


@dataclass(frozen=True)
class DeliveryReport:
    """How each recipient's delivery of one digest ended in this run."""

    digest_date: date
    outcomes: dict[str, str]  # recipient -> sent, already sent, pending, failed, in progress
    errors: dict[str, str] = field(default_factory=dict)


# --- the digest back from its JSON file -------------------------------------------------------------------


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def digest_from_dict(data: Mapping[str, Any]) -> Digest:
    """Rebuild a Digest from what the JSON format carries (render.digest_to_dict)."""
    stories = tuple(
        Story(
            story_id=item["id"],
            title=item["title"],
            is_update=item["is_update"],
            highlights=tuple(item.get("highlights", ())),
            section=item.get("section", ""),
            first_seen=_when(item["first_seen"]),
            latest=_when(item["latest"]),
            claims=tuple(
                Claim(
                    text=claim["text"],
                    kind=claim["kind"],
                    speaker=claim["speaker"],
                    speaker_role=claim["speaker_role"],
                    cue=claim["cue"],
                    claim_date=claim["date"],
                    score=claim["score"],
                    outlets=tuple(claim["outlets"]),
                )
                for claim in item["claims"]
            ),
            articles=tuple(
                StoryArticle(
                    article_id=article["id"],
                    source=article["source"],
                    title=article["title"],
                    url=article["url"],
                    published=_when(article["published"]),
                    duplicate_of=article["duplicate_of"],
                    is_new=article["new"],
                )
                for article in item["articles"]
            ),
        )
        for item in data["stories"]
    )
    return Digest(
        title=data["title"],
        digest_date=date.fromisoformat(data["date"]),
        generated_at=datetime.fromisoformat(data["generated_at"]),
        stories=stories,
        sources=tuple(
            SourceStatus(
                source=s["name"],
                ok=s["ok"],
                entries=s["entries"],
                new_articles=s["new_articles"],
                error=s["error"],
                warning=s["warning"],
            )
            for s in data["sources"]
        ),
        new_articles=data["new_articles"],
        timezone=data["timezone"],
        notes=tuple(data["notes"]),
    )


def load_digest(path: str | Path) -> Digest:
    """Read a digest written in the JSON format."""
    try:
        return digest_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeliveryError(f"cannot read the digest {path}: {exc}") from exc


# --- the message ------------------------------------------------------------------------------------------


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


# --- the server -------------------------------------------------------------------------------------------

_BLOCK_SECURITY = {"SSL": "ssl", "STARTTLS": "starttls", "INSECURE": "plain"}


def _load_credentials_block(name: str) -> Any:
    try:
        from prefect_email import EmailServerCredentials
    except ImportError:
        raise ConfigError(
            "[email] credentials_block needs the prefect-email package (pip install prefect-email)"
        ) from None
    try:
        return EmailServerCredentials.load(name)
    except Exception as exc:  # noqa: BLE001 - Prefect raises several kinds; the reason is what matters
        raise ConfigError(f"cannot load the EmailServerCredentials block {name!r}: {type(exc).__name__}") from None


def resolve_server(
    settings: EmailSettings,
    environ: Mapping[str, str] | None = None,
    load_block: Callable[[str], Any] | None = None,
) -> SmtpServer:
    """The SMTP server: the config and the environment first, then the credentials block, then defaults.

    The password comes from NEWSDIGEST_SMTP_PASSWORD, the variable named by password_env, or the block.
    """
    env = os.environ if environ is None else environ
    host: str | None = None
    port: int | None = None
    security: str | None = None
    user: str | None = None
    password: str | None = None
    verify = True
    if settings.credentials_block:
        block = (load_block or _load_credentials_block)(settings.credentials_block)
        server = block.smtp_server
        host = str(getattr(server, "value", server))
        smtp_type = block.smtp_type
        security = _BLOCK_SECURITY.get(getattr(smtp_type, "name", str(smtp_type)).upper())
        port = block.smtp_port or getattr(smtp_type, "value", None)
        user = block.username or None
        secret = block.password
        password = (secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret) or None
        verify = block.verify is not False
    security = settings.smtp_security or security or "starttls"
    host = settings.smtp_host or host or "localhost"
    port = settings.smtp_port or port or DEFAULT_SMTP_PORTS[security]
    user = settings.smtp_user or user
    from_env = env.get("NEWSDIGEST_SMTP_PASSWORD") or None
    if not from_env and settings.password_env:
        from_env = env.get(settings.password_env) or None
        if not from_env and not password:
            raise ConfigError(f"[email] password_env names {settings.password_env}, which is not set")
    password = from_env or password
    if user and not password:
        raise ConfigError("[email] smtp_user is set but no password: set password_env or NEWSDIGEST_SMTP_PASSWORD")
    if password and not user:
        raise ConfigError("an SMTP password is set but no smtp_user to log in with")
    return SmtpServer(host=host, port=int(port), security=security, username=user, password=password, verify=verify)


class SmtpTransport:
    """One SMTP connection: connect, secure, log in; then the envelope and the data as separate steps."""

    def __init__(self, server: SmtpServer, ssl_context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        if self.ssl_context is not None:
            return self.ssl_context
        if self.server.verify:
            return ssl.create_default_context()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def __enter__(self) -> SmtpTransport:
        server = self.server
        if server.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=self._context()
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        self._smtp = smtp
        smtp.ehlo()
        if server.security == "starttls":
            smtp.starttls(context=self._context())  # raises SMTPNotSupportedError when not offered
            smtp.ehlo()
        if server.username:
            if server.security == "plain" and server.host not in ("localhost", "127.0.0.1", "::1"):
                logger.warning("logging in to %s without TLS: the password crosses the network in clear", server.host)
            smtp.login(server.username, server.password or "")
        return self

    def envelope(self, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO; a refusal raises with the server's code."""
        smtp = self._require()
        code, reply = smtp.mail(sender)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})

    def data(self, payload: bytes) -> None:
        """The DATA command: the message is the server's once this returns."""
        code, reply = self._require().data(payload)  # a refusal after the final dot is returned, not raised
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def _require(self) -> smtplib.SMTP:
        if self._smtp is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        return self._smtp

    def __exit__(self, *exc_info: object) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


TransportFactory = Callable[[SmtpServer, "ssl.SSLContext | None"], Any]


def classify(exc: BaseException) -> tuple[bool, str]:
    """(temporary, reason) for an SMTP or network failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
        return 400 <= code < 500, _reply(code, reply)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500 or exc.smtp_code < 0, _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False, f"the server does not offer it: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False, f"the server's certificate is not trusted: {exc.verify_message}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return True, f"{type(exc).__name__}: {exc}"
    return False, f"{type(exc).__name__}: {exc}"


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


# --- delivery through the outbox ----------------------------------------------------------------------------


def _clean_error(reason: str, server: SmtpServer) -> str:
    if server.password:
        reason = reason.replace(server.password, "***")
    return reason[:500]


def deliver(
    digest: Digest,
    settings: EmailSettings,
    store: Store,
    server: SmtpServer,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    transport: TransportFactory = SmtpTransport,
    ssl_context: ssl.SSLContext | None = None,
    delays: Iterable[float] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
    claim_timeout: timedelta = CLAIM_TIMEOUT,
    after_send: Callable[[str], None] | None = None,
    html_limit: int = HTML_LIMIT,
    only: Iterable[str] | None = None,
) -> DeliveryReport:
    """Mail one digest to each configured recipient (of `only`, when given) at most once; see the module's docstring.

    `after_send` runs between the server's acceptance and the outbox's record (the tests crash there).
    """
    if not settings.sender:
        raise ConfigError("[email] from is not set")
    now = clock()
    wanted = None if only is None else set(only)
    recipients = [recipient for recipient in settings.to if wanted is None or recipient in wanted]
    ids = {recipient: message_id(digest.digest_date, recipient, settings.sender) for recipient in recipients}
    store.outbox_add(digest.digest_date, ids, now)
    body = render_email(digest, full_digest_link(settings, digest.digest_date), limit=html_limit)
    envelope_from = parseaddr(settings.sender)[1]
    outcomes: dict[str, str] = {}
    errors: dict[str, str] = {}
    waits = list(delays)
    for recipient in recipients:
        status, error = _deliver_one(
            digest,
            settings,
            store,
            server,
            recipient,
            body=body,
            envelope_from=envelope_from,
            clock=clock,
            transport=transport,
            ssl_context=ssl_context,
            waits=waits,
            sleep=sleep,
            claim_timeout=claim_timeout,
            after_send=after_send,
        )
        outcomes[recipient] = status
        if error:
            errors[recipient] = error
        logger.info("digest %s to %s: %s%s", digest.digest_date, recipient, status, f" ({error})" if error else "")
    return DeliveryReport(digest_date=digest.digest_date, outcomes=outcomes, errors=errors)


def _row(store: Store, digest_date: date, recipient: str) -> OutboxRow:
    (row,) = (r for r in store.outbox_rows(digest_date) if r.recipient == recipient)
    return row


def _deliver_one(
    digest: Digest,
    settings: EmailSettings,
    store: Store,
    server: SmtpServer,
    recipient: str,
    *,
    body: EmailBody,
    envelope_from: str,
    clock: Callable[[], datetime],
    transport: TransportFactory,
    ssl_context: ssl.SSLContext | None,
    waits: list[float],
    sleep: Callable[[float], None],
    claim_timeout: timedelta,
    after_send: Callable[[str], None] | None,
) -> tuple[str, str | None]:
    day = digest.digest_date
    row = _row(store, day, recipient)
    stale = row.claimed_at is not None and clock() - row.claimed_at > claim_timeout
    if row.status == "sent":
        return "already sent", None
    if row.status == "failed":
        return "failed", row.last_error
    if row.status == "sending":
        # A run died during DATA, or is in it now: the message may have arrived. Never send it twice.
        if stale and store.outbox_mark(day, recipient, "failed", clock(), expect=["sending"], error=UNCONFIRMED):
            return "failed", UNCONFIRMED
        return "in progress", None
    if row.status == "claimed" and not stale:
        return "in progress", None  # another run holds it; a dead run's claim expires

    for attempt in range(len(waits) + 1):
        if attempt:
            sleep(waits[attempt - 1])
            row = _row(store, day, recipient)
        if row.status not in ("pending", "claimed") or not store.outbox_claim(row, clock()):
            return "in progress", None
        # The outbox's Message-ID: the same on every try, even if `from` changed in between.
        message = build_message(digest, settings, recipient, now=clock(), body=body, msg_id=row.message_id)
        payload = message.as_bytes(policy=SMTP_POLICY)
        try:
            with transport(server, ssl_context) as connection:
                connection.envelope(envelope_from, recipient)
                if not store.outbox_mark(day, recipient, "sending", clock(), expect=["claimed"]):
                    return "in progress", None
                try:
                    connection.data(payload)
                except smtplib.SMTPResponseException as exc:
                    temporary, reason = classify(exc)  # the server answered: it did not take the message
                    reason = _clean_error(reason, server)
                    if not temporary:
                        store.outbox_mark(day, recipient, "failed", clock(), expect=["sending"], error=reason)
                        return "failed", reason
                    store.outbox_mark(day, recipient, "pending", clock(), expect=["sending"], error=reason)
                    continue
                except Exception as exc:  # noqa: BLE001 - no answer after DATA: the message may be there
                    reason = _clean_error(f"{UNCONFIRMED} ({classify(exc)[1]})", server)
                    store.outbox_mark(day, recipient, "failed", clock(), expect=["sending"], error=reason)
                    return "failed", reason
                if after_send is not None:
                    after_send(recipient)
                store.outbox_mark(day, recipient, "sent", clock(), expect=["sending"])
                return "sent", None
        except Exception as exc:  # noqa: BLE001 - before DATA: nothing reached the mailbox, safe to retry
            temporary, reason = classify(exc)
            reason = _clean_error(reason, server)
            if not temporary:
                store.outbox_mark(day, recipient, "failed", clock(), expect=["claimed"], error=reason)
                return "failed", reason
            store.outbox_mark(day, recipient, "pending", clock(), expect=["claimed"], error=reason)
            if attempt == len(waits):
                return "pending", reason
    row = _row(store, day, recipient)
    return row.status if row.status != "claimed" else "pending", row.last_error


# --- entry points for the flow and the command line ---------------------------------------------------------


def digest_json_path(config: Config, store: Store, digest_date: date) -> Path:
    """The JSON file of a date's rendered digest, as the store recorded it, else in the digest folder."""
    for name in store.digest_files(digest_date):
        if name.endswith(".json") and Path(name).is_file():
            return Path(name)
    fallback = config.digest.out_dir / f"{digest_date.isoformat()}.json"
    if fallback.is_file():
        return fallback
    raise DeliveryError(
        f"no digest for {digest_date.isoformat()} has been rendered; run `newsdigest run --date {digest_date}` first"
    )


def send_digest(
    config: Config,
    digest_date: date,
    *,
    environ: Mapping[str, str] | None = None,
    load_block: Callable[[str], Any] | None = None,
    **options: Any,
) -> DeliveryReport:
    """Mail a rendered digest to the configured recipients (or finish doing so); `options` go to deliver()."""
    if not config.email.enabled:
        raise DeliveryError("no recipients: set [email] to or NEWSDIGEST_EMAIL_TO")
    server = resolve_server(config.email, environ, load_block)
    store = Store.open(config.state)
    try:
        digest = load_digest(digest_json_path(config, store, digest_date))
        return deliver(digest, config.email, store, server, **options)
    finally:
        store.close()


def send_due(config: Config, digest_date: date, **options: Any) -> list[DeliveryReport]:
    """This date's digest, after any unfinished deliveries of the last PENDING_DAYS days' digests."""
    store = Store.open(config.state)
    try:
        earlier = {
            day: [row.recipient for row in store.outbox_rows(day, statuses=["pending", "claimed"])]
            for day in store.outbox_pending_dates(digest_date - timedelta(days=PENDING_DAYS), digest_date)
        }
    finally:
        store.close()
    reports = []
    # Earlier digests go only to whoever still waits for them: a recipient added since gets today's alone.
    for day, only in [*earlier.items(), (digest_date, None)]:
        try:
            reports.append(send_digest(config, day, only=only, **options))
        except DeliveryError as exc:
            if day == digest_date:
                raise
            logger.warning("cannot finish mailing the digest of %s: %s", day, exc)
    return reports


def mask_address(address: str) -> str:
    """ "a…@example.com": enough for the owner to recognise, not a list of addresses for a public page."""
    local, _, domain = (parseaddr(address)[1] or address).partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


def delivery_failure_notes(store: Store, digest_date: date) -> tuple[str, ...]:
    """Footer lines for deliveries that failed since the previous digest: what the next digest reports."""
    since = store.previous_digest_date(digest_date) or digest_date - timedelta(days=1)
    return tuple(
        f"Email of the {row.digest_date.isoformat()} digest to {mask_address(row.recipient)} failed: {row.last_error}"
        for row in store.outbox_failures(since, digest_date)
    )
