"""Hand-written attribution patterns: the speaker, role and verb of saying of one sentence.

Precise on the common shapes of news writing ("X said", "X, a spokesperson for Y, told",
"according to X"); the trained tagger (claims.attribution.find_attributions) backs them up.
"""

from __future__ import annotations

import re

from newsdigest.claims.attribution import Attribution
from newsdigest.claims.names import CUES, NAME, NOT_SPEAKERS, PRONOUN, ROLE_NP

_AUX = r"(?:(?:has|have|had|also|later|further|previously|earlier|repeatedly|has also|had also)\s+)*"
_APPOSITIVE = r"(?:,\s+(?:who\s+)?[^,;:\"“”]{2,140}?,)?"

_SPEAKER_FIRST = re.compile(
    rf"^(?P<speaker>{NAME}|{ROLE_NP}|{PRONOUN})(?P<role>{_APPOSITIVE})\s+{_AUX}(?P<cue>{CUES})\b",
)
_SPEAKER_INSIDE = re.compile(
    rf",\s+(?P<speaker>{NAME})(?P<role>{_APPOSITIVE})\s+{_AUX}(?P<cue>{CUES})\b",
)
# "Head librarian Tomas Reyes said", "Analyst Corinne Dufresne of Baltic Grain Research said"
_ROLE_THEN_NAME = re.compile(
    r"^(?P<role>(?:[A-Z][\w'’-]*\s+)?(?:[a-z][\w'’-]*\s+){0,3})"
    r"(?P<speaker>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,3})(?P<of>\s+of\s+[^,;\"“”]{2,60}?)?"
    rf"\s+{_AUX}(?P<cue>{CUES})\b"
)
_WHO_SAID = re.compile(rf"(?P<speaker>{NAME}),\s+who\s+{_AUX}(?P<cue>{CUES})\b")
_ACCORDING_TO = re.compile(rf"\b(?P<cue>[Aa]ccording to)\s+(?P<speaker>{NAME}|{ROLE_NP})")
_QUOTE_THEN = re.compile(
    rf"[\"”’],?\s+(?:(?P<speaker>{NAME}|{ROLE_NP}|{PRONOUN})\s+(?P<cue>{CUES})"
    rf"|(?P<cue2>{CUES})\s+(?P<speaker2>{NAME}|{ROLE_NP}))\b"
)
_TRAILING = re.compile(rf",\s+(?P<speaker>{NAME}|{ROLE_NP}|{PRONOUN})\s+(?P<cue>{CUES})[.!?]?[\"”’]?$")
_PATTERNS = (_SPEAKER_FIRST, _ROLE_THEN_NAME, _WHO_SAID, _SPEAKER_INSIDE, _QUOTE_THEN, _TRAILING, _ACCORDING_TO)

# "a summary released by the Dockworkers Union": the agent after "by" is who speaks.
BY_AGENT = re.compile(
    r"\s+by\s+(?:the\s+)?(?P<agent>[A-Z][\w'’-]*(?:\s+(?:of\s+|and\s+|for\s+)?(?:the\s+)?[A-Z][\w'’-]*)*)"
)


def clean_speaker(raw: str) -> str | None:
    """A speaker as the digest names it ("by" phrases to their agent), or None when the words name no one."""
    speaker = raw.strip(" ,")
    agent = BY_AGENT.search(speaker)
    if agent and speaker[:1].islower():
        speaker = agent.group("agent")
    first = speaker.split()[0].lower() if speaker else ""
    if not speaker or (first in NOT_SPEAKERS and not re.fullmatch(ROLE_NP, speaker)):
        return None
    return speaker


def match_attribution(sentence: str) -> Attribution | None:
    """The first pattern's attribution of a sentence (spans into the sentence), or None."""
    for pattern in _PATTERNS:
        match = pattern.search(sentence)
        if not match:
            continue
        groups = match.groupdict()
        speaker_group = "speaker" if groups.get("speaker") else "speaker2"
        speaker = clean_speaker(groups.get(speaker_group) or "")
        cue_group = "cue" if groups.get("cue") else "cue2"
        if speaker is None:
            continue
        role = " ".join(
            part for part in ((groups.get("role") or "").strip(" ,"), (groups.get("of") or "").strip()) if part
        )
        if not role or role.startswith("who "):
            role = ""
        cue_start, cue_end = match.span(cue_group) if groups.get(cue_group) else (match.start(), match.start())
        source_start, source_end = match.span(speaker_group)
        return Attribution(
            cue=sentence[cue_start:cue_end],
            cue_start=cue_start,
            cue_end=cue_end,
            content=sentence,
            content_start=0,
            content_end=len(sentence),
            source=sentence[source_start:source_end],
            source_start=source_start,
            source_end=source_end,
            speaker=speaker,
            role=role or None,
        )
    return None
