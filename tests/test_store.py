from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from newsdigest.models import Article, NewDocument, SourceHealth
from newsdigest.store import Store
from newsdigest.stories.assign import assign_stories

NOW = datetime(2025, 4, 16, 6, 0, tzinfo=UTC)


def _article(n: int, text: str = "") -> Article:
    return Article(
        article_id=f"id{n}",
        source="Paper",
        url=f"https://paper.example/{n}.html",
        canonical_url=f"https://paper.example/{n}.html",
        guid=f"g{n}",
        title=f"Title {n}",
        published=datetime(2025, 4, 15, n % 24, tzinfo=UTC),
        text=text or f"Article number {n} has its own words about topic {n}.",
        extraction="page",
    )


def _save(store: Store, articles: list[Article], day: date) -> int:
    records = assign_stories([NewDocument(a.article_id, a.title, a.text) for a in articles], store.dedup_records(day))
    return store.save_articles(list(zip(articles, records, strict=True)), day, NOW)


def test_saved_articles_are_known_and_come_back(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "s.sqlite"))
    assert _save(store, [_article(1), _article(2)], date(2025, 4, 16)) == 2
    urls, guids = store.known_keys(["https://paper.example/1.html", "https://paper.example/9.html"], ["g2", "g9"])
    assert urls == {"https://paper.example/1.html"} and guids == {"g2"}
    day = store.articles_for_digest(date(2025, 4, 16))
    assert [item.article.article_id for item in day] == ["id1", "id2"]
    assert day[0].article.published == datetime(2025, 4, 15, 1, tzinfo=UTC)
    assert store.articles_for_digest(date(2025, 4, 17)) == []
    # Metadata only: same articles and stories, without the text, signature and terms (the bulk).
    light = store.articles_for_digest(date(2025, 4, 16), with_text=False)
    assert [(i.article.article_id, i.dedup.story_id) for i in light] == [
        (i.article.article_id, i.dedup.story_id) for i in day
    ]
    assert all(i.article.text == "" and i.dedup.signature == () and i.dedup.terms == {} for i in light)
    assert all(i.article.text and len(i.dedup.signature) == 64 and i.dedup.terms for i in day)


def test_saving_the_same_article_twice_keeps_one(tmp_path: Path) -> None:
    state = str(tmp_path / "s.sqlite")
    first, second = Store.open(state), Store.open(state)
    assert _save(first, [_article(1)], date(2025, 4, 16)) == 1
    assert _save(second, [_article(1)], date(2025, 4, 16)) == 0
    assert len(first.articles_for_digest(date(2025, 4, 16))) == 1


def test_source_health_round_trips_and_old_stores_gain_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    # A store written before sources had next_check / etag / last_modified / last_status.
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE sources (name VARCHAR(300) PRIMARY KEY, last_attempt VARCHAR(40), "
            "last_success VARCHAR(40), last_error TEXT, consecutive_failures INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO sources VALUES ('A', NULL, NULL, 'HTTP 500', 2)")
    store = Store.open(str(path))
    assert store.source_health()["A"].consecutive_failures == 2
    health = SourceHealth(
        name="A",
        last_attempt=NOW,
        consecutive_failures=3,
        next_check=NOW + timedelta(hours=1),
        etag='"v1"',
        last_modified="Tue, 15 Apr 2025 10:00:00 GMT",
        last_status="failed",
        last_error="HTTP 503",
    )
    store.save_source_health([health, SourceHealth(name="B", last_status="ok")])
    assert store.source_health() == {"A": health, "B": SourceHealth(name="B", last_status="ok")}


def test_digests_and_pruning(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "s.sqlite"))
    _save(store, [_article(1)], date(2025, 4, 1))
    _save(store, [_article(2)], date(2025, 4, 16))
    store.record_digest(date(2025, 4, 1), NOW, 1, 1, ["a.md"])
    store.record_digest(date(2025, 4, 1), NOW, 2, 2, ["a.md"])  # a re-run replaces, never duplicates
    assert store.previous_digest_date(date(2025, 4, 16)) == date(2025, 4, 1)
    assert store.previous_digest_date(date(2025, 4, 1)) is None
    assert store.prune(date(2025, 4, 9)) == 1
    assert [r.article_id for r in store.dedup_records(date(2025, 1, 1))] == ["id2"]


def test_boilerplate_counts_add_up_across_runs_and_single_sightings_are_pruned(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "s.sqlite"))
    store.add_boilerplate({"paper.example": {"aaaa": 1, "bbbb": 1}, "other.example": {"cccc": 3}}, NOW)
    # A second run (or a concurrent one) adds its own sightings to the stored counts.
    store.add_boilerplate({"paper.example": {"aaaa": 2}}, datetime(2025, 4, 17, tzinfo=UTC))
    assert store.boilerplate_counts(["paper.example"]) == {"paper.example": {"aaaa": 3, "bbbb": 1}}
    assert store.boilerplate_counts(["nowhere.example"]) == {}
    # What a cleaning batch reads: only lines seen often enough to be removed (an index serves it).
    assert store.boilerplate_counts(["paper.example"], min_pages=2) == {"paper.example": {"aaaa": 3}}
    removed = store.prune_boilerplate(datetime(2025, 4, 17, tzinfo=UTC))
    assert removed == 1  # "bbbb": one page, not seen since; "aaaa" and "cccc" recur
    assert store.boilerplate_counts(["paper.example", "other.example"]) == {
        "paper.example": {"aaaa": 3},
        "other.example": {"cccc": 3},
    }


def test_an_older_store_gains_the_recurring_lines_index(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    Store.open(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX ix_boilerplate_lines_recurring")
    Store.open(str(path)).close()
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_boilerplate_lines_recurring" in names


def test_a_dry_run_reads_an_existing_store_and_creates_none(tmp_path: Path) -> None:
    from newsdigest.store import state_for_dry_run

    missing = tmp_path / "new" / "state.sqlite"
    stand_in = state_for_dry_run(str(missing))
    store = Store.open(stand_in)
    assert store.articles_for_digest(date(2025, 4, 16)) == []
    store.close()
    assert not missing.exists() and not missing.parent.exists()
    existing = tmp_path / "s.sqlite"
    Store.open(str(existing)).close()
    assert state_for_dry_run(str(existing)) == str(existing)
    assert state_for_dry_run("postgresql://news@127.0.0.1/news") == "postgresql://news@127.0.0.1/news"
