"""Prometheus metrics of the web process: requests by route and status, their latency,
open live streams (SSE), refused log-ins and the database pool (``store.metrics``,
``role="web"``).

Like the ingest workers' (``ingest.metrics``): under ``envgrid serve`` the process runs
prometheus_client in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the
supervisor) and the supervisor serves the sum of every child at its ``/metrics``
(``ingest.metrics_host``:``ingest.metrics_port``, loopback by default) — the dashboard's
public port serves no metrics.  Counters and the histogram move as requests are answered;
the gauges (streams, pool) are sampled once a second by :func:`metrics_context`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from store.metrics import PoolMetrics, sampling
from web.keys import LIVE_KEY, METRICS_KEY, POOL_KEY

__all__ = ["WebMetrics", "metrics_context", "metrics_middleware", "route_label"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The label of requests no route matched (404/405): their paths are not labels.
UNMATCHED: Final = "unmatched"
_SAMPLE_S: Final = 1.0


class WebMetrics:
    """The metric families of one web app, registered in ``registry`` (a new one by
    default: several apps in one test process do not collide)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.registry = reg
        self.requests = Counter(
            "envgrid_web_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "envgrid_web_request_seconds",
            "Time to answer a request, by route template (a live stream: until it ends)",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.login_failures = Counter(
            "envgrid_web_login_failures",
            "Refused log-ins (form and API), by reason: bad_credentials, locked, disabled,"
            " bad_totp, replayed_totp, expired, rate_limited …",
            ["reason"],
            registry=reg,
        )
        # summed over the web processes by the supervisor's /metrics
        self.sse_clients = Gauge(
            "envgrid_web_sse_clients",
            "Open live streams (SSE)",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.pool = PoolMetrics("web", reg)

    def login_refused(self, reason: str) -> None:
        self.login_failures.labels(reason).inc()

    def sample(self, app: web.Application) -> None:
        """Set the gauges from the app's live hub and pool (when they are up)."""
        hub = app.get(LIVE_KEY)
        self.sse_clients.set(len(hub.subscribers) if hub is not None else 0)
        self.pool.sample(app.get(POOL_KEY))


def route_label(request: web.Request) -> str:
    """The route template (``/api/v1/stations/{id}``), never the raw path."""
    info = request.match_info
    if info.http_exception is not None or info.route.resource is None:
        return UNMATCHED
    return info.route.resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: counts every answer with its final status (errors and redirects too)."""
    metrics = request.app[METRICS_KEY]
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = route_label(request)
        method = request.method
        metrics.requests.labels(route, method, str(status)).inc()
        metrics.latency.labels(route, method).observe(time.perf_counter() - start)


async def metrics_context(app: web.Application) -> AsyncIterator[None]:
    """Sample the gauges once a second while the app runs (after the pool and the hub)."""
    metrics = app[METRICS_KEY]
    async with sampling(lambda: metrics.sample(app), _SAMPLE_S, "web"):
        yield
    metrics.sse_clients.set(0)
    metrics.pool.clear()
