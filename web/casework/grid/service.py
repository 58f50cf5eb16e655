"""Grid services: hierarchy and data scope, units and people, assignment with history,
point-in-polygon location.

Every function takes an asyncpg connection (or pool where it opens its own transaction)
and returns plain dataclasses / ids.  Data scope: a user scoped to an area sees that area
and all its descendants — :func:`scope_area_ids` is the one call the web layer needs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg

from web.casework.grid import queries as q
from web.casework.grid.geo import GeoError, GridIndex, parse_polygon

__all__ = [
    "ENTITIES",
    "AssignReport",
    "Assignment",
    "GridError",
    "GridIndexCache",
    "Person",
    "ancestors",
    "area_people",
    "assign",
    "assign_by_location",
    "assignment_history",
    "create_area",
    "create_person",
    "create_point",
    "create_unit",
    "duty_people",
    "get_person",
    "load_grid_index",
    "person_by_user",
    "remove_duty",
    "responsible_unit",
    "role_people",
    "scope_area_ids",
    "set_area_unit",
    "set_duty",
    "unit_people",
]

log = logging.getLogger(__name__)

Entity = Literal["station", "patrol_point", "case"]
Method = Literal["location", "manual", "import"]
Duty = Literal["head", "member", "supervisor"]
ENTITIES: Final = ("station", "patrol_point", "case")
_ENTITY_SQL: Final = {
    "station": (q.STATION_GRID_SQL, q.SET_STATION_GRID_SQL, "站点"),
    "patrol_point": (q.POINT_GRID_SQL, q.SET_POINT_GRID_SQL, "巡查点"),
    "case": (q.CASE_GRID_SQL, q.SET_CASE_GRID_SQL, "案件"),
}
_ROLES: Final = ("admin", "officer", "unit", "grid_member", "viewer")
_DUTIES: Final = ("head", "member", "supervisor")


class GridError(ValueError):
    """Refused grid operation; the message (Chinese) says why."""


# -- hierarchy --------------------------------------------------------------------------


async def scope_area_ids(conn: asyncpg.Connection, roots: Iterable[int]) -> frozenset[int]:
    """The roots and all their descendants (a district → its streets, communities, grids)."""
    ids = sorted(set(roots))
    if not ids:
        return frozenset()
    rows = await conn.fetch(q.DESCENDANT_IDS_SQL, ids)
    return frozenset(r["id"] for r in rows)


async def ancestors(conn: asyncpg.Connection, area_id: int) -> list[asyncpg.Record]:
    """The area itself, then its parent … up to the city (id, parent_id, level, code, name)."""
    return list(await conn.fetch(q.ANCESTORS_SQL, area_id))


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
        parent = await conn.fetchrow(q.GET_AREA_SQL, parent_id)
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
        await conn.fetchval(
            q.INSERT_AREA_SQL, parent_id, level, code, name, boundary, lat, lon, attrs or {}
        )
    )


# -- units and people ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    phone: str
    role: str
    unit_id: int | None
    user_name: str | None
    active: bool

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> Person:
        return cls(
            r["id"], r["name"], r["phone"], r["role"], r["unit_id"], r["user_name"], r["active"]
        )


async def create_unit(
    conn: asyncpg.Connection, code: str, name: str, *, kind: str = "department", phone: str = ""
) -> int:
    try:
        return int(await conn.fetchval(q.INSERT_UNIT_SQL, code, name, kind, phone))
    except asyncpg.UniqueViolationError:
        raise GridError(f"单位编码 {code} 已存在") from None


async def create_person(
    conn: asyncpg.Connection,
    name: str,
    role: str,
    *,
    phone: str = "",
    unit_id: int | None = None,
    user_name: str | None = None,
) -> int:
    """A grid person; ``role`` is the workflow role (admin/officer/unit/grid_member/viewer)."""
    if role not in _ROLES:
        raise GridError(f"角色须为 {'/'.join(_ROLES)} 之一（收到 {role!r}）")
    if role == "unit" and unit_id is None:
        raise GridError("单位人员须指定所属单位")
    try:
        return int(await conn.fetchval(q.INSERT_PERSON_SQL, name, phone, role, unit_id, user_name))
    except asyncpg.UniqueViolationError:
        raise GridError(f"登录名 {user_name} 已关联其他人员") from None


async def get_person(conn: asyncpg.Connection, person_id: int) -> Person | None:
    row = await conn.fetchrow(q.GET_PERSON_SQL, person_id)
    return Person.from_record(row) if row else None


async def person_by_user(conn: asyncpg.Connection, user_name: str) -> Person | None:
    """The grid person linked to a dashboard login (the web layer's entry point)."""
    row = await conn.fetchrow(q.PERSON_BY_USER_SQL, user_name)
    return Person.from_record(row) if row else None


async def set_duty(conn: asyncpg.Connection, area_id: int, person_id: int, duty: Duty) -> None:
    """Make the person grid head / member / supervisor of the area."""
    if duty not in _DUTIES:
        raise GridError(f"职责须为 head/member/supervisor 之一（收到 {duty!r}）")
    await conn.execute(q.SET_DUTY_SQL, area_id, person_id, duty)


async def remove_duty(conn: asyncpg.Connection, area_id: int, person_id: int, duty: Duty) -> bool:
    return str(await conn.execute(q.REMOVE_DUTY_SQL, area_id, person_id, duty)) != "DELETE 0"


async def area_people(
    conn: asyncpg.Connection, area_id: int, duty: Duty | None = None
) -> list[asyncpg.Record]:
    """(id, name, phone, role, duty) of the people with a duty in the area."""
    return list(await conn.fetch(q.AREA_PEOPLE_SQL, area_id, duty))


async def duty_people(conn: asyncpg.Connection, area_id: int, duty: Duty) -> list[int]:
    """Ids of people with ``duty`` in the area, else in its nearest ancestor that has some."""
    return [r["id"] for r in await conn.fetch(q.NEAREST_DUTY_PEOPLE_SQL, area_id, duty)]


async def unit_people(conn: asyncpg.Connection, unit_id: int) -> list[int]:
    return [r["id"] for r in await conn.fetch(q.UNIT_PEOPLE_SQL, unit_id)]


async def role_people(conn: asyncpg.Connection, role: str) -> list[int]:
    return [r["id"] for r in await conn.fetch(q.ROLE_PEOPLE_SQL, role)]


async def set_area_unit(
    conn: asyncpg.Connection, area_id: int, unit_id: int, category: str = "*"
) -> None:
    """The unit responsible for ``category`` cases in the area ('*' = every category)."""
    await conn.execute(q.SET_AREA_UNIT_SQL, area_id, category, unit_id)


async def responsible_unit(conn: asyncpg.Connection, area_id: int, category: str) -> int | None:
    """The unit cases of ``category`` in the area go to, walking up the hierarchy.

    An exact category mapping anywhere above beats a '*' mapping; nearer areas win ties.
    """
    value = await conn.fetchval(q.RESPONSIBLE_UNIT_SQL, area_id, category)
    return int(value) if value is not None else None


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
        return int(await conn.fetchval(q.INSERT_POINT_SQL, code, name, kind, lat, lon, station_id))
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
    try:
        select_sql, update_sql, label = _ENTITY_SQL[entity]
    except KeyError:
        raise GridError(f"未知的对象类型 {entity!r}") from None
    async with conn.transaction():
        row = await conn.fetchrow(select_sql, entity_id)
        if row is None:
            raise GridError(f"{label} {entity_id} 不存在")
        current = await conn.fetchrow(q.CURRENT_ASSIGNMENT_SQL, entity, entity_id)
        if current is not None and current["area_id"] == area_id == row["grid_id"]:
            return False
        if current is None and row["grid_id"] == area_id and area_id is None:
            return False
        await conn.execute(q.CLOSE_ASSIGNMENT_SQL, entity, entity_id, now)
        await conn.execute(
            q.INSERT_ASSIGNMENT_SQL, entity, entity_id, area_id, method, by, reason, now
        )
        if row["grid_id"] != area_id:
            await conn.execute(update_sql, entity_id, area_id)
    return True


async def assignment_history(
    conn: asyncpg.Connection, entity: Entity, entity_id: int
) -> list[Assignment]:
    rows = await conn.fetch(q.ASSIGNMENT_HISTORY_SQL, entity, entity_id)
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
    for r in await conn.fetch(q.INDEX_AREAS_SQL):
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
        row = await conn.fetchrow(q.INDEX_SIGNATURE_SQL)
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
    sql = q.STATION_POSITIONS_SQL if entity == "station" else q.POINT_POSITIONS_SQL
    assigned = unchanged = 0
    outside: list[int] = []
    for r in await conn.fetch(sql, reassign):
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
