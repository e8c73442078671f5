"""`newsdigest run` as a user meets it: progress lines, --quiet, --dry-run and exit codes."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from newsdigest import progress
from newsdigest.cli import EXIT_WRITTEN, EXIT_WRITTEN_WITH_FAILURES, main
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """The seeds configuration with its folders, somewhere a test may write."""
    for name in ("articles", "feeds", "pages"):
        shutil.copytree(SEEDS / name, tmp_path / name)
    config = tmp_path / "sources.toml"
    config.write_text((SEEDS / "sources.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return config


def test_dry_run_lists_what_would_be_fetched_and_writes_nothing(
    prefect_harness: None, seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    code = main(["run", "--config", str(seeds_copy), "--out", str(out), "--state", str(state), "--dry-run", "-q"])
    assert code == EXIT_WRITTEN
    printed = capsys.readouterr().out
    assert "source Northwind Herald: " in printed and "(page would be fetched)" in printed
    assert printed.count("\nnew: ") >= 20
    assert not out.exists() and not state.exists()


def test_quiet_run_prints_only_the_path_and_failed_sources_change_the_exit_code(
    prefect_harness: None, seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    args = ["run", "--config", str(seeds_copy), "--out", str(out), "--state", str(state), "--quiet"]
    assert main(args) == EXIT_WRITTEN
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "2025-04-16.md")
    assert "failed source" not in captured.err
    (seeds_copy.parent / "feeds" / "lakeside-daily.json").write_text("{ broken", encoding="utf-8")
    assert main([*args, "--date", "2025-04-17"]) == EXIT_WRITTEN_WITH_FAILURES
    assert (out / "2025-04-17.md").exists()
    capsys.readouterr()
    loud = [a for a in args if a != "--quiet"]
    assert main([*loud, "--date", "2025-04-17"]) == EXIT_WRITTEN_WITH_FAILURES  # the same day again
    assert re.search(
        r"^nothing new since \d\d:\d\d; \d+ stories in the digest, 1 failed source$", capsys.readouterr().err, re.M
    )


def test_bad_configuration_exits_2_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[digest]\nwindow_hours = 'a day'\n", encoding="utf-8")
    assert main(["run", "--config", str(config)]) == 2
    assert "window_hours" in capsys.readouterr().err


def test_progress_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    reporter = progress.for_terminal(stream, quiet=False)
    assert isinstance(reporter, progress.LineReporter)
    reporter.start("sources", 2)
    reporter.advance("sources")
    reporter.advance("sources")
    assert stream.getvalue().splitlines() == ["sources: 0/2", "sources: 1/2", "sources: 2/2"]
    assert isinstance(progress.for_terminal(stream, quiet=True), progress.SilentReporter)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    bars = progress.for_terminal(Terminal(), quiet=False)
    try:
        assert isinstance(bars, progress.BarReporter)
        bars.start("articles", 3)
        bars.advance("articles", 3)
        assert bars.progress.tasks[0].completed == 3
    finally:
        bars.close()


def test_a_past_date_is_rendered_again_from_the_store(
    prefect_harness: None, seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import re

    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    base = ["run", "--config", str(seeds_copy), "--out", str(out), "--state", str(state), "--quiet"]
    assert main([*base, "--date", "2025-04-16"]) == EXIT_WRITTEN
    first = (out / "2025-04-16.json").read_text(encoding="utf-8")
    assert main([*base, "--date", "2025-04-17"]) == EXIT_WRITTEN
    for path in out.glob("2025-04-16.*"):
        path.unlink()
    assert main([*base, "--date", "2025-04-16"]) == EXIT_WRITTEN  # the backfill
    again = (out / "2025-04-16.json").read_text(encoding="utf-8")

    def stories(text: str) -> list[tuple[str, list[str]]]:
        data = json.loads(text)
        return [(s["id"], sorted(a["id"] for a in s["articles"])) for s in data["stories"]]

    assert stories(again) == stories(first) and len(stories(first)) >= 15
    assert re.search(r'"new_articles": 0', again)  # nothing was fetched twice


def test_bars_show_prefect_warnings_above_them_and_restore_its_console() -> None:
    import logging

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    class RichHandler(logging.Handler):
        """Stands in for Prefect's console handler: it prints through its `console`."""

        def __init__(self) -> None:
            from rich.console import Console

            super().__init__(logging.INFO)
            self.console = Console(file=io.StringIO())

        def emit(self, record: logging.LogRecord) -> None:
            self.console.print(self.format(record))

    screen = Terminal()
    bars = progress.for_terminal(screen, quiet=False)
    assert isinstance(bars, progress.BarReporter)
    handler, plain = RichHandler(), logging.StreamHandler(io.StringIO())
    own = handler.console
    try:
        with bars.logs_above([handler, plain]):
            assert handler.console is bars.console and handler.level == logging.WARNING
            logger = logging.getLogger("newsdigest.test.bars")
            logger.addHandler(handler)
            logger.propagate = False
            logger.warning("a source failed")
            logger.info("a task finished")
            logger.removeHandler(handler)
    finally:
        bars.close()
    assert handler.console is own and handler.level == logging.INFO and plain.level == logging.NOTSET
    text = screen.getvalue()
    assert "a source failed" in text and "a task finished" not in text


def _with_email(config: Path) -> None:
    """Recipients behind a port nobody listens on: any attempt to send would show as an outcome."""
    with config.open("a", encoding="utf-8") as file:
        file.write(
            '\n[email]\nto = ["reader@example.org"]\nfrom = "digest@example.org"\n'
            'smtp_host = "127.0.0.1"\nsmtp_port = 9\nsmtp_security = "plain"\n'
        )


def test_a_source_trial_run_never_mails(
    prefect_harness: None, seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_email(seeds_copy)
    feed = seeds_copy.parent / "feeds" / "northwind-herald.xml"
    args = ["run", "--config", str(seeds_copy), "--out", str(tmp_path / "out"), "--state", str(tmp_path / "s.db")]
    assert main([*args, "--source", str(feed)]) == EXIT_WRITTEN
    err = capsys.readouterr().err
    assert "email to" not in err and "no email: --source runs never mail" in err


def test_an_empty_digest_is_not_mailed_by_default(
    prefect_harness: None, seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_email(seeds_copy)
    args = ["run", "--config", str(seeds_copy), "--out", str(tmp_path / "out"), "--state", str(tmp_path / "s.db")]
    assert main([*args, "--date", "2020-01-01"]) == EXIT_WRITTEN  # years before the seeds' news: no stories
    err = capsys.readouterr().err
    assert "0 stories" in err and "email to" not in err
    assert "no email: no stories, and [email] send_empty is off" in err
