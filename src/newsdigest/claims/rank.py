"""Every weight that ranks claims, in one place: a sentence's score, a story's selection, a story's cap.

extract_claims scores each candidate with attributed_score or unattributed_score (plus the
continuation bonus when a figure sentence extends a speaker's claim); select_claims merges the
same claim across outlets and picks a story's claims within a word budget; a story's rank counts
its best claim's score up to STORY_CLAIM_SCORE_CAP (newsdigest.digest.assemble).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from newsdigest.claims.salience import sentence_scores
from newsdigest.models import Claim
from newsdigest.stories.nearcopy import words
from newsdigest.text.facts import QUANTITY_WORDS, numbers_in, quotes_in
from newsdigest.text.sentences import word_count

# --- a sentence's score -----------------------------------------------------------------------------

# A denial or rebuttal is the other side of a story's claims: a reader needs it even when it comes
# last and short, as such statements tend to.
_DENIALS = {"denied", "denies", "rejected", "rejects", "dismissed", "dismisses", "disputed", "disputes", "countered"}
DENIAL_BONUS = 1.5
LEAD_BONUS = 1.0  # an article's first sentence
# A figure sentence right after a speaker's sentence in the same paragraph joins that claim.
CONTINUATION_BONUS = 0.8

# How much the trained sentence-salience model (newsdigest.claims.salience) adds to a sentence's score:
# the article's best sentence gets SALIENCE_WEIGHT, the next ones less, down to nothing at rank
# SALIENT_RANKS. Sentences within those ranks are candidates even without a speaker or a figure.
# It outweighs the hand-set features: at 6.0 the news day's claims scored below Lead-3 on the CNN
# stories' highlights; 14.0 was the best of 6-20 on the benchmark's fit half (benchmarks/newsday.py).
SALIENCE_WEIGHT = 14.0
SALIENT_RANKS = 5


def _sentence_score(sentence: str, index: int, total: int, attributed: bool) -> float:
    """Position, a speaker, quotation and figures for; very short or very long sentences against."""
    figures = len(set(numbers_in(sentence))) + len(QUANTITY_WORDS.findall(sentence))
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


def salience_bonus(sentences: Sequence[str], title: str) -> list[float]:
    """Per sentence, the score it earns from its salience rank within the article."""
    scores = sentence_scores(sentences, title)
    bonus = [0.0] * len(sentences)
    for rank, index in enumerate(sorted(range(len(scores)), key=lambda i: (-scores[i], i))):
        if rank >= SALIENT_RANKS:
            break
        bonus[index] = SALIENCE_WEIGHT * (1.0 - rank / SALIENT_RANKS)
    return bonus


def attributed_score(sentence: str, index: int, total: int, salience: float, cue: str) -> float:
    """The score of a sentence with a speaker: its own, its salience, and the denial bonus."""
    return _sentence_score(sentence, index, total, True) + salience + (DENIAL_BONUS if cue in _DENIALS else 0.0)


def unattributed_score(sentence: str, index: int, total: int, salience: float) -> float:
    """The score of a lead, figure or salient sentence without a speaker."""
    return _sentence_score(sentence, index, total, False) + (LEAD_BONUS if index == 0 else 0.0) + salience


# --- a story's claims --------------------------------------------------------------------------------

OUTLET_BONUS = 0.5  # per outlet beyond the first that carries a claim
REPEAT_PENALTY = 1.2  # per claim of the same speaker already chosen: a story's different voices are all heard
EXTRA_LEAD_PENALTY = 2.0  # one lead per story: a second article's opening sentence mostly repeats the first's
# A claim most of whose longer words the chosen claims already hold, and no new figure, repeats them.
REPEAT_SHARE = 0.6
# A story's rank counts its best claim's score up to this cap, so that a story's rank has an upper
# bound known before its claims are extracted (newsdigest.digest.assemble).
STORY_CLAIM_SCORE_CAP = 8.0
# The most candidates of one story that select_claims compares (best scores first): merging is
# pairwise, and a story of many long articles must not make it quadratic in their paragraphs.
MAX_STORY_CANDIDATES = 300
# Claims have at least this many words (newsdigest.claims.extract.MIN_CLAIM_WORDS): a budget with
# less left has room for none.
MIN_FITTING_WORDS = 5


@dataclass(frozen=True)
class _Features:
    """What merging compares of a claim's text, computed once per text rather than once per pair."""

    words: frozenset[str]
    has_numbers: bool
    key: tuple[str, ...]


def _features(text: str, cache: dict[str, _Features]) -> _Features:
    found = cache.get(text)
    if found is None:
        numbers = numbers_in(text)
        listed = words(text)
        found = _Features(frozenset(listed), bool(numbers), tuple(sorted(set(numbers))) or tuple(listed[:8]))
        cache[text] = found
    return found


def _same_claim(left: Claim, right: Claim, cache: dict[str, _Features] | None = None) -> bool:
    cache = {} if cache is None else cache
    a, b = _features(left.text, cache), _features(right.text, cache)
    overlap = len(a.words & b.words) / max(min(len(a.words), len(b.words)), 1)
    return overlap >= 0.8 or (a.has_numbers and a.key == b.key and overlap > 0.5)


def _selection_key(claim: Claim, said: dict[str | None, int]) -> tuple[float, str]:
    """A candidate's sort key given how many claims of each speaker are chosen already: best first."""
    repeats = said.get(claim.speaker, 0) if claim.speaker else 0
    return (-(claim.score + OUTLET_BONUS * (len(claim.outlets) - 1) - REPEAT_PENALTY * repeats), claim.text)


def select_claims(candidates: Sequence[Claim], word_budget: int) -> tuple[Claim, ...]:
    """Merge the same claim across outlets, then keep the best claims that fit the word budget.

    Only a story's MAX_STORY_CANDIDATES best-scored candidates are compared, so that merging (pairwise)
    stays bounded however many articles or paragraphs a story has.
    """
    if len(candidates) > MAX_STORY_CANDIDATES:
        top = sorted(range(len(candidates)), key=lambda i: (-candidates[i].score, i))[:MAX_STORY_CANDIDATES]
        candidates = [candidates[i] for i in sorted(top)]
    cache: dict[str, _Features] = {}
    merged: list[Claim] = []
    for claim in candidates:
        for position, kept in enumerate(merged):
            if _same_claim(claim, kept, cache):
                outlets = tuple(dict.fromkeys(kept.outlets + claim.outlets))
                better = claim if claim.score > kept.score else kept
                merged[position] = replace(better, outlets=outlets)
                break
        else:
            merged.append(claim)
    leads = [claim for claim in merged if claim.kind == "lead"]
    for extra in leads[1:]:
        merged[merged.index(extra)] = replace(extra, score=extra.score - EXTRA_LEAD_PENALTY)
    chosen: list[Claim] = []
    used = 0
    remaining = list(merged)
    while remaining:
        said: dict[str | None, int] = {}
        for claim in chosen:
            said[claim.speaker] = said.get(claim.speaker, 0) + 1
        best = min(remaining, key=partial(_selection_key, said=said))
        remaining.remove(best)
        if word_budget - used < MIN_FITTING_WORDS and chosen:
            break  # no claim is that short: the rest cannot fit
        length = word_count(best.text)
        if (used + length > word_budget and chosen) or _adds_nothing(best, chosen):
            continue
        chosen.append(best)
        used += length
    return tuple(chosen)


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
