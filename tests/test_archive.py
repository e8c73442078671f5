"""The digest archive: index.html and feed.xml rebuilt from the digest folder, story anchors, `newsdigest open`."""

from __future__ import annotations

import json
import logging
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from bs4 import BeautifulSoup

from newsdigest import cli
from newsdigest.config.load import parse_config
from newsdigest.delivery.files import write_digest_files
from newsdigest.digest.archive import FEED_LIMIT, find_digest, render_archive, scan_digests, write_archive
from newsdigest.digest.render import SUMMARY_LIMIT, TITLE_LIMIT, render_digest
from newsdigest.errors import ConfigError
from newsdigest.models import Digest, Story, StoryArticle
from tests.test_render import EVIL, WHEN, _digest

ATOM = "{http://www.w3.org/2005/Atom}"
# date -> story count of the folder most tests use; written out of order on purpose.
DAYS = {date(2025, 4, 14): 2, date(2025, 4, 16): 3, date(2025, 4, 15): 0, date(2025, 3, 31): 1}


def _story(day: date, number: int, title: str | None = None) -> Story:
    when = WHEN.replace(day=1) + timedelta(days=day.toordinal() - date(2025, 4, 1).toordinal())
    return Story(
        story_id=f"s-{day:%m%d}{number:02d}",
        title=title or f"Story {number} of {day.isoformat()}",
        summary=f"What story {number} is about.",
        articles=(StoryArticle(f"a{number}", "Paper A", f"Headline {number}", f"https://a.example/{number}", when),),
        first_seen=when,
        latest=when,
    )


def _write_day(out: Path, day: date, count: int, title: str = "Morning digest", **story_titles: str) -> Digest:
    """A real digest of `count` stories rendered in every format into `out`."""
    stories = tuple(_story(day, n, story_titles.get(f"s{n}")) for n in range(1, count + 1))
    digest = replace(
        _digest(),
        title=title,
        digest_date=day,
        stories=stories,
        generated_at=datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC),
    )
    write_digest_files(render_digest(digest), out, day)
    return digest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A digest folder with four digests and some files that are not digests."""
    out = tmp_path / "digests"
    for day, count in DAYS.items():
        _write_day(out, day, count)
    (out / "notes.json").write_text('{"story_count": 99}', encoding="utf-8")
    (out / "2025-02-30.json").write_text('{"story_count": 99}', encoding="utf-8")  # not a real date
    (out / "2025-04-10.json.bak").write_text("{}", encoding="utf-8")
    (out / "README.txt").write_text("my digests", encoding="utf-8")
    (out / "old").mkdir()
    return out


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _rows(index: Path) -> list[tuple[str, str]]:
    """(date, story count text) of each digest row of the archive page, in page order."""
    soup = _soup(index)
    return [(row.find("time")["datetime"], row.select_one(".count").get_text()) for row in soup.select("li.digest")]


def test_index_lists_every_digest_newest_first_with_its_story_count(folder: Path) -> None:
    paths = write_archive(folder)
    assert set(paths) == {"index.html", "feed.xml"}
    assert _rows(paths["index.html"]) == [
        ("2025-04-16", "3 stories"),
        ("2025-04-15", "0 stories"),
        ("2025-04-14", "2 stories"),
        ("2025-03-31", "1 story"),
    ]
    soup = _soup(paths["index.html"])
    assert "notes" not in soup.get_text() and "README" not in soup.get_text()
    assert soup.find("h1").get_text() == "Morning digest"  # the newest digest's title when none is given
    assert soup.find("link", rel="alternate")["href"] == "feed.xml"


def test_index_links_to_each_format_and_the_links_resolve(folder: Path) -> None:
    (folder / "2025-03-31.txt").unlink()  # a format that is missing is not linked
    index = write_archive(folder)["index.html"]
    soup = _soup(index)
    row = soup.find(id="digest-2025-04-16")
    assert row.find("h2").a["href"] == "2025-04-16.html"
    assert [a["href"] for a in row.select(".files a")] == [f"2025-04-16.{ext}" for ext in ("html", "md", "txt", "json")]
    old = soup.find(id="digest-2025-03-31")
    assert [a.get_text() for a in old.select(".files a")] == ["HTML", "Markdown", "JSON"]
    for link in soup.find_all("a", href=True):
        target = urlsplit(link["href"]).path
        assert (folder / target).is_file(), link["href"]


def test_every_story_has_an_anchor_and_the_archive_links_to_it(folder: Path) -> None:
    index = write_archive(folder)["index.html"]
    story_links = [a["href"] for a in _soup(index).select("details a")]
    assert len(story_links) == sum(DAYS.values())
    for href in story_links:
        page, _, fragment = href.partition("#")
        assert fragment.startswith("story-"), href
        assert _soup(folder / page).find(id=unquote(fragment)) is not None, href
    anchored = [tag["id"] for tag in _soup(folder / "2025-04-16.html").find_all(id=True)]
    assert anchored == ["story-s-041601", "story-s-041602", "story-s-041603"]


def test_a_story_id_with_odd_characters_gets_a_working_link(tmp_path: Path) -> None:
    digest = replace(_digest(), stories=(replace(_digest().stories[0], story_id="s/1 #ä"),))
    write_digest_files(render_digest(digest), tmp_path, digest.digest_date)
    write_archive(tmp_path)
    (href,) = [a["href"] for a in _soup(tmp_path / "index.html").select("details a")]
    assert href == "2025-04-16.html#story-s%2F1%20%23%C3%A4"
    assert _soup(tmp_path / "2025-04-16.html").find(id=unquote(href.partition("#")[2])) is not None


def test_feed_is_valid_atom_that_feedparser_reads_entry_by_entry(folder: Path) -> None:
    feed_path = write_archive(folder)["feed.xml"]
    ET.parse(feed_path)  # well-formed XML
    feed = feedparser.parse(feed_path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Morning digest"
    assert feed.feed.updated == "2025-04-16T06:00:00Z"
    assert [entry.title for entry in feed.entries] == [
        "Morning digest, 2025-04-16: 3 stories",
        "Morning digest, 2025-04-15: 0 stories",
        "Morning digest, 2025-04-14: 2 stories",
        "Morning digest, 2025-03-31: 1 story",
    ]
    ids = [entry.id for entry in feed.entries]
    assert ids == [f"tag:newsdigest,{day}:digest" for day in ("2025-04-16", "2025-04-15", "2025-04-14", "2025-03-31")]
    assert [entry.link for entry in feed.entries] == [
        f"{day}.html" for day in ("2025-04-16", "2025-04-15", "2025-04-14", "2025-03-31")
    ]
    first = feed.entries[0]
    assert first.updated == "2025-04-16T06:00:00Z"
    content = BeautifulSoup(first.content[0].value, "html.parser")
    assert first.content[0].type == "text/html"
    items = content.select("ol > li")
    assert [li.a.get_text() for li in items] == [
        "Story 1 of 2025-04-16",
        "Story 2 of 2025-04-16",
        "Story 3 of 2025-04-16",
    ]
    # Each story: its title linked to its anchor, its one-line summary, then links to the articles.
    assert "What story 2 is about." in items[1].get_text()
    assert [(a.get_text(), a["href"]) for a in items[1].select("small a")] == [("Paper A", "https://a.example/2")]
    assert "Nothing new" in feed.entries[1].content[0].value
    check_atom(feed_path.read_bytes())


def check_atom(document: bytes) -> None:
    """The RFC 4287 rules the W3C feed validator applies that can be checked offline; fails on the first broken one."""
    root = ET.fromstring(document)
    assert root.tag == f"{ATOM}feed"
    rfc3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"

    def one(parent: ET.Element, name: str) -> ET.Element:
        found = parent.findall(f"{ATOM}{name}")
        assert len(found) == 1, f"{parent.tag} must have exactly one {name}, has {len(found)}"
        return found[0]

    def check_text(element: ET.Element) -> None:
        kind = element.get("type", "text")
        assert kind in ("text", "html", "xhtml"), kind
        if kind == "html":  # escaped HTML: it must be HTML once unescaped, with no children of its own
            assert len(element) == 0 and BeautifulSoup(element.text or "", "html.parser") is not None

    tag_uri = r"tag:[a-z0-9.-]+,\d{4}(-\d{2}(-\d{2})?)?:[\w;/?:@&=+$.!~*'()%,-]*"
    assert re.fullmatch(tag_uri, one(root, "id").text or ""), "the feed id is a tag: URI"
    check_text(one(root, "title"))
    assert re.fullmatch(rfc3339, one(root, "updated").text or "")
    feed_author = root.findall(f"{ATOM}author")
    assert all(len(author.findall(f"{ATOM}name")) == 1 for author in feed_author)
    links = [
        (link.get("rel", "alternate"), link.get("type"), link.get("hreflang")) for link in root.findall(f"{ATOM}link")
    ]
    assert len(links) == len(set(links)), "two alternate links of the same type and language"
    assert all(link.get("href") for link in root.findall(f"{ATOM}link"))
    assert ("self", "application/atom+xml", None) in links, "the validator asks for a self link"
    entries = root.findall(f"{ATOM}entry")
    ids = [one(entry, "id").text for entry in entries]
    assert len(ids) == len(set(ids)), "entry ids are unique"
    updated_times = []
    for entry, entry_id in zip(entries, ids, strict=True):
        assert re.fullmatch(tag_uri, entry_id or ""), entry_id
        check_text(one(entry, "title"))
        stamp = one(entry, "updated").text or ""
        assert re.fullmatch(rfc3339, stamp), stamp
        updated_times.append(datetime.fromisoformat(stamp))
        assert feed_author or entry.findall(f"{ATOM}author"), "an entry without an author in a feed without one"
        contents = entry.findall(f"{ATOM}content")
        assert len(contents) <= 1 and len(entry.findall(f"{ATOM}summary")) <= 1
        entry_links = [(link.get("rel", "alternate"), link.get("type")) for link in entry.findall(f"{ATOM}link")]
        assert len(entry_links) == len(set(entry_links))
        assert contents or ("alternate", entry_links[0][1] if entry_links else None) in entry_links
        for content in contents:
            check_text(content)
    # The feed's updated time is its newest entry's (the validator warns about a feed older than its entries).
    if updated_times:
        assert datetime.fromisoformat(one(root, "updated").text or "") == max(updated_times)


def _regenerate(out: Path, day: date, count: int, hour: int, **story_titles: str) -> None:
    """The day's digest written again by a later run: same stories unless told, a later generated time."""
    digest = _write_day(out, day, count, **story_titles)
    data = json.loads((out / f"{day}.json").read_text(encoding="utf-8"))
    data["generated_at"] = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC).isoformat()
    (out / f"{day}.json").write_text(json.dumps(data), encoding="utf-8")
    assert digest.digest_date == day


def test_a_rerun_with_the_same_content_leaves_the_feed_byte_for_byte(folder: Path) -> None:
    first = write_archive(folder)["feed.xml"].read_bytes()
    _regenerate(folder, date(2025, 4, 16), 3, hour=9)  # same stories, generated three hours later
    assert json.loads((folder / "2025-04-16.json").read_text(encoding="utf-8"))["generated_at"].startswith(
        "2025-04-16T09:00"
    )
    assert write_archive(folder)["feed.xml"].read_bytes() == first
    assert write_archive(folder)["feed.xml"].read_bytes() == first


def test_an_entry_whose_content_changed_gets_the_new_time_and_the_others_keep_theirs(folder: Path) -> None:
    write_archive(folder)
    _regenerate(folder, date(2025, 4, 16), 3, hour=9, s2="A different second story")
    _regenerate(folder, date(2025, 4, 14), 2, hour=10)  # unchanged content, later run
    feed_bytes = write_archive(folder)["feed.xml"].read_bytes()
    check_atom(feed_bytes)
    feed = feedparser.parse(feed_bytes)
    assert not feed.bozo
    times = {entry.link: entry.updated for entry in feed.entries}
    assert times["2025-04-16.html"] == "2025-04-16T09:00:00Z"
    assert times["2025-04-14.html"] == "2025-04-14T06:00:00Z"
    assert feed.feed.updated == "2025-04-16T09:00:00Z"
    # Without a previous feed (deleted, or unreadable), each entry has its digest's generated time.
    (folder / "feed.xml").write_text("<not a feed", encoding="utf-8")
    times = {
        entry.link: entry.updated for entry in feedparser.parse(write_archive(folder)["feed.xml"].read_bytes()).entries
    }
    assert times["2025-04-14.html"] == "2025-04-14T10:00:00Z"


def test_feed_links_are_absolute_under_the_base_url(folder: Path) -> None:
    feed_path = write_archive(folder, base_url="https://news.example.org/digests")["feed.xml"]
    feed = feedparser.parse(feed_path.read_bytes())
    assert not feed.bozo
    assert feed.entries[0].link == "https://news.example.org/digests/2025-04-16.html"
    assert feed.entries[0].id == "tag:news.example.org,2025-04-16:digest"
    assert {link.rel: link.href for link in feed.feed.links} == {
        "alternate": "https://news.example.org/digests/index.html",
        "self": "https://news.example.org/digests/feed.xml",
    }
    story_links = [a["href"] for a in BeautifulSoup(feed.entries[0].summary, "html.parser").find_all("a")]
    assert story_links[0] == "https://news.example.org/digests/2025-04-16.html#story-s-041601"
    assert story_links[1] == "https://a.example/1"  # the article itself, as the digest links it
    check_atom(feed_path.read_bytes())
    # The archive page itself keeps relative links: it sits next to the digests.
    assert _soup(folder / "index.html").find(id="digest-2025-04-16").h2.a["href"] == "2025-04-16.html"


def test_feed_holds_the_thirty_newest_digests(tmp_path: Path) -> None:
    first = date(2025, 1, 1)
    for offset in range(FEED_LIMIT + 5):
        _write_day(tmp_path, first + timedelta(days=offset), offset % 3)
    write_archive(tmp_path)
    feed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == FEED_LIMIT
    assert feed.entries[0].link == (first + timedelta(days=FEED_LIMIT + 4)).isoformat() + ".html"
    assert feed.entries[-1].link == (first + timedelta(days=5)).isoformat() + ".html"
    assert len(_rows(tmp_path / "index.html")) == FEED_LIMIT + 5  # the page lists them all


def test_markup_and_control_characters_are_escaped_everywhere(tmp_path: Path) -> None:
    nasty = f"{EVIL} & <b>bold</b> ]]> \x01\x0b end"
    _write_day(tmp_path, date(2025, 4, 16), 2, title=f"Digest {EVIL}", s1=nasty)
    paths = write_archive(tmp_path)
    page = paths["index.html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "<b>bold" not in page and "&lt;script&gt;" in page
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all(["script", "img", "b"])
    ET.parse(paths["feed.xml"])
    feed = feedparser.parse(paths["feed.xml"].read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Digest " + EVIL
    assert feed.entries[0].title == f"Digest {EVIL}, 2025-04-16: 2 stories"
    # The summary is HTML carried as text: the planted markup is still text inside it.
    summary = BeautifulSoup(feed.entries[0].summary, "html.parser")
    assert not summary.find_all(["script", "img", "b"])
    # Controls dropped, then one line of single spaces, as in every digest format.
    assert summary.find("a").get_text() == f"{EVIL} & <b>bold</b> ]]> end"


def test_oversized_titles_and_summaries_from_any_digest_file_are_cut_in_the_page_and_the_feed(tmp_path: Path) -> None:
    huge = "word " * 200_000  # 1 MB, as a file from another program or an older version could hold
    story = {"id": "s-1", "title": huge, "summary": huge}
    data = {"title": huge, "date": "2025-04-16", "story_count": 2, "stories": [story, {"id": "s-2", "title": "Next"}]}
    (tmp_path / "2025-04-16.json").write_text(json.dumps(data), encoding="utf-8")
    paths = write_archive(tmp_path)
    for path in paths.values():
        assert path.stat().st_size < 20_000, path.name
    feed = feedparser.parse(paths["feed.xml"].read_bytes())
    assert not feed.bozo and len(feed.entries[0].title) <= TITLE_LIMIT + 40
    items = BeautifulSoup(feed.entries[0].summary, "html.parser").find_all("li")
    assert items[1].get_text() == "Next"  # the story after the oversized one is listed whole
    assert items[0].get_text().endswith("…") and len(items[0].get_text()) <= TITLE_LIMIT + SUMMARY_LIMIT
    page = _soup(paths["index.html"])
    assert page.find("h1").get_text().endswith("…") and len(page.find("h1").get_text()) <= TITLE_LIMIT
    assert page.select_one("details .summary").get_text().endswith("…")


def test_a_corrupt_digest_file_is_skipped_with_a_warning(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    (folder / "2025-04-01.json").write_text('{"title": "half written', encoding="utf-8")
    (folder / "2025-04-02.json").write_text("[1, 2, 3]", encoding="utf-8")
    (folder / "2025-04-03.json").write_text('{"story_count": "many", "stories": []}', encoding="utf-8")
    (folder / "2025-04-04.json").write_bytes(b'{"title": "\xff\xfe"}')
    (folder / "2025-04-05.json").write_text('{"stories": "none"}', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="newsdigest.digest.archive"):
        paths = write_archive(folder)
    skipped = sorted(record.getMessage().split()[2] for record in caplog.records)
    assert [Path(name.rstrip(",")).name for name in skipped] == [f"2025-04-0{n}.json" for n in range(1, 6)]
    assert [day for day, _ in _rows(paths["index.html"])] == ["2025-04-16", "2025-04-15", "2025-04-14", "2025-03-31"]
    assert len(feedparser.parse(paths["feed.xml"].read_bytes()).entries) == 4


def test_an_empty_or_missing_folder_gets_an_empty_archive(tmp_path: Path) -> None:
    paths = write_archive(tmp_path / "new")
    assert "No digests yet" in paths["index.html"].read_text(encoding="utf-8")
    feed = feedparser.parse(paths["feed.xml"].read_bytes())
    assert not feed.bozo and feed.entries == [] and feed.feed.title == "News digests"
    assert scan_digests(tmp_path / "nowhere") == []


def test_rebuilding_is_atomic_repeatable_and_follows_the_folder(folder: Path) -> None:
    first = {name: path.read_text(encoding="utf-8") for name, path in write_archive(folder).items()}
    second = {name: path.read_text(encoding="utf-8") for name, path in write_archive(folder).items()}
    assert first == second  # nothing in them depends on when they were built
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    for ext in ("html", "md", "txt", "json"):
        (folder / f"2025-04-16.{ext}").unlink()
    _write_day(folder, date(2025, 4, 17), 1)
    assert [day for day, _ in _rows(write_archive(folder)["index.html"])][:2] == ["2025-04-17", "2025-04-15"]


def test_the_configured_title_wins_and_a_digest_without_html_links_its_json(folder: Path) -> None:
    (folder / "2025-04-16.html").unlink()
    rendered = render_archive(scan_digests(folder), title="My archive")
    soup = BeautifulSoup(rendered["index.html"], "html.parser")
    assert soup.find("h1").get_text() == "My archive"
    assert soup.find(id="digest-2025-04-16").h2.a["href"] == "2025-04-16.json"
    assert not soup.find(id="digest-2025-04-16").select("details a")  # no page to anchor into
    feed = feedparser.parse(rendered["feed.xml"])
    assert not feed.bozo
    assert [(link.rel, link.type, link.href) for link in feed.entries[0].links] == [
        ("alternate", "application/json", "2025-04-16.json")
    ]


def test_base_url_is_an_optional_http_url_in_the_digest_table(tmp_path: Path) -> None:
    config = parse_config({"digest": {"base_url": "https://news.example.org/digests/"}}, tmp_path)
    assert config.digest.base_url == "https://news.example.org/digests/"
    assert parse_config({}, tmp_path).digest.base_url is None
    for bad in ("news.example.org/digests", "ftp://news.example.org/", "https://", "http://[::1", "https://a b/"):
        with pytest.raises(ConfigError, match="base_url must be an http"):
            parse_config({"digest": {"base_url": bad}}, tmp_path)
    with pytest.raises(ConfigError, match="base_url"):
        parse_config({"digest": {"base_url": 5}}, tmp_path)


def test_publishing_a_digest_writes_the_archive_after_the_days_files(tmp_path: Path) -> None:
    from newsdigest.pipeline import publish_digest

    config = parse_config(
        {
            "digest": {"out_dir": "out", "title": "Wired", "base_url": "http://news.example/d/"},
            "store": {"url": "s.db"},
        },
        tmp_path,
    )
    _write_day(tmp_path / "out", date(2025, 4, 14), 2)
    published = publish_digest(config, date(2025, 4, 16), WHEN, [], 0, [])
    assert published.stories == 0 and Path(published.files["html"]).is_file()
    assert _rows(tmp_path / "out" / "index.html") == [("2025-04-16", "0 stories"), ("2025-04-14", "2 stories")]
    feed = feedparser.parse((tmp_path / "out" / "feed.xml").read_bytes())
    assert [entry.link for entry in feed.entries] == [
        "http://news.example/d/2025-04-16.html",
        "http://news.example/d/2025-04-14.html",
    ]


def test_find_digest_picks_the_date_or_the_newest(folder: Path) -> None:
    assert find_digest(folder) == folder / "2025-04-16.html"
    assert find_digest(folder, date(2025, 4, 14), "md") == folder / "2025-04-14.md"
    assert find_digest(folder, date(2025, 1, 1)) is None
    (folder / "2025-04-16.txt").unlink()
    assert find_digest(folder, fmt="txt") == folder / "2025-04-15.txt"
    assert find_digest(folder / "missing") is None


def test_open_shows_the_newest_digest_in_the_browser(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *args, **kwargs: opened.append(url) or True)
    assert cli.main(["open", "--out", str(folder)]) == 0
    assert opened == [(folder / "2025-04-16.html").resolve().as_uri()]
    assert capsys.readouterr().out.strip() == str((folder / "2025-04-16.html").resolve())
    assert cli.main(["open", "2025-04-14", "--out", str(folder)]) == 0
    assert opened[-1].endswith("/2025-04-14.html")


def test_open_reads_the_folder_from_the_configuration(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = folder.parent / "my.toml"
    config.write_text(f'[digest]\nout_dir = "{folder.name}"\n', encoding="utf-8")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *args, **kwargs: opened.append(url) or True)
    assert cli.main(["open", "2025-03-31", "--config", str(config)]) == 0
    assert opened == [(folder / "2025-03-31.html").resolve().as_uri()]


def test_open_without_a_digest_exits_1_with_a_message(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("webbrowser.open", lambda *args, **kwargs: pytest.fail("nothing to open"))
    assert cli.main(["open", "2024-01-01", "--out", str(folder)]) == 1
    assert "no html digest for 2024-01-01 in" in capsys.readouterr().err
    assert cli.main(["open", "--out", str(folder / "empty")]) == 1
    assert "no html digest in" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["open", "yesterday", "--out", str(folder)])


def test_open_text_goes_to_the_pager_or_prints_the_path(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr("webbrowser.open", lambda *args, **kwargs: pytest.fail("text is not for the browser"))
    paged = tmp_path / "paged.txt"
    script = f"import sys; open({str(paged)!r}, 'wb').write(sys.stdin.buffer.read())"
    monkeypatch.setenv("PAGER", f"{sys.executable} -c {json.dumps(script)}")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["open", "--format", "md", "--out", str(folder)]) == 0
    assert paged.read_bytes() == (folder / "2025-04-16.md").read_bytes()
    monkeypatch.delenv("PAGER")
    assert cli.main(["open", "2025-04-14", "--format", "txt", "--out", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == str((folder / "2025-04-14.txt").resolve())


def test_only_plain_web_links_of_articles_reach_the_feed_and_at_most_three(tmp_path: Path) -> None:
    urls = ["javascript:alert(1)", "https://x.example/" + "a" * 3000, "http://[::1", "https://b.example/ok"]
    articles = [{"source": f"Outlet {n}", "url": url} for n, url in enumerate(urls)]
    articles += [{"source": f"More {n}", "url": f"https://m.example/{n}"} for n in range(5)]
    data = {"title": "T", "story_count": 1, "stories": [{"id": "s-1", "title": "One", "articles": articles}]}
    (tmp_path / "2025-04-16.json").write_text(json.dumps(data), encoding="utf-8")
    feed_bytes = write_archive(tmp_path)["feed.xml"].read_bytes()
    check_atom(feed_bytes)
    content = BeautifulSoup(feedparser.parse(feed_bytes).entries[0].content[0].value, "html.parser")
    assert [a["href"] for a in content.select("small a")] == [
        "https://b.example/ok",
        "https://m.example/0",
        "https://m.example/1",
    ]


def test_the_atom_check_itself_rejects_a_broken_feed() -> None:
    good = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:x.example,2025:f</id><title>t</title>'
        "<updated>2025-04-16T06:00:00Z</updated><author><name>a</name></author>"
        '<link rel="self" type="application/atom+xml" href="feed.xml"/>{entries}</feed>'
    )
    entry = '<entry><id>tag:x.example,2025:{n}</id><title>e</title><updated>{when}</updated><link href="e"/></entry>'
    check_atom(good.format(entries=entry.format(n=1, when="2025-04-16T06:00:00Z")).encode())
    for broken in (
        entry.format(n=1, when="2025-04-16T06:00:00Z") * 2,  # the same id twice
        entry.format(n=1, when="16 April 2025"),  # not an RFC 3339 time
        entry.format(n=1, when="2025-04-17T06:00:00Z"),  # an entry newer than the feed
        "<entry><id>tag:x.example,2025:2</id><title>e</title><updated>2025-04-16T06:00:00Z</updated></entry>",
    ):
        with pytest.raises(AssertionError):
            check_atom(good.format(entries=broken).encode())


@pytest.mark.parametrize(
    ("base_url", "authority"),
    [
        ("http://[::1]:8080/d/", "newsdigest"),
        ("http://127.0.0.1/d/", "newsdigest"),
        ("https://News.Example/", "news.example"),
    ],
)
def test_feed_ids_stay_tag_uris_whatever_the_base_url_host(folder: Path, base_url: str, authority: str) -> None:
    feed_bytes = write_archive(folder, base_url=base_url)["feed.xml"].read_bytes()
    check_atom(feed_bytes)
    feed = feedparser.parse(feed_bytes)
    assert feed.feed.id == f"tag:{authority},2025:digests"
    assert feed.entries[0].id == f"tag:{authority},2025-04-16:digest"
