"""Base maps in the browser (headless Chromium, tests/browser.py): every map page draws
the configured base map — here the operator's tile server, a local aiohttp server on
loopback serving PNG tiles — and asks it for tiles; a GCJ-02 preset (高德, its tiles
answered by the test) shifts WGS-84 points as gcoord documents and converts a click back
to WGS-84 before it is saved; without any tile source the offline boundary layer is drawn,
and an MBTiles file is served by envgrid itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.browser import ARTIFACTS_ROOT, chromium, collect_errors
from tests.images import PNG
from tests.web.casework.conftest import World
from tests.web.casework.web_fixture import WebSeed, case_settings
from tests.webapp import PASSWORD
from web.app import create_app
from web.casework.cases import intake
from web.casework.kernel.access import now
from web.casework.kernel.config import CaseConfig
from web.casework.patrol.service import PlanInput, create_plan, generate_patrol_tasks
from web.keys import POOL_KEY

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "basemap"
#: gcoord's README: GCJ-02 [123, 45] is WGS-84 [122.99395597, 44.99804071] (lon, lat).
GCOORD_WGS = (44.99804071, 122.99395597)
GCOORD_GCJ = (45.0, 123.0)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium(ARTIFACTS) as b:
        yield b


@pytest.fixture
async def tile_server(aiohttp_server: Callable[..., Any]) -> tuple[TestServer, list[str]]:
    """The operator's tile server: PNG tiles at /t/{z}/{x}/{y}.png; the paths asked."""
    asked: list[str] = []

    async def tile(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get(r"/t/{z:\d+}/{x:\d+}/{y:\d+}.png", tile)
    return await aiohttp_server(app, host="127.0.0.1"), asked


async def _app(
    aiohttp_server: Callable[..., Any], dsn: str, data_dir: Path, **values: Any
) -> TestServer:
    settings = case_settings(dsn, data_dir, **values)
    server: TestServer = await aiohttp_server(create_app(settings, dsn, background=False))
    return server


async def _seed(server: TestServer, world: World, config: CaseConfig) -> tuple[int, int]:
    """A case with a position and a patrol task: (case id, task id)."""
    pool = server.app[POOL_KEY]
    async with pool.acquire() as conn:
        ref = await intake.create_case(
            conn,
            intake.NewCase("河道漂浮垃圾", "other", "manual", lat=30.05, lon=120.05,
                           grid_id=world.areas["G1"]),
            world.officer, config, now=now(),
        )  # fmt: skip
        await create_plan(
            conn,
            PlanInput("一号站日巡", "daily", date.today(), station_ids=[world.station],
                      assignee_duty="member"),
            created_by="值班员",
        )  # fmt: skip
    assert await generate_patrol_tasks(pool, now(), config) == 1
    async with pool.acquire() as conn:
        task = await conn.fetchval("SELECT id FROM patrol_tasks ORDER BY id LIMIT 1")
    return ref.id, int(task)


async def _login(page: Any, base: str, user: str) -> None:
    await page.goto(f"{base}/login?next=/account/password")
    await page.fill("#username", user)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(re.compile(r".*/account/password$"))


async def test_every_map_draws_the_operator_tiles(
    browser: Any,
    aiohttp_server: Callable[..., Any],
    tile_server: tuple[TestServer, list[str]],
    db_dsn: str,
    pg_reachable_tmp: Path,
    web_seed: WebSeed,
    config: CaseConfig,
) -> None:
    tiles, asked = tile_server
    url = str(tiles.make_url("/t/")) + "{z}/{x}/{y}.png"
    server = await _app(
        aiohttp_server, db_dsn, pg_reachable_tmp,
        **{"web.tile_url": url, "web.tile_attribution": "测试瓦片"},
    )  # fmt: skip
    case_id, task_id = await _seed(server, web_seed.world, config)
    base = str(server.make_url("/")).rstrip("/")
    errors: list[str] = []
    context = await browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    collect_errors(page, errors)
    pages = {
        "/map": "#map",
        "/admin/stations": "#coord-map",
        "/grid": "#grid-map",
        f"/grid/{web_seed.world.areas['G1']}": "#area-map",
        "/cases/new": "#n-map",
        f"/cases/{case_id}": ".leaflet-container",
        f"/patrol/tasks/{task_id}": "#t-map",
        "/complaint": "#c-map",
    }
    await _login(page, base, "admin")
    for path, box in pages.items():
        before = len(asked)
        await page.goto(f"{base}{path}")
        loaded = (
            f"{box}[data-basemap='url'] .leaflet-tile-pane .basemap-tile img.leaflet-tile-loaded"
        )
        await page.wait_for_selector(loaded, state="attached", timeout=15000)
        assert len(asked) > before, path  # tiles came from the operator's server
        assert all(p.startswith("/t/") for p in asked)
        assert "测试瓦片" in await page.inner_text(f"{box} .leaflet-control-attribution"), path
        name = path.strip("/").replace("/", "-")
        await page.screenshot(path=str(ARTIFACTS / f"tiles-{name}.png"))
    await context.close()
    assert not errors, errors


async def test_gcj02_preset_shifts_points_and_clicks(
    browser: Any,
    aiohttp_server: Callable[..., Any],
    db_dsn: str,
    pg_reachable_tmp: Path,
    web_seed: WebSeed,
) -> None:
    server = await _app(aiohttp_server, db_dsn, pg_reachable_tmp, **{"web.basemap": "gaode-vec"})
    base = str(server.make_url("/")).rstrip("/")
    context = await browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    amap: list[str] = []

    async def answer(route: Any) -> None:  # 高德's tiles, answered here (no network)
        amap.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=PNG)

    await context.route(re.compile(r"^https?://webrd0\d\.is\.autonavi\.com/.*"), answer)
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    await _login(page, base, "admin")
    await page.goto(f"{base}/cases/new")
    await page.wait_for_selector(
        "#n-map[data-basemap='gaode-vec'][data-basemap-crs='gcj02'] img.leaflet-tile-loaded",
        state="attached",
    )
    assert amap and all("style=8" in u for u in amap)
    # the module of the page (same instance): gcoord's documented pair, both ways
    shifted, back = await page.evaluate(
        """async ([lat, lon]) => {
            const m = await import("/static/js/basemap.js");
            return [m.ll(lat, lon), m.wgs({ lat: 45, lng: 123 })];
        }""",
        list(GCOORD_WGS),
    )
    assert shifted == pytest.approx(list(GCOORD_GCJ), abs=2e-6)
    assert (back["lat"], back["lon"]) == pytest.approx(GCOORD_WGS, abs=1e-6)
    # a click on the GCJ-02 map is saved as WGS-84 (the point Leaflet got, converted)
    await page.evaluate(
        """async () => {
            const m = await import("/static/js/basemap.js");
            m.maps[0].once("click", (e) => { window.clickedAt = [e.latlng.lat, e.latlng.lng]; });
        }"""
    )
    await page.click("#n-map", position={"x": 120, "y": 90})
    await page.wait_for_selector("#n-pos:has-text('位置')")
    shown = await page.inner_text("#n-pos")
    lat, lon = (float(v) for v in shown.split("：")[1].split(","))
    clicked, expected = await page.evaluate(
        """async () => {
            const m = await import("/static/js/basemap.js");
            const [lat, lng] = window.clickedAt;
            return [window.clickedAt, m.wgs({ lat, lng })];
        }"""
    )
    assert (lat, lon) == (expected["lat"], expected["lon"])
    assert abs(clicked[0] - lat) > 1e-3 and abs(clicked[1] - lon) > 1e-3  # shifted back
    await page.screenshot(path=str(ARTIFACTS / "gcj02-cases-new.png"))
    await context.close()
    assert not errors, errors


async def test_offline_boundaries_and_mbtiles_without_a_tile_server(
    browser: Any, aiohttp_server: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path
) -> None:
    """The public complaint form (no log-in): nothing configured draws the province
    boundaries; an MBTiles file of web.mbtiles_dir is served by envgrid itself."""
    from tests.web.test_basemap import make_mbtiles

    context = await browser.new_context(viewport={"width": 1000, "height": 700}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    offline = await _app(aiohttp_server, db_dsn, pg_reachable_tmp)
    await page.goto(str(offline.make_url("/complaint")))
    await page.wait_for_selector("#c-map[data-basemap='offline'][data-basemap-ready='1']")
    assert await page.locator("#c-map .leaflet-basemap-pane path").count() >= 34  # provinces
    assert await page.locator("#c-map .leaflet-tile-pane img").count() == 0
    await page.screenshot(path=str(ARTIFACTS / "offline-complaint.png"))

    tiles = pg_reachable_tmp / "tiles"
    tiles.mkdir()
    # zoom 10 (web.map_zoom) around the default centre (30.27, 120.15): tile x 853, y 421
    around = {(10, x, y): PNG for x in range(848, 859) for y in range(416, 427)}
    make_mbtiles(tiles / "city.mbtiles", around)
    served = await _app(
        aiohttp_server, db_dsn, pg_reachable_tmp,
        **{"web.mbtiles_dir": str(tiles), "web.tile_attribution": "本地瓦片"},
    )  # fmt: skip
    await page.goto(str(served.make_url("/complaint")))
    await page.wait_for_selector(
        "#c-map[data-basemap='mbtiles'] img.leaflet-tile-loaded[src*='/tiles/city/10/']",
        state="attached",
    )
    assert "本地瓦片" in await page.inner_text("#c-map .leaflet-control-attribution")
    await context.close()
    assert not errors, errors
