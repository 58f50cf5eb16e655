"""Browser test of the second factor and the security page: headless Chromium (see
tests/browser.py) against the real app with ``web.require_2fa_for = ["admin"]``.

The admin logs in with the password, is sent to enrol, scans nothing but reads the
base32 secret off the page, confirms with a real pyotp code, opens the security page
(sessions, tokens, second factors), ends another user's session there, logs out and logs
in again with password + code.  Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiohttp.test_utils import TestServer

from tests.browser import ARTIFACTS_ROOT, chromium, collect_errors
from web.app import create_app

from .conftest import PASSWORD, Seed, make_web_settings

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium(ARTIFACTS) as b:
        yield b


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path, seeded: Seed
) -> TestServer:
    settings = make_web_settings(db_dsn, pg_reachable_tmp, require_2fa_for=["admin"])
    return await aiohttp_server(create_app(settings, db_dsn, background=False))


async def _password_step(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")


async def test_enrol_security_page_and_login_with_code(
    browser: Any, server: TestServer, seeded: Seed
) -> None:
    base = str(server.make_url("/")).rstrip("/")
    # another user's session, to be ended from the security page
    other = await browser.new_context(locale="zh-CN", user_agent="OtherBrowser/1.0")
    viewer = await other.new_page()
    await _password_step(viewer, base, "viewer")
    await viewer.wait_for_url(f"{base}/map")

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    await _password_step(page, base, "admin")
    # the admin role requires the second factor: enrolment first, whatever was asked for
    await page.wait_for_url(f"{base}/account/2fa")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert await page.is_visible("#tf-required")
    assert await page.locator(".mainnav a").count() == 0  # nothing else to open yet
    await page.goto(f"{base}/admin/security")
    assert page.url == f"{base}/account/2fa"
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    await page.click("#tf-begin")
    await page.wait_for_selector("#tf-qr[src^='data:image/svg+xml']")
    secret = (await page.inner_text("#tf-secret")).replace(" ", "")
    await page.screenshot(path=str(ARTIFACTS / "2fa-01-enrol.png"))
    await page.fill("#tf-code", pyotp.TOTP(secret).now())
    await page.click("#tf-form button[type=submit]")
    await page.wait_for_url(f"{base}/map")

    # the security page: sessions (no token values), tokens, second factors
    await page.goto(f"{base}/admin/security")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    sessions = await page.inner_text("#sessions-table")
    assert "viewer" in sessions and "OtherBrowser/1.0" in sessions and "当前会话" in sessions
    tokens = await page.inner_text("#tokens-table")
    assert all(t not in tokens for t in seeded.tokens.values())
    assert "已绑定" in await page.inner_text("#tf-table")
    html = await page.content()
    assert secret not in html
    for cookie in await other.cookies():
        assert cookie["value"] not in html
    await page.screenshot(path=str(ARTIFACTS / "2fa-02-security.png"), full_page=True)
    page.once("dialog", lambda d: d.accept())
    row = page.locator("#sessions-table tr", has_text="OtherBrowser/1.0")
    await row.locator("button").click()
    await row.wait_for(state="detached")  # the list reloaded without it
    await viewer.goto(f"{base}/map")
    assert "/login" in viewer.url  # that session is over

    # log out, log in again: the code after the password
    await page.click("form[action='/logout'] button")
    await page.wait_for_url(f"{base}/login")
    await _password_step(page, base, "admin")
    await page.wait_for_selector("#totp-code")
    await page.screenshot(path=str(ARTIFACTS / "2fa-03-code.png"))
    await page.fill("#totp-code", pyotp.TOTP(secret).at(time.time() + 30))
    await page.click("#totp-submit")
    await page.wait_for_url(f"{base}/map")
    assert not errors, errors
    await context.close()
    await other.close()
