"""The incident case and the work calendar in the dashboard: the case page lists its
alerts with their timelines and offers 恢复结案 once they all cleared; the calendar page
shows the year and lets the administrator override a day (browser: headless Chromium)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from envgrid.settings import Settings
from tests.browser import ARTIFACTS_ROOT, collect_errors
from tests.web.casework.alerts_fixture import (
    ensure_alerts_table,
    factor_id,
    insert_alert,
    set_alert_state,
)
from tests.web.casework.web_fixture import WebSeed, browser_login, call
from web.app import create_app
from web.casework.cases.bridge import on_alert_event
from web.casework.kernel import calendar_days as cal
from web.casework.kernel.access import now
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.holidays import library_years
from web.keys import POOL_KEY

ARTIFACTS = ARTIFACTS_ROOT / "cases"


async def _incident(pool: asyncpg.Pool, seed: WebSeed, config: CaseConfig) -> tuple[int, int]:
    """PM2.5 (较重) and PM10 (严重) over their limits at one station: one case; PM2.5 has
    cleared.  Returns (case id, PM10 alert id)."""
    w = seed.world
    at = now() - timedelta(hours=1)
    async with pool.acquire() as conn:
        await ensure_alerts_table(conn)
        pm25 = await factor_id(conn, "a34004", "PM2.5")
        pm10 = await factor_id(conn, "a34002", "PM10")
        a1 = await insert_alert(conn, rule="exceedance", station_id=w.station, factor=pm25,
                                first_seen=at, value=120.0, threshold=75.0)  # fmt: skip
        a2 = await insert_alert(conn, rule="exceedance", station_id=w.station, factor=pm10,
                                first_seen=at + timedelta(minutes=5), value=480.0,
                                threshold=150.0, severity="critical")  # fmt: skip
        for alert, kind, t in ((a1, "firing", at), (a2, "firing", at + timedelta(minutes=5)),
                               (a1, "resolved", at + timedelta(minutes=40))):  # fmt: skip
            await conn.execute(
                "INSERT INTO alert_events (alert_id, at, kind, to_state, comment)"
                " VALUES ($1, $2, $3, $3, $4)",
                alert, t, kind, "小时均值超标" if kind == "firing" else "",
            )  # fmt: skip
    first = await on_alert_event(pool, a1, "firing", config, now=at)
    await on_alert_event(pool, a2, "firing", config, now=at + timedelta(minutes=5))
    async with pool.acquire() as conn:
        await set_alert_state(conn, a1, "resolved", at=at + timedelta(minutes=40))
    await on_alert_event(pool, a1, "resolved", config, now=at + timedelta(minutes=40))
    assert first.case_id is not None
    return first.case_id, a2


async def _resolve(pool: asyncpg.Pool, alert: int, config: CaseConfig) -> None:
    at = now()
    async with pool.acquire() as conn:
        await set_alert_state(conn, alert, "resolved", at=at)
    await on_alert_event(pool, alert, "resolved", config, now=at)


async def test_case_page_data(client: TestClient, web_seed: WebSeed, config: CaseConfig) -> None:
    pool = client.app[POOL_KEY]
    case_id, pm10 = await _incident(pool, web_seed, config)
    detail = await call(client, "GET", f"/api/v1/cases/{case_id}", web_seed, "officer")
    assert detail["title"] == "一号站 PM2.5、PM10 超标"
    assert (detail["priority"], detail["priority_label"], detail["urgent"]) == (3, "严重", True)
    assert [(a["factor_name"], a["priority_label"], a["state"]) for a in detail["alerts"]] == [
        ("PM2.5", "较重", "resolved"),
        ("PM10", "严重", "firing"),
    ]
    assert [e["kind"] for e in detail["alerts"][0]["events"]] == ["firing", "resolved"]
    assert detail["recovered_at"] is None
    assert "close_recovered" not in [a["action"] for a in detail["actions"]]
    await _resolve(pool, pm10, config)
    detail = await call(client, "GET", f"/api/v1/cases/{case_id}", web_seed, "officer")
    assert detail["recovered_at"] is not None
    assert "close_recovered" in [a["action"] for a in detail["actions"]]
    board = await call(client, "GET", "/api/v1/cases?source=alert", web_seed, "officer")
    [item] = board["items"]
    assert (item["priority"], item["urgent"]) == (3, True) and item["recovered_at"]
    # the unit may not close it; the officer does, in one step with a reason
    unit = await call(client, "GET", f"/api/v1/cases/{case_id}", web_seed, "handler")
    assert "close_recovered" not in [a["action"] for a in unit["actions"]]
    await call(client, "POST", f"/api/v1/cases/{case_id}/actions", web_seed, "handler",
               status=403, json={"action": "close_recovered", "comment": "x"})  # fmt: skip
    await call(client, "POST", f"/api/v1/cases/{case_id}/actions", web_seed, "officer",
               status=400, json={"action": "close_recovered"})  # fmt: skip
    done = await call(client, "POST", f"/api/v1/cases/{case_id}/actions", web_seed, "officer",
                      json={"action": "close_recovered", "comment": "数据已恢复正常"})  # fmt: skip
    assert done["state"] == "archived"


# -- the browser -------------------------------------------------------------------------


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any], case_web_settings: Settings, db_dsn: str,
    web_seed: WebSeed,
) -> TestServer:  # fmt: skip
    srv: TestServer = await aiohttp_server(create_app(case_web_settings, db_dsn, background=False))
    return srv


@pytest.mark.browser
async def test_incident_case_and_calendar_pages(
    browser: Any, server: TestServer, web_seed: WebSeed, config: CaseConfig
) -> None:
    pool = server.app[POOL_KEY]
    case_id, pm10 = await _incident(pool, web_seed, config)
    await _resolve(pool, pm10, config)
    async with pool.acquire() as conn:
        await cal.update_calendar(conn, now())
    base = str(server.make_url("/")).rstrip("/")
    errors: list[str] = []
    desk = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = await desk.new_page()
    collect_errors(page, errors)

    # the case page: two alerts with their timelines, 已恢复, 恢复结案 with a reason
    await browser_login(page, base, "officer", f"/cases/{case_id}")
    await page.wait_for_selector("#case-alerts li[data-alert]")
    assert await page.locator("#case-alerts > li").count() == 2
    assert await page.locator("#case-alerts .alert-timeline li").count() == 3
    tags = await page.inner_text("#case-tags")
    assert "优先级 严重" in tags and "已恢复" in tags
    assert "已全部恢复" in await page.inner_text("#alerts-summary")
    await page.screenshot(path=str(ARTIFACTS / "20-incident-case.png"), full_page=True)
    await page.click("#action-bar button[data-action='close_recovered']")
    await page.fill("#af-comment", "各因子均已恢复正常，现场无异常")
    await page.click("#af-submit")
    await page.wait_for_selector("#trail li[data-action='close_recovered']")
    assert "恢复结案" in await page.inner_text("#case-tags")

    # the board warns while next year's holidays are missing from the calendar
    await page.goto(f"{base}/cases")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    missing = date.today().year + 1 not in library_years()
    assert await page.locator("#calendar-warning").is_visible() == missing

    # the calendar: officers read it, only the administrator edits it
    await page.goto(f"{base}/work-calendar")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert await page.locator("#cal-update").count() == 0
    assert await page.locator("#cal-edit-hint").is_hidden()
    await desk.close()

    admin_ctx = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    admin = await admin_ctx.new_page()
    collect_errors(admin, errors)
    await browser_login(admin, base, "admin", "/work-calendar")
    year = date.today().year
    warned = not await admin.locator("#cal-warning").is_hidden()
    assert warned == (year + 1 not in library_years())
    await admin.click("#cal-prev") if year > 2026 else None
    for _ in range(abs(year - 2026) - (1 if year > 2026 else 0)):
        await admin.click("#cal-prev" if year > 2026 else "#cal-next")
    await admin.wait_for_selector("#cal-year:has-text('2026 年')")
    await admin.wait_for_selector("td.cal-day.holiday[data-day='2026-10-01']")
    assert await admin.locator("td.cal-day.workday[data-day='2026-10-10']").count() == 1
    await admin.click("td.cal-day[data-day='2026-10-09']")
    await admin.check("#cal-form input[value='holiday']")
    await admin.fill("#cal-form input[name='name']", "防汛调休")
    await admin.click("#cal-form button[value='save']")
    await admin.wait_for_selector("td.cal-day.override.holiday[data-day='2026-10-09']")
    await admin.screenshot(path=str(ARTIFACTS / "21-work-calendar.png"), full_page=True)
    await admin_ctx.close()
    assert not errors, errors
