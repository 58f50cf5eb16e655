"""Routes of the alert pages (listed in ``web.routes.MODULES``: API, PAGES, NAV, ERRORS)."""

from __future__ import annotations

from typing import Any, Final

from alerts import api as alerts_api
from web.errors import ErrorTable
from web.openapi import Endpoint, Page, Param, obj, page_of, text
from web.pages import NavItem

from . import handlers as h
from . import routing, silences
from .common import translate

_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_OK = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
_ID = {"type": "object", "properties": {"id": _INT}}
_LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000})
_OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000})
_MATCHERS: Final[dict[str, Any]] = {
    "type": "object",
    "description": "标签 → 取值列表：station（站点 id）、region、grid（网格 id）、rule、"
    "severity、st、factor、worker、scope",
    "additionalProperties": {"type": "array", "items": {"type": "string", "maxLength": 64}},
}
_ALERT = {
    "type": "object",
    "required": ["id", "rule", "state", "severity"],
    "properties": {
        "id": _INT,
        "rule": _STR,
        "rule_zh": _STR,
        "state": {"type": "string", "enum": ["pending", "firing", "acknowledged", "resolved"]},
        "severity": _STR,
        "station_id": {"type": ["integer", "null"]},
        "station_name": {"type": ["string", "null"]},
        "region": _STR,
        "first_seen": _TIME,
        "assignee": {"type": ["string", "null"]},
    },
}
_COMMENT = {
    "type": "object",
    "properties": {"comment": {"type": "string", "maxLength": 500}},
}
_SILENCE = obj(
    {
        "matchers": _MATCHERS,
        "starts_at": _TIME,
        "ends_at": _TIME,
        "duration_min": {"type": "integer", "minimum": 1, "maximum": 43200},
        "comment": text(500),
    },
    "matchers",
)
_WINDOW = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "matchers": _MATCHERS,
        "recurring": {"type": "boolean"},
        "starts_at": _TIME,
        "ends_at": _TIME,
        "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
        "time_ranges": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string", "maxLength": 5}},
        },
        "timezone": {"type": "string", "maxLength": 64},
        "enabled": {"type": "boolean"},
        "comment": {"type": "string", "maxLength": 500},
    },
}
_ROUTE = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "position": {"type": "integer", "minimum": 0, "maximum": 100000},
        "matchers": _MATCHERS,
        "receiver_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "to_roles": {
            "type": "array",
            "items": {"type": "string", "enum": ["maintainer", "officer"]},
        },
        "group_by": {"type": "array", "items": {"type": "string", "maxLength": 40}},
        "group_wait_s": {"type": "number", "minimum": 0, "maximum": 2592000},
        "group_interval_s": {"type": "number", "minimum": 0, "maximum": 2592000},
        "repeat_interval_s": {"type": "number", "minimum": 0, "maximum": 2592000},
        "send_resolved": {"type": "boolean"},
        "mute_window_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "continue_matching": {"type": "boolean"},
        "enabled": {"type": "boolean"},
    },
}
_RECEIVER = {
    "type": "object",
    "required": ["name", "kind", "address"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "kind": {"type": "string", "enum": ["email", "webhook", "wecom", "dingtalk"]},
        "address": {"type": "string", "minLength": 1, "maxLength": 1000},
        "secret": {"type": "string", "maxLength": 500},
        "settings": {"type": "object"},
        "enabled": {"type": "boolean"},
        "user_id": {"type": ["integer", "null"], "minimum": 1, "description": "关联的平台用户"},
    },
}
_RESPONSIBILITY = obj(
    {
        "role": {"type": "string", "enum": ["maintainer", "officer"]},
        "scope": {"type": "string", "enum": ["station", "region", "area", "all"]},
        "scope_key": text(64),
    },
    "role",
    "scope",
)

E = Endpoint
#: The alert API's refusals (English, for the CLI) → answers in Chinese (see web.errors).
ERRORS: Final[ErrorTable] = {alerts_api.AlertApiError: translate}

API: Final = (
    E(
        "GET",
        "/api/v1/alerts",
        h.list_alerts,
        "alerts:read",
        "告警列表（筛选；数据范围内）",
        "告警",
        params=(
            Param(
                "state", {"type": "string", "maxLength": 60}, description="open 或状态，逗号分隔"
            ),
            Param("rule", {"type": "string", "maxLength": 200}, description="规则，逗号分隔"),
            Param("severity", {"type": "string", "maxLength": 60}),
            Param("station", {"type": "integer", "minimum": 1, "maximum": 2147483647}),
            Param("region", {"type": "string", "maxLength": 100}),
            Param("area", {"type": "integer", "minimum": 1, "maximum": 2147483647}),
            Param("from", _TIME),
            Param("to", _TIME),
            Param("unfired", {"type": "boolean"}, description="包含未触发的待确认告警"),
            _LIMIT,
            _OFFSET,
        ),
        response=page_of(_ALERT),
        description=(
            "数据范围内的告警，可按状态、规则、级别、站点、区县、网格与时段筛选。\n\n"
            "示例（未关闭的告警）：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' \\\n     'https://HOST/api/v1/alerts?state=open&limit=20'\n```"
        ),
    ),
    E(
        "GET",
        "/api/v1/alert-summary",
        h.alert_summary,
        "alerts:read",
        "未恢复告警统计",
        "告警",
        response={"type": "object", "properties": {"open": _INT, "by_state": {"type": "object"}}},
    ),
    E("GET", "/api/v1/alerts/{id}", h.get_alert, "alerts:read", "告警详情（历史与通知）", "告警"),
    E(
        "POST",
        "/api/v1/alerts/{id}/ack",
        h.acknowledge,
        "alerts:ack",
        "确认告警",
        "告警",
        body=_COMMENT,
        response=_ALERT,
        description=(
            "确认一条告警（可附说明），写入操作日志。\n\n示例：\n\n"
            "```\ncurl -H 'Authorization: Bearer eg_…' -H 'Content-Type: application/json' \\\n"
            '     -d \'{"comment": "已通知运维人员"}\' \\\n'
            "     https://HOST/api/v1/alerts/42/ack\n```"
        ),
    ),
    E(
        "POST",
        "/api/v1/alerts/{id}/resolve",
        h.resolve,
        "alerts:ack",
        "解除告警",
        "告警",
        body=_COMMENT,
        response=_ALERT,
    ),
    E(
        "POST",
        "/api/v1/alerts/{id}/assign",
        h.assign,
        "alerts:ack",
        "指派告警",
        "告警",
        body={
            "type": "object",
            "properties": {
                "assignee": {"type": ["string", "null"], "maxLength": 64},
                "comment": {"type": "string", "maxLength": 500},
            },
        },
        response=_ALERT,
    ),
    E(
        "POST",
        "/api/v1/alerts/{id}/comment",
        h.comment,
        "alerts:ack",
        "告警备注",
        "告警",
        body={
            "type": "object",
            "required": ["comment"],
            "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": 500}},
        },
        response=_ALERT,
    ),
    E(
        "GET",
        "/api/v1/alert-assignees",
        h.assignees,
        "alerts:ack",
        "可指派的处理人",
        "告警",
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "GET",
        "/api/v1/alert-notifications",
        h.list_notifications,
        "alerts:read",
        "通知记录",
        "告警通知",
        params=(
            Param("status", {"type": "string", "enum": ["queued", "sending", "sent", "failed"]}),
            Param("kind", {"type": "string", "enum": ["alert", "reminder", "ranking", "test"]}),
            Param("alert", {"type": "integer", "minimum": 1, "maximum": 2**62}),
            Param("receiver", {"type": "integer", "minimum": 1, "maximum": 2147483647}),
            Param("from", _TIME),
            _LIMIT,
            _OFFSET,
        ),
        response=page_of({"type": "object"}),
    ),
    E(
        "GET",
        "/api/v1/alert-notifications/{id}",
        h.get_notification,
        "alerts:read",
        "通知内容",
        "告警通知",
    ),
    E(
        "GET",
        "/api/v1/alert-silences",
        silences.list_silences,
        "alerts:read",
        "静默列表",
        "静默与维护",
        params=(Param("active", {"type": "boolean"}, description="只看未结束的"),),
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "POST",
        "/api/v1/alert-silences",
        silences.create_silence,
        "alerts:silence",
        "新建静默",
        "静默与维护",
        body=_SILENCE,
        status=201,
        response=_ID,
    ),
    E(
        "POST",
        "/api/v1/alert-silences/{id}/expire",
        silences.expire_silence,
        "alerts:silence",
        "结束静默",
        "静默与维护",
        response=_OK,
    ),
    E(
        "DELETE",
        "/api/v1/alert-silences/{id}",
        silences.delete_silence,
        "alerts:silence",
        "删除静默",
        "静默与维护",
        response=_OK,
    ),
    E(
        "GET",
        "/api/v1/alert-windows",
        silences.list_windows,
        "alerts:read",
        "维护窗口列表",
        "静默与维护",
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "POST",
        "/api/v1/alert-windows",
        silences.create_window,
        "alerts:silence",
        "新建维护窗口",
        "静默与维护",
        body=_WINDOW,
        status=201,
        response=_ID,
    ),
    E(
        "PUT",
        "/api/v1/alert-windows/{id}",
        silences.update_window,
        "alerts:silence",
        "修改维护窗口",
        "静默与维护",
        body=_WINDOW,
        response=_ID,
    ),
    E(
        "DELETE",
        "/api/v1/alert-windows/{id}",
        silences.delete_window,
        "alerts:silence",
        "删除维护窗口",
        "静默与维护",
        response=_OK,
    ),
    E(
        "GET",
        "/api/v1/alert-routes",
        routing.list_routes,
        "alerts:admin",
        "路由规则",
        "路由与接收人",
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "POST",
        "/api/v1/alert-routes",
        routing.create_route,
        "alerts:admin",
        "新建路由规则",
        "路由与接收人",
        body=_ROUTE,
        status=201,
        response=_ID,
    ),
    E(
        "PUT",
        "/api/v1/alert-routes/{id}",
        routing.update_route,
        "alerts:admin",
        "修改路由规则",
        "路由与接收人",
        body=_ROUTE,
        response=_ID,
    ),
    E(
        "DELETE",
        "/api/v1/alert-routes/{id}",
        routing.delete_route,
        "alerts:admin",
        "删除路由规则",
        "路由与接收人",
        response=_OK,
    ),
    E(
        "GET",
        "/api/v1/alert-receivers",
        routing.list_receivers,
        "alerts:admin",
        "接收人（含关联用户与职责）",
        "路由与接收人",
        response={"type": "array", "items": {"type": "object"}},
    ),
    E(
        "POST",
        "/api/v1/alert-receivers",
        routing.create_receiver,
        "alerts:admin",
        "新建接收人",
        "路由与接收人",
        body=_RECEIVER,
        status=201,
        response=_ID,
    ),
    E(
        "PUT",
        "/api/v1/alert-receivers/{id}",
        routing.update_receiver,
        "alerts:admin",
        "修改接收人",
        "路由与接收人",
        body=_RECEIVER,
        response=_ID,
    ),
    E(
        "DELETE",
        "/api/v1/alert-receivers/{id}",
        routing.delete_receiver,
        "alerts:admin",
        "删除接收人",
        "路由与接收人",
        response=_OK,
    ),
    E(
        "POST",
        "/api/v1/alert-receivers/{id}/responsibilities",
        routing.add_responsibility,
        "alerts:admin",
        "添加接收人职责（运维/监管 × 站点/区县/区域/全部）",
        "路由与接收人",
        body=_RESPONSIBILITY,
        status=201,
        response=_ID,
    ),
    E(
        "DELETE",
        "/api/v1/alert-responsibilities/{id}",
        routing.remove_responsibility,
        "alerts:admin",
        "删除接收人职责",
        "路由与接收人",
        response=_OK,
    ),
)

PAGES: Final = (
    Page("GET", "/alerts", h.alerts_page, "alerts:read", "alerts"),
    Page("GET", r"/alerts/{id:\d+}", h.alert_page, "alerts:read", "alert"),
    Page("GET", "/alerts/silences", h.silences_page, "alerts:read", "alert_silences"),
    Page("GET", "/alerts/notifications", h.notifications_page, "alerts:read", "alert_notes"),
    Page("GET", "/alerts/routing", h.routing_page, "alerts:admin", "alert_routing"),
)
NAV: Final = (NavItem("/alerts", "告警", "alerts:read", "bell", 30),)
