"""API handlers of the case module (thin: validate, one service call, serialise).

Domain refusals become HTTP answers in the error middleware (the casework ``ERRORS``
table, :data:`web.casework.kernel.access.ERRORS`); every handler acts as the caller's
workflow actor (:func:`web.casework.kernel.access.caller_of`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Final, cast
from urllib.parse import quote

from aiohttp import web

from web import context, params
from web.casework.cases import actions, board
from web.casework.cases import queries as q
from web.casework.cases.assessment import GROUPS, Group
from web.casework.cases.board import BoardFilter, case_board
from web.casework.cases.complaints import (
    PUBLIC_CATEGORIES,
    ComplaintInput,
    DbRateLimiter,
    submit_complaint,
)
from web.casework.cases.intake import SOURCES, NewCase
from web.casework.cases.service import reassign_grid, transition
from web.casework.cases.timeleft import annotate_deadlines, time_left
from web.casework.cases.workflow import Action, State, Switches
from web.casework.grid.service import GridIndexCache
from web.casework.kernel import queries as kq
from web.casework.kernel import quotas
from web.casework.kernel.access import (
    acting,
    case_config,
    now,
    photo_tokens,
    read_multipart,
    rows_response,
    stage_uploads,
    take_uploads,
)
from web.casework.kernel.people import Role
from web.casework.kernel.uploads import resolve_upload, save_photos
from web.casework.kernel.worktime import load_calendar
from web.ratelimit import request_address, request_client
from web.responses import ApiError, json_response

_STATES: Final = tuple(s.value for s in State)
_MONTH_RE: Final = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
EXPORT_TYPES: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"参数 {name} 无效：{message}", parameter=name)


def _states(query: Mapping[str, str]) -> tuple[str, ...] | None:
    raw = params.opt_str(query, "state", max_len=400)
    if raw is None:
        return None
    states = tuple(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
    unknown = [s for s in states if s not in _STATES]
    if unknown or not states:
        raise _bad("state", f"未知的案件状态 {'、'.join(unknown) or raw}")
    return states


def _filter(request: web.Request, scope: tuple[int, ...] | None, **over: Any) -> BoardFilter:
    qy = request.query
    page = params.paging(qy, 200, 50)
    fields: dict[str, Any] = {
        "scope": scope,
        "states": _states(qy),
        "open": params.opt_bool(qy, "open"),
        "unit_id": params.opt_int(qy, "unit", minimum=1),
        "category": params.opt_str(qy, "category", max_len=40),
        "source": params.opt_choice(qy, "source", SOURCES),
        "grid_id": params.opt_int(qy, "grid", minimum=1),
        "supervised_only": bool(params.opt_bool(qy, "supervised")),
        "overdue_only": bool(params.opt_bool(qy, "overdue")),
        "search": params.opt_str(qy, "q", max_len=100),
        "limit": page.limit,
        "offset": page.offset,
    }
    if fields["open"] is None and fields["states"] is None:
        fields["open"] = True
    fields.update(over)
    return BoardFilter(**fields)


def _unit_filter(role: Role, unit_id: int | None) -> dict[str, Any]:
    """A unit sees only what was dispatched to it (-1: no unit, nothing)."""
    return {"unit_id": unit_id or -1} if role is Role.UNIT else {}


# -- lists ---------------------------------------------------------------------------------


async def list_cases(request: web.Request) -> web.Response:
    at = now()
    async with acting(request) as (conn, caller):
        f = _filter(request, caller.actor.scope, **_unit_filter(caller.role, caller.actor.unit_id))
        page = await case_board(conn, f, now=at)
        cal = await load_calendar(conn, case_config(request), at)
    annotate_deadlines(page.rows, cal, at)
    return json_response(
        {"items": page.rows, "total": page.total, "limit": f.limit, "offset": f.offset}
    )


async def case_board_columns(request: web.Request) -> web.Response:
    per_column = params.opt_int(request.query, "per_column", minimum=1, maximum=100) or 20
    at = now()
    async with acting(request) as (conn, caller):
        f = _filter(request, caller.actor.scope, **_unit_filter(caller.role, caller.actor.unit_id))
        counts = await board.board_counts(conn, f, now=at)
        columns = await board.board_columns(conn, f, now=at, per_column=per_column, counts=counts)
        cal = await load_calendar(conn, case_config(request), at)
    for column in columns:
        annotate_deadlines(column["items"], cal, at)
    return json_response({"columns": columns, "counts": counts, "now": at})


async def my_cases(request: web.Request) -> web.Response:
    config = case_config(request)
    async with acting(request) as (conn, caller):
        states = board.actionable_states(caller.role, Switches.of(config.cases))
        items: list[dict[str, Any]] = []
        total = 0
        page = params.paging(request.query, 200, 50)
        if states:
            f = _filter(
                request,
                caller.actor.scope,
                states=states,
                open=True,
                **_unit_filter(caller.role, caller.actor.unit_id),
            )
            at = now()
            found = await case_board(conn, f, now=at)
            items, total = found.rows, found.total
            annotate_deadlines(items, await load_calendar(conn, config, at), at)
    return json_response(
        {
            "items": items,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "actor": caller.to_json(),
        }
    )


async def list_categories(request: web.Request) -> web.Response:
    return await rows_response(request, q.category_list)


# -- one case ------------------------------------------------------------------------------


async def get_case(request: web.Request) -> web.Response:
    config = case_config(request)
    at = now()
    async with acting(request) as (conn, caller):
        case = await actions.case_detail(conn, params.path_int(request), caller, config)
        cal = await load_calendar(conn, config, at)
    case["deadline_left"] = time_left(cal, case.get("deadline"), at)
    case["handle_deadline_left"] = time_left(cal, case.get("handle_deadline"), at)
    case["actor"] = caller.to_json()
    return json_response(case)


def _location(body: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lat = params.body_float(body, "lat", minimum=-90, maximum=90)
    lon = params.body_float(body, "lon", minimum=-180, maximum=180)
    if (lat is None) != (lon is None):
        raise _bad("lat", "经度和纬度须同时给出")
    return lat, lon


async def create_case(request: web.Request) -> web.Response:
    body = await params.json_body(request)
    lat, lon = _location(body)
    new = NewCase(
        title=params.body_str(body, "title", required=True, max_len=200) or "",
        category=params.body_str(body, "category", required=True, max_len=40) or "",
        source="manual",
        description=params.body_str(body, "description", max_len=5000) or "",
        lat=lat,
        lon=lon,
        address=params.body_str(body, "address", max_len=200) or "",
        grid_id=params.body_int(body, "grid_id", minimum=1),
        urgent=params.body_bool(body, "urgent"),
    )
    tokens = photo_tokens(body)
    config = case_config(request)
    at = now()
    async with acting(request, transaction=True) as (conn, caller):
        photos = await take_uploads(conn, caller.principal.user_id, tokens)
        ref = await actions.report_case(conn, new, caller, config, now=at, photos=photos)
    context.audit(request, case=ref.code)
    return json_response(
        {"id": ref.id, "code": ref.code, "state": ref.state.value, "grid_id": ref.grid_id},
        status=201,
    )


_ACTIONS: Final = tuple(a.value for a in Action)


async def case_action(request: web.Request) -> web.Response:
    case_id = params.path_int(request)
    body = await params.json_body(request)
    action = params.body_str(body, "action", required=True, max_len=40) or ""
    if action not in _ACTIONS:
        raise _bad("action", f"未知的操作 {action!r}")
    comment = params.body_str(body, "comment", max_len=2000) or ""
    unit_id = params.body_int(body, "unit_id", minimum=1)
    minutes = params.body_int(body, "extension_minutes", minimum=1, maximum=450 * 60)
    version = params.body_int(body, "version", minimum=0)
    tokens = photo_tokens(body)
    config = case_config(request)
    async with acting(request, transaction=True) as (conn, caller):
        photos = await take_uploads(conn, caller.principal.user_id, tokens)
        result = await transition(
            conn,
            case_id,
            action,
            caller.actor,
            config,
            now=now(),
            comment=comment,
            unit_id=unit_id,
            extension_minutes=minutes,
            photos=photos,
            expected_version=version,
        )
    context.audit(request, action=action, state=result.state.value)
    return json_response(
        {
            "id": result.case_id,
            "from_state": result.from_state.value,
            "state": result.state.value,
            "state_label": result.state.label,
            "applied": [
                {"action": t.action.value, "label": t.action.label, "to_state": t.to_state.value}
                for t in result.applied
            ],
            "deadline": result.deadline,
            "version": result.version,
        }
    )


async def case_grid(request: web.Request) -> web.Response:
    case_id = params.path_int(request)
    body = await params.json_body(request)
    grid_id = params.body_int(body, "grid_id", required=True, minimum=1) or 0
    reason = params.body_str(body, "reason", required=True, max_len=500) or ""
    async with acting(request) as (conn, caller):
        changed = await reassign_grid(
            conn, case_id, grid_id, caller.actor, case_config(request), now=now(), reason=reason
        )
    return json_response({"ok": True, "changed": changed})


async def case_notices(request: web.Request) -> web.Response:
    case_id = params.path_int(request)
    async with acting(request) as (conn, caller):
        await actions.case_detail(conn, case_id, caller, case_config(request))
        rows = [dict(r) for r in await kq.list_notices(conn, case_id, None, 200)]
    return json_response(rows)


# -- assessment ----------------------------------------------------------------------------


def _day(query: Mapping[str, str], name: str) -> date | None:
    raw = params.opt_str(query, name, max_len=10)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(name, "应为日期，如 2024-03-01") from None


def _period(query: Mapping[str, str], today: date) -> actions.AssessmentPeriod:
    month = params.opt_str(query, "month", max_len=7)
    first, last = _day(query, "from"), _day(query, "to")
    if month is not None:
        m = _MONTH_RE.match(month)
        if m is None:
            raise _bad("month", "应为年月，如 2024-03")
        start = date(int(m.group(1)), int(m.group(2)), 1)
    elif first is not None or last is not None:
        if first is None or last is None:
            raise _bad("from", "from 和 to 须同时给出")
        if last < first:
            raise _bad("to", "不能早于 from")
        if (last - first).days > 366 * 3:
            raise _bad("to", "考核期不超过 3 年")
        return actions.AssessmentPeriod(first, last + timedelta(days=1))
    else:
        start = today.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return actions.AssessmentPeriod(start, end)


async def _assessment(request: web.Request) -> tuple[dict[str, Any], str]:
    qy = request.query
    group = params.opt_choice(qy, "group", GROUPS) or "unit"
    level = params.opt_int(qy, "level", minimum=1, maximum=5) or 2
    period = _period(qy, context.today(request))
    async with acting(request) as (conn, caller):
        view = await actions.assessment_view(
            conn, cast(Group, group), period, caller, case_config(request), now=now(), level=level
        )
    labels = caller.principal.scope_labels
    return view, "、".join(labels) if labels else "全部区域"


async def get_assessment(request: web.Request) -> web.Response:
    view, scope_label = await _assessment(request)
    view["scope_label"] = scope_label
    return json_response(view)


async def export_assessment(request: web.Request) -> web.Response:
    fmt = params.opt_choice(request.query, "format", tuple(EXPORT_TYPES)) or "xlsx"
    view, scope_label = await _assessment(request)
    report = actions.assessment_report(view, scope_label, now())
    data = await actions.assessment_export(report, fmt)
    name = f"案件考核_{view['group_label']}_{view['period']['label']}.{fmt}".replace(" ", "")
    context.audit(request, format=fmt, period=view["period"]["label"])
    return web.Response(
        body=data,
        content_type=EXPORT_TYPES[fmt].split(";")[0],
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# -- photos --------------------------------------------------------------------------------


async def upload_photos(request: web.Request) -> web.Response:
    principal = context.caller(request)
    if not (principal.can("cases:write") or principal.can("patrol:write")):
        raise ApiError(403, "forbidden", "没有权限：上传照片（处理案件或巡查上报）")
    config = case_config(request)
    limit = config.cases.upload_max_bytes
    count = max(6, config.cases.complaint_max_photos)
    local = now().astimezone(config.tz)
    async with context.pool(request).acquire() as conn:
        await quotas.check_daily_room(conn, principal.user_id, local, config.cases)
    _, files = await read_multipart(request, max_file_bytes=limit, max_files=count)
    if not files:
        raise ApiError(400, "bad_request", "请选择要上传的照片（字段 photo）")
    async with context.pool(request).acquire() as conn, conn.transaction():
        await quotas.count_upload(conn, principal.user_id, local, files, config.cases)
        stored = await save_photos(
            config.uploads_dir, files, max_bytes=limit, max_count=count, now=local
        )
        staged = await stage_uploads(conn, principal.user_id, stored)
    return json_response({"items": staged}, status=201)


async def get_attachment(request: web.Request) -> web.StreamResponse:
    config = case_config(request)
    async with acting(request) as (conn, caller):
        ref = await actions.attachment_for(conn, params.path_int(request), caller, config)
    path = resolve_upload(config.uploads_dir, ref.path)
    if not path.is_file():
        raise ApiError(404, "not_found", "附件文件已丢失")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": ref.mime,
            "Cache-Control": "private, max-age=86400",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(ref.name or path.name)}",
        },
    )


# -- public complaints ---------------------------------------------------------------------


class _Counted:
    """The request was counted by the handler already (before reading the body)."""

    async def hit(self, key: str, now: Any) -> bool:
        return True


def _coordinate(fields: Mapping[str, str], name: str, bound: float) -> float:
    raw = fields.get(name, "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", "请在地图上选择投诉位置", parameter=name) from None
    if not -bound <= value <= bound:
        raise ApiError(400, "bad_parameter", "位置坐标超出范围", parameter=name)
    return value


async def submit_public_complaint(request: web.Request) -> web.Response:
    config = case_config(request)
    c = config.cases
    at = now()
    limiter = DbRateLimiter(
        context.pool(request), c.complaint_rate_limit, c.complaint_rate_window_s
    )
    ip = request_address(request) or "unknown"
    if not await limiter.hit(f"complaint:{request_client(request)}", at):
        minutes = max(1, c.complaint_rate_window_s // 60)
        raise ApiError(429, "too_many_requests", f"提交过于频繁，请 {minutes} 分钟后再试")
    fields, files = await read_multipart(
        request, max_file_bytes=c.upload_max_bytes, max_files=c.complaint_max_photos
    )
    data = ComplaintInput(
        description=fields.get("description", ""),
        lat=_coordinate(fields, "lat", 90),
        lon=_coordinate(fields, "lon", 180),
        category=fields.get("category") or "other",
        title=fields.get("title", ""),
        address=fields.get("address", ""),
        contact_name=fields.get("contact_name", ""),
        contact_phone=fields.get("contact_phone", ""),
        photos=files,
    )
    receipt = await submit_complaint(
        context.pool(request),
        data,
        ip=ip if ip != "unknown" else "0.0.0.0",
        config=config,
        now=at,
        limiter=_Counted(),
        index_cache=GridIndexCache(),
    )
    return json_response(
        {
            "code": receipt.code,
            "grid_name": receipt.grid_name,
            "message": "投诉已受理，感谢您的监督",
        },
        status=201,
    )


async def complaint_categories(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = {r["code"]: r["name"] for r in await q.category_list(conn)}
    return json_response([{"code": c, "name": rows.get(c, c)} for c in PUBLIC_CATEGORIES])


__all__ = [
    "EXPORT_TYPES",
    "case_action",
    "case_board_columns",
    "case_grid",
    "case_notices",
    "complaint_categories",
    "create_case",
    "export_assessment",
    "get_assessment",
    "get_attachment",
    "get_case",
    "list_cases",
    "list_categories",
    "my_cases",
    "submit_public_complaint",
    "upload_photos",
]
