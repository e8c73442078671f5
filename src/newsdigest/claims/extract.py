"""Key claims: who claimed what, when, with which numbers; taken verbatim from the articles."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace

from newsdigest.claims.attribution import Attribution, find_attributions
from newsdigest.claims.salience import sentence_scores
from newsdigest.models import Claim
from newsdigest.stories.dedup import words
from newsdigest.text.sentences import paragraph_sentences

# --- attribution -----------------------------------------------------------------------------------

_CUES = (
    "said|says|told|tells|added|adds|explained|explains|warned|warns|denied|denies|stated|states|noted|notes|"
    "announced|announces|claimed|claims|argued|argues|insisted|insists|confirmed|confirms|reported|reports|"
    "wrote|writes|estimated|estimates|predicted|predicts|acknowledged|acknowledges|admitted|admits|urged|urges|"
    "stressed|stresses|emphasized|emphasised|suggested|suggests|accused|accuses|believes|believed|expects|"
    "expected|maintained|maintains|recalled|recalls|cautioned|cautions|promised|promises|pledged|pledges|"
    "vowed|vows|revealed|reveals|disclosed|discloses|alleged|alleges|asserted|asserts|countered|replied|"
    "responded|concluded|conceded|observed|pointed out|made clear"
)
_TITLE = (
    r"(?:President|Prime Minister|Minister|Commander-in-Chief|Commander|General|Gen\.|Secretary|Senator|Sen\.|"
    r"Governor|Gov\.|Mayor|Chancellor|Chief|Director|Judge|Justice|Spokesperson|Spokesman|Spokeswoman|Ambassador|"
    r"King|Queen|Pope|Dr\.|Mr\.|Mrs\.|Ms\.|Professor|Prof\.|Representative|Rep\.|Councillor|Councilor|Police Chief)"
)
_NAME_WORD = r"[A-Z\u00c0-\u024e][\w\u00c0-\u024f'’.-]*"
_NAME = rf"(?:{_TITLE}\s+)*{_NAME_WORD}(?:\s+(?:de|van|von|al|bin|da|del|der|la|le)?\s*{_NAME_WORD}){{0,4}}"
_ROLE_NP = (
    r"(?:[Tt]he|[Aa]n?|[Ii]ts|[Hh]is|[Hh]er|[Tt]heir)\s+(?:[a-z\u00e0-\u024f'’-]+\s+){0,4}"
    r"(?:spokesperson|spokesman|spokeswoman|official|officials|minister|ministry|agency|company|government|"
    r"police|authorities|report|statement|study|survey|analysts?|experts?|researchers?|council|director|chief|"
    r"president|commander|mayor|governor|union|department|office|court|judge|prosecutors?|committee|city|"
    r"club|board|organi[sz]ers|utility|operator|bank|district|service|authority|association|group)"
)
_PRONOUN = r"(?:He|She|They|It|We)"
_AUX = r"(?:(?:has|have|had|also|later|further|previously|earlier|repeatedly|has also|had also)\s+)*"
_APPOSITIVE = r"(?:,\s+(?:who\s+)?[^,;:\"“”]{2,140}?,)?"

_SPEAKER_FIRST = re.compile(
    rf"^(?P<speaker>{_NAME}|{_ROLE_NP}|{_PRONOUN})(?P<role>{_APPOSITIVE})\s+{_AUX}(?P<cue>{_CUES})\b",
)
_SPEAKER_INSIDE = re.compile(
    rf",\s+(?P<speaker>{_NAME})(?P<role>{_APPOSITIVE})\s+{_AUX}(?P<cue>{_CUES})\b",
)
# "Head librarian Tomas Reyes said", "Analyst Corinne Dufresne of Baltic Grain Research said"
_ROLE_THEN_NAME = re.compile(
    r"^(?P<role>(?:[A-Z][\w'’-]*\s+)?(?:[a-z][\w'’-]*\s+){0,3})"
    r"(?P<speaker>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,3})(?P<of>\s+of\s+[^,;\"“”]{2,60}?)?"
    rf"\s+{_AUX}(?P<cue>{_CUES})\b"
)
_WHO_SAID = re.compile(rf"(?P<speaker>{_NAME}),\s+who\s+{_AUX}(?P<cue>{_CUES})\b")
_ACCORDING_TO = re.compile(rf"\b(?P<cue>[Aa]ccording to)\s+(?P<speaker>{_NAME}|{_ROLE_NP})")
_QUOTE_THEN = re.compile(
    rf"[\"”’],?\s+(?:(?P<speaker>{_NAME}|{_ROLE_NP}|{_PRONOUN})\s+(?P<cue>{_CUES})"
    rf"|(?P<cue2>{_CUES})\s+(?P<speaker2>{_NAME}|{_ROLE_NP}))\b"
)
_TRAILING = re.compile(rf",\s+(?P<speaker>{_NAME}|{_ROLE_NP}|{_PRONOUN})\s+(?P<cue>{_CUES})[.!?]?[\"”’]?$")
_QUOTE = re.compile(r"[\"“]([^\"“”]{2,}?)[\"”]")
_DATE = re.compile(
    r"\b(?:on\s+)?((?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{1,2}"
    r"(?:,\s*\d{4})?|\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)(?:\s+\d{4})?)\b"
)
_NUMBER = re.compile(r"(?<![\w.])[$€£¥]?\d[\d,.]*\d%?|(?<![\w.])[$€£¥]?\d%?(?![\w])")
_QUANTITY_WORDS = re.compile(
    r"\b(?:hundreds?|thousands?|millions?|billions?|trillions?|dozens?|percent|per cent|half|double|triple)\b",
    re.IGNORECASE,
)
_NOT_SPEAKERS = {
    "the",
    "this",
    "that",
    "these",
    "those",
    "it",
    "there",
    "but",
    "and",
    "however",
    "meanwhile",
    "after",
    "before",
    "in",
    "on",
    "at",
    "as",
    "if",
    "when",
    "while",
    "unfortunately",
    "still",
    "yet",
    "so",
    "then",
}


@dataclass(frozen=True)
class _Attribution:
    speaker: str
    role: str | None
    cue: str


def numbers_in(text: str) -> list[str]:
    """Numeric tokens as written: "11,000", "$20", "3.5%"."""
    return [m.group(0).rstrip(".,") for m in _NUMBER.finditer(text)]


def quotes_in(text: str) -> list[str]:
    """The quoted strings of a text, without their quotation marks."""
    return [m.group(1).strip() for m in _QUOTE.finditer(text)]


# "a summary released by the Dockworkers Union": the agent after "by" is who speaks.
_BY_AGENT = re.compile(
    r"\s+by\s+(?:the\s+)?(?P<agent>[A-Z][\w'’-]*(?:\s+(?:of\s+|and\s+|for\s+)?(?:the\s+)?[A-Z][\w'’-]*)*)"
)


def _clean_speaker(raw: str) -> str | None:
    speaker = raw.strip(" ,")
    agent = _BY_AGENT.search(speaker)
    if agent and speaker[:1].islower():
        speaker = agent.group("agent")
    first = speaker.split()[0].lower() if speaker else ""
    if not speaker or (first in _NOT_SPEAKERS and not re.fullmatch(_ROLE_NP, speaker)):
        return None
    return speaker


def _match_attribution(sentence: str) -> _Attribution | None:
    for pattern in (_SPEAKER_FIRST, _ROLE_THEN_NAME, _WHO_SAID, _SPEAKER_INSIDE, _QUOTE_THEN, _TRAILING, _ACCORDING_TO):
        match = pattern.search(sentence)
        if not match:
            continue
        groups = match.groupdict()
        speaker = _clean_speaker(groups.get("speaker") or groups.get("speaker2") or "")
        cue = groups.get("cue") or groups.get("cue2") or ""
        if speaker is None:
            continue
        role = " ".join(
            part for part in ((groups.get("role") or "").strip(" ,"), (groups.get("of") or "").strip()) if part
        )
        if not role or role.startswith("who "):
            role = None
        return _Attribution(speaker=speaker, role=role, cue=cue.lower())
    return None


class _SpeakerMemory:
    """Resolves pronouns, roles and surnames to the last fully named speaker of an article."""

    def __init__(self) -> None:
        self.last: str | None = None
        self.roles: dict[str, str] = {}
        self.full_names: list[str] = []
        self.dates: dict[str, str] = {}

    def resolve(self, attribution: _Attribution) -> tuple[str, str | None]:
        speaker = attribution.speaker
        if re.fullmatch(_PRONOUN, speaker) or re.fullmatch(_ROLE_NP, speaker):
            role_word = speaker.split()[-1].lower()
            for name, role in reversed(list(self.roles.items())):
                if speaker.istitle() is False and role_word in role.lower():
                    return name, role
            if self.last is not None and speaker in ("He", "She"):
                return self.last, self.roles.get(self.last)
            if self.last is not None and re.fullmatch(_ROLE_NP, speaker):
                last_role = self.roles.get(self.last, "")
                if role_word in last_role.lower():
                    return self.last, last_role
            return speaker, None
        full = self._full_name(speaker)
        if attribution.role and full not in self.roles:
            self.roles[full] = attribution.role
        if full not in self.full_names:
            self.full_names.append(full)
        self.last = full
        return full, self.roles.get(full)

    def _full_name(self, name: str) -> str:
        bare = re.sub(rf"^(?:{_TITLE}\s+)+", "", name)
        surname = bare.split()[-1] if bare.split() else bare
        for known in self.full_names:
            known_bare = re.sub(rf"^(?:{_TITLE}\s+)+", "", known)
            if known_bare == bare:
                # The fuller form wins: "Commander-in-Chief Oleksandr Syrskyi" over "Chief Oleksandr Syrskyi".
                return name if len(name) > len(known) else known
            if len(bare.split()) == 1 and known_bare.split()[-1] == surname:
                return known
        return name


# --- claims ----------------------------------------------------------------------------------------


def _date_of(sentence: str) -> str | None:
    match = _DATE.search(sentence)
    return match.group(1) if match else None


def _score(sentence: str, index: int, total: int, attributed: bool) -> float:
    figures = len(set(numbers_in(sentence))) + len(_QUANTITY_WORDS.findall(sentence))
    length = len(sentence.split())
    score = 1.5 * (1.0 - index / max(total, 1))
    score += 2.0 if attributed else 0.0
    score += 0.5 if quotes_in(sentence) else 0.0
    score += 0.8 * min(figures, 3)
    if length < 6:
        score -= 1.5
    if length > 60:
        score -= 1.0
    return round(score, 3)


# A denial or rebuttal is the other side of a story's claims: a reader needs it even when it comes
# last and short, as such statements tend to.
_DENIALS = {"denied", "denies", "rejected", "rejects", "dismissed", "dismisses", "disputed", "disputes", "countered"}
DENIAL_BONUS = 1.5

# How much the trained sentence-salience model (newsdigest.claims.salience) adds to a sentence's score:
# the article's best sentence gets SALIENCE_WEIGHT, the next ones less, down to nothing at rank
# SALIENT_RANKS. Sentences within those ranks are candidates even without a speaker or a figure.
SALIENCE_WEIGHT = 6.0
# A sentence with a web address is a site's own promotion ("join us at example.com/join") more
# often than news; it is no key point on salience alone.
_WEB_ADDRESS = re.compile(r"https?://|www\.|\b[\w-]+\.[a-z]{2,}/")
SALIENT_RANKS = 5


def _salience_bonus(sentences: Sequence[str], title: str) -> list[float]:
    """Per sentence, the score it earns from its salience rank within the article."""
    scores = sentence_scores(sentences, title)
    bonus = [0.0] * len(sentences)
    for rank, index in enumerate(sorted(range(len(scores)), key=lambda i: (-scores[i], i))):
        if rank >= SALIENT_RANKS:
            break
        bonus[index] = SALIENCE_WEIGHT * (1.0 - rank / SALIENT_RANKS)
    return bonus


# A tagged source longer than this is a clause the tagger swept up, not a speaker to show.
MAX_TAGGED_SPEAKER_WORDS = 8
# The tagger learned PolNeAR's wide notion of attribution (beliefs, plans, "forecasts pointed to");
# a digest's claims are statements, so a tagged cue must hold a verb of saying or claiming.
_CLAIM_CUE_WORDS = frozenset(
    "|".join([_CUES, "according|called|calls|asked|asks|forecast|forecasts|thinks|think|believe|want|wants"]).split("|")
)


# A source right after one of these opens a background clause ("... on Monday after engineers
# reported corroded girders"): the sentence's claim is its main clause's, not that source's.
_SUBORDINATE_BEFORE = re.compile(
    r"\b(?:after|before|when|whenever|as|because|since|while|until|once|if|although|though|unless)\s+$", re.I
)


def _tagged_speaker(text: str, attribution: Attribution, sentence_start: int) -> str | None:
    """The speaker of a tagged attribution as the digest names it, or None where it is not the sentence's."""
    speaker = attribution.speaker or attribution.source
    if not speaker:
        return None
    if attribution.source_start is not None and attribution.source_end is not None:
        before = text[max(sentence_start, attribution.source_start - 16) : attribution.source_start]
        if attribution.source_start > sentence_start and _SUBORDINATE_BEFORE.search(before):
            return None
        # The tagger's source may stop before "by ...": the phrase is taken along, and
        # _clean_speaker keeps its agent.
        agent = _BY_AGENT.match(text, attribution.source_end)
        if agent and attribution.speaker is None:
            speaker = speaker + agent.group(0)
    return speaker


def _tagged_attributions(text: str, sentences: Sequence[str]) -> dict[int, _Attribution]:
    """Per sentence index, the speaker and cue the trained tagger (newsdigest.claims.attribution) finds there.

    The patterns above are precise on the common shapes; the tagger, trained on annotated news,
    also catches "union secretary Helga Brandt told reporters" or "Riders' groups said". Its
    pronoun sources come resolved to the last named speaker; unresolved ones are left out.
    """
    starts: list[int] = []
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        starts.append(found if found >= 0 else position)
        position = max(position, found + len(sentence)) if found >= 0 else position
    tagged: dict[int, _Attribution] = {}
    for attribution in find_attributions(text):
        index = bisect_right(starts, attribution.cue_start) - 1
        speaker = _clean_speaker(_tagged_speaker(text, attribution, starts[index] if index >= 0 else 0) or "")
        if not speaker or len(speaker.split()) > MAX_TAGGED_SPEAKER_WORDS or re.fullmatch(_PRONOUN, speaker):
            continue
        if not _CLAIM_CUE_WORDS & set(attribution.cue.lower().split()):
            continue
        if index < 0 or index in tagged:
            continue
        tagged[index] = _Attribution(speaker=speaker, role=None, cue=attribution.cue.lower())
    return tagged


_FULL_NAME = re.compile(r"\b[A-Z][a-z\u00e0-\u024f'’-]+(?:\s+[A-Z][a-z\u00e0-\u024f'’-]+){1,2}\b")


def extract_claims(text: str, article_id: str = "", outlet: str = "", title: str = "") -> list[Claim]:
    """Every candidate claim of an article, in article order: attributed statements, figures, the lead."""
    memory = _SpeakerMemory()
    # Names introduced without a speech verb ("Andrii Cherniak of HUR gave the warning") still let a
    # later bare surname ("According to Cherniak") resolve to the full name.
    for match in _FULL_NAME.finditer(text):
        if match.group(0).split()[0].lower() not in _NOT_SPEAKERS:
            memory.full_names.append(match.group(0))
    sentences = paragraph_sentences(text)
    salient = _salience_bonus([sentence for _, sentence in sentences], title)
    tagged = _tagged_attributions(text, [sentence for _, sentence in sentences])
    claims: list[Claim] = []
    previous_paragraph = -1
    for index, (paragraph, sentence) in enumerate(sentences):
        attribution = _match_attribution(sentence) or tagged.get(index)
        figures = bool(numbers_in(sentence) or _QUANTITY_WORDS.search(sentence))
        sentence_date = _date_of(sentence)
        outlets = (outlet,) if outlet else ()
        if attribution is not None:
            speaker, role = memory.resolve(attribution)
            if sentence_date:
                memory.dates[speaker] = sentence_date
            claim = Claim(
                text=sentence,
                kind="attributed",
                speaker=speaker,
                speaker_role=role,
                cue=attribution.cue,
                claim_date=sentence_date or memory.dates.get(speaker),
                score=_score(sentence, index, len(sentences), True)
                + salient[index]
                + (DENIAL_BONUS if attribution.cue in _DENIALS else 0.0),
                outlets=outlets,
                article_id=article_id,
            )
        elif claims and claims[-1].kind == "attributed" and paragraph == previous_paragraph and figures:
            # A figure sentence right after a speaker's sentence in the same paragraph continues it.
            last = claims[-1]
            claims[-1] = replace(last, text=f"{last.text} {sentence}", score=last.score + 0.8)
            previous_paragraph = paragraph
            continue
        elif index == 0 or figures or (salient[index] and not _WEB_ADDRESS.search(sentence)):
            claim = Claim(
                text=sentence,
                kind="lead" if index == 0 else "figure" if figures else "fact",
                claim_date=sentence_date,
                score=_score(sentence, index, len(sentences), False) + (1.0 if index == 0 else 0.0) + salient[index],
                outlets=outlets,
                article_id=article_id,
            )
        else:
            previous_paragraph = paragraph
            continue
        claims.append(claim)
        previous_paragraph = paragraph
    return claims


def _claim_key(claim: Claim) -> tuple[str, ...]:
    return tuple(sorted(set(numbers_in(claim.text)))) or tuple(words(claim.text)[:8])


def _same_claim(left: Claim, right: Claim) -> bool:
    a, b = set(words(left.text)), set(words(right.text))
    overlap = len(a & b) / max(min(len(a), len(b)), 1)
    return overlap >= 0.8 or (bool(numbers_in(left.text)) and _claim_key(left) == _claim_key(right) and overlap > 0.5)


def select_claims(candidates: Sequence[Claim], word_budget: int) -> tuple[Claim, ...]:
    """Merge the same claim across outlets, then keep the best claims that fit the word budget."""
    merged: list[Claim] = []
    for claim in candidates:
        for position, kept in enumerate(merged):
            if _same_claim(claim, kept):
                outlets = tuple(dict.fromkeys(kept.outlets + claim.outlets))
                better = claim if claim.score > kept.score else kept
                merged[position] = replace(better, outlets=outlets)
                break
        else:
            merged.append(claim)
    # One lead per story: a second article's opening sentence mostly repeats the first's.
    leads = [claim for claim in merged if claim.kind == "lead"]
    for extra in leads[1:]:
        merged[merged.index(extra)] = replace(extra, score=extra.score - 2.0)
    chosen: list[Claim] = []
    used = 0
    remaining = list(merged)
    while remaining:
        # A speaker's second claim ranks lower, so that a story's different voices are all heard.
        said: dict[str | None, int] = {}
        for claim in chosen:
            said[claim.speaker] = said.get(claim.speaker, 0) + 1

        def rank(claim: Claim, said: dict[str | None, int] = said) -> tuple[float, str]:
            repeats = said.get(claim.speaker, 0) if claim.speaker else 0
            return (-(claim.score + 0.5 * (len(claim.outlets) - 1) - 1.2 * repeats), claim.text)

        best = min(remaining, key=rank)
        remaining.remove(best)
        length = len(best.text.split())
        if (used + length > word_budget and chosen) or _adds_nothing(best, chosen):
            continue
        chosen.append(best)
        used += length
    return tuple(chosen)


# A claim most of whose longer words the chosen claims already hold, and no new figure, repeats them.
REPEAT_SHARE = 0.6


def _adds_nothing(claim: Claim, chosen: Sequence[Claim]) -> bool:
    """Whether a claim only repeats what the chosen claims say: no new figure, its words mostly covered."""
    if not chosen:
        return False
    said = " ".join(kept.text for kept in chosen)
    if any(number not in said for number in numbers_in(claim.text)):
        return False
    own = {word for word in words(claim.text) if len(word) > 3}
    covered = {word for word in words(said) if len(word) > 3}
    return bool(own) and len(own & covered) / len(own) >= REPEAT_SHARE


def fidelity_problems(claim: Claim, sources: Sequence[str]) -> list[str]:
    """What in a claim does not appear verbatim in any of its source texts; empty when faithful."""
    problems: list[str] = []
    for number in numbers_in(claim.text):
        if not any(number in source for source in sources):
            problems.append(f"number {number!r} not in source")
    for quote in quotes_in(claim.text):
        if not any(quote in source for source in sources):
            problems.append(f"quotation {quote!r} not in source")
    if claim.claim_date and not any(claim.claim_date in source for source in sources):
        problems.append(f"date {claim.claim_date!r} not in source")
    if claim.speaker:
        surname = claim.speaker.split()[-1]
        if not any(surname in source for source in sources):
            problems.append(f"speaker {claim.speaker!r} not in source")
    return problems


def faithful_claims(claims: Sequence[Claim], sources: Sequence[str]) -> tuple[Claim, ...]:
    """Only the claims whose numbers, quotes, dates and speakers all appear in the sources."""
    return tuple(claim for claim in claims if not fidelity_problems(claim, sources))
