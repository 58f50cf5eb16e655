"""THE route table: every page and every ``/api/v1`` endpoint, with its permission.

API endpoints are :class:`~web.openapi.Endpoint` declarations — the router and the
OpenAPI document are both built from them.  ``auth``: "public", "user" (any logged-in
user) or a permission of ``web.permissions.PERMISSIONS``.

Optional modules (the grid, patrol and case modules, owned elsewhere) plug in by
providing ``web/<name>/routes.py`` with ``API: tuple[Endpoint, ...]``,
``PAGES: tuple[Page, ...]``, optionally ``NAV: tuple[web.pages.NavItem, ...]`` and
``CONTEXTS`` (cleanup contexts for their background work: listeners, scheduled jobs —
each ``async def ctx(app): start …; yield; stop …``, appended after the pool's, so
``app[POOL_KEY]`` is ready); :func:`setup_routes` picks them up when present (see
:data:`OPTIONAL_MODULES`).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from web import live, pages
from web.auth import handlers as auth
from web.keys import API_KEY, NAV_KEY, PLUGIN_CONTEXTS_KEY
from web.map import handlers as map_handlers
from web.openapi import ApiRegistry, Endpoint, Page, Param, build_document, page_of
from web.responses import json_response
from web.stations import handlers as stations
from web.users import handlers as users

__all__ = ["API", "OPTIONAL_MODULES", "PAGES", "setup_routes"]

STATIC_DIR: Final = Path(__file__).parent / "static"
OPTIONAL_MODULES: Final = (
    "casework.grid",
    "casework.patrol",
    "casework.cases",
    "rankings",
    "reports",
    "alerts_web",
)

# -- schemas ---------------------------------------------------------------------------------
_INT: Final = {"type": "integer"}
_STR: Final = {"type": "string"}
_TIME: Final = {"type": "string", "format": "date-time"}
_NTIME: Final = {"type": ["string", "null"], "format": "date-time"}
_OBJ: Final = {"type": "object"}
_OK: Final = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
_LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, description="每页条数")
_OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000})
_FROM = Param("from", _TIME, description="开始时间（ISO 8601，带时区）")
_TO = Param("to", _TIME, description="结束时间（ISO 8601，带时区）")
_ST = Param("st", {"type": "string", "maxLength": 4}, description="系统编码（类型），如 22")
_REGION = Param("region", {"type": "string", "maxLength": 100}, description="区县")
_AREA = Param(
    "area", {"type": "integer", "minimum": 1, "maximum": 2147483647}, description="区域/网格 id"
)
_Q = Param("q", {"type": "string", "maxLength": 100}, description="MN 或名称关键字")
_STATUS = Param("status", {"type": "string", "enum": ["online", "offline", "disabled"]})

STATION_ITEM: Final = {
    "type": "object",
    "required": ["id", "mn", "name", "status"],
    "properties": {
        "id": _INT,
        "mn": _STR,
        "name": _STR,
        "st": {"type": ["string", "null"]},
        "lat": {"type": ["number", "null"]},
        "lon": {"type": ["number", "null"]},
        "region": _STR,
        "status": {"type": "string", "enum": ["online", "offline", "disabled"]},
        "last_data_at": _NTIME,
    },
}
STATION_BODY: Final = {
    "type": "object",
    "properties": {
        "mn": {"type": "string", "minLength": 1, "maxLength": 32},
        "name": {"type": "string", "maxLength": 100},
        "password": {"type": "string", "maxLength": 64},
        "st": {"type": "string", "pattern": "^[0-9]{2}$"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "region": {"type": "string", "maxLength": 64},
        "grid_id": {"type": "integer", "minimum": 1},
        "address": {"type": "string", "maxLength": 200},
        "expected_factors": {"type": "array", "items": {"type": "string", "maxLength": 12}},
        "rtd_interval": {"type": "integer", "minimum": 1, "maximum": 86400},
        "min_interval": {"type": "integer", "minimum": 1, "maximum": 1440},
        "enabled": {"type": "boolean"},
        "modbus_crc": {"type": "boolean"},
        "limits": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
    },
}
CREATE_STATION_BODY: Final = {**STATION_BODY, "required": ["mn"]}
USER_ITEM: Final = {
    "type": "object",
    "required": ["id", "username", "role", "enabled", "scope"],
    "properties": {
        "id": _INT,
        "username": _STR,
        "display_name": _STR,
        "role": _STR,
        "enabled": {"type": "boolean"},
        "scope": {"type": "array", "items": _INT},
        "locked_until": _NTIME,
        "receivers": {"type": "array", "items": _OBJ, "description": "关联的告警接收人"},
    },
}
USER_BODY: Final = {
    "type": "object",
    "properties": {
        "display_name": {"type": "string", "maxLength": 64},
        "phone": {"type": "string", "maxLength": 32},
        "role": {"type": "string", "maxLength": 40},
        "enabled": {"type": "boolean"},
        "unlock": {"type": "boolean"},
        "must_change_password": {"type": "boolean"},
        "scope": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "receiver_ids": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "description": "关联的告警接收人（通知发往这些接收人）",
        },
    },
}
COMMAND_RECORD: Final = {
    "type": "object",
    "required": ["id", "cn", "status"],
    "properties": {"id": _INT, "cn": _INT, "status": _STR, "replies": {"type": "array"}},
}


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(build_document(request.app[API_KEY].endpoints))


async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


E = Endpoint
API: Final[tuple[Endpoint, ...]] = (
    E("GET", "/api/v1/openapi.json", openapi_document, "public", "OpenAPI 文档", "系统"),
    E("GET", "/api/v1/health", health, "public", "健康检查", "系统", response=_OK),
    # auth
    E(
        "POST",
        "/api/v1/auth/login",
        auth.api_login,
        "public",
        "登录（会话 Cookie）",
        "认证",
        body={
            "type": "object",
            "required": ["username", "password"],
            "properties": {
                "username": {"type": "string", "maxLength": 64},
                "password": {"type": "string", "maxLength": 128},
            },
        },
        response={"type": "object", "properties": {"csrf_token": _STR}},
    ),
    E("POST", "/api/v1/auth/logout", auth.api_logout, "user", "退出登录", "认证", response=_OK),
    E("GET", "/api/v1/auth/me", auth.api_me, "user", "当前用户", "认证"),
    E(
        "POST",
        "/api/v1/auth/password",
        auth.api_change_password,
        "user",
        "修改本人密码",
        "认证",
        body={
            "type": "object",
            "required": ["current_password", "new_password"],
            "properties": {
                "current_password": {"type": "string", "maxLength": 128},
                "new_password": {"type": "string", "maxLength": 128},
            },
        },
        response=_OK,
        audit=True,
    ),
    E(
        "GET",
        "/api/v1/auth/tokens",
        auth.list_tokens,
        "user",
        "本人 API 令牌",
        "认证",
        response={"type": "array", "items": _OBJ},
    ),
    E(
        "POST",
        "/api/v1/auth/tokens",
        auth.create_token,
        "user",
        "创建 API 令牌",
        "认证",
        body={
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 64},
                "expires_days": {"type": "integer", "minimum": 1, "maximum": 3650},
            },
        },
        response={"type": "object", "properties": {"token": _STR}},
        status=201,
    ),
    E("DELETE", "/api/v1/auth/tokens/{id}", auth.revoke_token, "user", "吊销 API 令牌", "认证"),
    # map
    E(
        "GET",
        "/api/v1/map/stations",
        map_handlers.map_stations,
        "map:read",
        "地图站点（状态与当前 AQI，列式）",
        "地图",
        params=(_ST, _REGION, _AREA, _STATUS),
        response={
            "type": "object",
            "required": ["columns", "rows", "cell_columns", "cells", "cell", "legend"],
            "properties": {
                "columns": {"type": "array", "items": _STR},
                "rows": {"type": "array", "items": {"type": "array"}},
                "cell_columns": {"type": "array", "items": _STR},
                "cells": {"type": "array", "items": {"type": "array"}},
                "cell": {"type": "array", "items": _INT},
                "last_data_at": {"type": "array", "items": _INT},
                "legend": {"type": "array"},
                "counts": _OBJ,
                "hour": _NTIME,
                "unverified": {"type": "array"},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/map/heatmap",
        map_handlers.heatmap,
        "map:read",
        "热力图（IDW 插值，GeoJSON 网格）",
        "地图",
        params=(
            Param(
                "what",
                {"type": "string", "maxLength": 12},
                description="aqi（默认）或因子编码，如 a34004",
            ),
            Param("hour", _TIME, description="小时（默认上一完整小时）"),
            Param("day", {"type": "string", "format": "date"}, description="日期（日 AQI）"),
            Param(
                "cell",
                {"type": "number", "minimum": 0.001, "maximum": 1},
                description="网格边长（度）",
            ),
        ),
        response={
            "type": "object",
            "required": ["type", "features"],
            "properties": {"type": _STR, "features": {"type": "array"}, "properties": _OBJ},
        },
    ),
    E(
        "GET",
        "/api/v1/areas",
        map_handlers.list_areas,
        "map:read",
        "区域与网格",
        "地图",
        params=(
            Param("boundary", {"type": "boolean"}, description="包含 GeoJSON 边界"),
            Param("level", {"type": "integer", "minimum": 1, "maximum": 5}),
        ),
        response={"type": "array", "items": _OBJ},
    ),
    E(
        "GET",
        "/api/v1/regions",
        map_handlers.list_regions,
        "map:read",
        "区县列表",
        "地图",
        response={"type": "array", "items": _STR},
    ),
    # stations
    E(
        "GET",
        "/api/v1/stations",
        stations.list_stations,
        "stations:read",
        "站点列表",
        "站点",
        params=(_Q, _ST, _REGION, _AREA, _STATUS, _LIMIT, _OFFSET),
        response=page_of(STATION_ITEM),
    ),
    E(
        "POST",
        "/api/v1/stations",
        stations.create_station,
        "stations:write",
        "登记站点",
        "站点",
        body=CREATE_STATION_BODY,
        status=201,
        response={"type": "object", "properties": {"id": _INT, "mn": _STR}},
    ),
    E(
        "GET",
        "/api/v1/stations/{id}",
        stations.get_station,
        "stations:read",
        "站点详情与实时数据",
        "站点",
    ),
    E(
        "PATCH",
        "/api/v1/stations/{id}",
        stations.update_station,
        "stations:write",
        "修改/停用站点",
        "站点",
        body=STATION_BODY,
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/series",
        stations.station_series,
        "stations:read",
        "站点曲线数据（近1小时/近24小时）",
        "站点",
        params=(
            Param("view", {"type": "string", "enum": ["hour", "day"]}),
            Param("kind", {"type": "string", "enum": ["rtd", "minute", "hour", "day"]}),
            Param("bucket", {"type": "integer", "minimum": 0, "maximum": 86400}),
            Param("factor", {"type": "string", "maxLength": 200}, description="因子编码，逗号分隔"),
            _FROM,
            _TO,
        ),
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/packets",
        stations.station_packets,
        "stations:read",
        "原始报文（报文台账）",
        "站点",
        params=(
            Param("cn", {"type": "integer", "minimum": 0, "maximum": 9999}),
            _FROM,
            _TO,
            _LIMIT,
            _OFFSET,
        ),
        response=page_of(_OBJ),
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/equipment",
        stations.station_equipment,
        "stations:read",
        "设备状态",
        "站点",
        params=(_FROM, _TO),
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/limits",
        stations.station_limits,
        "stations:read",
        "站点告警限值（生效规则、GB 3095、站点限值）",
        "站点",
    ),
    E(
        "POST",
        "/api/v1/stations/{id}/limits",
        stations.set_station_limit,
        "alerts:limits",
        "设置站点告警限值",
        "站点",
        body={
            "type": "object",
            "required": ["factor_code"],
            "properties": {
                "factor_code": {"type": "string", "maxLength": 12},
                "upper": {"type": "number"},
                "lower": {"type": "number"},
                "severity": {"type": "string", "enum": ["critical", "major", "warning", "info"]},
                "enabled": {"type": "boolean"},
            },
        },
    ),
    E(
        "DELETE",
        "/api/v1/stations/{id}/limits/{limit}",
        stations.delete_station_limit,
        "alerts:limits",
        "删除站点告警限值",
        "站点",
        response=_OK,
    ),
    E(
        "GET",
        "/api/v1/stations/{id}/commands",
        stations.station_commands,
        "stations:read",
        "远程命令记录",
        "命令",
        params=(_LIMIT, _OFFSET),
        response=page_of(COMMAND_RECORD),
    ),
    E(
        "POST",
        "/api/v1/stations/{id}/commands",
        stations.send_command,
        "commands:send",
        "下发远程命令",
        "命令",
        status=201,
        response=COMMAND_RECORD,
        body={
            "type": "object",
            "required": ["verb"],
            "properties": {
                "verb": {"type": "string", "maxLength": 40},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "timeout_s": {"type": "integer", "minimum": 5, "maximum": 86400},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/commands",
        stations.list_command_verbs,
        "stations:read",
        "可用命令",
        "命令",
        response={"type": "array", "items": _OBJ},
    ),
    E(
        "GET",
        "/api/v1/commands/{id}",
        stations.get_command,
        "stations:read",
        "命令状态与应答",
        "命令",
        response=COMMAND_RECORD,
    ),
    E(
        "GET",
        "/api/v1/factors",
        stations.list_factors,
        "stations:read",
        "监测因子",
        "站点",
        response={"type": "array", "items": _OBJ},
    ),
    E(
        "GET",
        "/api/v1/pending-stations",
        stations.list_pending,
        "stations:write",
        "待审批的新站点",
        "站点",
        response={"type": "array", "items": _OBJ},
    ),
    E(
        "POST",
        "/api/v1/pending-stations/{mn}/approve",
        stations.approve_pending,
        "stations:write",
        "审批通过新站点",
        "站点",
        params=(Param("mn", {"type": "string", "pattern": "^[A-Za-z0-9]{1,32}$"}, "path"),),
        body=STATION_BODY,
        status=201,
    ),
    E(
        "POST",
        "/api/v1/pending-stations/{mn}/reject",
        stations.reject_pending,
        "stations:write",
        "拒绝新站点",
        "站点",
        params=(Param("mn", {"type": "string", "pattern": "^[A-Za-z0-9]{1,32}$"}, "path"),),
    ),
    E(
        "GET",
        "/api/v1/maintenance/stations",
        stations.maintenance_stations,
        "maintenance:read",
        "运维站点列表（在线/离线）",
        "运维",
        params=(
            _Q,
            _REGION,
            Param("status", {"type": "string", "enum": ["online", "offline"]}),
            _LIMIT,
            _OFFSET,
        ),
        response=page_of(_OBJ),
    ),
    # users and logs
    E(
        "GET",
        "/api/v1/users",
        users.list_users,
        "users:admin",
        "用户列表",
        "用户",
        params=(_Q, Param("role", {"type": "string", "maxLength": 40}), _LIMIT, _OFFSET),
        response=page_of(USER_ITEM),
    ),
    E(
        "POST",
        "/api/v1/users",
        users.add_user,
        "users:admin",
        "新增用户",
        "用户",
        status=201,
        body={
            **USER_BODY,
            "required": ["username", "password", "role"],
            "properties": {
                **USER_BODY["properties"],  # type: ignore[dict-item]
                "username": {"type": "string", "maxLength": 64},
                "password": {"type": "string", "maxLength": 128},
            },
        },
    ),
    E(
        "GET",
        "/api/v1/users/{id}",
        users.get_user,
        "users:admin",
        "用户详情",
        "用户",
        response=USER_ITEM,
    ),
    E(
        "PATCH",
        "/api/v1/users/{id}",
        users.update_user,
        "users:admin",
        "修改用户（角色、范围、停用、解锁）",
        "用户",
        body=USER_BODY,
    ),
    E(
        "POST",
        "/api/v1/users/{id}/password",
        users.reset_user_password,
        "users:admin",
        "重置用户密码",
        "用户",
        body={
            "type": "object",
            "required": ["password"],
            "properties": {"password": {"type": "string", "maxLength": 128}},
        },
    ),
    E("GET", "/api/v1/roles", users.list_roles, "users:admin", "角色与权限", "用户"),
    E(
        "GET",
        "/api/v1/logs/logins",
        users.login_log,
        "logs:read",
        "登录日志",
        "日志",
        params=(
            Param("username", {"type": "string", "maxLength": 64}),
            Param("success", {"type": "boolean"}),
            _FROM,
            _TO,
            _LIMIT,
            _OFFSET,
        ),
        response=page_of(_OBJ),
    ),
    E(
        "GET",
        "/api/v1/logs/operations",
        users.operation_log,
        "logs:read",
        "操作日志",
        "日志",
        params=(
            Param("username", {"type": "string", "maxLength": 64}),
            _FROM,
            _TO,
            _LIMIT,
            _OFFSET,
        ),
        response=page_of(_OBJ),
    ),
    # live updates
    E(
        "GET",
        "/api/v1/live",
        live.stream,
        "map:read",
        "实时推送（SSE：readings、alert）",
        "实时",
        params=(Param("station", {"type": "integer", "minimum": 1, "maximum": 2147483647}),),
        content_type="text/event-stream",
        response=_STR,
    ),
)

P = Page
PAGES: Final[tuple[Page, ...]] = (
    P("GET", "/login", auth.login_page, "public", "login"),
    P("POST", "/login", auth.login_submit, "public", "login_submit"),
    P("POST", "/logout", auth.logout_submit, "public", "logout"),
    P("GET", "/", pages.index, "user", "index"),
    P("GET", "/map", pages.map_page, "map:read", "map"),
    P("GET", "/stations/{id}", pages.station_page, "stations:read", "station"),
    P("GET", "/maintenance", pages.maintenance_page, "maintenance:read", "maintenance"),
    P("GET", "/admin/stations", pages.admin_stations_page, "stations:write", "admin_stations"),
    P("GET", "/admin/users", pages.admin_users_page, "users:admin", "admin_users"),
    P("GET", "/admin/logs", pages.admin_logs_page, "logs:read", "admin_logs"),
    P("GET", "/account/password", pages.password_page, "user", "password"),
)


def _optional(name: str) -> Any | None:
    module = f"web.{name}.routes"
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(module)


def setup_routes(app: web.Application) -> None:
    registry = ApiRegistry()
    app[API_KEY] = registry
    api: list[Endpoint] = list(API)
    page_list: list[Page] = list(PAGES)
    nav: list[pages.NavItem] = list(pages.NAV)
    contexts: list[Any] = []
    for name in OPTIONAL_MODULES:
        module = _optional(name)
        if module is not None:
            api += list(getattr(module, "API", ()))
            page_list += list(getattr(module, "PAGES", ()))
            nav += list(getattr(module, "NAV", ()))
            contexts += list(getattr(module, "CONTEXTS", ()))
    app[NAV_KEY] = tuple(sorted(nav, key=lambda item: getattr(item, "order", 60)))
    app[PLUGIN_CONTEXTS_KEY] = tuple(contexts)
    metas: list[Endpoint | Page] = [*page_list, *api]
    for meta in metas:
        route = app.router.add_route(meta.method, meta.path, meta.handler)
        registry.register(route, meta)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
