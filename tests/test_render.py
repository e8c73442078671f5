"""The digest as a reader gets it: every format, the contents, summaries, claim lines, escaping and size limits."""

from __future__ import annotations

import json
import re
import resource
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from newsdigest.delivery.files import write_atomic, write_digest_files
from newsdigest.digest.assemble import story_summary, summarize
from newsdigest.digest.formats import EXTENSIONS, FORMATS, OPEN_FORMATS, output_format
from newsdigest.digest.jsonio import digest_from_dict
from newsdigest.digest.render import (
    CLAIM_LIMIT,
    NAME_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    bounded,
    claim_lines,
    clip,
    default_templates_dir,
    md_escape,
    render_digest,
)
from newsdigest.models import Claim, Digest, SourceStatus, Story, StoryArticle

WHEN = datetime(2025, 4, 15, 9, 30, tzinfo=UTC)
EVIL = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _digest() -> Digest:
    claim = Claim(
        text='The mayor said 3,000 people came, calling it "a good start".',
        kind="attributed",
        speaker="Ana Ruiz",
        speaker_role="the mayor",
        cue="said",
        claim_date="April 15",
        outlets=("Paper A", "Paper B"),
    )
    story = Story(
        story_id="s-1",
        title=f"Library reopens {EVIL}",
        articles=(
            StoryArticle("a1", "Paper A", "Library reopens", "https://a.example/1.html", WHEN),
            StoryArticle("a2", "Paper B", "Library is open", "https://b.example/2.html", WHEN, duplicate_of="a1"),
        ),
        claims=(claim,),
        first_seen=WHEN,
        latest=WHEN,
    )
    return Digest(
        title="Digest",
        digest_date=date(2025, 4, 16),
        generated_at=WHEN,
        stories=(story,),
        sources=(
            SourceStatus("Paper A", ok=True, entries=3, new_articles=1),
            SourceStatus("Paper C", ok=False, error="HTTP 500 Internal Server Error"),
            SourceStatus("Paper D", ok=True, warning="malformed feed, 2 entries recovered"),
        ),
        new_articles=2,
        timezone="Europe/Kyiv",
    )


def _story(story_id: str, title: str, claims: tuple[Claim, ...] = (), **fields: object) -> Story:
    articles = (
        StoryArticle(f"{story_id}-a", "Paper A", title, f"https://a.example/{story_id}", WHEN),
        StoryArticle(f"{story_id}-b", "Paper B", title, f"https://b.example/{story_id}", WHEN),
    )
    return replace(
        Story(story_id=story_id, title=title, articles=articles, claims=claims, first_seen=WHEN, latest=WHEN),
        **fields,  # type: ignore[arg-type]
    )


def _product_digest() -> Digest:
    """Two stories: one with a summary, a note, a new claim, a speaker's run and claims carried unevenly."""
    okafor = "Samuel Okafor"
    claims = (
        Claim("The port reopened on Tuesday after a nine-day strike.", "lead", outlets=("Paper A", "Paper B")),
        Claim(f"Port director {okafor} said the strike cost 18 million euros.", "attributed", okafor, "Port director"),
        Claim("He added that crews would work through the weekend.", "attributed", okafor, "Port director"),
        Claim("More than 40 ships were waiting offshore.", "figure", outlets=("Paper A", "Paper B")),
        Claim('"We kept our word," he said.', "attributed", okafor, "Port director"),
        Claim("A second shift starts on Monday.", "fact", is_new=True, outlets=("Paper B",)),
        Claim(
            "The deal was signed at dawn.",
            "fact",
            outlets=("Paper A", "Paper B", "Paper C", "Paper D", "Paper E"),
        ),
    )
    port = _story(
        "port",
        "Port strike ends",
        claims,
        summary="The port reopened on Tuesday after a nine-day strike.",
        notes=("Paper A puts the cost at 18 million euros, Paper B at 20 million.",),
    )
    library = _story("lib", "Library reopens", (Claim("The library reopened.", "lead"),), is_update=True)
    return replace(_digest(), stories=(port, library))


def test_every_format_carries_the_story_claims_sources_and_failures() -> None:
    rendered = render_digest(_digest())
    assert set(rendered) == {"md", "html", "txt", "json"}
    for fmt in ("md", "html", "txt"):
        text = rendered[fmt]
        assert "3,000" in text and "Ana Ruiz" in text and "April 15" in text, fmt
        assert "HTTP 500" in text and "Paper C" in text and "malformed feed" in text, fmt
        assert "Paper A, Paper B" in text, fmt  # the story's outlets by name
    # Times are shown in the configured zone: 09:30 UTC is 12:30 in Kyiv in April.
    assert "12:30" in rendered["md"]


def test_html_is_escaped_and_markdown_is_escaped() -> None:
    rendered = render_digest(_digest())
    assert "<script>" not in rendered["html"] and "&lt;script&gt;" in rendered["html"]
    assert '<img src=x onerror="alert(2)">' not in rendered["html"]
    assert "<script>" not in rendered["md"]


def test_json_is_valid_and_complete() -> None:
    data = json.loads(render_digest(_digest())["json"])
    assert data["date"] == "2025-04-16" and data["story_count"] == 1
    (story,) = data["stories"]
    assert story["outlets"] == ["Paper A", "Paper B"] and story["outlet_count"] == 2
    assert story["claims"][0]["speaker"] == "Ana Ruiz"
    assert story["articles"][1]["duplicate_of"] == "a1"
    assert {s["name"]: s["ok"] for s in data["sources"]} == {"Paper A": True, "Paper C": False, "Paper D": True}


def test_json_keeps_every_key_and_adds_summary_notes_and_new_claims() -> None:
    data = json.loads(render_digest(_product_digest())["json"])
    story = data["stories"][0]
    assert {"id", "title", "is_update", "highlights", "section", "outlets", "outlet_count"} <= set(story)
    assert {"first_seen", "latest", "claims", "articles"} <= set(story)
    assert story["summary"].startswith("The port reopened") and story["notes"][0].startswith("Paper A puts")
    assert {"text", "kind", "speaker", "speaker_role", "cue", "date", "outlets", "score"} <= set(story["claims"][0])
    assert [claim["is_new"] for claim in story["claims"]].count(True) == 1
    assert digest_from_dict(data) == bounded(_product_digest())


def test_empty_digest_says_so() -> None:
    empty = Digest(title="D", digest_date=date(2025, 4, 16), generated_at=WHEN, stories=())
    for fmt in ("md", "html", "txt"):
        assert "Nothing new" in render_digest(empty)[fmt]
        assert "In this digest" not in render_digest(empty)[fmt]


def test_atomic_write_replaces_whole_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    paths = write_digest_files({"md": "# one", "txt": "one"}, tmp_path / "out", date(2025, 4, 16))
    assert paths["md"].read_text() == "# one" and paths["md"].name == "2025-04-16.md"
    write_atomic(paths["md"], "# two")
    assert paths["md"].read_text() == "# two"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2025-04-16.md", "2025-04-16.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "d.md"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


def test_the_formats_table_names_a_template_for_each_format_and_rendering_follows_it() -> None:
    for fmt in FORMATS:
        assert (default_templates_dir() / fmt.template).is_file(), fmt.extension
    assert tuple(render_digest(_digest())) == EXTENSIONS
    assert OPEN_FORMATS == ("html", "md", "txt")  # json is data: `open` does not offer it
    with pytest.raises(ValueError, match="unknown digest format"):
        output_format("pdf")


# The digest as a product: contents, summaries, plain claims, speakers named once a run.


def test_the_contents_list_every_story_at_the_top_of_every_format() -> None:
    rendered = render_digest(_product_digest())
    for fmt in ("md", "html", "txt"):
        text = rendered[fmt]
        contents = text.index("In this digest")
        assert contents < text.index("Port strike ends") < text.index("Library reopens"), fmt
    soup = BeautifulSoup(rendered["html"], "html.parser")
    links = soup.select("nav.toc a")
    assert [a.get_text() for a in links] == ["Port strike ends", "Library reopens"]
    for link in links:  # each entry jumps to its story's card
        assert soup.find(id=link["href"].removeprefix("#")) is not None, link["href"]
    md_list = re.search(r"\*\*In this digest\*\*\n\n(.*?)\n\n", rendered["md"], re.S)
    assert md_list and md_list.group(1).splitlines() == ["1. Port strike ends", "2. Library reopens · *update*"]


def test_the_summary_sits_under_the_title_and_its_claim_is_not_repeated() -> None:
    rendered = render_digest(_product_digest())
    summary = "The port reopened on Tuesday after a nine-day strike."
    for fmt in ("md", "html", "txt"):
        text = rendered[fmt]
        assert text.count(summary) == 1, fmt  # shown once, as the summary
        assert text.index("Port strike ends", text.index("In this digest") + 40) < text.index(summary), fmt
    soup = BeautifulSoup(rendered["html"], "html.parser")
    assert soup.select_one("#story-port .summary").get_text() == summary


def test_claims_carry_no_lead_figures_or_key_point_labels_and_speakers_are_named_once_a_run() -> None:
    lines = claim_lines(_product_digest().stories[0])
    assert [line.label for line in lines] == ["", "", "", "", "Samuel Okafor", ""]
    # The new claim comes first; the named speaker's next line ("He added …") continues his run;
    # after a plain fact, "he said" needs him named again, without the role given before.
    assert lines[0].text == "A second shift starts on Monday." and lines[0].is_new
    assert lines[2].text.startswith("He added")
    rendered = render_digest(_product_digest())
    for fmt in ("md", "html", "txt"):
        for debris in ("Lead", "Figures", "Key point"):
            assert debris not in rendered[fmt], (fmt, debris)


def test_a_speaker_the_text_does_not_name_is_labelled_with_role_then_by_name() -> None:
    claims = (
        Claim('"We are ready," she said.', "attributed", "Ana Ruiz", "the mayor", claim_date="April 15"),
        Claim('"The budget holds," she added.', "attributed", "Ana Ruiz", "the mayor"),
        Claim("Rain is forecast.", "fact"),
        Claim('"Come early," she said.', "attributed", "Mayor Ana Ruiz"),
        Claim('"The queue was long," Ruiz said on April 15.', "attributed", "Ana Ruiz", claim_date="April 15"),
        Claim(
            "Analyst Li Wei of Grain Research said prices fell.", "attributed", "Li Wei", "Analyst of Grain Research"
        ),
        Claim("Li Wei, spokesperson for the Northern Grain Board (NGB), said so.", "attributed", "Li Wei"),
    )
    labels = [line.label for line in claim_lines(_story("s", "T", claims))]
    assert labels == ["Mayor Ana Ruiz, April 15", "", "", "Ana Ruiz", "", "", ""]
    long_role = Claim('"Yes," he said.', "attributed", "Andrii Cherniak", "spokesperson for the Northern Board (NB)")
    assert claim_lines(_story("s", "T", (long_role,)))[0].label == (
        "Andrii Cherniak, spokesperson for the Northern Board (NB)"
    )


def test_a_digest_in_another_language_gets_no_english_labels_on_its_claims() -> None:
    claims = (
        Claim("Die Stadt öffnet die Brücke am Montag wieder.", "lead", claim_date="Montag"),
        Claim("Die Reparatur kostete 14,2 Millionen Euro.", "figure"),
        Claim("Der Verkehr soll sich bis Juni normalisieren.", "fact"),
        Claim('"Wir sind bereit", sagte sie.', "attributed", "Anna Schmidt", "Bürgermeisterin", claim_date="15. April"),
    )
    lines = claim_lines(_story("de", "Brücke wieder offen", claims))
    assert [line.label for line in lines] == ["", "", "", "Bürgermeisterin Anna Schmidt, 15. April"]
    rendered = render_digest(replace(_digest(), stories=(_story("de", "Brücke wieder offen", claims),)))
    claim_part = rendered["md"].split("Sources:")[0].split("Brücke wieder offen", 1)[1]
    assert not re.search(r"\b(Lead|Figures|Key point|said|according)\b", claim_part)


def test_new_claims_and_notes_show_in_every_format() -> None:
    rendered = render_digest(_product_digest())
    assert "- **new** · A second shift starts on Monday." in rendered["md"]
    assert "* [new] A second shift starts on Monday." in rendered["txt"]
    soup = BeautifulSoup(rendered["html"], "html.parser")
    first = soup.select_one("#story-port li")
    assert first.select_one(".new").get_text() == "new" and "A second shift" in first.get_text()
    note = "Paper A puts the cost at 18 million euros, Paper B at 20 million."
    for fmt in ("md", "html", "txt", "json"):
        assert note in rendered[fmt], fmt


def test_outlets_are_named_when_few_counted_when_many_and_not_repeated_on_a_copied_story() -> None:
    lines = {line.text: line.outlets for line in claim_lines(_product_digest().stories[0])}
    assert lines["More than 40 ships were waiting offshore."] == "Paper A, Paper B"
    assert lines["The deal was signed at dawn."] == "5 outlets"
    assert lines["A second shift starts on Monday."] == ""  # one outlet: nothing to say
    copied = _story("c", "T", tuple(Claim(f"Fact {n}.", "fact", outlets=("Paper A", "Paper B")) for n in range(3)))
    assert [line.outlets for line in claim_lines(copied)] == ["", "", ""]


def test_story_summary_is_the_headline_articles_lead_shortened() -> None:
    headline = StoryArticle("a1", "Paper A", "Port strike ends", None, WHEN)
    lead = Claim("Dockworkers returned to work on Tuesday after a nine-day strike.", "lead", article_id="a1")
    other = Claim("The union said members voted 80 percent in favour.", "attributed", "The union", article_id="a2")
    assert story_summary(headline, [other, lead], [other]) == lead.text
    echo = Claim("Port strike ends", "lead", article_id="a1")  # a lead that only repeats the headline
    assert story_summary(headline, [echo, lead], [other]) == lead.text
    assert story_summary(headline, [other], [other]) == other.text  # no lead of its own: the best claim
    assert story_summary(headline, [], []) == ""


def test_a_cut_attributed_lead_names_its_speaker_and_is_not_repeated_below() -> None:
    opening = "Ukraine does not rule out that Russia will send more troops to the offensive in the northeast"
    lead = Claim(
        f"{opening}, Andrii Cherniak, spokesperson for the military intelligence agency,"
        " told a broadcaster on April 15.",
        "attributed",
        "Andrii Cherniak",
        "spokesperson for the military intelligence agency",
        claim_date="April 15",
        article_id="a1",
    )
    later = Claim('"They learn fast," Cherniak said.', "attributed", "Andrii Cherniak", article_id="a1")
    headline = StoryArticle("a1", "Paper A", "Troops may join offensive", None, WHEN)
    summary = story_summary(headline, [lead, later], [lead, later])
    assert summary == f"{opening}… — Andrii Cherniak, spokesperson for the military intelligence agency, April 15"
    story = _story("s", "Troops may join offensive", (lead, later), summary=summary)
    # The lead's line would repeat the summary; the speaker is met there, so "Cherniak said" needs no label.
    assert [(line.text, line.label) for line in claim_lines(story)] == [(later.text, "")]
    with_figure = replace(lead, text=lead.text.replace("a broadcaster", "2,000 listeners"))
    # A figure in the part the summary cut off keeps the claim's line.
    assert [line.text for line in claim_lines(replace(story, claims=(with_figure,)))] == [with_figure.text]


def test_a_long_lead_is_cut_after_its_first_clause_in_whole_words_never_inside_a_figure() -> None:
    words = " ".join(f"word{chr(97 + n % 26)}" for n in range(12))
    long = (
        f"{words} opened the plant, which cost 14.2 million dollars and employs many workers"
        " across the whole region, officials said on Monday."
    )
    assert summarize(long) == f"{words} opened the plant…"
    # The 30th word is a figure: the cut moves back past it and past "for", a function word.
    no_break = "The council " + " ".join(["voted"] * 26) + " for 14.2 million dollars in road repairs across the city."
    assert summarize(no_break) == "The council " + " ".join(["voted"] * 26) + "…"
    fits = "The council " + " ".join(["voted"] * 24) + " for 14.2 million dollars in road repairs across the city."
    assert summarize(fits).endswith(" for 14.2 million dollars…")  # the figure whole, with its unit
    quoted = '"' + " ".join(["we"] * 20) + ", and " + " ".join(["they"] * 20) + '," she said.'
    assert summarize(quoted).endswith('…"')
    dated = "Ten words before the date come here in this long lead on March 3, 2020, when " + "it " * 20
    assert summarize(dated).endswith("on March 3, 2020…")  # a comma inside a date is not a clause break
    short = "A short lead of seven words here."
    assert summarize(short) == short


# Safe, bounded rendering (issue 20).

HOSTILE_URLS = (
    "https://x.example/a)<img src=x onerror=alert(1)>",
    "https://x.example/a)<img/src=x/onerror=alert(1)>",
    'https://x.example/"onmouseover="alert(1)',
    "https://x.example/p?a=1&lt;script&gt;alert(1)",
    "https://x.example/[a]'b'(c)\\d`e`",
    "javascript:alert(1)",
    "https://x.example/a <script>alert(1)</script>",
)
HOSTILE_TEXT = (
    f"{EVIL} [click](javascript:alert(3)) <https://evil.example> ![i](https://evil.example/i.png)",
    "1. # Heading\n\n- list\n===\n> quote ``` code",
    "&lt;script&gt;alert(4)&lt;/script&gt; &#60;b&#62;bold&#60;/b&#62; *em* _em_ ~~s~~ | a | b |",
)
ALLOWED = {
    "h1": set(),
    "h2": set(),
    "h3": set(),
    "p": set(),
    "ul": set(),
    "ol": {"start"},
    "li": set(),
    "a": {"href"},
    "strong": set(),
    "em": set(),
    "hr": set(),
}


def _hostile_digest() -> Digest:
    stories = []
    for n, url in enumerate(HOSTILE_URLS):
        text = HOSTILE_TEXT[n % len(HOSTILE_TEXT)]
        stories.append(
            replace(
                _story(f"h{n}", text, (Claim(text, "attributed", text, text, claim_date=text, outlets=(text, "B")),)),
                articles=(StoryArticle(f"a{n}", text, text, url, WHEN),),
                summary=text,
                notes=(text,),
                section=text,
                highlights=("em",),
            )
        )
    return replace(
        _digest(),
        title=HOSTILE_TEXT[1],
        stories=tuple(stories),
        notes=HOSTILE_TEXT,
        sources=(SourceStatus(HOSTILE_TEXT[0], ok=False, error=HOSTILE_TEXT[2]),),
    )


@pytest.mark.parametrize("renderer", ["markdown-it (CommonMark, HTML on)", "Python-Markdown"])
def test_markdown_renders_no_element_or_attribute_beyond_the_expected_ones(renderer: str) -> None:
    source = render_digest(_hostile_digest(), formats=("md",))["md"]
    html = MarkdownIt("commonmark").render(source) if renderer.startswith("markdown-it") else markdown.markdown(source)
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name in ALLOWED, (tag.name, str(tag)[:200])
        assert set(tag.attrs) <= ALLOWED[tag.name], (tag.name, tag.attrs)
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs and all(href.startswith("https://x.example/") for href in hrefs), hrefs
    assert all(not re.search(r"[\s<>\"]", href) for href in hrefs), hrefs
    text = soup.get_text()
    assert "<script>alert(1)</script>" in text  # the planted markup is shown, as text
    assert "[click](javascript:alert(3))" in text and "&lt;script&gt;alert(4)" in text


def test_markdown_escaping_keeps_line_starts_from_opening_blocks() -> None:
    for text, rendered in (
        ("1. One", "1\\. One"),
        ("- dash", "\\- dash"),
        ("=== x", "\\=== x"),
        ("+ p", "\\+ p"),
        ("> q", "\\> q"),
    ):
        assert md_escape(text) == rendered
        assert MarkdownIt("commonmark").render(md_escape(text)).strip() == f"<p>{text.replace('>', '&gt;')}</p>"
    assert md_escape("a\n\n# b") == "a \\# b"  # one line: a title cannot start a block of its own
    assert md_escape("Wow! 3 > 2 & AT&T") == "Wow! 3 > 2 & AT&T"  # plain inside a line: left as written


def test_links_are_web_links_only_and_a_feeds_unencoded_space_still_links() -> None:
    articles = (
        StoryArticle("a", "P", "Spaced", "https://x.example/my file.html", WHEN),
        StoryArticle("b", "P", "Script", "javascript:alert(1)", WHEN),
        StoryArticle("c", "P", "Data", "data:text/html,<script>alert(1)</script>", WHEN),
    )
    digest = replace(_digest(), stories=(replace(_digest().stories[0], articles=articles),))
    rendered = render_digest(digest)
    assert "[Spaced](https://x.example/my%20file.html)" in rendered["md"]
    hrefs = [a["href"] for a in BeautifulSoup(rendered["html"], "html.parser").select(".card a")]
    assert hrefs == ["https://x.example/my%20file.html"]
    for fmt in ("md", "txt"):
        assert "javascript:" not in rendered[fmt] and "data:" not in rendered[fmt], fmt
    assert "https://x.example/my%20file.html" in rendered["txt"]


def test_clip_cuts_at_a_word_with_an_ellipsis_and_is_idempotent() -> None:
    assert clip("one  two\nthree", 20) == "one two three"
    cut = clip("alpha beta gamma delta epsilon", 18)
    assert cut == "alpha beta gamma…" and len(cut) <= 18 and clip(cut, 18) == cut
    assert clip("x" * 1000, 50) == "x" * 49 + "…"  # one endless word is cut inside it


def test_one_huge_field_is_cut_to_its_documented_length_in_every_format() -> None:
    huge = "word " * 200_000  # 1 MB
    story = _story(
        "big",
        huge,
        (Claim(huge, "attributed", speaker=huge, speaker_role=huge),),
        summary=huge,
        notes=(huge,),
    )
    story = replace(story, articles=(StoryArticle("a", huge, huge, "https://x.example/" + "a" * 1_000_000, WHEN),))
    digest = replace(_digest(), title=huge, stories=(story, _story("next", "The next story")), notes=(huge,))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    rendered = render_digest(digest)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_utime - before < 30  # CPU seconds, generous
    for fmt, text in rendered.items():
        assert len(text) < 30_000, (fmt, len(text))
        assert "The next story" in text, fmt
    data = json.loads(rendered["json"])
    (big, _next) = data["stories"]
    assert len(data["title"]) <= TITLE_LIMIT and data["title"].endswith("…")
    assert len(big["title"]) <= TITLE_LIMIT and len(big["summary"]) <= SUMMARY_LIMIT
    assert len(big["claims"][0]["text"]) <= CLAIM_LIMIT and len(big["claims"][0]["speaker"]) <= NAME_LIMIT
    assert big["articles"][0]["url"] is None  # a megabyte link is no link
    assert bounded(bounded(digest)) == bounded(digest)
