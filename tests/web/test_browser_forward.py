"""Browser test of the forwarding admin page: headless Chromium (tests/browser.py) against
the real app.  An admin opens 上级平台转发 from the navigation, adds a target with a
password and an SM4 key (which the page never shows again), sees it listed as 未连接 with
an empty backlog, and removes it.  Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.browser import ARTIFACTS_ROOT, collect_errors

from .conftest import PASSWORD, Seed

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"
SECRET = "Upstream-Secret-9"


async def test_add_and_remove_target(
    web_browser: Any, web_server: TestServer, seeded: Seed
) -> None:
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
    await page.click('a[href="/admin/forward"]')
    await page.wait_for_selector("#forward-table td:has-text('尚未配置转发目标')")
    await page.fill("#f-name", "province")
    await page.fill("#f-host", "127.0.0.1")
    await page.fill("#f-port", "9212")
    await page.fill("#f-password", SECRET)
    await page.select_option("#f-edition", "2025")
    await page.fill("#f-key", "0123456789abcdef")
    await page.click("#forward-form button[type=submit]")
    await page.wait_for_selector("#forward-table td:has-text('province')")
    assert await page.locator("#forward-table td:has-text('未连接')").count() == 1
    await page.screenshot(path=str(ARTIFACTS / "forward-01-targets.png"), full_page=True)
    assert SECRET not in await page.content()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.click("#forward-table button:has-text('删除')")
    await page.wait_for_selector("#forward-table td:has-text('尚未配置转发目标')")
    assert errors == []
    await context.close()
