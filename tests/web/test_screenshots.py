"""Screenshots of the main dashboard pages for docs/screenshots/ (issue 22): the demo city
(``envgrid demo load``) on an embedded PostgreSQL, the dashboard served on loopback, headless
Chromium (tests/browser.py) at desktop (1440×900) and phone (390×844) width, one viewport
each (no full-page images), saved as optimised PNGs.

Skipped unless ``ENVGRID_SCREENSHOTS=1`` (it rewrites committed files and is slow)::

    ENVGRID_SCREENSHOTS=1 ENVGRID_DATABASE__ENGINE=postgres \\
        python -m pytest tests/web/test_screenshots.py
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp.test_utils import TestServer
from PIL import Image

from envgrid.demo.load import LoadReport
from store.db import connect
from tests.browser import CHROMIUM, CHROMIUM_ARGS, skip_reason
from tests.web.casework.web_fixture import browser_login
from tests.web.test_demo_pages_browser import (  # noqa: F401  (fixtures)
    ID_SOURCES,
    demo,
    demo_settings,
    server,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("ENVGRID_SCREENSHOTS") != "1", reason="set ENVGRID_SCREENSHOTS=1"
    ),
]

OUT: Final = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP: Final[dict[str, Any]] = {"viewport": {"width": 1440, "height": 900}}
PHONE: Final[dict[str, Any]] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
#: (file name, user (None: not logged in), path, phone?); ``{x}`` is a demo row's id
#: (``ID_SOURCES`` of the page walk).
SHOTS: Final = [
    ("map", "demo_officer", "/map", False),
    ("map-phone", "demo_officer", "/map", True),
    ("heatmap", "demo_officer", "/map", False),
    ("station", "demo_officer", "/stations/{/stations/}", False),
    ("station-phone", "demo_officer", "/stations/{/stations/}", True),
    ("rankings", "demo_officer", "/rankings", False),
    ("reports", "demo_officer", "/reports", False),
    ("alerts", "demo_officer", "/alerts", False),
    ("cases", "demo_officer", "/cases", False),
    ("cases-phone", "demo_officer", "/cases", True),
    ("case", "demo_officer", "/cases/{/cases/}", False),
    ("case-phone", "demo_officer", "/cases/{/cases/}", True),
    ("cases-done", "demo_officer", "/cases/done", False),
    ("work-calendar", "demo_admin", "/work-calendar", False),
    ("grid", "demo_admin", "/grid", False),
    ("grid-edit", "demo_admin", "/grid/edit", False),
    ("patrol-task-phone", "demo_grid", "/patrol/tasks/{/patrol/tasks/}", True),
    ("complaint-phone", None, "/complaint", True),
    ("complaint-status-phone", None, "/complaint/status", True),
    ("audit", "demo_admin", "/audit", False),
    ("backups", "demo_admin", "/admin/backups", False),
    ("forward", "demo_admin", "/admin/forward", False),
]
#: What to click before the shot, by file name (the heat map is a layer of the map page).
CLICKS: Final = {"heatmap": "#l-heat"}
#: Time for map tiles, boundaries and charts to paint after the page says it is ready.
SETTLE_MS: Final = 800


def small_png(raw: bytes) -> bytes:
    """``raw`` (a PNG) as an optimised palette PNG (256 colours: UI screenshots lose
    nothing visible, and stay well under 200 KB)."""
    img = Image.open(io.BytesIO(raw)).convert("RGB")
    out = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.fixture
async def zh_browser() -> AsyncIterator[Any]:
    """Chromium asked for Chinese (``--lang``: date inputs and the file picker as a user
    sees them; needs Debian's ``chromium-l10n``, else they stay English); skips like
    tests/browser.py without Chromium or Playwright."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=zh-CN"]
        )
        try:
            yield b
        finally:
            await b.close()


async def _ids(dsn: str) -> dict[str, int]:
    conn = await connect(dsn)
    try:
        return {prefix: int(await conn.fetchval(sql)) for prefix, sql in ID_SOURCES.items()}
    finally:
        await conn.close()


async def _shoot(page: Any, url: str, target: Path) -> None:
    """Open ``url``, wait until it is ready, click what :data:`CLICKS` says, save the PNG."""
    await page.goto(url, wait_until="load")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    if target.stem in CLICKS:
        await page.click(CLICKS[target.stem])
    await page.wait_for_timeout(SETTLE_MS)
    target.write_bytes(small_png(await page.screenshot()))


async def test_screenshots_of_main_pages(
    zh_browser: Any,
    server: TestServer,  # noqa: F811
    demo: LoadReport,  # noqa: F811
    db_dsn: str,
) -> None:
    base = str(server.make_url("/")).rstrip("/")
    ids = await _ids(db_dsn)
    OUT.mkdir(parents=True, exist_ok=True)
    contexts: dict[tuple[str | None, bool], Any] = {}
    try:
        for name, user, path, phone in SHOTS:
            key = (user, phone)
            if key not in contexts:
                ctx = await zh_browser.new_context(**(PHONE if phone else DESKTOP), locale="zh-CN")
                contexts[key] = (ctx, await ctx.new_page())
                if user is not None:
                    password = demo.city.logins[user][1]
                    await browser_login(contexts[key][1], base, user, "/account/2fa", password)
            url = path
            for prefix, value in ids.items():
                url = url.replace("{" + prefix + "}", str(value))
            target = OUT / f"{name}.png"
            await _shoot(contexts[key][1], base + url, target)
            assert target.stat().st_size <= 200_000, f"{target.name} is too large"
    finally:
        for ctx, _page in contexts.values():
            await ctx.close()
