"""SQL of the map module (``$n`` parameters only; the data scope is an ``int[]``, NULL = all).

Bulk columns come back as PostgreSQL's binary array format (``array_send``) and are read
with numpy (:func:`int_array`, :func:`bool_array`): 36,000 values without one Python
object each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg
import numpy as np

#: The station facts of the map (every station with coordinates), in id order.
REGISTRY_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.region, s.grid_id, s.enabled,
       s.expected_factors
FROM stations s
WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL
ORDER BY s.id
"""
#: The ids of the stations a (scope, type, region, area) selection shows, in id order.
SELECTION_SQL: Final = """
SELECT array_send(COALESCE(array_agg(s.id ORDER BY s.id), '{}'::int[]))
FROM stations s
WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL
  AND ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
  AND ($2::text IS NULL OR s.st = $2)
  AND ($3::text IS NULL OR s.region = $3)
  AND ($4::int IS NULL
       OR s.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$4]::int[])))
"""
#: Live state of every station as binary COPY rows (fixed width, read with numpy): id,
#: last data received, data time of the latest values (the AQI cache key) — timestamps in
#: PostgreSQL's binary form, µs since 2000-01-01, -infinity = never — and the server's now.
STATE_COPY_SQL: Final = """
SELECT station_id, COALESCE(last_data_at, '-infinity'::timestamptz),
       COALESCE(last_data_time, '-infinity'::timestamptz), now()
FROM station_state
"""
#: The same for a few stations, as binary arrays: id, last data received (epoch s, 0 =
#: never), the latest values' data time (µs since 2000-01-01, 0 = never), online now.
STATE_SOME_SQL: Final = """
SELECT array_send(COALESCE(array_agg(station_id), '{}'::int[])) AS ids,
       array_send(COALESCE(array_agg(COALESCE(floor(extract(epoch FROM last_data_at))::int8, 0)),
                           '{}'::int8[])) AS seen,
       array_send(COALESCE(array_agg(COALESCE((extract(epoch FROM last_data_time
                                                        - TIMESTAMPTZ '2000-01-01 00:00:00+00')
                                               * 1000000)::int8, 0)), '{}'::int8[])) AS stamps,
       array_send(COALESCE(array_agg(COALESCE(last_data_at > now() - $1::interval, false)),
                           '{}'::boolean[])) AS fresh
FROM station_state
WHERE station_id = ANY($2::int[])
"""
LATEST_SQL: Final = """
SELECT station_id,
       COALESCE((extract(epoch FROM last_data_time - TIMESTAMPTZ '2000-01-01 00:00:00+00')
                 * 1000000)::int8, 0) AS stamp,
       latest
FROM station_state WHERE station_id = ANY($1::int[])
"""
AIR_FACTOR_IDS_SQL: Final = "SELECT id, code FROM factors WHERE code = ANY($1::text[])"
#: Valid official hourly values (hourly_values: reported 2061 preferred, computed hours
#: fill the gaps) of the hour starting at $1, for the factors $2.
HOURLY_SQL: Final = """
SELECT COALESCE(array_agg(h.station_id), '{}'::int[]) AS stations,
       COALESCE(array_agg(h.factor_id::int), '{}'::int[]) AS factors,
       COALESCE(array_agg(h.value), '{}'::float8[]) AS values
FROM hourly_values h
WHERE h.ts = $1 AND h.valid AND h.value IS NOT NULL AND h.factor_id = ANY($2::smallint[])
"""
STATION_HOURLY_SQL: Final = """
SELECT f.code, h.value
FROM hourly_values h JOIN factors f ON f.id = h.factor_id
WHERE h.station_id = $1 AND h.ts = $2 AND h.valid AND h.value IS NOT NULL
  AND f.code = ANY($3::text[])
"""
#: One station's valid hourly values around the hour $2 (the last complete one): that
#: hour's value, the mean of the 24 hours ending with it and the mean of its local day
#: so far (the day starts at $3), with the hours counted — the map popup's columns.
STATION_VALUES_SQL: Final = """
SELECT f.code,
       avg(h.value) FILTER (WHERE h.ts = $2) AS h1,
       avg(h.value) AS h24,
       count(*) AS n24,
       avg(h.value) FILTER (WHERE h.ts >= $3) AS day_mean,
       count(*) FILTER (WHERE h.ts >= $3) AS n_day
FROM hourly_values h JOIN factors f ON f.id = h.factor_id
WHERE h.station_id = $1 AND h.ts > $2 - interval '24 hours' AND h.ts <= $2
  AND h.valid AND h.value IS NOT NULL
GROUP BY f.code
"""
AREAS_SQL: Final = """
SELECT a.id, a.parent_id, a.level, a.code, a.name, a.centroid_lat, a.centroid_lon,
       CASE WHEN $2 THEN a.boundary END AS boundary
FROM areas a
WHERE ($1::int[] IS NULL OR a.id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($3::int IS NULL OR a.level = $3)
ORDER BY a.level, a.code
"""
REGIONS_SQL: Final = """
SELECT DISTINCT s.region FROM stations s
WHERE s.region <> ''
  AND ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
ORDER BY s.region
"""
#: Stations of the data scope (enabled ones), for the heat map and the analytics.
SCOPE_STATIONS_SQL: Final = """
SELECT COALESCE(array_agg(s.id ORDER BY s.id), '{}'::int[])
FROM stations s
WHERE s.enabled AND s.id IN (SELECT envgrid_scope_stations($1::int[]))
"""
#: Extent of the stations with coordinates in the data scope (NULL scope: all).
EXTENT_SQL: Final = """
SELECT min(s.lon) AS min_lon, min(s.lat) AS min_lat, max(s.lon) AS max_lon,
       max(s.lat) AS max_lat, count(*) AS n
FROM stations s
WHERE s.enabled AND s.lat IS NOT NULL AND s.lon IS NOT NULL
  AND ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
"""

_HEADER = 20  # array_send: ndim, flags, element oid, length, lower bound
_COPY_HEADER = 19  # binary COPY: signature (11), flags (4), header extension length (4)
_COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("l1", ">i4"),
        ("id", ">i4"),
        ("l2", ">i4"),
        ("seen", ">i8"),
        ("l3", ">i4"),
        ("stamp", ">i8"),
        ("l4", ">i4"),
        ("now", ">i8"),
    ]
)
_PG_EPOCH_S = 946_684_800  # 2000-01-01 in Unix seconds
_NEVER = np.iinfo(np.int64).min  # -infinity
_INT4 = np.dtype([("len", ">i4"), ("value", ">i4")])
_INT8 = np.dtype([("len", ">i4"), ("value", ">i8")])
_BOOL = np.dtype([("len", ">i4"), ("value", "u1")])


def _array(buf: bytes, dtype: np.dtype[Any], native: type) -> np.ndarray:
    """Elements of a one-dimensional, NULL-free array in binary format (empty arrays
    have a 12-byte header and no elements)."""
    if len(buf) <= _HEADER:
        return np.empty(0, dtype=native)
    values: np.ndarray = np.frombuffer(buf, dtype=dtype, offset=_HEADER)["value"]
    return values.astype(native)


def int_array(buf: bytes, *, wide: bool = False) -> np.ndarray:
    return _array(buf, _INT8 if wide else _INT4, np.int64)


def bool_array(buf: bytes) -> np.ndarray:
    return _array(buf, _BOOL, np.bool_)


async def registry(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch(REGISTRY_SQL))


async def selection(
    conn: asyncpg.Connection,
    scope: list[int] | None,
    *,
    st: str | None,
    region: str | None,
    area: int | None,
) -> np.ndarray:
    return int_array(await conn.fetchval(SELECTION_SQL, scope, st, region, area))


async def live_state(
    conn: asyncpg.Connection, online_window_s: int, station_ids: list[int] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, last data epoch s, latest-values stamp µs, online) of the stations given
    (None: every station)."""
    window = timedelta(seconds=online_window_s)
    if station_ids is None:
        return await _live_state_copy(conn, online_window_s)
    row = await conn.fetchrow(STATE_SOME_SQL, window, station_ids)
    assert row is not None
    return (
        int_array(row["ids"]),
        int_array(row["seen"], wide=True),
        int_array(row["stamps"], wide=True),
        bool_array(row["fresh"]),
    )


async def _live_state_copy(
    conn: asyncpg.Connection, online_window_s: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    chunks: list[bytes] = []

    async def sink(data: bytes) -> None:
        chunks.append(data)

    await conn.copy_from_query(STATE_COPY_SQL, output=sink, format="binary")
    buf = b"".join(chunks)
    count = (len(buf) - _COPY_HEADER - 2) // _COPY_ROW.itemsize
    rows = np.frombuffer(buf, dtype=_COPY_ROW, offset=_COPY_HEADER, count=max(count, 0))
    seen_us = rows["seen"].astype(np.int64)
    never = seen_us == _NEVER
    stamps = rows["stamp"].astype(np.int64)
    stamps[stamps == _NEVER] = 0
    now = rows["now"].astype(np.int64)
    fresh = ~never & (seen_us > now - online_window_s * 1_000_000)
    seen = np.where(never, 0, seen_us // 1_000_000 + _PG_EPOCH_S)
    return rows["id"].astype(np.int64), seen, stamps, fresh


async def latest_of(conn: asyncpg.Connection, station_ids: list[int]) -> list[asyncpg.Record]:
    return list(await conn.fetch(LATEST_SQL, station_ids))


async def air_factor_ids(db: asyncpg.Pool | asyncpg.Connection, codes: list[str]) -> dict[int, str]:
    return {r["id"]: r["code"] for r in await db.fetch(AIR_FACTOR_IDS_SQL, codes)}


async def hourly(
    db: asyncpg.Pool | asyncpg.Connection, hour: datetime, factor_ids: list[int]
) -> asyncpg.Record:
    row = await db.fetchrow(HOURLY_SQL, hour, factor_ids)
    assert row is not None
    return row


async def station_hourly(
    conn: asyncpg.Connection, station_id: int, hour: datetime, codes: list[str]
) -> dict[str, float]:
    rows = await conn.fetch(STATION_HOURLY_SQL, station_id, hour, codes)
    return {r["code"]: float(r["value"]) for r in rows}


async def areas(
    conn: asyncpg.Connection, scope: list[int] | None, *, boundary: bool, level: int | None
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(AREAS_SQL, scope, boundary, level)]


async def regions(conn: asyncpg.Connection, scope: list[int] | None) -> list[str]:
    return [r["region"] for r in await conn.fetch(REGIONS_SQL, scope)]


async def scope_station_ids(conn: asyncpg.Connection, scope: list[int]) -> list[int]:
    return list(await conn.fetchval(SCOPE_STATIONS_SQL, scope))


async def extent(conn: asyncpg.Connection, scope: list[int] | None) -> asyncpg.Record:
    row = await conn.fetchrow(EXTENT_SQL, scope)
    assert row is not None
    return row


async def station_values(
    conn: asyncpg.Connection, station_id: int, hour: datetime, day_start: datetime
) -> dict[str, dict[str, Any]]:
    """Per factor code: ``h1``, ``h24``, ``n24``, ``day_mean``, ``n_day`` (STATION_VALUES_SQL)."""
    rows = await conn.fetch(STATION_VALUES_SQL, station_id, hour, day_start)
    return {r["code"]: {k: r[k] for k in ("h1", "h24", "n24", "day_mean", "n_day")} for r in rows}
