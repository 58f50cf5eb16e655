"""Browser test of the HJ 212-2025 views: headless Chromium (tests/browser.py) against the
real app.  An admin assigns an MN to a logger on /admin/loggers (the station is registered
and CN 1002 queued), and the station page with its 2025 part (``_station_2025.html``)
shows the furnace temperature and a failed standard-sample check under the 2025 names.  Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from store.db import connect
from tests.browser import ARTIFACTS_ROOT, collect_errors

from .conftest import PASSWORD, Seed

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"
LOGGER = "6970000000001ABCDEFG1234"
MN = "0100002025A8900016F0004D"


async def test_assign_logger_and_station_records(
    web_browser: Any, web_server: TestServer, seeded: Seed
) -> None:
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "INSERT INTO pending_loggers (logger_id, cpu_id, mac1, st, password, peer, frames)"
            " VALUES ($1, 'A800200A8C6D', 'E86A643C7BBC', '22', 'pw', '10.0.0.9:4000', 3)",
            LOGGER,
        )
        sid = seeded.stations["good"]
        await conn.execute("UPDATE stations SET registered_edition = '2025' WHERE id = $1", sid)
        await conn.execute(
            "INSERT INTO records_2025 (station_id, cn, code, ts, value, fields, received_at)"
            " VALUES ($1, 2111, 'a01901', now() - interval '5 minutes', 868, '{}', now()),"
            " ($1, 2062, 'w01018', now() - interval '5 minutes', 41.2,"
            '  \'{"StandardValue": "50", "ResultType": "0"}\', now())',
            sid,
        )
        base = str(web_server.make_url("/")).rstrip("/")
        context = await web_browser.new_context(locale="zh-CN")
        page = await context.new_page()
        errors: list[str] = []
        collect_errors(page, errors)
        await page.goto(f"{base}/login")
        await page.fill("#username", "admin")
        await page.fill("#password", PASSWORD)
        await page.click("#login-submit")
        await page.wait_for_url(f"{base}/map")
        await page.click('a[href="/admin/loggers"]')
        await page.wait_for_selector(f"#loggers-table td:has-text('{LOGGER}')")
        await page.click("#loggers-table button:has-text('分配 MN')")
        await page.fill("#a-mn", MN)
        await page.fill("#a-name", "焚烧炉 3")
        await page.screenshot(path=str(ARTIFACTS / "hj2025-01-assign.png"), full_page=True)
        await page.click("#assign-form button[type=submit]")
        await page.wait_for_selector("#loggers-table td:has-text('没有待分配的数采仪')")
        row = await conn.fetchrow(
            "SELECT s.registered_edition, c.cn FROM stations s"
            " JOIN station_commands c ON c.station_id = s.id WHERE s.mn = $1",
            MN,
        )
        assert tuple(row) == ("2025", 1002)
        # the station page with its 2025 part
        await page.goto(f"{base}/stations/{sid}")
        await page.wait_for_selector("#records-2025-panel:not([hidden])")
        await page.click("#records-2025-tabs button[data-cn='2111']")
        # the factor by name, its code only in the tooltip
        await page.wait_for_selector(
            "#records-2025-table td span[title='编码 a01901']:text-is('炉膛温度')"
        )
        await page.click("#records-2025-tabs button[data-cn='2062']")
        failed = page.locator("#records-2025-table td:has-text('结果 不合格')")
        await failed.wait_for()
        await page.screenshot(path=str(ARTIFACTS / "hj2025-02-station.png"), full_page=True)
        assert errors == []
        await context.close()
    finally:
        await conn.close()
