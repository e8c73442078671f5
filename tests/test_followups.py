"""Follow-ups in the digest: a story's news since its first report is shown first, marked new, and titles it.

The articles go through the real dedup (a follow-up under a new lead is its own article) and the real
story assembly; the texts are written for this test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from newsdigest.digest.assemble import story_from_articles
from newsdigest.models import Article, NewDocument, StoredArticle
from newsdigest.stories.assign import assign_stories
from tests.test_story_grouping import FOLLOW_UP_LEAD, LOAN_BODY, QUAKE_A1, QUAKE_A2

DAY = date(2025, 3, 6)
START = datetime(2025, 3, 6, 7, 0, tzinfo=UTC)


def _items(texts: list[tuple[str, str, str, str]], day: date = DAY, hours: int = 8) -> list[StoredArticle]:
    records = assign_stories([NewDocument(aid, title, text) for aid, _, title, text in texts], [])
    items = []
    for index, ((aid, source, title, text), record) in enumerate(zip(texts, records, strict=True)):
        when = START + timedelta(hours=hours * index)
        article = Article(aid, source, f"https://{source}.example/{aid}", None, aid, title, when, text)
        items.append(StoredArticle(article=article, digest_date=day, first_seen=when, dedup=record))
    return items


def test_a_follow_ups_new_lead_comes_first_marked_new_and_titles_the_story() -> None:
    items = _items(
        [
            ("o", "ledger", "Arvenland seeks bridging loan", LOAN_BODY),
            ("f", "courier", "Arvenland repays bondholders", FOLLOW_UP_LEAD + LOAN_BODY),
        ]
    )
    assert items[0].dedup.story_id == items[1].dedup.story_id and items[1].dedup.duplicate_of is None
    story = story_from_articles(items[0].dedup.story_id, items, DAY, word_budget=120)
    assert story.title == "Arvenland repays bondholders"
    assert story.claims[0].is_new and story.claims[0].article_id == "f"
    assert "repaid" in story.claims[0].text
    assert not any(claim.is_new for claim in story.claims if claim.article_id == "o")


def test_a_single_report_has_nothing_new() -> None:
    items = _items([("o", "ledger", "Arvenland seeks bridging loan", LOAN_BODY)])
    story = story_from_articles(items[0].dedup.story_id, items, DAY, word_budget=120)
    assert story.title == "Arvenland seeks bridging loan"
    assert not any(claim.is_new for claim in story.claims)


def test_another_outlets_report_within_hours_is_not_news() -> None:
    # Written independently (not a re-written copy), two hours apart: other details, not a development.
    items = _items(
        [
            ("a1", "ledger", QUAKE_A1.title, QUAKE_A1.text),
            ("a2", "courier", QUAKE_A2.title, QUAKE_A2.text),
        ],
        hours=2,
    )
    assert items[0].dedup.story_id == items[1].dedup.story_id
    story = story_from_articles(items[0].dedup.story_id, items, DAY, word_budget=120)
    assert story.title == QUAKE_A1.title
    assert not any(claim.is_new for claim in story.claims)


def test_a_re_written_copy_is_news_even_within_hours() -> None:
    items = _items(
        [
            ("o", "ledger", "Arvenland seeks bridging loan", LOAN_BODY),
            ("f", "courier", "Arvenland repays bondholders", FOLLOW_UP_LEAD + LOAN_BODY),
        ],
        hours=2,
    )
    story = story_from_articles(items[0].dedup.story_id, items, DAY, word_budget=120)
    assert story.title == "Arvenland repays bondholders"
    assert story.claims[0].is_new and story.claims[0].article_id == "f"
