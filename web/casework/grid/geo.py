"""Geometry helpers: GeoJSON → shapely, distances in metres, and the grid locator.

Coordinates are WGS 84 longitude/latitude (GeoJSON order: ``[lon, lat]``).  Distances are
great-circle (haversine, mean Earth radius) — plenty for "is the patroller within 200 m".
:class:`GridIndex` answers "which grid contains this point" for thousands of polygons with
a shapely STRtree; when a point lies in several areas (a shared border, overlapping
imports) the deepest level wins, then the smallest area, then the lowest id, so the answer
is deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from shapely.validation import explain_validity

__all__ = [
    "EARTH_RADIUS_M",
    "GeoError",
    "GridIndex",
    "distance_to_geometry_m",
    "haversine_m",
    "parse_polygon",
    "validity_reason",
]

EARTH_RADIUS_M: Final = 6_371_008.8


class GeoError(ValueError):
    """Invalid geometry; the message (Chinese) says what is wrong."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def parse_polygon(geometry: Mapping[str, Any] | None, what: str = "边界") -> BaseGeometry:
    """A GeoJSON Polygon/MultiPolygon → a valid shapely geometry, or :class:`GeoError`."""
    if not isinstance(geometry, Mapping):
        raise GeoError(f"{what}缺少几何（geometry）")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeoError(f"{what}须为 Polygon 或 MultiPolygon（收到 {kind!r}）")
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException):
        raise GeoError(f"{what}坐标格式错误（应为 [[[经度, 纬度], …]]）") from None
    if geom.is_empty:
        raise GeoError(f"{what}为空")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise GeoError(f"{what}坐标超出经纬度范围（GeoJSON 顺序为 [经度, 纬度]，WGS 84）")
    if not geom.is_valid:
        raise GeoError(f"{what}不是有效的多边形：{validity_reason(explain_validity(geom))}")
    if not isinstance(geom, Polygon | MultiPolygon):  # pragma: no cover - shape() above
        raise GeoError(f"{what}须为多边形")
    return geom


#: GEOS validity reasons → Chinese (the reason text starts with one of these).
_REASONS: Final = (
    ("Ring Self-intersection", "边线自相交"),
    ("Self-intersection", "边线自相交"),
    ("Interior is disconnected", "内环把多边形分成了不相连的几块"),
    ("Hole lies outside shell", "内环（空洞）位于外边界之外"),
    ("Nested holes", "内环（空洞）相互嵌套"),
    ("Nested shells", "多边形相互嵌套"),
    ("Too few points", "顶点太少（至少 3 个不同的点）"),
    ("Invalid Coordinate", "坐标无效"),
    ("Ring is not closed", "外环未闭合（首尾坐标须相同）"),
)
_AT: Final = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]")


def validity_reason(reason: str) -> str:
    """shapely's ``explain_validity`` text → a Chinese reason with where it happens, e.g.
    ``"Self-intersection[120.1 30.1]"`` → ``"边线自相交（经度 120.1，纬度 30.1 附近）"``."""
    label = next((zh for en, zh in _REASONS if reason.startswith(en)), "几何无效")
    at = _AT.search(reason)
    where = f"（经度 {float(at[1]):.6g}，纬度 {float(at[2]):.6g} 附近）" if at else ""
    return label + where


def distance_to_geometry_m(geom: BaseGeometry, lat: float, lon: float) -> float:
    """Metres from the point to ``geom`` (0 inside a polygon)."""
    point = Point(lon, lat)
    if geom.covers(point):
        return 0.0
    nearest = nearest_points(geom, point)[0]
    return haversine_m(lat, lon, nearest.y, nearest.x)


@dataclass(frozen=True, slots=True)
class _Entry:
    area_id: int
    level: int
    area: float
    geom: BaseGeometry


class GridIndex:
    """Point-in-polygon over many areas (shapely STRtree, built once)."""

    __slots__ = ("_entries", "_tree")

    def __init__(self, areas: Iterable[tuple[int, int, BaseGeometry]]) -> None:
        """``areas``: (area id, level, geometry)."""
        self._entries: Sequence[_Entry] = tuple(
            _Entry(area_id, level, geom.area, geom) for area_id, level, geom in areas
        )
        self._tree = shapely.STRtree([e.geom for e in self._entries])

    def __len__(self) -> int:
        return len(self._entries)

    def locate(self, lon: float, lat: float, *, max_level: int = 5) -> int | None:
        """The deepest area (level ≤ ``max_level``) covering the point, or None."""
        point = Point(lon, lat)
        best: _Entry | None = None
        for index in self._tree.query(point, predicate="intersects"):
            entry = self._entries[int(index)]
            if entry.level > max_level:
                continue
            if best is None or (-entry.level, entry.area, entry.area_id) < (
                -best.level,
                best.area,
                best.area_id,
            ):
                best = entry
        return best.area_id if best is not None else None
