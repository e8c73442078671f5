"""The "openai" claim ranker: a language model behind an OpenAI-compatible chat endpoint picks a story's claims.

The model only chooses; it never writes. A claim it returns reaches the digest only when every sentence is
a whole sentence of the article it names (the article's own characters are kept, not the model's copy) and
it passes the same fidelity check as the extractive claims. On any failure the caller falls back to the
extractive claims, so a digest is always written.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from newsdigest import __version__
from newsdigest.claims.fidelity import fidelity_problems
from newsdigest.config.records import SummarizerSettings
from newsdigest.errors import SummarizerError
from newsdigest.models import Article, Claim
from newsdigest.sources.fetch import redact_text, redact_url
from newsdigest.text.facts import numbers_in
from newsdigest.text.sentences import split_sentences

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 2_000_000  # a chat completion is a few kilobytes; more is a broken or hostile server
MAX_FAILURES_IN_A_ROW = 2  # then the rest of the run is extractive, not one timeout per story
MIN_ARTICLE_CHARS = 1_500  # below this an article says too little to be worth a place in the prompt
_NO_VALUE = {"", "null", "none", "n/a", "na", "unknown", "-"}
_PRONOUNS = {"he", "she", "they", "it", "we", "the", "a", "an", "its", "his", "her", "their"}

SYSTEM_PROMPT = (
    "You select the key claims of a news story for a daily digest. You copy sentences exactly as the "
    "article writes them: you never paraphrase, shorten, summarize, translate or correct them. "
    "You answer with JSON only."
)

INSTRUCTIONS = """Below are {count} article(s) about one news story. Pick at most {max_claims} key claims: \
the most important facts, figures and statements, preferring different speakers and claims several \
articles report.

For each claim give:
- "article": the number of the article the text is copied from;
- "text": one or two complete sentences copied character for character from that article, with no word \
changed, added or left out;
- "speaker": the person or body the article says made the claim, named as the article names them, or null \
for a plain fact;
- "cue": the verb that attributes the claim ("said", "told", "denied", ...), or null;
- "date": the date the article gives for the claim, as written (e.g. "April 15"), or null.

Answer with a JSON object and nothing else, in this form:
{{"claims": [{{"article": 1, "text": "...", "speaker": null, "cue": null, "date": null}}]}}"""


@dataclass(frozen=True)
class ModelClaim:
    """One claim as the model proposed it, before it is checked against its article."""

    article: int  # 1-based, as numbered in the prompt
    text: str
    speaker: str | None = None
    cue: str | None = None
    date: str | None = None


# --- the prompt ------------------------------------------------------------------------------------


def cut_text(text: str, limit: int) -> str:
    """The article's first whole paragraphs (or, failing one, whole sentences) within `limit` characters."""
    kept: list[str] = []
    used = 0
    for paragraph in (p.strip() for p in text.split("\n")):
        if not paragraph:
            continue
        if used + len(paragraph) + 1 > limit:
            if not kept:
                # A first paragraph longer than the limit: its first sentences, so the model still sees
                # whole sentences it can copy.
                for sentence in split_sentences(paragraph):
                    if used + len(sentence) + 1 > limit:
                        break
                    kept.append(sentence)
                    used += len(sentence) + 1
                return " ".join(kept) or paragraph[:limit]
            break
        kept.append(paragraph)
        used += len(paragraph) + 1
    return "\n".join(kept)


def build_messages(articles: Sequence[Article], settings: SummarizerSettings) -> tuple[list[dict[str, str]], int]:
    """The chat messages asking for a story's claims, and how many of its articles they include."""
    share = max(MIN_ARTICLE_CHARS, settings.max_input_chars // max(len(articles), 1))
    parts: list[str] = []
    used = 0
    for number, article in enumerate(articles, start=1):
        if parts and used + MIN_ARTICLE_CHARS > settings.max_input_chars:
            break  # the rest would not fit the model's context; the first articles are the earliest reports
        text = cut_text(article.text, min(share, settings.max_input_chars - used))
        used += len(text)
        parts.append(f"Article {number} ({article.source}): {article.title}\n{text}")
    prompt = INSTRUCTIONS.format(count=len(parts), max_claims=settings.max_claims) + "\n\n" + "\n\n".join(parts)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}], len(parts)


# --- the reply -------------------------------------------------------------------------------------

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


# --- checking a claim against its article ----------------------------------------------------------

# Typographic quotes and odd spaces a model may normalise while copying; compared folded, kept original.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)


def fold(text: str) -> str:
    """Text as compared: typographic quotes made plain, every run of white space one space."""
    return " ".join(text.translate(_FOLD).split())


@dataclass(frozen=True)
class _Sentence:
    text: str  # as the article writes it
    paragraph: str


class ArticleIndex:
    """An article's sentences, looked up by their folded form, and its extractive claims by sentence."""

    def __init__(self, article: Article, candidates: Sequence[Claim]) -> None:
        self.article = article
        self.folded_text = fold(article.text)
        self.sentences: dict[str, _Sentence] = {}
        for paragraph in (p.strip() for p in article.text.split("\n")):
            for sentence in split_sentences(paragraph):
                self.sentences.setdefault(fold(sentence), _Sentence(sentence, paragraph))
        self.extracted: dict[str, Claim] = {}
        for claim in candidates:
            if claim.article_id == article.article_id:
                for sentence in split_sentences(claim.text):
                    self.extracted.setdefault(fold(sentence), claim)

    def whole_sentences(self, text: str) -> list[_Sentence] | None:
        """The article's own sentences that make up `text`, or None when any is not one of them."""
        found = []
        for sentence in split_sentences(fold(text)):
            match = self.sentences.get(sentence)
            if match is None:
                return None
            found.append(match)
        return found or None


def _is_name(speaker: str) -> bool:
    """Whether an extracted speaker is a name ("Andrii Cherniak", "Beijing"), not "He" or "the ministry"."""
    first = speaker.split()[0]
    return first.lower() not in _PRONOUNS and speaker.split()[-1][:1].isupper()


def _name_words(speaker: str) -> list[str]:
    words = [word.strip(".,()'’").lower() for word in speaker.split()]
    return [word.removesuffix("'s").removesuffix("’s") for word in words if word]


def _same_speaker(left: str, right: str) -> bool:
    """Whether two namings share a surname ("Cherniak", "Andrii Cherniak"); a shared title is not enough."""
    a, b = _name_words(left), _name_words(right)
    return bool(a and b) and (a[-1] in b or b[-1] in a)


def check_claim(proposed: ModelClaim, index: ArticleIndex) -> tuple[Claim | None, list[str]]:
    """The claim as the digest will show it, or None and the reasons it is dropped."""
    article = index.article
    draft = Claim(
        text=proposed.text,
        kind="attributed" if proposed.speaker else "figure",
        speaker=proposed.speaker,
        cue=proposed.cue,
        claim_date=proposed.date,
        outlets=(article.source,),
        article_id=article.article_id,
    )
    # The shared check first, so that an invented number or quotation is named as such in the log.
    problems = fidelity_problems(draft, [article.text])
    sentences = index.whole_sentences(proposed.text)
    if sentences is None:
        problems.append("not copied word for word from whole sentences of the article")
    if problems or sentences is None:
        return None, problems
    text = " ".join(sentence.text for sentence in sentences)
    extracted = [index.extracted[key] for key in map(fold, (s.text for s in sentences)) if key in index.extracted]
    attributed = next((c for c in extracted if c.kind == "attributed" and c.speaker), None)
    role = None
    if proposed.speaker:
        if attributed is not None and _is_name(attributed.speaker or ""):
            # The article's own attribution decides: a model that moves words to another mouth is wrong.
            if not _same_speaker(proposed.speaker, attributed.speaker or ""):
                return None, [f"speaker {proposed.speaker!r}, but the article attributes it to {attributed.speaker!r}"]
            role = attributed.speaker_role
        elif not any(proposed.speaker.split()[-1] in sentence.paragraph for sentence in sentences):
            return None, [f"speaker {proposed.speaker!r} is not named where the article says this"]
    cue = proposed.cue
    if cue and not re.search(rf"\b{re.escape(cue)}\b", text, re.IGNORECASE):
        cue = attributed.cue if attributed is not None and proposed.speaker else None  # an invented verb is not shown
    kind = draft.kind
    if not proposed.speaker:
        # The renderer labels an unattributed claim "Lead", "Figures" or "Key point": the article's own
        # reading of the sentence decides, and only a sentence with figures is labelled "Figures".
        unattributed = next((c for c in extracted if c.kind != "attributed"), None)
        kind = unattributed.kind if unattributed else ("figure" if numbers_in(text) else "fact")
    # The extractive score of the same sentences keeps stories from both backends comparable in rank.
    score = max((claim.score for claim in extracted), default=1.0)
    claim = replace(draft, text=text, kind=kind, cue=cue, speaker_role=role, score=score)
    return claim, []


# --- the client ------------------------------------------------------------------------------------


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
