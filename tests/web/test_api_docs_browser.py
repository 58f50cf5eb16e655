"""``/api/docs`` in headless Chromium with every request outside the test server refused:
Swagger UI (vendored, no CDN) renders the operations of the OpenAPI document under the
page's own Content-Security-Policy, without errors.  Screenshot:
``test-artifacts/web/api_docs.png``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer

from envgrid.settings import Settings
from tests.browser import ARTIFACTS_ROOT, chromium, collect_errors
from web.app import VENDOR_DIR, create_app

from .conftest import Seed

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium(ARTIFACTS) as b:
        yield b


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestServer:
    if not (VENDOR_DIR / "swagger-ui" / "swagger-ui-bundle.js").is_file():
        pytest.skip("front-end libraries missing: cd web/frontend && npm ci && node copy-vendor.mjs")
    return await aiohttp_server(create_app(web_settings, db_dsn, background=False))


async def test_api_docs_render_offline(browser: Any, server: TestServer) -> None:
    base = str(server.make_url("/")).rstrip("/")
    own = urlsplit(base).netloc
    refused: list[str] = []

    async def only_the_server(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    await context.route("**/*", only_the_server)
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    await page.goto(f"{base}/api/docs")
    await page.wait_for_selector(".opblock", timeout=30_000)
    assert "envgrid API" in await page.locator(".info .title").inner_text()
    info = await page.locator(".info").inner_text()
    assert "获取 API 令牌" in info and "/api/v1/auth/tokens" in info
    await page.screenshot(path=str(ARTIFACTS / "api_docs.png"))
    assert errors == []
    # the operation list is virtualised: each common call is opened by its deep link
    for tag, operation, path in (
        ("站点", "get_stations", "/api/v1/stations"),
        ("站点", "get_stations_id_series", "/api/v1/stations/{id}/series"),
        ("地图", "get_map_stations", "/api/v1/map/stations"),
        ("告警", "get_alerts", "/api/v1/alerts"),
        ("案件", "post_cases", "/api/v1/cases"),
        ("认证", "post_auth_tokens", "/api/v1/auth/tokens"),
    ):
        await page.goto("about:blank")  # a new load: deep links are read at start
        await page.goto(f"{base}/api/docs#/{tag}/{operation}")
        block = page.locator(f"#operations-{tag}-{operation}")
        await block.wait_for(timeout=30_000)
        summary = await block.locator(".opblock-summary-path").inner_text()
        assert summary.replace("\u200b", "") == path
        description = block.locator(".opblock-description-wrapper").first
        await description.wait_for(timeout=10_000)
        assert "curl" in await description.inner_text()
        assert await block.locator(".parameters-container, .opblock-section").count() >= 1
    await page.screenshot(path=str(ARTIFACTS / "api_docs_operation.png"))
    assert refused == []
    # Swagger UI warns (as an error) that the "_" of the operation ids in a deep link
    # could be read as a space: the ids are found regardless, as checked above
    assert [e for e in errors if "escaping deep link whitespace" not in e] == []
    await context.close()
