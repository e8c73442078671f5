"""Follow-ups: which of a story's claims are news since its first report, shown first and marked new.

A claim is new when its article is not the story's first report, came at least FOLLOW_UP_AFTER after it (or
re-writes an earlier report under a new lead) and was first seen in this digest, and the claim brings at
least two names or figures that none of the story's earlier articles had (their stored story terms). A story
with a new claim takes the headline of the latest article that brought one, so that its title follows its
latest development.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from newsdigest.models import Claim, StoredArticle
from newsdigest.stories.grouping import story_terms
from newsdigest.stories.nearcopy import estimated_jaccard

NEW_FACTS = 2  # names or figures a claim must add to what the story's earlier articles said
# Reports of one event by several outlets within hours differ in details without being news of it.
FOLLOW_UP_AFTER = timedelta(hours=6)
REWRITE_JACCARD = 0.5  # estimated word 5-gram Jaccard of a re-written copy with the report it re-writes


def _facts(text: str) -> set[str]:
    return {term for term in story_terms("", text) if term[0] in "END"}


def new_claims(
    claims: Sequence[Claim], candidates: Sequence[Claim], items: Sequence[StoredArticle], digest_date: date
) -> tuple[tuple[Claim, ...], str | None]:
    """The claims with new ones marked and first, and the id of the latest article that brought news (or None).

    When no chosen claim is new but a follow-up's lead is, that lead takes the last place so that the news is
    shown at all.
    """
    originals = sorted(
        (item for item in items if item.dedup.duplicate_of is None),
        key=lambda item: (item.article.published or item.first_seen, item.article.article_id),
    )
    if len(originals) < 2:
        return tuple(claims), None
    # What each article's predecessors had said: the union of their stored story terms.
    known_before: dict[str, set[str]] = {}
    seen: set[str] = set()
    for item in originals:
        known_before[item.article.article_id] = set(seen)
        seen.update(term for term in item.dedup.terms if term[0] in "END")
    first = originals[0].article.published or originals[0].first_seen

    def follows_up(index: int) -> bool:
        item = originals[index]
        if (item.article.published or item.first_seen) - first >= FOLLOW_UP_AFTER:
            return True
        # A re-written copy of an earlier report (dedup kept it for its new lead) is news whenever it comes.
        return any(
            estimated_jaccard(item.dedup.signature, earlier.dedup.signature) >= REWRITE_JACCARD
            for earlier in originals[:index]
        )

    fresh = {
        originals[index].article.article_id
        for index in range(1, len(originals))
        if originals[index].digest_date == digest_date and follows_up(index)
    }
    order = {item.article.article_id: index for index, item in enumerate(originals)}

    def is_new(claim: Claim) -> bool:
        earlier = known_before.get(claim.article_id)
        return claim.article_id in fresh and earlier is not None and len(_facts(claim.text) - earlier) >= NEW_FACTS

    marked = [replace(claim, is_new=True) if is_new(claim) else claim for claim in claims]
    if marked and not any(claim.is_new for claim in marked):
        leads = [claim for claim in candidates if claim.kind == "lead" and is_new(claim)]
        if leads:
            latest = max(leads, key=lambda claim: order[claim.article_id])
            marked[-1] = replace(latest, is_new=True)
    news = [claim for claim in marked if claim.is_new]
    if not news:
        return tuple(marked), None
    latest_id = max((claim.article_id for claim in news), key=order.__getitem__)
    return (*news, *(claim for claim in marked if not claim.is_new)), latest_id
