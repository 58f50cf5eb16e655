"""Headless Chromium for the browser tests (tests/web, tests/web/casework): Debian's
``/usr/bin/chromium`` (or ``$CHROMIUM``) driven by Playwright through ``executable_path``.

A test module's ``browser`` fixture is ``async with chromium(ARTIFACTS) as b: yield b``;
it skips the test when Chromium or Playwright is missing.  Screenshots and downloads go to
a folder of :data:`ARTIFACTS_ROOT` (``test-artifacts/``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest

from tests.webapp import PASSWORD

CHROMIUM: Final = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_ROOT: Final = Path(__file__).resolve().parents[1] / "test-artifacts"
#: A 375 px phone (``browser.new_context(**PHONE)``).
PHONE: Final[dict[str, Any]] = {
    "viewport": {"width": 375, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


def skip_reason() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@contextlib.asynccontextmanager
async def chromium(artifacts: Path) -> AsyncIterator[Any]:
    """A launched headless Chromium (skips the test without one); ``artifacts`` is made."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    artifacts.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


def collect_errors(page: Any, errors: list[str]) -> None:
    """Append the page's uncaught exceptions and console errors to ``errors``."""
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)


async def log_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the log-in page and wait until it has moved on."""
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login-submit")
    await page.wait_for_url(lambda url: "/login" not in url)
