"""The data audit in headless Chromium: on a station page an officer selects a range on
the chart (the ECharts brush), gives a reason and clicks 标记无效; raw and audited series
sit side by side, the log row appears; on 数据审核 the pre-audit proposals are confirmed
in bulk.  Screenshots: test-artifacts/web/audit-*.png."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from aggregates.audit.proposals import scan
from store.db import connect
from tests.browser import ARTIFACTS_ROOT, collect_errors

from .conftest import PASSWORD, Seed
from .test_browser import browser, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
ARTIFACTS = ARTIFACTS_ROOT / "web"
TZ = ZoneInfo("Asia/Shanghai")


def _ms(day: date, hour: int) -> int:
    return int(datetime.combine(day, time(hour), tzinfo=TZ).timestamp() * 1000)


async def test_select_on_the_chart_then_invalidate_and_confirm_proposals(
    browser: Any,  # noqa: F811
    server: TestServer,  # noqa: F811
    seeded: Seed,
    analytics: date,
) -> None:
    base = str(server.make_url("")).rstrip("/")
    page = await (await browser.new_context(locale="zh-CN")).new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    await page.goto(f"{base}/login")
    await page.fill("#username", "officer")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)

    await page.goto(f"{base}/stations/{seeded.stations['good']}")
    await page.select_option("#audit-factor", "a34004")
    await page.fill("#audit-day", analytics.isoformat())
    await page.click("#audit-query button[type=submit]")
    await page.wait_for_selector("#audit-summary:has-text('24 个小时值')")
    # the officer drags over 08:00–09:30 on the chart: the same brush action ECharts fires
    shift = 8 * 3600 * 1000  # the chart draws the platform's wall clock (UTC+8)
    lo, hi = _ms(analytics, 8) + shift, _ms(analytics, 9) + 30 * 60 * 1000 + shift
    await page.evaluate(
        """([lo, hi]) => {
            const chart = echarts.getInstanceByDom(document.getElementById('audit-chart'));
            chart.dispatchAction({type: 'brush', areas: [
                {brushType: 'lineX', xAxisIndex: 0, coordRange: [lo, hi]}]});
        }""",
        [lo, hi],
    )
    assert await page.input_value("#audit-from") == f"{analytics.isoformat()}T08:00"
    assert await page.input_value("#audit-to") == f"{analytics.isoformat()}T09:00"
    await page.fill("#audit-reason", "仪器故障")
    await page.click("#audit-invalidate")
    await page.wait_for_selector("#audit-summary:has-text('已标记无效 2 个')")
    await page.wait_for_selector("#audit-log-table tbody tr")
    row = page.locator("#audit-log-table tbody tr").first
    assert "officer（平台）" in await row.inner_text()
    text = await row.inner_text()
    assert "标记无效" in text and "仪器故障" in text and "PM2.5" in text and "a34004" not in text
    await page.screenshot(path=str(ARTIFACTS / "audit-station.png"), full_page=True)

    # pre-audit: PM2.5 75 > PM10 70 at the moderate station (district R01, in scope)
    conn = await connect(seeded.dsn)
    try:
        lo_day = datetime.combine(analytics, time(0), tzinfo=TZ).astimezone(UTC)
        await scan(
            conn, lo_day, lo_day.replace(hour=lo_day.hour + 2), [seeded.stations["moderate"]]
        )
    finally:
        await conn.close()
    await page.goto(f"{base}/audit")
    await page.wait_for_selector("#proposals-table tbody tr")
    assert await page.locator("#proposals-table tbody tr").count() == 4  # 2 hours × 2
    await page.check("#p-all")
    assert await page.inner_text("#p-count") == "已选 4 条"
    await page.click("#p-confirm")
    await page.wait_for_selector("#proposals-table tbody td:has-text('没有待确认的预审核')")
    await page.wait_for_selector("#audit-log-table tbody tr:nth-child(3)")
    # one log row per factor and run of hours: the station's own + 2 from the proposals
    assert await page.locator("#audit-log-table tbody tr").count() == 3
    await page.screenshot(path=str(ARTIFACTS / "audit-page.png"), full_page=True)
    assert not [e for e in errors if "favicon" not in e], errors
