"""Watch lists, per-source caps and weights, and sections: what a reader asked to see first, or not at all."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from newsdigest.models import Article, Source, Story, WatchList

OTHER_SECTION = "Other stories"


@lru_cache(maxsize=1024)
def term_pattern(term: str) -> re.Pattern[str]:
    """A watch term as a pattern: /.../ is a regular expression, anything else a whole-word keyword."""
    if len(term) > 2 and term.startswith("/") and term.endswith("/"):
        return re.compile(term[1:-1], re.IGNORECASE)
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def matching_terms(terms: Iterable[str], text: str) -> list[str]:
    """The terms that occur in the text, in the order given."""
    return [term for term in terms if term_pattern(term).search(text)]


@dataclass(frozen=True)
class Rules:
    """Every source's filters merged with the global ones, ready to apply."""

    global_watch: WatchList
    by_source: Mapping[str, Source]

    def watch_for(self, source: str) -> WatchList:
        """The global watch list extended by the source's own."""
        own = self.by_source[source].watch if source in self.by_source else WatchList()
        return WatchList(
            include=self.global_watch.include + own.include,
            exclude=self.global_watch.exclude + own.exclude,
            highlight=self.global_watch.highlight + own.highlight,
        )

    def admits(self, article: Article) -> bool:
        """Whether an article passes its include and exclude lists (title and text are searched)."""
        watch = self.watch_for(article.source)
        text = f"{article.title}\n{article.text}"
        if watch.include and not matching_terms(watch.include, text):
            return False
        return not matching_terms(watch.exclude, text)

    def highlights(self, story: Story) -> tuple[str, ...]:
        """Watch terms (highlight and include) found in the story's title, claims or article titles."""
        text = "\n".join([story.title, *(claim.text for claim in story.claims), *(a.title for a in story.articles)])
        terms: dict[str, None] = {}
        for outlet in story.outlets:
            watch = self.watch_for(outlet)
            for term in matching_terms(watch.highlight + watch.include, text):
                terms.setdefault(term, None)
        return tuple(terms)

    def weight(self, story: Story) -> float:
        """The largest weight among the story's outlets."""
        return max((self.by_source[o].weight for o in story.outlets if o in self.by_source), default=1.0)

    def cap(self, source: str) -> int | None:
        """At most this many stories may be led by the source."""
        return self.by_source[source].max_stories if source in self.by_source else None

    def category(self, source: str) -> str | None:
        """The source's category, if the config gives one."""
        return self.by_source[source].category if source in self.by_source else None

    def reads_text(self) -> bool:
        """Whether admitting an article needs its text (any include or exclude list)."""
        watches = [self.global_watch, *(source.watch for source in self.by_source.values())]
        return any(watch.include or watch.exclude for watch in watches)

    def reorders(self) -> bool:
        """Whether these rules can move a story past a better-ranked one: watch terms, weights or caps."""
        watches = [self.global_watch, *(source.watch for source in self.by_source.values())]
        return any(watch.include or watch.highlight for watch in watches) or any(
            source.weight != 1.0 or source.max_stories is not None for source in self.by_source.values()
        )


def make_rules(global_watch: WatchList, sources: Sequence[Source]) -> Rules:
    """Rules for a run's sources."""
    return Rules(global_watch=global_watch, by_source={source.name: source for source in sources})


def lead_source(story: Story) -> str:
    """The outlet that first carried the story: the one its cap counts against."""
    originals = [a for a in story.articles if a.duplicate_of is None] or list(story.articles)
    return originals[0].source


def arrange(
    stories: Sequence[Story], rules: Rules, sections: str, limit: int | None = None
) -> tuple[list[Story], list[str]]:
    """Mark highlights and sections, put watched stories first, apply caps; returns stories and notes.

    `stories` arrive best first; a watched story keeps its relative order among watched ones,
    and a source's weight moves its stories up or down among their peers. With a limit, the best
    `limit` stories are kept before they are grouped into sections, so sections never push a
    better story out, and a note says how many were left out.
    """
    marked = []
    for position, story in enumerate(stories):
        highlights = rules.highlights(story)
        section = ""
        if sections == "category":
            section = rules.category(lead_source(story)) or OTHER_SECTION
        elif sections == "watch":
            section = highlights[0] if highlights else OTHER_SECTION
        marked.append(
            (not highlights, position / rules.weight(story), replace(story, highlights=highlights, section=section))
        )
    marked.sort(key=lambda item: (item[0], item[1]))
    kept: list[Story] = []
    led: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for _, _, story in marked:
        source = lead_source(story)
        cap = rules.cap(source)
        if cap is not None and led.get(source, 0) >= cap:
            dropped[source] = dropped.get(source, 0) + 1
            continue
        led[source] = led.get(source, 0) + 1
        kept.append(story)
    left_out = max(len(kept) - limit, 0) if limit is not None else 0
    kept = kept[:limit] if limit is not None else kept
    if sections != "none":
        order: dict[str, int] = {}
        for story in kept:
            order.setdefault(story.section, len(order))
        # "Other stories" last; otherwise sections appear where their best story ranks.
        kept.sort(key=lambda story: (story.section == OTHER_SECTION, order[story.section]))
    notes = [
        f"{count} more {'story' if count == 1 else 'stories'} from {source} left out "
        f"(max_stories = {rules.cap(source)})."
        for source, count in sorted(dropped.items())
    ]
    if left_out and limit is not None:
        notes.append(left_out_note(left_out, limit))
    return kept, notes


def left_out_note(count: int, limit: int) -> str:
    """The footer line for stories beyond the digest's max_stories."""
    return f"{count} more {'story was' if count == 1 else 'stories were'} left out (max_stories = {limit})."
