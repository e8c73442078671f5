"""The state store on PostgreSQL: the same code path as SQLite, and concurrent writers keep one copy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from newsdigest.models import SourceHealth
from newsdigest.store import Store, database_url
from tests.conftest import fresh_postgres_database
from tests.test_store import NOW, _article, _save

DAY = date(2025, 4, 16)


@pytest.fixture
def pg_state() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped afterwards; skips where there is none."""
    with fresh_postgres_database() as url:
        yield url


def _at_once(action: object, times: int) -> None:
    """Run `action` in `times` threads released together, and wait for all of them."""
    barrier = threading.Barrier(times)

    def start() -> None:
        barrier.wait()
        action()  # type: ignore[operator]

    threads = [threading.Thread(target=start) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)


def test_bare_postgres_urls_use_the_installed_driver() -> None:
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_the_store_round_trips_on_postgresql(pg_state: str) -> None:
    store = Store.open(pg_state)
    try:
        assert _save(store, [_article(1), _article(2)], DAY) == 2
        assert _save(store, [_article(1)], DAY) == 0  # already there: ignored, not duplicated
        assert [item.article.article_id for item in store.articles_for_digest(DAY)] == ["id1", "id2"]
        urls, guids = store.known_keys(["https://paper.example/1.html"], ["g2", "g9"])
        assert urls == {"https://paper.example/1.html"} and guids == {"g2"}
        health = SourceHealth(name="Paper", last_attempt=NOW, etag='"x"', last_status="ok")
        store.save_source_health([health])
        assert store.source_health() == {"Paper": health}
        store.add_boilerplate({"paper.example": {"abcd": 1}}, NOW)
        store.add_boilerplate({"paper.example": {"abcd": 2}}, NOW)
        assert store.boilerplate_counts(["paper.example"]) == {"paper.example": {"abcd": 3}}
    finally:
        store.close()


def test_concurrent_writers_keep_one_copy_of_each_article(pg_state: str) -> None:
    Store.open(pg_state).close()  # tables first, as the first run of a deployment makes them
    articles = [_article(n) for n in range(40)]
    saved: list[int] = []

    def writer() -> None:
        store = Store.open(pg_state)
        try:
            saved.append(_save(store, articles, DAY))
        finally:
            store.close()

    _at_once(writer, 4)
    assert sum(saved) == 40  # between them the writers inserted each article exactly once
    store = Store.open(pg_state)
    try:
        stored = [item.article.article_id for item in store.articles_for_digest(DAY)]
    finally:
        store.close()
    assert sorted(stored) == sorted(a.article_id for a in articles)


def test_concurrent_claims_of_one_email_let_one_run_send(pg_state: str) -> None:
    store = Store.open(pg_state)
    store.outbox_add(DAY, {"reader@example.org": "<digest-2025-04-16@test>"}, NOW)
    row = store.outbox_rows(DAY)[0]
    store.close()
    wins: list[bool] = []

    def claimer() -> None:
        own = Store.open(pg_state)
        try:
            wins.append(own.outbox_claim(row, NOW))
        finally:
            own.close()

    _at_once(claimer, 4)
    assert sorted(wins) == [False, False, False, True]


@pytest.mark.slow
def test_two_flow_runs_at_once_put_each_article_once(
    prefect_harness: None, pg_state: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import json
    from pathlib import Path

    from newsdigest.flow import daily_digest
    from tests.conftest import SEEDS

    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def run(label: str) -> None:
        out = tmp_path_factory.mktemp(f"pg-{label}")
        barrier.wait()
        results[label] = daily_digest(config_path=str(SEEDS / "sources.toml"), out_dir=str(out), state=pg_state)

    threads = [threading.Thread(target=run, args=(label,)) for label in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert set(results) == {"a", "b"}
    # Between them the two runs inserted each of the seeds' 25 new articles once.
    assert sum(summary.new_articles for summary in results.values()) == 25  # type: ignore[attr-defined]
    store = Store.open(pg_state)
    try:
        stored = store.articles_for_digest(DAY)
    finally:
        store.close()
    assert len(stored) == len({item.article.article_id for item in stored}) == 25
    for summary in results.values():
        digest = json.loads(Path(summary.files["json"]).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
        listed = [article["id"] for story in digest["stories"] for article in story["articles"]]
        assert len(listed) == len(set(listed))


def test_the_run_check_passes_a_usable_database_and_names_a_read_only_one(pg_state: str) -> None:
    from newsdigest.errors import StoreError
    from newsdigest.store import check_store

    check_store(pg_state)
    engine = create_engine(database_url(pg_state), isolation_level="AUTOCOMMIT")
    name = pg_state.rsplit("/", 1)[1]
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    engine.dispose()
    with pytest.raises(StoreError, match=r"cannot be written: .*read-only transaction"):
        check_store(pg_state)
    check_store(pg_state, write=False)  # a dry run only reads
