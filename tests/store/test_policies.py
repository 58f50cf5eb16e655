"""Retention and TimescaleDB's jobs: set up from the settings, idempotent, history-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from store.db import connect
from store.engine import Engine, EngineError, EngineInfo
from store.partitions import PartitionCache, apply_retention
from store.policies import list_jobs
from store.prepare import check_retention, prepare_database
from tests.conftest import PgAdmin, TemplateDatabase, dsn_database

NOW = datetime.now(UTC)
RETENTION = {"measurements_rtd": 30, "measurements_minute": 90, "measurements_hour": 3650}


@pytest.mark.parametrize(
    ("retention", "refresh_days", "refused"),
    [
        ({"measurements_rtd": 30, "measurements_minute": 90}, 3, None),
        ({"measurements_rtd": 5, "measurements_minute": 90}, 3, None),
        ({"measurements_rtd": 4, "measurements_minute": 90}, 3, "ingest.retention_rtd_days = 4"),
        ({"measurements_rtd": 40, "measurements_minute": 35}, 35, "retention_minute_days = 35"),
        ({"measurements_hour": 1}, 3, None),  # not a rollup source
        ({}, 3, None),
    ],
)
def test_retention_must_outlive_the_refresh_window(
    retention: dict[str, int], refresh_days: int, refused: str | None
) -> None:
    if refused is None:
        check_retention(retention, refresh_days)
        return
    with pytest.raises(EngineError, match=rf"{refused} would lose hourly and daily rollups"):
        check_retention(retention, refresh_days)


async def _insert_rtd(conn: asyncpg.Connection, engine: Engine, times: list[datetime]) -> None:
    await PartitionCache(engine).ensure(conn, [("measurements_rtd", t) for t in times])
    await conn.execute(
        "INSERT INTO stations (id, mn, name) VALUES (1, 'MN1', 's1') ON CONFLICT DO NOTHING"
    )
    factor = await conn.fetchval(
        "INSERT INTO factors (code, name_zh, name_en, unit, grp) VALUES ('a34004', '', '', '', '')"
        " ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id"
    )
    await conn.executemany(
        "INSERT INTO measurements_rtd (station_id, factor_id, ts, value, flag)"
        " VALUES (1, $1, $2, 1.0, 'N')",
        [(factor, t) for t in times],
    )


async def test_retention_drops_old_data_on_either_engine(
    db_conn: asyncpg.Connection, engine_info: EngineInfo
) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    await _insert_rtd(db_conn, engine_info.engine, [old, recent])
    dropped = await apply_retention(db_conn, engine_info.engine, {"measurements_rtd": 30}, NOW)
    assert dropped  # a partition or a chunk
    rows = await db_conn.fetch("SELECT ts FROM measurements_rtd ORDER BY ts")
    assert [r["ts"] for r in rows] == [recent]
    # nothing left to drop: a second run drops nothing
    assert await apply_retention(db_conn, engine_info.engine, {"measurements_rtd": 30}, NOW) == []


@pytest.mark.timescaledb
async def test_ten_restarts_leave_the_jobs_unchanged(db_dsn: str) -> None:
    await prepare_database(db_dsn, engine="timescaledb", retention_days=RETENTION)
    conn = await connect(db_dsn)
    try:
        first = await list_jobs(conn)
        assert {proc for _, proc, _, _ in first} == {
            "policy_compression",
            "policy_refresh_continuous_aggregate",
        }  # no retention job: envgrid drops chunks itself
        assert any('"compress_after": "7 days"' in config for *_, config in first)
        for _ in range(10):
            await prepare_database(db_dsn, engine="timescaledb", retention_days=RETENTION)
        assert await list_jobs(conn) == first
        # a changed setting alters the existing jobs (same ids), it does not add jobs
        await prepare_database(
            db_dsn,
            engine="timescaledb",
            retention_days=RETENTION,
            compress_after_days=10,
            rollup_refresh_days=5,
        )
        changed = await list_jobs(conn)
        assert [j[:3] for j in changed] == [j[:3] for j in first]
        compression = [c for _, proc, _, c in changed if proc == "policy_compression"]
        assert compression and all('"compress_after": "10 days"' in c for c in compression)
        refresh = [c for _, proc, _, c in changed if proc != "policy_compression"]
        assert refresh and all('"start_offset": "5 days"' in c for c in refresh)
    finally:
        await conn.close()


@pytest.mark.timescaledb
async def test_duplicate_and_retention_jobs_of_older_versions_are_removed(db_dsn: str) -> None:
    conn = await connect(db_dsn)
    try:
        # what earlier versions left: a retention job per start, a second compression job
        await conn.execute("SELECT add_retention_policy('measurements_rtd', INTERVAL '30 days')")
        await conn.execute("SELECT remove_compression_policy('measurements_minute')")
        await conn.execute(
            "SELECT add_compression_policy('measurements_minute', INTERVAL '2 days')"
        )
        await prepare_database(db_dsn, engine="timescaledb", retention_days=RETENTION)
        jobs = await list_jobs(conn)
        assert not [j for j in jobs if j[1] == "policy_retention"]
        per_relation = [(proc, rel) for _, proc, rel, _ in jobs]
        assert len(per_relation) == len(set(per_relation))
    finally:
        await conn.close()


@pytest.mark.timescaledb
async def test_start_up_refuses_retention_that_loses_rollups(db_dsn: str) -> None:
    with pytest.raises(EngineError, match="retention_rtd_days = 3 would lose"):
        await prepare_database(db_dsn, engine="timescaledb", retention_days={"measurements_rtd": 3})


@pytest.mark.timescaledb
async def test_chunk_intervals_are_sized_for_50000_stations(db_conn: asyncpg.Connection) -> None:
    rows = await db_conn.fetch(
        "SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions"
        " WHERE hypertable_name LIKE 'measurements_%' OR hypertable_name = 'packet_ledger'"
    )
    assert {r["hypertable_name"]: r["time_interval"] for r in rows} == {
        "measurements_rtd": timedelta(hours=1),
        "measurements_minute": timedelta(hours=2),
        "packet_ledger": timedelta(hours=4),
        "measurements_hour": timedelta(days=7),
        "measurements_day": timedelta(days=90),
    }


@pytest.mark.timescaledb
async def test_test_clusters_run_no_timescaledb_scheduler(
    db_conn: asyncpg.Connection, pg_admin: PgAdmin, envgrid_template: TemplateDatabase
) -> None:
    """Issue 17 defect 1: a TimescaleDB scheduler session on the template made every
    clone fail.  The test clusters start no background workers, and cloning works."""
    assert await db_conn.fetchval("SHOW timescaledb.max_background_workers") == "0"
    sessions = await db_conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'TimescaleDB%'"
    )
    assert sessions == 0
    dsn = pg_admin.create_database(template=envgrid_template.name)
    pg_admin.drop_database(dsn_database(dsn))
