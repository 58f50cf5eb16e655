"""The heat map over the areas the caller sees and cut to them: the surface is a lattice
over the outline's box (web/map/handlers.py), so without the cut it paints a rectangle
beyond the city's edge (and a district user's beyond the district).

The outline is the union of the boundaries of the caller's top areas (the lowest level
among the areas of the data scope that have a boundary: the city for an unscoped user,
their district or grid otherwise).  Cells inside stay as they are, cells across the edge
are cut to it, cells outside go.  Without any area boundary nothing is cut.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from web.casework.grid.geo import GeoError, parse_polygon

__all__ = ["clip_layer", "outline_of"]

log = logging.getLogger(__name__)


def outline_of(areas: Iterable[Mapping[str, Any]]) -> BaseGeometry | None:
    """The union of the boundaries of the top-level ones of ``areas`` (rows with
    ``level``, ``code``, ``boundary``), or None when none has a usable boundary."""
    rows = [a for a in areas if a.get("boundary") is not None]
    if not rows:
        return None
    top = min(a["level"] for a in rows)
    shapes = []
    for a in rows:
        if a["level"] != top:
            continue
        try:
            shapes.append(parse_polygon(a["boundary"]))
        except GeoError as exc:  # the grid editor refuses these; an old row may have one
            log.warning("area %s: boundary left out of the heat map's outline: %s", a["code"], exc)
    return shapely.union_all(shapes) if shapes else None


def _polygons(part: BaseGeometry) -> list[Polygon]:
    """The polygons of an intersection (which may also hold lines and points)."""
    if isinstance(part, Polygon):
        return [part] if part.area > 0 else []
    return [g for g in getattr(part, "geoms", ()) for g in _polygons(g)]


def clip_layer(layer: dict[str, Any], outline: BaseGeometry | None) -> dict[str, Any]:
    """``layer`` (a heat-map FeatureCollection of cell polygons) cut to ``outline``;
    ``properties.clipped`` says it was.  The same layer without an outline or cells."""
    if outline is None or not layer["features"]:
        return layer
    shapely.prepare(outline)
    features = []
    for f in layer["features"]:
        cell = shape(f["geometry"])
        if outline.contains(cell):
            features.append(f)
            continue
        parts = _polygons(cell.intersection(outline))
        if parts:
            geometry = parts[0] if len(parts) == 1 else MultiPolygon(parts)
            features.append({**f, "geometry": mapping(geometry)})
    return {**layer, "features": features, "properties": {**layer["properties"], "clipped": True}}
