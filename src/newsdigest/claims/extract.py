"""Candidate claims of an article: who claimed what, when, with which numbers; taken verbatim.

Each sentence's speaker comes from the hand-written patterns (claims.patterns) or, failing them,
the trained tagger (claims.attribution); scores come from claims.rank.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace

from newsdigest.claims.attribution import Attribution, SpeakerMemory, find_attributions
from newsdigest.claims.names import CUES, PRONOUN
from newsdigest.claims.patterns import BY_AGENT, clean_speaker, match_attribution
from newsdigest.claims.rank import CONTINUATION_BONUS, attributed_score, salience_bonus, unattributed_score
from newsdigest.models import Claim
from newsdigest.text.facts import date_of, has_figures
from newsdigest.text.sentences import paragraph_sentences

# A sentence with a web address is a site's own promotion ("join us at example.com/join") more
# often than news; it is no key point on salience alone.
_WEB_ADDRESS = re.compile(r"https?://|www\.|\b[\w-]+\.[a-z]{2,}/")
# A tagged source longer than this is a clause the tagger swept up, not a speaker to show.
MAX_TAGGED_SPEAKER_WORDS = 8
# The tagger learned PolNeAR's wide notion of attribution (beliefs, plans, "forecasts pointed to");
# a digest's claims are statements, so a tagged cue must hold a verb of saying or claiming.
_CLAIM_CUE_WORDS = frozenset(
    "|".join([CUES, "according|called|calls|asked|asks|forecast|forecasts|thinks|think|believe|want|wants"]).split("|")
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
        # clean_speaker keeps its agent.
        agent = BY_AGENT.match(text, attribution.source_end)
        if agent and attribution.speaker is None:
            speaker = speaker + agent.group(0)
    return speaker


def _tagged_attributions(text: str, sentences: Sequence[str]) -> dict[int, Attribution]:
    """Per sentence index, the tagger's attribution there, its speaker named as the digest names it.

    The patterns are precise on the common shapes; the tagger, trained on annotated news, also
    catches "union secretary Helga Brandt told reporters" or "Riders' groups said". Its pronoun
    sources come resolved to the last named speaker; unresolved ones are left out.
    """
    starts: list[int] = []
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        starts.append(found if found >= 0 else position)
        position = max(position, found + len(sentence)) if found >= 0 else position
    tagged: dict[int, Attribution] = {}
    for attribution in find_attributions(text):
        index = bisect_right(starts, attribution.cue_start) - 1
        speaker = clean_speaker(_tagged_speaker(text, attribution, starts[index] if index >= 0 else 0) or "")
        if not speaker or len(speaker.split()) > MAX_TAGGED_SPEAKER_WORDS or re.fullmatch(PRONOUN, speaker):
            continue
        if not _CLAIM_CUE_WORDS & set(attribution.cue.lower().split()):
            continue
        if index < 0 or index in tagged:
            continue
        tagged[index] = replace(attribution, speaker=speaker)
    return tagged


def extract_claims(text: str, article_id: str = "", outlet: str = "", title: str = "") -> list[Claim]:
    """Every candidate claim of an article, in article order: attributed statements, figures, the lead."""
    memory = SpeakerMemory.for_claims(text)
    sentences = paragraph_sentences(text)
    salient = salience_bonus([sentence for _, sentence in sentences], title)
    tagged = _tagged_attributions(text, [sentence for _, sentence in sentences])
    claims: list[Claim] = []
    previous_paragraph = -1
    for index, (paragraph, sentence) in enumerate(sentences):
        attribution = match_attribution(sentence) or tagged.get(index)
        figures = has_figures(sentence)
        sentence_date = date_of(sentence)
        outlets = (outlet,) if outlet else ()
        if attribution is not None and attribution.speaker:
            cue = attribution.cue.lower()
            speaker, role = memory.resolve(attribution.speaker, attribution.role)
            if sentence_date:
                memory.dates[speaker] = sentence_date
            claim = Claim(
                text=sentence,
                kind="attributed",
                speaker=speaker,
                speaker_role=role,
                cue=cue,
                claim_date=sentence_date or memory.dates.get(speaker),
                score=attributed_score(sentence, index, len(sentences), salient[index], cue),
                outlets=outlets,
                article_id=article_id,
            )
        elif claims and claims[-1].kind == "attributed" and paragraph == previous_paragraph and figures:
            # A figure sentence right after a speaker's sentence in the same paragraph continues it.
            last = claims[-1]
            claims[-1] = replace(last, text=f"{last.text} {sentence}", score=last.score + CONTINUATION_BONUS)
            previous_paragraph = paragraph
            continue
        elif index == 0 or figures or (salient[index] and not _WEB_ADDRESS.search(sentence)):
            claim = Claim(
                text=sentence,
                kind="lead" if index == 0 else "figure" if figures else "fact",
                claim_date=sentence_date,
                score=unattributed_score(sentence, index, len(sentences), salient[index]),
                outlets=outlets,
                article_id=article_id,
            )
        else:
            previous_paragraph = paragraph
            continue
        claims.append(claim)
        previous_paragraph = paragraph
    return claims
