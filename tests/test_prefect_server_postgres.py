"""The Prefect server on PostgreSQL, as README.md sets it up: deployments, a process worker, a triggered run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES as SERVER
from tests.test_prefect_server import assert_seeds_digest, deploy_all, run_manual_deployment, running_server

pytestmark = pytest.mark.slow


def _libpq_url(database: str | None = None) -> str:
    """SERVER (which may name a SQLAlchemy driver) as a plain URL psycopg accepts, optionally on another database."""
    url = make_url(SERVER).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A fresh database for one Prefect server, dropped afterwards; skips where PostgreSQL is not reachable."""
    try:
        admin = psycopg.connect(_libpq_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {SERVER} ({type(exc).__name__}); set NEWSDIGEST_TEST_POSTGRES")
    name = f"newsdigest_prefect_{uuid.uuid4().hex[:12]}"
    with admin:
        # Prefect's migrations run CREATE EXTENSION pg_trgm: without the contrib package the server cannot start,
        # which is the machine's setup, not a fault of newsdigest.
        if admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone() is None:
            pytest.skip(f"PostgreSQL at {SERVER} lacks the pg_trgm extension Prefect needs (postgresql-contrib)")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield name
        finally:
            # FORCE: a server killed after its 30 s grace may leave sessions open, which would block the drop.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_a_deployment_run_on_a_postgresql_backed_server_is_recorded_there(
    prefect_database: str, tmp_path: Path
) -> None:
    # The URL form README.md gives: Prefect's server needs an async driver, asyncpg for PostgreSQL.
    database_url = (
        make_url(SERVER).set(drivername="postgresql+asyncpg", database=prefect_database).render_as_string(False)
    )
    home = tmp_path / "prefect-home"
    home.mkdir()
    with running_server(home, {"PREFECT_API_DATABASE_CONNECTION_URL": database_url}) as env:
        deploy_all(env)
        out = run_manual_deployment(env, tmp_path)
    assert_seeds_digest(out)

    # The server kept its state in PostgreSQL, not in a SQLite file under its home folder.
    assert not (home / "prefect.db").exists()
    with psycopg.connect(_libpq_url(prefect_database), connect_timeout=5) as conn:
        runs = conn.execute(
            "SELECT flow_run.state_type::text, flow_run.parameters ->> 'out_dir' FROM flow_run"
            " JOIN deployment ON deployment.id = flow_run.deployment_id WHERE deployment.name = 'manual'"
        ).fetchall()
    assert runs == [("COMPLETED", str(out))]
