"""Quality gate: story grouping on stories-dev (ECB+, independent reports of similar events) keeps its floors.

The model is fitted on the topics of the "fit" half (benchmarks/stories.py); the "held" half is the figure
that says how it does on events it never saw, so both are pinned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import stories

FLOORS: dict[str, Any] = json.loads((Path(__file__).parent / "quality" / "floors.json").read_text(encoding="utf-8"))


def test_stories_dev_floors() -> None:
    if not stories.DEFAULT_CORPUS.is_file():
        pytest.skip(f"evaluation data not found at {stories.DEFAULT_CORPUS}")
    floors = FLOORS["stories"]["stories-dev"]
    result = stories.evaluate(stories.DEFAULT_CORPUS, stories.DEFAULT_THRESHOLD, anchors=())
    for key, floor in floors.items():
        assert result[key] >= floor, key
