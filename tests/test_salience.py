"""The sentence-salience model: verbatim, budgeted summaries on hand-written texts, and its weights file."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdigest.claims import salience

ARTICLE = (
    "The city council of Norbury voted on Tuesday to close the old river bridge after inspectors found deep "
    "cracks in two of its supports.\n"
    "The bridge carries about 14,000 vehicles a day between the harbour district and the town centre.\n"
    '"We cannot take the risk of a collapse," said Mayor Ilse Varga, who called the decision painful.\n'
    "Drivers will be sent over the northern ring road, which adds up to 20 minutes at rush hour.\n"
    "It was built in 1931. Local shops fear the closure will cost them customers during the repairs.\n"
    "Engineers expect the repairs to take at least eight months and to cost about $12 million.\n"
    "Some residents said they had complained about the noise of the bridge for years."
)
TITLE = "Norbury closes cracked river bridge"


def _words(sentences: list[str]) -> int:
    return sum(len(sentence.split()) for sentence in sentences)


def test_weights_file_loads_and_matches_the_features() -> None:
    model = salience.load_weights()
    assert model["features"] == list(salience.FEATURE_NAMES)
    width = len(salience.FEATURE_NAMES)
    for key in ("mean", "scale", "weights"):
        assert len(model[key]) == width
        assert all(isinstance(value, float | int) and math.isfinite(value) for value in model[key])
    assert all(value > 0 for value in model["scale"])
    # Numbers and names only: no text of the training data may ship with the package.
    raw = salience.WEIGHTS_PATH.read_text(encoding="utf-8")
    strings = [value for value in json.loads(raw).values() if isinstance(value, str)]
    assert all(len(value) < 100 for value in strings)


def test_summary_sentences_are_verbatim_in_article_order_and_within_budget() -> None:
    for budget in (10, 25, 40, 60, 200):
        summary = salience.summarize(ARTICLE, TITLE, budget)
        assert _words(summary) <= budget
        positions = [ARTICLE.index(sentence) for sentence in summary]
        assert positions == sorted(positions)
    assert salience.summarize(ARTICLE, TITLE, 1000) == salience.article_sentences(ARTICLE)


def test_summary_prefers_the_news_over_the_colour() -> None:
    summary = salience.summarize(ARTICLE, TITLE, 30)
    assert summary and summary[0].startswith("The city council of Norbury")


def test_a_budget_too_small_for_any_sentence_gives_nothing() -> None:
    assert salience.summarize(ARTICLE, TITLE, 3) == []
    assert salience.summarize(ARTICLE, TITLE, 0) == []


def test_empty_and_blank_texts() -> None:
    assert salience.summarize("", "", 50) == []
    assert salience.summarize(" \n\n \t", "A title", 50) == []
    assert salience.sentence_scores([]) == []
    assert salience.ranked([]) == []


def test_scores_are_one_finite_float_per_sentence_and_deterministic() -> None:
    sentences = salience.article_sentences(ARTICLE)
    scores = salience.sentence_scores(sentences, TITLE)
    assert len(scores) == len(sentences)
    assert all(isinstance(score, float) and math.isfinite(score) for score in scores)
    assert scores == salience.sentence_scores(sentences, TITLE)
    assert len(salience.sentence_scores(sentences)) == len(sentences)  # the title is optional


def test_odd_sentences_do_not_crash() -> None:
    odd = ["", "   ", "...", "42", "$$$ !!!", "\u201c\u201d", "A", "x" * 3000, "Ünïcödé wörds ånd ñ."]
    scores = salience.sentence_scores(odd, "")
    assert len(scores) == len(odd) and all(math.isfinite(score) for score in scores)


def test_one_fifty_thousand_word_sentence() -> None:
    giant = " ".join(f"word{n % 97}" for n in range(50_000)) + "."
    start = time.thread_time()  # CPU time of this thread: the bound holds on a busy machine
    assert salience.summarize(giant, "word1 word2", 60) == []
    summary = salience.summarize(f"{ARTICLE}\n{giant}", TITLE, 60)
    assert summary and _words(summary) <= 60 and all(sentence in ARTICLE for sentence in summary)
    assert salience.sentence_scores([giant])[0] == salience.sentence_scores([giant])[0]
    assert time.thread_time() - start < 10


def test_non_english_texts() -> None:
    german = (
        "Der Stadtrat hat am Dienstag beschlossen, die alte Brücke zu schließen. "
        "Prüfer hatten tiefe Risse in zwei Pfeilern gefunden. "
        "Die Reparatur soll acht Monate dauern und zwölf Millionen Euro kosten."
    )
    greek = "Το δημοτικό συμβούλιο έκλεισε τη γέφυρα. Οι επισκευές θα διαρκέσουν οκτώ μήνες."
    chinese = "市议会周二投票决定关闭旧桥。检查人员发现两个桥墩有很深的裂缝。维修预计需要八个月。"
    arabic = "قرر مجلس المدينة إغلاق الجسر القديم. وجد المفتشون شقوقا عميقة في دعامتين."
    for text in (german, greek, chinese, arabic):
        summary = salience.summarize(text, "", 30)
        assert _words(summary) <= 30
        assert all(sentence in text for sentence in summary)
    assert salience.summarize(german, "Brücke geschlossen", 15)


def test_redundant_sentences_are_ranked_after_new_information() -> None:
    sentences = [
        "Floods closed the main railway line between Arlen and Vesk on Monday, stranding thousands.",
        "Floods closed the main railway line between Arlen and Vesk on Monday, stranding thousands of people.",
        "The rail operator said buses would replace trains until the water had gone down.",
    ]
    order = salience.ranked(sentences, "Floods close railway")
    assert order[-1] in (0, 1)


def test_inference_does_not_need_numpy() -> None:
    code = (
        "import sys\n"
        "from newsdigest.claims import salience\n"
        f"salience.summarize({ARTICLE!r}, 'title', 40)\n"
        "assert 'numpy' not in sys.modules, 'newsdigest.claims.salience imported numpy'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@settings(max_examples=60, deadline=None)
@given(
    paragraphs=st.lists(st.text(min_size=0, max_size=300), max_size=6),
    title=st.text(max_size=60),
    budget=st.integers(min_value=0, max_value=120),
)
def test_any_text_gives_verbatim_sentences_within_budget(paragraphs: list[str], title: str, budget: int) -> None:
    text = "\n".join(paragraphs)
    summary = salience.summarize(text, title, budget)
    assert _words(summary) <= budget
    assert all(sentence and sentence in text for sentence in summary)
