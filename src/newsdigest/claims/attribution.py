"""Attributions - who said (or believes, or wants) what - and the memory of an article's speakers.

One record, Attribution, for every attribution the claims stage handles: the trained tagger's
(find_attributions, over a whole article) and the hand-written patterns' (claims.patterns, one
sentence at a time). One SpeakerMemory resolves "He", "the spokesperson" or a bare surname to the
speaker an article has named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from newsdigest.claims.names import DEFINITE, NOT_NAMES, NOT_SPEAKERS, PRONOUN, PRONOUNS, ROLE_NP, TITLE
from newsdigest.claims.tagger.decode import tag
from newsdigest.claims.tagger.model import Model, load_model
from newsdigest.claims.tagger.sources import choose_sources


@dataclass(frozen=True)
class Attribution:
    """One attribution: character spans into the text for its source (may be absent), cue and content.

    The text is the article for the tagger's attributions, the sentence for the patterns'.
    """

    cue: str
    cue_start: int
    cue_end: int
    content: str
    content_start: int
    content_end: int
    source: str | None = None
    source_start: int | None = None
    source_end: int | None = None
    speaker: str | None = None  # the source resolved to a name ("He" -> "Andrii Cherniak"); None if unknown
    content_spans: tuple[tuple[int, int], ...] = ()  # the content's pieces when a cue interrupts it
    role: str | None = None  # the speaker's role as the sentence gives it ("a spokesperson for HUR")

    @property
    def direct(self) -> bool:
        """Whether the content is (mostly) a verbatim quotation."""
        return any(mark in self.content for mark in '"“”')


# Full names an article's memory knows up front, so that "Trump said" resolves to "Donald Trump".
# The tagger's and the claims' were tuned apart; one pattern for both keeps the attribution figures
# but moves speakers both ways on other text ("When Clinton" -> "Clinton", but "Matthew Boyle" ->
# "Editor Matthew Boyle"), so each keeps its own until a speaker benchmark can decide.
_TAGGER_NAME = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z]\.)?\s+(?:[A-Z][a-z]+[- ])?[A-Z][a-z'’]+)\b")
_CLAIMS_NAME = re.compile(r"\b([A-Z][a-z\u00e0-\u024f'’-]+(?:\s+[A-Z][a-z\u00e0-\u024f'’-]+){1,2})\b")
_TITLES = re.compile(rf"^(?:{TITLE}\s+)+")


def _without_titles(name: str) -> str:
    return _TITLES.sub("", name)


class SpeakerMemory:
    """Who has spoken so far in one article: full names, the last named speaker, roles, claim dates.

    It reads two kinds of speakers. The tagger's sources are raw spans ("He", "the spokesperson",
    "Andrii Cherniak, a spokesperson for HUR"): name_of_source turns one into a name. The claim
    patterns give a cleaned speaker and role: resolve turns them into a name and role and learns
    the role; the two were tuned apart and keep their own rules for pronouns and roles.
    """

    def __init__(self, full_names: Iterable[str] = ()) -> None:
        self.last: str | None = None
        self.full_names: list[str] = list(full_names)
        self.roles: dict[str, str] = {}
        self.dates: dict[str, str] = {}

    @classmethod
    def for_tagger(cls, text: str) -> SpeakerMemory:
        """A memory of an article for the tagger's sources, knowing its full names up front."""
        names = (match.group(1) for match in _TAGGER_NAME.finditer(text))
        return cls(name for name in names if name.split()[0].lower() not in NOT_NAMES)

    @classmethod
    def for_claims(cls, text: str) -> SpeakerMemory:
        """A memory of an article for its claims' speakers, knowing its full names up front.

        Names introduced without a speech verb ("Andrii Cherniak of HUR gave the warning") still
        let a later bare surname ("According to Cherniak") resolve to the full name.
        """
        names = []
        for match in _CLAIMS_NAME.finditer(text):
            name = match.group(1)
            # "Secretary of State Mike Pompeo": after "of", a three-word run starts with the office's
            # last word; the person is the two words after it.
            if len(name.split()) == 3 and text[max(0, match.start() - 3) : match.start()] == "of ":
                name = name.split(maxsplit=1)[1]
            names.append(name)
        return cls(name for name in names if name.split()[0].lower() not in NOT_SPEAKERS)

    def known_name(self, name: str) -> str | None:
        """The fuller known form of a name or bare surname ("Cherniak" -> "Andrii Cherniak"), or None."""
        bare = _without_titles(name)
        surname = bare.split()[-1] if bare.split() else bare
        for known in self.full_names:
            known_bare = _without_titles(known)
            if known_bare == bare:
                # The fuller form wins: "Commander-in-Chief Oleksandr Syrskyi" over "Chief Oleksandr Syrskyi".
                return name if len(name) > len(known) else known
            if len(bare.split()) == 1 and known_bare.split()[-1] == surname:
                return known
        return None

    def name_of_source(self, source: str | None) -> str | None:
        """The speaker a tagged source names: itself, the full form of a surname, or the last named speaker."""
        if not source:
            return None
        words = source.replace("’s", "").replace("'s", "").split()
        first = words[0].lower()
        named = [w for w in words[1:] if w[:1].isupper()] or ([words[0]] if first not in NOT_NAMES else [])
        if named:
            speaker = source.strip()
            # "Andrii Cherniak, a spokesperson for HUR": the name before the apposition is the speaker.
            head = speaker.split(",")[0].strip()
            if head != speaker and head[:1].isupper() and head.split()[0].lower() not in NOT_NAMES:
                speaker = head
            if len(speaker.split()) == 1:
                speaker = self.known_name(speaker.replace("’s", "").replace("'s", "")) or speaker
            self.last = speaker
            return speaker
        if first in PRONOUNS and first not in {"i", "we", "you", "it", "they", "them"} and len(words) == 1:
            return self.last
        if first in DEFINITE and len(words) <= 3 and not words[-1].endswith("s"):
            # "the spokesperson", "his campaign manager": one person just introduced by name.
            return self.last
        return None

    def resolve(self, speaker: str, role: str | None = None) -> tuple[str, str | None]:
        """A claim's speaker and role as the digest names them: pronouns and roles to the named speaker."""
        if re.fullmatch(PRONOUN, speaker) or re.fullmatch(ROLE_NP, speaker):
            role_word = speaker.split()[-1].lower()
            for name, known_role in reversed(list(self.roles.items())):
                if speaker.istitle() is False and role_word in known_role.lower():
                    return name, known_role
            if self.last is not None and speaker in ("He", "She"):
                return self.last, self.roles.get(self.last)
            if self.last is not None and re.fullmatch(ROLE_NP, speaker):
                last_role = self.roles.get(self.last, "")
                if role_word in last_role.lower():
                    return self.last, last_role
            return speaker, None
        full = self.known_name(speaker) or speaker
        if role and full not in self.roles:
            self.roles[full] = role
        if full not in self.full_names:
            self.full_names.append(full)
        self.last = full
        return full, self.roles.get(full)


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """A span without surrounding spaces and commas (quote marks stay: they belong to a direct quote)."""
    while start < end and text[start] in " ,;:—–-":
        start += 1
    while end > start and text[end - 1] in " ,;:—–-":
        end -= 1
    return start, end


def find_attributions(text: str, model: Model | None = None) -> list[Attribution]:
    """Every attribution of an article, in text order: source, cue and content spans and the resolved speaker."""
    if not text or not text.strip():
        return []
    model = model or load_model()
    memory = SpeakerMemory.for_tagger(text)
    found: list[Attribution] = []
    for tokens, labels in tag(text, model):
        for cue, contents, sources in choose_sources(tokens, labels, model):
            cue_start, cue_end = tokens[cue[1]].start, tokens[cue[2] - 1].end
            pieces = [trim_span(text, tokens[run[1]].start, tokens[run[2] - 1].end) for run in contents]
            pieces = [(start, end) for start, end in pieces if end > start]
            if not pieces:
                continue
            start, end = pieces[0][0], pieces[-1][1]
            source = None
            source_start = source_end = None
            if sources:
                run = sources[0]
                source_start, source_end = trim_span(text, tokens[run[1]].start, tokens[run[2] - 1].end)
                source = text[source_start:source_end] or None
            found.append(
                Attribution(
                    cue=text[cue_start:cue_end],
                    cue_start=cue_start,
                    cue_end=cue_end,
                    content=text[start:end],
                    content_start=start,
                    content_end=end,
                    source=source,
                    source_start=source_start if source else None,
                    source_end=source_end if source else None,
                    speaker=memory.name_of_source(source),
                    content_spans=tuple(pieces),
                )
            )
    return found
