"""The aiohttp application factory.  No module-level app: ``create_app(settings, dsn)``.

Cleanup contexts (one per resource; teardown in reverse order, only if startup ran):
the TOTP secrets' key (read, or made on first start), the asyncpg pool, the shared aiohttp
ClientSession (webhooks, tile checks) and the live hub (its own LISTEN connection).  The
app starts no scheduler: periodic work is offered as ``store.jobs.Job`` values
(``web.auth.jobs.scheduled_jobs``) to the deployment's one scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web

from store.db import create_pool
from store.secretbox import box_for
from web.keys import (
    CLIENT_KEY,
    DSN_KEY,
    HEAT_CACHE_KEY,
    INGEST_LISTENER_KEY,
    MAP_CACHE_KEY,
    METRICS_KEY,
    PLUGIN_CONTEXTS_KEY,
    POOL_KEY,
    REPORT_JOBS_KEY,
    SETTINGS_KEY,
    TOTP_BOX_KEY,
)
from web.live.stream import end_streams, live_context
from web.map.heat import HeatCache
from web.map.service import MapState
from web.metrics import WebMetrics, metrics_context, metrics_middleware
from web.middleware import auth_middleware, error_middleware, security_headers
from web.ratelimit import RateLimit, setup_login_rate_limit
from web.reports.service import ReportJobs
from web.request_id import request_id_middleware, send_request_id
from web.routes import setup_routes
from web.settings import WebConfig

__all__ = ["create_app"]

log = logging.getLogger("envgrid.web")

TEMPLATES_DIR = Path(__file__).parent / "templates"
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


#: Every statement of the web pool is planned for its actual parameters.  The queries use
#: optional filters (``$n IS NULL OR column = $n``) whose generic plans — what PostgreSQL
#: switches to after five executions of a prepared statement — can be several times
#: slower (a station's 24 h chart: 23 ms custom, 57 ms generic); planning costs far less.
CUSTOM_PLANS_SQL = "SET plan_cache_mode = force_custom_plan"


class WebConnection(asyncpg.Connection):  # type: ignore[misc]
    """Connections of the web pool: custom plans, kept across the pool's RESET ALL."""

    def get_reset_query(self) -> str:
        return f"{super().get_reset_query()}\n{CUSTOM_PLANS_SQL};"


async def _custom_plans(conn: asyncpg.Connection) -> None:
    await conn.execute(CUSTOM_PLANS_SQL)


async def _totp_box_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SETTINGS_KEY]
    app[TOTP_BOX_KEY] = await asyncio.to_thread(box_for, s.core.secret_key_path)
    yield


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SETTINGS_KEY]
    app[POOL_KEY] = await create_pool(
        app[DSN_KEY],
        min_size=1,
        max_size=s.web.pool_max,
        application_name="envgrid-web",
        statement_timeout_ms=s.database.statement_timeout_ms or None,
        connect_timeout_s=s.database.connect_timeout_s,
        init=_custom_plans,
        connection_class=WebConnection,
    )
    yield
    await app[POOL_KEY].close()


async def _client_ctx(app: web.Application) -> AsyncIterator[None]:
    app[CLIENT_KEY] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    yield
    await app[CLIENT_KEY].close()


async def _end_jobs(app: web.Application) -> None:
    """Report jobs still running are cancelled (their pages will start new ones)."""
    await app[REPORT_JOBS_KEY].close()


def create_app(
    settings: WebConfig,
    dsn: str,
    *,
    background: bool = True,
    ingest_listener: tuple[str, int] | None = None,
    metrics: WebMetrics | None = None,
) -> web.Application:
    """The web app on ``dsn``.  ``background``: also start the optional modules'
    background work (their ``CONTEXTS``: listeners, jobs) — a real server process does,
    tests of the HTTP surface do not.  Scheduled jobs of the web core are not started
    here: :func:`web.auth.jobs.scheduled_jobs` offers them to the deployment's one
    scheduler.  ``ingest_listener``: the HJ 212 (host, port) ``/readyz`` checks (under
    ``envgrid serve``); ``metrics``: where the app counts (``web.metrics``; a new
    registry by default)."""
    app = web.Application(
        middlewares=[request_id_middleware, metrics_middleware, error_middleware, auth_middleware],
        client_max_size=1024 * 1024,
    )
    app[SETTINGS_KEY] = settings
    app[DSN_KEY] = dsn
    app[METRICS_KEY] = metrics if metrics is not None else WebMetrics()
    app[INGEST_LISTENER_KEY] = ingest_listener
    app[MAP_CACHE_KEY] = MapState()
    app[HEAT_CACHE_KEY] = HeatCache()
    app[REPORT_JOBS_KEY] = ReportJobs(float(settings.web.report_ttl_s))
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    setup_routes(app)
    web_settings = settings.web
    setup_login_rate_limit(
        app,
        RateLimit(
            attempts=web_settings.login_attempts,
            per_s=web_settings.login_window_s,
            trusted_proxies=web_settings.trusted_proxies,
        ),
    )
    app.on_response_prepare.append(security_headers)
    app.on_response_prepare.append(send_request_id)
    app.cleanup_ctx.append(_totp_box_ctx)
    app.cleanup_ctx.append(_pool_ctx)
    app.cleanup_ctx.append(_client_ctx)
    app.cleanup_ctx.append(live_context)
    app.cleanup_ctx.append(metrics_context)
    if background:
        for context in app[PLUGIN_CONTEXTS_KEY]:
            app.cleanup_ctx.append(context)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(_end_jobs)
    if not VENDOR_DIR.is_dir():
        log.warning(
            "front-end libraries missing (%s): run "
            "'cd web/frontend && npm ci --no-audit --no-fund && node copy-vendor.mjs'",
            VENDOR_DIR,
        )
    return app
