"""The SMTP side of email: which server with which credentials, one connection, and what a failure means."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newsdigest.config.records import DEFAULT_SMTP_PORTS, EmailSettings
from newsdigest.errors import ConfigError

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 30.0
_BLOCK_SECURITY = {"SSL": "ssl", "STARTTLS": "starttls", "INSECURE": "plain"}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


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

    def redact(self, text: str) -> str:
        """The text with the password masked, cut to a length fit for the outbox and logs."""
        if self.password:
            text = text.replace(self.password, "***")
        return text[:500]


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
            if server.security == "plain" and server.host not in _LOOPBACK:
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


# What deliver() opens a connection with: SmtpTransport, or a stand-in in the tests.
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
