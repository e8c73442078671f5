"""From labels to attributions' parts: each cue with its content runs and its source run, if any.

A cue's source is picked among candidates - tagged source runs nearby, the words next to the cue,
the opening words of its sentence, or no source at all - by the model's source weights (a second
small averaged perceptron), or by a heuristic when a weights file has none.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from functools import partial
from itertools import repeat

from newsdigest.claims.names import PRONOUNS
from newsdigest.claims.tagger.features import BREAKS, bucket, shape
from newsdigest.claims.tagger.model import CONTENT, CUE, OUT, SOURCE, Model
from newsdigest.claims.tagger.tokens import Token, sentence_ends, sentence_ids
from newsdigest.text.wordlists import word_set

Run = tuple[int, int, int]  # (label, first token, last token + 1)
Candidate = tuple[Run | None, list[str]]  # a possible source (None: no source) and its feature names

# A content span further than this many tokens from every cue is noise, not an attribution.
MAX_CUE_DISTANCE = 80
# Candidate sources made of the words next to a cue, or opening its sentence, are at most this long.
SOURCE_FALLBACK = 8

_EVIDENTIAL = word_set("evidential")
_BE = frozenset({"is", "was", "were", "are", "been", "be", "being", "'s", "’s"})
_OPENERS = frozenset({"“", '"', "‘", "'", "(", "—", "-", "―"})
_ANY_BUT_CUE = (OUT, SOURCE, CONTENT)


def runs(labels: Sequence[int]) -> list[Run]:
    """Maximal runs of one non-outside label: (label, first token, last token + 1)."""
    found = []
    i = 0
    while i < len(labels):
        j = i
        while j + 1 < len(labels) and labels[j + 1] == labels[i]:
            j += 1
        if labels[i] != OUT:
            found.append((labels[i], i, j + 1))
        i = j + 1
    return found


def _gap(a: Run, b: Run) -> int:
    return max(b[1] - a[2], a[1] - b[2], 0)


def _sourceless(tokens: Sequence[Token], cue: Run) -> bool:
    """Cues that PolNeAR leaves without a source: passives without an agent, "seems", "reportedly"."""
    words = [token.text.lower() for token in tokens[cue[1] : cue[2]]]
    if any(word in _EVIDENTIAL for word in words):
        return True
    before = tokens[cue[1] - 1].text.lower() if cue[1] else ""
    after = tokens[cue[2]].text.lower() if cue[2] < len(tokens) else ""
    if after == "by":
        return False
    verbs = [word for word in words if word not in _BE]
    passive = (before in _BE or any(word in _BE for word in words)) and bool(verbs) and verbs[0].endswith(("ed", "en"))
    return passive


def _nearby_words(
    tokens: Sequence[Token],
    labels: Sequence[int],
    sentence: Sequence[int],
    cue: Run,
    after: bool,
    allowed: tuple[int, ...] = (OUT, SOURCE),
) -> Run | None:
    """Up to SOURCE_FALLBACK untagged (or source) words of the cue's sentence right before (or after) the cue."""
    here = sentence[cue[1]]
    if not after:
        start = cue[1]
        while (
            start > 0
            and cue[1] - start < SOURCE_FALLBACK
            and labels[start - 1] in allowed
            and sentence[start - 1] == here
            and tokens[start - 1].text not in BREAKS
        ):
            start -= 1
        return (SOURCE, start, cue[1]) if start < cue[1] else None
    end = cue[2]
    while (
        end < len(tokens)
        and end - cue[2] < SOURCE_FALLBACK
        and labels[end] in allowed
        and sentence[end] == here
        and tokens[end].text not in BREAKS
        and tokens[end].text != "."
    ):
        end += 1
    return (SOURCE, cue[2], end) if end > cue[2] else None


def _sentence_opening(tokens: Sequence[Token], labels: Sequence[int], sentence: Sequence[int], cue: Run) -> Run | None:
    """The first words of the cue's sentence, up to a comma or the cue: the subject, often the source."""
    here = sentence[cue[1]]
    begin = cue[1]
    while begin > 0 and sentence[begin - 1] == here:
        begin -= 1
    while begin < cue[1] and tokens[begin].text in _OPENERS:
        begin += 1
    stop = begin
    while stop < cue[1] and stop - begin < SOURCE_FALLBACK and tokens[stop].text not in BREAKS and labels[stop] != CUE:
        stop += 1
    return (SOURCE, begin, stop) if stop > begin else None


def _learned_score(names: Sequence[str], weights: dict[str, float]) -> float:
    """A candidate's score under the source weights: the sum of its features' weights."""
    return sum(map(weights.get, names, repeat(0.0, len(names))))


def choose_sources(
    tokens: Sequence[Token], labels: Sequence[int], model: Model | None = None
) -> list[tuple[Run, list[Run], list[Run]]]:
    """Each cue run with the content runs nearest to it and its source run (none, one)."""
    result = []
    for cue, contents, candidates in source_candidates(tokens, labels):
        chosen: list[Run]
        if model is not None and model.sources:
            weights = model.sources
            best = max(candidates, key=lambda candidate: _learned_score(candidate[1], weights))
            chosen = [best[0]] if best[0] is not None else []
        else:
            chosen = _heuristic_source(tokens, cue, candidates)
        result.append((cue, contents, chosen))
    return result


def _heuristic_source(tokens: Sequence[Token], cue: Run, candidates: Sequence[Candidate]) -> list[Run]:
    """Without trained source weights: the nearest source run of the cue's sentence, else the fallback words."""
    if _sourceless(tokens, cue):
        return []
    same = [run for run, names in candidates if run is not None and names[0] == "k=same"]
    if same:
        return [min(same, key=lambda run: _gap(run, cue))]
    fallback = [run for run, names in candidates if run is not None and names[0] in ("k=fb", "k=fa")]
    return fallback[:1]


def source_candidates(tokens: Sequence[Token], labels: Sequence[int]) -> list[tuple[Run, list[Run], list[Candidate]]]:
    """Each cue run that has content, with its content runs and its possible sources (None: no source), featurised."""
    all_runs = runs(labels)
    cues = [run for run in all_runs if run[0] == CUE]
    if not cues:
        return []
    sentence = sentence_ids(sentence_ends(tokens))
    contents: dict[int, list[Run]] = {index: [] for index in range(len(cues))}
    cue_starts = [cue[1] for cue in cues]
    source_runs = []
    for run in all_runs:
        if run[0] == CONTENT:
            # The nearest cue (runs are disjoint): the last one before the run or the first after it.
            following = bisect_left(cue_starts, run[1])
            if following == len(cues) or (following and run[1] - cues[following - 1][2] <= cues[following][1] - run[2]):
                index = following - 1
            else:
                index = following
            if _gap(run, cues[index]) <= MAX_CUE_DISTANCE:
                contents[index].append(run)
        elif run[0] == SOURCE:
            source_runs.append(run)
    result = []
    for index, cue in enumerate(cues):
        if not contents[index]:
            continue
        here = sentence[cue[1]]
        same = sorted((run for run in source_runs if sentence[run[1]] == here), key=partial(_gap, b=cue))
        previous = [run for run in source_runs if here - 2 <= sentence[run[1]] < here and run[2] <= cue[1]][-3:]
        next_sentence = [run for run in source_runs if sentence[run[1]] == here + 1][:1]
        found: list[tuple[str, Run]] = [("same", run) for run in same]
        found += [("prev", run) for run in reversed(previous)]
        found += [("next", run) for run in next_sentence]
        before = _nearby_words(tokens, labels, sentence, cue, after=False)
        after = _nearby_words(tokens, labels, sentence, cue, after=True)
        if before is not None and before not in same:
            found.append(("fb", before))
        if after is not None and after not in same:
            found.append(("fa", after))
        seen = {run[1:] for _, run in found}
        more = [
            ("ss", _sentence_opening(tokens, labels, sentence, cue)),
            ("fw", _nearby_words(tokens, labels, sentence, cue, after=False, allowed=_ANY_BUT_CUE)),
            ("fz", _nearby_words(tokens, labels, sentence, cue, after=True, allowed=_ANY_BUT_CUE)),
        ]
        for kind, extra in more:
            if extra is not None and extra[1:] not in seen:
                seen.add(extra[1:])
                found.append((kind, extra))
        context = _cue_context(tokens, cue, len(same))
        candidates: list[Candidate] = [(None, ["k=none", *("none|" + name for name in context)])]
        ranks: dict[str, int] = {}
        for kind, run in found:
            rank = ranks.get(kind, 0)
            ranks[kind] = rank + 1
            candidates.append(
                (run, _candidate_features(tokens, labels, sentence, cue, contents[index], kind, rank, run, context))
            )
        result.append((cue, contents[index], candidates))
    return result


def _cue_context(tokens: Sequence[Token], cue: Run, same: int) -> list[str]:
    """Features of the cue itself, shared by all its candidates."""
    first = tokens[cue[1]].text.lower()
    context = [
        f"cw={first}",
        f"sl={int(_sourceless(tokens, cue))}",
        f"ns={min(same, 3)}",
        f"cl={min(cue[2] - cue[1], 3)}",
    ]
    before = tokens[cue[1] - 1].text.lower() if cue[1] else "<s>"
    after = tokens[cue[2]].text.lower() if cue[2] < len(tokens) else "</s>"
    context += [f"cp={before}", f"cn={after}", f"ce={tokens[cue[2] - 1].text.lower()}"]
    return context


def _candidate_features(
    tokens: Sequence[Token],
    labels: Sequence[int],
    sentence: Sequence[int],
    cue: Run,
    contents: Sequence[Run],
    kind: str,
    rank: int,
    run: Run,
    context: Sequence[str],
) -> list[str]:
    """Features of one candidate source of a cue: its kind, place, words and the labels between."""
    before = run[2] <= cue[1]
    gap = cue[1] - run[2] if before else run[1] - cue[2]
    lo, hi = (run[2], cue[1]) if before else (cue[2], run[1])
    between = labels[lo:hi]
    words = [token.text.lower() for token in tokens[run[1] : run[2]]]
    first, last = words[0], words[-1]
    inside = contents[0][1] < run[1] and run[2] <= contents[-1][2]
    after = tokens[run[2]].text.lower() if run[2] < len(tokens) else "</s>"
    preceding = tokens[run[1] - 1].text.lower() if run[1] else "<s>"
    starts = run[1] == 0 or sentence[run[1] - 1] != sentence[run[1]]
    side = "b" if before else "a"
    k = kind + "|"
    names = [
        "k=" + kind,
        f"{k}rank={min(rank, 2)}",
        f"{k}side={side}",
        f"{k}gap={bucket(max(gap, 0))}",
        f"{k}{side}gap={bucket(max(gap, 0))}",
        f"{k}first={first}",
        f"{k}last={last}",
        f"{k}after={after}",
        f"{k}pre={preceding}",
        f"{k}len={bucket(len(words))}",
        f"{k}shape={shape(tokens[run[1]].text)}",
        f"{k}cross={int(CONTENT in between)}",
        f"{k}cue={int(CUE in between)}",
        f"{k}inside={int(inside)}",
        f"{k}comma={int(',' in (t.text for t in tokens[lo:hi]))}",
        f"{k}start={int(starts)}",
        f"{k}pron={int(len(words) == 1 and first in PRONOUNS | {'who', 'which'})}",
        f"{k}S={int(all(labels[i] == SOURCE for i in range(run[1], run[2])))}",
        f"{k}{side}rank={min(rank, 2)}",
        f"{k}anyS={int(SOURCE in labels[run[1] : run[2]])}",
        f"{k}anyQ={int(CONTENT in labels[run[1] : run[2]])}",
        f"{k}caps={min(sum(t.text[:1].isupper() for t in tokens[run[1] : run[2]]), 3)}",
        f"{k}sd={max(min(sentence[cue[1]] - sentence[run[1]], 2), -1)}",
    ]
    names += (k + name for name in context)
    names += (
        f"{k}{context[0]}|{bucket(max(gap, 0))}",
        f"{k}{min(rank, 2)}|{context[2]}",
        f"{k}first2={first}|{words[1] if len(words) > 1 else '</s>'}",
        f"{k}{side}|pre={preceding}",
    )
    names += {f"{k}has={word}" for word in words[:8]}
    names.append(f"{k}{side}|{context[0]}")
    return names
