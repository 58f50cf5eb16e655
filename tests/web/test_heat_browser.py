"""The map's heat-map time picker and play-through, and empty states that say why, in a
real headless Chromium against the real server (screenshots in test-artifacts/web/)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from store.engine import EngineInfo
from tests.browser import ARTIFACTS_ROOT, collect_errors, log_in

from .conftest import Seed
from .test_browser import _ready, browser, server  # noqa: F401 - fixtures
from .test_map_heat_time import _hours

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"


async def _page(b: Any, srv: TestServer, user: str, errors: list[str]) -> Any:
    page = await (await b.new_context(locale="zh-CN")).new_page()
    collect_errors(page, errors)
    await log_in(page, str(srv.make_url("")).rstrip("/"), user)
    return page


async def _heat_at(page: Any, previous: str | None = None) -> str:
    """The hour of the frame on the map once it is drawn (a new one after ``previous``)."""
    await page.wait_for_function(
        "p => document.body.dataset.heatAt && document.body.dataset.heatAt !== p"
        " && !document.body.dataset.heatBusy",
        arg=previous or "",
    )
    return str(await page.get_attribute("body", "data-heat-at"))


async def test_heat_map_time_picker_and_play(
    browser: Any,  # noqa: F811
    server: TestServer,  # noqa: F811
    seeded: Seed,
    engine_info: EngineInfo,
) -> None:
    last = await _hours(seeded, engine_info)
    errors: list[str] = []
    page = await _page(browser, server, "admin", errors)
    base = str(server.make_url("")).rstrip("/")
    await _ready(page, f"{base}/map", errors)
    await page.check("#l-heat")
    await page.select_option("#h-what", "a34004")
    at = await _heat_at(page)
    await page.wait_for_function("() => document.body.dataset.heat > 0")
    assert datetime.fromisoformat(at) == last
    assert "4 站插值" in await page.inner_text("#heat-state")
    assert await page.locator("#h-hour option").count() == 24
    # step back an hour, then to a hour with two stations: the reason, no paint
    await page.click("#h-prev")
    at = await _heat_at(page, at)
    assert datetime.fromisoformat(at) == last - timedelta(hours=1)
    await page.select_option("#h-hour", "20")
    at = await _heat_at(page, at)
    assert datetime.fromisoformat(at) == last - timedelta(hours=3)
    assert await page.get_attribute("body", "data-heat") == "0"
    assert "至少需要 3 个" in await page.inner_text("#heat-state")
    await page.screenshot(path=str(ARTIFACTS / "heat-too-few.png"))
    # play: from the oldest hour of the last 24 on; pause stops where it is
    await page.click("#h-play")
    assert await page.get_attribute("body", "data-playing") == "1"
    assert await page.get_attribute("#h-play", "aria-pressed") == "true"
    at = await _heat_at(page, at)
    assert datetime.fromisoformat(at) == last - timedelta(hours=23)
    at = await _heat_at(page, at)  # the next frame, an hour on
    assert datetime.fromisoformat(at) == last - timedelta(hours=22)
    await page.click("#h-play")
    assert await page.get_attribute("body", "data-playing") == "0"
    assert "暂停" not in await page.inner_text("#h-play")
    # the day picker: a day without data says so
    await page.select_option("#h-mode", "day")
    assert await page.is_disabled("#h-play")
    await page.fill("#h-day", "2001-01-01")
    await page.dispatch_event("#h-day", "change")
    at = await _heat_at(page, at)
    assert at == "2001-01-01" and "该日只有 0 个站点" in await page.inner_text("#heat-state")
    # the popup of a station: now / 1 h / 24 h / daily mean per factor, by name
    await page.click(f"path.sid-{seeded.stations['good']}", force=True)
    await page.wait_for_selector(".leaflet-popup .popup-values")
    heads = await page.locator(".popup-values th").all_inner_texts()
    assert heads == ["因子", "当前", "1 小时", "24 小时", "日均"]
    pm = page.locator(".popup-values tr[data-code='a34004'] td")
    cells = await pm.all_inner_texts()
    assert [float(c) for c in cells[1:4]] == [20.0, 30.0, 25.0]
    await page.screenshot(path=str(ARTIFACTS / "map-popup-values.png"))
    assert not errors, errors


async def test_empty_states_say_why(
    browser: Any,  # noqa: F811
    server: TestServer,  # noqa: F811
    seeded: Seed,
) -> None:
    errors: list[str] = []
    base = str(server.make_url("")).rstrip("/")
    page = await _page(browser, server, "maintainer", errors)
    # one station in the maintainer's grid: the heat map says it needs three
    await _ready(page, f"{base}/map", errors)
    await page.check("#l-heat")
    await _heat_at(page)
    assert await page.inner_text("#heat-state") == "热力图至少需要 3 个有坐标的站点，当前只有 1 个"
    # filters that leave nothing
    await page.select_option("#f-status", "disabled")
    await page.wait_for_function("() => document.body.dataset.stations === '0'")
    assert "当前筛选条件下没有数据" in await page.inner_text("#map-counts")
    await page.screenshot(path=str(ARTIFACTS / "map-empty-states.png"))
    # rankings before the first refresh: when the next one is
    page = await _page(browser, server, "admin", errors)
    await _ready(page, f"{base}/rankings", errors)
    notice = page.locator("#rk-empty")
    assert await notice.is_visible()
    text = await notice.inner_text()
    assert "排名每 30 分钟更新，下次 " in text
    hhmm = text.split("下次 ")[1][:5]
    assert hhmm[2] == ":" and hhmm[3:] in ("00", "30")
    await page.screenshot(path=str(ARTIFACTS / "rankings-empty.png"), full_page=True)
    assert not errors, errors
