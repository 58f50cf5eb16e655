"""The offline base map's counties in the browser (headless Chromium, tests/browser.py):
without any tile source, the public complaint form centred on the demo city draws the
province boundaries and, at county zoom, the county lines and names of the default files
— fetched only for the provinces in view — and drops them when zoomed out; an operator's
web.boundary_geojson with both levels in one file replaces the default counties."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

import envgrid.demo
from tests.browser import ARTIFACTS_ROOT, collect_errors
from web.app import create_app
from web.map.basemap import COUNTIES_PATH, DEFAULT_COUNTIES

from .conftest import Seed, make_web_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (DEFAULT_COUNTIES / "index.json").is_file(),
        reason="front-end files missing: cd web/frontend && npm ci && node copy-vendor.mjs",
    ),
]

ARTIFACTS = ARTIFACTS_ROOT / "web"
#: The demo city (envgrid demo load): its centre, in 柯桥区 of 绍兴 (浙江, file 33).
CITY = json.loads((Path(envgrid.demo.__file__).with_name("city.json")).read_text("utf-8"))["city"]
READY = "#c-map[data-basemap='offline'][data-basemap-ready='1']"
ZOOM = "async (z) => { (await import('/static/js/basemap.js')).maps[0].setZoom(z, { animate: false }); }"


def square(lon: float, lat: float, d: float, **properties: Any) -> dict[str, Any]:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }


async def _server(aiohttp_server: Callable[..., Any], dsn: str, data_dir: Path, **web: Any) -> str:
    settings = make_web_settings(
        dsn, data_dir, map_center_lat=CITY["lat"], map_center_lon=CITY["lon"], map_zoom=10, **web
    )
    server: TestServer = await aiohttp_server(create_app(settings, dsn, background=False))
    return str(server.make_url("/")).rstrip("/")


async def test_counties_at_county_zoom_over_the_demo_city(
    web_browser: Any,
    aiohttp_server: Callable[..., Any],
    db_dsn: str,
    pg_reachable_tmp: Path,
    seeded: Seed,
) -> None:
    context = await web_browser.new_context(viewport={"width": 1000, "height": 700}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if COUNTIES_PATH in r.url else None)

    base = await _server(aiohttp_server, db_dsn, pg_reachable_tmp)
    await page.goto(f"{base}/complaint")  # public: no log-in
    await page.wait_for_selector(READY)
    county = "#c-map .leaflet-basemap-pane path.basemap-county"
    await page.wait_for_selector(county, state="attached")
    assert await page.locator(county).count() >= 50  # 浙江's counties (and neighbours')
    assert await page.locator("#c-map .leaflet-basemap-pane path").count() > 34  # + provinces
    await page.wait_for_selector("#c-map .basemap-county-label:has-text('柯桥区')")
    files = {u.rsplit("/", 1)[1] for u in asked}
    assert {"index.json", "33.geojson"} <= files
    assert not files & {"11.geojson", "44.geojson", "65.geojson"}  # not in view: not fetched
    await page.screenshot(path=str(ARTIFACTS / "counties-offline.png"))

    await page.evaluate(ZOOM, 5)  # province zoom: no county lines, no names
    await page.wait_for_function(f"!document.querySelector({county!r})")
    assert await page.locator("#c-map .basemap-county-label").count() == 0
    assert await page.locator("#c-map .leaflet-basemap-pane path").count() >= 34

    # the operator's one file: a province and a county of its own, nothing of the default
    own = pg_reachable_tmp / "own.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            square(CITY["lon"], CITY["lat"], 1.0, name="本省", level="province"),
            square(CITY["lon"], CITY["lat"], 0.1, name="本县", level="county"),
        ],
    }
    own.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    asked.clear()
    base = await _server(aiohttp_server, db_dsn, pg_reachable_tmp, boundary_geojson=str(own))
    await page.goto(f"{base}/complaint")
    await page.wait_for_selector(READY)
    await page.wait_for_selector("#c-map .basemap-county-label:has-text('本县')")
    assert await page.locator(county).count() == 1
    await page.evaluate(ZOOM, 6)
    await page.wait_for_function(f"!document.querySelector({county!r})")
    assert asked == []  # the default counties are not used
    await context.close()
    assert not errors, errors
