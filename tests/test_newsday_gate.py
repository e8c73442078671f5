"""Quality gate: the key claims of a real news day (benchmarks/newsday.py, report half, plain steps) hold up.

The whole report half runs, as `python -m benchmarks.newsday --plain` does (about 30-60 s on two
cores): its articles are what the floors were measured on.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import newsday

FLOORS: dict[str, Any] = json.loads((Path(__file__).parent / "quality" / "floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    for needed in (newsday.SCRAPINGHUB, newsday.CNN, newsday.STORIES):
        if not needed.exists():
            pytest.skip(f"evaluation data not found at {needed} (the news-day gate needs ../shared/data)")
    if importlib.util.find_spec("rouge_score") is None:
        pytest.skip("rouge_score is not installed (pip install -e '.[dev]')")
    return newsday.run("report", plain=True)


def test_claims_are_clean_article_prose(day: dict[str, Any]) -> None:
    floors = FLOORS["newsday"]["report"]
    assert day["clean_claims_scored"] >= floors["min_claims_scored"]
    assert day["clean"] >= floors["clean"], day["bad_claims"][:20]


def test_speakers_are_named_in_the_article(day: dict[str, Any]) -> None:
    assert day["speaker_ok"] >= FLOORS["newsday"]["report"]["speaker_ok"], day["bad_speakers"][:20]


def test_claims_are_short_and_every_story_has_some(day: dict[str, Any]) -> None:
    floors = FLOORS["newsday"]["report"]
    assert day["overlong"] <= floors["max_overlong"]
    assert day["max_claim_words"] <= floors["max_claim_words"]
    assert day["empty_stories"] <= floors["max_empty_stories"], day["empty_titles"]
    assert day["other_script_with_claims"] >= floors["min_other_script_with_claims"]


def test_claims_against_lead3(day: dict[str, Any]) -> None:
    floors = FLOORS["newsday"]["report"]
    assert day["cnn_stories"] >= 150
    assert day["ours_minus_lead3_rouge2"] >= floors["ours_minus_lead3_rouge2"]
    assert day["ours_rouge2"] >= floors["ours_rouge2"]


def test_clean_needs_most_trigrams_inside_the_gold_body() -> None:
    gold = "The council approved the new budget on Tuesday after a long debate.\nIt takes effect in May."
    assert newsday.is_clean("The council approved the new budget on Tuesday.", gold)
    assert not newsday.is_clean("Reading time: 4 minutes", gold)
    assert not newsday.is_clean("It takes effect.", gold)  # under five words
    assert not newsday.is_clean("The council approved the plan to sell the harbour to a private owner.", gold)


def test_speaker_check_wants_a_capitalised_short_name_from_the_text() -> None:
    text = "Mayor Ana Ortiz said the bridge would reopen. Police said two lanes stay closed."
    assert newsday.speaker_ok("Ana Ortiz", text)
    assert not newsday.speaker_ok("he", text)
    assert not newsday.speaker_ok("Ana Ortiz Of The City Council Who Spoke Late", text)
    assert not newsday.speaker_ok("Jon Park", text)


def test_word_count_counts_cjk_characters() -> None:
    assert newsday.word_count("東京都は新しい計画を発表した") >= 5
    assert newsday.word_count("Two words") == 2
