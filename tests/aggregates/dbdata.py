"""Helpers for the aggregates integration tests: stations, factors and measurement rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from aggregates.analysis import AQI_FACTORS
from envgrid.settings import Settings, load_settings
from store.engine import Engine, recorded_engine
from store.partitions import PartitionCache
from store.prepare import seed_factors

TZ = ZoneInfo("Asia/Shanghai")
COLUMNS = ("station_id", "factor_id", "ts", "value", "vmin", "vmax", "cou", "zs", "flag")
Row = tuple[int, int, datetime, float | None, Any, Any, Any, Any, str | None]


def settings_for(dsn: str, **aggregates: Any) -> Settings:
    overrides: dict[str, Any] = {"database.dsn": dsn}
    overrides.update({f"aggregates.{k}": v for k, v in aggregates.items()})
    return load_settings(None, {}, overrides, discover=False)


async def prepare(conn: asyncpg.Connection) -> dict[str, int]:
    """Seed the factor table; returns code → id of the six AQI factors."""
    await seed_factors(conn)
    rows = await conn.fetch(
        "SELECT code, id FROM factors WHERE code = ANY($1::text[])", list(AQI_FACTORS.values())
    )
    return {r["code"]: r["id"] for r in rows}


async def add_stations(
    conn: asyncpg.Connection,
    specs: Iterable[tuple[int, str]],
    *,
    min_interval: int | None = None,
    rtd_interval: int | None = None,
) -> None:
    """Stations ``(id, region)`` with MN ``ST<id>``, name ``站点<id>``, a position."""
    for sid, region in specs:
        await conn.execute(
            "INSERT INTO stations (id, mn, name, st, lat, lon, region, min_interval, rtd_interval)"
            " VALUES ($1, $2, $3, '22', $4, $5, $6, $7, $8)",
            sid,
            f"ST{sid}",
            f"站点{sid}",
            30.0 + sid * 0.01,
            120.0 + sid * 0.01,
            region,
            min_interval,
            rtd_interval,
        )


async def marked_days(conn: asyncpg.Connection) -> set[tuple[int, date]]:
    """(station, local day) pairs late writes marked for the refresh: days directly (plain
    PostgreSQL's triggers, reported values) or through their hours (TimescaleDB)."""
    rows = await conn.fetch(
        "SELECT station_id, day FROM agg_dirty_days"
        " UNION SELECT station_id, (hour AT TIME ZONE (SELECT timezone FROM agg_config))::date"
        " FROM agg_dirty_hours"
    )
    return {(r["station_id"], r["day"]) for r in rows}


async def _partitions(conn: asyncpg.Connection) -> PartitionCache:
    """The partition helper of the database's own engine (TimescaleDB makes its chunks)."""
    return PartitionCache(await recorded_engine(conn) or Engine.POSTGRESQL)


async def copy_rows(conn: asyncpg.Connection, table: str, rows: Sequence[Row]) -> None:
    """COPY rows into a measurement table (partitions created first, outside any
    transaction, as the ingest writer does)."""
    await (await _partitions(conn)).ensure(conn, [(table, r[2]) for r in rows])
    await conn.copy_records_to_table(table, records=list(rows), columns=COLUMNS)


async def upsert_hour(conn: asyncpg.Connection, rows: Sequence[Row]) -> None:
    """Station-reported hourly rows the way the ingest writer stores them (upsert)."""
    await (await _partitions(conn)).ensure(
        conn, [("measurements_hour", r[2]) for r in rows]
    )
    await conn.execute(
        """
        INSERT INTO measurements_hour (station_id, factor_id, ts, value, vmin, vmax, cou, zs, flag)
        SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::float8[],
                             $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::text[])
        ON CONFLICT (station_id, factor_id, ts) DO UPDATE SET
            value = EXCLUDED.value, flag = EXCLUDED.flag
        """,
        *(list(c) for c in zip(*rows, strict=True)),
    )


def local(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A local (Asia/Shanghai) wall-clock time as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=TZ).astimezone(UTC)


def hourly_day(
    sid: int,
    fid: int,
    day: date,
    values: Sequence[float | None],
    flags: Sequence[str | None] | None = None,
) -> list[Row]:
    """Hourly rows of one local day (value ``None`` = hour missing)."""
    out: list[Row] = []
    for h, v in enumerate(values):
        if v is None:
            continue
        flag = flags[h] if flags is not None else "N"
        out.append((sid, fid, local(day, h), v, None, None, None, None, flag))
    return out


def days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=k) for k in range(n)]


START = date(2024, 3, 1)
DAYS = 31
#: Constant hourly concentrations per station → hand-computable daily values and AQI.
#: station: (SO2, NO2, CO, O3, PM10, PM2.5)
LEVELS = {
    1: (10, 30, 0.8, 90, 50, 35),  # AQI 50 (PM10, PM2.5 at IAQI 50 → ≤ 50: no primary)
    2: (10, 30, 0.8, 90, 70, 75),  # PM2.5 75 → IAQI 100; PM10 70 → 60
    3: (10, 30, 0.8, 90, 70, 75),  # same as station 2: a tie
    4: (10, 30, 0.8, 90, 250, 45),  # PM10 250 → IAQI 150 (light pollution)
}


async def build_network(pool: asyncpg.Pool, dsn: str) -> None:
    """Four stations (东区: 1, 2; 西区: 3, 4; grid G01 under S01: 1, 4) with constant hourly
    values for March 2024, official values refreshed."""
    from aggregates import jobs

    async with pool.acquire() as conn:
        ids = await prepare(conn)
        await add_stations(conn, [(1, "东区"), (2, "东区"), (3, "西区"), (4, "西区")])
        await conn.execute(
            "INSERT INTO areas (id, level, code, name) VALUES (1, 4, 'S01', '街道一')"
        )
        await conn.execute(
            "INSERT INTO areas (id, parent_id, level, code, name) VALUES (2, 1, 5, 'G01', '网格一')"
        )
        await conn.execute("UPDATE stations SET grid_id = 2 WHERE id IN (1, 4)")
        rows: list[Row] = []
        for sid, levels in LEVELS.items():
            for pol, value in zip(AQI_FACTORS, levels, strict=True):
                for day in days(START, DAYS):
                    rows += hourly_day(sid, ids[AQI_FACTORS[pol]], day, [float(value)] * 24)
        await upsert_hour(conn, rows)
        pairs = [(sid, day) for sid in LEVELS for day in days(START, DAYS)]
        async with conn.transaction():
            await jobs.refresh_days(conn, settings_for(dsn), pairs)
