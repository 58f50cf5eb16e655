"""THE route table: every page and every ``/api/v1`` endpoint, with its permission,
assembled from the modules' route tables (``web/<module>/routes.py``).

API endpoints are :class:`~web.openapi.Endpoint` declarations — the router and the
OpenAPI document are both built from them.  ``auth``: "public", "user" (any logged-in
user) or a permission of ``web.permissions.PERMISSIONS``; "none" only for the health
probes (:data:`PROBES`: no credentials read at all, see ``web.health``).  Each module's
routes module declares ``API: tuple[Endpoint, ...]`` and optionally ``PAGES: tuple[Page, ...]`` and
``ERRORS`` (its domain exceptions → answers, see ``web.errors``).

The modules with pages of their own in the navigation (:data:`MODULES`: the grid,
patrol and case modules, rankings, reports, alerts) declare in their routes module
``API``, ``PAGES``, optionally ``NAV: tuple[web.pages.NavItem, ...]``, ``ERRORS`` and
``CONTEXTS`` (cleanup contexts for their background work, e.g. a LISTEN connection —
each ``async def ctx(app): start …; yield; stop …``, appended after the pool's, so
``app[POOL_KEY]`` is ready).  Scheduled work is not a context: it is a list of
``store.jobs.Job`` that the one scheduler runs (``envgrid.leader``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from aiohttp import web

from web import api_docs, pages
from web.alerts_web import routes as alerts_routes
from web.audit import routes as audit_routes
from web.auth import routes as auth_routes
from web.backups import routes as backups_routes
from web.casework.cases import routes as cases_routes
from web.casework.grid import routes as grid_routes
from web.casework.patrol import routes as patrol_routes
from web.errors import CORE_ERRORS, ErrorTable
from web.forward_web import routes as forward_routes
from web.health import healthz, readyz
from web.hj2025 import routes as hj2025_routes
from web.keys import API_KEY, NAV_KEY, PLUGIN_CONTEXTS_KEY
from web.live.stream import stream as live_stream
from web.map import routes as map_routes
from web.openapi import OK, STR, ApiRegistry, Endpoint, Page, Param, build_document
from web.rankings import routes as rankings_routes
from web.reports import routes as reports_routes
from web.responses import json_response
from web.security import routes as security_routes
from web.stations import routes as stations_routes
from web.users import routes as users_routes

__all__ = ["API", "MODULES", "PAGES", "PROBES", "setup_routes"]

STATIC_DIR: Final = Path(__file__).parent / "static"
#: The route modules of the modules with their own navigation entries.
MODULES: Final[tuple[ModuleType, ...]] = (
    grid_routes,
    patrol_routes,
    cases_routes,
    rankings_routes,
    reports_routes,
    audit_routes,
    alerts_routes,
    security_routes,
    hj2025_routes,
    forward_routes,
    backups_routes,
)


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(build_document(request.app[API_KEY].endpoints))


async def health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


E = Endpoint
SYSTEM_API: Final[tuple[Endpoint, ...]] = (
    E("GET", "/api/v1/openapi.json", openapi_document, "public", "OpenAPI 文档", "系统"),
    E("GET", "/api/v1/health", health, "public", "健康检查", "系统", response=OK),
)
LIVE_API: Final[tuple[Endpoint, ...]] = (
    E(
        "GET",
        "/api/v1/live",
        live_stream,
        "map:read",
        "实时推送（SSE：readings、alert）",
        "实时",
        params=(Param("station", {"type": "integer", "minimum": 1, "maximum": 2147483647}),),
        content_type="text/event-stream",
        response=STR,
    ),
)
API: Final[tuple[Endpoint, ...]] = (
    *SYSTEM_API,
    *auth_routes.API,
    *map_routes.API,
    *stations_routes.API,
    *users_routes.API,
    *LIVE_API,
)

P = Page
#: Liveness and readiness (web.health): outside the API, no credentials read.
PROBES: Final[tuple[Page, ...]] = (
    P("GET", "/healthz", healthz, "none", "healthz"),
    P("GET", "/readyz", readyz, "none", "readyz"),
)
PAGES: Final[tuple[Page, ...]] = (
    *PROBES,
    *auth_routes.PAGES,
    P("GET", "/api/docs", api_docs.page, "public", "api_docs"),
    P("GET", "/", pages.index, "user", "index"),
    P("GET", "/map", pages.map_page, "map:read", "map"),
    P("GET", "/stations/{id}", pages.station_page, "stations:read", "station"),
    P("GET", "/maintenance", pages.maintenance_page, "maintenance:read", "maintenance"),
    P("GET", "/admin/stations", pages.admin_stations_page, "stations:write", "admin_stations"),
    P("GET", "/admin/users", pages.admin_users_page, "users:admin", "admin_users"),
    P("GET", "/admin/logs", pages.admin_logs_page, "logs:read", "admin_logs"),
    P("GET", "/account/password", pages.password_page, "user", "password"),
    *map_routes.PAGES,
)


def _tables(
    tables: dict[int, ErrorTable], metas: Iterable[Endpoint | Page], errors: ErrorTable
) -> None:
    """The module's error table (over the core's) for each of its routes."""
    if errors:
        merged = {**CORE_ERRORS, **errors}
        for meta in metas:
            tables[id(meta)] = merged


def setup_routes(app: web.Application) -> None:
    registry = ApiRegistry()
    app[API_KEY] = registry
    api: list[Endpoint] = list(API)
    page_list: list[Page] = list(PAGES)
    nav: list[pages.NavItem] = list(pages.NAV)
    contexts: list[Any] = []
    tables: dict[int, ErrorTable] = {}
    _tables(tables, users_routes.API, users_routes.ERRORS)
    for module in MODULES:
        api += module.API
        page_list += getattr(module, "PAGES", ())
        nav += getattr(module, "NAV", ())
        contexts += getattr(module, "CONTEXTS", ())
        _tables(tables, [*module.API, *getattr(module, "PAGES", ())], getattr(module, "ERRORS", {}))
    app[NAV_KEY] = tuple(sorted(nav, key=lambda item: getattr(item, "order", 60)))
    app[PLUGIN_CONTEXTS_KEY] = tuple(contexts)
    metas: list[Endpoint | Page] = [*page_list, *api]
    for meta in metas:
        if meta.auth == "none" and meta not in PROBES:  # deny by default: probes only
            raise ValueError(f"{meta.method} {meta.path}: auth 'none' is for PROBES only")
        route = app.router.add_route(meta.method, meta.path, meta.handler)
        registry.register(route, meta, tables.get(id(meta)))
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
