"""One claim, several outlets: restatements of the same figures fold into one claim; near-misses stay apart.

The sentences are written for these tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from newsdigest.claims.merge import merge_paraphrases, same_claim
from newsdigest.digest.assemble import story_from_articles
from newsdigest.models import Article, Claim, DedupRecord, StoredArticle

VOTE = "The council voted 7 to 2 on Tuesday to close the Old Mill bridge."
VOTE_AGAIN = "Councillors backed the closure by 7 votes to 2, the clerk said."


def test_a_restatement_of_the_same_figures_is_the_same_claim() -> None:
    assert same_claim(VOTE, VOTE_AGAIN)
    assert same_claim("Fourteen people were injured in the quake, officials said.", "The quake injured 14 people.")


def test_near_misses_with_another_number_or_name_are_other_claims() -> None:
    assert not same_claim(VOTE, "The council voted 6 to 3 on Tuesday to close the Old Mill bridge.")
    assert not same_claim(
        "Mayor Ilse Marrow said 14 people were hurt.", "Governor Jonas Telleck said 14 people were hurt."
    )
    assert not same_claim("The repairs will cost 3 million crowns.", "Police arrested 3 men on Monday.")
    assert not same_claim("The council met on Tuesday.", "Councillors met on Tuesday.")  # no figure: not this rule


def test_merging_keeps_the_first_claim_with_every_outlet_and_the_best_score() -> None:
    first = Claim(VOTE, "figure", score=0.4, outlets=("Ledger",), article_id="a")
    second = Claim(VOTE_AGAIN, "figure", score=0.9, outlets=("Courier", "Ledger"), article_id="b")
    other = Claim("The bridge will reopen in 8 months.", "figure", score=0.5, outlets=("Courier",), article_id="b")
    merged = merge_paraphrases([first, second, other])
    assert [claim.text for claim in merged] == [VOTE, other.text]
    assert merged[0].outlets == ("Ledger", "Courier") and merged[0].score == 0.9
    # Two sentences of one article are never folded together: they are two things it says.
    assert len(merge_paraphrases([first, Claim(VOTE_AGAIN, "figure", article_id="a")])) == 2


def test_the_story_shows_the_vote_once_with_both_outlets() -> None:
    day = date(2025, 3, 6)
    start = datetime(2025, 3, 6, 7, 0, tzinfo=UTC)
    texts = [("a", "Ledger", VOTE + " Buses will be rerouted."), ("b", "Courier", VOTE_AGAIN + " Work starts soon.")]
    items = []
    for index, (aid, source, text) in enumerate(texts):
        when = start + timedelta(hours=index)
        article = Article(aid, source, None, None, aid, "Council closes Old Mill bridge", when, text)
        items.append(StoredArticle(article, day, when, DedupRecord(aid, aid, (), {}, "s1")))
    story = story_from_articles("s1", items, day, word_budget=80)
    votes = [claim for claim in story.claims if "7" in claim.text]
    assert len(votes) == 1 and set(votes[0].outlets) == {"Ledger", "Courier"}
