"""The digest folder's delivery ledger: another state store does not mail a date the same configuration mailed."""

from __future__ import annotations

import ssl
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from newsdigest.config.load import load_config
from newsdigest.config.records import Config
from newsdigest.delivery.files import write_digest_files
from newsdigest.delivery.outbox import config_identity, send_digest, sent_elsewhere
from newsdigest.delivery.smtp import SmtpServer
from newsdigest.digest.render import render_digest
from tests.test_render import _digest

DAY = date(2025, 4, 16)  # the test digest's date
READER = "reader@example.org"


class Recorder:
    """A transport that accepts every message and remembers whom it was for."""

    delivered: ClassVar[list[str]] = []

    def __init__(self, server: SmtpServer, ssl_context: ssl.SSLContext | None = None) -> None:
        self.server = server

    def __enter__(self) -> Recorder:
        return self

    def envelope(self, sender: str, recipient: str) -> None:
        self.recipient = recipient

    def data(self, payload: bytes) -> None:
        Recorder.delivered.append(self.recipient)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


def _config(folder: Path, out: Path) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'[digest]\nout_dir = "{out.as_posix()}"\n\n[store]\nurl = "state.sqlite"\n\n'
        f'[email]\nto = ["{READER}"]\nfrom = "digest@example.org"\nsmtp_host = "127.0.0.1"\nsmtp_port = 9\n'
        'smtp_security = "plain"\n\n[[sources]]\nname = "A feed"\nurl = "https://example.org/feed.xml"\n',
        encoding="utf-8",
    )
    return load_config(path)


def _send(config: Config, state: Path) -> dict[str, str]:
    report = send_digest(
        config.with_overrides(state=str(state)), DAY, environ={}, transport=Recorder, sleep=lambda _s: None
    )
    return report.outcomes


def test_another_state_store_does_not_mail_the_same_date_again(tmp_path: Path) -> None:
    Recorder.delivered = []
    out = tmp_path / "digests"
    write_digest_files(render_digest(_digest()), out, DAY)
    config = _config(tmp_path / "mine", out)
    assert _send(config, tmp_path / "a.sqlite") == {READER: "sent"}
    assert sent_elsewhere(config, DAY) == {READER}
    assert _send(config, tmp_path / "b.sqlite") == {READER: "already sent"}
    assert _send(config, tmp_path / "b.sqlite") == {READER: "already sent"}  # now in b's outbox as well
    assert Recorder.delivered == [READER]
    # Another configuration file mailing into the same folder is another sender: its reader gets it.
    other = _config(tmp_path / "other", out)
    assert config_identity(other) != config_identity(config)
    assert _send(other, tmp_path / "c.sqlite") == {READER: "sent"}
    assert Recorder.delivered == [READER, READER]
    ledger = (out / ".sent" / f"{DAY.isoformat()}.txt").read_text(encoding="utf-8").splitlines()
    assert len(ledger) == 2  # one line per configuration and recipient, not per send


def test_a_configuration_built_in_code_has_no_ledger(tmp_path: Path) -> None:
    from dataclasses import replace

    Recorder.delivered = []
    out = tmp_path / "digests"
    write_digest_files(render_digest(_digest()), out, DAY)
    config = replace(_config(tmp_path / "mine", out), path=None)
    assert config_identity(config) is None
    assert _send(config, tmp_path / "a.sqlite") == {READER: "sent"}
    assert not (out / ".sent").exists()
