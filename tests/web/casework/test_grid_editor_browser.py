"""The area editor in real Chromium: an officer draws a community on the map (clicks on
the map through Leaflet-Geoman), saves it, reloads the page and finds it — in the tree,
on the map and stored with the clicked corners; a drawing that overlaps a sibling shows
the server's Chinese refusal under the form.  Screenshots in ``test-artifacts/cases/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from envgrid.settings import Settings
from tests.browser import ARTIFACTS_ROOT, collect_errors
from tests.web.casework.web_fixture import WebSeed, browser_login
from web.app import create_app
from web.keys import POOL_KEY

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "cases"
#: The free right half of S1 (街道一): (lat, lon) corners, counter-clockwise.
CORNERS = [(30.05, 120.12), (30.05, 120.18), (30.15, 120.18), (30.15, 120.12)]
#: Inside G1 (网格一): a new grid there overlaps it.
OVERLAP = [(30.03, 120.03), (30.03, 120.07), (30.07, 120.07), (30.07, 120.03)]
TO_PIXELS = """pts => pts.map(([lat, lon]) => {
  const p = window.gridEditMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; })"""


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any],
    case_web_settings: Settings,
    db_dsn: str,
    web_seed: WebSeed,
) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(case_web_settings, db_dsn, background=False))
    return srv


async def officer_page(
    browser: Any, server: TestServer, path: str, errors: list[str]
) -> tuple[Any, Any]:
    """A desktop context and page, the officer logged in on ``path`` (errors collected)."""
    ctx = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    collect_errors(page, errors)
    await browser_login(page, str(server.make_url("/")).rstrip("/"), "officer", path)
    return ctx, page


async def draw(page: Any, corners: list[tuple[float, float]]) -> None:
    """Click the corners on the map, then the first one again to close the polygon."""
    box = await page.locator("#ge-map").bounding_box()
    await page.click("#ge-draw")
    pixels = await page.evaluate(TO_PIXELS, [list(c) for c in corners])
    for x, y in [*pixels, pixels[0]]:
        await page.mouse.click(box["x"] + x, box["y"] + y)
        await page.wait_for_timeout(120)  # no double-click between two corners
    await page.wait_for_selector("#ge-shape:has-text('已修改')")


async def test_draw_save_reload(browser: Any, server: TestServer, web_seed: WebSeed) -> None:
    a = web_seed.world.areas
    errors: list[str] = []
    ctx, page = await officer_page(browser, server, "/grid/edit", errors)
    assert await page.locator("#ge-tree li").count() == 10

    await page.select_option("#ge-level", "4")
    await page.select_option("#ge-parent", str(a["S1"]))
    await page.fill("#ge-code", "M3")
    await page.fill("#ge-name", "社区三")
    await draw(page, CORNERS)
    await page.screenshot(path=str(ARTIFACTS / "grid-edit-drawn.png"))
    await page.click("#ge-save")
    await page.wait_for_selector("#ge-tree li[data-code='M3']")

    await page.reload()
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert "社区三" in await page.inner_text("#ge-tree li[data-code='M3']")
    assert await page.locator("path.area-M3").count() == 1
    async with server.app[POOL_KEY].acquire() as conn:
        row = await conn.fetchrow("SELECT parent_id, level, boundary FROM areas WHERE code = 'M3'")
    assert (row["parent_id"], row["level"]) == (a["S1"], 4)
    ring = row["boundary"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    for (lon, lat), (want_lat, want_lon) in zip(ring, CORNERS, strict=False):
        assert lon == pytest.approx(want_lon, abs=0.002) and lat == pytest.approx(
            want_lat, abs=0.002
        )

    # export the tree, import it again: every area updated, nothing new
    async with page.expect_download() as info:
        await page.click("#ge-export")
    exported = await (await info.value).path()
    await page.set_input_files("#ge-file", exported)
    await page.wait_for_selector("#ge-report:not([hidden])")
    assert "新增 0 个，更新 11 个区域" in await page.inner_text("#ge-report")
    await page.set_input_files(
        "#ge-file", files=[{"name": "坏.geojson", "mimeType": "application/json", "buffer": b"{x"}]
    )
    await page.wait_for_selector("#toast:has-text('不是有效的 JSON')")

    # a grid drawn inside G1 is refused with the reason
    await page.click("#ge-new")
    await page.select_option("#ge-level", "5")
    await page.select_option("#ge-parent", str(a["M1"]))
    await page.fill("#ge-code", "G9")
    await page.fill("#ge-name", "网格九")
    await draw(page, OVERLAP)
    await page.click("#ge-save")
    await page.wait_for_selector("#ge-errors:not([hidden])")
    assert "与同级区域 网格一（G1）重叠" in await page.inner_text("#ge-errors")
    await page.screenshot(path=str(ARTIFACTS / "grid-edit-refused.png"))
    # the refused save is the only console error (the browser logs the 400)
    assert [e for e in errors if "status of 400" not in e] == []
    await ctx.close()


async def test_people_units_points_forms(
    browser: Any, server: TestServer, web_seed: WebSeed
) -> None:
    a = web_seed.world.areas
    errors: list[str] = []
    ctx, page = await officer_page(browser, server, "/grid/people", errors)
    await page.fill("#gp-u-code", "U_CITY")
    await page.fill("#gp-u-name", "城管局")
    await page.click("#gp-u-save")
    await page.wait_for_selector("#gp-units tr[data-code='U_CITY']")
    await page.fill("#gp-p-name", "网格员丙")
    await page.fill("#gp-p-phone", "13900000003")
    await page.select_option("#gp-p-unit", label="城管局")
    await page.click("#gp-p-save")
    await page.wait_for_selector("#gp-people tr[data-name='网格员丙']")
    await page.select_option("#gp-d-person", label="网格员丙（网格员）")
    await page.select_option("#gp-d-area", str(a["G2"]))
    await page.select_option("#gp-d-duty", "head")
    await page.click("#gp-d-save")
    await page.wait_for_selector("#gp-people tr[data-name='网格员丙'] .chip")
    await page.select_option("#gp-au-area", str(a["G2"]))
    await page.select_option("#gp-au-unit", label="城管局")
    await page.click("#gp-au-save")
    await page.fill("#gp-pt-code", "P9")
    await page.fill("#gp-pt-name", "二号排口")
    await page.fill("#gp-pt-lat", "30.15")
    await page.fill("#gp-pt-lon", "120.05")
    await page.click("#gp-pt-save")
    await page.wait_for_selector("#gp-points tr[data-code='P9']")

    await page.select_option("#gp-i-st", "39")
    await page.fill("#gp-i-code", "fence")
    await page.fill("#gp-i-label", "围挡完整、裸土覆盖")
    await page.click("#gp-i-save")
    await page.wait_for_selector("#gp-items tr[data-key='39/fence']")

    await page.reload()
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert "工地扬尘" in await page.inner_text("#gp-items tr[data-key='39/fence']")
    assert "网格二·网格长" in await page.inner_text("#gp-people tr[data-name='网格员丙']")
    assert "城管局" in await page.inner_text("#gp-people tr[data-name='网格员丙']")
    assert "网格二" in await page.inner_text("#gp-points tr[data-code='P9']")
    await page.screenshot(path=str(ARTIFACTS / "grid-people.png"), full_page=True)
    async with server.app[POOL_KEY].acquire() as conn:
        unit = await conn.fetchval(
            "SELECT u.code FROM area_units au JOIN grid_units u ON u.id = au.unit_id"
            " WHERE au.area_id = $1",
            a["G2"],
        )
    assert unit == "U_CITY"
    assert errors == []
    await ctx.close()
