"""The heat map cut to the caller's areas (web/map/heat_clip.py): the outline of the top
areas, and cells kept, cut or dropped against it; the API's surface stays inside the city."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from shapely.geometry import box, shape

from web.map.heat_clip import clip_layer, outline_of

from .conftest import Seed, square


def cell(x: float, y: float, size: float = 1.0) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {
        "type": "Feature",
        "properties": {"value": 1.0},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def layer(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(cells), "properties": {"what": "aqi"}}


OUTLINE = box(0, 0, 2, 2)


@pytest.mark.parametrize(
    ("the_cell", "area"),
    [
        (cell(0, 0), 1.0),  # inside: kept whole
        (cell(1.5, 0), 0.5),  # across the edge: cut
        (cell(1.5, 1.5), 0.25),  # across a corner
        (cell(2, 0), None),  # touching the edge only: a line, dropped
        (cell(5, 5), None),  # outside: dropped
    ],
)
def test_cells_against_the_outline(the_cell: dict[str, Any], area: float | None) -> None:
    out = clip_layer(layer(the_cell), OUTLINE)
    assert out["properties"] == {"what": "aqi", "clipped": True}
    if area is None:
        assert out["features"] == []
    else:
        (f,) = out["features"]
        assert shape(f["geometry"]).area == pytest.approx(area)
        assert f["properties"] == {"value": 1.0}


def test_no_outline_or_no_cells_leave_the_layer() -> None:
    full = layer(cell(0, 0))
    assert clip_layer(full, None) is full
    empty = layer()
    assert clip_layer(empty, OUTLINE) is empty


def test_outline_of_the_top_areas(caplog: pytest.LogCaptureFixture) -> None:
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    rows = [
        {"level": 2, "code": "R01", "boundary": square(30.3, 120.25, 0.1)},
        {"level": 2, "code": "R02", "boundary": square(30.3, 120.45, 0.1)},
        {"level": 2, "code": "R03", "boundary": bow_tie},
        {"level": 3, "code": "S1", "boundary": square(30.3, 120.25, 0.5)},  # deeper: ignored
        {"level": 1, "code": "C01", "boundary": None},  # no boundary: ignored
    ]
    with caplog.at_level(logging.WARNING):
        outline = outline_of(rows)
    assert outline is not None
    assert outline.bounds == pytest.approx((120.15, 30.2, 120.55, 30.4))  # R01 ∪ R02
    assert "R03" in caplog.text
    assert outline_of([{"level": 1, "code": "C01", "boundary": None}]) is None
    assert outline_of([]) is None


async def test_the_surface_stays_in_the_city(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    # cells of 0.5°: the lattice around the stations reaches well beyond 杭州市 (±0.3°)
    resp = await client.get(
        f"/api/v1/map/heatmap?day={analytics.isoformat()}&cell=0.5", headers=seeded.auth("admin")
    )
    assert resp.status == 200, await resp.text()
    heat = await resp.json()
    assert heat["features"] and heat["properties"]["clipped"] is True
    city = shape(square(30.27, 120.15, 0.3)).buffer(1e-9)
    assert all(city.contains(shape(f["geometry"])) for f in heat["features"])
    assert any(shape(f["geometry"]).area < 0.25 - 1e-9 for f in heat["features"])  # cut cells
