"""API handlers of the 已办 list and the public complaint status lookup (thin: validate,
one service call, serialise)."""

from __future__ import annotations

from aiohttp import web

from web import context, params
from web.casework.cases.complaints import DbRateLimiter
from web.casework.cases.done import DoneFilter, done_cases
from web.casework.cases.intake import SOURCES
from web.casework.cases.lifecycle import Action, State
from web.casework.cases.status_lookup import lookup_complaint
from web.casework.cases.timeleft import annotate_deadlines
from web.casework.kernel.access import acting, case_config, now
from web.casework.kernel.worktime import load_calendar
from web.ratelimit import request_client
from web.responses import ApiError, json_response

__all__ = ["complaint_status", "my_done_cases"]

_STATES = tuple(s.value for s in State)
_ACTIONS = tuple(a.value for a in Action)


async def my_done_cases(request: web.Request) -> web.Response:
    qy = request.query
    page = params.paging(qy, 200, 50)
    state = params.opt_choice(qy, "state", _STATES)
    day_from, day_to = params.opt_date(qy, "from"), params.opt_date(qy, "to")
    if day_from and day_to and day_to < day_from:
        raise ApiError(400, "bad_parameter", "参数 to 无效：结束日期早于开始日期", parameter="to")
    config = case_config(request)
    at = now()
    async with acting(request) as (conn, caller):
        person_id = caller.actor.person_id
        items: list[dict[str, object]] = []
        total = 0
        if person_id is not None:
            f = DoneFilter(
                person_id=person_id,
                day_from=day_from,
                day_to=day_to,
                action=params.opt_choice(qy, "action", _ACTIONS),
                states=(state,) if state else None,
                open=params.opt_bool(qy, "open"),
                category=params.opt_str(qy, "category", max_len=40),
                source=params.opt_choice(qy, "source", SOURCES),
                search=params.opt_str(qy, "q", max_len=100),
                limit=page.limit,
                offset=page.offset,
            )
            rows, total = await done_cases(conn, f, config, at)
            annotate_deadlines(rows, await load_calendar(conn, config, at), at)
            items = list(rows)
    return json_response(
        {
            "items": items,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "linked": person_id is not None,
            "actor": caller.to_json(),
        }
    )


async def complaint_status(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    c = case_config(request).cases
    limiter = DbRateLimiter(
        context.pool(request), c.complaint_lookup_limit, c.complaint_rate_window_s
    )
    answer = await lookup_complaint(
        context.pool(request),
        params.body_str(body, "code", max_len=40) or "",
        params.body_str(body, "phone", max_len=20) or "",
        client=request_client(request),
        config=case_config(request),
        now=now(),
        limiter=limiter,
    )
    return json_response(answer)
