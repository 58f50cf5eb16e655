"""The top bar at desktop width (headless Chromium, tests/browser.py): an administrator
sees every menu entry (the casework plug-in's too) on one line with the user menu at
1440 px, none cut off; narrower, the entries scroll sideways instead of wrapping."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.browser import ARTIFACTS_ROOT, collect_errors, log_in

from .conftest import Seed

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"
MEASURE = """() => {
  const box = (s) => document.querySelector(s).getBoundingClientRect();
  const nav = document.querySelector(".mainnav");
  return { bar: box(".topbar").height, brand: box(".brand").top, user: box(".usermenu").top,
           links: nav.querySelectorAll("a").length, overflow: nav.scrollWidth - nav.clientWidth };
}"""


async def test_admin_menu_on_one_line(
    web_browser: Any, web_server: TestServer, seeded: Seed
) -> None:
    base = str(web_server.make_url("/")).rstrip("/")
    context = await web_browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    await log_in(page, base, "admin")
    await page.goto(f"{base}/account/password")
    wide = await page.evaluate(MEASURE)
    await page.screenshot(path=str(ARTIFACTS / "topbar-1440.png"))
    assert wide["links"] >= 15, wide
    assert wide["bar"] < 60 and abs(wide["user"] - wide["brand"]) < 20, wide  # one line
    assert wide["overflow"] <= 0, wide  # every entry visible
    await page.set_viewport_size({"width": 1000, "height": 800})
    narrow = await page.evaluate(MEASURE)
    assert narrow["bar"] < 60 and narrow["overflow"] > 0, narrow  # scrolls, not wraps
    await context.close()
    assert not errors, errors
