"""SQL of the map module (``$n`` parameters only; ``$1`` is always the data scope)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import asyncpg

#: The map in one round trip: the station rows as JSON text built by PostgreSQL (no
#: per-row decoding in Python), the ids and data stamps (µs since the epoch) of the shown
#: rows in the same order (for the AQI cache), and the status counts of the unfiltered set.
MAP_SQL: Final = """
WITH base AS (
    SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.region, s.grid_id,
           CASE WHEN NOT s.enabled THEN 'disabled'
                WHEN st.last_data_at > now() - $2::interval THEN 'online'
                ELSE 'offline' END AS status,
           st.last_data_at, st.last_data_time
    FROM stations s LEFT JOIN station_state st ON st.station_id = s.id
    WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL
      AND ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
      AND ($3::text IS NULL OR s.st = $3)
      AND ($4::text IS NULL OR s.region = $4)
      AND ($5::int IS NULL
           OR s.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$5]::int[])))
), shown AS (
    SELECT * FROM base WHERE $6::text IS NULL OR status = $6
)
SELECT
    (SELECT count(*) FROM base WHERE status = 'online') AS online,
    (SELECT count(*) FROM base WHERE status = 'offline') AS offline,
    (SELECT count(*) FROM base WHERE status = 'disabled') AS disabled,
    (SELECT COALESCE(json_agg(json_build_array(
                id, mn, name, st, lat, lon, region, grid_id, status,
                floor(extract(epoch FROM last_data_at))::bigint) ORDER BY id), '[]')
       FROM shown)::text AS rows,
    (SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM shown) AS ids,
    (SELECT COALESCE(array_agg(CASE WHEN status = 'online'
                        THEN (extract(epoch FROM last_data_time) * 1000000)::bigint END
                      ORDER BY id), '{}') FROM shown) AS stamps
"""
LATEST_SQL: Final = """
SELECT station_id, (extract(epoch FROM last_data_time) * 1000000)::bigint AS stamp, latest
FROM station_state WHERE station_id = ANY($1::int[])
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


async def map_rows(
    conn: asyncpg.Connection,
    scope: list[int] | None,
    online_window_s: int,
    *,
    st: str | None,
    region: str | None,
    area: int | None,
    status: str | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        MAP_SQL, scope, timedelta(seconds=online_window_s), st, region, area, status
    )
    assert row is not None
    return row


async def latest_of(conn: asyncpg.Connection, station_ids: list[int]) -> list[asyncpg.Record]:
    return list(await conn.fetch(LATEST_SQL, station_ids))


async def areas(
    conn: asyncpg.Connection, scope: list[int] | None, *, boundary: bool, level: int | None
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(AREAS_SQL, scope, boundary, level)]


async def regions(conn: asyncpg.Connection, scope: list[int] | None) -> list[str]:
    return [r["region"] for r in await conn.fetch(REGIONS_SQL, scope)]
