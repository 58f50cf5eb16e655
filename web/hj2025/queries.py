"""SQL of the HJ 212-2025 views (parameters only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

from protocol.factors import factor_names

RECORDS_SQL: Final = """
SELECT cn, code, ts, value, fields, received_at, backfill, count(*) OVER () AS total
FROM records_2025
WHERE station_id = $1 AND ts >= $2 AND ts < $3
  AND ($4::int IS NULL OR cn = $4) AND ($5::text IS NULL OR code = $5)
ORDER BY ts DESC, cn, code
LIMIT $6 OFFSET $7
"""
STATION_EDITION_SQL: Final = """
SELECT COALESCE(registered_edition, edition) FROM stations WHERE id = $1
"""


async def records(
    conn: asyncpg.Connection,
    station_id: int,
    start: datetime,
    end: datetime,
    cn: int | None,
    code: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int, str | None]:
    """One page of the station's 2025 records (newest first), each with the factor's name
    as the station's edition names it; the total and that edition."""
    edition = await conn.fetchval(STATION_EDITION_SQL, station_id)
    rows = await conn.fetch(RECORDS_SQL, station_id, start, end, cn, code, limit, offset)
    items: list[dict[str, Any]] = []
    total = 0
    for row in rows:
        item = dict(row)
        total = int(item.pop("total"))
        names = factor_names(item["code"], edition)
        item["name_zh"], item["name_en"] = names if names is not None else ("", "")
        items.append(item)
    return items, total, edition
