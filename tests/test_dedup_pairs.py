"""Story grouping on hand-labelled pairs of short fictional articles: same event by two outlets, or not.

tests/data/story_pairs.jsonl holds one pair a line: ``{"id", "label": "same" | "different", "kind", "a", "b"}``
with ``a`` and ``b`` as ``{"title", "text"}``. Same-event pairs are two independent write-ups (different words,
same who/what/where/when); different-event pairs include hard negatives: one generic title over two stories,
one place or one person or one company in two events, one kind of event in two places.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from newsdigest.models import NewDocument
from newsdigest.stories.assign import assign_stories

PAIRS = Path(__file__).parent / "data" / "story_pairs.jsonl"

# Floors as measured on the set (2026-11-25), the same before and after the NumPy-free speed-up of the dedup code.
# Pooled: 19/19 same-event pairs grouped, 19/20 different-event pairs kept apart (the Greywater park fee story
# joins the Greywater hiker rescue: one place, two events), so pair precision 19/20 = 0.95 and recall 1.0.
# Pair by pair: 19/19 and 20/20. A change to story grouping may not go below these.
MIN_SAME_RECALL = 1.0  # share of same-event pairs put into one story
MIN_DIFFERENT_KEPT_APART = 0.95  # share of different-event pairs kept apart
MIN_ISOLATED_SAME_RECALL = 1.0
MIN_ISOLATED_DIFFERENT_KEPT_APART = 1.0


def load_pairs() -> list[dict]:
    """The labelled pairs."""
    with PAIRS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def grouped_pooled(pairs: list[dict]) -> dict[str, bool]:
    """Whether each pair ends in one story when all articles go through one run: every `a`, then every `b`."""
    docs = [NewDocument(f"{p['id']}-a", p["a"]["title"], p["a"]["text"]) for p in pairs]
    docs += [NewDocument(f"{p['id']}-b", p["b"]["title"], p["b"]["text"]) for p in pairs]
    story = {record.article_id: record.story_id for record in assign_stories(docs, [])}
    return {p["id"]: story[f"{p['id']}-a"] == story[f"{p['id']}-b"] for p in pairs}


def grouped_isolated(pairs: list[dict]) -> dict[str, bool]:
    """Whether each pair ends in one story when its two articles are the only ones."""
    result = {}
    for p in pairs:
        a, b = assign_stories(
            [NewDocument("a", p["a"]["title"], p["a"]["text"]), NewDocument("b", p["b"]["title"], p["b"]["text"])], []
        )
        result[p["id"]] = a.story_id == b.story_id
    return result


def scores(pairs: list[dict], grouped: dict[str, bool]) -> tuple[float, float]:
    """(share of same-event pairs grouped, share of different-event pairs kept apart)."""
    same = [grouped[p["id"]] for p in pairs if p["label"] == "same"]
    different = [not grouped[p["id"]] for p in pairs if p["label"] == "different"]
    return sum(same) / len(same), sum(different) / len(different)


def test_the_set_is_big_enough_and_has_hard_negatives() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 30
    labels = Counter(p["label"] for p in pairs)
    assert labels["same"] >= 15 and labels["different"] >= 15
    kinds = Counter(p["kind"] for p in pairs if p["label"] == "different")
    for kind in ("generic title", "same place, different event", "same person, different event"):
        assert kinds[kind] >= 3, kind
    assert len({p["id"] for p in pairs}) == len(pairs)


def test_pooled_story_grouping_meets_the_floors() -> None:
    pairs = load_pairs()
    same_recall, different_precision = scores(pairs, grouped_pooled(pairs))
    assert same_recall >= MIN_SAME_RECALL
    assert different_precision >= MIN_DIFFERENT_KEPT_APART


def test_pairwise_story_grouping_meets_the_floors() -> None:
    pairs = load_pairs()
    same_recall, different_precision = scores(pairs, grouped_isolated(pairs))
    assert same_recall >= MIN_ISOLATED_SAME_RECALL
    assert different_precision >= MIN_ISOLATED_DIFFERENT_KEPT_APART


def test_generic_titles_never_merge_and_independent_reports_are_not_duplicates() -> None:
    pairs = load_pairs()
    grouped = grouped_pooled(pairs)
    assert not any(grouped[p["id"]] for p in pairs if p["kind"] == "generic title")
    docs = [NewDocument(f"{p['id']}-{side}", p[side]["title"], p[side]["text"]) for p in pairs for side in "ab"]
    assert all(record.duplicate_of is None for record in assign_stories(docs, []))
