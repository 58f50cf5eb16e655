"""Engine detection: plain PostgreSQL here, TimescaleDB where installed; sticky once migrated."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from store.db import connect
from store.engine import (
    Engine,
    EngineChoice,
    EngineError,
    EngineInfo,
    detect_engine,
    recorded_engine,
    timescaledb_preloaded,
)
from store.migrate import migrate


async def _tsdb_available(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        )
    )


async def test_detects_engine(db_conn: asyncpg.Connection, engine_info: EngineInfo) -> None:
    info = await detect_engine(db_conn)
    # the suite's engine may have been chosen (ENVGRID_DATABASE__ENGINE): "auto" reads the
    # same engine off the database, and only the note saying why differs
    assert replace(info, note=engine_info.note) == engine_info
    assert info.server_version_num >= 150000
    assert info.server_version.startswith(str(info.server_version_num // 10000))
    if info.engine is Engine.TIMESCALEDB:
        assert await _tsdb_available(db_conn) and info.timescaledb_version
        assert info.license == "timescale" and "(licence timescale)" in info.describe()
    else:
        assert info.timescaledb_version is None and info.license == ""
        assert info.describe().startswith(f"PostgreSQL {info.server_version} (native partitions")
    assert await recorded_engine(db_conn) is info.engine


async def test_fresh_database_has_no_recorded_engine(empty_db_dsn: str) -> None:
    conn = await connect(empty_db_dsn)
    try:
        assert await recorded_engine(conn) is None
        info = await detect_engine(conn, try_create=False)
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
            == 0
        )
        await migrate(conn, info.engine)
        assert await recorded_engine(conn) is info.engine
    finally:
        await conn.close()


async def test_database_set_up_for_timescaledb_needs_it(empty_db_dsn: str) -> None:
    conn = await connect(empty_db_dsn)
    try:
        if await _tsdb_available(conn):
            pytest.skip("TimescaleDB is installed on this server")
        await conn.execute(
            "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text, engine text,"
            " checksum text, applied_at timestamptz DEFAULT now());"
            "INSERT INTO schema_migrations VALUES (1, 'meta', 'timescaledb', 'x')"
        )
        with pytest.raises(
            EngineError,
            match="set up for TimescaleDB, but the timescaledb extension is not installed",
        ):
            await detect_engine(conn)
    finally:
        await conn.close()


class _OldServer:
    """Just enough of a connection to look like PostgreSQL 14."""

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return {"SHOW server_version_num": "140011", "SHOW server_version": "14.11 (Debian)"}[sql]


async def test_refuses_old_server() -> None:
    with pytest.raises(
        EngineError, match=r"PostgreSQL 14.11 is too old: envgrid needs PostgreSQL 15"
    ):
        await detect_engine(_OldServer())  # asyncpg is untyped: any object will do


def test_engine_values() -> None:
    assert [e.value for e in Engine] == ["timescaledb", "postgresql"]
    assert Engine("postgresql") is Engine.POSTGRESQL
    info = EngineInfo(Engine.TIMESCALEDB, "16.2", "2.14.2", license="timescale")
    assert info.describe() == "PostgreSQL 16.2 + TimescaleDB 2.14.2 (licence timescale)"


_RECORDED_SQL = (
    "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text, engine text,"
    " checksum text, applied_at timestamptz DEFAULT now());"
    "INSERT INTO schema_migrations VALUES (1, 'meta', $$%s$$, 'x')"
)


async def test_engine_postgres_never_enables_timescaledb(empty_db_dsn: str) -> None:
    conn = await connect(empty_db_dsn)
    try:
        info = await detect_engine(conn, choice="postgres")
        assert info.engine is Engine.POSTGRESQL
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        )
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("recorded", "choice", "message"),
    [
        ("postgresql", "timescaledb", "set up for plain PostgreSQL"),
        ("timescaledb", "postgres", "database.engine is 'postgres' but this database was set up"),
    ],
)
async def test_engine_choice_must_match_the_database(
    empty_db_dsn: str, recorded: str, choice: EngineChoice, message: str
) -> None:
    conn = await connect(empty_db_dsn)
    try:
        await conn.execute(_RECORDED_SQL % recorded)
        with pytest.raises(EngineError, match=message):
            await detect_engine(conn, choice=choice)
    finally:
        await conn.close()


async def test_engine_timescaledb_without_it_is_a_clear_error(empty_db_dsn: str) -> None:
    conn = await connect(empty_db_dsn)
    try:
        if await _tsdb_available(conn):
            pytest.skip("TimescaleDB is installed on this server")
        with pytest.raises(
            EngineError,
            match=r"database.engine is 'timescaledb', but the timescaledb extension is not"
            r" installed on this server .*install the TimescaleDB community build",
        ):
            await detect_engine(conn, choice="timescaledb")
    finally:
        await conn.close()


class _ApacheServer:
    """A server whose TimescaleDB is the Apache-2 build (no continuous aggregates)."""

    answers: ClassVar[dict[str, Any]] = {
        "SHOW server_version_num": "150020",
        "SHOW server_version": "15.20 (Debian)",
        "SELECT to_regclass('schema_migrations')": None,
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'": "2.28.3",
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'": (
            "2.28.3"
        ),
        "SELECT current_setting('timescaledb.license', true)": "apache",
    }

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return self.answers[sql]


@pytest.mark.parametrize("choice", ["auto", "timescaledb"])
async def test_apache_build_falls_back_to_own_rollups(
    choice: EngineChoice, caplog: pytest.LogCaptureFixture
) -> None:
    info = await detect_engine(_ApacheServer(), choice=choice)
    assert info.engine is Engine.POSTGRESQL
    assert "Apache-2 build" in info.note and "envgrid keeps its own rollups" in info.note
    assert any("Apache-2 build" in r.getMessage() for r in caplog.records)


@pytest.mark.timescaledb
async def test_engine_timescaledb_enables_the_extension(empty_db_dsn: str) -> None:
    conn = await connect(empty_db_dsn)
    try:
        info = await detect_engine(conn, choice="timescaledb")
        assert info.engine is Engine.TIMESCALEDB and info.license == "timescale"
        assert (
            await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
            == info.timescaledb_version
        )
    finally:
        await conn.close()


# TimescaleDB-only: both spellings skip with the same clear reason when it is absent.


@pytest.mark.timescaledb
async def test_hypertable_with_marker(db_conn: asyncpg.Connection) -> None:
    await db_conn.execute("CREATE TABLE m (ts timestamptz NOT NULL, v double precision)")
    await db_conn.execute("SELECT create_hypertable('m', 'ts')")
    assert (
        await db_conn.fetchval(
            "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'm'"
        )
        == 1
    )


async def test_timescaledb_fixture(timescaledb: EngineInfo, db_conn: asyncpg.Connection) -> None:
    assert timescaledb.timescaledb_version == await db_conn.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    )


async def test_an_application_role_migrates_what_the_dba_set_up(
    empty_db_dsn: str, engine_info: EngineInfo
) -> None:
    """A separate server's application role (no superuser, no pg_read_all_settings; only
    CREATEROLE for the first migration, as docs/operations.md says) sets up a database the
    DBA created — with the extension already created for TimescaleDB.  Reading
    ``shared_preload_libraries`` is refused to such a role: the check answers "cannot tell"
    instead of failing the start."""
    role = f"app_{uuid.uuid4().hex[:10]}"
    admin = await connect(empty_db_dsn)
    database = str(await admin.fetchval("SELECT current_database()"))
    superuser = str(await admin.fetchval("SELECT current_user"))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-pass-1' CREATEROLE")
        await admin.execute(f"ALTER DATABASE {database} OWNER TO {role}")
        await admin.execute(f"ALTER SCHEMA public OWNER TO {role}")
        if engine_info.engine is Engine.TIMESCALEDB:
            await admin.execute("CREATE EXTENSION timescaledb")
        parts = urlsplit(empty_db_dsn)
        netloc = f"{role}:app-pass-1@{parts.netloc.rpartition('@')[2]}"
        app = await connect(urlunsplit(parts._replace(netloc=netloc)))
        try:
            assert await timescaledb_preloaded(app) is None
            choice: EngineChoice = (
                "timescaledb" if engine_info.engine is Engine.TIMESCALEDB else "postgres"
            )
            info = await detect_engine(app, choice=choice)
            assert info.engine is engine_info.engine
            assert await migrate(app, info.engine)
            assert await app.fetchval("SELECT count(*) FROM stations") == 0
        finally:
            await app.close()
    finally:
        await admin.execute(f"ALTER DATABASE {database} OWNER TO {superuser}")
        await admin.execute(f"REASSIGN OWNED BY {role} TO {superuser}")
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def test_the_ledger_has_only_its_dedup_index(db_conn: asyncpg.Connection) -> None:
    """Every frame pays for each index of packet_ledger on insert; readers need only the
    dedup key (migration 0075 drops TimescaleDB's default data_time index)."""
    names = await db_conn.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'packet_ledger' ORDER BY 1"
    )
    assert [r[0] for r in names] == ["packet_ledger_dedup_idx"]
