from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdigest.cleaning.articles import build_article
from newsdigest.cleaning.extract import clean_page
from newsdigest.cleaning.flat import clean_feed_html, clean_text, is_glued_byline, word_count
from newsdigest.models import FeedEntry, Fetched
from tests.conftest import SEED_ARTICLE

SEED_LINES = SEED_ARTICLE.read_text(encoding="utf-8").strip().split("\n")


def test_seed_keeps_every_story_paragraph_and_drops_its_last_four_lines() -> None:
    cleaned = clean_text(SEED_ARTICLE.read_text(encoding="utf-8")).split("\n")
    assert cleaned == SEED_LINES[:-4]
    for gone in SEED_LINES[-4:]:
        assert gone not in cleaned


def test_glued_byline_detection() -> None:
    assert is_glued_byline("The Kyiv IndependentTim Zadorozhnyy")
    assert not is_glued_byline("McDonald said the plan works.")
    assert not is_glued_byline("Kyiv")


def test_furniture_lines_inside_text_are_dropped() -> None:
    text = "\n".join(
        [
            "Share this article",
            "The council approved the budget on Monday after a long debate about rail funding.",
            "Advertisement",
            "The mayor said the vote would let work on the new station start in the spring.",
            "Comments (12)",
        ]
    )
    assert clean_text(text).split("\n") == [
        "The council approved the budget on Monday after a long debate about rail funding.",
        "The mayor said the vote would let work on the new station start in the spring.",
    ]


def test_feed_html_becomes_paragraph_lines() -> None:
    html = "<p>First paragraph of the report is here.</p><script>alert(1)</script><p>Second one, also real.</p>"
    assert clean_feed_html(html) == "First paragraph of the report is here.\nSecond one, also real."


def test_page_extraction_keeps_the_body_and_drops_page_furniture() -> None:
    body = " ".join(["The harbour authority said traffic rose by 12 percent in March."] * 3)
    page = f"""<html><head><title>t</title></head><body>
    <nav><a href="/">Home</a><a href="/world">World</a></nav>
    <div class="cookie">We use cookies to improve your experience.</div>
    <article><h1>Harbour traffic rises</h1><p>{body}</p>
    <p>Officials expect the growth to continue through the summer season, the report added.</p></article>
    <aside><h3>Related</h3><a href="/x">Another story entirely</a></aside>
    <footer>Copyright 2025 Example Media</footer></body></html>"""
    text = clean_page(page, "https://x.example/a.html")
    assert "traffic rose by 12 percent" in text
    assert "cookies" not in text and "Copyright" not in text and "Home" not in text


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_clean_text_never_raises(text: str) -> None:
    assert isinstance(clean_text(text), str)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=4000))
def test_clean_page_never_raises_on_bytes(data: bytes) -> None:
    assert isinstance(clean_page(data), str)


def test_clean_page_handles_deep_nesting_and_empty_pages() -> None:
    assert clean_page("<div>" * 10_000 + "text" + "</div>" * 10_000) is not None
    assert clean_page("") == ""
    assert clean_page("<html><body></body></html>") == ""


def test_hard_wrapped_feed_text_stays_one_paragraph() -> None:
    wrapped = (
        "The mayor said the new line\nwill open in June, two months\nearlier than planned.\n\n"
        "A second paragraph follows here."
    )
    assert clean_feed_html(wrapped) == (
        "The mayor said the new line will open in June, two months earlier than planned.\n"
        "A second paragraph follows here."
    )


class _OnePage:
    """A page source that hands out one page, whatever the URL."""

    def __init__(self, body: str) -> None:
        self.body = body.encode("utf-8")

    def fetch(self, location: str, *, from_feed: bool = False) -> Fetched:
        return Fetched(url=location, content=self.body, content_type="text/html")


def test_a_one_sentence_brief_is_still_the_article() -> None:
    brief = "Harbour pilots guided a damaged tanker into the port of Calder Bay on Sunday, the coast guard said."
    page = (
        "<html><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>Tanker towed in</h1><p>{brief}</p></article></body></html>"
    )
    entry = FeedEntry(
        source="Wire", guid="g1", url="https://wire.example/a.html", title="Tanker towed in", published=None
    )
    article, warning = build_article(entry, _OnePage(page))
    assert warning is None
    assert brief in article.text and article.extraction == "page"


def test_word_counts_hold_for_scripts_without_spaces() -> None:
    japanese = "市は新しい橋の建設を発表した。工事は来年五月に始まる予定で、費用は約三十億円と見込まれている。"
    assert word_count(japanese) >= 20
    assert word_count("one two three") == 3
