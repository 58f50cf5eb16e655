"""Pools and connections: codecs (orjson, binary jsonb, COPY) and session settings."""

from __future__ import annotations

import asyncpg

from envgrid.settings import Settings
from store.db import connect, create_pool

DOC = {"station": "粤A-001", "factors": [{"code": "a34004", "value": 35.5}], "ok": True, "n": None}


async def test_pool_codecs_and_settings(db_dsn: str) -> None:
    pool = await create_pool(
        db_dsn, min_size=1, max_size=2, application_name="envgrid-ingest", statement_timeout_ms=1500
    )
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT $1::jsonb", DOC) == DOC
            assert await conn.fetchval("SELECT $1::json", DOC) == DOC
            assert await conn.fetchval("SELECT '{\"a\": [1, 2]}'::jsonb -> 'a'") == [1, 2]
            await conn.execute("SET statement_timeout = 1")  # RESET ALL on release restores it
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "envgrid-ingest"
            assert await conn.fetchval("SHOW statement_timeout") == "1500ms"
    finally:
        await pool.close()


async def test_copy_with_jsonb(db_conn: asyncpg.Connection) -> None:
    await db_conn.execute("CREATE TABLE docs (id int, doc jsonb, raw json)")
    await db_conn.copy_records_to_table("docs", records=[(1, DOC, [1, "二"]), (2, None, None)])
    rows = await db_conn.fetch("SELECT id, doc, raw FROM docs ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, DOC, [1, "二"]), (2, None, None)]


async def test_connect_defaults(db_dsn: str) -> None:
    conn = await connect(db_dsn)
    try:
        assert await conn.fetchval("SHOW application_name") == "envgrid"
        assert await conn.fetchval("SHOW statement_timeout") == "0"
    finally:
        await conn.close()


async def test_fixtures_give_separate_databases(
    db_conn: asyncpg.Connection, db_pool: asyncpg.Pool
) -> None:
    # db_conn and db_pool share this test's database …
    await db_conn.execute("CREATE TABLE shared_here (id int)")
    assert await db_pool.fetchval("SELECT to_regclass('shared_here')::text") == "shared_here"
    assert (await db_pool.fetchval("SELECT current_database()")).startswith("t_")


async def test_previous_test_left_nothing(db_conn: asyncpg.Connection) -> None:
    # … and the next test starts from the template again.
    assert await db_conn.fetchval("SELECT to_regclass('shared_here')") is None


async def test_db_settings_fixture(db_settings: Settings, db_dsn: str) -> None:
    assert db_settings.database.dsn == db_dsn
    assert db_settings.core.data_dir.is_dir()
    assert db_settings.database.dsn is not None
    pool = await create_pool(
        db_settings.database.dsn,
        min_size=db_settings.database.pool_min,
        max_size=db_settings.database.pool_max,
        statement_timeout_ms=db_settings.database.statement_timeout_ms,
    )
    try:
        assert await pool.fetchval("SHOW statement_timeout") == "1min"
    finally:
        await pool.close()
