"""Handlers of the alert pages: alerts (list, detail, acknowledge/resolve/assign/comment),
the notification log, silences and maintenance windows, routes and receivers.

Reads go through this module's SQL (data scope in SQL, see ``queries``); every change
goes through ``alerts.api`` (history, NOTIFY, the engine's configuration reload), after
the scope check.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from aiohttp import web

from alerts import RULE_ZH, SEVERITY_ZH, STATE_ZH, STATES
from alerts import api as alerts_api
from alerts.model import REASON_ZH
from alerts.routing import MATCHER_LABELS
from alerts.rules import RULES, SEVERITIES
from web import context, pages
from web.params import (
    body_bool,
    body_int,
    body_str,
    json_body,
    opt_bool,
    opt_choice,
    opt_int,
    opt_str,
    opt_time,
    paging,
    path_int,
)
from web.responses import ApiError, json_response
from web.stations.service import AIR_UNITS

from . import queries

_T = TypeVar("_T")

_OPEN: Final = ["pending", "firing", "acknowledged"]
_NOTIFICATION_STATUS: Final = ("queued", "sending", "sent", "failed")
_NOTIFICATION_KIND: Final = ("alert", "reminder", "ranking", "test")


# -- helpers ----------------------------------------------------------------------------------
def _not_found() -> ApiError:
    return ApiError(404, "not_found", "告警不存在或不在您的数据范围内")


async def _call_api(
    request: web.Request, fn: Callable[..., Awaitable[_T]], *args: Any, **kwargs: Any
) -> _T:
    """``fn(conn, *args, **kwargs)`` of alerts.api on a pooled connection; its refusals
    become API errors (:func:`_translate`)."""
    async with context.pool(request).acquire() as conn:
        try:
            return await fn(conn, *args, **kwargs)
        except alerts_api.AlertApiError as exc:
            raise _translate(exc) from None


def _translate(exc: alerts_api.AlertApiError) -> ApiError:
    """The alert API's message (English, for the CLI) in Chinese for the pages."""
    text = str(exc)
    if isinstance(exc, alerts_api.NotFound):
        return ApiError(404, "not_found", "对象不存在")
    m = re.search(r"is (\w+); only firing alerts can be acknowledged", text)
    if m:
        state = STATE_ZH.get(m.group(1), m.group(1))
        return ApiError(409, "conflict", f"只有“告警中”的告警可以确认（当前：{state}）")
    if "already resolved" in text:
        return ApiError(409, "conflict", "告警已恢复")
    m = re.search(r"named '(.*)' exists already", text)
    if m:
        return ApiError(409, "conflict", f"名称已存在：{m.group(1)}")
    return ApiError(400, "bad_parameter", f"参数无效：{text}")


def _list_param(raw: str | None, allowed: tuple[str, ...] | list[str], name: str) -> list[str]:
    values = [v for v in (raw or "").split(",") if v]
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ApiError(400, "bad_parameter", f"参数 {name} 无效：{'、'.join(bad)}", parameter=name)
    return values


def _view(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alert row with the names shown on the pages."""
    out = {k: v for k, v in row.items()}
    out["rule_zh"] = RULE_ZH.get(row["rule"], row["rule"])
    out["state_zh"] = STATE_ZH.get(row["state"], row["state"])
    out["severity_zh"] = SEVERITY_ZH.get(row["severity"], row["severity"])
    out["reason_zh"] = REASON_ZH.get(row["reason"], row["reason"])
    if row.get("station_st") == "22" and row.get("factor_code") in AIR_UNITS:
        out["factor_unit"] = AIR_UNITS[row["factor_code"]]  # the platform's ambient-air units
    return out


def _body_time(body: Mapping[str, Any], name: str) -> datetime | None:
    raw = body_str(body, name, max_len=40)
    if raw is None:
        return None
    value = opt_time({name: raw}, name)
    return value


def _matchers(body: Mapping[str, Any], *, required: bool = False) -> dict[str, list[str]]:
    raw = body.get("matchers")
    if raw is None:
        if required:
            raise ApiError(400, "bad_parameter", "需要匹配条件 matchers", parameter="matchers")
        return {}
    if not isinstance(raw, dict) or len(raw) > len(MATCHER_LABELS):
        raise ApiError(400, "bad_parameter", "matchers 应为 {标签: [值]}", parameter="matchers")
    out: dict[str, list[str]] = {}
    for label, values in raw.items():
        if label not in MATCHER_LABELS:
            raise ApiError(
                400,
                "bad_parameter",
                f"未知的匹配标签 {label}（可用：{', '.join(MATCHER_LABELS)}）",
                parameter="matchers",
            )
        items = [values] if isinstance(values, str | int) else values
        if (
            not isinstance(items, list)
            or not 1 <= len(items) <= 500
            or not all(
                isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= 64
                for v in items
            )
        ):
            raise ApiError(
                400, "bad_parameter", f"匹配标签 {label} 需要 1–500 个值", parameter="matchers"
            )
        out[label] = sorted({str(v) for v in items})
    return out


async def _check_matchers(request: web.Request, matchers: dict[str, list[str]]) -> None:
    scope = context.caller(request).scope_param
    if scope is None:
        return
    async with context.pool(request).acquire() as conn:
        ok = await queries.matchers_in_scope(conn, scope, matchers)
    if not ok:
        raise ApiError(
            403,
            "out_of_scope",
            "匹配条件须限定在您的数据范围内的站点（station）、区县（region）或网格（grid）",
        )


def _int_list(body: Mapping[str, Any], name: str) -> list[int]:
    raw = body.get(name) or []
    if not isinstance(raw, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2_147_483_647 for v in raw
    ):
        raise ApiError(400, "bad_parameter", f"{name} 应为 id 列表", parameter=name)
    return list(dict.fromkeys(raw))


def _str_list(body: Mapping[str, Any], name: str, default: list[str]) -> list[str]:
    raw = body.get(name)
    if raw is None:
        return default
    if not isinstance(raw, list) or not all(isinstance(v, str) and len(v) <= 40 for v in raw):
        raise ApiError(400, "bad_parameter", f"{name} 应为文本列表", parameter=name)
    return list(dict.fromkeys(raw))


def _seconds(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2592000:
        raise ApiError(400, "bad_parameter", f"{name} 应为 0–2592000 秒", parameter=name)
    return float(value)


# -- alerts -----------------------------------------------------------------------------------
async def list_alerts(request: web.Request) -> web.Response:
    q = request.query
    page = paging(q, context.settings(request).web.page_size_max, default=50)
    state = opt_str(q, "state", max_len=60)
    states = _OPEN if state == "open" else _list_param(state, STATES, "state") or None
    rules = _list_param(opt_str(q, "rule", max_len=200), RULES, "rule") or None
    severities = _list_param(opt_str(q, "severity", max_len=60), SEVERITIES, "severity") or None
    async with context.pool(request).acquire() as conn:
        items, total = await queries.list_alerts(
            conn,
            context.caller(request).scope_param,
            states=states,
            station=opt_int(q, "station", minimum=1),
            region=opt_str(q, "region"),
            area=opt_int(q, "area", minimum=1),
            rules=rules,
            severities=severities,
            since=opt_time(q, "from"),
            until=opt_time(q, "to"),
            include_unfired=bool(opt_bool(q, "unfired")),
            limit=page.limit,
            offset=page.offset,
        )
    return json_response(page.wrap([_view(i) for i in items], total))


async def alert_summary(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.summary(conn, context.caller(request).scope_param)
    by_state: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + r["n"]
        by_severity[r["severity"]] = by_severity.get(r["severity"], 0) + r["n"]
    return json_response(
        {"open": sum(by_state.values()), "by_state": by_state, "by_severity": by_severity}
    )


async def get_alert(request: web.Request) -> web.Response:
    alert_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.alert(conn, context.caller(request).scope_param, alert_id)
        if row is None:
            raise _not_found()
        detail = await alerts_api.get_alert(conn, alert_id)
    if detail is None:
        raise _not_found()
    body = detail.to_json()
    body["alert"] = _view(row)
    return json_response(body)


async def _change(request: web.Request, action: str) -> web.Response:
    alert_id = path_int(request)
    body = await json_body(request) if request.can_read_body else {}
    comment = body_str(body, "comment", max_len=500) or ""
    user = context.caller(request)
    async with context.pool(request).acquire() as conn:
        if await queries.alert(conn, user.scope_param, alert_id) is None:
            raise _not_found()
        try:
            if action == "ack":
                await alerts_api.acknowledge_alert(
                    conn, alert_id, user=user.username, comment=comment
                )
            elif action == "resolve":
                await alerts_api.resolve_alert(conn, alert_id, user=user.username, comment=comment)
            elif action == "assign":
                assignee = body_str(body, "assignee", max_len=64)
                await alerts_api.assign_alert(
                    conn, alert_id, assignee=assignee, user=user.username, comment=comment
                )
            else:
                if not comment.strip():
                    raise ApiError(400, "bad_parameter", "备注不能为空", parameter="comment")
                await alerts_api.comment_alert(conn, alert_id, user=user.username, comment=comment)
        except alerts_api.AlertApiError as exc:
            raise _translate(exc) from None
        row = await queries.alert(conn, user.scope_param, alert_id)
    assert row is not None
    context.audit(request, alert_id=alert_id, action=action, comment=comment)
    return json_response(_view(row))


async def acknowledge(request: web.Request) -> web.Response:
    return await _change(request, "ack")


async def resolve(request: web.Request) -> web.Response:
    return await _change(request, "resolve")


async def assign(request: web.Request) -> web.Response:
    return await _change(request, "assign")


async def comment(request: web.Request) -> web.Response:
    return await _change(request, "comment")


async def assignees(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        return json_response(await queries.assignees(conn))


# -- notification log ---------------------------------------------------------------------------
async def list_notifications(request: web.Request) -> web.Response:
    q = request.query
    page = paging(q, context.settings(request).web.page_size_max, default=50)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.notifications(
            conn,
            context.caller(request).scope_param,
            status=opt_choice(q, "status", _NOTIFICATION_STATUS),
            kind=opt_choice(q, "kind", _NOTIFICATION_KIND),
            alert_id=opt_int(q, "alert", minimum=1, maximum=2**62),
            receiver_id=opt_int(q, "receiver", minimum=1),
            since=opt_time(q, "from"),
            limit=page.limit,
            offset=page.offset,
        )
    return json_response(page.wrap(items, total))


async def get_notification(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        row = await queries.notification(
            conn, context.caller(request).scope_param, path_int(request)
        )
    if row is None:
        raise ApiError(404, "not_found", "通知不存在或不在您的数据范围内")
    return json_response(row)


# -- silences ---------------------------------------------------------------------------------
async def list_silences(request: web.Request) -> web.Response:
    active = bool(opt_bool(request.query, "active"))
    async with context.pool(request).acquire() as conn:
        rows = await queries.silences(conn, context.caller(request).scope_param, active)
    return json_response(rows)


async def create_silence(request: web.Request) -> web.Response:
    body = await json_body(request)
    matchers = _matchers(body, required=True)
    await _check_matchers(request, matchers)
    starts = _body_time(body, "starts_at")
    ends = _body_time(body, "ends_at")
    minutes = body_int(body, "duration_min", minimum=1, maximum=43200)
    if ends is None:
        if minutes is None:
            raise ApiError(400, "bad_parameter", "需要结束时间或时长", parameter="ends_at")
        ends = (starts or datetime.now(UTC)) + timedelta(minutes=minutes)
    user = context.caller(request)
    sid = await _call_api(
        request,
        alerts_api.create_silence,
        matchers=matchers,
        ends_at=ends,
        starts_at=starts,
        created_by=user.username,
        comment=body_str(body, "comment", max_len=500) or "",
    )
    context.audit(request, silence_id=sid, matchers=matchers)
    return json_response({"id": sid}, status=201)


async def _scoped_silence(request: web.Request) -> int:
    silence_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        matchers = await queries.silence_matchers(conn, silence_id)
        scope = context.caller(request).scope_param
        if matchers is None or not await queries.matchers_in_scope(conn, scope, matchers):
            raise ApiError(404, "not_found", "静默不存在或不在您的数据范围内")
    return silence_id


async def expire_silence(request: web.Request) -> web.Response:
    silence_id = await _scoped_silence(request)
    async with context.pool(request).acquire() as conn:
        try:
            await alerts_api.expire_silence(conn, silence_id, user=context.caller(request).username)
        except alerts_api.NotFound:
            raise ApiError(409, "conflict", "静默已结束") from None
    context.audit(request, silence_id=silence_id)
    return json_response({"ok": True})


async def delete_silence(request: web.Request) -> web.Response:
    silence_id = await _scoped_silence(request)
    await _call_api(request, alerts_api.delete_silence, silence_id)
    context.audit(request, silence_id=silence_id)
    return json_response({"ok": True})


# -- maintenance windows --------------------------------------------------------------------------
async def list_windows(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.windows(conn, context.caller(request).scope_param)
    return json_response(rows)


def _window_args(body: Mapping[str, Any], matchers: dict[str, list[str]]) -> dict[str, Any]:
    name = body_str(body, "name", required=True, max_len=100)
    weekdays = _int_list(body, "weekdays")
    ranges = body.get("time_ranges") or []
    if not isinstance(ranges, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(t, str) and len(t) <= 5 for t in r)
        for r in ranges
    ):
        raise ApiError(
            400,
            "bad_parameter",
            'time_ranges 应为 [["HH:MM", "HH:MM"], …]',
            parameter="time_ranges",
        )
    return {
        "name": name,
        "matchers": matchers,
        "recurring": body_bool(body, "recurring") is True,
        "starts_at": _body_time(body, "starts_at"),
        "ends_at": _body_time(body, "ends_at"),
        "weekdays": weekdays,
        "time_ranges": ranges,
        "timezone": body_str(body, "timezone", max_len=64),
        "enabled": body_bool(body, "enabled") is not False,
        "comment": body_str(body, "comment", max_len=500) or "",
    }


async def create_window(request: web.Request) -> web.Response:
    body = await json_body(request)
    matchers = _matchers(body, required=context.caller(request).scope is not None)
    await _check_matchers(request, matchers)
    args = _window_args(body, matchers)
    wid = await _call_api(
        request, alerts_api.create_window, **args, created_by=context.caller(request).username
    )
    context.audit(request, window_id=wid, name=args["name"])
    return json_response({"id": wid}, status=201)


async def _scoped_window(request: web.Request) -> int:
    window_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        matchers = await queries.window_matchers(conn, window_id)
        scope = context.caller(request).scope_param
        if matchers is None or not await queries.matchers_in_scope(conn, scope, matchers):
            raise ApiError(404, "not_found", "维护窗口不存在或不在您的数据范围内")
    return window_id


async def update_window(request: web.Request) -> web.Response:
    window_id = await _scoped_window(request)
    body = await json_body(request)
    matchers = _matchers(body, required=context.caller(request).scope is not None)
    await _check_matchers(request, matchers)
    args = _window_args(body, matchers)
    await _call_api(request, alerts_api.update_window, window_id, **args)
    context.audit(request, window_id=window_id)
    return json_response({"id": window_id})


async def delete_window(request: web.Request) -> web.Response:
    window_id = await _scoped_window(request)
    await _call_api(request, alerts_api.delete_window, window_id)
    context.audit(request, window_id=window_id)
    return json_response({"ok": True})


# -- routes ---------------------------------------------------------------------------------------
async def list_routes(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        return json_response(await alerts_api.list_routes(conn))


def _route_args(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": body_str(body, "name", required=True, max_len=100),
        "position": body_int(body, "position", minimum=0, maximum=100000) or 100,
        "matchers": _matchers(body),
        "receiver_ids": _int_list(body, "receiver_ids"),
        "to_roles": _str_list(body, "to_roles", []),
        "group_by": _str_list(body, "group_by", ["region", "rule"]),
        "group_wait_s": _seconds(body, "group_wait_s"),
        "group_interval_s": _seconds(body, "group_interval_s"),
        "repeat_interval_s": _seconds(body, "repeat_interval_s"),
        "send_resolved": body_bool(body, "send_resolved") is not False,
        "mute_window_ids": _int_list(body, "mute_window_ids"),
        "continue_matching": body_bool(body, "continue_matching") is True,
        "enabled": body_bool(body, "enabled") is not False,
    }


async def create_route(request: web.Request) -> web.Response:
    args = _route_args(await json_body(request))
    rid = await _call_api(request, alerts_api.create_route, **args)
    context.audit(request, route_id=rid, name=args["name"])
    return json_response({"id": rid}, status=201)


async def update_route(request: web.Request) -> web.Response:
    route_id = path_int(request)
    args = _route_args(await json_body(request))
    await _call_api(request, alerts_api.update_route, route_id, **args)
    context.audit(request, route_id=route_id)
    return json_response({"id": route_id})


async def delete_route(request: web.Request) -> web.Response:
    route_id = path_int(request)
    await _call_api(request, alerts_api.delete_route, route_id)
    context.audit(request, route_id=route_id)
    return json_response({"ok": True})


# -- receivers and responsibilities -------------------------------------------------------------
async def list_receivers(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        return json_response(await queries.receivers(conn))


def _receiver_args(body: Mapping[str, Any]) -> dict[str, Any]:
    settings = body.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise ApiError(400, "bad_parameter", "settings 应为对象", parameter="settings")
    return {
        "name": body_str(body, "name", required=True, max_len=100),
        "kind": body_str(body, "kind", required=True, max_len=20),
        "address": body_str(body, "address", required=True, max_len=1000),
        "settings": settings,
        "enabled": body_bool(body, "enabled") is not False,
        "secret": body_str(body, "secret", max_len=500),
    }


async def _link_user(conn: Any, receiver_id: int, body: Mapping[str, Any]) -> None:
    if "user_id" not in body:
        return
    user_id = body_int(body, "user_id", minimum=1)
    if user_id is not None and not await queries.user_exists(conn, user_id):
        raise ApiError(400, "bad_parameter", "用户不存在", parameter="user_id")
    await queries.set_receiver_user(conn, receiver_id, user_id)


async def create_receiver(request: web.Request) -> web.Response:
    body = await json_body(request)
    args = _receiver_args(body)
    async with context.pool(request).acquire() as conn, conn.transaction():
        try:
            rid = await alerts_api.create_receiver(conn, **args)
        except alerts_api.AlertApiError as exc:
            raise _translate(exc) from None
        await _link_user(conn, rid, body)
    context.audit(request, receiver_id=rid, name=args["name"])
    return json_response({"id": rid}, status=201)


async def update_receiver(request: web.Request) -> web.Response:
    receiver_id = path_int(request)
    body = await json_body(request)
    args = _receiver_args(body)
    secret = args.pop("secret")
    async with context.pool(request).acquire() as conn, conn.transaction():
        try:
            await alerts_api.update_receiver(
                conn, receiver_id, **args, secret=secret, keep_secret=secret is None
            )
        except alerts_api.AlertApiError as exc:
            raise _translate(exc) from None
        await _link_user(conn, receiver_id, body)
    context.audit(request, receiver_id=receiver_id)
    return json_response({"id": receiver_id})


async def delete_receiver(request: web.Request) -> web.Response:
    receiver_id = path_int(request)
    await _call_api(request, alerts_api.delete_receiver, receiver_id)
    context.audit(request, receiver_id=receiver_id)
    return json_response({"ok": True})


async def add_responsibility(request: web.Request) -> web.Response:
    receiver_id = path_int(request)
    body = await json_body(request)
    role = body_str(body, "role", required=True, max_len=20)
    scope = body_str(body, "scope", required=True, max_len=20)
    key = body.get("scope_key", "")
    if not isinstance(key, str | int) or isinstance(key, bool) or len(str(key)) > 64:
        raise ApiError(400, "bad_parameter", "scope_key 无效", parameter="scope_key")
    rid = await _call_api(
        request,
        alerts_api.add_responsibility,
        receiver_id=receiver_id,
        role=str(role),
        scope=str(scope),
        scope_key=key,
    )
    context.audit(request, receiver_id=receiver_id, responsibility_id=rid)
    return json_response({"id": rid}, status=201)


async def remove_responsibility(request: web.Request) -> web.Response:
    rid = path_int(request)
    await _call_api(request, alerts_api.remove_responsibility, rid)
    context.audit(request, responsibility_id=rid)
    return json_response({"ok": True})


# -- pages --------------------------------------------------------------------------------------
def _page_config(request: web.Request) -> dict[str, Any]:
    user = context.caller(request)
    return {
        "canAck": user.can("alerts:ack"),
        "canSilence": user.can("alerts:silence"),
        "canAdmin": user.can("alerts:admin"),
        "scoped": user.scope is not None,
        "rules": dict(RULE_ZH),
        "states": dict(STATE_ZH),
        "severities": dict(SEVERITY_ZH),
    }


async def alerts_page(request: web.Request) -> web.Response:
    return pages.render_page(request, "alerts.html", "告警", **_page_config(request))


async def alert_page(request: web.Request) -> web.Response:
    return pages.render_page(
        request, "alert.html", "告警详情", alertId=path_int(request), **_page_config(request)
    )


async def silences_page(request: web.Request) -> web.Response:
    return pages.render_page(
        request, "alert_silences.html", "静默与维护窗口", **_page_config(request)
    )


async def notifications_page(request: web.Request) -> web.Response:
    return pages.render_page(
        request, "alert_notifications.html", "通知记录", **_page_config(request)
    )


async def routing_page(request: web.Request) -> web.Response:
    return pages.render_page(
        request, "alert_routing.html", "告警路由与接收人", **_page_config(request)
    )
