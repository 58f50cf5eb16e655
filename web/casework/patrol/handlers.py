"""API handlers and pages of the patrol module (thin: validate, one call, serialise)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import date, timedelta
from typing import Any, Final, TypeVar, cast

import asyncpg
from aiohttp import web

from web import context, params
from web.casework.cases.timeleft import annotate_deadlines
from web.casework.kernel.access import (
    Caller,
    acting,
    body_list,
    caller_page,
    caller_shell,
    case_config,
    now,
    photo_tokens,
    rows_response,
    take_uploads,
)
from web.casework.kernel.uploads import StoredFile
from web.casework.kernel.worktime import load_calendar
from web.casework.patrol import hazards as hz
from web.casework.patrol import queries as q
from web.casework.patrol import service as ps
from web.casework.patrol import views
from web.casework.patrol.cycle import CYCLES
from web.casework.patrol.stats import patrol_stats
from web.responses import ApiError, json_response

__all__ = [
    "add_plan",
    "check_in",
    "check_items",
    "escalate_hazard",
    "get_hazard",
    "get_task",
    "list_hazards",
    "list_plans",
    "list_tasks",
    "patch_plan",
    "rectify_hazard",
    "review_hazard",
    "stats",
    "submit_checklist",
]

_T = TypeVar("_T")

TASK_STATES: Final = ("pending", "in_progress", "done", "overdue")
HAZARD_STATES: Final = ("rectifying", "reviewing", "passed")
DUTIES: Final = ("head", "member", "supervisor")


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"参数 {name} 无效：{message}", parameter=name)


def _csv(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> list[str] | None:
    raw = params.opt_str(query, name, max_len=200)
    if raw is None:
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values or any(v not in allowed for v in values):
        raise _bad(name, f"应为 {'/'.join(allowed)}，逗号分隔")
    return values


def _flag(body: Mapping[str, Any], name: str, message: str) -> bool:
    """The required boolean ``body[name]``."""
    value = params.body_bool(body, name)
    if value is None:
        raise _bad(name, message)
    return value


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2147483647


def _code(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 40 and "\x00" not in value


def _int_list(body: Mapping[str, Any], name: str, limit: int = 2000) -> list[int]:
    return body_list(body, name, limit, _positive_int, _bad(name, "应为正整数列表"))


def _str_list(body: Mapping[str, Any], name: str, limit: int = 100) -> list[str]:
    return body_list(body, name, limit, _code, _bad(name, "应为编码列表"))


def _date(body: Mapping[str, Any], name: str, required: bool = False) -> date | None:
    raw = params.body_str(body, name, required=required, max_len=10)
    if raw is None:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise _bad(name, "应为日期，如 2024-03-01") from None
    if not 2000 <= value.year <= 2100:
        raise _bad(name, "日期超出范围")
    return value


@contextlib.asynccontextmanager
async def _working_on(
    request: web.Request,
    require: Callable[[asyncpg.Connection, int, Caller], Awaitable[None]],
    item_id: int,
    body: Mapping[str, Any],
) -> AsyncIterator[tuple[asyncpg.Connection, Caller, list[StoredFile]]]:
    """In one transaction: the caller, the ``require`` check of the task or hazard, then
    the photos of ``body`` (consumed)."""
    tokens = photo_tokens(body)
    async with acting(request, transaction=True) as (conn, caller):
        await require(conn, item_id, caller)
        yield conn, caller, await take_uploads(conn, caller.principal.user_id, tokens)


async def _on_task(
    request: web.Request,
    task_id: int,
    body: Mapping[str, Any],
    step: Callable[..., Awaitable[_T]],
    **options: Any,
) -> _T:
    """``step(conn, task_id, actor, config, now=..., photos=..., **options)`` of the patrol
    service on one task of the caller's, in :func:`_working_on`'s transaction."""
    async with _working_on(request, views.require_task, task_id, body) as (conn, caller, photos):
        config = case_config(request)
        return await step(conn, task_id, caller.actor, config, now=now(), photos=photos, **options)


def _labelled(
    page: params.Paging, rows: list[dict[str, Any]], labels: Mapping[str, str]
) -> dict[str, Any]:
    """One page of rows that carry the ``total`` before the page, with state labels."""
    total = int(rows[0]["total"]) if rows else 0
    for r in rows:
        r.pop("total")
        r["state_label"] = labels.get(r["state"], r["state"])
    return page.wrap(rows, total)


# -- plans ---------------------------------------------------------------------------------


async def list_plans(request: web.Request) -> web.Response:
    page = params.paging(request.query, 500, 100)
    active = params.opt_bool(request.query, "active")
    async with acting(request) as (conn, caller):
        rows = await q.plans(conn, caller.scope, active, page.limit, page.offset)
    return json_response([dict(r) for r in rows])


async def add_plan(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    cycle = params.body_str(body, "cycle", required=True, max_len=10) or ""
    if cycle not in CYCLES:
        raise _bad("cycle", f"应为 {'/'.join(CYCLES)} 之一")
    duty = params.body_str(body, "assignee_duty", max_len=20)
    if duty is not None and duty not in DUTIES:
        raise _bad("assignee_duty", f"应为 {'/'.join(DUTIES)} 之一")
    plan = ps.PlanInput(
        name=params.body_str(body, "name", required=True, max_len=100) or "",
        cycle=cycle,
        start_date=_date(body, "start_date", required=True) or date.today(),
        area_id=params.body_int(body, "area_id", minimum=1),
        station_ids=_int_list(body, "station_ids"),
        point_ids=_int_list(body, "point_ids"),
        check_items=_str_list(body, "check_items"),
        every_days=params.body_int(body, "every_days", minimum=1, maximum=366),
        end_date=_date(body, "end_date"),
        due_hours=params.body_int(body, "due_hours", minimum=1, maximum=24 * 366),
        assignee_person_id=params.body_int(body, "assignee_person_id", minimum=1),
        assignee_duty=duty,
    )
    async with acting(request, transaction=True) as (conn, caller):
        views.require_planner(caller)
        plan_id = await ps.create_plan(conn, plan, created_by=caller.actor.name)
        await views.require_plan(conn, plan_id, caller)
    context.audit(request, plan=plan_id)
    return json_response({"id": plan_id}, status=201)


async def patch_plan(request: web.Request) -> web.Response:
    plan_id = params.path_int(request)
    body = await params.json_body(request)
    active = _flag(body, "active", "必填")
    async with acting(request) as (conn, caller):
        views.require_planner(caller)
        await views.require_plan(conn, plan_id, caller)
        await ps.set_plan_active(conn, plan_id, active)
    return json_response({"ok": True})


async def check_items(request: web.Request) -> web.Response:
    st = params.opt_str(request.query, "st", max_len=4)
    return await rows_response(request, q.check_item_list, st)


async def put_check_item(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    st = params.body_str(body, "st", required=True, max_len=4) or ""
    if st != "*" and not (len(st) == 2 and st.isdigit()):
        raise ApiError(
            400, "bad_parameter", "参数 st 无效：应为两位系统编码（如 22）或 *（全部类型）",
            parameter="st",
        )  # fmt: skip
    code = params.body_str(body, "code", required=True, max_len=40) or ""
    label = params.body_str(body, "label", required=True, max_len=100) or ""
    position = params.body_int(body, "position", minimum=0, maximum=10_000) or 0
    active = params.body_bool(body, "active")
    async with acting(request) as (conn, _caller):
        await q.upsert_check_item(conn, st, code, label, position, active is not False)
    context.audit(request, st=st, code=code)
    return json_response({"ok": True})


# -- tasks ---------------------------------------------------------------------------------

TASK_DUE: Final = ("due_at", frozenset({"done"}))
HAZARD_DUE: Final = ("rectify_deadline", frozenset({"passed"}))


async def _time_left(
    request: web.Request,
    conn: asyncpg.Connection,
    rows: list[dict[str, Any]],
    due: tuple[str, frozenset[str]],
) -> None:
    """``deadline_left`` (working time, as on cases) on each open task / hazard row."""
    at = now()
    cal = await load_calendar(conn, case_config(request), at)
    annotate_deadlines(rows, cal, at, due[0], due[1])


async def list_tasks(request: web.Request) -> web.Response:
    qy = request.query
    page = params.paging(qy, 500, 100)
    states = _csv(qy, "state", TASK_STATES)
    start, end = params.opt_time(qy, "from"), params.opt_time(qy, "to")
    mine = bool(params.opt_bool(qy, "mine"))
    async with acting(request) as (conn, caller):
        person = caller.person.id if caller.person else None
        if mine and person is None:
            return json_response({**page.wrap([], 0), "linked": False})
        rows = [
            dict(r)
            for r in await q.tasks(
                conn,
                caller.scope,
                states,
                params.opt_int(qy, "grid", minimum=1),
                person if mine else None,
                start,
                end,
                page.limit,
                page.offset,
            )
        ]
        await _time_left(request, conn, rows, TASK_DUE)
    return json_response({**_labelled(page, rows, views.TASK_LABELS), "linked": person is not None})


async def get_task(request: web.Request) -> web.Response:
    async with acting(request) as (conn, caller):
        task = await views.task_detail(conn, params.path_int(request), caller)
        await _time_left(request, conn, [task], TASK_DUE)
    return json_response(task)


async def check_in(request: web.Request) -> web.Response:
    task_id = params.path_int(request)
    body = await params.json_body(request)
    lat = params.body_float(body, "lat", minimum=-90, maximum=90)
    lon = params.body_float(body, "lon", minimum=-180, maximum=180)
    if lat is None or lon is None:
        raise _bad("lat", "须给出签到位置（纬度 lat、经度 lon）")
    accuracy = params.body_float(body, "accuracy_m", minimum=0, maximum=1e6)
    note = params.body_str(body, "note", max_len=500) or ""
    result = await _on_task(
        request, task_id, body, ps.check_in, lat=lat, lon=lon, accuracy_m=accuracy, note=note
    )
    limit = case_config(request).cases.checkin_max_distance_m
    return json_response(
        {
            "id": result.id,
            "distance_m": None if result.distance_m is None else round(result.distance_m, 1),
            "out_of_range": result.out_of_range,
            "max_distance_m": limit,
        },
        status=201,
    )


def _results(body: Mapping[str, Any]) -> list[ps.CheckResult]:
    raw = body.get("results")
    if not isinstance(raw, list) or not raw or len(raw) > 200:
        raise _bad("results", "应为检查结果列表")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise _bad("results", "每项应为对象 {code, ok, note}")
        code = params.body_str(item, "code", required=True, max_len=40) or ""
        ok = params.body_bool(item, "ok")
        if ok is None:
            raise _bad("results", f"检查项 {code} 缺少结果 ok")
        out.append(
            ps.CheckResult(
                code,
                ok,
                params.body_str(item, "value", max_len=200) or "",
                params.body_str(item, "note", max_len=1000) or "",
                params.body_int(item, "rectifier_person_id", minimum=1),
            )
        )
    return out


async def submit_checklist(request: web.Request) -> web.Response:
    task_id = params.path_int(request)
    body = await params.json_body(request)
    results = _results(body)
    report = await _on_task(request, task_id, body, ps.submit_checklist, results=results)
    return json_response(
        {"task_id": report.task_id, "on_time": report.on_time, "hazards": list(report.hazard_ids)}
    )


# -- hazards -------------------------------------------------------------------------------


async def list_hazards(request: web.Request) -> web.Response:
    qy = request.query
    page = params.paging(qy, 500, 100)
    states = _csv(qy, "state", HAZARD_STATES)
    grid = params.opt_int(qy, "grid", minimum=1)
    async with acting(request) as (conn, caller):
        found = await q.hazards(conn, caller.scope, states, grid, page.limit, page.offset)
        rows = [dict(r) for r in found]
        await _time_left(request, conn, rows, HAZARD_DUE)
    return json_response(_labelled(page, rows, views.HAZARD_LABELS))


async def get_hazard(request: web.Request) -> web.Response:
    async with acting(request) as (conn, caller):
        hazard = await views.hazard_detail(conn, params.path_int(request), caller)
        await _time_left(request, conn, [hazard], HAZARD_DUE)
    return json_response(hazard)


def _hazard_json(state: hz.HazardState) -> dict[str, Any]:
    return {
        "id": state.id,
        "state": state.state,
        "state_label": views.HAZARD_LABELS.get(state.state, state.state),
        "round": state.round,
        "rectify_deadline": state.rectify_deadline,
    }


async def rectify_hazard(request: web.Request) -> web.Response:
    hazard_id = params.path_int(request)
    body = await params.json_body(request)
    note = params.body_str(body, "note", required=True, max_len=1000) or ""
    hazard = views.require_hazard
    async with _working_on(request, hazard, hazard_id, body) as (conn, caller, photos):
        state = await hz.rectify(conn, hazard_id, caller.actor, note=note, now=now(), photos=photos)
    return json_response(_hazard_json(state))


async def review_hazard(request: web.Request) -> web.Response:
    hazard_id = params.path_int(request)
    body = await params.json_body(request)
    passed = _flag(body, "passed", "必填（true 通过 / false 不通过）")
    note = params.body_str(body, "note", max_len=1000) or ""
    async with acting(request) as (conn, caller):
        await views.require_hazard(conn, hazard_id, caller)
        state = await hz.review(
            conn,
            hazard_id,
            caller.actor,
            case_config(request),
            passed=passed,
            note=note,
            now=now(),
        )
    return json_response(_hazard_json(state))


async def escalate_hazard(request: web.Request) -> web.Response:
    hazard_id = params.path_int(request)
    async with acting(request) as (conn, caller):
        await views.require_hazard(conn, hazard_id, caller)
        ref = await hz.escalate_hazard(
            conn, hazard_id, caller.actor, case_config(request), now=now()
        )
    return json_response(
        {"case_id": ref.id, "code": ref.code, "state": ref.state.value}, status=201
    )


# -- statistics ----------------------------------------------------------------------------


async def stats(request: web.Request) -> web.Response:
    qy = request.query
    group = params.opt_choice(qy, "group", ("person", "grid")) or "grid"
    end = params.opt_time(qy, "to") or now()
    start = params.opt_time(qy, "from") or end - timedelta(days=30)
    if start >= end or end - start > timedelta(days=3 * 366):
        raise _bad("from", "应早于 to，且时间范围不超过 3 年")
    async with acting(request) as (conn, caller):
        rows = await patrol_stats(conn, cast(Any, group), start, end, now=now(), scope=caller.scope)
    return json_response(
        {
            "from": start,
            "to": end,
            "group": group,
            "rows": [
                {
                    "key": r.key,
                    "name": r.name,
                    "tasks": r.tasks,
                    "done": r.done,
                    "on_time": r.on_time,
                    "overdue": r.overdue,
                    "hazards": r.hazards,
                    "rectified": r.rectified,
                    "completion_rate": r.completion_rate,
                    "on_time_rate": r.on_time_rate,
                }
                for r in rows
            ],
        }
    )


# -- pages ---------------------------------------------------------------------------------


def _abilities(caller: Caller) -> dict[str, bool]:
    p = caller.principal
    return {
        "canWrite": p.can("patrol:write"),
        "canCases": p.can("cases:write"),
        "planner": caller.role.value in ("admin", "officer") and p.can("patrol:write"),
    }


plans_page: Final = caller_shell("patrol/plans.html", "巡查计划", _abilities)
tasks_page: Final = caller_shell("patrol/tasks.html", "巡查任务", _abilities)
hazards_page: Final = caller_shell("patrol/hazards.html", "隐患台账", _abilities)


async def task_page(request: web.Request) -> web.Response:
    config = case_config(request).cases
    return await caller_page(
        request,
        "patrol/task.html",
        "巡查任务",
        _abilities,
        taskId=params.path_int(request),
        maxDistance=config.checkin_max_distance_m,
        maxBytes=config.upload_max_bytes,
    )


async def hazard_page(request: web.Request) -> web.Response:
    hazard_id = params.path_int(request)
    return await caller_page(
        request, "patrol/hazard.html", "隐患详情", _abilities, hazardId=hazard_id
    )
