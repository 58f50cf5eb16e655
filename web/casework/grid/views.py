"""Reads and edits of the grid pages and API, in the caller's data scope.

Scope: every read passes the caller's scope (area ids, None = everything) to SQL; an area
outside it is "not found".  Edits of an area need it inside the scope; edits of the
whole hierarchy (GeoJSON import, point-in-polygon re-assignment, units) need an
unrestricted caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from web.casework.grid import queries as q
from web.casework.kernel import people, tree
from web.casework.kernel.errors import GridError, WorkflowError

__all__ = [
    "PersonPatch",
    "area_detail",
    "grid_map",
    "require_area",
    "require_unscoped",
    "update_person",
]


async def require_area(conn: asyncpg.Connection, area_id: int, scope: Sequence[int] | None) -> None:
    """The area exists and lies in the scope, else WorkflowError (not_found / scope)."""
    if await q.get_area(conn, area_id) is None:
        raise WorkflowError(f"区域 {area_id} 不存在", "not_found")
    if not await q.area_in_scope(conn, area_id, scope):
        raise WorkflowError(f"区域 {area_id} 不在您的管辖范围内", "scope")


def require_unscoped(scope: Sequence[int] | None, what: str) -> None:
    if scope is not None:
        raise WorkflowError(f"{what}需要全域数据范围（当前账号限定了管辖区域）", "scope")


async def area_detail(
    conn: asyncpg.Connection,
    area_id: int,
    scope: Sequence[int] | None,
    *,
    now: datetime,
    level_names: Sequence[str],
    limit: int = 500,
) -> dict[str, Any]:
    """The area with its breadcrumb, children, people, units, stations, points, counters."""
    await require_area(conn, area_id, scope)
    row = await q.get_area(conn, area_id)
    if row is None:
        raise WorkflowError(f"区域 {area_id} 不存在", "not_found")
    area = dict(row)
    area["level_name"] = level_names[area["level"] - 1]
    trail = [dict(r) for r in reversed(await tree.ancestors(conn, area_id))]
    children = [dict(r) for r in await q.scoped_areas(conn, scope, None, area_id, False)]
    staff = [dict(r) for r in await people.area_people(conn, area_id)]
    units = [dict(r) for r in await q.area_units(conn, area_id)]
    effective: dict[str, dict[str, Any]] = {}
    for u in units:  # nearest area wins per category
        effective.setdefault(u["category"], u)
    stations = [dict(r) for r in await q.area_stations(conn, area_id, limit)]
    points = [dict(r) for r in await q.area_points(conn, area_id, limit)]
    counts = dict(await q.area_counts(conn, area_id, now))
    return {
        **area,
        "ancestors": trail[:-1],
        "children": children,
        "people": staff,
        "units": list(effective.values()),
        "stations": stations,
        "points": points,
        "counts": counts,
    }


async def grid_map(
    conn: asyncpg.Connection,
    scope: Sequence[int] | None,
    *,
    area: int | None,
    min_level: int,
    now: datetime,
    max_cases: int = 2000,
) -> bytes:
    """The map layers as one JSON document, assembled from JSON texts built in SQL."""
    if area is not None:
        await require_area(conn, area, scope)
    areas = str(await q.map_areas(conn, scope, area, min_level))
    stations = str(await q.map_stations(conn, scope, area))
    points = str(await q.map_points(conn, scope, area))
    cases = str(await q.map_cases(conn, scope, area, now, max_cases))
    return (
        '{"areas":'
        + areas
        + ',"stations":{"columns":["id","name","lat","lon","grid_id","st","enabled"],"rows":'
        + stations
        + '},"points":{"columns":["id","code","name","lat","lon","grid_id","kind"],"rows":'
        + points
        + '},"cases":{"columns":["id","code","title","lat","lon","state","urgent","overdue",'
        '"grid_id","supervised"],"rows":' + cases + "}}"
    ).encode()


@dataclass(frozen=True, slots=True)
class PersonPatch:
    name: str | None = None
    phone: str | None = None
    #: (set?, value) pairs: set=False leaves the column alone; value None clears it.
    unit: tuple[bool, int | None] = (False, None)
    user_name: tuple[bool, str | None] = (False, None)
    receiver: tuple[bool, int | None] = (False, None)
    active: bool | None = None


async def update_person(conn: asyncpg.Connection, person_id: int, patch: PersonPatch) -> None:
    try:
        found = await q.update_person(
            conn,
            person_id,
            patch.name,
            patch.phone,
            patch.unit[0],
            patch.unit[1],
            patch.user_name[0],
            patch.user_name[1],
            patch.receiver[0],
            patch.receiver[1],
            patch.active,
        )
    except asyncpg.ForeignKeyViolationError:
        raise GridError("所填的单位、登录账号或通知渠道不存在") from None
    except asyncpg.UniqueViolationError:
        raise GridError("该登录账号已关联其他人员") from None
    except asyncpg.CheckViolationError:
        raise GridError("单位人员须指定所属单位") from None
    if found is None:
        raise WorkflowError(f"人员 {person_id} 不存在", "not_found")
