"""The claims of a language model's answer: JSON alone, in a code fence, or amid prose and thinking."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from newsdigest.errors import SummarizerError

log = logging.getLogger(__name__)

_NO_VALUE = {"", "null", "none", "n/a", "na", "unknown", "-"}


@dataclass(frozen=True)
class ModelClaim:
    """One claim as the model proposed it, before it is checked against its article."""

    article: int  # 1-based, as numbered in the prompt
    text: str
    speaker: str | None = None
    cue: str | None = None
    date: str | None = None


_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
MAX_JSON_STARTS = 50  # places in a prose-laden reply tried as the start of the JSON


def _claim_items(value: Any) -> list[Any] | None:
    """The list of claim objects in a decoded reply, or None when the value is not shaped like one."""
    if isinstance(value, dict):
        for key in ("claims", "key_claims", "items"):
            items = value.get(key)
            if isinstance(items, list):
                return items
        return [value] if "text" in value else None
    if isinstance(value, list):
        return value
    return None


def _decode(text: str) -> list[Any] | None:
    """The claim objects of a text that is, or contains, a JSON document."""
    text = text.strip()
    try:
        return _claim_items(json.loads(text))
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    starts = [match.start() for match in re.finditer(r"[\[{]", text)][:MAX_JSON_STARTS]
    for start in starts:
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        items = _claim_items(value)
        # Amid prose, "[1]" or "{see above}" is not the answer: only a value holding a claim is.
        if items and any(isinstance(item, dict) and "text" in item for item in items):
            return items
    return None


def _optional(value: Any) -> str | None:
    if not isinstance(value, str) or value.strip().lower() in _NO_VALUE:
        return None
    return value.strip()


def parse_reply(content: str) -> list[ModelClaim]:
    """The claims of a model's answer: JSON alone, in a code fence or amid prose; SummarizerError if none."""
    content = _THINKING.sub("", content)  # reasoning models (DeepSeek-R1, Qwen3) think aloud first
    items = None
    for candidate in [*_FENCE.findall(content), content]:
        items = _decode(candidate)
        if items is not None:
            break
    if items is None:
        raise SummarizerError(f"the reply holds no JSON list of claims: {content.strip()[:120]!r}")
    claims: list[ModelClaim] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            log.warning("summarizer: skipped a reply item without a claim text: %.120r", item)
            continue
        article = item.get("article", item.get("article_index", 1))
        if isinstance(article, str) and article.strip().isdigit():
            article = int(article.strip())
        if isinstance(article, bool) or not isinstance(article, int):
            article = 0  # unknown: the text is then looked for in every article
        claims.append(
            ModelClaim(
                article=article,
                text=item["text"].strip(),
                speaker=_optional(item.get("speaker")),
                cue=_optional(item.get("cue")),
                date=_optional(item.get("date")),
            )
        )
    if not claims:
        raise SummarizerError("the reply holds no claims")
    return claims
