"""A continuing story's days in the archive: each day's listing names the story's other days and their anchors."""

from __future__ import annotations

from datetime import UTC, date, datetime

from newsdigest.digest.archive import ArchiveEntry, ArchiveStory, _view, story_days


def _entry(day: date, *story_ids: str, files: tuple[str, ...] = ("html", "json")) -> ArchiveEntry:
    stories = tuple(ArchiveStory(story_id, f"Story {story_id}") for story_id in story_ids)
    return ArchiveEntry(day, "Digest", len(stories), datetime(2025, 3, 1, tzinfo=UTC), stories, files)


def test_a_story_on_three_days_links_its_other_two_and_a_one_day_story_none() -> None:
    first = _entry(date(2025, 3, 4), "s-loan", "s-quake")
    second = _entry(date(2025, 3, 5), "s-loan")
    third = _entry(date(2025, 3, 6), "s-loan", files=("json",))
    entries = [third, second, first]  # newest first, as the archive lists them
    days = story_days(entries)
    assert [entry.digest_date for entry in days["s-loan"]] == [date(2025, 3, 4), date(2025, 3, 5), date(2025, 3, 6)]
    view = _view(second, None, days)
    assert view["stories"][0]["days"] == [
        {"date": "2025-03-04", "href": "2025-03-04.html#story-s-loan"},
        {"date": "2025-03-06", "href": None},  # that day has no HTML page to point into
    ]
    quake = next(story for story in _view(first, None, days)["stories"] if story["title"] == "Story s-quake")
    assert quake["days"] == []


def test_the_archive_page_shows_a_continuing_storys_other_days() -> None:
    from lxml import html

    from newsdigest.digest.archive import INDEX_NAME, render_archive

    entries = [
        _entry(date(2025, 3, 6), "s-loan", files=("json",)),
        _entry(date(2025, 3, 5), "s-loan"),
        _entry(date(2025, 3, 4), "s-loan", "s-quake"),
    ]
    page = html.fromstring(render_archive(entries, title="Digest")[INDEX_NAME])
    days = [" ".join(span.text_content().split()) for span in page.xpath("//span[@class='days']")]
    # One line per listing of the loan story (three days), none for the one-day quake story.
    assert days == [
        "also on 2025-03-04, 2025-03-05",
        "also on 2025-03-04, 2025-03-06",
        "also on 2025-03-05, 2025-03-06",
    ]
    links = page.xpath("//span[@class='days']/a/@href")
    assert "2025-03-04.html#story-s-loan" in links and not any("2025-03-06.html" in link for link in links)
