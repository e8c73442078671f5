"""The chat messages that ask a language model for a story's key claims."""

from __future__ import annotations

from collections.abc import Sequence

from newsdigest.config.records import SummarizerSettings
from newsdigest.models import Article
from newsdigest.text.sentences import split_sentences

MIN_ARTICLE_CHARS = 1_500  # below this an article says too little to be worth a place in the prompt

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
