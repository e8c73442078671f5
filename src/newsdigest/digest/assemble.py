"""Assembly: a digest date's articles from the store become stories with their key claims."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import date, datetime

from newsdigest.claims.extract import extract_claims
from newsdigest.claims.merge import merge_paraphrases
from newsdigest.claims.rank import STORY_CLAIM_SCORE_CAP
from newsdigest.claims.rankers import EXTRACTIVE, ClaimRanker, ExtractiveRanker, make_ranker
from newsdigest.config.records import SummarizerSettings
from newsdigest.digest.filters import Rules, arrange, left_out_note, make_rules
from newsdigest.digest.render import who
from newsdigest.models import Claim, Digest, SourceStatus, StoredArticle, Story, StoryArticle, WatchList
from newsdigest.store import Store
from newsdigest.stories.differences import differences
from newsdigest.stories.followups import new_claims
from newsdigest.text.wordlists import word_set

# Every story's claims start extractive; a language-model backend then re-picks the chosen stories'.
_EXTRACTIVE = ExtractiveRanker()

# Articles whose texts are read from the store in one query when filtering by include/exclude.
TEXT_CHUNK = 500


def story_from_articles(
    story_id: str,
    items: Sequence[StoredArticle],
    digest_date: date,
    word_budget: int,
    ranker: ClaimRanker | None = None,
    texts: Mapping[str, str] | None = None,
) -> Story:
    """One story from its stored articles: its outlets, times, whether it is an update, its claims.

    `texts` supplies article texts by id when the items were loaded without them. With a ranker
    (a language model), it picks the claims; when it gives none, the extractive claims stand.
    """
    if texts is not None:
        items = [
            replace(item, article=replace(item.article, text=texts.get(item.article.article_id, item.article.text)))
            for item in items
        ]
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
    articles = [item.article for item in items if item.dedup.duplicate_of is None]
    candidates: list[Claim] = []
    for article in articles:
        for claim in extract_claims(article.text, article.article_id, article.source):
            candidates.append(replace(claim, outlets=tuple(carriers[article.article_id])))
    candidates = merge_paraphrases(candidates)  # one claim told by several outlets is shown once, with them all
    title = articles[0].title if articles else story_id
    claims = ranker.story_claims(articles, candidates, carriers, word_budget, story=title) if ranker else None
    if not claims:
        claims = _EXTRACTIVE.story_claims(articles, candidates, carriers, word_budget, story=title)
    claims, news_id = new_claims(claims, candidates, items, digest_date)  # follow-ups' news first, marked new
    originals = [entry for entry in listed if entry.duplicate_of is None] or list(listed)
    is_update = any(not entry.is_new for entry in listed)
    headline_source = [entry for entry in originals if entry.is_new] if is_update else originals
    times = [entry.published for entry in listed if entry.published is not None]
    headline = (headline_source or originals)[-1 if is_update else 0]
    headline = next((entry for entry in listed if entry.article_id == news_id), headline)  # the latest news
    return Story(
        story_id=story_id,
        title=headline.title,
        summary=story_summary(headline, candidates, claims),
        articles=listed,
        claims=tuple(claims),
        first_seen=min(times) if times else None,
        latest=max(times) if times else None,
        is_update=is_update,
        notes=tuple(differences([(article.source, article.text) for article in articles])),  # where outlets differ
    )


SUMMARY_WORDS = 30  # a story's summary is at most this many words
_CLAUSE_BREAK = re.compile(r"[,;:]$")
_DASHES = frozenset({"-", "–", "—"})
_NOT_WORD = re.compile(r"\W+")


def story_summary(headline: StoryArticle, candidates: Sequence[Claim], claims: Sequence[Claim]) -> str:
    """The one line under a story's title: the headline article's lead sentence, shortened (see summarize).

    The lead is that article's first candidate claim (its opening sentence); when the article gave
    none, or its lead only repeats the headline, the story's best claim stands in; no claim, no summary.
    When the cut leaves out who made an attributed claim, " — " and the speaker (with role, and the
    date if the cut dropped it) follow, so the line never states a claim as plain fact.
    """
    title_key = _NOT_WORD.sub(" ", headline.title).strip().casefold()
    own = [claim for claim in candidates if claim.article_id == headline.article_id][:2]
    leads = [claim for claim in own if _NOT_WORD.sub(" ", claim.text).strip().casefold() != title_key][:1]
    lead = leads[0] if leads else claims[0] if claims else None
    if lead is None:
        return ""
    short = summarize(lead.text)
    if lead.speaker and short.endswith(("…", '…"', "…”")) and lead.speaker.casefold() not in short.casefold():
        said = who(lead.speaker, lead.speaker_role)
        if lead.claim_date and lead.claim_date not in short:
            said = f"{said}, {lead.claim_date}"
        short = f"{short} — {said}"
    return short


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def summarize(sentence: str, max_words: int = SUMMARY_WORDS) -> str:
    """A sentence of at most `max_words` whole words: whole when short enough, else its opening clauses.

    A longer sentence is cut after its first clause: at the first clause break (a word ending in a
    comma, semicolon or colon, or before a dash; not a comma between two figures, as in a date)
    that keeps at least a third of `max_words` and at most `max_words`; failing that, at the last
    gap between two words neither of which holds a digit (a figure is never cut from its
    neighbours), after a word that is not a function word. "…" marks the cut; a quotation left
    open is closed.
    """
    words = sentence.split()
    if len(words) <= max_words:
        return " ".join(words)
    stop = word_set("stopwords")
    shortest = max(max_words // 3, 1)
    cut = next(
        (
            k
            for k in range(shortest, max_words + 1)
            if (_CLAUSE_BREAK.search(words[k - 1]) or words[k] in _DASHES)
            and not (_has_digit(words[k - 1]) and _has_digit(words[k]))  # "September 11, 2001" is one date
        ),
        None,
    )
    if cut is None:
        cut = next(
            (
                k
                for k in range(max_words, shortest - 1, -1)
                if not _has_digit(words[k - 1] + words[k]) and _NOT_WORD.sub("", words[k - 1]).casefold() not in stop
            ),
            max_words,
        )
    text = " ".join(words[:cut]).rstrip(",;:–—- ") + "…"
    if text.count('"') % 2:
        text += '"'
    if text.count("“") > text.count("”"):
        text += "”"
    return text


# A story's rank is 1.5 a carrying outlet plus its best claim's score, capped (STORY_CLAIM_SCORE_CAP,
# with the claim weights in newsdigest.claims.rank) so that a story's rank has an upper bound known
# before its claims are extracted (see build_digest).
OUTLET_WEIGHT = 1.5
# Stories whose claims are extracted together before the stopping test is tried again.
STORY_BATCH = 64


def _rank_value(story: Story) -> float:
    best = max((claim.score for claim in story.claims), default=0.0)
    return len(story.outlets) * OUTLET_WEIGHT + min(best, STORY_CLAIM_SCORE_CAP)


def _story_rank(story: Story) -> tuple[float, float, str]:
    latest = story.latest.timestamp() if story.latest else 0.0
    return (-_rank_value(story), -latest, story.story_id)


def _rank_bound(story_id: str, items: Sequence[StoredArticle]) -> tuple[float, float, str]:
    """The best sort key a story of these articles can reach, whatever its claims (see _story_rank)."""
    outlets = len({item.article.source for item in items})
    latest = max((item.article.published or item.first_seen).timestamp() for item in items)
    return (-(outlets * OUTLET_WEIGHT + STORY_CLAIM_SCORE_CAP), -latest, story_id)


def _admitted(store: Store, items: list[StoredArticle], rules: Rules | None) -> list[StoredArticle]:
    """The articles the rules admit; texts are read in chunks only when include/exclude lists need them."""
    if rules is None or not rules.reads_text():
        return items
    kept: list[StoredArticle] = []
    for start in range(0, len(items), TEXT_CHUNK):
        chunk = items[start : start + TEXT_CHUNK]
        texts = store.article_texts(item.article.article_id for item in chunk)
        for item in chunk:
            article = replace(item.article, text=texts.get(item.article.article_id, ""))
            if rules.admits(article):
                kept.append(item)
    return kept


def _originals_texts(store: Store, groups: Sequence[Sequence[StoredArticle]]) -> dict[str, str]:
    """Texts of the articles whose claims are extracted: the originals, not their copies."""
    ids = [item.article.article_id for items in groups for item in items if item.dedup.duplicate_of is None]
    return store.article_texts(ids)


def _best_stories(
    store: Store, by_story: Mapping[str, list[StoredArticle]], digest_date: date, word_budget: int, keep: int | None
) -> list[Story]:
    """Stories best first; with `keep`, only as many are built as it takes to be sure of the best `keep`.

    Stories are built in order of their rank's upper bound, a batch at a time, and building stops
    once the `keep`-th best story so far sorts before the bound of every story not yet built: those
    could not make the cut, so their claims are never extracted (the bulk of a big day's cost).
    """
    pending = sorted(by_story.items(), key=lambda pair: _rank_bound(*pair))
    built: list[Story] = []
    for start in range(0, len(pending), STORY_BATCH):
        if keep is not None and len(built) >= keep:
            built.sort(key=_story_rank)
            # Ties on the rank value go to the later story, so the bound includes its time.
            if _story_rank(built[keep - 1]) < _rank_bound(*pending[start]):
                break
        batch = pending[start : start + STORY_BATCH]
        texts = _originals_texts(store, [items for _, items in batch])
        built.extend(story_from_articles(sid, items, digest_date, word_budget, texts=texts) for sid, items in batch)
    built.sort(key=_story_rank)
    return built


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
    summarizer: SummarizerSettings | None = None,
) -> Digest:
    """The digest for a date: every story that gained an article on that date, best first.

    With rules, articles outside the watch lists are left out, watched stories come first with
    their terms marked, per-source caps and weights apply, and stories get their sections.
    With a summarizer backend other than extractive (openai), its ranker picks each story's claims.
    """
    rules = rules or make_rules(WatchList(), [])
    # Metadata first, texts later and a chunk at a time: a big day's texts never sit in memory at once.
    day = _admitted(store, store.articles_for_digest(digest_date, with_text=False), rules)
    story_ids = {item.dedup.story_id for item in day}
    history = store.articles_of_stories(story_ids, until=digest_date, with_text=False)
    by_story: dict[str, list[StoredArticle]] = defaultdict(list)
    for item in _admitted(store, history, rules):
        by_story[item.dedup.story_id].append(item)
    if rules.reorders():
        # Watch terms, weights and caps can lift any story: every one is built and arranged.
        stories, notes = arrange(
            _best_stories(store, by_story, digest_date, word_budget, None), rules, sections, max_stories
        )
    else:
        best = _best_stories(store, by_story, digest_date, word_budget, max_stories)
        stories, notes = arrange(best[:max_stories], rules, sections)
        if len(by_story) > max_stories:
            notes.append(left_out_note(len(by_story) - max_stories, max_stories))
    if summarizer is not None and summarizer.backend != EXTRACTIVE:
        stories = _with_ranker_claims(store, stories, by_story, digest_date, word_budget, summarizer)
    return Digest(
        title=title,
        digest_date=digest_date,
        generated_at=generated_at,
        stories=tuple(stories),
        sources=tuple(sources),
        new_articles=new_articles,
        timezone=timezone,
        notes=tuple(notes),
    )


def _with_ranker_claims(
    store: Store,
    stories: Sequence[Story],
    by_story: Mapping[str, list[StoredArticle]],
    digest_date: date,
    word_budget: int,
    settings: SummarizerSettings,
) -> list[Story]:
    """The chosen stories with the backend's claims where it gives faithful ones; order unchanged."""
    texts = _originals_texts(store, [by_story[story.story_id] for story in stories])
    with closing(make_ranker(settings)) as ranker:
        rebuilt = []
        for story in stories:
            fresh = story_from_articles(
                story.story_id, by_story[story.story_id], digest_date, word_budget, ranker, texts
            )
            rebuilt.append(replace(story, claims=fresh.claims))
    return rebuilt
