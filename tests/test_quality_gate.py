"""Quality gate: the extraction benchmark on the dev sets must not fall below the pinned floors."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from benchmarks import extraction

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "extraction-dev"
FLOORS: dict[str, Any] = json.loads((Path(__file__).parent / "quality" / "floors.json").read_text(encoding="utf-8"))


def _dataset(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        pytest.skip(f"evaluation data not found at {path} (the quality gate needs ../shared/data next to the repo)")
    return path


@pytest.fixture(autouse=True)
def _quiet_extractors() -> None:
    for noisy in ("trafilatura", "htmldate", "courlan", "justext", "newsdigest.cleaning.extract"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def test_scrapinghub_floors_and_ours_above_trafilatura() -> None:
    floors = FLOORS["extraction"]["scrapinghub"]
    kind, pages = extraction.load_dataset(_dataset("scrapinghub"))
    result = extraction.run(kind, pages, progress=False, names=("ours", "trafilatura", "flattened"))
    extraction.run_memory(kind, pages, result, min_pages=1)
    summary = extraction.summarize(kind, result)
    assert summary["ours"]["f1"] >= floors["ours_f1"]
    assert summary["ours"]["f1"] - summary["trafilatura"]["f1"] >= floors["ours_minus_trafilatura_f1"]
    assert summary["flattened"]["f1"] >= floors["flattened_f1"]
    assert summary["memory"]["f1"] - summary["ours_multi"]["f1"] >= floors["memory_gain_f1"]


def test_trafilatura_eval_floor() -> None:
    floors = FLOORS["extraction"]["trafilatura-eval"]
    kind, pages = extraction.load_dataset(_dataset("trafilatura-eval"))
    result = extraction.run(kind, pages, progress=False, names=("ours",))
    assert extraction.summarize(kind, result)["ours"]["f1"] >= floors["ours_f1"]


def test_floors_file_is_sane() -> None:
    values = [value for table in FLOORS["extraction"].values() for value in table.values()]
    assert values and all(0 <= value <= 1 for value in values)
