"""A model's proposed claim against its article: whole sentences of it, faithful, and its own speaker."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from newsdigest.claims.fidelity import fidelity_problems
from newsdigest.claims.llm.reply import ModelClaim
from newsdigest.models import Article, Claim
from newsdigest.text.facts import numbers_in
from newsdigest.text.sentences import split_sentences

_PRONOUNS = {"he", "she", "they", "it", "we", "the", "a", "an", "its", "his", "her", "their"}

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
        # An unattributed claim keeps the kind the article's own reading gives the sentence (ranking and
        # the JSON digest use it); only a sentence with figures is a "figure".
        unattributed = next((c for c in extracted if c.kind != "attributed"), None)
        kind = unattributed.kind if unattributed else ("figure" if numbers_in(text) else "fact")
    # The extractive score of the same sentences keeps stories from both backends comparable in rank.
    score = max((claim.score for claim in extracted), default=1.0)
    claim = replace(draft, text=text, kind=kind, cue=cue, speaker_role=role, score=score)
    return claim, []
