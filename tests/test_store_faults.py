"""A state store the run cannot use stops `newsdigest run` before Prefect starts: exit 2, one line naming it."""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from newsdigest.cli import EXIT_NOT_WRITTEN
from newsdigest.errors import StoreError
from newsdigest.store import Store, check_store
from tests.conftest import SEEDS, LocalServer, Route
from tests.test_store import _article, _save

DAY = date(2025, 4, 16)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`newsdigest ARGS` in a fresh process with a Prefect home of its own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [sys.executable, "-m", "newsdigest.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def _run(tmp_path: Path, state: str, *more: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "out"
    return _cli(tmp_path, "run", "--config", str(SEEDS / "sources.toml"), "--out", str(out), "--state", state, *more)


def _refused(done: subprocess.CompletedProcess[str], tmp_path: Path, *words: str) -> str:
    """The run exited 2 with one line that has `words`, before Prefect started and before any file was written."""
    assert done.returncode == EXIT_NOT_WRITTEN, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsdigest: "), done.stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert "temporary server" not in done.stderr and not (tmp_path / "out").exists()
    return lines[0]


def _stored(path: Path) -> None:
    with Store.open(str(path)) as store:
        _save(store, [_article(n) for n in range(1, 40)], DAY)


def _garble_articles_page(path: Path) -> None:
    """Random bytes over the first page of the articles table, as a bad disk or an interrupted copy leaves it."""
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'articles'").fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(random.Random(20).randbytes(size))


def test_a_garbled_state_file_is_refused_before_the_run(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    _stored(state)
    _garble_articles_page(state)
    _refused(_run(tmp_path, str(state)), tmp_path, str(state), "damaged", "(set by --state)")


def test_a_store_that_fails_mid_run_raises_a_store_error_naming_it(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    _stored(state)
    store = Store.open(str(state))
    _garble_articles_page(state)
    with pytest.raises(StoreError, match=r"the state store .*state\.sqlite failed: .*malformed"):
        store.articles_for_digest(DAY)
    store.close()


def test_an_empty_state_file_is_not_silently_a_new_history(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    state.touch()
    _refused(_run(tmp_path, str(state)), tmp_path, "empty (0 bytes)", "delete it to start a new one")
    assert state.stat().st_size == 0  # left as found, for whoever restores it


def _make_unwritable(path: Path) -> str:
    """Make the file unwritable even for root, or skip; returns how, for the test's report."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return "mode 0444"
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("root ignores file modes and chattr +i is not allowed here")
    return "chattr +i"


def test_an_unwritable_state_file_is_refused_before_any_digest_file_is_written(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    _stored(state)
    how = _make_unwritable(state)
    try:
        done = _run(tmp_path, str(state))
    finally:
        if how == "chattr +i":
            subprocess.run(["chattr", "-i", str(state)], check=True)
    _refused(done, tmp_path, str(state), "cannot be written")
    check_store(str(state), write=False)  # reading it was fine all along


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgresql_is_one_line_with_its_url_and_no_password(tmp_path: Path) -> None:
    url = f"postgresql://news:s3cret@127.0.0.1:{_closed_port()}/news"
    line = _refused(_run(tmp_path, url, "-q"), tmp_path, "cannot open the state store", "127.0.0.1", "--state")
    assert "s3cret" not in line and "news:***@" in line


def test_the_store_key_and_its_line_are_named_when_the_config_set_the_url(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[digest]\ntitle = "x"\n\n[store]\nurl = "postgresql://127.0.0.1:{_closed_port()}/news"\n')
    done = _cli(tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "out"))
    _refused(done, tmp_path, "(set by [store] url, c.toml line 5)")


def test_a_database_the_store_does_not_support_is_named_not_a_driver_traceback(tmp_path: Path) -> None:
    _refused(_run(tmp_path, "mysql://news@127.0.0.1/news"), tmp_path, "unsupported state store mysql://")
    with pytest.raises(StoreError, match="unsupported"):
        Store.open("mysql://news@127.0.0.1/news")


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    state.touch()
    done = _cli(tmp_path, "--verbose", "run", "--config", str(SEEDS / "sources.toml"), "--state", str(state))
    assert done.returncode == EXIT_NOT_WRITTEN and "Traceback" in done.stderr and "StoreError" in done.stderr
    after = _cli(tmp_path, "run", "--config", str(SEEDS / "sources.toml"), "--state", str(state), "--verbose")
    assert after.returncode == EXIT_NOT_WRITTEN and "Traceback" in after.stderr


def test_sources_list_names_the_store_fault_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    _stored(state)
    _garble_articles_page(state)
    done = _cli(tmp_path, "sources", "--config", str(SEEDS / "sources.toml"), "--state", "mysql://h/x")
    assert done.returncode == EXIT_NOT_WRITTEN and done.stderr.count("\n") == 1, done.stderr
    assert "unsupported state store" in done.stderr and "(set by --state)" in done.stderr


@pytest.mark.slow
def test_a_store_that_stops_taking_writes_mid_run_is_one_line_and_no_traceback(
    http_server: LocalServer, tmp_path: Path
) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Late</title>'
        "<item><title>One</title><link>http://127.0.0.1/1</link><guid>late-1</guid></item></channel></rss>"
    )
    # The feed answers a few seconds after it is asked: time to take the store's write access away mid-run.
    http_server.routes["/feed.xml"] = Route(200, feed.encode(), {"Content-Type": "application/rss+xml"}, delay=8)
    config = tmp_path / "c.toml"
    config.write_text(f'[fetch]\nretries = 0\n\n[[sources]]\nname = "Late"\nurl = "{http_server.url("/feed.xml")}"\n')
    state = tmp_path / "state.sqlite"
    _stored(state)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [sys.executable, "-m", "newsdigest.cli", "run", "--config", str(config), "--state", str(state)]
    command += ["--out", str(tmp_path / "digests"), "--date", "2025-04-16"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    how = ""
    try:
        deadline = time.monotonic() + 180
        while not http_server.requests:
            assert run.poll() is None and time.monotonic() < deadline, "the run never asked for the feed"
            time.sleep(0.1)
        how = _make_unwritable(state)
        _out, err = run.communicate(timeout=240)
    finally:
        if run.poll() is None:
            run.kill()
        if how == "chattr +i":
            subprocess.run(["chattr", "-i", str(state)], check=True)
    assert run.returncode == EXIT_NOT_WRITTEN, err
    assert err.strip().splitlines()[-1].startswith(f"newsdigest: the state store {state} failed: "), err
    assert "Traceback" not in err and "cannot be written" not in err  # it passed the check, then failed
