"""Email delivery against a real SMTP server on 127.0.0.1 (aiosmtpd): TLS, AUTH, the outbox, failures."""

from __future__ import annotations

import email
import json
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from bs4 import BeautifulSoup

from newsdigest.config.load import parse_config
from newsdigest.config.records import EmailSettings
from newsdigest.delivery.message import HTML_LIMIT, render_email, subject_for
from newsdigest.delivery.outbox import UNCONFIRMED, deliver, delivery_failure_notes
from newsdigest.delivery.smtp import SmtpServer, SmtpTransport, resolve_server
from newsdigest.digest.jsonio import digest_from_dict
from newsdigest.digest.render import render_digest
from newsdigest.errors import ConfigError
from newsdigest.models import Claim, Digest, Story, StoryArticle
from newsdigest.store import Store
from tests.test_render import EVIL, WHEN, _digest

PASSWORD = "s3cret-Pa55-for-tests"
USER = "digest"
ANA, BO = "ana@example.org", "bo@example.org"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=default_policy)  # type: ignore[return-value]


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps what it accepts; a test may queue refusals."""

    messages: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)  # answers to DATA before accepting again
    rcpt_replies: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        tls = server.transport.get_extra_info("ssl_object") is not None
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, tls, session.authenticated)
        self.messages.append(received)
        return "250 2.0.0 Accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpFixture:
    port: int
    mailbox: Mailbox
    client_context: ssl.SSLContext
    ca: trustme.CA
    security: str

    def settings(self, **changes: Any) -> EmailSettings:
        base = EmailSettings(
            to=(ANA, BO),
            sender="Morning digest <digest@news.example>",
            smtp_host="127.0.0.1",
            smtp_port=self.port,
            smtp_security=self.security,
            smtp_user=USER if self.security != "plain" else None,
            password_env="TEST_SMTP_PASSWORD" if self.security != "plain" else None,
            list_unsubscribe="mailto:unsubscribe@news.example",
            full_digest_url="https://news.example/digests/{date}.html",
        )
        return replace(base, **changes)

    def server(self, settings: EmailSettings | None = None) -> SmtpServer:
        return resolve_server(settings or self.settings(), {"TEST_SMTP_PASSWORD": PASSWORD})


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _serve(ca: trustme.CA, security: str) -> Iterator[SmtpFixture]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    mailbox = Mailbox()
    port = _free_port()
    options: dict[str, Any] = {}
    if security == "starttls":
        options = {"tls_context": server_context, "require_starttls": True, "auth_required": True}
    elif security == "ssl":
        # aiosmtpd counts only STARTTLS as TLS for AUTH; this whole connection is TLS from the first byte.
        options = {"ssl_context": server_context, "auth_required": True, "auth_require_tls": False}
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticator, ready_timeout=10, **options
    )
    controller.start()
    try:
        yield SmtpFixture(port, mailbox, client_context, ca, security)
    finally:
        controller.stop()


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[SmtpFixture]:
    """STARTTLS with a certificate of the test's own CA, AUTH required."""
    yield from _serve(ca, "starttls")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(str(tmp_path / "state.sqlite"))
    try:
        yield opened
    finally:
        opened.close()


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 4, 16, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


def _send(smtp: SmtpFixture, store: Store, digest: Digest | None = None, **options: Any) -> Any:
    settings = options.pop("settings", None) or smtp.settings()
    options.setdefault("sleep", lambda _seconds: None)
    options.setdefault("delays", (0.01, 0.02))
    return deliver(
        digest or _digest(), settings, store, smtp.server(settings), ssl_context=smtp.client_context, **options
    )


def _html_and_text(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content()


def test_each_recipient_gets_one_complete_message_over_starttls_with_auth(smtp: SmtpFixture, store: Store) -> None:
    report = _send(smtp, store)
    assert report.outcomes == {ANA: "sent", BO: "sent"}
    assert [m.rcpt_tos for m in smtp.mailbox.messages] == [[ANA], [BO]]
    assert all(m.tls and m.authenticated for m in smtp.mailbox.messages)
    ids = set()
    for received, recipient in zip(smtp.mailbox.messages, (ANA, BO), strict=True):
        assert received.mail_from == "digest@news.example"
        message = received.parsed()
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["To"] == recipient
        assert message["From"] == "Morning digest <digest@news.example>"
        assert message["Subject"] == "Digest — 2025-04-16: 1 story"
        assert message["Date"] and message["Message-ID"].endswith("@news.example>")
        assert message["List-Unsubscribe"] == "<mailto:unsubscribe@news.example>"
        ids.add(message["Message-ID"])
        html, text = _html_and_text(message)
        assert len(html.encode("utf-8")) < HTML_LIMIT
        assert 'href="https://a.example/1.html"' in html and 'href="https://b.example/2.html"' in html
        assert 'href="https://news.example/digests/2025-04-16.html"' in html  # the web copy
        assert "3,000" in html and "3,000" in text and "https://a.example/1.html" in text
        assert "HTTP 500" in html and "HTTP 500" in text  # the sources footer
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert " style=" in html  # inline CSS for clients that drop <style>
    assert len(ids) == 2, "each recipient's message has its own Message-ID"
    rows = store.outbox_rows(date(2025, 4, 16))
    assert [(r.recipient, r.status, r.attempts) for r in rows] == [(ANA, "sent", 1), (BO, "sent", 1)]
    assert {r.message_id for r in rows} == ids  # the outbox knows which message went out


def test_a_rerun_sends_nothing_again(smtp: SmtpFixture, store: Store) -> None:
    _send(smtp, store)
    report = _send(smtp, store)
    assert report.outcomes == {ANA: "already sent", BO: "already sent"}
    assert len(smtp.mailbox.messages) == 2


def test_a_crash_between_sending_and_recording_never_sends_twice(smtp: SmtpFixture, store: Store) -> None:
    clock = Clock()
    settings = smtp.settings(to=(ANA,))

    def die(_recipient: str) -> None:
        raise Crash

    with pytest.raises(Crash):
        _send(smtp, store, settings=settings, clock=clock, after_send=die)
    assert len(smtp.mailbox.messages) == 1
    (row,) = store.outbox_rows(date(2025, 4, 16))
    assert row.status == "sending"

    # A re-run at once may be racing a live run: it leaves the row alone.
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "in progress"}
    # A re-run later: the message may have arrived, so it is recorded as unconfirmed, not sent again.
    clock.now += timedelta(hours=1)
    report = _send(smtp, store, settings=settings, clock=clock)
    assert report.outcomes == {ANA: "failed"} and UNCONFIRMED in report.errors[ANA]
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "failed"}
    assert len(smtp.mailbox.messages) == 1, "the server got the message exactly once"
    (note,) = delivery_failure_notes(store, date(2025, 4, 17))
    assert "a…@example.org" in note and "unconfirmed" in note and ANA not in note


def test_a_crash_before_data_is_sent_by_a_later_run(smtp: SmtpFixture, store: Store) -> None:
    clock = Clock()
    settings = smtp.settings(to=(ANA,))

    class DiesInEnvelope(SmtpTransport):
        def envelope(self, sender: str, recipient: str) -> None:
            raise Crash

    with pytest.raises(Crash):
        _send(smtp, store, settings=settings, clock=clock, transport=DiesInEnvelope)
    assert store.outbox_rows()[0].status == "claimed" and not smtp.mailbox.messages
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "in progress"}
    clock.now += timedelta(minutes=20)  # the claim of the dead run has expired; DATA never began
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "sent"}
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "already sent"}
    assert len(smtp.mailbox.messages) == 1


def test_a_temporary_refusal_is_retried_with_backoff(smtp: SmtpFixture, store: Store) -> None:
    smtp.mailbox.data_replies.append("451 4.3.0 Mailbox busy, try again later")
    waits: list[float] = []
    report = _send(smtp, store, settings=smtp.settings(to=(ANA,)), sleep=waits.append, delays=(0.25, 1.0))
    assert report.outcomes == {ANA: "sent"}
    assert waits == [0.25]
    assert len(smtp.mailbox.messages) == 1
    (row,) = store.outbox_rows()
    assert row.status == "sent" and row.attempts == 2


def test_connection_refused_stays_pending_for_the_next_run(smtp: SmtpFixture, store: Store) -> None:
    closed = smtp.settings(to=(ANA,), smtp_port=_free_port())
    waits: list[float] = []
    report = _send(smtp, store, settings=closed, sleep=waits.append, delays=(0.1, 0.2, 0.4))
    assert report.outcomes == {ANA: "pending"} and "ConnectionRefused" in report.errors[ANA]
    assert waits == [0.1, 0.2, 0.4]
    (row,) = store.outbox_rows()
    assert (row.status, row.attempts) == ("pending", 4)
    assert store.outbox_pending_dates(date(2025, 4, 1), date(2025, 4, 30)) == [date(2025, 4, 16)]
    # The next run reaches the server.
    assert _send(smtp, store, settings=smtp.settings(to=(ANA,))).outcomes == {ANA: "sent"}
    assert len(smtp.mailbox.messages) == 1


def test_a_permanent_refusal_is_recorded_and_reported_in_the_next_digest(smtp: SmtpFixture, store: Store) -> None:
    smtp.mailbox.rcpt_replies[BO] = "550 5.1.1 No such user here"
    report = _send(smtp, store)
    assert report.outcomes == {ANA: "sent", BO: "failed"} and report.errors[BO].startswith("550")
    assert _send(smtp, store).outcomes == {ANA: "already sent", BO: "failed"}  # not retried
    assert [m.rcpt_tos for m in smtp.mailbox.messages] == [[ANA]]
    failed = [r for r in store.outbox_rows() if r.status == "failed"]
    assert [(r.recipient, r.attempts) for r in failed] == [(BO, 1)]
    # The next day's digest lists it in its footer, in every format.
    notes = delivery_failure_notes(store, date(2025, 4, 17))
    assert len(notes) == 1 and "b…@example.org" in notes[0] and "550 5.1.1 No such user here" in notes[0]
    next_digest = replace(_digest(), digest_date=date(2025, 4, 17), notes=notes)
    for fmt, text in render_digest(next_digest).items():
        assert "No such user" in text, fmt


def test_a_wrong_password_fails_without_showing_it(
    smtp: SmtpFixture, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = smtp.settings(to=(ANA,))
    good = smtp.server(settings)
    report = _send(smtp, store, settings=settings)
    assert report.outcomes == {ANA: "sent"}
    wrong = replace(good, password="not-" + PASSWORD)
    store2_day = replace(_digest(), digest_date=date(2025, 4, 17))
    report = deliver(store2_day, settings, store, wrong, ssl_context=smtp.client_context, sleep=lambda _s: None)
    assert report.outcomes == {ANA: "failed"} and report.errors[ANA].startswith("535")
    assert PASSWORD not in repr(good) and PASSWORD not in caplog.text
    for row in store.outbox_rows():
        assert PASSWORD not in json.dumps([row.last_error, row.message_id])


def test_an_untrusted_certificate_is_a_permanent_failure(smtp: SmtpFixture, store: Store) -> None:
    settings = smtp.settings(to=(ANA,))
    report = deliver(_digest(), settings, store, smtp.server(settings), sleep=lambda _s: None)  # system CAs only
    assert report.outcomes == {ANA: "failed"} and "certificate" in report.errors[ANA]
    assert not smtp.mailbox.messages


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_ssl_on_connect(ca: trustme.CA, store: Store) -> None:
    for fixture in _serve(ca, "ssl"):
        assert _send(fixture, store, settings=fixture.settings(to=(ANA,))).outcomes == {ANA: "sent"}
        assert fixture.mailbox.messages[0].tls and fixture.mailbox.messages[0].authenticated


def test_plain_relay_without_login(ca: trustme.CA, store: Store) -> None:
    for fixture in _serve(ca, "plain"):
        server = fixture.server()
        assert server.username is None and server.password is None and server.port == fixture.port
        assert _send(fixture, store).outcomes == {ANA: "sent", BO: "sent"}
        assert not fixture.mailbox.messages[0].tls


def _long_digest(stories: int) -> Digest:
    claims = tuple(
        Claim(text=f"Officials said {n * 1000} people took part in event {n}. " * 3, kind="lead") for n in range(5)
    )
    return replace(
        _digest(),
        stories=tuple(
            Story(
                story_id=f"s-{i}",
                title=f"Story number {i} about the city council's long budget debate",
                articles=tuple(
                    StoryArticle(
                        f"a{i}-{j}", f"Paper {j}", f"Article {j} of story {i}", f"https://p{j}.example/{i}", WHEN
                    )
                    for j in range(4)
                ),
                claims=claims,
                first_seen=WHEN,
                latest=WHEN,
            )
            for i in range(stories)
        ),
    )


def test_a_long_digest_is_cut_after_a_whole_story_with_a_link_to_the_rest(smtp: SmtpFixture, store: Store) -> None:
    digest = _long_digest(400)
    assert len(render_digest(digest, formats=("html",))["html"].encode()) > 3 * HTML_LIMIT
    report = _send(smtp, store, digest=digest, settings=smtp.settings(to=(ANA,)))
    assert report.outcomes == {ANA: "sent"}
    message = smtp.mailbox.messages[0].parsed()
    assert message["Subject"].endswith(": 400 stories")
    html, text = _html_and_text(message)
    assert len(html.encode("utf-8")) <= HTML_LIMIT
    shown = html.count('class="card"') - 1  # the last card is the "more" box
    assert 20 < shown < 400
    assert f"{400 - shown} more stories did not fit" in html
    assert 'href="https://news.example/digests/2025-04-16.html"' in html
    assert html.rstrip().endswith("</html>") and f"https://p3.example/{shown - 1}" in html
    assert f'https://p0.example/{shown}"' not in html  # the next story is left out whole
    assert f"{400 - shown} more stories in the full digest: https://news.example/digests/2025-04-16.html" in text
    # Without a web address the email still says where the rest is.
    body = render_email(digest, None)
    assert body.shown == shown and "They are in the full digest." in body.html


def test_feed_markup_and_links_are_text_in_the_email() -> None:
    evil = replace(
        _digest(),
        stories=(
            Story(
                story_id="s-x",
                title=EVIL,
                articles=(StoryArticle("a", "Paper A", EVIL, "javascript:alert(3)", WHEN),),
                claims=(Claim(text=f"She said {EVIL}.", kind="lead"),),
                first_seen=WHEN,
                latest=WHEN,
            ),
        ),
    )
    html = render_email(evil, "https://news.example/").html
    assert "<script>" not in html and "<img" not in html and "javascript:" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3


def test_a_megabyte_title_is_cut_and_every_story_still_fits() -> None:
    huge = "headline " * 120_000  # about 1 MB
    digest = replace(_long_digest(3), title=huge)
    digest = replace(digest, stories=(replace(digest.stories[0], title=huge), *digest.stories[1:]))
    body = render_email(digest, "https://news.example/full")
    assert body.shown == body.total == 3
    assert len(body.html.encode("utf-8")) <= HTML_LIMIT and "Nothing new" not in body.text
    assert all(f"https://p0.example/{i}" in body.html and f"https://p0.example/{i}" in body.text for i in range(3))
    assert "headline headline…" in body.html and len(subject_for(digest)) < 400


def test_one_oversized_story_is_left_out_and_the_stories_after_it_are_not() -> None:
    digest = _long_digest(5)
    wordy = tuple(Claim(f"Claim {n}: " + "a long clause, " * 80, kind="fact") for n in range(150))
    big = replace(digest.stories[1], claims=wordy)  # far past the cap even with every field cut
    digest = replace(digest, stories=(digest.stories[0], big, *digest.stories[2:]))
    body = render_email(digest, None)
    assert (body.shown, body.total) == (4, 5)
    assert 'id="story-s-1"' not in body.html and all(f'id="story-s-{i}"' in body.html for i in (0, 2, 3, 4))
    assert "1 more story did not fit" in body.html and "1 more story in the full digest" in body.text


def test_the_email_opens_with_the_contents_of_what_it_shows() -> None:
    body = render_email(replace(_long_digest(400)), "https://news.example/full")
    soup = BeautifulSoup(body.html, "html.parser")
    toc = [a["href"] for a in soup.select(".toc a")]
    assert len(toc) == body.shown and all(soup.find(id=href.removeprefix("#")) for href in toc)
    assert f"and {body.total - body.shown} more in the full digest" in soup.select_one(".toc").get_text()


def test_the_json_digest_round_trips(tmp_path: Path) -> None:
    original = replace(_digest(), notes=("a note",))
    assert digest_from_dict(json.loads(render_digest(original, formats=("json",))["json"])) == original


def test_config_email_table_and_environment_overrides(tmp_path: Path) -> None:
    raw = {
        "email": {
            "smtp_host": "smtp.example.com",
            "smtp_port": 465,
            "smtp_security": "ssl",
            "smtp_user": "me@example.com",
            "password_env": "MY_APP_PASSWORD",
            "from": "Digest <me@example.com>",
            "to": ["me@example.com", "you@example.com"],
            "list_unsubscribe": "leave@example.com",
        }
    }
    config = parse_config(raw, tmp_path)
    assert config.email.enabled and config.email.to == ("me@example.com", "you@example.com")
    assert config.email.list_unsubscribe == "mailto:leave@example.com"
    server = resolve_server(config.email, {"MY_APP_PASSWORD": "pw"})
    assert (server.host, server.port, server.security, server.username) == (
        "smtp.example.com",
        465,
        "ssl",
        "me@example.com",
    )
    assert "pw" not in repr(server)

    env = {
        "NEWSDIGEST_SMTP_HOST": "relay.local",
        "NEWSDIGEST_SMTP_PORT": "25",
        "NEWSDIGEST_SMTP_SECURITY": "plain",
        "NEWSDIGEST_SMTP_USER": "relay",
        "NEWSDIGEST_EMAIL_FROM": "relay@example.net",
        "NEWSDIGEST_EMAIL_TO": "a@example.net, b@example.net",
        "NEWSDIGEST_SMTP_PASSWORD": "from-env",
    }
    overridden = parse_config(raw, tmp_path, environ=env).email
    assert (overridden.smtp_host, overridden.smtp_port, overridden.smtp_security) == ("relay.local", 25, "plain")
    assert overridden.to == ("a@example.net", "b@example.net") and overridden.sender == "relay@example.net"
    assert resolve_server(overridden, env).password == "from-env"
    # Nothing configured: no email at all.
    assert not parse_config({}, tmp_path).email.enabled
    assert parse_config(
        {}, tmp_path, environ={"NEWSDIGEST_EMAIL_TO": "x@example.net", "NEWSDIGEST_EMAIL_FROM": "y@example.net"}
    ).email.enabled


@pytest.mark.parametrize(
    ("email_table", "environ", "match"),
    [
        ({"password": "hunter2"}, {}, "password in clear"),
        ({"smtp_password": "hunter2"}, {}, "password in clear"),
        ({"smtp_security": "tls"}, {}, "ssl, starttls or plain"),
        ({"to": ["not an address"], "from": "a@example.com"}, {}, "email address"),
        ({"to": ["a@example.com"]}, {}, "from is needed"),
        ({"smtp_port": 70000}, {}, "between 1 and 65535"),
        ({}, {"NEWSDIGEST_SMTP_PORT": "twenty-five"}, "NEWSDIGEST_SMTP_PORT"),
        ({"full_digest_url": "ftp://x"}, {}, "http"),
        ({"smtp_hots": "x"}, {}, "smtp_hots"),
    ],
)
def test_config_email_mistakes(
    tmp_path: Path, email_table: dict[str, Any], environ: dict[str, str], match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        parse_config({"email": email_table}, tmp_path, environ=environ)
    assert "hunter2" not in str(caught.value)


def test_missing_password_variable_is_a_config_error(tmp_path: Path) -> None:
    settings = EmailSettings(to=(ANA,), sender=ANA, smtp_user="u", password_env="NOT_SET_ANYWHERE")
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        resolve_server(settings, {})


def test_credentials_block_supplies_the_server(tmp_path: Path) -> None:
    from prefect_email import EmailServerCredentials

    block = EmailServerCredentials(
        username="blockuser", password="block-secret", smtp_server="mail.example.com", smtp_type="STARTTLS"
    )
    settings = EmailSettings(to=(ANA,), sender=ANA, credentials_block="digest-smtp")
    server = resolve_server(settings, {}, load_block={"digest-smtp": block}.__getitem__)
    assert (server.host, server.port, server.security, server.username) == (
        "mail.example.com",
        587,
        "starttls",
        "blockuser",
    )
    assert server.password == "block-secret" and "block-secret" not in repr(server)
    # The config (or the environment) still wins over the block, field by field.
    server = resolve_server(replace(settings, smtp_port=2525), {}, load_block={"digest-smtp": block}.__getitem__)
    assert server.port == 2525 and server.host == "mail.example.com"


@pytest.mark.slow
def test_the_daily_flow_mails_the_digest_once_and_send_completes_it(
    prefect_harness: None,
    smtp: SmtpFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from newsdigest.cli import main
    from newsdigest.flow import daily_digest
    from tests.conftest import SEEDS

    ca_file = tmp_path / "ca.pem"
    smtp.ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the system's default context trusts the test CA
    for key, value in {
        "NEWSDIGEST_SMTP_HOST": "127.0.0.1",
        "NEWSDIGEST_SMTP_PORT": str(smtp.port),
        "NEWSDIGEST_SMTP_SECURITY": "starttls",
        "NEWSDIGEST_SMTP_USER": USER,
        "NEWSDIGEST_SMTP_PASSWORD": PASSWORD,
        "NEWSDIGEST_EMAIL_FROM": "Morning digest <digest@news.example>",
        "NEWSDIGEST_EMAIL_TO": f"{ANA},{BO}",
    }.items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.INFO)
    args = {"config_path": str(SEEDS / "sources.toml"), "out_dir": str(tmp_path / "d"), "state": str(tmp_path / "s.db")}
    smtp.mailbox.rcpt_replies[BO] = "550 5.1.1 No such user here"
    summary = daily_digest(**args)
    assert summary.emails == {ANA: "sent", BO: "failed"}
    assert [m.rcpt_tos for m in smtp.mailbox.messages] == [[ANA]]
    message = smtp.mailbox.messages[0].parsed()
    assert message["Subject"] == f"Morning news digest — 2025-04-16: {summary.stories} stories"
    html, text = _html_and_text(message)
    assert "Cherniak" in html and "Cherniak" in text and len(html.encode()) < HTML_LIMIT

    command = ["send", "--config", args["config_path"], "--state", args["state"], "--out", args["out_dir"]]
    assert main(command) == 1  # Bo's delivery failed for good
    assert len(smtp.mailbox.messages) == 1
    del smtp.mailbox.rcpt_replies[BO]  # the address was fixed: the operator asks for a retry
    assert main([*command, "--retry-failed"]) == 0
    assert [m.rcpt_tos for m in smtp.mailbox.messages] == [[ANA], [BO]]
    assert PASSWORD not in caplog.text
    for path in summary.files.values():
        assert PASSWORD not in Path(path).read_text(encoding="utf-8")


def test_a_run_finishes_earlier_digests_for_those_still_waiting(smtp: SmtpFixture, tmp_path: Path) -> None:
    from newsdigest.config.records import Config, DigestSettings
    from newsdigest.delivery.files import write_digest_files
    from newsdigest.delivery.message import message_id
    from newsdigest.delivery.outbox import send_due

    config = Config(
        sources=(),
        digest=DigestSettings(out_dir=tmp_path / "digests"),
        email=smtp.settings(),
        state=str(tmp_path / "state.sqlite"),
    )
    store = Store.open(config.state)
    try:
        for day in (date(2025, 4, 16), date(2025, 4, 17)):
            digest = replace(_digest(), digest_date=day)
            paths = write_digest_files(render_digest(digest), config.digest.out_dir, day)
            store.record_digest(day, WHEN, 1, 2, [str(p) for p in paths.values()])
        # Yesterday's mail to Ana was left pending; Bo was added to the recipients since.
        yesterday = date(2025, 4, 16)
        store.outbox_add(yesterday, {ANA: message_id(yesterday, ANA, config.email.sender or "")}, WHEN)
    finally:
        store.close()
    options = {"ssl_context": smtp.client_context, "sleep": lambda _s: None}
    reports = send_due(config, date(2025, 4, 17), environ={"TEST_SMTP_PASSWORD": PASSWORD}, **options)
    assert [(r.digest_date, r.outcomes) for r in reports] == [
        (date(2025, 4, 16), {ANA: "sent"}),
        (date(2025, 4, 17), {ANA: "sent", BO: "sent"}),
    ]
    subjects = sorted((m.rcpt_tos[0], m.parsed()["Subject"].split(" — ")[1]) for m in smtp.mailbox.messages)
    assert subjects == [
        (ANA, "2025-04-16: 1 story"),
        (ANA, "2025-04-17: 1 story"),
        (BO, "2025-04-17: 1 story"),
    ]


@pytest.mark.slow
def test_a_saved_credentials_block_is_loaded_by_name(prefect_harness: None, smtp: SmtpFixture, store: Store) -> None:
    from prefect_email import EmailServerCredentials

    EmailServerCredentials(
        username=USER, password=PASSWORD, smtp_server="127.0.0.1", smtp_type="STARTTLS", smtp_port=smtp.port
    ).save("newsdigest-test-smtp", overwrite=True)
    settings = EmailSettings(to=(ANA,), sender="digest@news.example", credentials_block="newsdigest-test-smtp")
    server = resolve_server(settings, {})
    assert (server.host, server.port, server.security, server.username) == ("127.0.0.1", smtp.port, "starttls", USER)
    report = deliver(_digest(), settings, store, server, ssl_context=smtp.client_context, sleep=lambda _s: None)
    assert report.outcomes == {ANA: "sent"} and smtp.mailbox.messages[0].authenticated
    with pytest.raises(ConfigError, match="no-such-block"):
        resolve_server(replace(settings, credentials_block="no-such-block"), {})


def test_retry_failed_makes_only_configured_recipients_pending_again(tmp_path: Path) -> None:
    from newsdigest.delivery.outbox import retry_failed

    raw = {"email": {"to": [ANA], "from": "digest@news.example"}}
    config = parse_config(raw, tmp_path).with_overrides(state=str(tmp_path / "state.sqlite"))
    day = date(2025, 4, 16)
    with Store.open(config.state) as store:
        store.outbox_add(day, {ANA: "<a@news.example>", BO: "<b@news.example>"}, WHEN)
        for recipient in (ANA, BO):
            store.outbox_mark(day, recipient, "failed", WHEN, expect=["pending"], error="550 no such user")
    # Bo was removed from the recipients since: his row stays failed, nobody wants it sent.
    assert retry_failed(config, day, WHEN) == [ANA]
    assert retry_failed(config, day, WHEN) == []
    with Store.open(config.state) as store:
        rows = [(row.recipient, row.status, row.last_error) for row in store.outbox_rows(day)]
    assert rows == [(ANA, "pending", "550 no such user"), (BO, "failed", "550 no such user")]


def test_retry_failed_never_resends_an_unconfirmed_delivery_unless_named(
    smtp: SmtpFixture, store: Store, tmp_path: Path
) -> None:
    from newsdigest.delivery.outbox import retry_failed, unconfirmed_failures

    clock = Clock()
    settings = smtp.settings(to=(ANA,))

    def die(_recipient: str) -> None:
        raise Crash

    with pytest.raises(Crash):
        _send(smtp, store, settings=settings, clock=clock, after_send=die)
    clock.now += timedelta(hours=1)
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "failed"}  # unconfirmed
    config = parse_config({}, tmp_path).with_overrides(state=str(tmp_path / "state.sqlite"))
    config = replace(config, email=settings)
    day = date(2025, 4, 16)
    # `send --retry-failed`: the message may well be in Ana's mailbox, so it is not sent again.
    assert retry_failed(config, day, clock.now) == []
    assert unconfirmed_failures(config, day) == [ANA]
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "failed"}
    assert len(smtp.mailbox.messages) == 1
    # Someone checked: it did not arrive. Naming her sends it again, with the same Message-ID.
    assert retry_failed(config, day, clock.now, unconfirmed=[ANA]) == [ANA]
    assert _send(smtp, store, settings=settings, clock=clock).outcomes == {ANA: "sent"}
    first, second = (m.parsed()["Message-ID"] for m in smtp.mailbox.messages)
    assert first == second and unconfirmed_failures(config, day) == []
