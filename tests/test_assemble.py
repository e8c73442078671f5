"""build_digest on a big day: only the stories that can make the cut get their claims built, same result."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from newsdigest.digest import assemble
from newsdigest.digest.assemble import STORY_BATCH, build_digest
from newsdigest.digest.filters import make_rules
from newsdigest.models import Article, NewDocument, Source, SourceKind, WatchList
from newsdigest.store import Store
from newsdigest.stories.assign import assign_stories

DAY = date(2025, 4, 16)
NOW = datetime(2025, 4, 16, 6, 0, tzinfo=UTC)
OUTLETS = ("Northwind Herald", "Meridian Wire", "Harbor City Ledger", "Lakeside Daily")
SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "vo", "zu", "bel", "dor", "fi", "gan", "hul", "pra", "sto", "wen")


def _name(rng: random.Random, parts: int = 3) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _text(rng: random.Random) -> str:
    """A short made-up report: a town, people, figures; claims whose scores differ from story to story."""
    town, mayor, critic = _name(rng), f"{_name(rng, 2)} {_name(rng)}", f"{_name(rng, 2)} {_name(rng)}"
    sentences = [
        f"{town} council approved a {rng.randint(2, 90)} million {_name(rng)} plan on Monday.",
        f"Mayor {mayor} said the {_name(rng)} works would take {rng.randint(2, 9)} years.",
    ]
    if rng.random() < 0.6:
        sentences.append(f'"This is the {_name(rng)} we needed," {critic} told reporters in {town}.')
    if rng.random() < 0.5:
        sentences.append(f"{critic} warned that {_name(rng)} costs could rise by {rng.randint(3, 40)} percent.")
    sentences.append(f"Residents of {_name(rng)} will be asked for their views in {_name(rng)}.")
    return " ".join(sentences)


def _fill(store: Store, stories: int, seed: int = 7) -> int:
    """Save a day of articles: `stories` made-up reports, some carried by several outlets; returns the count."""
    rng = random.Random(seed)
    articles: list[Article] = []
    for number in range(stories):
        text = _text(rng)
        published = NOW - timedelta(minutes=rng.randint(10, 2000))
        for copy, outlet in enumerate(rng.sample(OUTLETS, rng.choice((1, 1, 1, 2, 3)))):
            articles.append(
                Article(
                    article_id=f"a{number}-{copy}",
                    source=outlet,
                    url=f"https://{outlet.split()[0].lower()}.example/{number}.html",
                    canonical_url=f"https://{outlet.split()[0].lower()}.example/{number}.html",
                    guid=f"g{number}-{copy}",
                    title=f"{_name(rng)} {_name(rng)} report {number}",
                    published=published + timedelta(minutes=copy),
                    text=text,
                    extraction="page",
                )
            )
    records = assign_stories([NewDocument(a.article_id, a.title, a.text) for a in articles], [])
    return store.save_articles(list(zip(articles, records, strict=True)), DAY, NOW)


@pytest.fixture(scope="module")
def big_day(tmp_path_factory: pytest.TempPathFactory) -> str:
    state = str(tmp_path_factory.mktemp("assemble") / "state.sqlite")
    store = Store.open(state)
    try:
        assert _fill(store, 400) > 400
    finally:
        store.close()
    return state


def _digest(state: str, max_stories: int, **kwargs: Any) -> Any:
    store = Store.open(state)
    try:
        return build_digest(store, DAY, title="T", generated_at=NOW, word_budget=80, max_stories=max_stories, **kwargs)
    finally:
        store.close()


def _counting_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every article id whose text build_digest reads from the store."""
    read: list[str] = []
    original = Store.article_texts

    def counting(self: Store, article_ids: Any) -> dict[str, str]:
        ids = list(article_ids)
        read.extend(ids)
        return original(self, ids)

    monkeypatch.setattr(Store, "article_texts", counting)
    return read


# A highlight term no article contains: the rules then "can reorder", so every story is built and
# arranged, yet nothing moves. The two digests must be the same.
NO_OP_REORDERING = make_rules(WatchList(highlight=("zzzqqq-never-there",)), [])


@pytest.mark.parametrize("max_stories", [1, 5, 40])
def test_pruned_digest_equals_building_every_story(
    big_day: str, max_stories: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = _counting_texts(monkeypatch)
    pruned = _digest(big_day, max_stories)
    pruned_reads = len(read)
    read.clear()
    full = _digest(big_day, max_stories, rules=NO_OP_REORDERING)
    assert NO_OP_REORDERING.reorders()
    assert [s.story_id for s in pruned.stories] == [s.story_id for s in full.stories]
    assert pruned.stories == full.stories
    assert pruned.notes == full.notes
    total = len({s for s in read})
    assert total > 2 * STORY_BATCH, "too few stories for the pruning to matter"
    # With a short digest most stories are never built: their texts are never even read.
    if max_stories <= 5:
        assert pruned_reads < total / 2


def test_the_left_out_note_counts_every_story_of_the_day(big_day: str) -> None:
    everything = _digest(big_day, 10_000)
    short = _digest(big_day, 3)
    assert len(short.stories) == 3
    assert short.stories == everything.stories[:3]
    assert short.notes == (f"{len(everything.stories) - 3} more stories were left out (max_stories = 3).",)


def test_an_exclude_term_in_the_text_only_still_keeps_its_articles_out(big_day: str) -> None:
    everything = _digest(big_day, 10_000)
    # A word from the body of the best story's first claim, not its title.
    word = next(w.strip('.,"') for w in everything.stories[0].claims[0].text.split() if len(w) > 6)
    rules = make_rules(WatchList(exclude=(word,)), [])
    assert rules.reads_text() and not rules.reorders()
    filtered = _digest(big_day, 10_000, rules=rules)
    assert everything.stories[0].story_id not in {s.story_id for s in filtered.stories}
    for story in filtered.stories:
        assert all(word.lower() not in claim.text.lower() for claim in story.claims)


def test_sections_never_push_a_better_story_out(big_day: str) -> None:
    sources = [
        Source(name=outlet, location=f"https://{n}.example/feed", kind=SourceKind.FEED, category=f"Desk {n % 2}")
        for n, outlet in enumerate(OUTLETS)
    ]
    plain = _digest(big_day, 6)
    sectioned = _digest(big_day, 6, rules=make_rules(WatchList(), sources), sections="category")
    assert {s.story_id for s in sectioned.stories} == {s.story_id for s in plain.stories}
    sections = [s.section for s in sectioned.stories]
    assert sections == sorted(sections, key=sections.index)  # grouped: each section's stories together


def test_story_rank_bound_is_never_beaten(big_day: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(big_day)
    try:
        day = store.articles_for_digest(DAY, with_text=False)
        by_story: dict[str, list[Any]] = {}
        for item in day:
            by_story.setdefault(item.dedup.story_id, []).append(item)
        stories = assemble._best_stories(store, by_story, DAY, 80, None)
    finally:
        store.close()
    for story in stories:
        assert assemble._rank_bound(story.story_id, by_story[story.story_id]) <= assemble._story_rank(story)
