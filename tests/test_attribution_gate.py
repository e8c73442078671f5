"""Quality gate: attribution on PolNeAR's development split stays above the pinned floors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import attribution

ROOT = Path(__file__).resolve().parent.parent
POLNEAR = ROOT.parent / "shared" / "data" / "attribution-dev" / "polnear"
FLOORS: dict[str, Any] = json.loads((Path(__file__).parent / "quality" / "floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dev() -> dict[str, dict[str, float]]:
    if not (POLNEAR / "dev").is_dir():
        pytest.skip(f"evaluation data not found at {POLNEAR} (the gate needs ../shared/data beside the repo)")
    articles = attribution.load_split(POLNEAR, "dev")
    assert len(articles) == FLOORS["attribution"]["dev"]["articles"]
    return {name: tally.summary() for name, tally in attribution.run(articles).items()}


def test_ours_above_the_floors_and_the_regex_baseline(dev: dict[str, dict[str, float]]) -> None:
    floors = FLOORS["attribution"]["dev"]
    ours, baseline = dev["ours"], dev["baseline"]
    assert ours["f1"] >= floors["ours_f1"]
    assert ours["speaker_accuracy"] >= floors["ours_speaker_accuracy"]
    assert ours["f1"] - baseline["f1"] >= floors["ours_minus_baseline_f1"]


def test_ours_is_fast_enough(dev: dict[str, dict[str, float]]) -> None:
    # A regression guard with room for a loaded CI machine, not the 20 ms target (docs/benchmarks.md).
    assert dev["ours"]["ms_per_article"] < FLOORS["attribution"]["dev"]["max_ms_per_article"]
