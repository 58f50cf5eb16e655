"""SQL of the dashboard's data audit (reads only; the actions are aggregates.audit's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

#: Official hours of station ``$1`` in [``$2``, ``$3``), factors ``$4`` (NULL: all).
HOURS_SQL: Final = """
SELECT f.code, f.name_zh, f.unit, h.ts, h.value, h.valid, h.raw_valid, h.audited,
       h.audit_reason, h.source
FROM hourly_values h JOIN factors f ON f.id = h.factor_id
WHERE h.station_id = $1 AND h.ts >= $2 AND h.ts < $3
  AND ($4::text[] IS NULL OR f.code = ANY($4::text[]))
ORDER BY f.code, h.ts
"""


async def hours(
    conn: asyncpg.Connection,
    station_id: int,
    start: datetime,
    end: datetime,
    codes: list[str] | None,
) -> list[dict[str, Any]]:
    """Per factor: name, unit and the hours (``ts``, ``value``, ``valid`` audited,
    ``raw_valid`` before the audit, ``audited``, ``reason``)."""
    out: dict[str, dict[str, Any]] = {}
    for r in await conn.fetch(HOURS_SQL, station_id, start, end, codes):
        item = out.setdefault(
            r["code"], {"code": r["code"], "name": r["name_zh"], "unit": r["unit"], "hours": []}
        )
        item["hours"].append(
            {
                "ts": r["ts"],
                "value": r["value"],
                "valid": r["valid"],
                "raw_valid": r["raw_valid"],
                "audited": r["audited"],
                "reason": r["audit_reason"],
                "source": r["source"],
            }
        )
    return list(out.values())
