"""Page extraction: the rules on top of trafilatura, per-source memory, and bad input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdigest.cleaning.boilerplate import MemoryBank, SourceMemory, StoredLineCache, line_key, source_key
from newsdigest.cleaning.extract import clean_page, extract_page, is_title_like

PARAGRAPHS = [
    "The harbour authority said container traffic rose by 12 percent in March, the highest in a decade.",
    "Officials expect the growth to continue through the summer, when two new cranes come into service.",
    "Dock workers' unions said they would ask for extra shifts to be paid at the weekend rate from May.",
    "The port handled 41,000 containers last month, according to figures published on Tuesday.",
]


def page(
    title: str, paragraphs: list[str], *, kicker: str = "", extra_body: str = "", url: str = "https://x.example/a"
) -> str:
    """A news page shaped like the ones the pipeline fetches: head metadata, menu, article, footer."""
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    kicker_html = f'<p class="kicker">{kicker}</p>' if kicker else ""
    return f"""<html><head><title>{title} | Example News</title>
    <meta property="og:title" content="{title}"><link rel="canonical" href="{url}"></head><body>
    <nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
    <main><article>{kicker_html}<h1>{title}</h1>{body}{extra_body}</article></main>
    <footer><p>Copyright 2025 Example Media. All rights reserved.</p></footer></body></html>"""


def test_headline_and_kicker_go_to_the_lead_not_the_body() -> None:
    extracted = extract_page(page("Harbour traffic hits a ten-year high", PARAGRAPHS, kicker="Business"))
    assert extracted.title == "Harbour traffic hits a ten-year high"
    assert "Harbour traffic hits a ten-year high" in extracted.lead
    assert extracted.body.split("\n") == PARAGRAPHS
    assert extracted.full_text.startswith("Business\nHarbour traffic hits a ten-year high\n")


def test_link_only_teasers_promotions_and_own_url_are_removed() -> None:
    extra = (
        '<p><a href="/other">Storm closes the coastal road for a second day</a></p>'
        "<p>CLICK HERE TO GET THE EXAMPLE NEWS APP</p>"
        "<p>https://x.example/a</p>"
        '<ul><li><a href="/1">Ferry fares rise again this spring</a></li>'
        '<li><a href="/2">Council passes the budget after a long debate</a></li></ul>'
        "<h3>More from Business</h3>"
    )
    body = clean_page(page("Harbour traffic hits a ten-year high", PARAGRAPHS, extra_body=extra))
    assert body.split("\n") == PARAGRAPHS


def test_a_cited_url_and_a_short_subhead_inside_the_text_are_kept() -> None:
    extra = f"<h2>What comes next</h2><p>{PARAGRAPHS[1]}</p><p>https://data.example.org/port-figures</p>"
    body = clean_page(page("Harbour traffic hits a ten-year high", [PARAGRAPHS[0], PARAGRAPHS[2]], extra_body=extra))
    assert "What comes next" in body
    assert "https://data.example.org/port-figures" in body


def test_title_likeness() -> None:
    assert is_title_like("Harbour traffic hits a ten-year high", "Harbour traffic hits a ten-year high | Example")
    assert not is_title_like(PARAGRAPHS[0], "Harbour traffic hits a ten-year high")
    assert not is_title_like("", "anything")


def test_memory_removes_a_box_that_recurs_on_a_sources_pages() -> None:
    box = "<p>Get the Morning Briefing from Example News in your inbox every weekday before seven.</p>"
    memory = SourceMemory(min_pages=2)
    stories = [
        ["A new bridge over the river opened on Monday after three years of building work and delays."],
        ["The city library extended its opening hours to ten in the evening from the first of June."],
        ["Two schools in the north district will share a new sports hall, the education board announced."],
    ]
    bodies = [clean_page(page(f"Story {n}", text, extra_body=box), memory=memory) for n, text in enumerate(stories)]
    assert "Morning Briefing" in bodies[0] and "Morning Briefing" in bodies[1]
    assert "Morning Briefing" not in bodies[2]
    assert stories[2][0] in bodies[2]


def test_memory_does_not_gut_a_republished_article() -> None:
    memory = SourceMemory(min_pages=1)
    first = clean_page(page("Harbour traffic hits a ten-year high", PARAGRAPHS), memory=memory)
    again = clean_page(page("Harbour traffic: updated", PARAGRAPHS, url="https://x.example/b"), memory=memory)
    assert again == first == "\n".join(PARAGRAPHS)


def test_memory_keys_and_bank() -> None:
    assert line_key("Sign  up for the NEWSLETTER") == line_key("sign up for the newsletter")
    assert source_key("https://www.example.com/a/b") == "example.com"
    assert source_key(None, "Feed name") == "Feed name"
    bank = MemoryBank(min_pages=1)
    memory = bank.for_source("example.com", {line_key("A line seen before on this site"): 1})
    assert memory.is_boilerplate("A line seen before on this site")
    memory.learn(["A line seen on this page for the first time"])
    assert bank.learned() == {"example.com": {line_key("A line seen on this page for the first time"): 1}}


def test_stored_counts_are_shared_and_never_written_to() -> None:
    stored = {line_key("Subscribe to the Harbour Gazette newsletter"): 3}
    first, second = SourceMemory(stored, min_pages=2), SourceMemory(stored, min_pages=2)
    first.learn(["Subscribe to the Harbour Gazette newsletter", "A sentence of this article alone"])
    assert first.pages_seen(line_key("Subscribe to the Harbour Gazette newsletter")) == 4
    assert second.pages_seen(line_key("Subscribe to the Harbour Gazette newsletter")) == 3
    assert stored == {line_key("Subscribe to the Harbour Gazette newsletter"): 3}
    assert len(first) == 2 and len(second) == 1
    # A line learned on two pages of this memory alone is boilerplate from the third on.
    first.learn(["A sentence of this article alone"])
    assert first.is_boilerplate("A sentence of this article alone")


def test_stored_line_cache_reads_a_host_once_per_revision() -> None:
    reads: list[list[str]] = []
    store = {"a.example": {"h1": 2}, "b.example": {"h2": 5}}

    def load(keys: list[str]) -> dict[str, dict[str, int]]:
        reads.append(keys)
        return {key: dict(store[key]) for key in keys if key in store}

    cache = StoredLineCache()
    assert cache.counts("run-1", 0, ["a.example"], load) == {"a.example": {"h1": 2}}
    assert cache.counts("run-1", 0, ["a.example", "b.example", "c.example"], load)["c.example"] == {}
    assert reads == [["a.example"], ["b.example", "c.example"]]
    # The flow saved a chunk: a newer revision reads again; a batch submitted earlier keeps the newer one.
    store["a.example"]["h1"] = 3
    assert cache.counts("run-1", 1, ["a.example"], load) == {"a.example": {"h1": 3}}
    assert cache.counts("run-1", 0, ["a.example"], load) == {"a.example": {"h1": 3}}
    assert len(reads) == 3
    # Another run starts over, and nothing handed out can be written through.
    counts = cache.counts("run-2", 0, ["a.example"], load)["a.example"]
    assert len(reads) == 4
    with pytest.raises(TypeError):
        counts["h1"] = 9  # type: ignore[index]
    assert store["a.example"]["h1"] == 3 and counts["h1"] == 3


# Bad input: each case ends in text (possibly empty) within a time bound, never an exception.


def _timed_extract(html: str | bytes) -> tuple[str, float]:
    # CPU seconds of this thread, not wall time: the bounds hold on a busy machine.
    start = time.thread_time()
    body = clean_page(html, "https://x.example/a")
    return body, time.thread_time() - start


def test_a_20_mb_page_is_bounded_in_time() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {n}: the harbour authority said traffic rose by {n % 90} percent, the highest in {n} years.</p>"
        for n in range(200_000)
    )
    html = f"<html><body><article>{paragraphs}</article></body></html>"
    assert len(html) > 20_000_000
    body, cpu_seconds = _timed_extract(html)
    assert body.startswith("Paragraph 0: the harbour authority")
    assert cpu_seconds < 15


def test_a_20_mb_script_does_not_hide_the_article() -> None:
    html = (
        "<html><head><script>"
        + "var a = 1;" * 2_000_000
        + "</script></head><body><article>"
        + "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
        + "</article></body></html>"
    )
    body, cpu_seconds = _timed_extract(html.encode("utf-8"))
    assert PARAGRAPHS[0] in body
    assert cpu_seconds < 15


def test_deep_nesting_unclosed_tags_and_empty_pages() -> None:
    cases = [
        "<div>" * 10_000 + "text" + "</div>" * 10_000,
        "<html><body>" + "<div><span><b>" * 10_000 + "An article that never closes its tags.",
        "<table><tr><td>" * 10_000 + "x",
        "",
        "<html><body></body></html>",
        "<html><body><p></p><p>   </p></body></html>",
        "\x00\x01\x02<<<>>>&&&;",
    ]
    for html in cases:
        body, cpu_seconds = _timed_extract(html)
        assert isinstance(body, str)
        assert cpu_seconds < 5


def test_charsets_declared_wrong_or_missing() -> None:
    text = "Київ заявив, що північнокорейські війська можуть приєднатися до наступу на Суми та Харків цієї весни."
    article = f"<article><p>{text}</p><p>{text}</p></article>"
    right = f'<html><head><meta charset="windows-1251"></head><body>{article}</body></html>'.encode("cp1251")
    missing = f"<html><head></head><body>{article}</body></html>".encode("cp1251")
    wrong = f'<html><head><meta charset="iso-8859-1"></head><body>{article}</body></html>'.encode()
    assert text in clean_page(right)
    for html in (missing, wrong):
        body, cpu_seconds = _timed_extract(html)
        assert isinstance(body, str) and cpu_seconds < 5
    # UTF-8 declared as Latin-1 is the common mistake; the bytes are still read as UTF-8.
    assert text in clean_page(wrong)


_TAGS = st.sampled_from(["p", "div", "span", "article", "table", "td", "li", "ul", "script", "style", "a", "h1", "br"])
_FRAGMENTS = st.one_of(
    _TAGS.map(lambda tag: f"<{tag}>"),
    _TAGS.map(lambda tag: f"</{tag}>"),
    st.text(max_size=80),
    st.sampled_from(["<!--", "-->", "<![CDATA[", "&amp;", "&#x0;", "<meta charset='bogus'>", '<a href="java:x">']),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, max_size=200))
def test_broken_html_never_raises(fragments: list[str]) -> None:
    body, cpu_seconds = _timed_extract("".join(fragments))
    assert isinstance(body, str)
    assert cpu_seconds < 5


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=6000))
def test_random_bytes_never_raise(data: bytes) -> None:
    body, cpu_seconds = _timed_extract(data)
    assert isinstance(body, str)
    assert cpu_seconds < 5
