"""Handlers of the alert pages: alerts (list, detail, acknowledge/resolve/assign/comment),
the notification log and the pages; silences and windows: :mod:`.silences`, routes and
receivers: :mod:`.routing`, what they share: :mod:`.common`.

Reads go through this module's SQL (data scope in SQL, see ``queries``); every change
goes through ``alerts.api`` (history, NOTIFY, the engine's configuration reload), after
the scope check.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from alerts import RULE_ZH, SEVERITY_ZH, STATE_ZH, STATES
from alerts import api as alerts_api
from alerts.rules import RULES, SEVERITIES
from web import context, pages, params
from web.responses import ApiError, json_response

from . import queries
from .common import alert_view, list_param, not_found

_OPEN: Final = ["pending", "firing", "acknowledged"]
_NOTIFICATION_STATUS: Final = ("queued", "sending", "sent", "failed", "dropped")
_NOTIFICATION_KIND: Final = ("alert", "reminder", "ranking", "test")


async def list_alerts(request: web.Request) -> web.Response:
    q = request.query
    page = params.paging(q, context.settings(request).web.page_size_max, default=50)
    state = params.opt_str(q, "state", max_len=60)
    states = _OPEN if state == "open" else list_param(state, STATES, "state") or None
    rules = list_param(params.opt_str(q, "rule", max_len=200), RULES, "rule") or None
    severities = (
        list_param(params.opt_str(q, "severity", max_len=60), SEVERITIES, "severity") or None
    )
    async with context.pool(request).acquire() as conn:
        items, total = await queries.list_alerts(
            conn,
            context.caller(request).scope_param,
            states=states,
            station=params.opt_int(q, "station", minimum=1),
            region=params.opt_str(q, "region"),
            area=params.opt_int(q, "area", minimum=1),
            rules=rules,
            severities=severities,
            since=params.opt_time(q, "from"),
            until=params.opt_time(q, "to"),
            include_unfired=bool(params.opt_bool(q, "unfired")),
            limit=page.limit,
            offset=page.offset,
        )
    return json_response(page.wrap([alert_view(i) for i in items], total))


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
    alert_id = params.path_int(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.alert(conn, context.caller(request).scope_param, alert_id)
        if row is None:
            raise not_found()
        detail = await alerts_api.get_alert(conn, alert_id)
    if detail is None:
        raise not_found()
    body = detail.to_json()
    body["alert"] = alert_view(row)
    return json_response(body)


async def _change(request: web.Request, action: str) -> web.Response:
    alert_id = params.path_int(request)
    body = await params.json_body(request) if request.can_read_body else {}
    comment = params.body_str(body, "comment", max_len=500) or ""
    user = context.caller(request)
    async with context.pool(request).acquire() as conn:
        if await queries.alert(conn, user.scope_param, alert_id) is None:
            raise not_found()
        if action == "ack":
            await alerts_api.acknowledge_alert(conn, alert_id, user=user.username, comment=comment)
        elif action == "resolve":
            await alerts_api.resolve_alert(conn, alert_id, user=user.username, comment=comment)
        elif action == "assign":
            assignee = params.body_str(body, "assignee", max_len=64)
            await alerts_api.assign_alert(
                conn, alert_id, assignee=assignee, user=user.username, comment=comment
            )
        else:
            if not comment.strip():
                raise ApiError(400, "bad_parameter", "备注不能为空", parameter="comment")
            await alerts_api.comment_alert(conn, alert_id, user=user.username, comment=comment)
        row = await queries.alert(conn, user.scope_param, alert_id)
    assert row is not None
    context.audit(request, alert_id=alert_id, action=action, comment=comment)
    return json_response(alert_view(row))


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


async def list_notifications(request: web.Request) -> web.Response:
    q = request.query
    page = params.paging(q, context.settings(request).web.page_size_max, default=50)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.notifications(
            conn,
            context.caller(request).scope_param,
            status=params.opt_choice(q, "status", _NOTIFICATION_STATUS),
            kind=params.opt_choice(q, "kind", _NOTIFICATION_KIND),
            alert_id=params.opt_int(q, "alert", minimum=1, maximum=2**62),
            receiver_id=params.opt_int(q, "receiver", minimum=1),
            since=params.opt_time(q, "from"),
            limit=page.limit,
            offset=page.offset,
        )
    return json_response(page.wrap(items, total))


async def get_notification(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        row = await queries.notification(
            conn, context.caller(request).scope_param, params.path_int(request)
        )
    if row is None:
        raise ApiError(404, "not_found", "通知不存在或不在您的数据范围内")
    return json_response(row)


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
        request, "alert.html", "告警详情", alertId=params.path_int(request), **_page_config(request)
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
