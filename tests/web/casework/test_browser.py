"""Browser tests (headless Chromium from Debian via Playwright, as tests/web): the case
board and a case handled through its page on a desktop; a grid member's patrol check-in
on a 375 px phone with the browser's geolocation; the grid map, the assessment and the
public complaint form.  Screenshots go to ``test-artifacts/cases/``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from envgrid.settings import Settings
from tests.browser import ARTIFACTS_ROOT, PHONE, collect_errors
from tests.web.casework.conftest import JPEG
from tests.web.casework.web_fixture import WebSeed, browser_login
from web.app import create_app
from web.casework.cases import intake
from web.casework.cases import service as cs
from web.casework.kernel.access import now
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.people import Role, set_area_unit
from web.casework.kernel.uploads import save_photos
from web.casework.patrol.service import PlanInput, create_plan, generate_patrol_tasks
from web.keys import POOL_KEY

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "cases"
#: The phone stands 15 m from the station (30.05, 120.05).
PHONE_POSITION = {"latitude": 30.05012, "longitude": 120.05008, "accuracy": 8}


def photo(color: tuple[int, int, int]) -> bytes:
    """A real (decodable) JPEG for the screenshots."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), color)
    draw = ImageDraw.Draw(image)
    for x in range(0, 320, 40):
        draw.line([(x, 0), (x + 120, 240)], fill=(255, 255, 255), width=6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
async def server(
    aiohttp_server: Callable[..., Any],
    case_web_settings: Settings,
    db_dsn: str,
    web_seed: WebSeed,
    config: CaseConfig,
) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(case_web_settings, db_dsn, background=False))
    w = web_seed.world
    pool = srv.app[POOL_KEY]
    at = now()
    async with pool.acquire() as conn:
        # cases in several phases: reported, dispatched (auto), handling, in check
        titles = ["河道漂浮垃圾", "工地扬尘", "餐饮油烟扰民", "夜间施工噪声", "排口异味"]
        ids = []
        for n, title in enumerate(titles):
            ref = await intake.create_case(
                conn,
                intake.NewCase(title, "complaint.air" if n % 2 else "other", "manual",
                           description=f"{title}，请尽快处理", lat=30.05 + n * 0.005,
                           lon=120.05 + n * 0.004),
                w.officer, config, now=at, index=await _index(conn),
            )  # fmt: skip
            ids.append(ref.id)
        for cid in ids[1:]:
            await cs.transition(conn, cid, "accept", w.officer, config, now=at)
            await cs.transition(conn, cid, "file", w.officer, config, now=at)
        await cs.transition(conn, ids[2], "take", w.handler, config, now=at)
        for cid in ids[3:]:
            await cs.transition(conn, cid, "take", w.handler, config, now=at)
            photos = await save_photos(
                config.uploads_dir,
                [("现场.jpg", photo((90, 120, 80)))],
                max_bytes=1 << 20,
                max_count=6,
                now=at,
            )
            await cs.transition(
                conn, cid, "feedback", w.handler, config, now=at, comment="已处理", photos=photos
            )
        await cs.transition(conn, ids[4], "send_check", w.officer, config, now=at)
        await _closed_cases(conn, web_seed, config, at)
        await create_plan(
            conn,
            PlanInput("一号站日巡", "daily", date.today(), station_ids=[w.station],
                      assignee_duty="member"),
            created_by="值班员",
        )  # fmt: skip
    assert await generate_patrol_tasks(pool, at, config) == 1
    return srv


async def _closed_cases(conn: Any, seed: WebSeed, config: CaseConfig, at: datetime) -> None:
    """A week-old history for the assessment: two units, some closed late."""
    w = seed.world
    await set_area_unit(conn, w.areas["G3"], w.units["U_WATER"])
    water = w.actor("H2", Role.UNIT, "U_WATER")
    start = at - timedelta(days=8)
    for n in range(8):
        in_g3 = n % 2 == 1
        ref = await intake.create_case(
            conn,
            intake.NewCase(f"历史案件{n + 1}", "other", "manual",
                       grid_id=w.areas["G3" if in_g3 else "G1"]),
            w.officer, config, now=start,
        )  # fmt: skip
        await cs.transition(conn, ref.id, "accept", w.officer, config, now=start)
        await cs.transition(conn, ref.id, "file", w.officer, config, now=start)
        unit = water if in_g3 else w.handler
        late = n in (1, 3, 6)
        done = at - timedelta(hours=1) if late else start + timedelta(hours=2)
        await cs.transition(conn, ref.id, "take", unit, config, now=done)
        photos = await save_photos(
            config.uploads_dir, [("处置后.jpg", JPEG)], max_bytes=1 << 20, max_count=6, now=done
        )
        await cs.transition(conn, ref.id, "feedback", unit, config, now=done, comment="已处置",
                            photos=photos)  # fmt: skip
        await cs.transition(conn, ref.id, "send_check", w.officer, config, now=done)
        checker = w.actor("GM2", Role.GRID_MEMBER, scope=(w.areas["G3"],)) if in_g3 else w.member
        await cs.transition(conn, ref.id, "check_pass", checker, config, now=done, comment="好")
        await cs.transition(conn, ref.id, "close", w.officer, config, now=done)


async def _index(conn: Any) -> Any:
    from web.casework.grid.service import load_grid_index

    return await load_grid_index(conn)


async def test_case_board_and_patrol_check_in(browser: Any, server: TestServer) -> None:
    base = str(server.make_url("/")).rstrip("/")
    errors: list[str] = []

    # -- desktop: the officer's board, a case page, an action, the grid map, the assessment
    desk = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = await desk.new_page()
    collect_errors(page, errors)
    await browser_login(page, base, "officer", "/cases")
    columns = await page.eval_on_selector_all(
        ".board-col",
        "cols => cols.map(c => [c.dataset.column, c.querySelectorAll('.case-card').length])",
    )
    assert dict(columns) == {
        "accept": 1,
        "dispatch": 1,
        "handle": 1,
        "check": 2,
        "close": 0,
        "hung": 0,
    }
    # an empty column says why (issue 22 §5)
    assert "没有这一阶段的案件" in await page.inner_text(".board-col[data-column='close']")
    assert await page.get_attribute("body", "data-cases") == "5"
    await page.screenshot(path=str(ARTIFACTS / "01-case-board.png"), full_page=True)

    # the reported case: accept it on its page; it is filed and auto-dispatched to the unit
    await page.click(".board-col[data-column='accept'] .case-card")
    await page.wait_for_selector("body[data-ready='1'] #trail li")
    assert "河道漂浮垃圾" in await page.inner_text("#case-title")
    await page.click("#action-bar button[data-action='accept']")
    await page.click("#af-submit")
    await page.wait_for_selector("#trail li[data-action='accept']")
    await page.click("#action-bar button[data-action='file']")
    await page.click("#af-submit")
    await page.wait_for_selector("#trail li[data-action='dispatch']")
    assert "已派遣" in await page.inner_text("#case-tags")
    assert "生态环境分局" in await page.inner_text("#case-facts")
    # deadlines in working time; 导航 links for the phone's map apps (高德 in GCJ-02)
    assert "个工作" in await page.inner_text("#case-facts")
    amap = await page.get_attribute("#case-facts a.nav-link[data-app='amap']", "href")
    assert amap and amap.startswith("https://uri.amap.com/marker?position=")
    await page.screenshot(path=str(ARTIFACTS / "02-case-detail.png"), full_page=True)
    # 已办: the cases the officer acted on, the one just filed first
    await page.goto(f"{base}/cases/done")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert int(await page.get_attribute("body", "data-cases") or 0) >= 5
    first = await page.inner_text("#done-list .case-card >> nth=0")
    assert "河道漂浮垃圾" in first and "我最近的操作：立案" in first
    await page.fill("#f-q", "没有这个案件")
    await page.click("#done-filter button[type='submit']")
    await page.wait_for_selector("#done-list .empty:has-text('当前筛选条件下没有')")

    # a case with the unit's photo, in check
    await page.goto(f"{base}/cases")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    await page.click(".board-col[data-column='check'] .case-card[data-state='checking']")
    await page.wait_for_selector("#trail .photos img")
    await page.screenshot(path=str(ARTIFACTS / "03-case-with-photo.png"), full_page=True)

    await page.goto(f"{base}/grid")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert await page.locator("path.grid-case").count() == 5
    assert await page.locator("path.grid-station").count() == 1
    await page.screenshot(path=str(ARTIFACTS / "04-grid-map.png"))
    # the hazard ledger before any patrol: the filter vs. nothing registered yet
    await page.goto(f"{base}/patrol/hazards")
    await page.wait_for_selector("#hazards td.empty-state:has-text('当前筛选条件下没有数据')")
    await page.select_option("#h-state", "")
    await page.wait_for_selector("#hazards td.empty-state:has-text('还没有登记隐患')")
    await page.goto(f"{base}/assessment")
    await page.wait_for_selector("body[data-ready='1']", state="attached")
    assert await page.locator("#exports a[data-format='xlsx']").count() == 1
    assert await page.locator("#a-table tbody tr").count() == 2  # the two units
    await page.wait_for_timeout(600)  # the chart's animation
    await page.screenshot(path=str(ARTIFACTS / "05-assessment.png"), full_page=True)
    await desk.close()

    # -- phone: the grid member checks in at the station with the browser's position
    phone = await browser.new_context(
        **PHONE, geolocation=PHONE_POSITION, permissions=["geolocation"]
    )
    mobile = await phone.new_page()
    collect_errors(mobile, errors)
    await browser_login(mobile, base, "member", "/patrol/tasks")
    assert await mobile.get_attribute("body", "data-tasks") == "1"
    assert "个工作" in await mobile.inner_text(".task-card .deadline")  # working time left
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375
    await mobile.screenshot(path=str(ARTIFACTS / "06-phone-my-tasks.png"), full_page=True)
    await mobile.click(".task-card")
    await mobile.wait_for_selector("body[data-ready='1']", state="attached")
    nav = await mobile.get_attribute("#t-facts a.nav-link[data-app='geo']", "href")
    assert nav and nav.startswith("geo:30.05,120.05?q=")  # WGS-84 as stored, for geo:
    await mobile.click("#checkin-btn")
    await mobile.wait_for_selector("#checkins .notice[data-checkin]")
    text = await mobile.inner_text("#checkins")
    assert "位置正常" in text and "已签到" in text
    await mobile.evaluate("window.scrollTo(0, 0)")
    await mobile.screenshot(path=str(ARTIFACTS / "07-phone-checked-in.png"), full_page=True)
    # one item fails (a hazard), the rest pass; a photo of the site
    await mobile.click("#checklist li[data-code='device'] label.fail-choice")
    await mobile.fill("#checklist li[data-code='device'] textarea", "PM2.5 仪器屏幕报警")
    await mobile.set_input_files(
        "#t-photo",
        files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": photo((70, 90, 140))}],
    )
    await mobile.evaluate("window.scrollTo(0, 0)")
    await mobile.screenshot(path=str(ARTIFACTS / "08-phone-checklist.png"), full_page=True)
    await mobile.click("#checklist-submit")
    await mobile.wait_for_selector("body[data-state='done']", state="attached")
    assert "仪器" in await mobile.inner_text("#results")
    assert await mobile.locator("#t-hazards li").count() == 1
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375
    await mobile.evaluate("window.scrollTo(0, 0)")
    await mobile.screenshot(path=str(ARTIFACTS / "09-phone-task-done.png"), full_page=True)
    # the hazard the failed item opened: the member reports the rectification
    await mobile.click("#t-hazards a")
    await mobile.wait_for_selector("body[data-ready='1'] #rectify-form:not([hidden])")
    await mobile.fill("#r-note", "已联系运维，更换采样滤膜，仪器恢复正常")
    await mobile.click("#rectify-form button[type='submit']")
    await mobile.wait_for_selector("#h-tags:has-text('待复查')")
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375
    assert await mobile.locator("#review-form").is_hidden()  # not one's own rectification
    await mobile.evaluate("window.scrollTo(0, 0)")
    await mobile.screenshot(path=str(ARTIFACTS / "10-phone-hazard.png"), full_page=True)
    # the only task is done: "mine" says why it is empty and what to do
    await mobile.goto(f"{base}/patrol/tasks")
    await mobile.wait_for_selector(
        "#task-list .empty-state:has-text('没有分配给您的未完成巡查任务')"
    )
    await mobile.goto(f"{base}/cases/mine")
    await mobile.wait_for_selector("body[data-ready='1']", state="attached")
    assert await mobile.get_attribute("body", "data-cases") == "1"  # the case in check
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375
    await mobile.screenshot(path=str(ARTIFACTS / "11-phone-my-cases.png"), full_page=True)
    # the board and a case page fit the phone too (no horizontal scrolling)
    for path in ("/cases", "/grid"):
        await mobile.goto(f"{base}{path}")
        await mobile.wait_for_selector("body[data-ready='1']", state="attached")
        assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375, path
    await mobile.goto(f"{base}/cases/mine")
    await mobile.wait_for_selector("body[data-ready='1']", state="attached")
    await mobile.click(".case-card")
    await mobile.wait_for_selector(
        "body[data-ready='1'] #action-bar button[data-action='check_pass']"
    )
    assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375
    await mobile.screenshot(path=str(ARTIFACTS / "13-phone-case.png"), full_page=True)
    await phone.close()

    # -- the public complaint form, no log-in, on a phone
    public = await browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, locale="zh-CN",
        geolocation=PHONE_POSITION, permissions=["geolocation"],
    )  # fmt: skip
    form = await public.new_page()
    await form.goto(f"{base}/complaint")
    await form.wait_for_selector("body[data-ready='1']", state="attached")
    await form.fill("#c-description", "河边有人倾倒建筑垃圾")
    await form.click("#c-locate")
    await form.wait_for_selector("#c-pos:has-text('已选位置')")
    await form.set_input_files(
        "#c-photo",
        files=[{"name": "垃圾.jpg", "mimeType": "image/jpeg", "buffer": photo((150, 110, 60))}],
    )
    await form.fill("#c-phone", "13812345678")
    await form.screenshot(path=str(ARTIFACTS / "12-phone-complaint-form.png"), full_page=True)
    await form.click("#c-submit")
    await form.wait_for_selector("#c-receipt:not([hidden])")
    assert "AJ" in await form.inner_text("#c-receipt")
    await form.screenshot(path=str(ARTIFACTS / "12-phone-complaint-done.png"), full_page=True)
    # the complainant looks the status up with the receipt number and the phone's last 4
    code = (await form.inner_text("#c-receipt b")).strip()
    await form.click("#c-receipt a[href='/complaint/status']")
    await form.wait_for_selector("body[data-ready='1'] #s-form", state="attached")
    await form.fill("#s-code", code)
    await form.fill("#s-phone", "5679")
    await form.click("#s-submit")
    await form.wait_for_selector("#s-error:has-text('未找到')")
    collect_errors(form, errors)  # from here on (the 404 above is logged by Chromium)
    await form.fill("#s-phone", "5678")
    await form.click("#s-submit")
    await form.wait_for_selector("#s-status:has-text('等待受理')")
    assert await form.evaluate("document.documentElement.scrollWidth") <= 375
    await form.screenshot(path=str(ARTIFACTS / "14-phone-complaint-status.png"), full_page=True)
    await public.close()
    assert not errors, errors
