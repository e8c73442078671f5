from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsdigest.delivery.files import write_atomic, write_digest_files
from newsdigest.digest.formats import EXTENSIONS, FORMATS, OPEN_FORMATS, output_format
from newsdigest.digest.render import default_templates_dir, render_digest
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


def test_every_format_carries_the_story_claims_sources_and_failures() -> None:
    rendered = render_digest(_digest())
    assert set(rendered) == {"md", "html", "txt", "json"}
    for fmt in ("md", "html", "txt"):
        text = rendered[fmt]
        assert "3,000" in text and "Ana Ruiz" in text and "April 15" in text, fmt
        assert "HTTP 500" in text and "Paper C" in text and "malformed feed" in text, fmt
        assert "2 outlets" in text, fmt
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


def test_empty_digest_says_so() -> None:
    empty = Digest(title="D", digest_date=date(2025, 4, 16), generated_at=WHEN, stories=())
    for fmt in ("md", "html", "txt"):
        assert "Nothing new" in render_digest(empty)[fmt]


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
