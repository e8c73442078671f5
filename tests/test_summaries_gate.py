"""Quality gate: on held-out CNN stories our summaries must beat Lead-3 and stay above the pinned floors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import summaries

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "data" / "summarization-dev" / "cnn_corpus.jsonl.gz"
FLOORS: dict[str, Any] = json.loads((Path(__file__).parent / "quality" / "floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def heldout() -> dict[str, dict[str, float]]:
    if not DATASET.is_file():
        pytest.skip(
            f"evaluation data not found at {DATASET} (the summaries gate needs ../shared/data next to the repo)"
        )
    if importlib.util.find_spec("rouge_score") is None:
        pytest.skip("rouge_score is not installed (pip install -e '.[dev]')")
    floors = FLOORS["summaries"]["heldout"]
    stories = summaries.load_stories(DATASET, "heldout", limit=floors["stories"])
    assert len(stories) == floors["stories"]
    return summaries.summarise_run(summaries.run(stories, progress=False))


def test_ours_beats_lead3_at_the_reference_budget(heldout: dict[str, dict[str, float]]) -> None:
    ours, lead = heldout["ours"], heldout["lead3"]
    floors = FLOORS["summaries"]["heldout"]
    assert ours["rouge1"] - lead["rouge1"] >= floors["ours_minus_lead3_rouge1"]
    assert ours["rouge2"] - lead["rouge2"] >= floors["ours_minus_lead3_rouge2"]


def test_ours_above_floors(heldout: dict[str, dict[str, float]]) -> None:
    floors = FLOORS["summaries"]["heldout"]
    for metric in summaries.METRICS:
        assert heldout["ours"][metric] >= floors[f"ours_{metric}"], metric
        assert heldout["ours_whole"][metric] >= floors[f"ours_whole_{metric}"], metric


def test_ours_is_fast_enough(heldout: dict[str, dict[str, float]]) -> None:
    assert heldout["ours"]["ms_per_article"] < FLOORS["summaries"]["heldout"]["max_ms_per_article"]


def test_summaries_floors_are_sane() -> None:
    floors = FLOORS["summaries"]["heldout"]
    assert floors["stories"] > 0 and floors["max_ms_per_article"] > 0
    assert all(0 < floors[key] < 100 for key in floors if key.startswith("ours_"))
