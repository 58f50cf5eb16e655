"""The work calendar from the chinesecalendar library: fill, overrides that survive an
update, coverage of next year, deadlines across 2026 National Day and 2027 Spring
Festival, the ``envgrid calendar`` command and the page's API (calendar:admin)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from envgrid.cli import main
from tests.web.casework.conftest import TZ, World
from tests.web.casework.web_fixture import WebSeed, call, fetch_rows
from tests.webapp import add_login
from web.casework.cases.calendar_web import calendar_fill_context
from web.casework.cases.intake import NewCase, create_case
from web.casework.kernel import calendar_days as cal
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.holidays import library_days, library_years
from web.casework.kernel.worktime import load_calendar
from web.keys import POOL_KEY

NOW = datetime(2026, 9, 1, 12, tzinfo=TZ)
LIB = {d.day: d for d in library_days()}


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        (date(2026, 10, 1), "holiday", "国庆节"),
        (date(2026, 10, 7), "holiday", "国庆节"),
        (date(2026, 10, 10), "workday", "国庆节"),  # 调休 Saturday
        (date(2026, 9, 20), "workday", "国庆节"),  # 调休 Sunday
        (date(2026, 2, 17), "holiday", "春节"),
        (date(2026, 2, 14), "workday", "春节"),
        (date(2024, 4, 7), "workday", "清明"),
    ],
)
def test_library_days(day: date, kind: str, name: str) -> None:
    assert (LIB[day].kind, LIB[day].name) == (kind, name)


def test_library_years_are_whole() -> None:
    years = library_years()
    assert years[0] <= 2010 and 2026 in years
    assert {d.day.year for d in LIB.values()} <= set(years) | {years[0] - 1, years[-1] + 1}


async def test_fill_update_and_overrides(db_conn: asyncpg.Connection) -> None:
    filled = await cal.fill_if_empty(db_conn, NOW)
    assert filled is not None and filled.inserted == len(LIB) and filled.updated == 0
    assert await cal.fill_if_empty(db_conn, NOW) is None  # not empty any more
    # a holiday made a working day by hand, a weekday made a holiday
    await cal.set_day(db_conn, date(2026, 10, 7), "workday", by="t", now=NOW, name="值班")
    await cal.set_day(db_conn, date(2026, 9, 30), "holiday", by="t", now=NOW)
    again = await cal.update_calendar(db_conn, NOW)
    assert (again.inserted, again.updated, again.removed, again.overridden) == (0, 0, 0, 1)
    rows = {r["day"]: r for r in await cal.year_days(db_conn, 2026)}
    assert rows[date(2026, 10, 7)]["kind"] == "workday"
    assert rows[date(2026, 10, 7)]["source"] == "override"
    assert rows[date(2026, 9, 30)]["kind"] == "holiday"
    # a library correction: a library day gone from the library goes; overrides stay
    fewer = [d for d in LIB.values() if d.day != date(2026, 10, 6)]
    fixed = await cal.update_calendar(db_conn, NOW, fewer, [2026])
    assert fixed.removed == 1
    # auto gives a day back to the library (or to its weekday)
    text = await cal.set_day(db_conn, date(2026, 10, 7), "auto", by="t", now=NOW)
    assert "国庆节" in text
    assert await cal.set_day(db_conn, date(2026, 9, 30), "auto", by="t", now=NOW) == (
        "2026-09-30 恢复为法定安排：工作日（无节假日安排）"
    )
    rows = {r["day"]: r for r in await cal.year_days(db_conn, 2026)}
    assert rows[date(2026, 10, 7)]["source"] == "library" and date(2026, 9, 30) not in rows
    with pytest.raises(cal.WorkflowError, match="workday"):
        await cal.set_day(db_conn, date(2026, 10, 7), "party", by="t", now=NOW)
    with pytest.raises(cal.WorkflowError, match="YYYY-MM-DD"):
        cal.parse_day("2026-13-01")


async def test_coverage_warns_without_next_year(db_conn: asyncpg.Connection) -> None:
    await cal.update_calendar(db_conn, NOW)
    last = library_years()[-1]
    inside = await cal.coverage(db_conn, date(last - 1, 6, 1))
    assert inside.next_year_covered and inside.warning is None
    beyond = await cal.coverage(db_conn, date(last, 6, 1))
    assert not beyond.next_year_covered
    assert f"尚未包含 {last + 1} 年" in (beyond.warning or "")
    await cal.set_day(db_conn, date(last + 1, 1, 1), "holiday", by="t", now=NOW, name="元旦")
    assert (await cal.coverage(db_conn, date(last, 6, 1))).next_year_covered


async def _deadline(
    conn: asyncpg.Connection, world: World, config: CaseConfig, at: datetime
) -> datetime:
    new = NewCase(title="节前上报", category="complaint.waste", source="manual",
                  grid_id=world.areas["G1"])  # fmt: skip
    ref = await create_case(conn, new, world.officer, config, now=at)
    assert ref.deadline is not None
    return ref.deadline.astimezone(TZ)


async def test_case_before_national_day_2026(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    eve = datetime(2026, 9, 30, 17, tzinfo=TZ)  # 受理时限 60 working minutes
    assert await _deadline(db_conn, world, config, eve) == datetime(2026, 10, 1, 9, tzinfo=TZ)
    await cal.update_calendar(db_conn, NOW)
    # 10/1–10/7 off; 10/8 is a working day
    assert await _deadline(db_conn, world, config, eve) == datetime(2026, 10, 8, 9, tzinfo=TZ)
    # the 调休 Saturday 10/10 counts as a working day
    friday = datetime(2026, 10, 9, 17, tzinfo=TZ)
    assert await _deadline(db_conn, world, config, friday) == datetime(2026, 10, 10, 9, tzinfo=TZ)
    cal_2026 = await load_calendar(db_conn, config, eve)
    assert cal_2026.between(eve, datetime(2026, 10, 8, 17, 30, tzinfo=TZ)) == 30 + 450


async def test_case_before_spring_festival_2027(
    db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    if 2027 not in library_years():
        # the library does not know 2027 yet: an officer enters the notice by hand
        # (春节 2027: 2/5 除夕 … 2/13 assumed here as 9 days off), and deadlines follow it
        for n in range(9):
            await cal.set_day(db_conn, date(2027, 2, 5) + timedelta(days=n), "holiday",
                              by="t", now=NOW, name="春节")  # fmt: skip
    await cal.update_calendar(db_conn, NOW)
    days = {r["day"]: r for r in await cal.year_days(db_conn, 2027)}
    festival = sorted(d for d, r in days.items() if r["kind"] == "holiday" and r["name"] == "春节")
    assert festival, "no 春节 2027 in the calendar"
    eve = datetime.combine(festival[0] - timedelta(days=1), datetime.min.time(), TZ).replace(
        hour=17
    )
    after = festival[-1] + timedelta(days=1)
    while after.isoweekday() >= 6 and not (after in days and days[after]["kind"] == "workday"):
        after += timedelta(days=1)
    got = await _deadline(db_conn, world, config, eve)
    assert got == datetime.combine(after, datetime.min.time(), TZ).replace(hour=9)


def test_calendar_cli(db_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--dsn", db_dsn, "update"]) == 0
    assert f"{len(LIB)} days added" in capsys.readouterr().out
    assert (
        main(["calendar", "--dsn", db_dsn, "set", "2026-10-08", "holiday", "--name", "补休"]) == 0
    )
    assert "人工设置" in capsys.readouterr().out
    assert main(["calendar", "--dsn", db_dsn, "update"]) == 0
    assert "0 days added, 0 changed, 0 removed, 0 kept as set by hand" in capsys.readouterr().out
    assert fetch_rows(db_dsn, "SELECT kind, source FROM work_calendar_days"
                  " WHERE day = '2026-10-08'") == [("holiday", "override")]  # fmt: skip
    assert main(["calendar", "--dsn", db_dsn, "show", "2026"]) == 0
    out = capsys.readouterr()
    assert "2026-10-01  周四  休息  国庆节" in out.out
    assert "2026-10-10  周六  上班  国庆节" in out.out
    assert "2026-10-08  周四  休息  补休（人工设置 envgrid calendar）" in out.out
    assert main(["calendar", "--dsn", db_dsn, "set", "2026-02-30", "holiday"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


async def test_calendar_api_needs_calendar_admin(client: TestClient, web_seed: WebSeed) -> None:
    body = {"day": "2026-10-09", "kind": "holiday", "name": "调整"}
    for user in ("officer", "viewer", "handler"):  # the forbidden path
        refused = await call(client, "PUT", "/api/v1/work-calendar/day", web_seed, user,
                             status=403, json=body)  # fmt: skip
        assert refused["error"]["code"] == "forbidden"
        await call(client, "POST", "/api/v1/work-calendar/update", web_seed, user, status=403,
                   json={})  # fmt: skip
    filled = await call(client, "POST", "/api/v1/work-calendar/update", web_seed, "admin",
                        json={})  # fmt: skip
    assert f"新增 {len(LIB)} 天" in filled["message"]
    view = await call(client, "GET", "/api/v1/work-calendar?year=2026", web_seed, "viewer")
    assert view["year"] == 2026 and any(d["day"] == "2026-10-01" for d in view["days"])
    done = await call(client, "PUT", "/api/v1/work-calendar/day", web_seed, "admin", json=body)
    assert "人工设置" in done["message"]
    assert {"day": "2026-10-09", "kind": "holiday", "name": "调整", "source": "override",
            "updated_by": "admin"} in done["days"]  # fmt: skip
    bad = await call(client, "PUT", "/api/v1/work-calendar/day", web_seed, "admin", status=400,
                     json={**body, "kind": "party"})  # fmt: skip
    assert "workday" in bad["error"]["message"]
    page = await client.get("/work-calendar", headers=web_seed.auth("viewer"))
    assert page.status == 200 and "工作日历" in await page.text()


async def test_filled_at_start_when_empty(db_pool: asyncpg.Pool) -> None:
    app = web.Application()
    app[POOL_KEY] = db_pool
    async for _ in calendar_fill_context(app):
        break
    assert await db_pool.fetchval("SELECT count(*) FROM work_calendar_days") == len(LIB)


def test_db_migrate_fills_the_calendar(
    empty_db_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "migrate", "--dsn", empty_db_dsn]) == 0
    assert "work calendar filled from chinesecalendar" in capsys.readouterr().out
    assert fetch_rows(empty_db_dsn, "SELECT count(*) FROM work_calendar_days") == [(len(LIB),)]
    assert main(["db", "migrate", "--dsn", empty_db_dsn]) == 0  # not again
    assert "work calendar filled" not in capsys.readouterr().out


async def test_an_admin_limited_to_one_district_cannot_change_the_calendar(
    client: TestClient, web_seed: WebSeed, db_dsn: str
) -> None:
    """One calendar for every district: an administrator scoped to D2 reads it but may
    neither set a day nor update it from the library (403 out_of_scope)."""
    conn = await asyncpg.connect(db_dsn)
    try:
        _, token = await add_login(conn, "cal_admin_d2", "admin", [web_seed.world.areas["D2"]])
    finally:
        await conn.close()
    scoped = {"Authorization": f"Bearer {token}"}
    body = {"day": "2026-10-09", "kind": "holiday", "name": "调整"}
    for method, path, payload in (
        ("PUT", "/api/v1/work-calendar/day", body),
        ("POST", "/api/v1/work-calendar/update", {}),
    ):
        resp = await client.request(method, path, json=payload, headers=scoped)
        assert resp.status == 403, (path, await resp.text())
        assert (await resp.json())["error"]["code"] == "out_of_scope"
    resp = await client.get("/api/v1/work-calendar?year=2026", headers=scoped)
    assert resp.status == 200
    conn = await asyncpg.connect(db_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM work_calendar_days") == 0
    finally:
        await conn.close()
