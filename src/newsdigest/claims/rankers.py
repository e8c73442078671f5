"""Claim rankers: what picks a story's key claims, behind one interface, chosen by [summarizer] backend.

A ranker gets a story's original articles and their extracted candidate claims and returns the
claims to show, or None to leave the story to the extractive ranker (a model that failed). To add
one: write a module with a class that takes the SummarizerSettings and has story_claims and close,
then add a row to BACKENDS (and the name to the config's allowed backends).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from newsdigest.claims.fidelity import fidelity_problems
from newsdigest.claims.rank import select_claims
from newsdigest.models import Article, Claim

if TYPE_CHECKING:
    from newsdigest.config.records import SummarizerSettings

log = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
# [summarizer] backend -> "module:class" of its ranker, imported only when chosen: with the default
# backend the model client (and httpx) is never even loaded.
BACKENDS: dict[str, str] = {
    EXTRACTIVE: "newsdigest.claims.rankers:ExtractiveRanker",
    "openai": "newsdigest.claims.llm.client:LLMSummarizer",
}


class ClaimRanker(Protocol):
    """Picks a story's key claims from its articles and their candidate claims."""

    def story_claims(
        self,
        articles: Sequence[Article],
        candidates: Sequence[Claim] = (),
        carriers: Mapping[str, Sequence[str]] | None = None,
        word_budget: int = 160,
        story: str = "",
    ) -> tuple[Claim, ...] | None:
        """The claims to show, best first; None leaves the story to the extractive ranker.

        `carriers` maps an article id to every outlet that printed it (copies included).
        """
        ...

    def close(self) -> None:
        """Release what the ranker holds (a connection); called once per digest."""
        ...


class ExtractiveRanker:
    """The built-in ranker: the best-scored candidates within the word budget that pass the fidelity check."""

    def __init__(self, settings: SummarizerSettings | None = None) -> None:
        self.settings = settings

    def story_claims(
        self,
        articles: Sequence[Article],
        candidates: Sequence[Claim] = (),
        carriers: Mapping[str, Sequence[str]] | None = None,
        word_budget: int = 160,
        story: str = "",
    ) -> tuple[Claim, ...]:
        """The selected candidates (see claims.rank.select_claims) whose facts all appear in their article."""
        texts = {article.article_id: article.text for article in articles}
        claims = []
        for claim in select_claims(candidates, word_budget):
            problems = fidelity_problems(claim, [texts.get(claim.article_id, "")])
            if problems:
                log.warning("dropped a claim that failed the fidelity check: %s", "; ".join(problems))
                continue
            claims.append(claim)
        return tuple(claims)

    def close(self) -> None:
        """Nothing to release."""


def make_ranker(settings: SummarizerSettings) -> ClaimRanker:
    """The ranker of the settings' backend (ValueError for a backend BACKENDS does not list)."""
    if settings.backend not in BACKENDS:
        raise ValueError(f"no claim ranker for backend {settings.backend!r}; known: {', '.join(BACKENDS)}")
    module, _, name = BACKENDS[settings.backend].partition(":")
    factory: Callable[[SummarizerSettings], ClaimRanker] = getattr(import_module(module), name)
    return factory(settings)
