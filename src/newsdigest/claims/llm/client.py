"""LLMSummarizer: the "openai" ranker, asking an OpenAI-compatible chat endpoint for each story's claims."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace

import httpx

from newsdigest import __version__
from newsdigest.claims.llm.check import ArticleIndex, check_claim, fold
from newsdigest.claims.llm.prompt import build_messages
from newsdigest.claims.llm.reply import ModelClaim, parse_reply
from newsdigest.config.records import SummarizerSettings
from newsdigest.errors import SummarizerError
from newsdigest.models import Article, Claim
from newsdigest.sources.fetch import redact_text, redact_url

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 2_000_000  # a chat completion is a few kilobytes; more is a broken or hostile server
MAX_FAILURES_IN_A_ROW = 2  # then the rest of the run is extractive, not one timeout per story


class LLMSummarizer:
    """Asks an OpenAI-compatible chat endpoint for each story's claims; one per digest, sharing a connection."""

    def __init__(
        self,
        settings: SummarizerSettings,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not settings.base_url or not settings.model:
            raise SummarizerError("the openai summarizer needs base_url and model")
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        environ = os.environ if environ is None else environ
        self._key = ""
        if settings.api_key_env:
            self._key = environ.get(settings.api_key_env, "").strip()
            if not self._key:
                log.warning("summarizer: %s (api_key_env) is not set; sending no API key", settings.api_key_env)
        headers = {"User-Agent": f"newsdigest/{__version__}", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds), headers=headers, transport=transport
        )
        self.failures_in_a_row = 0
        self.disabled = False

    def close(self) -> None:
        """Release the connection."""
        self._client.close()

    def __enter__(self) -> LLMSummarizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        """A message fit for the log: no URL credentials, and never the key, whatever a server echoes."""
        text = redact_text(text)
        return text.replace(self._key, "***") if self._key else text

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's answer to the messages; SummarizerError with a loggable reason on any failure."""
        body = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            # Room for the claims and some thinking; a model that rambles on is cut off, not waited for.
            "max_tokens": 400 * self.settings.max_claims + 400,
            "stream": False,
        }
        try:
            with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    detail = response.read()[:300].decode("utf-8", "replace")
                    raise SummarizerError(
                        f"HTTP {response.status_code} {response.reason_phrase}: {' '.join(detail.split())}".strip()
                    )
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise SummarizerError(f"the answer is over {MAX_RESPONSE_BYTES} bytes")
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise SummarizerError(f"no answer within {self.settings.timeout_seconds:g} s") from None
        except httpx.HTTPError as exc:
            raise SummarizerError(f"{type(exc).__name__}: {exc}") from None
        try:
            data = json.loads(b"".join(chunks))
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise SummarizerError("the answer is not an OpenAI chat completion") from None
        if isinstance(content, list):  # some servers answer with content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str) or not content.strip():
            raise SummarizerError("the answer is empty")
        return content

    def story_claims(
        self,
        articles: Sequence[Article],
        candidates: Sequence[Claim] = (),
        carriers: Mapping[str, Sequence[str]] | None = None,
        word_budget: int = 160,
        story: str = "",
    ) -> tuple[Claim, ...] | None:
        """The story's checked claims in the model's order, or None (logged) when the caller should extract."""
        if self.disabled or not articles:
            return None
        label = f"story {story!r}" if story else "a story"
        messages, count = build_messages(articles, self.settings)
        try:
            content = self.complete(messages)
        except SummarizerError as exc:
            self.failures_in_a_row += 1
            log.warning(
                "summarizer at %s failed for %s, using extractive claims: %s",
                redact_url(self.url),
                label,
                self._redact(str(exc)),
            )
            if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                self.disabled = True
                log.warning(
                    "summarizer failed %d times in a row; the rest of this digest uses extractive claims",
                    self.failures_in_a_row,
                )
            return None
        self.failures_in_a_row = 0
        try:
            proposed = parse_reply(content)
        except SummarizerError as exc:
            log.warning("summarizer gave nothing usable for %s, using extractive claims: %s", label, exc)
            return None
        claims = self._checked(proposed, articles[:count], candidates, carriers or {}, word_budget, label)
        if not claims:
            log.warning("no claim of the summarizer for %s passed the checks, using extractive claims", label)
            return None
        return claims

    def _checked(
        self,
        proposed: Sequence[ModelClaim],
        articles: Sequence[Article],
        candidates: Sequence[Claim],
        carriers: Mapping[str, Sequence[str]],
        word_budget: int,
        label: str,
    ) -> tuple[Claim, ...]:
        """The proposed claims that pass, with their outlets, within max_claims and the word budget."""
        indexes = [ArticleIndex(article, candidates) for article in articles]
        kept: list[Claim] = []
        used = 0
        for item in proposed:
            stated = item.article - 1
            # The named article first; a model that misnumbers an exact copy is still right about the text.
            order = ([indexes[stated]] if 0 <= stated < len(indexes) else []) + [
                index for position, index in enumerate(indexes) if position != stated
            ]
            claim, problems = None, ["no articles"]
            for index in order:
                claim, reasons = check_claim(item, index)
                if claim is not None:
                    break
                if index is order[0]:
                    problems = reasons  # the reasons given are those against the article the model named
            if claim is None:
                log.warning(
                    "dropped a summarizer claim for %s that failed the fidelity check: %s (%.100r)",
                    label,
                    "; ".join(problems),
                    item.text,
                )
                continue
            if any(fold(claim.text) == fold(other.text) for other in kept):
                continue
            length = len(claim.text.split())
            if kept and (len(kept) >= self.settings.max_claims or used + length > word_budget):
                continue
            # Every outlet that printed the same sentences carries the claim, as with the extractive claims.
            outlets: list[str] = []
            folded = fold(claim.text)
            for index in indexes:
                if folded in index.folded_text:
                    for outlet in carriers.get(index.article.article_id, (index.article.source,)):
                        if outlet not in outlets:
                            outlets.append(outlet)
            kept.append(replace(claim, outlets=tuple(outlets) or claim.outlets))
            used += length
        return tuple(kept)
