"""The attribution tagger on small hand-written texts: who said what, spans, and bad input."""

from __future__ import annotations

import random
import time

import pytest

from newsdigest.claims.attribution import Attribution, find_attributions
from newsdigest.claims.tagger.features import features
from newsdigest.claims.tagger.model import Model, emissions, load_model, pack, scores
from newsdigest.claims.tagger.tokens import paragraphs, sentence_ends, tokenize

CHERNIAK = (
    "Andrii Cherniak, a spokesperson for HUR, told the broadcaster that 11,000 troops were deployed. "
    "He added that more units were expected to arrive next week."
)


def _spans_match(text: str, found: list[Attribution]) -> None:
    for attribution in found:
        assert text[attribution.cue_start : attribution.cue_end] == attribution.cue
        assert text[attribution.content_start : attribution.content_end] == attribution.content
        for start, end in attribution.content_spans:
            assert attribution.content_start <= start < end <= attribution.content_end
        if attribution.source is None:
            assert attribution.source_start is None and attribution.source_end is None
        else:
            assert attribution.source_start is not None and attribution.source_end is not None
            assert text[attribution.source_start : attribution.source_end] == attribution.source


def test_named_speaker_and_content() -> None:
    found = find_attributions(CHERNIAK)
    first = next(a for a in found if "11,000" in a.content)
    assert first.speaker is not None and "Cherniak" in first.speaker
    assert first.source is not None and "Cherniak" in first.source
    _spans_match(CHERNIAK, found)


def test_pronoun_resolves_to_last_named_speaker() -> None:
    found = find_attributions(CHERNIAK)
    follow_up = next(a for a in found if "more units" in a.content)
    assert follow_up.source == "He"
    assert follow_up.speaker is not None and "Cherniak" in follow_up.speaker


def test_according_to() -> None:
    text = "The bridge was closed for repairs on Monday, according to the city transport office."
    found = find_attributions(text)
    assert any(
        "bridge" in a.content and a.source is not None and "transport office" in a.source and "according" in a.cue
        for a in found
    )
    _spans_match(text, found)


def test_quote_with_inverted_source() -> None:
    text = '"We will not back down," said Maria Lopez, the mayor of the town.'
    found = find_attributions(text)
    assert any("back down" in a.content and a.direct and "Lopez" in (a.speaker or "") for a in found)
    _spans_match(text, found)


def test_source_with_apposition_before_the_cue() -> None:
    text = "Maria Lopez, the mayor of the small harbour town, has long argued that the bridge should be rebuilt."
    found = find_attributions(text)
    assert any("bridge" in a.content and "Lopez" in (a.source or "") and a.speaker == "Maria Lopez" for a in found)
    _spans_match(text, found)


def test_weights_hold_names_and_numbers_only() -> None:
    model = load_model()
    assert model.weights and model.sources
    # Feature names never hold whitespace, so at most the word pairs the features are built from.
    assert not any(" " in name or "\n" in name for name in model.weights)
    assert not any(" " in name or "\n" in name for name in model.sources)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "“He said",
        'She said "this never closes. And "this one neither',
        "”””“““ said said said",
        "Der Minister sagte, dass die Truppen am Montag abgezogen würden.",
        "Министр заявил, что войска будут выведены в понедельник.",
        "外交部发言人表示，会议将于下周举行。",
        "said",
        ". . . , , ,",
        "\x00\ufeff said that",
    ],
)
def test_bad_input_does_not_crash(text: str) -> None:
    found = find_attributions(text)
    assert isinstance(found, list)
    _spans_match(text, found)


def test_one_huge_sentence_is_fast() -> None:
    load_model()  # reading the weights is not part of the budget
    rng = random.Random(7)
    vocabulary = ["the", "minister", "said", "that", "troops", "Kyiv", "would", "leave", ",", "“", "according", "to"]
    text = " ".join(rng.choice(vocabulary) for _ in range(50_000))
    # CPU time of this thread, not wall time: the bound holds on a busy machine. About 0.3 s here.
    started = time.thread_time()
    found = find_attributions(text)
    assert time.thread_time() - started < 6.0
    assert isinstance(found, list)
    _spans_match(text, found)


def test_windows_are_bounded_and_cover_every_token() -> None:
    text = " ".join(["word"] * 5_000)
    windows = list(paragraphs(text))
    assert max(len(window) for window in windows) <= 400
    assert sum(len(window) for window in windows) == len(tokenize(text))


def test_fast_scores_equal_feature_scores() -> None:
    """The memoised tagging path scores exactly the features the trainer sees."""
    text = CHERNIAK + ' "It is over," said Gen. Ann B. Smith, 61, of Lviv, according to officials, adding: no.'
    shipped = load_model()
    windows = list(paragraphs(text))
    names = sorted({name for window in windows for token in features(window, shipped.cue_words) for name in token})
    rng = random.Random(3)
    model = Model(
        weights={name: pack([rng.randint(-999, 999) for _ in range(4)]) for name in names},
        transitions=shipped.transitions,
        start=shipped.start,
        cue_words=shipped.cue_words,
    )
    for window in windows:
        assert scores(window, model) == emissions(features(window, model.cue_words), model)


def test_middle_initials_do_not_end_sentences() -> None:
    tokens = tokenize("Vann R. Newkirk II said so. Then he left.")
    ends = sentence_ends(tokens)
    assert [t.text for t, end in zip(tokens, ends, strict=True) if end] == [".", "."]
    assert ends[-1]


def test_spans_of_a_longer_article() -> None:
    text = (
        "Officials in the region said on Tuesday that the dam had been repaired.\n\n"
        "“It is safe now,” the governor told reporters, adding that residents could return.\n"
        "Critics, however, argue that the work was rushed. According to a report by the council, "
        "inspections were skipped. She said she would ask for a review."
    )
    found = find_attributions(text)
    assert found
    _spans_match(text, found)
