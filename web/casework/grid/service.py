"""Grid services: hierarchy and data scope, units and people, assignment with history,
point-in-polygon location.

Every function takes an asyncpg connection (or pool where it opens its own transaction)
and returns plain dataclasses / ids.  Data scope: a user scoped to an area sees that area
and all its descendants — :func:`scope_area_ids` is the one call the web layer needs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg

from web.casework.grid import queries as q
from web.casework.grid.geo import GeoError, GridIndex, parse_polygon
from web.casework.kernel.errors import GridError

__all__ = [
    "AssignReport",
    "Assignment",
    "GridIndexCache",
    "assign",
    "assign_by_location",
    "assignment_history",
    "create_area",
    "create_point",
    "load_grid_index",
]

log = logging.getLogger(__name__)

Entity = Literal["station", "patrol_point", "case"]
Method = Literal["location", "manual", "import"]


_LABELS: Final = {"station": "站点", "patrol_point": "巡查点", "case": "案件"}


# -- hierarchy --------------------------------------------------------------------------


async def create_area(
    conn: asyncpg.Connection,
    *,
    code: str,
    name: str,
    level: int,
    parent_id: int | None = None,
    boundary: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
) -> int:
    """Insert one area (checks the level against the parent's); returns its id."""
    if not 1 <= level <= 5:
        raise GridError(f"层级须为 1–5（收到 {level}）")
    if parent_id is not None:
        parent = await q.get_area(conn, parent_id)
        if parent is None:
            raise GridError(f"上级区域 {parent_id} 不存在")
        if parent["level"] != level - 1:
            raise GridError(f"上级区域层级为 {parent['level']}，下级须为 {parent['level'] + 1}")
    elif level != 1:
        raise GridError("只有第 1 级（市）可以没有上级区域")
    lat = lon = None
    if boundary is not None:
        try:
            geom = parse_polygon(boundary, f"区域 {code} 的边界")
        except GeoError as exc:
            raise GridError(str(exc)) from None
        centre = geom.representative_point()
        lat, lon = centre.y, centre.x
    return int(
        await q.insert_area(conn, parent_id, level, code, name, boundary, lat, lon, attrs or {})
    )


# -- units and people ---------------------------------------------------------------------


async def create_point(
    conn: asyncpg.Connection,
    code: str,
    name: str,
    lat: float,
    lon: float,
    *,
    kind: str = "",
    station_id: int | None = None,
) -> int:
    try:
        return int(await q.insert_point(conn, code, name, kind, lat, lon, station_id))
    except asyncpg.UniqueViolationError:
        raise GridError(f"巡查点编码 {code} 已存在") from None


# -- assignment with history ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    area_id: int | None
    area_code: str | None
    area_name: str | None
    method: str
    assigned_by: str
    reason: str
    valid_from: datetime
    valid_to: datetime | None


async def assign(
    conn: asyncpg.Connection,
    entity: Entity,
    entity_id: int,
    area_id: int | None,
    *,
    method: Method,
    now: datetime,
    by: str = "",
    reason: str = "",
) -> bool:
    """Put a station / patrol point / case in a grid (None = none); keeps the history.

    Runs in its own transaction (nested in the caller's if any).  Returns False when the
    entity already was in that grid (nothing recorded).
    """
    if entity not in _LABELS:
        raise GridError(f"未知的对象类型 {entity!r}")
    async with conn.transaction():
        row = await q.lock_entity_grid(conn, entity, entity_id)
        if row is None:
            raise GridError(f"{_LABELS[entity]} {entity_id} 不存在")
        current = await q.current_assignment(conn, entity, entity_id)
        if current is not None and current["area_id"] == area_id == row["grid_id"]:
            return False
        if current is None and row["grid_id"] == area_id and area_id is None:
            return False
        await q.close_assignment(conn, entity, entity_id, now)
        await q.insert_assignment(conn, entity, entity_id, area_id, method, by, reason, now)
        if row["grid_id"] != area_id:
            await q.set_entity_grid(conn, entity, entity_id, area_id)
    return True


async def assignment_history(
    conn: asyncpg.Connection, entity: Entity, entity_id: int
) -> list[Assignment]:
    rows = await q.assignment_history(conn, entity, entity_id)
    return [
        Assignment(
            r["area_id"],
            r["area_code"],
            r["area_name"],
            r["method"],
            r["assigned_by"],
            r["reason"],
            r["valid_from"],
            r["valid_to"],
        )
        for r in rows
    ]


# -- point in polygon -------------------------------------------------------------------------


async def load_grid_index(conn: asyncpg.Connection) -> GridIndex:
    """A :class:`GridIndex` over every area with a boundary (bad boundaries are logged)."""
    entries = []
    for r in await q.index_areas(conn):
        try:
            entries.append((r["id"], r["level"], parse_polygon(r["boundary"])))
        except GeoError as exc:
            log.warning("area %s skipped in the grid index: %s", r["id"], exc)
    return GridIndex(entries)


class GridIndexCache:
    """Holds a :class:`GridIndex` and rebuilds it when the areas change.

    One instance per process, owned by the caller (an AppKey in the web app) — no module
    state.  The check is one cheap query (count and latest ``updated_at`` of the areas).
    """

    __slots__ = ("_index", "_signature")

    def __init__(self) -> None:
        self._index: GridIndex | None = None
        self._signature: tuple[Any, ...] | None = None

    async def get(self, conn: asyncpg.Connection) -> GridIndex:
        row = await q.index_signature(conn)
        signature = (row[0], row[1])
        if self._index is None or signature != self._signature:
            self._index = await load_grid_index(conn)
            self._signature = signature
        return self._index


@dataclass(frozen=True, slots=True)
class AssignReport:
    assigned: int
    unchanged: int
    #: Ids whose position lies in no grid.
    outside: Sequence[int]


async def assign_by_location(
    conn: asyncpg.Connection,
    entity: Literal["station", "patrol_point"],
    *,
    now: datetime,
    index: GridIndex | None = None,
    reassign: bool = False,
    by: str = "system",
) -> AssignReport:
    """Put stations / patrol points in the grid that contains them.

    ``reassign=False`` only handles those without a grid; ``True`` re-checks all of them
    (moved boundaries) — a changed grid closes the old history row.
    """
    index = index or await load_grid_index(conn)
    assigned = unchanged = 0
    outside: list[int] = []
    for r in await q.entity_positions(conn, entity, reassign):
        area_id = index.locate(r["lon"], r["lat"])
        if area_id is None:
            outside.append(r["id"])
            continue
        if area_id == r["grid_id"]:
            unchanged += 1
            continue
        await assign(conn, entity, r["id"], area_id, method="location", now=now, by=by)
        assigned += 1
    return AssignReport(assigned, unchanged, tuple(outside))
