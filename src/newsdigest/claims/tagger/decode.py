"""Decoding: the best label sequence of a window (first-order Viterbi), and tagging a whole text."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from newsdigest.claims.tagger.model import Model, emissions, load_model, scores
from newsdigest.claims.tagger.tokens import Token, paragraphs


def best_path(
    emits: Sequence[Sequence[float]], transitions: Sequence[Sequence[float]], start: Sequence[float]
) -> list[int]:
    """First-order Viterbi over the four labels, unrolled."""
    if not emits:
        return []
    (t00, t01, t02, t03), (t10, t11, t12, t13), (t20, t21, t22, t23), (t30, t31, t32, t33) = transitions
    e = emits[0]
    p0, p1, p2, p3 = start[0] + e[0], start[1] + e[1], start[2] + e[2], start[3] + e[3]
    backs = []
    for e0, e1, e2, e3 in emits[1:]:
        # Best previous label for each current label y; ties go to the lower label.
        b0, v0 = 0, p0 + t00
        if p1 + t10 > v0:
            b0, v0 = 1, p1 + t10
        if p2 + t20 > v0:
            b0, v0 = 2, p2 + t20
        if p3 + t30 > v0:
            b0, v0 = 3, p3 + t30
        b1, v1 = 0, p0 + t01
        if p1 + t11 > v1:
            b1, v1 = 1, p1 + t11
        if p2 + t21 > v1:
            b1, v1 = 2, p2 + t21
        if p3 + t31 > v1:
            b1, v1 = 3, p3 + t31
        b2, v2 = 0, p0 + t02
        if p1 + t12 > v2:
            b2, v2 = 1, p1 + t12
        if p2 + t22 > v2:
            b2, v2 = 2, p2 + t22
        if p3 + t32 > v2:
            b2, v2 = 3, p3 + t32
        b3, v3 = 0, p0 + t03
        if p1 + t13 > v3:
            b3, v3 = 1, p1 + t13
        if p2 + t23 > v3:
            b3, v3 = 2, p2 + t23
        if p3 + t33 > v3:
            b3, v3 = 3, p3 + t33
        backs.append((b0, b1, b2, b3))
        p0, p1, p2, p3 = v0 + e0, v1 + e1, v2 + e2, v3 + e3
    final = (p0, p1, p2, p3)
    y = final.index(max(final))
    path = [y]
    for back in reversed(backs):
        y = back[y]
        path.append(y)
    path.reverse()
    return path


def viterbi(feats: Sequence[Sequence[str]], model: Model) -> list[int]:
    """The best label sequence for one window."""
    return best_path(emissions(feats, model), model.transitions, model.start)


def tag(text: str, model: Model | None = None) -> Iterator[tuple[list[Token], list[int]]]:
    """Each window of the text with its predicted labels."""
    model = model or load_model()
    for tokens in paragraphs(text):
        yield tokens, best_path(scores(tokens, model), model.transitions, model.start)
