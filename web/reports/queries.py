"""SQL of the reports module (``$n`` parameters only)."""

from __future__ import annotations

from typing import Final

import asyncpg

#: The stations a report covers ($1 scope kind, $2 key: MN, region, area code) — how
#: ``aggregates.reports`` resolves them (a station by MN, enabled or not; the enabled
#: stations of a region; the enabled stations whose grid cell lies below an area) — and
#: how many of them are outside the data scope $3 (NULL: no restriction).
ENTITY_SQL: Final = """
WITH e AS (
    SELECT s.id FROM stations s
    WHERE ($1 = 'station' AND s.mn = $2)
       OR ($1 = 'region' AND s.enabled AND s.region = $2)
       OR ($1 = 'grid' AND s.enabled AND s.grid_id IN (
              SELECT id FROM envgrid_scope_areas(ARRAY(SELECT a.id FROM areas a
                                                       WHERE a.code = $2))))
)
SELECT count(*) AS n,
       count(*) FILTER (WHERE $3::int[] IS NOT NULL
                          AND e.id NOT IN (SELECT envgrid_scope_stations($3::int[])))
           AS outside
FROM e
"""
KNOWN_FACTORS_SQL: Final = "SELECT code FROM factors WHERE code = ANY($1::text[])"


async def entity(
    conn: asyncpg.Connection, scope: str, key: str, data_scope: list[int] | None
) -> tuple[int, int]:
    row = await conn.fetchrow(ENTITY_SQL, scope, key, data_scope)
    assert row is not None
    return int(row["n"]), int(row["outside"])


async def known_factors(conn: asyncpg.Connection, codes: list[str]) -> set[str]:
    return {r["code"] for r in await conn.fetch(KNOWN_FACTORS_SQL, codes)}
