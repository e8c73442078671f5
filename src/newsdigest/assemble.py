"""Assembly: a digest date's articles from the store become stories with their key claims."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from newsdigest.claims import extract_claims, fidelity_problems, select_claims
from newsdigest.filters import Rules, arrange
from newsdigest.models import Claim, Digest, SourceStatus, Story, StoryArticle
from newsdigest.store import Store, StoredArticle

log = logging.getLogger(__name__)


def story_from_articles(story_id: str, items: Sequence[StoredArticle], digest_date: date, word_budget: int) -> Story:
    """One story from its stored articles: its outlets, times, whether it is an update, its claims."""
    items = sorted(items, key=lambda item: (item.article.published or item.first_seen, item.article.article_id))
    listed = tuple(
        StoryArticle(
            article_id=item.article.article_id,
            source=item.article.source,
            title=item.article.title,
            url=item.article.url,
            published=item.article.published or item.first_seen,
            duplicate_of=item.dedup.duplicate_of,
            is_new=item.digest_date == digest_date,
        )
        for item in items
    )
    # A copy's outlet carries every claim of the article it copies.
    carriers: dict[str, list[str]] = defaultdict(list)
    for item in items:
        root = item.dedup.duplicate_of or item.article.article_id
        if item.article.source not in carriers[root]:
            carriers[root].append(item.article.source)
    candidates: list[Claim] = []
    texts: dict[str, str] = {}
    for item in items:
        if item.dedup.duplicate_of is not None:
            continue
        article = item.article
        texts[article.article_id] = article.text
        for claim in extract_claims(article.text, article.article_id, article.source):
            candidates.append(replace(claim, outlets=tuple(carriers[article.article_id])))
    claims = []
    for claim in select_claims(candidates, word_budget):
        problems = fidelity_problems(claim, [texts.get(claim.article_id, "")])
        if problems:
            log.warning("dropped a claim that failed the fidelity check: %s", "; ".join(problems))
            continue
        claims.append(claim)
    originals = [entry for entry in listed if entry.duplicate_of is None] or list(listed)
    is_update = any(not entry.is_new for entry in listed)
    headline_source = [entry for entry in originals if entry.is_new] if is_update else originals
    times = [entry.published for entry in listed if entry.published is not None]
    return Story(
        story_id=story_id,
        title=(headline_source or originals)[-1 if is_update else 0].title,
        articles=listed,
        claims=tuple(claims),
        first_seen=min(times) if times else None,
        latest=max(times) if times else None,
        is_update=is_update,
    )


def _story_rank(story: Story) -> tuple[float, float, str]:
    best = max((claim.score for claim in story.claims), default=0.0)
    latest = story.latest.timestamp() if story.latest else 0.0
    return (-(len(story.outlets) * 1.5 + best), -latest, story.story_id)


def build_digest(
    store: Store,
    digest_date: date,
    *,
    title: str,
    generated_at: datetime,
    word_budget: int,
    max_stories: int,
    timezone: str = "UTC",
    sources: Sequence[SourceStatus] = (),
    new_articles: int = 0,
    rules: Rules | None = None,
    sections: str = "none",
) -> Digest:
    """The digest for a date: every story that gained an article on that date, best first.

    With rules, articles outside the watch lists are left out, watched stories come first with
    their terms marked, per-source caps and weights apply, and stories get their sections.
    """
    day = store.articles_for_digest(digest_date)
    if rules is not None:
        day = [item for item in day if rules.admits(item.article)]
    story_ids = {item.dedup.story_id for item in day}
    by_story: dict[str, list[StoredArticle]] = defaultdict(list)
    for item in store.articles_of_stories(story_ids, until=digest_date):
        if rules is None or rules.admits(item.article):
            by_story[item.dedup.story_id].append(item)
    stories = [story_from_articles(story_id, items, digest_date, word_budget) for story_id, items in by_story.items()]
    stories.sort(key=_story_rank)
    notes: tuple[str, ...] = ()
    if rules is not None:
        stories, cap_notes = arrange(stories, rules, sections)
        notes += tuple(cap_notes)
    if len(stories) > max_stories:
        notes += (f"{len(stories) - max_stories} more stories were left out (max_stories = {max_stories}).",)
    return Digest(
        title=title,
        digest_date=digest_date,
        generated_at=generated_at,
        stories=tuple(stories[:max_stories]),
        sources=tuple(sources),
        new_articles=new_articles,
        timezone=timezone,
        notes=notes,
    )
