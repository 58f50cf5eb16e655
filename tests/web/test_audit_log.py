"""The audit logs (web_login_log, web_operation_log) are append-only to the application
and kept at least 180 days (等保 2.0 安全审计; migration 0049, web.auth.jobs)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from envgrid.settings import load_settings
from store.db import connect
from store.engine import detect_engine
from store.migrate import migrate
from store.pg_auth import split_password
from store.validation import ConfigError
from tests.conftest import TEST_DATABASE, PgAdmin, PgServer
from web.auth import queries as auth_queries
from web.auth.jobs import scheduled_jobs

AUDIT_TABLES = ("envgrid_audit.web_login_log", "envgrid_audit.web_operation_log")


async def _add_audit_rows(conn: asyncpg.Connection, *, days_ago: int, label: str) -> None:
    """One row in each audit table, ``days_ago`` days old (INSERT is what the app may do)."""
    await conn.execute(
        "INSERT INTO envgrid_audit.web_login_log (ts, username, success, reason)"
        " VALUES (now() - make_interval(days => $1), $2, false, 'test')",
        days_ago,
        label,
    )
    await conn.execute(
        "INSERT INTO envgrid_audit.web_operation_log (ts, username, method, path, action, status)"
        " VALUES (now() - make_interval(days => $1), $2, 'POST', '/api/x', 'test', 200)",
        days_ago,
        label,
    )


async def _labels(conn: asyncpg.Connection, table: str) -> set[str]:
    return {r["username"] for r in await conn.fetch(f"SELECT username FROM {table}")}


async def _assert_append_only(conn: asyncpg.Connection, refusal: str) -> None:
    for table in AUDIT_TABLES:
        for sql in (
            f"UPDATE {table} SET username = 'forged'",
            f"UPDATE {table} SET user_id = NULL",
            f"DELETE FROM {table}",
            f"DELETE FROM {table} WHERE ts < now() - interval '365 days'",
            f"TRUNCATE {table}",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match=refusal):
                await conn.execute(sql)
        assert await _labels(conn, table) == {"recent", "ancient"}


async def test_app_connection_cannot_update_or_delete_audit_rows(
    db_conn: asyncpg.Connection, db_dsn: str
) -> None:
    """The test suite's connection is the embedded cluster's superuser, as the app's is:
    the trigger refuses its UPDATE, DELETE and TRUNCATE (even of a year-old row)."""
    await auth_queries.log_operation(
        db_conn,
        user_id=None,
        username="recent",
        ip="127.0.0.1",
        method="POST",
        path="/api/users",
        action="create user",
        target="",
        status=201,
        detail={"username": "x"},
    )
    await auth_queries.log_login(
        db_conn,
        username="recent",
        user_id=None,
        ip="127.0.0.1",
        user_agent="pytest",
        success=False,
        reason="bad_password",
    )
    await _add_audit_rows(db_conn, days_ago=400, label="ancient")
    await _assert_append_only(db_conn, "is append-only")
    # and with psql, as an operator would try it
    dsn, password = split_password(db_dsn)
    psql = subprocess.run(
        [
            *("psql", "-X", "-w", "-v", "ON_ERROR_STOP=1", "-d", dsn),
            *("-c", "DELETE FROM envgrid_audit.web_operation_log"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PGPASSWORD": password or ""},
        timeout=30,
        check=False,
    )
    assert psql.returncode != 0
    assert "web_operation_log is append-only: DELETE is not allowed" in psql.stderr
    assert await _labels(db_conn, "envgrid_audit.web_operation_log") == {"recent", "ancient"}


@dataclass
class AppRole:
    name: str
    dsn: str


@pytest.fixture
async def app_role(pg_server: PgServer, pg_admin: PgAdmin) -> AsyncIterator[AppRole]:
    """A deployment whose application role is an ordinary one (no SUPERUSER): given
    CREATEROLE to run the migrations, then without it, as the 0049 header says."""
    name = f"t_app_{uuid.uuid4().hex[:12]}"
    password = uuid.uuid4().hex
    pg_admin.execute(f"CREATE ROLE {name} LOGIN CREATEROLE PASSWORD '{password}'")
    # envgrid reads shared_preload_libraries to choose the engine (store.engine)
    pg_admin.execute(f"GRANT pg_read_all_settings TO {name}")
    database = pg_admin.create_database(name, template="template0")
    pg_admin.execute(f"ALTER DATABASE {name} OWNER TO {name}")
    admin = await connect(database)
    try:  # TimescaleDB needs a superuser to create it (a managed server's DBA does)
        await detect_engine(admin, choice=TEST_DATABASE.engine)
    finally:
        await admin.close()
    parts = urlsplit(split_password(database)[0])
    host = parts.netloc.rpartition("@")[2]
    dsn = urlunsplit((parts.scheme, f"{name}:{password}@{host}", parts.path, parts.query, ""))
    conn = await connect(dsn)
    try:
        info = await detect_engine(conn, choice=TEST_DATABASE.engine)
        await migrate(conn, info.engine)
    finally:
        await conn.close()
    pg_admin.execute(f"ALTER ROLE {name} NOCREATEROLE")
    try:
        yield AppRole(name, dsn)
    finally:
        pg_admin.drop_database(name)
        pg_admin.execute(f"DROP ROLE {name}")


async def test_ordinary_app_role_has_no_way_to_change_audit_rows(app_role: AppRole) -> None:
    conn = await connect(app_role.dsn)
    try:
        await _add_audit_rows(conn, days_ago=0, label="recent")
        await _add_audit_rows(conn, days_ago=400, label="ancient")
        await _assert_append_only(conn, "permission denied")
        for sql in (
            "ALTER TABLE envgrid_audit.web_operation_log DISABLE TRIGGER append_only",
            "DROP TRIGGER append_only ON envgrid_audit.web_login_log",
            "DROP TABLE envgrid_audit.web_login_log",
            "DROP SCHEMA envgrid_audit CASCADE",
            "ALTER TABLE envgrid_audit.web_login_log OWNER TO CURRENT_USER",
            "ALTER TABLE envgrid_audit.web_login_log RENAME TO gone",
            "CREATE OR REPLACE FUNCTION envgrid_audit.refuse_change() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
            "CREATE TABLE envgrid_audit.x (v int)",
            "SET ROLE envgrid_audit",
            "GRANT envgrid_audit TO CURRENT_USER",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
        # what it may do: read, and purge through the one path (≥ 180 days)
        assert await _labels(conn, "envgrid_audit.web_login_log") == {"recent", "ancient"}
        assert await auth_queries.purge_audit(conn, 180) == (1, 1)
        assert await _labels(conn, "envgrid_audit.web_operation_log") == {"recent"}
        with pytest.raises(asyncpg.InvalidParameterValueError, match="at least 180 days"):
            await auth_queries.purge_audit(conn, 30)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("retention_days", "kept"),
    [
        (180, {"179 days", "today"}),
        (200, {"179 days", "181 days", "today"}),
    ],
)
async def test_retention_job_purges_only_past_the_setting(
    db_pool: asyncpg.Pool, retention_days: int, kept: set[str]
) -> None:
    async with db_pool.acquire() as conn:
        for days, label in ((0, "today"), (179, "179 days"), (181, "181 days"), (365, "1 year")):
            await _add_audit_rows(conn, days_ago=days, label=label)
        await conn.execute(
            "INSERT INTO web_users (username, password_hash, role) VALUES ('u1', 'x', 'viewer')"
        )
        await conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at)"
            " SELECT '\\x01', id, 'c', now() - interval '1 minute' FROM web_users"
        )
    [job] = scheduled_jobs(db_pool, retention_days)
    assert (job.name, job.every_s) == ("web-purge", 3600)
    await job.run(datetime.now(UTC))
    async with db_pool.acquire() as conn:
        for table in AUDIT_TABLES:
            assert await _labels(conn, table) == kept
        assert await conn.fetchval("SELECT count(*) FROM web_sessions") == 0


async def test_database_refuses_a_purge_younger_than_180_days(
    db_conn: asyncpg.Connection,
) -> None:
    await _add_audit_rows(db_conn, days_ago=100, label="100 days")
    for days in (30, 179, None):
        with pytest.raises(asyncpg.InvalidParameterValueError, match="at least 180 days"):
            await db_conn.fetch("SELECT * FROM envgrid_audit.purge_older_than($1)", days)
    assert await _labels(db_conn, "envgrid_audit.web_login_log") == {"100 days"}


async def test_deleting_a_user_keeps_its_audit_rows(db_conn: asyncpg.Connection) -> None:
    """The one UPDATE the logs take: ON DELETE SET NULL of web_users (name and the rest
    stay)."""
    user_id = await db_conn.fetchval(
        "INSERT INTO web_users (username, password_hash, role)"
        " VALUES ('gone', 'x', 'viewer') RETURNING id"
    )
    await auth_queries.log_login(
        db_conn,
        username="gone",
        user_id=user_id,
        ip=None,
        user_agent=None,
        success=True,
        reason="",
    )
    await db_conn.execute("DELETE FROM web_users WHERE id = $1", user_id)
    row = await db_conn.fetchrow(
        "SELECT username, user_id, success FROM envgrid_audit.web_login_log"
    )
    assert dict(row) == {"username": "gone", "user_id": None, "success": True}


@pytest.mark.parametrize("days", [30, 179])
def test_retention_below_180_days_is_a_config_error(days: int) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, {"ENVGRID_WEB__AUDIT_RETENTION_DAYS": str(days)}, discover=False)
    message = str(err.value)
    assert "web.audit_retention_days" in message
    assert "≥ 180" in message and f"got {days}" in message
    assert load_settings(None, {}, discover=False).web.audit_retention_days == 180
