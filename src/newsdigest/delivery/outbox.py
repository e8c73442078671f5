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
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from newsdigest.config.records import Config, EmailSettings
from newsdigest.delivery.message import (
    HTML_LIMIT,
    EmailBody,
    build_message,
    full_digest_link,
    mask_address,
    message_id,
    render_email,
)
from newsdigest.delivery.smtp import SmtpServer, SmtpTransport, TransportFactory, classify, resolve_server
from newsdigest.digest.jsonio import load_digest
from newsdigest.errors import ConfigError, DeliveryError
from newsdigest.models import Digest, OutboxRow
from newsdigest.store import Store

logger = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=15)  # far longer than one SMTP attempt: an older claim is a crashed run's
RETRY_DELAYS = (2.0, 10.0, 30.0)  # seconds before the 2nd, 3rd and 4th try of a temporary failure
PENDING_DAYS = 3  # a run also finishes deliveries of digests this many days back
UNCONFIRMED = "delivery unconfirmed: interrupted after the message was handed to the server; not resent"
DELIVERED = ("sent", "already sent")


@dataclass(frozen=True)
class DeliveryReport:
    """How each recipient's delivery of one digest ended in this run."""

    digest_date: date
    outcomes: dict[str, str]  # recipient -> sent, already sent, pending, failed, in progress
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every recipient has the digest, from this run or an earlier one."""
        return all(outcome in DELIVERED for outcome in self.outcomes.values())

    def lines(self) -> list[str]:
        """One "recipient: outcome (error)" line per recipient, for a terminal."""
        return [
            f"{recipient}: {outcome}" + (f" ({self.errors[recipient]})" if recipient in self.errors else "")
            for recipient, outcome in self.outcomes.items()
        ]


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
                    reason = server.redact(reason)
                    if not temporary:
                        store.outbox_mark(day, recipient, "failed", clock(), expect=["sending"], error=reason)
                        return "failed", reason
                    store.outbox_mark(day, recipient, "pending", clock(), expect=["sending"], error=reason)
                    continue
                except Exception as exc:  # noqa: BLE001 - no answer after DATA: the message may be there
                    reason = server.redact(f"{UNCONFIRMED} ({classify(exc)[1]})")
                    store.outbox_mark(day, recipient, "failed", clock(), expect=["sending"], error=reason)
                    return "failed", reason
                if after_send is not None:
                    after_send(recipient)
                store.outbox_mark(day, recipient, "sent", clock(), expect=["sending"])
                return "sent", None
        except Exception as exc:  # noqa: BLE001 - before DATA: nothing reached the mailbox, safe to retry
            temporary, reason = classify(exc)
            reason = server.redact(reason)
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
    with Store.open(config.state) as store:
        try:
            digest = load_digest(digest_json_path(config, store, digest_date))
        except ValueError as exc:
            raise DeliveryError(str(exc)) from exc
        # A run with another state store does not know what this configuration already sent: the digest
        # folder's ledger does (see sent_elsewhere), and such recipients count as already sent.
        adopted = sent_elsewhere(config, digest_date) & set(config.email.to)
        if adopted and config.email.sender:
            now = datetime.now(UTC)
            store.outbox_add(
                digest_date, {r: message_id(digest_date, r, config.email.sender) for r in sorted(adopted)}, now
            )
            for recipient in adopted:
                store.outbox_mark(digest_date, recipient, "sent", now, expect=["pending"])
        report = deliver(digest, config.email, store, server, **options)
        record_sent(config, digest_date, [r for r, outcome in report.outcomes.items() if outcome in DELIVERED])
        return report


# The digest folder's ledger of deliveries: `.sent/<date>.txt`, one "configuration id<TAB>recipient" line each.
# The outbox lives in the state store, so a run with another --state (the same configuration and digest
# folder) would send a date again; the ledger beside the digests it mails stops that. It cannot see a run
# with another digest folder, a configuration built in code (no file), or a crash between the server's
# acceptance and the ledger's line.
SENT_LEDGER = ".sent"


def config_identity(config: Config) -> str | None:
    """A short stable id of the configuration file (its resolved path); None for a configuration built in code."""
    if config.path is None:
        return None
    return hashlib.sha256(str(Path(config.path).resolve()).encode("utf-8")).hexdigest()[:16]


def _ledger(config: Config, digest_date: date) -> Path:
    return config.digest.out_dir / SENT_LEDGER / f"{digest_date.isoformat()}.txt"


def sent_elsewhere(config: Config, digest_date: date) -> set[str]:
    """Recipients the ledger says this configuration already mailed this date's digest to, from any store."""
    identity = config_identity(config)
    if identity is None:
        return set()
    try:
        lines = _ledger(config, digest_date).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()  # no ledger yet (or unreadable): the store's outbox alone decides
    return {recipient for who, _, recipient in (line.partition("\t") for line in lines) if who == identity}


def record_sent(config: Config, digest_date: date, recipients: Iterable[str]) -> None:
    """Add delivered recipients to the digest folder's ledger (appended lines; a failure only warns)."""
    identity = config_identity(config)
    new = sorted(set(recipients) - sent_elsewhere(config, digest_date)) if identity else []
    if not new:
        return
    path = _ledger(config, digest_date)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as ledger:  # O_APPEND: two runs' short lines do not interleave
            ledger.write("".join(f"{identity}\t{recipient}\n" for recipient in new))
    except OSError as exc:
        logger.warning("cannot record the delivery in %s: %s", path, exc.strerror or exc)


def send_due(config: Config, digest_date: date, **options: Any) -> list[DeliveryReport]:
    """This date's digest, after any unfinished deliveries of the last PENDING_DAYS days' digests."""
    with Store.open(config.state) as store:
        earlier = {
            day: [row.recipient for row in store.outbox_rows(day, statuses=["pending", "claimed"])]
            for day in store.outbox_pending_dates(digest_date - timedelta(days=PENDING_DAYS), digest_date)
        }
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


def is_unconfirmed(row: OutboxRow) -> bool:
    """Whether a failed row is a delivery interrupted during DATA: the message may have arrived."""
    return row.status == "failed" and (row.last_error or "").startswith(UNCONFIRMED.split(":", 1)[0])


def retry_failed(
    config: Config, digest_date: date, now: datetime | None = None, *, unconfirmed: Iterable[str] = ()
) -> list[str]:
    """Make a date's refused deliveries to configured recipients pending again; the recipients it reset.

    For a refusal since fixed: the next send_digest() mails them. An unconfirmed delivery may already be
    in the mailbox, so it is reset only for the recipients named in `unconfirmed` (someone checked that
    it did not arrive); it keeps its Message-ID, so a mail client that has the first copy can tell. The
    last error stays on the row until then.
    """
    moment = now or datetime.now(UTC)
    named = set(unconfirmed)
    reset: list[str] = []
    with Store.open(config.state) as store:
        for row in store.outbox_rows(digest_date, statuses=["failed"]):
            if row.recipient not in config.email.to:
                continue  # a recipient removed from the config stays failed: nobody wants it sent
            if is_unconfirmed(row) and row.recipient not in named:
                continue  # a second copy is worse than a missing one (see the module's docstring)
            marked = store.outbox_mark(
                digest_date, row.recipient, "pending", moment, expect=["failed"], error=row.last_error
            )
            if marked:
                reset.append(row.recipient)
    return reset


def unconfirmed_failures(config: Config, digest_date: date) -> list[str]:
    """Configured recipients of a date whose delivery is unconfirmed: retry_failed leaves them alone."""
    with Store.open(config.state) as store:
        rows = store.outbox_rows(digest_date, statuses=["failed"])
    return [row.recipient for row in rows if is_unconfirmed(row) and row.recipient in config.email.to]


def delivery_failure_notes(store: Store, digest_date: date) -> tuple[str, ...]:
    """Footer lines for deliveries that failed since the previous digest: what the next digest reports."""
    since = store.previous_digest_date(digest_date) or digest_date - timedelta(days=1)
    return tuple(
        f"Email of the {row.digest_date.isoformat()} digest to {mask_address(row.recipient)} failed: {row.last_error}"
        for row in store.outbox_failures(since, digest_date)
    )
