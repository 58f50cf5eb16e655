"""The map's heat-map layer: an IDW surface of the hourly or daily AQI (or one factor)
from ``aggregates.heatmap.idw_grid``, as GeoJSON cells (each with ``value`` and ``color``)
plus the raster in the collection's properties.

Size: IDW compares every cell with every station (cells × stations distances), so the
surface is at most :data:`MAX_CELLS` cells and, above :data:`MAX_POINTS` stations, the
stations' values are first averaged on a fine lattice (a quarter cell) and the IDW runs
on those means with ``aggregates.spatial.idw_geojson`` — the same arithmetic as
``idw_grid``.  Results are kept :data:`CACHE_S` seconds per (scope, what, when, cell).

Fewer than :data:`MIN_STATIONS` stations with a value cannot make a surface worth showing
(one station paints the whole map its colour): the layer then has no cells and says why
in ``properties.empty`` (Chinese).  A frame of the page's play-through is one request:
one read of the stations' values of that hour or day, then the pure interpolation.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

import asyncpg

from aggregates import heatmap
from aggregates.selection import Selection
from web.settings import WebConfig

__all__ = ["CACHE_S", "MAX_CELLS", "MAX_POINTS", "MIN_STATIONS", "HeatCache", "heat_layer"]

MIN_STATIONS: Final = 3
MAX_CELLS: Final = 4000
MAX_POINTS: Final = 3000
CACHE_S: Final = 60.0
#: Default resolution: about this many cells along the longer side of the extent.
DEFAULT_CELLS_ACROSS: Final = 40


class HeatError(ValueError):
    """The surface cannot be drawn as asked (message in Chinese)."""


class HeatCache:
    def __init__(self) -> None:
        self.entries: dict[tuple[object, ...], tuple[float, dict[str, Any]]] = {}

    def get(self, key: tuple[object, ...]) -> dict[str, Any] | None:
        hit = self.entries.get(key)
        if hit is None or time.monotonic() - hit[0] > CACHE_S:
            return None
        return hit[1]

    def put(self, key: tuple[object, ...], value: dict[str, Any]) -> None:
        if len(self.entries) > 64:
            self.entries.clear()
        self.entries[key] = (time.monotonic(), value)


def grid_for(
    extent: tuple[float, float, float, float], cell: float | None
) -> tuple[tuple[float, float, float, float], float]:
    """(bbox, cell) around the stations' extent: a margin of one cell on each side."""
    min_lon, min_lat, max_lon, max_lat = extent
    span = max(max_lon - min_lon, max_lat - min_lat, 0.01)
    if cell is None:
        cell = float(f"{span / DEFAULT_CELLS_ACROSS:.2g}")
    bbox = (min_lon - cell, min_lat - cell, max_lon + cell, max_lat + cell)
    nx = math.ceil((bbox[2] - bbox[0]) / cell - 1e-9)
    ny = math.ceil((bbox[3] - bbox[1]) / cell - 1e-9)
    if nx * ny > MAX_CELLS:
        raise HeatError(f"网格过细：{nx}×{ny} 个单元超过 {MAX_CELLS}，请增大 cell")
    return bbox, cell


def _binned(
    points: Sequence[tuple[float, float, float]], cell: float
) -> list[tuple[float, float, float]]:
    """Mean position and value of the points on a lattice of a quarter cell."""
    step = cell / 4
    bins: dict[tuple[int, int], list[tuple[float, float, float]]] = defaultdict(list)
    for p in points:
        bins[(math.floor(p[0] / step), math.floor(p[1] / step))].append(p)
    out = []
    for members in bins.values():
        n = len(members)
        out.append(
            (
                sum(m[0] for m in members) / n,
                sum(m[1] for m in members) / n,
                sum(m[2] for m in members) / n,
            )
        )
    return out


async def heat_layer(
    db: asyncpg.Pool,
    settings: WebConfig,
    *,
    what: str,
    at: date | datetime,
    selection: Selection | None,
    n_stations: int,
    bbox: tuple[float, float, float, float],
    cell: float,
) -> dict[str, Any]:
    """The heat-map GeoJSON (the surface of ``aggregates.heatmap``; binned above MAX_POINTS
    stations), or no cells and ``properties.empty`` with fewer than MIN_STATIONS values."""
    points = await heatmap.station_points(db, settings, what, at, selection)
    if len(points) < MIN_STATIONS:
        return empty_layer(what, at, len(points), n_stations)
    if n_stations > MAX_POINTS:
        points = _binned(points, cell)
    return heatmap.surface(settings, points, what, at, bbox, cell)


def empty_layer(
    what: str, at: date | datetime, with_values: int, n_stations: int
) -> dict[str, Any]:
    """A layer without cells whose ``properties.empty`` says why (too few stations)."""
    when = "该小时" if isinstance(at, datetime) else "该日"
    if n_stations < MIN_STATIONS:
        why = f"热力图至少需要 {MIN_STATIONS} 个有坐标的站点，当前只有 {n_stations} 个"
    else:
        why = (
            f"{when}只有 {with_values} 个站点有有效数值，热力图至少需要 {MIN_STATIONS} 个"
            "：请换一个时间或指标"
        )
    return {
        "type": "FeatureCollection",
        "features": [],
        "properties": {
            "what": what,
            "at": at.isoformat(),
            "hourly": isinstance(at, datetime),
            "stations": with_values,
            "empty": why,
        },
    }
