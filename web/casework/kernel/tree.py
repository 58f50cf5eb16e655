"""The area tree (市 → 区县 → 街道 → 社区 → 网格) and data scope: a user scoped to an area
sees that area and all its descendants.  In SQL the scope is one condition,
:func:`web.casework.kernel.queries.in_scope` (the database function
``envgrid_scope_areas``); :func:`scope_area_ids` is the same set in Python."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from web.casework.kernel import queries as q

__all__ = ["ancestors", "scope_area_ids"]


async def scope_area_ids(conn: asyncpg.Connection, roots: Iterable[int]) -> frozenset[int]:
    """The roots and all their descendants (a district → its streets, communities, grids)."""
    ids = sorted(set(roots))
    if not ids:
        return frozenset()
    rows = await q.descendant_ids(conn, ids)
    return frozenset(r["id"] for r in rows)


async def ancestors(conn: asyncpg.Connection, area_id: int) -> list[asyncpg.Record]:
    """The area itself, then its parent … up to the city (id, parent_id, level, code, name)."""
    return list(await q.ancestors(conn, area_id))
