"""SQL of the rankings module (``$n`` parameters only)."""

from __future__ import annotations

from typing import Any, Final

import asyncpg

#: The enabled stations of a data scope (the analytics rank only these).
SCOPE_STATIONS_SQL: Final = """
SELECT COALESCE(array_agg(s.id ORDER BY s.id), '{}'::int[])
FROM stations s
WHERE s.enabled AND s.id IN (SELECT envgrid_scope_stations($1::int[]))
"""
FACTOR_SQL: Final = "SELECT code, name_zh, unit FROM factors WHERE code = $1"


async def scope_station_ids(conn: asyncpg.Connection, scope: list[int]) -> list[int]:
    return list(await conn.fetchval(SCOPE_STATIONS_SQL, scope))


async def factor(conn: asyncpg.Connection, code: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(FACTOR_SQL, code)
    return None if row is None else dict(row)
