"""Browser test of the 系统备份 page: headless Chromium (tests/browser.py) against the real app
and database. The admin sees the settings in force (never the copy command), no backups
yet, clicks 立即备份, sees the request wait for the scheduler and a second click (in another
tab) refused in Chinese; the leader's ``backup-requests`` job (run here, as the
scheduler would) makes a real backup, and the page — polling — shows it done and lists
the file with the restore command. A viewer gets the 403 page and no 备份 entry.
Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from envgrid.backup_job import request_jobs
from envgrid.settings import Settings
from store.db import create_pool
from tests.browser import ARTIFACTS_ROOT, chromium, collect_errors, log_in
from tests.webapp import app_settings
from web.app import create_app

from .conftest import Seed

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "web"
SECRET = "hunter2-offsite-key"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium(ARTIFACTS) as b:
        yield b


@pytest.fixture
def settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    offsite = pg_reachable_tmp / "offsite"
    offsite.mkdir()
    return app_settings(
        db_dsn,
        pg_reachable_tmp,
        {
            "backup.dir": str(pg_reachable_tmp / "backups"),
            "backup.schedule": "02:30",
            "backup.copy_command": f"sh -c 'cp \"$2\" {offsite}/' sh --key={SECRET} {{file}}",
        },
    )


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any], settings: Settings, db_dsn: str, seeded: Seed
) -> TestServer:
    return await aiohttp_server(create_app(settings, db_dsn, background=False))


async def test_backup_page_backup_now_and_refusals(
    browser: Any, server: TestServer, settings: Settings, db_dsn: str, seeded: Seed
) -> None:
    base = str(server.make_url("/")).rstrip("/")
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    collect_errors(page, errors)
    await log_in(page, base, "admin")
    assert await page.locator(".mainnav a", has_text="备份").count() == 1
    await page.goto(f"{base}/admin/backups")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    shown = await page.inner_text("#backup-settings")
    assert "每天 02:30" in shown and "最新 7 个" in shown and str(settings.backup.dir) in shown
    assert "已配置（命令内容不在网页显示" in shown
    assert "目录中还没有备份" in await page.inner_text("#backup-table")
    restore = await page.inner_text("#restore-panel")
    assert "envgrid backup restore" in restore and "网页上不提供恢复" in restore
    assert "不能通过网页下载" in await page.content()
    # a second tab, opened before the click below: its button is still enabled
    tab = await context.new_page()
    await tab.goto(f"{base}/admin/backups")
    await tab.wait_for_selector("body[data-ready='1']", state="attached")

    page.once("dialog", lambda d: d.accept())
    await page.click("#backup-start")
    await page.wait_for_selector("#backup-current:has-text('等待调度进程执行')")
    assert await page.is_disabled("#backup-start")
    # the second click, in the other tab: refused with a clear message, and the tab then
    # shows the waiting request too
    tab.once("dialog", lambda d: d.accept())
    await tab.click("#backup-start")
    await tab.wait_for_selector("#toast:has-text('不能同时进行两个备份')")
    await tab.wait_for_selector("#backup-current:has-text('等待调度进程执行')")
    await tab.close()
    await page.screenshot(path=str(ARTIFACTS / "backup-01-requested.png"), full_page=True)

    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        (job,) = request_jobs(settings, db_dsn, pool)
        assert "MiB" in (await job.run(datetime.now(UTC)) or "")
    finally:
        await pool.close()
    # the page is polling: it sees the end, says so and lists the new backup
    await page.wait_for_selector("#backup-table code:has-text('.tar')", timeout=15_000)
    await page.wait_for_selector("#backup-current:has-text('当前没有进行中的备份')")
    files = await page.inner_text("#backup-table")
    assert "含密钥" in files and ("PostgreSQL" in files or "TimescaleDB" in files)
    assert "成功" in await page.inner_text("#runs-table")
    assert not await page.is_disabled("#backup-start")
    (backup,) = settings.backup.directory(settings.core.data_dir).iterdir()
    command = await page.inner_text("#restore-command")
    assert command == f"envgrid backup restore {backup} --data-dir 新的数据目录"
    html = await page.content()
    assert SECRET not in html
    await page.screenshot(path=str(ARTIFACTS / "backup-02-done.png"), full_page=True)
    assert not errors, errors
    await context.close()

    # anyone else: the 403 page, and no 备份 in the navigation
    other = await browser.new_context(locale="zh-CN")
    viewer = await other.new_page()
    await log_in(viewer, base, "viewer")
    assert await viewer.locator(".mainnav a", has_text="备份").count() == 0
    resp = await viewer.goto(f"{base}/admin/backups")
    assert resp.status == 403 and "没有权限" in await viewer.content()
    await other.close()
