"""Real-looking, nested boundaries for the sample city (pure; shapely, no I/O).

The city is an irregular, nearly round polygon around its centre; each area is cut into
its children by a Voronoi tessellation of seeded points inside it, clipped to the
parent — so every child lies inside its parent, siblings do not overlap, and the cells
have the uneven shapes of real administrative borders.  Everything is deterministic for
a given seed (the same city on every load).
"""

from __future__ import annotations

import math
import random
from typing import Any

from shapely import MultiPoint, Point, Polygon, set_precision, voronoi_polygons
from shapely.geometry import mapping

__all__ = ["as_geojson", "city_outline", "split"]

_DIGITS = 6  # ~0.1 m


def city_outline(lat: float, lon: float, radius_deg: float, rng: random.Random) -> Polygon:
    """An irregular outline: 36 vertices on a circle whose radius wanders ±12 %."""
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
    aspect = math.cos(math.radians(lat))  # degrees of longitude are shorter
    points = []
    for k in range(36):
        a = 2 * math.pi * k / 36
        wobble = sum(0.04 * math.sin((n + 2) * a + phases[n]) for n in range(3))
        r = radius_deg * (1 + wobble)
        points.append(
            (round(lon + r * math.cos(a) / aspect, _DIGITS), round(lat + r * math.sin(a), _DIGITS))
        )
    return Polygon(points)


def _seeds(parent: Polygon, n: int, rng: random.Random) -> list[Point]:
    x0, y0, x1, y1 = parent.bounds
    inner = parent.buffer(-0.15 * min(x1 - x0, y1 - y0) / max(n, 2))
    area = inner if not inner.is_empty else parent
    out: list[Point] = []
    while len(out) < n:
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if area.contains(p) and all(p.distance(q) > 0.25 * (x1 - x0) / n for q in out):
            out.append(p)
    return out


def _largest(geom: Any) -> Polygon:
    if isinstance(geom, Polygon):
        return geom
    return max(getattr(geom, "geoms", []), key=lambda g: g.area)


def _rounded(poly: Any) -> Polygon:
    """Snapped to a 1e-6° grid (valid by construction), the largest part kept."""
    return _largest(set_precision(poly, 10.0**-_DIGITS))


def split(parent: Polygon, n: int, rng: random.Random) -> list[Polygon]:
    """``n`` children covering ``parent`` (west to east, then south to north)."""
    cells = voronoi_polygons(MultiPoint(_seeds(parent, n, rng)), extend_to=parent.envelope)
    children = [_rounded(cell.intersection(parent)) for cell in cells.geoms]
    return sorted(children, key=lambda c: (round(c.centroid.x, 3), c.centroid.y))


def as_geojson(poly: Polygon) -> dict[str, Any]:
    return dict(mapping(poly))
