"""Story grouping across outlets: the trained decision, its two gates, and the stories benchmark.

The texts are written for these tests (fictional places and people).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdigest.models import NewDocument
from newsdigest.stories.assign import assign_stories
from newsdigest.stories.grouping import FEATURES, StoryIndex, _background, _model, story_score, story_terms

QUAKE_A1 = NewDocument(
    "a1",
    "Magnitude 5.8 earthquake shakes Dorvale province",
    "A magnitude 5.8 earthquake struck Dorvale province early on Tuesday, toppling walls in the town of "
    "Keswin and injuring 14 people, the regional emergency office said. The quake was centred 12 kilometres "
    "north of Keswin at a depth of 9 kilometres. Governor Ilse Marrow said rescue teams had reached every "
    "village in the valley and that schools in Keswin would stay shut while engineers checked buildings.",
)
QUAKE_A2 = NewDocument(
    "a2",
    "Dorvale quake injures 14 in Keswin, governor says schools stay closed",
    "Fourteen people were hurt when a 5.8 magnitude quake hit the Dorvale valley on Tuesday morning. "
    "Walls collapsed in Keswin, the town closest to the epicentre, emergency officials said. Governor "
    "Ilse Marrow told reporters that engineers would inspect buildings before schools reopen, and that "
    "rescue crews had reached all the villages of the valley.",
)
QUAKE_B = NewDocument(
    "b1",
    "Magnitude 6.1 earthquake hits Tarsby coast",
    "A magnitude 6.1 earthquake struck off the Tarsby coast on Friday, cracking the harbour wall at Pellin "
    "and sending fishing boats out to sea, the coastguard said. Two people were treated for cuts. Mayor "
    "Oskar Brandt said ferries to the islands were cancelled until divers had checked the piers.",
)
ROUNDUP = NewDocument(
    "r1",
    "Evening briefing",
    "A magnitude 5.8 earthquake struck Dorvale province early on Tuesday, toppling walls in the town of "
    "Keswin and injuring 14 people, the regional emergency office said. The central bank left its rate "
    "unchanged. A new exhibition of maps opened at the city library. The Rovers lost at home to Vale.",
)


def test_two_reports_of_one_event_join_and_an_event_of_the_same_kind_stays_apart() -> None:
    a1, a2, b1 = assign_stories([QUAKE_A1, QUAKE_A2, QUAKE_B], [])
    assert a2.story_id == a1.story_id
    assert b1.story_id != a1.story_id


def test_a_roundup_quoting_a_story_under_a_generic_headline_stays_apart() -> None:
    a1, _, r1 = assign_stories([QUAKE_A1, QUAKE_A2, ROUNDUP], [])
    assert r1.duplicate_of is None
    assert r1.story_id != a1.story_id


def test_the_headline_gate_is_what_keeps_the_roundup_out() -> None:
    # Without its generic headline the same text would be offered to the model: the gate decides here.
    index = StoryIndex()
    index.add("a1", story_terms(QUAKE_A1.title, QUAKE_A1.text), "s1")
    roundup = story_terms(ROUNDUP.title, ROUNDUP.text)
    assert index.features(roundup, ["s1"], gates=False)
    assert not index.features(roundup, ["s1"], gates=True)


def test_scores_rank_the_same_event_above_the_same_kind_of_event() -> None:
    index = StoryIndex()
    index.add("a1", story_terms(QUAKE_A1.title, QUAKE_A1.text), "s1")
    index.add("b1", story_terms(QUAKE_B.title, QUAKE_B.text), "s2")
    scored = dict(index.features(story_terms(QUAKE_A2.title, QUAKE_A2.text), ["s1", "s2"]))
    assert story_score(scored["s1"]) > 0.22 > story_score(scored["s2"])


def test_dates_in_the_text_become_terms() -> None:
    terms = story_terms("Vote", "The council met on February 4, 2009 and again in Sept. 2013.")
    assert terms["D:2009-feb"] and terms["D:2013-sep"]


def test_shipped_model_and_background_load_and_match_the_features() -> None:
    weights, _ = _model()
    assert len(weights) == len(FEATURES)
    background = _background()
    assert background.documents > 1000 and min(background.df.values()) >= 3


def test_stories_benchmark_scores_ours_and_the_anchor(tmp_path: Path) -> None:
    from benchmarks import stories

    docs = [QUAKE_A1, QUAKE_A2, QUAKE_B]
    labels = ["t01_a", "t01_a", "t01_b"]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps(
                {"id": d.article_id, "title": d.title, "text": d.text, "published": f"2025-01-0{i + 1}", "story": s}
            )
            + "\n"
            for i, (d, s) in enumerate(zip(docs, labels, strict=True))
        ),
        encoding="utf-8",
    )
    out = tmp_path / "scores.json"
    assert stories.main(["--corpus", str(corpus), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["story_precision"] == pytest.approx(1.0) and result["story_recall"] == pytest.approx(1.0)
    assert set(result["anchors"]) == {"tfidf_average_link_0.7", "tfidf_average_link_0.8"}


def test_average_link_merges_while_the_mean_distance_is_under_the_cut() -> None:
    from benchmarks.stories import average_link

    vectors = [{"a": 1.0}, {"a": 0.8, "b": 0.6}, {"c": 1.0}]
    assert average_link(vectors, 0.3) == [0, 0, 2]
    assert len(set(average_link(vectors, 0.1))) == 3


# --- follow-ups: a near-copy under a new lead ----------------------------------------------------------------

LOAN_BODY = (
    "The finance ministry of Arvenland said on Monday it would ask the Northern Fund for a bridging loan to "
    "meet the bond payments due this spring, after talks with private lenders stalled over the weekend.\n\n"
    "Finance Minister Jonas Telleck told parliament the government had enough cash for salaries and pensions "
    "until the end of April, but not for the payments to bondholders that fall due in March.\n\n"
    "Opposition parties accused the government of hiding the size of the shortfall for months and called for "
    "an inquiry into the ministry's forecasts, which had promised a surplus as late as December.\n\n"
    "Economists at the Harlow Institute said the loan would buy time but that the country would have to cut "
    "spending or raise taxes within the year to keep its debt from growing faster than its economy."
)
FOLLOW_UP_LEAD = (
    "Arvenland has repaid 2.4 billion crowns to its bondholders on time, Finance Minister Jonas Telleck said "
    "on Thursday, three days after the Northern Fund approved a bridging loan of 3 billion crowns.\n\n"
)


def test_a_near_copy_under_a_new_lead_is_a_follow_up_not_a_copy() -> None:
    original = NewDocument("o", "Arvenland seeks bridging loan", LOAN_BODY)
    follow_up = NewDocument("f", "Arvenland repays bondholders", FOLLOW_UP_LEAD + LOAN_BODY)
    first, second = assign_stories([original, follow_up], [])
    assert second.duplicate_of is None  # shown as its own article, so its lead reaches the digest
    assert second.story_id == first.story_id


def test_a_copy_under_a_boilerplate_line_or_a_new_headline_is_still_a_copy() -> None:
    original = NewDocument("o", "Arvenland seeks bridging loan", LOAN_BODY)
    boilerplate = NewDocument("b", "Arvenland asks fund for loan", "Share this article\n\n" + LOAN_BODY)
    edited = NewDocument("e", "Arvenland seeks loan", LOAN_BODY.replace("stalled", "broke down"))
    first, *copies = assign_stories([original, boilerplate, edited], [])
    assert [copy.duplicate_of for copy in copies] == ["o", "o"]
    assert {copy.story_id for copy in copies} == {first.story_id}
