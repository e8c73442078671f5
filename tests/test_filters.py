"""Watch lists, caps, weights and sections, from the config file to the rendered digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from newsdigest.config.checks import cron_problem
from newsdigest.config.load import load_config, parse_config
from newsdigest.digest.filters import OTHER_SECTION, arrange, make_rules, matching_terms
from newsdigest.digest.render import render_digest
from newsdigest.errors import ConfigError
from newsdigest.models import Article, Claim, Digest, Source, Story, StoryArticle, WatchList

WHEN = datetime(2025, 4, 15, 9, 0, tzinfo=UTC)


def _story(n: int, title: str, source: str, claim: str = "") -> Story:
    text = claim or f"Officials gave details of item {n}."
    return Story(
        story_id=f"s{n}",
        title=title,
        articles=(StoryArticle(f"a{n}", source, title, f"https://x.example/{n}", WHEN - timedelta(minutes=n)),),
        claims=(Claim(text=text, kind="lead"),),
        first_seen=WHEN,
        latest=WHEN,
    )


SOURCES = (
    Source("City Paper", "https://city.example/feed", category="Local", max_stories=2),
    Source("Wire", "https://wire.example/feed", category="World", weight=3.0, watch=WatchList(exclude=("horoscope",))),
    Source("Sports Desk", "https://sport.example/feed"),
)


def test_terms_are_whole_words_or_patterns() -> None:
    assert matching_terms(["rail", "/bud+get/"], "The Rail budget") == ["rail", "/bud+get/"]
    assert matching_terms(["rail"], "The railway opened") == []
    assert matching_terms(["C++"], "a C++ compiler") == ["C++"]


def test_include_and_exclude_decide_which_articles_enter() -> None:
    rules = make_rules(WatchList(include=("harbour", "/\\bport\\b/"), exclude=("sponsored",)), SOURCES)

    def article(title: str, source: str = "City Paper", text: str = "") -> Article:
        return Article("id", source, None, None, "g", title, WHEN, text or "Some words.", None, "feed")

    assert rules.admits(article("Harbour traffic rises"))
    assert rules.admits(article("Update", text="The port reopened today."))
    assert not rules.admits(article("Library reopens"))
    assert not rules.admits(article("Sponsored: harbour cruises"))
    assert not rules.admits(article("Your harbour horoscope", source="Wire"))  # the source's own exclude


def test_watched_stories_rise_caps_apply_weights_reorder_and_sections_group() -> None:
    rules = make_rules(WatchList(highlight=("budget",)), SOURCES)
    stories = [
        _story(1, "Council meets", "City Paper"),
        _story(2, "Match report", "Sports Desk"),
        _story(3, "Storm hits coast", "Wire"),
        _story(4, "Bus routes change", "City Paper"),
        _story(5, "Budget vote tonight", "City Paper"),
    ]
    kept, notes = arrange(stories, rules, "none")
    # Watched first; Wire's weight lifts s3 above s2; City Paper's cap of 2 drops s4.
    assert [s.story_id for s in kept] == ["s5", "s1", "s3", "s2"]
    assert kept[0].highlights == ("budget",)
    assert notes == ["1 more story from City Paper left out (max_stories = 2)."]
    by_category, _ = arrange(stories, rules, "category")
    assert [(s.story_id, s.section) for s in by_category] == [
        ("s5", "Local"),
        ("s1", "Local"),
        ("s3", "World"),
        ("s2", OTHER_SECTION),
    ]
    by_watch, _ = arrange(stories, rules, "watch")
    assert by_watch[0].section == "budget" and by_watch[-1].section == OTHER_SECTION


def test_highlighted_terms_are_marked_and_escaped_in_every_format() -> None:
    story = replace(
        _story(1, "Budget <b>vote</b> tonight", "City Paper", claim="The budget of 3 million passed."),
        highlights=("budget",),
        section="Local",
    )
    digest = Digest(title="D", digest_date=date(2025, 4, 16), generated_at=WHEN, stories=(story,))
    rendered = render_digest(digest)
    assert "<mark>Budget</mark> &lt;b&gt;vote&lt;/b&gt; tonight" in rendered["html"]
    assert "The <mark>budget</mark> of 3 million passed." in rendered["html"]
    assert "**Budget** &lt;b>vote&lt;/b> tonight" in rendered["md"]  # "<" as an entity: no renderer reads a tag
    assert "## Local" in rendered["md"] and "### 1. " in rendered["md"]
    assert "*Budget* <b>vote</b> tonight" in rendered["txt"] and "== Local ==" in rendered["txt"]
    assert '"highlights": [\n' in rendered["json"] or '"highlights": ["budget"]' in rendered["json"]


def test_config_keys_for_filters_sections_and_cron(tmp_path: Path) -> None:
    config = parse_config(
        {
            "digest": {"sections": "category", "since_last_digest": True, "cron": "30 5 * * mon-fri"},
            "filters": {"highlight": ["budget", "/rail ?way/"]},
            "sources": [
                {
                    "name": "A",
                    "url": "https://a.example/f",
                    "category": "Local",
                    "max_stories": 3,
                    "weight": 2,
                    "exclude": "horoscope",
                },
            ],
        },
        tmp_path,
    )
    assert config.digest.sections == "category" and config.digest.since_last_digest
    assert config.filters.highlight == ("budget", "/rail ?way/")
    assert config.sources[0].watch.exclude == ("horoscope",) and config.sources[0].weight == 2.0
    with pytest.raises(ConfigError, match="bad pattern"):
        parse_config({"filters": {"include": ["/(unclosed/"]}}, tmp_path)
    with pytest.raises(ConfigError, match="sections"):
        parse_config({"digest": {"sections": "topic"}}, tmp_path)
    assert cron_problem("0 6 * * *") is None and cron_problem("*/15 8-18 * * 1-5") is None
    assert "5 fields" in (cron_problem("0 6 * *") or "")
    assert "hour" in (cron_problem("0 25 * * *") or "")


def test_errors_name_the_key_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[digest]\ntitle = "x"\ncron = "0 6 * *"\n\n[[sources]]\nname = "A"\nurl = "https://a/f"\n')
    with pytest.raises(ConfigError, match=r"\[digest\] cron .*\(line 3\)"):
        load_config(path)
    path.write_text('[digest]\ntitle = "x"\n\n[[sources]]\nname = "A"\nurl = "https://a/f"\nweight = -1\n')
    with pytest.raises(ConfigError, match=r"weight must be positive.*\(line 7\)"):
        load_config(path)
    path.write_text("[fetch]\nretries = 1\nretires = 2\n")
    with pytest.raises(ConfigError, match=r"unknown key 'retires' in \[fetch\] \(line 3\)"):
        load_config(path)


def test_since_last_digest_window() -> None:
    from newsdigest.sources.window import digest_window

    now = datetime(2025, 4, 16, 6, 0, tzinfo=UTC)
    last = now - timedelta(days=3)
    assert digest_window(date(2025, 4, 16), "UTC", 24, now, since=last).start == last
    assert digest_window(date(2025, 4, 16), "UTC", 24, now).start == now - timedelta(hours=24)
    assert digest_window(date(2025, 4, 16), "UTC", 24, now, since=now + timedelta(hours=1)).start == now - timedelta(
        hours=24
    )


def test_the_email_keeps_sections_and_marks_after_the_json_round_trip(tmp_path: Path) -> None:
    from newsdigest.delivery.message import render_email
    from newsdigest.digest.jsonio import load_digest
    from newsdigest.digest.render import render_digest

    story = replace(_story(1, "Budget <b>vote</b> tonight", "City Paper"), highlights=("budget",), section="Local")
    digest = Digest(title="D", digest_date=date(2025, 4, 16), generated_at=WHEN, stories=(story,))
    path = tmp_path / "2025-04-16.json"
    path.write_text(render_digest(digest)["json"], encoding="utf-8")
    html = render_email(load_digest(path), None).html
    assert "<mark>Budget</mark> &lt;b&gt;vote&lt;/b&gt; tonight" in html and ">Local</h2>" in html
