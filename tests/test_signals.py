"""SIGTERM and Ctrl-C stop a real `newsdigest run` mid-flight: the temporary server goes too, the store is kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from newsdigest.cli import EXIT_INTERRUPTED
from newsdigest.store import Store, check_store
from tests.conftest import LocalServer, Route
from tests.test_store import _article, _save

pytestmark = pytest.mark.slow

FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
    "<item><title>One</title><link>http://127.0.0.1/1</link><guid>slow-1</guid></item></channel></rss>"
)
FEED_DELAY = 300.0  # the feed answers long after any stop: a run that waits for it has not stopped


def _uvicorn_children(pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "uvicorn" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and the run keeps an ignored signal ignored;
    # a terminal's Ctrl-C reaches a process that has the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_stops_the_run_and_its_server_and_keeps_the_store(
    http_server: LocalServer, tmp_path: Path, signum: signal.Signals
) -> None:
    http_server.routes["/feed.xml"] = Route(
        200, FEED.encode(), {"Content-Type": "application/rss+xml"}, delay=FEED_DELAY
    )
    config = tmp_path / "sources.toml"
    config.write_text(
        "[fetch]\nread_timeout = 600\ntotal_timeout = 600\nretries = 0\n\n"
        f'[[sources]]\nname = "Slow"\nurl = "{http_server.url("/feed.xml")}"\n',
        encoding="utf-8",
    )
    state, out = tmp_path / "state.sqlite", tmp_path / "out"
    with Store.open(str(state)) as store:  # what earlier runs saved
        _save(store, [_article(1), _article(2)], date(2025, 4, 15))
    out.mkdir()
    earlier = out / "2025-04-15.md"
    earlier.write_text("# an earlier digest\n", encoding="utf-8")

    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [sys.executable, "-m", "newsdigest.cli", "run", "--config", str(config)]
    command += ["--out", str(out), "--state", str(state), "--date", "2025-04-16"]
    stderr = (tmp_path / "stderr.txt").open("w+")
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=_default_sigint)
    try:
        # Mid-flight: the temporary server is up and the flow is waiting on the slow feed.
        deadline = time.monotonic() + 180
        while not http_server.requests:
            assert run.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline, "the run never asked for the feed"
            time.sleep(0.2)
        servers = _uvicorn_children(run.pid)
        assert servers, "no temporary Prefect server among the run's processes"
        run.send_signal(signum)
        try:
            code = run.wait(timeout=60)  # generous: the run's own deadline is 6 s, the feed answers after 300
        except subprocess.TimeoutExpired:
            pytest.fail("the run did not stop:\n" + (tmp_path / "stderr.txt").read_text()[-4000:])
    finally:
        if run.poll() is None:
            run.kill()
        stderr.close()
    printed = (tmp_path / "stderr.txt").read_text()
    assert code == EXIT_INTERRUPTED + signum, printed
    assert f"{signum.name} received" in printed
    assert "Traceback" not in printed  # no --verbose
    _gone, alive = psutil.wait_procs(servers, timeout=5)
    assert not alive, f"the temporary server outlived the run: {alive}"
    # What was saved is kept: the store is whole and still has the earlier articles; no half-written file.
    check_store(str(state))
    with Store.open(str(state)) as store:
        assert len(store.articles_for_digest(date(2025, 4, 15))) == 2
    assert earlier.read_text(encoding="utf-8") == "# an earlier digest\n"
    assert sorted(path.name for path in out.iterdir()) == ["2025-04-15.md"]
