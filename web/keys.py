"""AppKeys: the typed slots of the aiohttp application and request (one place)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg
from aiohttp import web

from web.map.service import MapState
from web.settings import WebConfig

if TYPE_CHECKING:
    from store.secretbox import SecretBox
    from web.live.hub import LiveHub
    from web.map.heat import HeatCache
    from web.metrics import WebMetrics
    from web.openapi import ApiRegistry
    from web.permissions import Principal
    from web.reports.service import ReportJobs

__all__ = [
    "API_KEY",
    "AUDIT",
    "CLIENT_KEY",
    "DSN_KEY",
    "HEAT_CACHE_KEY",
    "INGEST_LISTENER_KEY",
    "LIVE_KEY",
    "MAP_CACHE_KEY",
    "METRICS_KEY",
    "NAV_KEY",
    "POOL_KEY",
    "PRINCIPAL",
    "REPORT_JOBS_KEY",
    "ROLES_KEY",
    "SETTINGS_KEY",
    "TOTP_BOX_KEY",
]

SETTINGS_KEY = web.AppKey("settings", WebConfig)
DSN_KEY = web.AppKey("dsn", str)
POOL_KEY = web.AppKey("pool", asyncpg.Pool)
CLIENT_KEY = web.AppKey("client", aiohttp.ClientSession)
LIVE_KEY: web.AppKey[LiveHub] = web.AppKey("live")
API_KEY: web.AppKey[ApiRegistry] = web.AppKey("api")
MAP_CACHE_KEY = web.AppKey("map_cache", MapState)
HEAT_CACHE_KEY: web.AppKey[HeatCache] = web.AppKey("heat_cache")
#: The key of the TOTP secrets at rest (store.secretbox, core.secret_key_file).
TOTP_BOX_KEY: web.AppKey[SecretBox] = web.AppKey("totp_box")
#: Report jobs of this process (web.reports).
REPORT_JOBS_KEY: web.AppKey[ReportJobs] = web.AppKey("report_jobs")
#: Prometheus metrics of this app (web.metrics).
METRICS_KEY: web.AppKey[WebMetrics] = web.AppKey("metrics")
#: (host, port) of the HJ 212 listener /readyz checks; None: no ingest here (tests, tools).
INGEST_LISTENER_KEY: web.AppKey[tuple[str, int] | None] = web.AppKey("ingest_listener")
#: The roles of this host (store.cluster: ingest, web, alerts) /readyz reports; set by
#: ``envgrid serve`` only.
ROLES_KEY: web.AppKey[tuple[str, ...]] = web.AppKey("roles")
#: The navigation entries (web.pages.NavItem) of this app, optional modules included.
NAV_KEY: web.AppKey[tuple[Any, ...]] = web.AppKey("nav")
#: cleanup contexts the optional modules (grid, patrol, cases …) contribute
PLUGIN_CONTEXTS_KEY: web.AppKey[tuple[Any, ...]] = web.AppKey("plugin_contexts")

#: Who is calling (set by the auth middleware; None = anonymous).
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")
#: Details for this request's operation-log entry (web.context.audit).
AUDIT: web.RequestKey[dict[str, Any]] = web.RequestKey("audit_detail")
