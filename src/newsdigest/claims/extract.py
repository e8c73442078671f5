"""Candidate claims of an article: who claimed what, when, with which numbers; taken verbatim.

Each sentence's speaker comes from the hand-written patterns (claims.patterns) or, failing them,
the trained tagger (claims.attribution); scores come from claims.rank.

Bounded work: an article's claims come from its first MAX_CLAIM_PARAGRAPHS paragraphs and first
MAX_CLAIM_CHARS characters (cut at a paragraph's end), at most MAX_CLAIM_SENTENCES sentences, so a
pathological entry (tens of thousands of short paragraphs) costs no more than a long article;
a news article's key claims are in its first part anyway.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace

from newsdigest.claims.attribution import Attribution, SpeakerMemory, find_attributions
from newsdigest.claims.names import CUES, PRONOUN, PRONOUNS
from newsdigest.claims.patterns import BY_AGENT, clean_speaker, match_attribution
from newsdigest.claims.rank import CONTINUATION_BONUS, attributed_score, salience_bonus, unattributed_score
from newsdigest.models import Claim
from newsdigest.text.facts import date_of, has_figures
from newsdigest.text.sentences import paragraph_sentences, word_count

# A sentence with a web address is a site's own promotion ("join us at example.com/join") more
# often than news; it is no key point on salience alone.
_WEB_ADDRESS = re.compile(r"https?://|www\.|\b[\w-]+\.[a-z]{2,}/")
# A tagged source longer than this is a clause the tagger swept up, not a speaker to show.
MAX_TAGGED_SPEAKER_WORDS = 8
# The caps on one article's claim extraction (see the module's docstring).
MAX_CLAIM_PARAGRAPHS = 300
MAX_CLAIM_CHARS = 60_000
MAX_CLAIM_SENTENCES = 400
# A speaker the digest shows has at most this many words: a longer one is a clause, not a name.
MAX_SPEAKER_WORDS = 6
# A claim is a sentence a reader can take alone: shorter ones are labels, datelines, scores and list
# numbers; longer ones are run-ons, tables and caption chains that the splitter could not cut.
MIN_CLAIM_WORDS = 5
MAX_CLAIM_WORDS = 60

# What closes a sentence of prose, in any script (a closing quote or bracket may follow).
_PROSE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f\u061f\u0964][\"'\u201d\u2019\u00bb)\]\u300d\u300f]*$")
# "Related: ...", "UPDATED: ...", "Reading time: ..." - a short label before a colon opens page
# furniture, not a sentence (a sentence's colon comes after a clause with a verb, in lower case).
_LABEL_START = re.compile(r"^[\"'\u201c]?(?P<label>[^\W\d_][\w'\u2019-]*(?:\s+[\w'\u2019-]+){0,2})\s*:\s")
# Words that make the words before a colon a clause ("He said: ...", "Officials told us: ..."), not a label.
_CLAUSE_WORDS = frozenset(CUES.split("|")) | PRONOUNS | {"is", "are", "was", "were", "has", "have", "had"}
# A photo credit in brackets marks a caption: "(Photo: Name/Agency)", "(Credit: ...)", "(AP Photo)".
_CREDIT = re.compile(
    r"\((?:[^()]{0,40}\b)?(?:photo|photograph|image|picture|foto|credit|video|file photo|illustration)s?\b[^()]*\)\s*$",
    re.IGNORECASE,
)
# Disclosures of paid content and promotions of the site itself, in general words.
_PROMOTION = re.compile(
    r"\b(?:sponsored (?:content|post|links?|article|story)|this (?:post|article|story|page) (?:is|was) sponsored|"
    r"affiliate links?|earns? (?:us )?a (?:small )?commission|paid partnership|advertorial|promo code)\b|"
    r"^(?:join|subscribe|sign up|download|click|tap|register|follow us|don't miss|get our|try our)\b[^.!?]{0,80}"
    r"\b(?:our|us|now|here|free|today|newsletter|app)\b",
    re.IGNORECASE,
)
# A share button's words glued to a sentence's last stop ("...on Thursday.Click To Tweet"): no space
# after the stop, then a few capitalised words and nothing else.
_GLUED_TAIL = re.compile(r"([.!?][\"'\u201d\u2019]?)(?:[A-Z][a-z]+ ?){1,4}$")
# A speaker's edges: quote marks and punctuation the tagger's span may carry.
_SPEAKER_EDGES = "\"'\u201c\u201d\u2018\u2019 ,;:\u2014\u2013-"
# First words of a span that names no one: pronouns, demonstratives, quantities ("One woman said").
_NOT_NAMING = PRONOUNS | {"who", "which", "that", "this", "these", "those", "there", "here"}
_NOT_NAMING |= {"a", "an", "one", "two", "some", "many", "most", "both", "several", "others", "another"}
_CAPITALISED_TAIL = re.compile(
    r"(?P<before>\S+\s+)?(?P<name>[A-Z][\w'\u2019-]*\.?(?:\s+(?:(?:of|de|van|von|al|bin|da|del|la|le)\s+)?"
    r"[A-Z][\w'\u2019-]*\.?)*)$"
)
# A name after one of these is the object of a phrase the tagger swept up ("the trial of X"), not a speaker.
_PREPOSITIONS = frozenset(
    {
        "of",
        "in",
        "at",
        "to",
        "from",
        "for",
        "with",
        "by",
        "on",
        "into",
        "about",
        "against",
        "over",
        "under",
        "and",
        "or",
    }
)
_RELATIVES = frozenset({"who", "whom", "whose", "which", "that", "when", "where"})
# Role words before a name ("CNN chief medical correspondent Sanjay Gupta"): more make a clause.
MAX_ROLE_WORDS = 4
_DETERMINERS = frozenset({"the", "a", "an", "its", "his", "her", "their", "our", "this", "that"})
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


def strip_glued_tail(sentence: str) -> str:
    """A sentence without share-button words glued to its last stop ("...Thursday.Click To Tweet")."""
    if not _GLUED_TAIL.search(sentence):
        return sentence
    return _GLUED_TAIL.sub(r"\1", sentence).rstrip()


def is_claim_sentence(sentence: str) -> bool:
    """Whether a sentence is article prose a claim can be: whole, of sensible length, not page furniture.

    General rules, no site's: a sentence ends with a stop, starts with a capital (in scripts that
    have them), has 5 to 60 words, is not a label ("Related: ..."), a caption with a photo
    credit, a disclosure, a promotion or a table's row.
    """
    words = word_count(sentence)
    if words < MIN_CLAIM_WORDS or words > MAX_CLAIM_WORDS or not _PROSE_END.search(sentence):
        return False
    first = next((char for char in sentence if char.isalnum()), "")
    if not first or (first.isalpha() and first.lower() != first.upper() and not first.isupper()):
        return False
    if sentence.count("|") >= 2 or sentence.count("\t") >= 2:
        return False  # a table's row, its cells run together
    label = _LABEL_START.match(sentence)
    if label and not _CLAUSE_WORDS & set(label.group("label").lower().split()):
        return False
    return not (_CREDIT.search(sentence) or _PROMOTION.search(sentence))


def shown_speaker(speaker: str | None, text: str) -> str | None:
    """A speaker as a reader may be shown it: a short capitalised name the article itself writes, or None.

    A longer or lower-case span keeps its trailing name ("his friend Ana Ortiz" -> "Ana Ortiz");
    a pronoun, a fragment or a clause gives no speaker: none is better than a wrong one.
    """
    if not speaker:
        return None
    speaker = speaker.split("\n")[-1].strip(_SPEAKER_EDGES)
    name = _name_after_role(speaker)
    if name and (not speaker[:1].isupper() or len(speaker.split()) > MAX_SPEAKER_WORDS or " " in name):
        # "Port director Lena Vosk", "a tearful Nunn": the role's words go, the name stays.
        speaker = name
    elif not speaker[:1].isupper() or len(speaker.split()) > MAX_SPEAKER_WORDS:
        speaker = ""
    if (
        not speaker
        or len(speaker.split()) > MAX_SPEAKER_WORDS
        or re.fullmatch(PRONOUN, speaker)
        or speaker.split()[0].lower() in _NOT_NAMING
        or speaker not in text
    ):
        return None
    return speaker


def _name_after_role(speaker: str) -> str | None:
    """The name ending a span led by a few role words ("his friend Ana Ortiz" -> "Ana Ortiz"), or None.

    Not after a preposition, a determiner or a relative clause: in "the trial of Ana Ortiz" or "the
    challenger who lost to Ana Ortiz" the name is not who speaks.
    """
    tail = _CAPITALISED_TAIL.search(speaker)
    if not tail or not tail.group("before"):
        return None
    lead = speaker[: tail.start("name")].split()
    if len(lead) > MAX_ROLE_WORDS or lead[-1][:1].isupper() or lead[-1].lower() in _DETERMINERS:
        return None
    if any(word.lower().strip(",") in _PREPOSITIONS | _RELATIVES for word in lead):
        return None
    return tail.group("name")


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


def bounded_text(text: str) -> str:
    """The part of an article claims are taken from: its first paragraphs within the caps."""
    if len(text) <= MAX_CLAIM_CHARS and text.count("\n") < MAX_CLAIM_PARAGRAPHS:
        return text
    kept: list[str] = []
    size = 0
    for line in text[: MAX_CLAIM_CHARS + 1].split("\n"):
        if not line.strip():
            continue
        if len(kept) >= MAX_CLAIM_PARAGRAPHS or (kept and size + len(line) > MAX_CLAIM_CHARS):
            break
        kept.append(line[:MAX_CLAIM_CHARS])
        size += len(line) + 1
    return "\n".join(kept)


def _claim_sentences(text: str) -> list[tuple[int, str, int]]:
    """(paragraph, sentence, position among all sentences) of the prose sentences that can be claims.

    Glued tails are cut; a paragraph ending in a photo credit is a caption, all of its sentences.
    """
    found: list[tuple[int, str, int]] = []
    sentences = paragraph_sentences(text)
    captions = {paragraph for paragraph, sentence in sentences if _CREDIT.search(sentence)}
    for position, (paragraph, sentence) in enumerate(sentences):
        sentence = strip_glued_tail(sentence)
        if paragraph not in captions and is_claim_sentence(sentence):
            found.append((paragraph, sentence, position))
            if len(found) >= MAX_CLAIM_SENTENCES:
                break
    return found


def extract_claims(text: str, article_id: str = "", outlet: str = "", title: str = "") -> list[Claim]:
    """Every candidate claim of an article, in article order: attributed statements, figures, the lead."""
    text = bounded_text(text)
    memory = SpeakerMemory.for_claims(text)
    found = _claim_sentences(text)
    sentences = [sentence for _, sentence, _ in found]
    # Without its headline, the salience model reads the article's first sentence as one: news
    # leads restate the headline (on the news day's fit half, ROUGE-2 13.6 against 13.4 with none).
    salient = salience_bonus(sentences, title or (sentences[0] if sentences else ""))
    tagged = _tagged_attributions(text, sentences)
    claims: list[Claim] = []
    last_position = -2
    for index, (paragraph, sentence, position) in enumerate(found):
        attribution = match_attribution(sentence) or tagged.get(index)
        figures = has_figures(sentence)
        sentence_date = date_of(sentence)
        outlets = (outlet,) if outlet else ()
        speaker: str | None = None
        role: str | None = None
        if attribution is not None and attribution.speaker:
            raw = attribution.speaker.strip(_SPEAKER_EDGES)
            # A pronoun after a closing quote comes in lower case ('"...," he said').
            raw = raw.capitalize() if raw.lower() in PRONOUNS else raw
            resolved, role = memory.resolve(raw, attribution.role)
            speaker = shown_speaker(resolved, text)
        if attribution is not None and speaker:
            cue = attribution.cue.lower()
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
        elif (
            claims
            and claims[-1].kind == "attributed"
            and last_position == position - 1
            and found[index - 1][0] == paragraph
            and figures
            and word_count(claims[-1].text) + word_count(sentence) <= MAX_CLAIM_WORDS
        ):
            # A figure sentence right after a speaker's sentence in the same paragraph continues it.
            last = claims[-1]
            claims[-1] = replace(last, text=f"{last.text} {sentence}", score=last.score + CONTINUATION_BONUS)
            last_position = position
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
            continue
        claims.append(claim)
        last_position = position
    return claims
