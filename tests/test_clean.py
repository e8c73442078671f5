from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdigest.cleaning.extract import clean_page
from newsdigest.cleaning.flat import clean_feed_html, clean_text, is_glued_byline
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
