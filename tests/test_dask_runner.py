"""The CPU-heavy stages on Dask: the seeds digest comes out the same as with threads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdigest.config import load_config, parse_config
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

    from flows.daily_digest import daily_digest, flow_for
    from newsdigest.config import RunSettings

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
