"""The run's steps as plain calls (no Prefect): the same digest as the flow, the config parsed once."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdigest import pipeline
from newsdigest.config.load import load_config_once
from tests.conftest import ROOT, SEEDS

GOLDEN = ROOT / "tests" / "golden" / "seeds-2025-04-16.md"


def test_the_plain_steps_write_the_flows_golden_digest(tmp_path: Path) -> None:
    """The benchmark's yardstick runs the flow's own steps: on the seeds it writes the same digest."""
    from tests.test_flow_e2e import _mask

    config = load_config_once(SEEDS / "sources.toml")
    plan = pipeline.plan_run(
        config, datetime.now(UTC), out_dir=str(tmp_path / "digests"), state=str(tmp_path / "state.sqlite")
    )
    summary = pipeline.run_without_prefect(plan, threads=2)
    assert summary.failed_sources == {}
    assert summary.new_articles >= 20
    markdown = Path(summary.files["md"]).read_text(encoding="utf-8")
    assert _mask(markdown) == GOLDEN.read_text(encoding="utf-8")
    assert set(summary.seconds) >= {"read_sources", "select", "fetch_and_clean", "dedup", "claims_and_render"}


def test_a_run_plan_applies_overrides_and_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    config = load_config_once(SEEDS / "sources.toml")
    state = tmp_path / "never.sqlite"
    plan = pipeline.plan_run(config, datetime.now(UTC), out_dir=str(tmp_path / "o"), state=str(state), dry_run=True)
    assert plan.config.digest.out_dir == tmp_path / "o"
    assert plan.config.state == "sqlite://" and not state.exists()
    assert plan.day.isoformat() == "2025-04-16"  # the seeds pin their date
    assert plan.page_sources <= {source.name for source in config.sources}


def test_the_config_is_parsed_once_while_the_file_and_environment_stay_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "my.toml"
    path.write_text('[digest]\ntitle = "One"\n', encoding="utf-8")
    first = load_config_once(path)
    assert load_config_once(str(path)) is first
    # An environment override is part of what the file means: a changed one is a new parse.
    monkeypatch.setenv("NEWSDIGEST_EMAIL_TO", "a@example.org")
    monkeypatch.setenv("NEWSDIGEST_EMAIL_FROM", "digest@example.org")
    with_env = load_config_once(path)
    assert with_env is not first and with_env.email.to == ("a@example.org",)
    path.write_text('[digest]\ntitle = "Two, a longer title"\n', encoding="utf-8")
    os.utime(path, ns=(1, 1))
    assert load_config_once(path).digest.title == "Two, a longer title"
