"""Data audit against a real PostgreSQL: an audited hour changes the official daily value
and the AQI after the scheduled refresh, the change is in the append-only log, restoring
undoes it, and the raw data is never touched."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from aggregates import jobs
from aggregates.analysis import AQI_FACTORS
from aggregates.aqi_series import station_daily_aqi
from aggregates.audit import (
    Actor,
    AuditError,
    AuditRequest,
    StationNotFound,
    changes_since,
    invalidate,
    log_entries,
    restore,
)
from aggregates.audit.report_table import AUDIT_TABLE_NAME
from aggregates.periods import period_of
from aggregates.report_model import ReportSpec
from aggregates.reports import build_report
from aggregates.selection import Selection
from store.db import connect
from tests.web.test_audit_log import AppRole, app_role  # noqa: F401 - fixture

from .dbdata import add_stations, copy_rows, hourly_day, local, prepare, settings_for, upsert_hour

DAY = date(2024, 3, 5)
#: run_refresh "now": DAY is far outside the trailing window, so only the audit's dirty
#: days make the job recompute it
LATER = datetime(2024, 3, 20, 12, tzinfo=UTC)
PM25 = AQI_FACTORS["PM2.5"]
#: SO2 NO2 CO O3 PM10 at IAQI ≤ 50; PM2.5 35 µg/m³ with one hour of 515 → daily mean 55
LEVELS = {"SO2": 10.0, "NO2": 30.0, "CO": 0.8, "O3": 90.0, "PM10": 50.0}
OFFICER = Actor("wang", "web", None)


async def _network(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        ids = await prepare(conn)
        await add_stations(conn, [(1, "东区")])
        rows = []
        for pol, value in LEVELS.items():
            rows += hourly_day(1, ids[AQI_FACTORS[pol]], DAY, [value] * 24)
        rows += hourly_day(1, ids[PM25], DAY, [35.0] * 8 + [515.0] + [35.0] * 15)
        await upsert_hour(conn, rows)
    return ids


async def _daily_pm25(conn: asyncpg.Connection, fid: int) -> tuple[float, int]:
    r = await conn.fetchrow(
        "SELECT value, n_valid_hours FROM daily_values"
        " WHERE station_id = 1 AND factor_id = $1 AND day = $2",
        fid,
        DAY,
    )
    return r["value"], r["n_valid_hours"]


async def _aqi(pool: asyncpg.Pool, dsn: str) -> int | None:
    [day] = await station_daily_aqi(pool, settings_for(dsn), DAY, Selection(station_ids=(1,)))
    return day.result.aqi


def _hour(h: int) -> AuditRequest:
    return AuditRequest("ST1", local(DAY, h), local(DAY, h + 1), (PM25,), "仪器故障", "复核")


async def test_an_audited_hour_changes_the_daily_value_and_the_aqi(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    ids = await _network(db_pool)
    settings = settings_for(db_dsn)
    async with db_pool.acquire() as conn:
        async with conn.transaction():
            await jobs.refresh_days(conn, settings, [(1, DAY)])
        assert await _daily_pm25(conn, ids[PM25]) == (pytest.approx(55.0), 24)
    assert await _aqi(db_pool, db_dsn) == 75  # PM2.5 55 µg/m³

    async with db_pool.acquire() as conn:
        entry = await invalidate(conn, _hour(8), OFFICER)
        # the official hour is now invalid, its raw value kept beside it
        hv = await conn.fetchrow(
            "SELECT value, valid, raw_valid, audited, audit_reason FROM hourly_values"
            " WHERE station_id = 1 AND factor_id = $1 AND ts = $2",
            ids[PM25],
            local(DAY, 8),
        )
        assert tuple(hv) == (515.0, False, True, True, "仪器故障")
        assert await conn.fetchval("SELECT count(*) FROM agg_dirty_days WHERE day = $1", DAY)
    # the scheduled refresh (not an explicit recompute) picks the audited day up
    await jobs.run_refresh(db_pool, settings, now=LATER)
    async with db_pool.acquire() as conn:
        assert await _daily_pm25(conn, ids[PM25]) == (pytest.approx(35.0), 23)
        monthly = await conn.fetchval(
            "SELECT mean FROM monthly_values WHERE station_id = 1 AND factor_id = $1",
            ids[PM25],
        )
        assert monthly == pytest.approx(35.0)
    assert await _aqi(db_pool, db_dsn) == 50

    # visible in the log: who, what, why, before/after
    async with db_pool.acquire() as conn:
        [logged] = await log_entries(conn, station_ids=[1])
    assert logged == entry
    assert (logged.actor, logged.actor_kind, logged.action, logged.mn) == (
        "wang",
        "web",
        "invalidate",
        "ST1",
    )
    assert (logged.reason, logged.note, logged.factor_codes, logged.n_changed) == (
        "仪器故障",
        "复核",
        (PM25,),
        1,
    )
    assert logged.changes == [
        {
            "factor": PM25,
            "hour": local(DAY, 8).isoformat(),
            "value": 515.0,
            "before": True,
            "after": False,
        }
    ]

    # restoring is a new log row and brings the values back
    async with db_pool.acquire() as conn:
        req = AuditRequest("ST1", local(DAY, 8), local(DAY, 9), (PM25,))
        back = await restore(conn, req, Actor("li", "cli"))
        assert (back.action, back.reason, back.changes[0]["after"]) == ("restore", "恢复有效", True)
    await jobs.run_refresh(db_pool, settings, now=LATER)
    assert await _aqi(db_pool, db_dsn) == 75
    async with db_pool.acquire() as conn:
        feed = await changes_since(conn, 0)
        assert [(e.id, e.action) for e in feed] == [(entry.id, "invalidate"), (back.id, "restore")]
        assert await changes_since(conn, back.id) == []
        # the raw value was never touched
        assert (
            await conn.fetchval(
                "SELECT value FROM measurements_hour WHERE factor_id = $1 AND ts = $2",
                ids[PM25],
                local(DAY, 8),
            )
            == 515.0
        )


async def test_the_log_is_append_only(db_pool: asyncpg.Pool) -> None:
    await _network(db_pool)
    async with db_pool.acquire() as conn:
        await invalidate(conn, _hour(3), OFFICER)
        for sql in (
            "UPDATE envgrid_audit.data_audit_log SET reason = 'x'",
            "DELETE FROM envgrid_audit.data_audit_log",
            "TRUNCATE envgrid_audit.data_audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(sql)
        assert await conn.fetchval("SELECT count(*) FROM envgrid_audit.data_audit_log") == 1


async def test_whole_day_all_factors_and_refusals(db_pool: asyncpg.Pool) -> None:
    ids = await _network(db_pool)
    day = AuditRequest("ST1", local(DAY), local(DAY + timedelta(days=1)), (), "停电")
    async with db_pool.acquire() as conn:
        # one hour first: the day's invalidation changes the other 23 × 6 + 0 of it
        await invalidate(conn, _hour(8), OFFICER)
        entry = await invalidate(conn, day, OFFICER)
        assert entry.n_changed == 24 * 6 - 1
        assert sorted(entry.factor_codes) == sorted(AQI_FACTORS.values())
        assert len(entry.changes) == 24 * 6 - 1
        assert await conn.fetchval("SELECT count(*) FROM hourly_values WHERE valid") == 0
        with pytest.raises(AuditError, match="已全部标记为无效"):
            await invalidate(conn, day, OFFICER)
        with pytest.raises(AuditError, match="原因"):
            await invalidate(conn, AuditRequest("ST1", day.start, day.end), OFFICER)
        with pytest.raises(StationNotFound):
            await invalidate(conn, AuditRequest("NOPE", day.start, day.end, (), "x"), OFFICER)
        with pytest.raises(AuditError, match="未知的因子编码"):
            await invalidate(
                conn, AuditRequest("ST1", day.start, day.end, ("zz999",), "x"), OFFICER
            )
        # a scoped caller outside the station's area sees no such station
        await conn.execute("INSERT INTO areas (id, level, code, name) VALUES (9, 3, 'R9', '九区')")
        with pytest.raises(StationNotFound):
            await restore(conn, day, OFFICER, scope=[9])
        out = await restore(conn, day, OFFICER)
        assert out.n_changed == 24 * 6
        assert await conn.fetchval("SELECT count(*) FROM audit_marks") == 0
        assert ids  # the factors were seeded


async def test_a_reported_daily_value_gives_way_to_the_audited_hours(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    ids = await _network(db_pool)
    async with db_pool.acquire() as conn:
        await copy_rows(
            conn,
            "measurements_day",
            [(1, ids[PM25], local(DAY), 60.0, None, None, None, None, "N")],
        )
        async with conn.transaction():
            await jobs.refresh_days(conn, settings_for(db_dsn), [(1, DAY)])
        assert (await _daily_pm25(conn, ids[PM25]))[0] == 60.0  # reported wins
        await invalidate(conn, _hour(8), OFFICER)
        async with conn.transaction():
            await jobs.refresh_days(conn, settings_for(db_dsn), [(1, DAY)])
        assert await _daily_pm25(conn, ids[PM25]) == (pytest.approx(35.0), 23)


async def test_reports_carry_the_audit_log_when_asked(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    await _network(db_pool)
    settings = settings_for(db_dsn)
    async with db_pool.acquire() as conn:
        await invalidate(conn, _hour(8), OFFICER)
        async with conn.transaction():
            await jobs.refresh_days(conn, settings, [(1, DAY)])
        per = period_of("day", DAY)
        plain = await build_report(conn, settings, ReportSpec("station", "ST1", per))
        asked = await build_report(
            conn, settings, ReportSpec("station", "ST1", per, audit_log=True)
        )
    assert AUDIT_TABLE_NAME not in [t.name for t in plain.tables]
    table = asked.tables[-1]
    assert table.name == AUDIT_TABLE_NAME
    assert [row[2:6] for row in table.rows] == [["wang（平台）", "标记无效", "ST1", PM25]]
    assert table.rows[0][6:] == ["2024-03-05 08:00", "2024-03-05 09:00", 1, "仪器故障", "复核"]


async def test_computed_hours_are_audited_on_either_engine(
    db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    """Hours computed from real-time data (plain PostgreSQL: trigger-kept rollups;
    TimescaleDB: continuous aggregates) are audited in the view the refresh reads."""
    settings = settings_for(db_dsn)
    async with db_pool.acquire() as conn:
        fid = (await prepare(conn))[PM25]
        await add_stations(conn, [(1, "东区")], rtd_interval=60)
        rows = [
            (1, fid, local(DAY, h, m), 515.0 if h == 8 else 35.0, None, None, None, None, "N")
            for h in range(24)
            for m in range(60)
        ]
        await copy_rows(conn, "measurements_rtd", rows)
    await jobs.run_refresh(db_pool, settings, now=LATER)
    async with db_pool.acquire() as conn:
        await conn.execute("DELETE FROM agg_dirty_days")
        async with conn.transaction():
            await jobs.refresh_days(conn, settings, [(1, DAY)])
        assert await _daily_pm25(conn, fid) == (pytest.approx(55.0), 24)
        entry = await invalidate(conn, _hour(8), OFFICER)
        assert entry.changes[0]["value"] == pytest.approx(515.0)
    await jobs.run_refresh(db_pool, settings, now=LATER)
    async with db_pool.acquire() as conn:
        assert await _daily_pm25(conn, fid) == (pytest.approx(35.0), 23)
        source = await conn.fetchval(
            "SELECT basis FROM hourly_values WHERE audited AND station_id = 1"
        )
        assert source == "rtd"


async def test_an_ordinary_app_role_writes_the_log_but_cannot_change_it(
    app_role: AppRole,  # noqa: F811
) -> None:
    """Migrated by a CREATEROLE role that loses it afterwards (as in production): the
    application inserts log rows through the audit actions and nothing else."""
    conn = await connect(app_role.dsn)
    try:
        ids = await prepare(conn)
        await add_stations(conn, [(1, "东区")])
        await upsert_hour(conn, hourly_day(1, ids[PM25], DAY, [35.0] * 24))
        entry = await invalidate(conn, _hour(8), OFFICER)
        assert entry.id >= 1
        for sql in (
            "UPDATE envgrid_audit.data_audit_log SET reason = 'x'",
            "DELETE FROM envgrid_audit.data_audit_log",
            "TRUNCATE envgrid_audit.data_audit_log",
            "ALTER TABLE envgrid_audit.data_audit_log DISABLE TRIGGER append_only",
            "DROP TABLE envgrid_audit.data_audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
        assert [e.id for e in await changes_since(conn, 0)] == [entry.id]
    finally:
        await conn.close()
