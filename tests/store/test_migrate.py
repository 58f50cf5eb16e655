"""Migrations: idempotency, concurrency, engine companions, drift, failures, status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from store.db import connect
from store.embedded import EmbeddedPostgres
from store.engine import Engine, EngineInfo
from store.migrate import (
    Migration,
    MigrationError,
    load_migrations,
    migrate,
    status,
)


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def test_packaged_migrations() -> None:
    migrations = load_migrations()
    assert migrations[0].version == 1 and migrations[0].name == "meta"
    assert migrations[0].common is not None and "app_meta" in migrations[0].common
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions))


async def test_fresh_database_then_noop(
    empty_db_dsn: str, engine_info: EngineInfo, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await connect(empty_db_dsn)
    try:
        assert [s.state for s in await status(conn)] == ["pending"] * len(load_migrations())
        with caplog.at_level(logging.INFO, logger="store.migrate"):
            applied = await migrate(conn, engine_info.engine)
        assert [a.version for a in applied] == [m.version for m in load_migrations()]
        assert "applied migration 0001_meta" in caplog.text
        assert await migrate(conn, engine_info.engine) == []  # second run: no-op
        rows = await status(conn)
        assert {r.state for r in rows} == {"applied"}
        assert rows[0].engine is engine_info.engine and rows[0].applied_at is not None
        await conn.execute("INSERT INTO app_meta (key, value) VALUES ('k', 'v')")
        assert await conn.fetchval("SELECT updated_at IS NOT NULL FROM app_meta") is True
    finally:
        await conn.close()


async def test_template_clone_is_migrated(db_conn: asyncpg.Connection) -> None:
    rows = await status(db_conn)
    assert rows and all(r.state == "applied" for r in rows)
    assert await db_conn.fetchval("SELECT to_regclass('app_meta')") is not None


async def test_concurrent_starters_serialise(
    empty_db_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _folder(
        tmp_path,
        {
            f"000{i}_step{i}.sql": f"SELECT pg_sleep(0.1); CREATE TABLE step{i} (id int);"
            for i in range(1, 4)
        },
    )
    migrations = load_migrations(folder)
    conns = [await connect(empty_db_dsn) for _ in range(3)]
    try:
        with caplog.at_level(logging.INFO, logger="store.migrate"):
            results = await asyncio.gather(
                *(migrate(c, Engine.POSTGRESQL, migrations=migrations) for c in conns)
            )
        applied = sorted(a.version for result in results for a in result)
        assert applied == [1, 2, 3]  # each migration exactly once, whoever did it
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == 3
        assert "waiting for another process" in caplog.text
    finally:
        for c in conns:
            await c.close()


async def test_engine_companions(empty_db_conn: asyncpg.Connection, tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        {
            "0001_base.sql": "CREATE TABLE readings (id int);",
            "0001_base.postgresql.sql": "CREATE TABLE readings_rollup (id int);",
            "0001_base.timescaledb.sql": "SELECT create_hypertable('readings', 'id');",
            "0002_only_tsdb.timescaledb.sql": "SELECT definitely_not_a_function();",
            "README.txt": "ignored",
        },
    )
    migrations = load_migrations(folder)
    assert [(m.version, m.common is not None, sorted(m.specific)) for m in migrations] == [
        (1, True, [Engine.POSTGRESQL, Engine.TIMESCALEDB]),
        (2, False, [Engine.TIMESCALEDB]),
    ]
    applied = await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=migrations)
    assert [a.version for a in applied] == [1, 2]  # 2 is recorded, nothing to run here
    assert await empty_db_conn.fetchval("SELECT to_regclass('readings_rollup')") is not None
    assert migrations[0].checksum(Engine.POSTGRESQL) != migrations[0].checksum(Engine.TIMESCALEDB)
    with pytest.raises(MigrationError, match="migrated for postgresql; refusing"):
        await migrate(empty_db_conn, Engine.TIMESCALEDB, migrations=migrations)


async def test_changed_and_unknown_migrations_are_reported(
    empty_db_conn: asyncpg.Connection, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _folder(
        tmp_path, {"0001_a.sql": "CREATE TABLE a (id int);", "0002_b.sql": "CREATE TABLE b ();"}
    )
    await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=load_migrations(folder))
    (folder / "0001_a.sql").write_text("CREATE TABLE a (id bigint);")
    (folder / "0002_b.sql").unlink()
    changed = load_migrations(folder)
    with caplog.at_level(logging.WARNING, logger="store.migrate"):
        assert await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=changed) == []
    assert "migration 0001_a was changed after it was applied" in caplog.text
    assert "0002_b, unknown to this version of envgrid" in caplog.text
    rows = await status(empty_db_conn, migrations=changed)
    assert [(r.version, r.state) for r in rows] == [(1, "changed"), (2, "unknown")]
    # line endings alone are not a change
    (folder / "0001_a.sql").write_text("CREATE TABLE a (id int);".replace("\n", "\r\n"))
    assert [r.state for r in await status(empty_db_conn, migrations=load_migrations(folder))] == [
        "applied",
        "unknown",
    ]


async def test_failing_migration_rolls_back(
    empty_db_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = _folder(
        tmp_path,
        {
            "0001_ok.sql": "CREATE TABLE ok (id int);",
            "0002_bad.sql": "CREATE TABLE half (id int);\n\nSELEC 1;\n",
            "0003_later.sql": "CREATE TABLE later (id int);",
        },
    )
    with pytest.raises(MigrationError) as err:
        await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=load_migrations(folder))
    message = str(err.value)
    assert message.startswith("migration 0002_bad.sql failed at line 3: PostgresSyntaxError")
    assert await empty_db_conn.fetchval("SELECT to_regclass('ok')") is not None
    assert await empty_db_conn.fetchval("SELECT to_regclass('half')") is None  # rolled back
    assert await empty_db_conn.fetchval("SELECT to_regclass('later')") is None  # stopped
    states = [r.state for r in await status(empty_db_conn, migrations=load_migrations(folder))]
    assert states == ["applied", "pending", "pending"]


async def test_target_and_transaction_guard(
    empty_db_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, {"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;"})
    migrations = load_migrations(folder)
    assert [
        a.version
        for a in await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=migrations, target=1)
    ] == [1]
    async with empty_db_conn.transaction():
        with pytest.raises(MigrationError, match="not inside a transaction"):
            await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=migrations)
    assert [
        a.version for a in await migrate(empty_db_conn, Engine.POSTGRESQL, migrations=migrations)
    ] == [2]


async def test_statement_timeout_is_lifted(empty_db_dsn: str, tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"0001_slow.sql": "SELECT pg_sleep(0.3);"})
    conn = await connect(empty_db_dsn, statement_timeout_ms=100)
    try:
        assert len(await migrate(conn, Engine.POSTGRESQL, migrations=load_migrations(folder))) == 1
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SELECT pg_sleep(0.3)")  # the session limit is back
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0003-bad.sql": "SELECT 1"}, "'0003-bad.sql' is not named NNNN_name.sql"),
        ({"12_short.sql": "SELECT 1"}, "'12_short.sql' is not named"),
        ({"0001_Caps.sql": "SELECT 1"}, "'0001_Caps.sql' is not named"),
        (
            {"0001_a.sql": "", "0001_b.postgresql.sql": ""},
            "version 0001 has two names: 'a' and 'b'",
        ),
    ],
)
def test_bad_migration_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(MigrationError) as err:
        load_migrations(_folder(tmp_path, files))
    assert message in str(err.value)


def test_migration_parts_order() -> None:
    m = Migration(7, "x", "common", {Engine.TIMESCALEDB: "tsdb"})
    assert m.parts(Engine.TIMESCALEDB) == [
        ("0007_x.sql", "common"),
        ("0007_x.timescaledb.sql", "tsdb"),
    ]
    assert m.parts(Engine.POSTGRESQL) == [("0007_x.sql", "common")]


@pytest.fixture
async def empty_db_conn(empty_db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(empty_db_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.mark.timescaledb
async def test_timescaledb_migrations_need_the_preloaded_extension(
    make_embedded_pg: Callable[..., EmbeddedPostgres],
) -> None:
    """An external server with TimescaleDB installed but not preloaded: migrating for
    TimescaleDB says what to change instead of failing inside create_hypertable()."""
    cluster = make_embedded_pg(engine="postgres")  # the same binaries, nothing preloaded
    await cluster.astart()
    conn = await connect(cluster.dsn)
    try:
        with pytest.raises(
            MigrationError, match="timescaledb is not in the server's shared_preload_libraries"
        ):
            await migrate(conn, Engine.TIMESCALEDB)
        assert await conn.fetchval("SELECT to_regclass('stations')") is None
    finally:
        await conn.close()


@pytest.mark.timescaledb
async def test_timescaledb_migrations_create_the_extension(empty_db_dsn: str) -> None:
    """``envgrid db migrate`` against a database without the extension creates it first."""
    conn = await connect(empty_db_dsn)
    try:
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        )
        await migrate(conn, Engine.TIMESCALEDB)
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM timescaledb_information.hypertables"
                " WHERE hypertable_name = 'measurements_rtd'"
            )
            == 1
        )
    finally:
        await conn.close()


async def test_0048_writes_standard_codes_with_the_em_dash(
    empty_db_conn: asyncpg.Connection, engine_info: EngineInfo
) -> None:
    """Rankings stored before the codes changed ("HJ 633-2012") read "HJ 633—2012" after
    0048; other values (NULL, already converted, an operator's own code) are kept."""
    conn = empty_db_conn
    await migrate(conn, engine_info.engine, target=47)
    rows = [
        ("a", "HJ 633-2012"),
        ("b", "HJ 633-2026"),
        ("c", "HJ 633—2026"),
        ("d", None),
        ("e", "本地规定-2020"),
    ]
    await conn.executemany(
        "INSERT INTO daily_rankings (day, scope, scope_key, valid, standard)"
        " VALUES ('2026-02-28', 'station', $1, true, $2)",
        rows,
    )
    assert 48 in [a.version for a in await migrate(conn, engine_info.engine)]
    got = dict(await conn.fetch("SELECT scope_key, standard FROM daily_rankings"))
    assert got == {
        "a": "HJ 633—2012",
        "b": "HJ 633—2026",
        "c": "HJ 633—2026",
        "d": None,
        "e": "本地规定-2020",
    }
