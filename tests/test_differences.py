"""Where outlets differ: different figures for one quantity make one note naming the outlets; other figures do not.

The sentences are written for these tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from newsdigest.digest.assemble import story_from_articles
from newsdigest.models import Article, DedupRecord, StoredArticle
from newsdigest.stories.differences import differences, figures

TROOPS_A = "Officials said on Monday that 11,000 troops had massed near the northern border. Talks resume on Friday."
TROOPS_B = "About 12,000 troops have gathered near the northern border, officials said. The ministry gave no figure."


def test_two_figures_for_one_quantity_make_one_note_naming_both_outlets() -> None:
    notes = differences([("Ledger", TROOPS_A), ("Courier", TROOPS_B)])
    assert notes == ["Figures differ: Ledger gives 11,000 troops, Courier 12,000 troops."]


def test_millions_with_a_decimal_are_one_quantity() -> None:
    notes = differences(
        [
            ("Ledger", "The census counted 14.2 million residents in the region this year."),
            ("Courier", "The region now has 14 million residents, the census found."),
        ]
    )
    assert notes == ["Figures differ: Ledger gives 14.2 million residents, Courier 14 million residents."]


def test_different_quantities_are_not_a_disagreement() -> None:
    # The same word counted in another setting, values far apart, time spans, and one outlet giving both.
    assert not differences(
        [
            ("Ledger", "Three died and 5 people were hurt in the crash."),
            ("Courier", "The bus carried 6 people to work."),
        ]
    )
    assert not differences(
        [("Ledger", "Police said 3 people were hurt."), ("Courier", "Police said 40 people were hurt.")]
    )
    assert not differences(
        [("Ledger", "The trial lasted 10 days in court."), ("Courier", "The trial took 12 days in court.")]
    )
    assert not differences(
        [
            ("Ledger", "A 6.1 quake hit the island on Monday, officials said."),
            ("Courier", "Earlier a 5.6 quake hit the island, and on Monday a 6.1 one followed, officials said."),
        ]
    )


def test_one_outlet_alone_has_no_differences_and_figures_keep_their_words() -> None:
    assert not differences([("Ledger", TROOPS_A), ("Ledger", TROOPS_B)])
    (figure,) = figures(TROOPS_A)
    assert (figure.value, figure.written, figure.unit) == (11000.0, "11,000 troops", "troops")


def test_the_story_carries_the_note() -> None:
    day = date(2025, 3, 6)
    start = datetime(2025, 3, 6, 7, 0, tzinfo=UTC)
    items = []
    for index, (aid, source, text) in enumerate([("a", "Ledger", TROOPS_A), ("b", "Courier", TROOPS_B)]):
        when = start + timedelta(hours=index)
        article = Article(aid, source, None, None, aid, "Troops mass at northern border", when, text)
        record = DedupRecord(aid, aid, (), {}, "s1")
        items.append(StoredArticle(article=article, digest_date=day, first_seen=when, dedup=record))
    story = story_from_articles("s1", items, day, word_budget=80)
    assert story.notes == ("Figures differ: Ledger gives 11,000 troops, Courier 12,000 troops.",)
