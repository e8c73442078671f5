"""The state store: seen articles, dedup signatures, stories, sources and digests, over SQLAlchemy Core."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, ExceptionContext, Row, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from newsdigest.errors import StoreError
from newsdigest.models import Article, DedupRecord, OutboxRow, SourceHealth, StoredArticle

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
    Column("next_check", String(40)),
    Column("etag", Text),
    Column("last_modified", String(100)),
    Column("last_status", String(20)),
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

# Per-source line memory (see newsdigest.cleaning.boilerplate): hashes only, never the text of a line.
boilerplate_table = Table(
    "boilerplate_lines",
    metadata,
    Column("source_key", String(300), primary_key=True),
    Column("line_hash", String(16), primary_key=True),
    Column("pages", Integer, nullable=False),
    Column("last_seen", String(40), nullable=False),
    # A busy host piles up lines seen once; the cleaning batches read only the recurring ones.
    Index("ix_boilerplate_lines_recurring", "source_key", "pages"),
)


# The email outbox (see newsdigest.delivery.mail): one row per digest date and recipient, so a re-run, a retry or a
# crash never mails a recipient a second copy. status: pending -> claimed -> sending -> sent | failed, and
# back to pending after a temporary failure. claimed_at is set when a run takes the row.
outbox_table = Table(
    "outbox",
    metadata,
    Column("digest_date", Date, primary_key=True),
    Column("recipient", String(320), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("message_id", String(200), nullable=False),
    Column("claimed_at", String(40)),
    Column("updated_at", String(40), nullable=False),
    Column("sent_at", String(40)),
)

OUTBOX_STATUSES = ("pending", "claimed", "sending", "sent", "failed")
CONNECT_TIMEOUT = 10  # seconds to reach a PostgreSQL server


def signature_to_bytes(signature: Sequence[int]) -> bytes:
    """Pack a MinHash signature for the signature column (unsigned 64-bit, little-endian)."""
    return struct.pack(f"<{len(signature)}Q", *signature)


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    """Unpack a signature written by signature_to_bytes."""
    return struct.unpack(f"<{len(data) // 8}Q", data[: len(data) // 8 * 8])


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# The databases the store is written for: SQLite, and PostgreSQL through psycopg 3 (the driver this package
# installs). Any other URL is refused by name before a driver import fails with a traceback.
_SCHEMES = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgres": "postgresql+psycopg"}
_SCHEMES |= {"postgresql": "postgresql+psycopg", "postgresql+psycopg": "postgresql+psycopg"}


def shown_state(state: str) -> str:
    """The state setting as it may be printed: a database URL loses its password."""
    if "://" not in state:
        return state
    try:
        return make_url(state).render_as_string(hide_password=True)
    except ArgumentError:
        return state.split("://", 1)[0] + "://..."  # unparseable: the scheme is all that is safe to show


def database_url(state: str) -> str:
    """An SQLAlchemy URL for a state setting: a URL as given, a path as a SQLite file; StoreError for others."""
    if "://" in state:
        scheme, rest = state.split("://", 1)
        if scheme.lower() not in _SCHEMES:
            raise StoreError(
                f"unsupported state store {shown_state(state)}: use a SQLite file path or a postgresql:// URL"
            )
        # A bare postgres URL means the driver this package installs (psycopg 3), not psycopg2.
        return f"{_SCHEMES[scheme.lower()]}://{rest}"
    path = Path(state).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder of the state file {state}: {exc.strerror or exc}") from None
    return f"sqlite:///{path}"


def state_for_dry_run(state: str) -> str:
    """The state a dry run reads: an empty in-memory database stands in for a SQLite file not made yet."""
    if "://" in state or Path(state).expanduser().exists():
        return state
    return "sqlite://"  # each open is a fresh, empty database: a first dry run has seen nothing


class Store:
    """The pipeline's state, in SQLite by default or any database SQLAlchemy reaches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, state: str) -> Store:
        """Open (and create if needed) the store that `state` names."""
        url = database_url(state)
        shown = shown_state(state)
        try:
            options: dict[str, Any] = {}
            if url.startswith("postgresql") and "connect_timeout" not in url:
                # An address that drops packets would otherwise hang the run's first step for minutes.
                options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
            engine = create_engine(url, future=True, **options)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            try:
                metadata.create_all(engine)
            except SQLAlchemyError:
                # Two runs creating a fresh database at once: the loser finds the tables made.
                metadata.create_all(engine)
            _add_missing_columns(engine)
            for index in boilerplate_table.indexes:  # create_all leaves an existing table's new indexes out
                index.create(engine, checkfirst=True)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the state store {shown}: {_reason(exc)}") from exc
        except ImportError as exc:  # a driver that is not installed
            raise StoreError(f"cannot open the state store {shown}: {exc}") from exc

        def as_store_error(context: ExceptionContext) -> None:
            # A damaged file, a full disk or a lost server mid-run: one StoreError naming the store and
            # the database's own reason, not SQLAlchemy's statement dump.
            raise StoreError(f"the state store {shown} failed: {_reason(context.original_exception)}")

        event.listen(engine, "handle_error", as_store_error)
        return cls(engine)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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

    def _insert_function(self) -> Callable[[Table], Any]:
        """The dialect's INSERT with ON CONFLICT support.

        Typed loosely: the SQLite and PostgreSQL Insert classes share the on_conflict_* methods but no base
        class that declares them.
        """
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            return postgresql_insert
        raise StoreError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")

    def _insert_ignoring_conflicts(self, conn: Connection, values: dict[str, Any]) -> int:
        insert = self._insert_function()
        statement = insert(articles_table).values(**values).on_conflict_do_nothing()
        # RETURNING counts what was inserted on every backend (psycopg's rowcount here is -1).
        return len(conn.execute(statement.returning(articles_table.c.article_id)).fetchall())

    def boilerplate_counts(self, source_keys: Iterable[str], min_pages: int = 1) -> dict[str, dict[str, int]]:
        """Per source, the line hashes remembered on at least `min_pages` pages, and on how many each was seen."""
        counts: dict[str, dict[str, int]] = {}
        keys = sorted(set(source_keys))
        with self.engine.connect() as conn:
            for chunk in _chunks(keys, 500):
                table = boilerplate_table.c
                rows = conn.execute(
                    select(table.source_key, table.line_hash, table.pages).where(
                        table.source_key.in_(chunk), table.pages >= min_pages
                    )
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

    def articles_for_digest(self, digest_date: date, with_text: bool = True) -> list[StoredArticle]:
        """Articles assigned to one digest date, oldest first; with_text=False leaves out text, signature and terms."""
        return self._stored(articles_table.c.digest_date == digest_date, with_text)

    def articles_of_stories(self, story_ids: Iterable[str], until: date, with_text: bool = True) -> list[StoredArticle]:
        """Every stored article of these stories up to a digest date: a story's whole history."""
        ids = sorted(set(story_ids))
        found: list[StoredArticle] = []
        for chunk in _chunks(ids, 500):
            found.extend(
                self._stored(
                    (articles_table.c.story_id.in_(chunk)) & (articles_table.c.digest_date <= until), with_text
                )
            )
        found.sort(key=lambda item: (item.first_seen, item.article.article_id))
        return found

    def article_texts(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The cleaned text of these articles, by id."""
        texts: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(article_ids)), 500):
                query = select(articles_table.c.article_id, articles_table.c.text)
                rows = conn.execute(query.where(articles_table.c.article_id.in_(chunk)))
                texts.update((row.article_id, row.text) for row in rows)
        return texts

    def _stored(self, condition: ColumnElement[bool], with_text: bool) -> list[StoredArticle]:
        # Without text the caller wants metadata only: the signature and the story terms (a tuple and
        # a dict per article, several KB) stay in the database too, which matters on a big day.
        heavy = {"text", "signature", "terms"}
        columns = [column for column in articles_table.c if with_text or column.name not in heavy]
        query = select(*columns).where(condition)
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
                    text=row.text if with_text else "",
                    author=row.author,
                    extraction=row.extraction,
                ),
                digest_date=row.digest_date,
                first_seen=_from_iso(row.first_seen) or datetime.now(UTC),
                dedup=DedupRecord(
                    article_id=row.article_id,
                    fingerprint=row.fingerprint,
                    signature=signature_from_bytes(row.signature) if with_text else (),
                    terms=json.loads(row.terms) if with_text else {},
                    story_id=row.story_id,
                    duplicate_of=row.duplicate_of,
                ),
            )
            for row in rows
        ]

    def source_health(self) -> dict[str, SourceHealth]:
        """Every known source's health, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sources_table))
            return {
                row.name: SourceHealth(
                    name=row.name,
                    last_attempt=_from_iso(row.last_attempt),
                    last_success=_from_iso(row.last_success),
                    last_error=row.last_error,
                    consecutive_failures=row.consecutive_failures or 0,
                    next_check=_from_iso(row.next_check),
                    etag=row.etag,
                    last_modified=row.last_modified,
                    last_status=row.last_status or "new",
                )
                for row in rows
            }

    def save_source_health(self, records: Sequence[SourceHealth]) -> None:
        """Write sources' health after a run, in one transaction."""
        with self.engine.begin() as conn:
            for health in records:
                values = {
                    "last_attempt": _iso(health.last_attempt),
                    "last_success": _iso(health.last_success),
                    "last_error": health.last_error,
                    "consecutive_failures": health.consecutive_failures,
                    "next_check": _iso(health.next_check),
                    "etag": health.etag,
                    "last_modified": health.last_modified,
                    "last_status": health.last_status,
                }
                updated = conn.execute(
                    sources_table.update().where(sources_table.c.name == health.name).values(**values)
                )
                if not updated.rowcount:
                    conn.execute(sources_table.insert().values(name=health.name, **values))

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

    def _previous_digest(self, before: date) -> Row[Any, Any] | None:
        """The row of the latest digest dated before `before`, or None."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(digests_table.c.digest_date, digests_table.c.generated_at)
                .where(digests_table.c.digest_date < before)
                .order_by(digests_table.c.digest_date.desc())
            ).first()

    def last_digest_time(self, before: date) -> datetime | None:
        """When the latest digest for a date before `before` was generated, if any."""
        row = self._previous_digest(before)
        return _from_iso(row.generated_at) if row else None

    def previous_digest_date(self, before: date) -> date | None:
        """The latest digest date earlier than `before`, if any."""
        row = self._previous_digest(before)
        return row.digest_date if row else None

    def prune(self, before: date) -> int:
        """Forget articles whose digest date is before `before`; returns how many were removed."""
        with self.engine.begin() as conn:
            result = conn.execute(articles_table.delete().where(articles_table.c.digest_date < before))
        return result.rowcount or 0

    def outbox_add(self, digest_date: date, message_ids: dict[str, str], now: datetime) -> None:
        """Create a pending row per recipient (recipient -> Message-ID); rows already there are left alone."""
        insert = self._insert_function()
        rows = [
            {
                "digest_date": digest_date,
                "recipient": recipient,
                "status": "pending",
                "attempts": 0,
                "message_id": message_id,
                "updated_at": _iso(now),
            }
            for recipient, message_id in message_ids.items()
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(outbox_table).values(rows).on_conflict_do_nothing())

    def outbox_rows(self, digest_date: date | None = None, statuses: Iterable[str] = ()) -> list[OutboxRow]:
        """Outbox rows, of one date and of some statuses when given, by date and recipient."""
        query = select(outbox_table).order_by(outbox_table.c.digest_date, outbox_table.c.recipient)
        if digest_date is not None:
            query = query.where(outbox_table.c.digest_date == digest_date)
        wanted = list(statuses)
        if wanted:
            query = query.where(outbox_table.c.status.in_(wanted))
        with self.engine.connect() as conn:
            return [_outbox_row(row) for row in conn.execute(query)]

    def outbox_claim(self, row: OutboxRow, now: datetime) -> bool:
        """Take a row for sending; False when another run changed it since `row` was read.

        Compare-and-swap on (status, claimed_at): of two runs that read the same row, one wins.
        """
        table = outbox_table.c
        with self.engine.begin() as conn:
            result = conn.execute(
                outbox_table.update()
                .where(
                    table.digest_date == row.digest_date,
                    table.recipient == row.recipient,
                    table.status == row.status,
                    table.attempts == row.attempts,
                )
                .values(status="claimed", claimed_at=_iso(now), updated_at=_iso(now), attempts=row.attempts + 1)
            )
        return (result.rowcount or 0) == 1

    def outbox_mark(
        self,
        digest_date: date,
        recipient: str,
        status: str,
        now: datetime,
        *,
        expect: Iterable[str],
        error: str | None = None,
    ) -> bool:
        """Move a row to `status` if it is in one of the `expect`ed states; False when it was not."""
        if status not in OUTBOX_STATUSES:
            raise StoreError(f"unknown outbox status {status!r}")
        table = outbox_table.c
        values: dict[str, object] = {"status": status, "updated_at": _iso(now), "last_error": error}
        if status == "sent":
            values["sent_at"] = _iso(now)
        if status == "pending":
            values["claimed_at"] = None
        with self.engine.begin() as conn:
            result = conn.execute(
                outbox_table.update()
                .where(table.digest_date == digest_date, table.recipient == recipient, table.status.in_(list(expect)))
                .values(**values)
            )
        return (result.rowcount or 0) == 1

    def outbox_pending_dates(self, since: date, before: date) -> list[date]:
        """Dates in [since, before) with a delivery not finished: pending or claimed."""
        table = outbox_table.c
        query = (
            select(table.digest_date)
            .where(table.digest_date >= since, table.digest_date < before, table.status.in_(["pending", "claimed"]))
            .group_by(table.digest_date)
            .order_by(table.digest_date)
        )
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def outbox_failures(self, since: date, until: date) -> list[OutboxRow]:
        """Deliveries recorded as failed for digest dates in [since, until]."""
        table = outbox_table.c
        query = (
            select(outbox_table)
            .where(table.status == "failed", table.digest_date >= since, table.digest_date <= until)
            .order_by(table.digest_date, table.recipient)
        )
        with self.engine.connect() as conn:
            return [_outbox_row(row) for row in conn.execute(query)]

    def digest_files(self, digest_date: date) -> list[str]:
        """The files written for a date's digest, as recorded; empty when none was."""
        with self.engine.connect() as conn:
            row = conn.execute(select(digests_table.c.files).where(digests_table.c.digest_date == digest_date)).first()
        return list(json.loads(row[0])) if row else []


def _outbox_row(row: Row[Any, Any]) -> OutboxRow:
    return OutboxRow(
        digest_date=row.digest_date,
        recipient=row.recipient,
        status=row.status,
        attempts=row.attempts or 0,
        message_id=row.message_id,
        last_error=row.last_error,
        claimed_at=_from_iso(row.claimed_at),
        updated_at=_from_iso(row.updated_at),
        sent_at=_from_iso(row.sent_at),
    )


def _add_missing_columns(engine: Engine) -> None:
    """Bring a store made by an earlier version up to date: add the nullable columns it lacks."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets a reader (the CLI, a test) look while a run writes; busy_timeout waits out a short lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(exc: BaseException) -> str:
    """The database's own words for an error, on one line, without SQLAlchemy's statement and link."""
    original = getattr(exc, "orig", None) or exc
    text = " ".join(str(original).split())
    return text.split(" (Background on this error")[0]


def check_store(state: str, *, write: bool = True) -> None:
    """Refuse a state store a run could not use, before the run starts: StoreError with one line that names it.

    A SQLite file that is empty (a truncated copy: opening it would silently start a new history) or
    damaged (quick_check reads every page), a server that cannot be reached, a store that cannot be written.
    """
    shown = shown_state(state)
    if "://" not in state:
        path = Path(state).expanduser()
        if path.is_file() and path.stat().st_size == 0:
            raise StoreError(
                f"the state file {shown} is empty (0 bytes), so its history is gone: restore it from a backup, "
                "or delete it to start a new one"
            )
        if path.exists() and not path.is_file():
            raise StoreError(f"the state file {shown} is not a file")
    with Store.open(state) as store:
        engine = store.engine
        try:
            if engine.dialect.name == "sqlite":
                with engine.connect() as conn:
                    found = " ".join(str(row[0]) for row in conn.execute(text("PRAGMA quick_check(1)")))
                if found != "ok":
                    detail = " ".join(found.replace("*** in database main ***", "").split())
                    raise StoreError(f"the state file {shown} is damaged: {detail}")
            if write:
                # A write that changes nothing, rolled back: fails on a read-only file, a read-only
                # server or a missing privilege, before any digest file is written.
                with engine.connect() as conn, conn.begin() as transaction:
                    conn.execute(digests_table.update().where(text("1 = 0")).values(files=digests_table.c.files))
                    transaction.rollback()
        except StoreError as exc:
            message = str(exc)
            if "attempt to write a readonly database" in message or "read-only" in message:
                raise StoreError(f"the state store {shown} cannot be written: {message.split(': ', 1)[-1]}") from None
            raise
    _checked.add((state, write))


# Stores this process has checked (state, write): the command line checks before Prefect starts, and
# the flow, which deployments and `serve` start without the command line, does not check them again.
_checked: set[tuple[str, bool]] = set()


def check_store_once(state: str, *, write: bool = True) -> None:
    """check_store, unless this process already checked the same store for the same use."""
    if (state, write) not in _checked and (state, True) not in _checked:
        check_store(state, write=write)
