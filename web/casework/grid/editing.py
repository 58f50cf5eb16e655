"""Areas drawn and edited in the dashboard: create, rename, redraw, move under another
parent — each boundary checked by :func:`web.casework.grid.shapes.boundary_problems`
(valid, no holes, inside the parent, no overlap with a sibling, still holding its
children) before anything is written.  Refusals are :class:`GridError` with every
problem in one Chinese message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from shapely.geometry.base import BaseGeometry

from web.casework.grid import queries as q
from web.casework.grid import service
from web.casework.grid.geo import GeoError, parse_polygon
from web.casework.grid.shapes import Neighbour, boundary_problems
from web.casework.kernel.errors import GridError

__all__ = ["AreaPatch", "add_area", "edit_area"]


def _geometry(boundary: Any, what: str) -> BaseGeometry:
    try:
        return parse_polygon(boundary, what)
    except GeoError as exc:
        raise GridError(str(exc)) from None


def _stored(row: Any) -> Neighbour | None:
    """A stored area as a :class:`Neighbour` (None without a usable boundary)."""
    if row is None or row["boundary"] is None:
        return None
    try:
        return Neighbour(row["code"], row["name"], parse_polygon(row["boundary"]))
    except GeoError:
        return None  # a broken stored boundary does not block editing its neighbours


async def _check(
    conn: asyncpg.Connection,
    geom: BaseGeometry,
    what: str,
    *,
    parent_id: int | None,
    self_id: int | None,
) -> None:
    parent = _stored(await q.get_area(conn, parent_id)) if parent_id is not None else None
    siblings: list[Neighbour] = []
    children: list[Neighbour] = []
    for r in await q.neighbour_areas(conn, parent_id, self_id):
        n = _stored(r)
        if n is not None:
            (siblings if r["kind"] == "sibling" else children).append(n)
    problems = boundary_problems(geom, parent=parent, siblings=siblings, children=children)
    if problems:
        raise GridError(f"{what}：" + "；".join(problems))


async def add_area(
    conn: asyncpg.Connection,
    *,
    code: str,
    name: str,
    level: int,
    parent_id: int | None,
    boundary: dict[str, Any] | None,
) -> int:
    """Create an area (boundary optional) after the checks; returns its id."""
    what = f"区域 {code}（{name}）"
    if boundary is not None:
        await _check(conn, _geometry(boundary, f"{what}的边界"), what, parent_id=parent_id,
                     self_id=None)  # fmt: skip
    try:
        return await service.create_area(
            conn, code=code, name=name, level=level, parent_id=parent_id, boundary=boundary
        )
    except asyncpg.UniqueViolationError:
        raise GridError(f"区域编码 {code} 已存在") from None


@dataclass(frozen=True, slots=True)
class AreaPatch:
    """What changes (None: unchanged).  ``boundary``: (given, value) — value None clears."""

    name: str | None = None
    parent_id: int | None = None
    boundary: tuple[bool, dict[str, Any] | None] = (False, None)


async def edit_area(conn: asyncpg.Connection, area_id: int, patch: AreaPatch) -> None:
    """Rename, redraw or move an area (same level: the new parent is one level up)."""
    row = await q.get_area(conn, area_id)
    if row is None:
        raise GridError(f"区域 {area_id} 不存在")
    what = f"区域 {row['code']}（{patch.name or row['name']}）"
    parent_id = row["parent_id"]
    if patch.parent_id is not None and patch.parent_id != parent_id:
        if patch.parent_id == area_id:
            raise GridError(f"{what}的上级不能是自己")
        parent = await q.get_area(conn, patch.parent_id)
        if parent is None:
            raise GridError(f"上级区域 {patch.parent_id} 不存在")
        if parent["level"] != row["level"] - 1:
            raise GridError(
                f"{what}为第 {row['level']} 级，新的上级须为第 {row['level'] - 1} 级"
                f"（所选上级为第 {parent['level']} 级）"
            )
        parent_id = patch.parent_id
    boundary = patch.boundary[1] if patch.boundary[0] else row["boundary"]
    lat, lon = row["centroid_lat"], row["centroid_lon"]
    if boundary is not None:
        geom = _geometry(boundary, f"{what}的边界")
        await _check(conn, geom, what, parent_id=parent_id, self_id=area_id)
        centre = geom.representative_point()
        lat, lon = centre.y, centre.x
    elif patch.boundary[0]:
        lat = lon = None
    await q.update_area(conn, area_id, patch.name or row["name"], parent_id, boundary, lat, lon)
