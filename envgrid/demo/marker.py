"""The list of what the demo created (table ``demo_objects``, migration 0069).

Every row ``envgrid demo load`` creates in a table of its own is recorded here by kind and
id, in the same transaction that creates it; ``envgrid demo clear`` deletes exactly these
rows (and what hangs off them) and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import asyncpg

__all__ = ["KINDS", "Kind", "demo_ids", "real_stations", "record"]

Kind = Literal[
    "area", "unit", "person", "user", "station", "point", "plan", "case", "hazard", "alert"
]
KINDS: Final[tuple[Kind, ...]] = (
    "area", "unit", "person", "user", "station", "point", "plan", "case", "hazard", "alert",
)  # fmt: skip

RECORD_SQL: Final = """
INSERT INTO demo_objects (kind, id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING
"""
IDS_SQL: Final = "SELECT id FROM demo_objects WHERE kind = $1 ORDER BY id"
REAL_STATIONS_SQL: Final = """
SELECT count(*) FROM stations s
WHERE NOT EXISTS (SELECT FROM demo_objects d WHERE d.kind = 'station' AND d.id = s.id)
"""


async def record(conn: asyncpg.Connection, kind: Kind, ids: Iterable[int]) -> None:
    """Remember rows the demo created."""
    await conn.execute(RECORD_SQL, kind, list(ids))


async def demo_ids(conn: asyncpg.Connection, kind: Kind) -> list[int]:
    return [int(r["id"]) for r in await conn.fetch(IDS_SQL, kind)]


async def real_stations(conn: asyncpg.Connection) -> int:
    """How many stations the demo did not create."""
    return int(await conn.fetchval(REAL_STATIONS_SQL))
