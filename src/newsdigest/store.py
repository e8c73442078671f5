"""The state store: seen articles, dedup signatures, stories, sources and digests, over SQLAlchemy Core."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from newsdigest.dedup import DedupRecord, signature_from_bytes, signature_to_bytes
from newsdigest.errors import StoreError
from newsdigest.models import Article, SourceStatus

metadata = MetaData()

articles_table = Table(
    "articles",
    metadata,
    Column("article_id", String(32), primary_key=True),
    Column("source", String(300), nullable=False),
    Column("url", Text),
    Column("canonical_url", Text, unique=True),
    Column("guid", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("published", String(40)),
    Column("first_seen", String(40), nullable=False),
    Column("digest_date", Date, nullable=False, index=True),
    Column("extraction", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("fingerprint", String(40), nullable=False, index=True),
    Column("signature", LargeBinary, nullable=False),
    Column("terms", Text, nullable=False),
    Column("story_id", String(40), nullable=False, index=True),
    Column("duplicate_of", String(32)),
)

sources_table = Table(
    "sources",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("last_attempt", String(40)),
    Column("last_success", String(40)),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
)

digests_table = Table(
    "digests",
    metadata,
    Column("digest_date", Date, primary_key=True),
    Column("generated_at", String(40), nullable=False),
    Column("story_count", Integer, nullable=False),
    Column("article_count", Integer, nullable=False),
    Column("files", Text, nullable=False),
)

# Per-source line memory (see newsdigest.boilerplate): hashes only, never the text of a line.
boilerplate_table = Table(
    "boilerplate_lines",
    metadata,
    Column("source_key", String(300), primary_key=True),
    Column("line_hash", String(16), primary_key=True),
    Column("pages", Integer, nullable=False),
    Column("last_seen", String(40), nullable=False),
)


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store keeps it, with its dedup record."""

    article: Article
    digest_date: date
    first_seen: datetime
    dedup: DedupRecord


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def database_url(state: str) -> str:
    """An SQLAlchemy URL for a state setting: a URL as given, a path as a SQLite file."""
    if "://" in state:
        return state
    path = Path(state).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class Store:
    """The pipeline's state, in SQLite by default or any database SQLAlchemy reaches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, state: str) -> Store:
        """Open (and create if needed) the store that `state` names."""
        url = database_url(state)
        try:
            engine = create_engine(url, future=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            metadata.create_all(engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the state store {state!r}: {exc}") from exc
        return cls(engine)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def known_keys(self, canonical_urls: Iterable[str], guids: Iterable[str]) -> tuple[set[str], set[str]]:
        """Which of these canonical URLs and GUIDs the store has seen already."""
        urls, ids = sorted(set(canonical_urls)), sorted(set(guids))
        seen_urls: set[str] = set()
        seen_guids: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(urls, 500):
                rows = conn.execute(
                    select(articles_table.c.canonical_url).where(articles_table.c.canonical_url.in_(chunk))
                )
                seen_urls.update(row[0] for row in rows)
            for chunk in _chunks(ids, 500):
                rows = conn.execute(select(articles_table.c.guid).where(articles_table.c.guid.in_(chunk)))
                seen_guids.update(row[0] for row in rows)
        return seen_urls, seen_guids

    def dedup_records(self, since: date) -> list[DedupRecord]:
        """Dedup records of articles whose digest date is on or after `since`, oldest first."""
        columns = articles_table.c
        query = (
            select(
                columns.article_id,
                columns.fingerprint,
                columns.signature,
                columns.terms,
                columns.story_id,
                columns.duplicate_of,
            )
            .where(columns.digest_date >= since)
            .order_by(columns.first_seen, columns.article_id)
        )
        with self.engine.connect() as conn:
            return [
                DedupRecord(
                    article_id=row.article_id,
                    fingerprint=row.fingerprint,
                    signature=signature_from_bytes(row.signature),
                    terms=json.loads(row.terms),
                    story_id=row.story_id,
                    duplicate_of=row.duplicate_of,
                )
                for row in conn.execute(query)
            ]

    def save_articles(self, items: Sequence[tuple[Article, DedupRecord]], digest_date: date, now: datetime) -> int:
        """Insert new articles in one transaction; an article another run saved first is skipped."""
        saved = 0
        with self.engine.begin() as conn:
            for article, record in items:
                values = {
                    "article_id": article.article_id,
                    "source": article.source,
                    "url": article.url,
                    "canonical_url": article.canonical_url,
                    "guid": article.guid,
                    "title": article.title,
                    "author": article.author,
                    "published": _iso(article.published),
                    "first_seen": _iso(now),
                    "digest_date": digest_date,
                    "extraction": article.extraction,
                    "text": article.text,
                    "fingerprint": record.fingerprint,
                    "signature": signature_to_bytes(record.signature),
                    "terms": json.dumps(record.terms, sort_keys=True),
                    "story_id": record.story_id,
                    "duplicate_of": record.duplicate_of,
                }
                saved += self._insert_ignoring_conflicts(conn, values)
        return saved

    def _insert_function(self):  # type: ignore[no-untyped-def]
        """The dialect's INSERT with ON CONFLICT support."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            raise StoreError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")
        return insert

    def _insert_ignoring_conflicts(self, conn, values: dict) -> int:  # type: ignore[no-untyped-def]
        insert = self._insert_function()
        result = conn.execute(insert(articles_table).values(**values).on_conflict_do_nothing())
        return result.rowcount or 0

    def boilerplate_counts(self, source_keys: Iterable[str]) -> dict[str, dict[str, int]]:
        """Per source, the line hashes remembered and on how many pages each was seen."""
        counts: dict[str, dict[str, int]] = {}
        keys = sorted(set(source_keys))
        with self.engine.connect() as conn:
            for chunk in _chunks(keys, 500):
                table = boilerplate_table.c
                rows = conn.execute(
                    select(table.source_key, table.line_hash, table.pages).where(table.source_key.in_(chunk))
                )
                for key, line_hash, pages in rows:
                    counts.setdefault(key, {})[line_hash] = pages
        return counts

    def add_boilerplate(self, learned: dict[str, dict[str, int]], now: datetime) -> None:
        """Add page counts learned in a run to the stored ones, in one transaction."""
        insert = self._insert_function()
        stamp = _iso(now)
        rows = [
            {"source_key": key, "line_hash": line_hash, "pages": pages, "last_seen": stamp}
            for key, lines in learned.items()
            for line_hash, pages in lines.items()
        ]
        if not rows:
            return
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                statement = insert(boilerplate_table).values(rows[start : start + 500])
                # Concurrent runs each add what they saw: the sum, not the last writer's count.
                statement = statement.on_conflict_do_update(
                    index_elements=[boilerplate_table.c.source_key, boilerplate_table.c.line_hash],
                    set_={
                        "pages": boilerplate_table.c.pages + statement.excluded.pages,
                        "last_seen": statement.excluded.last_seen,
                    },
                )
                conn.execute(statement)

    def prune_boilerplate(self, before: datetime) -> int:
        """Forget lines seen on one page only and not since `before`: article text, not boilerplate."""
        with self.engine.begin() as conn:
            result = conn.execute(
                boilerplate_table.delete().where(
                    (boilerplate_table.c.pages < 2) & (boilerplate_table.c.last_seen < _iso(before))
                )
            )
        return result.rowcount or 0

    def articles_for_digest(self, digest_date: date) -> list[StoredArticle]:
        """Articles assigned to one digest date, oldest first."""
        return self._stored(select(articles_table).where(articles_table.c.digest_date == digest_date))

    def articles_of_stories(self, story_ids: Iterable[str], until: date) -> list[StoredArticle]:
        """Every stored article of these stories up to a digest date: a story's whole history."""
        ids = sorted(set(story_ids))
        found: list[StoredArticle] = []
        for chunk in _chunks(ids, 500):
            found.extend(
                self._stored(
                    select(articles_table).where(
                        articles_table.c.story_id.in_(chunk), articles_table.c.digest_date <= until
                    )
                )
            )
        found.sort(key=lambda item: (item.first_seen, item.article.article_id))
        return found

    def _stored(self, query) -> list[StoredArticle]:  # type: ignore[no-untyped-def]
        with self.engine.connect() as conn:
            rows = list(conn.execute(query.order_by(articles_table.c.first_seen, articles_table.c.article_id)))
        return [
            StoredArticle(
                article=Article(
                    article_id=row.article_id,
                    source=row.source,
                    url=row.url,
                    canonical_url=row.canonical_url,
                    guid=row.guid,
                    title=row.title,
                    published=_from_iso(row.published),
                    text=row.text,
                    author=row.author,
                    extraction=row.extraction,
                ),
                digest_date=row.digest_date,
                first_seen=_from_iso(row.first_seen) or datetime.now(UTC),
                dedup=DedupRecord(
                    article_id=row.article_id,
                    fingerprint=row.fingerprint,
                    signature=signature_from_bytes(row.signature),
                    terms=json.loads(row.terms),
                    story_id=row.story_id,
                    duplicate_of=row.duplicate_of,
                ),
            )
            for row in rows
        ]

    def record_sources(self, statuses: Sequence[SourceStatus], now: datetime) -> None:
        """Record each source's outcome of this run: success resets, failure counts up."""
        with self.engine.begin() as conn:
            for status in statuses:
                row = conn.execute(
                    select(sources_table.c.consecutive_failures, sources_table.c.last_success).where(
                        sources_table.c.name == status.source
                    )
                ).first()
                failures = 0 if status.ok else (row.consecutive_failures if row else 0) + 1
                values = {
                    "last_attempt": _iso(now),
                    "last_success": _iso(now) if status.ok else (row.last_success if row else None),
                    "last_error": status.error,
                    "consecutive_failures": failures,
                }
                if row is None:
                    conn.execute(sources_table.insert().values(name=status.source, **values))
                else:
                    conn.execute(sources_table.update().where(sources_table.c.name == status.source).values(**values))

    def source_failures(self) -> dict[str, int]:
        """Consecutive failures per source name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sources_table.c.name, sources_table.c.consecutive_failures))
            return {row.name: row.consecutive_failures for row in rows}

    def record_digest(
        self, digest_date: date, generated_at: datetime, story_count: int, article_count: int, files: Sequence[str]
    ) -> None:
        """Remember that a digest was written, replacing an earlier record for the same date."""
        values = {
            "generated_at": _iso(generated_at),
            "story_count": story_count,
            "article_count": article_count,
            "files": json.dumps(list(files)),
        }
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(digests_table.c.digest_date).where(digests_table.c.digest_date == digest_date)
            ).first()
            if exists:
                conn.execute(digests_table.update().where(digests_table.c.digest_date == digest_date).values(**values))
            else:
                conn.execute(digests_table.insert().values(digest_date=digest_date, **values))

    def previous_digest_date(self, before: date) -> date | None:
        """The latest digest date earlier than `before`, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(digests_table.c.digest_date)
                .where(digests_table.c.digest_date < before)
                .order_by(digests_table.c.digest_date.desc())
            ).first()
        return row[0] if row else None

    def prune(self, before: date) -> int:
        """Forget articles whose digest date is before `before`; returns how many were removed."""
        with self.engine.begin() as conn:
            result = conn.execute(articles_table.delete().where(articles_table.c.digest_date < before))
        return result.rowcount or 0


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets a reader (the CLI, a test) look while a run writes; busy_timeout waits out a short lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
