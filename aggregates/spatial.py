"""Inverse distance weighting (IDW) onto a regular lon/lat grid, as GeoJSON (pure, numpy).

For each cell centre c: ``z(c) = Σ w_i z_i / Σ w_i`` with ``w_i = 1 / d(c, p_i)^power``
(great-circle distance, km); a cell centre on a station takes the station's value; with
``max_distance_km`` stations farther away are ignored and cells with no station in reach
are left out.  The map layer draws each cell as a polygon filled with ``color`` (AQI
level colour when ``levels`` are given, HJ 633 Appendix A).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from aggregates.standards import Level

__all__ = ["EARTH_RADIUS_KM", "idw", "idw_geojson"]

EARTH_RADIUS_KM = 6371.0088


def _haversine_km(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def idw(
    points: Sequence[tuple[float, float, float]],
    lons: np.ndarray,
    lats: np.ndarray,
    *,
    power: float = 2.0,
    max_distance_km: float | None = None,
) -> np.ndarray:
    """IDW values at the cell centres ``lons`` × ``lats`` (shape ``(len(lats), len(lons))``,
    NaN where no station is in reach)."""
    if power <= 0:
        raise ValueError(f"power must be positive, not {power}")
    grid_lon, grid_lat = np.meshgrid(lons, lats)
    out = np.full(grid_lon.shape, np.nan)
    if not points:
        return out
    pts = np.asarray(points, dtype=np.float64)
    d = _haversine_km(
        grid_lon[..., None], grid_lat[..., None], pts[:, 0][None, None, :], pts[:, 1][None, None, :]
    )
    values = pts[:, 2][None, None, :]
    with np.errstate(divide="ignore"):
        w = 1.0 / np.power(d, power)
    if max_distance_km is not None:
        w = np.where(d <= max_distance_km, w, 0.0)
    exact = d < 1e-9
    wsum = w.sum(axis=-1, where=~exact)
    num = (w * values).sum(axis=-1, where=~exact)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(wsum > 0, num / wsum, np.nan)
    hit = exact.any(axis=-1)
    if hit.any():
        first = exact.argmax(axis=-1)
        out = np.where(hit, pts[:, 2][first], out)
    return np.asarray(out)


def _color(value: float, levels: Sequence[Level] | None) -> str | None:
    if levels is None:
        return None
    aqi = int(np.ceil(value))
    for level in levels:
        if aqi >= level.aqi_min and (level.aqi_max is None or aqi <= level.aqi_max):
            return level.hex
    return None


def idw_geojson(
    points: Sequence[tuple[float, float, float]],
    bbox: tuple[float, float, float, float],
    cell: float,
    *,
    power: float = 2.0,
    max_distance_km: float | None = None,
    levels: Sequence[Level] | None = None,
    properties: Mapping[str, Any] | None = None,
    max_cells: int = 250_000,
) -> dict[str, Any]:
    """IDW of ``points`` (lon, lat, value) over ``bbox`` = (min_lon, min_lat, max_lon,
    max_lat) in square cells of ``cell`` degrees → GeoJSON FeatureCollection.

    Each feature is a cell polygon with ``value`` (rounded to 2 decimals) and ``color``;
    the collection's ``properties`` hold the grid (``bbox``, ``cell``, ``shape``, the
    ``raster`` rows south→north for a raster layer) and the caller's ``properties``."""
    min_lon, min_lat, max_lon, max_lat = bbox
    if not (min_lon < max_lon and min_lat < max_lat):
        raise ValueError(f"bbox must be (min_lon, min_lat, max_lon, max_lat), got {bbox}")
    if cell <= 0:
        raise ValueError(f"cell must be positive (degrees), not {cell}")
    # (a tolerance keeps 0.05 / 0.01 at 5 cells, not 6)
    nx = max(1, int(np.ceil((max_lon - min_lon) / cell - 1e-9)))
    ny = max(1, int(np.ceil((max_lat - min_lat) / cell - 1e-9)))
    if nx * ny > max_cells:
        raise ValueError(
            f"{nx}×{ny} = {nx * ny} cells is more than {max_cells}; choose a larger cell"
        )
    lons = min_lon + (np.arange(nx) + 0.5) * cell
    lats = min_lat + (np.arange(ny) + 0.5) * cell
    grid = idw(points, lons, lats, power=power, max_distance_km=max_distance_km)
    features: list[dict[str, Any]] = []
    for j in range(ny):
        y0 = min_lat + j * cell
        for i in range(nx):
            v = grid[j, i]
            if np.isnan(v):
                continue
            x0 = min_lon + i * cell
            ring = [
                [x0, y0],
                [x0 + cell, y0],
                [x0 + cell, y0 + cell],
                [x0, y0 + cell],
                [x0, y0],
            ]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"value": round(float(v), 2), "color": _color(float(v), levels)},
                }
            )
    raster = [[None if np.isnan(v) else round(float(v), 2) for v in row] for row in grid]
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            **(properties or {}),
            "bbox": list(bbox),
            "cell": cell,
            "shape": [ny, nx],
            "raster": raster,
            "stations": len(points),
            "power": power,
        },
    }
