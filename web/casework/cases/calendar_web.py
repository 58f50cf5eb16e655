"""The working-time calendar in the dashboard: the year's holidays and 调休 days, the
coverage warning, editing a day (``calendar:admin``), and filling it at start.

Reading needs ``cases:read`` (case deadlines follow it); changing a day needs
``calendar:admin`` (held by the system administrator role only, ``*``) and no data
scope: the calendar is one for every district (an administrator limited to some
districts would move the deadlines of all the others).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
from aiohttp import web

from web import context, params
from web.casework.kernel import calendar_days as cal
from web.casework.kernel.access import Caller, caller_page, case_config
from web.casework.kernel.holidays import LIBRARY
from web.keys import POOL_KEY
from web.responses import ApiError, json_response

__all__ = [
    "calendar_fill_context",
    "calendar_page",
    "calendar_warning",
    "get_calendar",
    "put_calendar_day",
    "update_calendar",
]

log = logging.getLogger(__name__)


def _abilities(caller: Caller) -> dict[str, bool]:
    p = caller.principal
    return {"canEdit": p.can("calendar:admin") and p.scope is None}


def _editor(request: web.Request) -> str:
    """The caller's name; 403 for a caller limited to some districts (module docstring)."""
    caller = context.caller(request)
    if caller.scope is not None:
        raise ApiError(
            403,
            "out_of_scope",
            "您的数据范围受限，不能修改工作日历：工作日历适用于全部区域的案件时限，"
            "只有不限数据范围的管理员可以修改",
        )
    return caller.username


async def calendar_page(request: web.Request) -> web.Response:
    return await caller_page(request, "cases/calendar.html", "工作日历", _abilities)


async def calendar_warning(request: web.Request) -> str | None:
    """The "next year is not covered" warning for the case pages, or None."""
    async with context.pool(request).acquire() as conn:
        cover = await cal.coverage(conn, context.today(request))
    return cover.warning


async def _view(request: web.Request, year: int) -> dict[str, object]:
    async with context.pool(request).acquire() as conn:
        rows = await cal.year_days(conn, year)
        cover = await cal.coverage(conn, context.today(request))
    c = case_config(request).cases
    return {
        "year": year,
        "days": [
            {"day": r["day"].isoformat(), "kind": r["kind"], "name": r["name"],
             "source": r["source"], "updated_by": r["updated_by"]}
            for r in rows
        ],
        "years": [{"year": y, "holidays": h, "workdays": w, "overrides": o}
                  for y, h, w, o in cover.years],
        "weekend": list(c.weekend),
        "work_hours": list(c.work_hours),
        "library": LIBRARY,
        "warning": cover.warning,
    }  # fmt: skip


async def get_calendar(request: web.Request) -> web.Response:
    year = params.opt_int(request.query, "year", minimum=2000, maximum=2100)
    return json_response(await _view(request, year or context.today(request).year))


async def put_calendar_day(request: web.Request) -> web.Response:
    by = _editor(request)
    body = await params.json_body(request)
    raw = params.body_str(body, "day", required=True, max_len=10) or ""
    kind = params.body_str(body, "kind", required=True, max_len=10) or ""
    name = params.body_str(body, "name", max_len=40) or ""
    day = cal.parse_day(raw)
    now = datetime.now(case_config(request).tz)
    async with context.pool(request).acquire() as conn:
        message = await cal.set_day(conn, day, kind, by=by, now=now, name=name)
    context.audit(request, day=day.isoformat(), kind=kind)
    return json_response({"message": message, **await _view(request, day.year)})


async def update_calendar(request: web.Request) -> web.Response:
    _editor(request)
    now = datetime.now(case_config(request).tz)
    async with context.pool(request).acquire() as conn:
        done = await cal.update_calendar(conn, now)
    context.audit(request, inserted=done.inserted, updated=done.updated)
    return json_response({
        "message": f"已从 {LIBRARY} 更新：新增 {done.inserted} 天，修改 {done.updated} 天，"
                   f"删除 {done.removed} 天，保留人工设置 {done.overridden} 天",
        **await _view(request, context.today(request).year),
    })  # fmt: skip


async def calendar_fill_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: fill the work calendar from the library at start when empty."""
    try:
        async with app[POOL_KEY].acquire() as conn:
            done = await cal.fill_if_empty(conn, datetime.now().astimezone())
    except asyncpg.PostgresError as exc:  # e.g. a read-only standby: serve without it
        log.warning("work calendar not filled at start: %s", exc)
    else:
        if done is not None:
            log.info("work calendar filled from %s: %d days", LIBRARY, done.inserted)
    yield
