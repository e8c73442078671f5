"""Managing sources from the command line: add (with discovery), remove, OPML in and out."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdigest.cli import main
from newsdigest.config.load import load_config
from newsdigest.errors import ConfigError
from newsdigest.sources.manage import NewSource, add_sources, read_opml, remove_source, write_opml
from tests.conftest import LocalServer

CONFIG = """# My digest: comments and layout must survive edits.
[digest]
title = "Reader's digest"   # a comment after a value

[[sources]]
name = "First"
url = "https://first.example/feed.xml"
category = "Local"

[[sources]]
name = "Second"
url = "https://second.example/rss"
"""

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>
<item><title>One</title><link>https://gazette.example/1</link><description>Text.</description></item>
</channel></rss>"""

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Subscriptions</title></head><body>
  <outline text="World" title="World">
    <outline type="rss" text="Wire One" xmlUrl="https://wire.example/one.xml"/>
    <outline type="rss" title="Wire &amp; Two" text="ignored" xmlUrl="https://wire.example/two.xml"/>
  </outline>
  <outline type="rss" text="Second again" xmlUrl="https://second.example/rss"/>
  <outline type="rss" text="Loose" xmlUrl="https://loose.example/feed"/>
  <outline text="A folder without feeds"/>
</body></opml>"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_add_appends_a_table_and_keeps_comments(config_path: Path) -> None:
    added = add_sources(config_path, [NewSource("Third", "https://third.example/atom", "World")])
    assert [source.name for source in added] == ["Third"]
    text = config_path.read_text(encoding="utf-8")
    assert text.startswith(CONFIG) and "# a comment after a value" in text
    config = load_config(config_path)
    assert [(s.name, s.category) for s in config.sources][-1] == ("Third", "World")
    # The same name or URL again is not added twice.
    assert add_sources(config_path, [NewSource("Third", "https://other.example/"), NewSource("X", added[0].url)]) == []


def test_remove_by_name_or_url_and_unknown_sources(config_path: Path) -> None:
    assert remove_source(config_path, "https://first.example/feed.xml") == "First"
    assert [s.name for s in load_config(config_path).sources] == ["Second"]
    assert "# My digest" in config_path.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="no source named"):
        remove_source(config_path, "Nobody")
    assert remove_source(config_path, "Second") == "Second"
    assert load_config(config_path).sources == ()


def test_opml_import_keeps_folders_as_categories_and_export_round_trips(config_path: Path, tmp_path: Path) -> None:
    found = read_opml(OPML.encode())
    assert [(f.name, f.url, f.category) for f in found] == [
        ("Wire One", "https://wire.example/one.xml", "World"),
        ("Wire & Two", "https://wire.example/two.xml", "World"),
        ("Second again", "https://second.example/rss", None),
        ("Loose", "https://loose.example/feed", None),
    ]
    assert main(["sources", "--config", str(config_path), "import-opml", str(tmp_path / "none.opml")]) == 2
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML, encoding="utf-8")
    assert main(["sources", "--config", str(config_path), "import-opml", str(opml)]) == 0
    config = load_config(config_path)
    assert len(config.sources) == 5  # "Second again" was already configured by URL
    exported = tmp_path / "out.opml"
    assert main(["sources", "--config", str(config_path), "export-opml", str(exported)]) == 0
    back = {(f.name, f.url, f.category) for f in read_opml(exported.read_bytes())}
    assert back == {(s.name, s.location, s.category) for s in config.sources}


def test_opml_that_is_not_xml_or_hides_entities_is_refused_safely() -> None:
    with pytest.raises(ConfigError, match="not an OPML file"):
        read_opml(b"<opml><body><outline")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<opml><body><outline text="&b;" xmlUrl="https://x.example/f"/></body></opml>'
    )
    found = read_opml(bomb)
    assert [f.url for f in found] == ["https://x.example/f"] and len(found[0].name) < 100


def test_write_opml_escapes_names() -> None:
    from newsdigest.models import Source

    text = write_opml((Source('A "quoted" <name> & co', "https://a.example/f?x=1&y=2", category="News & views"),), "T")
    found = read_opml(text.encode())
    assert found == [NewSource('A "quoted" <name> & co', "https://a.example/f?x=1&y=2", "News & views")]


def test_add_discovers_the_feed_a_page_advertises(config_path: Path, http_server: LocalServer) -> None:
    feed_url = http_server.add("/feeds/main.xml", RSS, content_type="application/rss+xml")
    page = (
        '<html><head><title>Gazette home</title><link rel="alternate" type="application/rss+xml" '
        'href="/feeds/main.xml"></head><body><p>Welcome</p></body></html>'
    )
    home = http_server.add("/", page)
    assert main(["sources", "--config", str(config_path), "add", home, "--category", "Harbour"]) == 0
    source = load_config(config_path).sources[-1]
    assert (source.name, source.location, source.category) == ("Harbour Gazette", feed_url, "Harbour")
    # A feed URL given directly is taken as it is; adding it again is refused with exit code 1.
    assert main(["sources", "--config", str(config_path), "add", feed_url]) == 1
    bare = http_server.add("/plain", "<html><head><title>No feed here</title></head><body></body></html>")
    assert main(["sources", "--config", str(config_path), "add", bare]) == 2


def test_config_check_command(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "--config", str(config_path)]) == 0
    assert "ok, 2 sources" in capsys.readouterr().out
    config_path.write_text(CONFIG + "\n[digest2]\n", encoding="utf-8")
    assert main(["config", "check", "--config", str(config_path)]) == 2
    assert "unknown key 'digest2'" in capsys.readouterr().err
