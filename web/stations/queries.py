"""SQL of the stations module.  ``$n`` parameters only; scope is ``int[]`` (NULL = all)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg

from protocol.redact import mask_fields, mask_frame_text
from store.commands import masked_reply

IN_SCOPE_SQL: Final = """
SELECT s.id, s.mn, s.st FROM stations s
WHERE s.id = $1 AND ($2::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($2::int[])))
"""
MN_IN_SCOPE_SQL: Final = """
SELECT $1::int IN (SELECT envgrid_scope_stations($2::int[]))
"""
STATION_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.region, s.grid_id, g.name AS grid_name,
       s.expected_factors, s.rtd_interval, s.min_interval, s.enabled, s.edition, s.modbus_crc,
       s.address, s.attrs, s.area_class, s.created_at, s.updated_at, s.approved_at,
       s.password <> '' AS has_password, s.registered_edition, s.strict_edition,
       s.sm4_key IS NOT NULL AS has_sm4_key, s.sm4_key_created_at,
       COALESCE(st.connected, false) AS connected, st.peer, st.connected_at,
       st.disconnected_at, st.last_frame_at, st.last_data_at, st.last_data_time,
       COALESCE(st.latest, '{}'::jsonb) AS latest,
       (s.enabled AND st.last_data_at > now() - $3::interval) AS online
FROM stations s
LEFT JOIN station_state st ON st.station_id = s.id
LEFT JOIN areas g ON g.id = s.grid_id
WHERE s.id = $1 AND ($2::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($2::int[])))
"""
LIST_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.region, s.grid_id, s.enabled, s.edition,
       s.registered_edition, s.expected_factors, s.rtd_interval, s.min_interval, s.address,
       s.area_class, COALESCE(st.connected, false) AS connected, st.last_data_at,
       CASE WHEN NOT s.enabled THEN 'disabled'
            WHEN st.last_data_at > now() - $2::interval THEN 'online'
            ELSE 'offline' END AS status,
       count(*) OVER () AS total
FROM stations s LEFT JOIN station_state st ON st.station_id = s.id
WHERE ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
  AND ($3::text IS NULL OR strpos(lower(s.mn), lower($3)) > 0
                        OR strpos(lower(s.name), lower($3)) > 0)
  AND ($4::text IS NULL OR s.st = $4)
  AND ($5::text IS NULL OR s.region = $5)
  AND ($6::int IS NULL OR s.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$6]::int[])))
  AND ($7::text IS NULL OR $7 = CASE WHEN NOT s.enabled THEN 'disabled'
            WHEN st.last_data_at > now() - $2::interval THEN 'online' ELSE 'offline' END)
ORDER BY s.id
LIMIT $8 OFFSET $9
"""
MAINTENANCE_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.region, s.lat, s.lon, s.address,
       COALESCE(st.connected, false) AS connected, st.last_data_at, st.last_frame_at,
       COALESCE(st.last_data_at > now() - $2::interval, false) AS online,
       floor(EXTRACT(EPOCH FROM now() - st.last_data_at))::bigint AS silent_s,
       count(*) OVER () AS total
FROM stations s LEFT JOIN station_state st ON st.station_id = s.id
WHERE s.enabled
  AND ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
  AND ($3::text IS NULL OR strpos(lower(s.mn), lower($3)) > 0
                        OR strpos(lower(s.name), lower($3)) > 0)
  AND ($4::text IS NULL OR s.region = $4)
  AND ($5::text IS NULL
       OR ($5 = 'online') = COALESCE(st.last_data_at > now() - $2::interval, false))
ORDER BY COALESCE(st.last_data_at > now() - $2::interval, false), st.last_data_at NULLS FIRST,
         s.id
LIMIT $6 OFFSET $7
"""
FACTORS_SQL: Final = "SELECT id, code, name_zh, name_en, unit, grp FROM factors ORDER BY code"

#: Raw values of one station from the measurement table of ``$6`` (rtd, minute, hour or
#: day): one statement, each branch of the UNION ALL guarded by a constant condition on
#: ``$6`` that PostgreSQL checks once (a one-time filter), so only one table is read; the
#: station and time conditions are pushed down into that branch.
RAW_SERIES_SQL: Final = """
SELECT f.code, m.ts, m.value, m.flag
FROM (
    SELECT station_id, factor_id, ts, value, flag FROM measurements_rtd WHERE $6::text = 'rtd'
    UNION ALL
    SELECT station_id, factor_id, ts, value, flag FROM measurements_minute WHERE $6 = 'minute'
    UNION ALL
    SELECT station_id, factor_id, ts, value, flag FROM measurements_hour WHERE $6 = 'hour'
    UNION ALL
    SELECT station_id, factor_id, ts, value, flag FROM measurements_day WHERE $6 = 'day'
) m JOIN factors f ON f.id = m.factor_id
WHERE m.station_id = $1 AND m.ts >= $2 AND m.ts < $3
  AND ($4::text[] IS NULL OR f.code = ANY($4::text[]))
ORDER BY f.code COLLATE "C", m.ts
LIMIT $5
"""
#: Bucketed means of valid values ($5 bucket, $6 excluded flags) of the rtd or minute table
#: ($7, chosen as in RAW_SERIES_SQL), flagged counts and the most frequent excluded flag.
#: Grouped by factor id with hashing (no text sort of the 30,000 raw rows of a day); the
#: flag's mode is computed on the flagged rows only.
BUCKET_SERIES_SQL: Final = """
WITH m AS NOT MATERIALIZED (
    SELECT station_id, factor_id, ts, value, flag FROM measurements_rtd WHERE $7::text = 'rtd'
    UNION ALL
    SELECT station_id, factor_id, ts, value, flag FROM measurements_minute WHERE $7 = 'minute'
), b AS (
    SELECT m.factor_id, date_bin($5::interval, m.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS ts,
           avg(m.value) FILTER (WHERE m.flag IS NULL OR NOT m.flag = ANY($6::text[])) AS value,
           min(m.value) AS vmin, max(m.value) AS vmax, count(*) AS n,
           count(*) FILTER (WHERE m.flag = ANY($6::text[])) AS flagged
    FROM m
    WHERE m.station_id = $1 AND m.ts >= $2 AND m.ts < $3
      AND ($4::text[] IS NULL
           OR m.factor_id IN (SELECT id FROM factors WHERE code = ANY($4::text[])))
    GROUP BY 1, 2
), fl AS (
    SELECT m.factor_id, date_bin($5::interval, m.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS ts,
           mode() WITHIN GROUP (ORDER BY m.flag) AS flag
    FROM m
    WHERE m.station_id = $1 AND m.ts >= $2 AND m.ts < $3 AND m.flag = ANY($6::text[])
      AND ($4::text[] IS NULL
           OR m.factor_id IN (SELECT id FROM factors WHERE code = ANY($4::text[])))
    GROUP BY 1, 2
)
SELECT f.code, b.ts, b.value, b.vmin, b.vmax, b.n, b.flagged, fl.flag
FROM b JOIN factors f ON f.id = b.factor_id
LEFT JOIN fl ON fl.factor_id = b.factor_id AND fl.ts = b.ts
ORDER BY f.code COLLATE "C", b.ts
"""
PACKETS_SQL: Final = """
SELECT data_time, cn, pno, qn, flag, received_at, worker, raw,
       COALESCE(backfill, false) AS backfill, count(*) OVER () AS total
FROM packet_ledger
WHERE station_id = $1 AND data_time >= $2 AND data_time < $3
  AND ($4::int IS NULL OR cn = $4)
ORDER BY data_time DESC, received_at DESC
LIMIT $5 OFFSET $6
"""
EQUIPMENT_LATEST_SQL: Final = """
SELECT DISTINCT ON (device, field) device, field, value, ts, cn, received_at
FROM equipment_status
WHERE station_id = $1 AND ts >= $2
ORDER BY device, field, ts DESC
"""
EQUIPMENT_HISTORY_SQL: Final = """
SELECT ts, cn, device, field, value, received_at
FROM equipment_status WHERE station_id = $1 AND ts >= $2 AND ts < $3
ORDER BY ts DESC LIMIT $4
"""
COMMANDS_SQL: Final = """
SELECT c.id, c.cn, c.params, c.qn, c.status, c.qn_rtn, c.exe_rtn, c.created_by, c.created_at,
       c.sent_at, c.answered_at, c.finished_at, c.expires_at, c.error,
       (SELECT COALESCE(json_agg(json_build_object('received_at', r.received_at, 'cn', r.cn,
                                                   'fields', r.fields, 'raw', r.raw)
                                 ORDER BY r.id), '[]'::json)
          FROM command_replies r WHERE r.command_id = c.id) AS replies,
       count(*) OVER () AS total
FROM station_commands c WHERE c.station_id = $1
ORDER BY c.id DESC LIMIT $2 OFFSET $3
"""
COMMAND_IN_SCOPE_SQL: Final = """
SELECT c.station_id FROM station_commands c
WHERE c.id = $1
  AND ($2::int[] IS NULL OR c.station_id IN (SELECT envgrid_scope_stations($2::int[])))
"""
AREA_EXISTS_SQL: Final = "SELECT EXISTS (SELECT 1 FROM areas WHERE id = $1)"


async def in_scope(
    conn: asyncpg.Connection, station_id: int, scope: list[int] | None
) -> asyncpg.Record | None:
    return await conn.fetchrow(IN_SCOPE_SQL, station_id, scope)


async def is_in_scope(conn: asyncpg.Connection, station_id: int, scope: list[int]) -> bool:
    return bool(await conn.fetchval(MN_IN_SCOPE_SQL, station_id, scope))


async def station(
    conn: asyncpg.Connection, station_id: int, scope: list[int] | None, online_window_s: int
) -> dict[str, Any] | None:
    row = await conn.fetchrow(STATION_SQL, station_id, scope, timedelta(seconds=online_window_s))
    return None if row is None else dict(row)


#: The station listings: each one's statement and its filters, in the order of the
#: statement's parameters (after the scope and the online window, before limit and offset).
LISTINGS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "stations": (LIST_SQL, ("q", "st", "region", "area", "status")),
    "maintenance": (MAINTENANCE_SQL, ("q", "region", "status")),
}


async def station_listing(
    conn: asyncpg.Connection,
    listing: str,
    scope: list[int] | None,
    online_window_s: int,
    filters: Mapping[str, str | int | None],
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a listing of :data:`LISTINGS` (a missing filter is no filter)."""
    sql, names = LISTINGS[listing]
    window = timedelta(seconds=online_window_s)
    args = [filters.get(name) for name in names]
    return _strip_total(await conn.fetch(sql, scope, window, *args, limit, offset))


def _strip_total(rows: list[asyncpg.Record]) -> tuple[list[dict[str, Any]], int]:
    items = []
    total = 0
    for r in rows:
        item = dict(r)
        total = item.pop("total")
        items.append(item)
    return items, int(total)


async def factors(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(FACTORS_SQL)]


async def series(
    conn: asyncpg.Connection,
    kind: str,
    station_id: int,
    start: datetime,
    end: datetime,
    codes: list[str] | None,
    *,
    bucket_s: int,
    limit: int,
    excluded_flags: list[str],
) -> list[asyncpg.Record]:
    """The values of ``kind``'s table: raw (``bucket_s`` 0, at most ``limit`` rows) or in
    buckets of ``bucket_s`` seconds (``excluded_flags`` left out of the means)."""
    if not bucket_s:
        return list(await conn.fetch(RAW_SERIES_SQL, station_id, start, end, codes, limit, kind))
    bucket = timedelta(seconds=bucket_s)
    args = (station_id, start, end, codes, bucket, excluded_flags, kind)
    return list(await conn.fetch(BUCKET_SERIES_SQL, *args))


async def packets(
    conn: asyncpg.Connection,
    station_id: int,
    start: datetime,
    end: datetime,
    cn: int | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    rows = await conn.fetch(PACKETS_SQL, station_id, start, end, cn, limit, offset)
    packets, total = _strip_total(rows)
    for p in packets:  # frames stored before masking existed still hold the password
        p["raw"] = mask_frame_text(p["raw"])
    return packets, total


async def equipment(
    conn: asyncpg.Connection, station_id: int, start: datetime, end: datetime, limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    latest = await conn.fetch(EQUIPMENT_LATEST_SQL, station_id, start)
    history = await conn.fetch(EQUIPMENT_HISTORY_SQL, station_id, start, end, limit)
    return [dict(r) for r in latest], [dict(r) for r in history]


async def commands(
    conn: asyncpg.Connection, station_id: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = _strip_total(await conn.fetch(COMMANDS_SQL, station_id, limit, offset))
    for r in rows:
        r["params"] = mask_fields(r["params"])
        r["replies"] = [masked_reply(x) for x in r["replies"]]
    return rows, total


async def command_station(
    conn: asyncpg.Connection, command_id: int, scope: list[int] | None
) -> int | None:
    value = await conn.fetchval(COMMAND_IN_SCOPE_SQL, command_id, scope)
    return None if value is None else int(value)


async def area_exists(conn: asyncpg.Connection, area_id: int) -> bool:
    return bool(await conn.fetchval(AREA_EXISTS_SQL, area_id))
