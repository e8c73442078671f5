"""Scheduling for real: a Prefect server, the deployments of prefect.yaml, a process worker, a triggered run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a background command, killing it if it does not exit within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def _prefect(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """A prefect CLI command from the project folder; fails the test with its output when it fails."""
    done = subprocess.run(
        [PREFECT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@contextmanager
def running_server(home: Path, server_env: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """`prefect server start` on 127.0.0.1 with `home` as its home folder; yields the environment to reach it.

    `server_env` is given to the server process only (its database URL, say): clients need nothing but the API
    URL, so the yielded environment leaves it out, as a worker on another machine would.
    """
    if not Path(PREFECT).exists():
        pytest.skip(f"the prefect command is not at {PREFECT}")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        cwd=home,
        env={**env, **(server_env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, "the Prefect server did not answer within 120 s"
            time.sleep(0.5)
        yield env
    finally:
        _stop(server)
        log.close()


def deploy_all(env: dict[str, str]) -> None:
    """The work pool and both deployments of prefect.yaml, as a user creates them."""
    _prefect(env, "work-pool", "create", "newsdigest", "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all")


def run_manual_deployment(env: dict[str, str], tmp_path: Path) -> Path:
    """Trigger `daily_digest/manual` with a process worker running, wait until it completes; its digest folder."""
    out, state = tmp_path / "digests", tmp_path / "state.sqlite"
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "newsdigest", "--type", "process"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        run = _prefect(
            env,
            "deployment",
            "run",
            "daily_digest/manual",
            "--param",
            f"out_dir={out}",
            "--param",
            f"state={state}",
            "--watch",
            "--watch-timeout",
            "240",
            timeout=300,
        )
        assert "Completed" in run.stdout + run.stderr, run.stdout + run.stderr
    finally:
        _stop(worker)
        worker_log.close()
    return out


def assert_seeds_digest(out: Path) -> None:
    """The digest of the seeds' day, in both formats."""
    digest = json.loads((out / "2025-04-16.json").read_text(encoding="utf-8"))
    assert len(digest["stories"]) >= 15
    assert (out / "2025-04-16.md").read_text(encoding="utf-8").startswith("# ")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`prefect server start` on 127.0.0.1 (SQLite under its own home folder), and the environment to reach it."""
    with running_server(tmp_path_factory.mktemp("prefect-home")) as env:
        yield env


@pytest.fixture(scope="module")
def deployed(prefect_server: dict[str, str]) -> dict[str, str]:
    """The server with the work pool and both deployments of prefect.yaml."""
    deploy_all(prefect_server)
    return prefect_server


def test_a_triggered_deployment_run_writes_the_digest(deployed: dict[str, str], tmp_path: Path) -> None:
    assert_seeds_digest(run_manual_deployment(deployed, tmp_path))


def test_the_daily_deployment_has_its_schedule_active(deployed: dict[str, str]) -> None:
    script = (
        "import asyncio, json\n"
        "from prefect.client.orchestration import get_client\n"
        "async def main():\n"
        "    async with get_client() as client:\n"
        "        d = await client.read_deployment_by_name('daily_digest/daily')\n"
        "        print(json.dumps([{'cron': s.schedule.cron, 'timezone': s.schedule.timezone, 'active': s.active}"
        " for s in d.schedules]))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=deployed, capture_output=True, text=True, timeout=60, check=True
    )
    schedules = json.loads(done.stdout.strip().splitlines()[-1])
    assert schedules == [{"cron": "0 6 * * *", "timezone": "UTC", "active": True}]


def test_prefect_yaml_cron_matches_the_default_config() -> None:
    from newsdigest.config.records import DigestSettings

    text = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    assert f'cron: "{DigestSettings().cron}"' in text
    assert shutil.which("prefect", path=str(Path(PREFECT).parent))


def test_serve_registers_the_daily_schedule_from_the_config(prefect_server: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    seeds = (ROOT / "seeds" / "sources.toml").read_text(encoding="utf-8")
    config.write_text(seeds.replace("[digest]\n", '[digest]\ncron = "15 7 * * 1-5"\n', 1), encoding="utf-8")
    shutil.copytree(ROOT / "seeds" / "feeds", tmp_path / "feeds")
    shutil.copytree(ROOT / "seeds" / "articles", tmp_path / "articles")
    shutil.copytree(ROOT / "seeds" / "pages", tmp_path / "pages")
    newsdigest = str(Path(sys.executable).with_name("newsdigest"))
    serving = subprocess.Popen(
        [newsdigest, "serve", "--config", str(config)],
        cwd=ROOT,
        env=prefect_server,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    script = (
        "import asyncio, json\n"
        "from prefect.client.orchestration import get_client\n"
        "async def main():\n"
        "    async with get_client() as client:\n"
        "        d = await client.read_deployment_by_name('daily_digest/daily-serve')\n"
        "        print(json.dumps([[s.schedule.cron, s.schedule.timezone, s.active] for s in d.schedules]))\n"
        "asyncio.run(main())\n"
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            done = subprocess.run(
                [sys.executable, "-c", script], cwd=ROOT, env=prefect_server, capture_output=True, text=True, timeout=60
            )
            if done.returncode == 0:
                break
            assert serving.poll() is None, "newsdigest serve exited"
            assert time.monotonic() < deadline, done.stderr[-2000:]
            time.sleep(1)
    finally:
        _stop(serving)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [["15 7 * * 1-5", "UTC", True]]
