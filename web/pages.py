"""HTML pages: server-rendered shells (aiohttp-jinja2) whose JS modules call the API.

Every page gets, through :func:`page_context`, the caller, the navigation they may see,
the CSRF token (``<meta name="csrf-token">``, sent back as ``X-CSRF-Token``) and a
JSON page configuration (``<script type="application/json" id="page-config">`` — data,
not code, so the CSP needs no inline scripts).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from web import context
from web.keys import NAV_KEY
from web.map import basemap
from web.params import path_int
from web.permissions import ROLES
from web.responses import dumps

__all__ = ["NAV", "NavItem", "export_page", "page_context", "render_page", "shell"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The page-specific part of a page's configuration, for one request.
PageConfig = Callable[[web.Request], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str
    permission: str
    icon: str = ""
    #: Position in the bar (ascending; equal orders keep the registration order).
    order: int = 60


#: Main navigation (the modules append theirs, see routes.MODULES): the
#: monitoring pages first (10–50), the modules (60 by default), administration (80+).
NAV: tuple[NavItem, ...] = (
    NavItem("/map", "地图", "map:read", "map", 10),
    NavItem("/maintenance", "运维", "maintenance:read", "tool", 20),
    NavItem("/admin/stations", "站点管理", "stations:write", "station", 80),
    NavItem("/admin/users", "用户", "users:admin", "user", 90),
    NavItem("/admin/logs", "日志", "logs:read", "log", 95),
)


def page_context(request: web.Request) -> dict[str, Any]:
    """What every template gets (aiohttp-jinja2's context processors would store string
    keys on the request, which aiohttp 3.14 warns about)."""
    user = context.maybe_caller(request)
    if user is None:
        return {"user": None, "nav": [], "csrf_token": ""}
    # a session that must enrol a second factor first can open nothing else: no links
    shown = () if user.must_enrol_2fa else request.app[NAV_KEY]
    nav = [n for n in shown if user.can(n.permission)]
    return {
        "user": user,
        "role_title": ROLES.get(user.role, user.role),
        "nav": nav,
        "csrf_token": user.csrf_token,
        "current_path": request.path,
    }


def _config(request: web.Request, **extra: Any) -> str:
    s = context.settings(request)
    base = {
        "basemap": basemap.page_config(s.web),
        "center": [s.web.map_center_lat, s.web.map_center_lon],
        "zoom": s.web.map_zoom,
        "onlineWindowS": s.web.online_window_s,
        "timezone": s.core.timezone,
    }
    base.update(extra)
    # "</" cannot end the JSON script element early: escape it.
    return dumps(base).decode().replace("</", "<\\/")


def render(
    request: web.Request, template: str, variables: dict[str, Any], *, status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {**page_context(request), **variables}, status=status
    )


def render_page(request: web.Request, template: str, title: str, **config: Any) -> web.Response:
    """A page shell: ``template`` with ``title`` and the JSON page configuration (the base
    settings plus ``config``)."""
    return render(request, template, {"title": title, "page_config": _config(request, **config)})


def shell(template: str, title: str, config: PageConfig | None = None) -> Handler:
    """The handler of a page: ``template`` with ``title``; its configuration is the base
    settings plus what ``config`` gives for the request."""

    async def page(request: web.Request) -> web.Response:
        return render_page(request, template, title, **(config(request) if config else {}))

    return page


async def index(request: web.Request) -> web.StreamResponse:
    user = context.caller(request)
    for item in request.app[NAV_KEY]:
        if user.can(item.permission):
            raise web.HTTPFound(item.path)
    raise web.HTTPFound("/account/password")


def _station_config(request: web.Request) -> dict[str, Any]:
    user = context.caller(request)
    return {
        "stationId": path_int(request),
        "canCommand": user.can("commands:send"),
        "canEdit": user.can("stations:write"),
        "canAlerts": user.can("alerts:read"),
        "canAck": user.can("alerts:ack"),
        "canLimits": user.can("alerts:limits"),
        "canAudit": user.can("data:audit"),
    }


def _password_config(request: web.Request) -> dict[str, Any]:
    return {
        "mustChange": context.caller(request).must_change_password,
        "minLength": context.settings(request).web.password_min_length,
    }


def _export_config(request: web.Request) -> dict[str, Any]:
    return {
        "canExport": context.caller(request).can("reports:export"),
        "today": context.today(request).isoformat(),
    }


def export_page(template: str, title: str) -> Handler:
    """The handler of a page of figures the caller may export: the base settings plus
    ``canExport`` and ``today``."""
    return shell(template, title, _export_config)


map_page = shell("map.html", "监测地图")
station_page = shell("station.html", "站点详情", _station_config)
maintenance_page = shell("maintenance.html", "运维视图")
admin_stations_page = shell("admin_stations.html", "站点管理")
admin_users_page = shell("admin_users.html", "用户与角色")
admin_logs_page = shell("admin_logs.html", "操作日志与登录日志")
password_page = shell("password.html", "修改密码", _password_config)
