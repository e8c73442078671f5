"""The CPU-heavy stages on Dask: the seeds digest comes out the same as with threads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from newsdigest.config.load import load_config, parse_config
from newsdigest.errors import ConfigError
from tests.conftest import SEEDS


def test_run_settings(tmp_path: Path) -> None:
    config = parse_config({"run": {"task_runner": "dask", "dask_workers": 3}}, tmp_path)
    assert config.run.task_runner == "dask" and config.run.dask_workers == 3 and config.run.dask_address is None
    with pytest.raises(ConfigError, match="task_runner"):
        parse_config({"run": {"task_runner": "ray"}}, tmp_path)
    with pytest.raises(ConfigError, match="dask_workers"):
        parse_config({"run": {"dask_workers": 0}}, tmp_path)


@pytest.mark.slow
def test_seeds_on_a_local_dask_cluster_match_the_threaded_run(prefect_harness: None, tmp_path: Path) -> None:
    from dataclasses import replace

    from newsdigest.config.records import RunSettings
    from newsdigest.flow import daily_digest, flow_for

    config = load_config(SEEDS / "sources.toml")
    dask_flow = flow_for(replace(config, run=RunSettings(task_runner="dask", dask_workers=2)))
    assert dask_flow is not daily_digest and type(dask_flow.task_runner).__name__ == "DaskTaskRunner"
    assert flow_for(config) is daily_digest

    runs = {}
    for label, flow in (("threads", daily_digest), ("dask", dask_flow)):
        summary = flow(
            config_path=str(SEEDS / "sources.toml"), out_dir=str(tmp_path / label), state=str(tmp_path / f"{label}.db")
        )
        runs[label] = json.loads(Path(summary.files["json"]).read_text(encoding="utf-8"))

    def shape(digest: dict) -> list[tuple[str, list[str]]]:  # type: ignore[type-arg]
        return [(s["title"], sorted(a["id"] for a in s["articles"])) for s in digest["stories"]]

    assert shape(runs["dask"]) == shape(runs["threads"])
    assert len(runs["dask"]["stories"]) >= 15


def _prefect_servers(root: psutil.Process) -> set[int]:
    """Process ids of Prefect API servers among a process's descendants."""
    found = set()
    for process in root.children(recursive=True):
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if "uvicorn" in command and "prefect.server" in command:
            found.add(process.pid)
    return found


@pytest.mark.slow
def test_a_dask_run_on_the_temporary_server_starts_one_server_not_one_per_worker(tmp_path: Path) -> None:
    """With no PREFECT_API_URL, worker processes must report to the run's temporary server, not start their own."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    config = seeds / "sources.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[run]\ntask_runner = "dask"\ndask_workers = 2\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [sys.executable, "-m", "newsdigest.cli", "run", "--config", str(config), "--quiet"]
    command += ["--out", str(tmp_path / "out"), "--state", str(tmp_path / "state.db")]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(run.pid)
    most = 0
    while run.poll() is None:
        most = max(most, len(_prefect_servers(root)))
        time.sleep(0.2)
    out, err = run.communicate()
    assert run.returncode == 0, err[-3000:]
    assert Path(out.strip().splitlines()[-1]).is_file()
    assert most == 1, f"{most} Prefect servers ran at once (one per Dask worker?)"
    # Our code raised nothing. (Dask's own shutdown can still log a "comms closed" traceback now and
    # then, from a worker process; it is silenced where it can be and is not an error.)
    assert "newsdigest/" not in err and "flows/daily_digest.py" not in err
