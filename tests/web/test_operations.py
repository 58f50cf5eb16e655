"""What an operator's tools call: the health probes (/healthz, /readyz), the web process's
Prometheus metrics, and the API documentation (/api/docs, a valid OpenAPI document)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from envgrid.settings import Settings
from web.app import create_app
from web.keys import METRICS_KEY, POOL_KEY
from web.metrics import WebMetrics

from .conftest import Seed, login


# -- probes ---------------------------------------------------------------------------------
async def test_healthz_answers_without_credentials_or_database(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    # a bad token or a stale cookie is not even looked at (no 401, no database)
    resp = await client.get("/healthz", headers={"Authorization": "Bearer eg_nonsense"})
    assert resp.status == 200
    await client.app[POOL_KEY].close()
    resp = await client.get("/healthz", cookies={"envgrid_session": "x" * 40})
    assert resp.status == 200


async def test_readyz_is_200_with_the_database_and_503_without(client: TestClient) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "checks": {"database": "ok"}}
    await client.app[POOL_KEY].close()  # the database is gone for this process
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body == {"status": "unavailable", "checks": {"database": "failed"}}
    text = await resp.text()
    assert "postgres" not in text.lower() and "/" not in text  # no DSN, no paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_readyz_checks_the_ingest_listener(
    aiohttp_client: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> None:
    port = _free_port()
    app = create_app(web_settings, db_dsn, background=False, ingest_listener=("127.0.0.1", port))
    client = await aiohttp_client(app)
    resp = await client.get("/readyz")  # nothing listens on the port yet
    assert resp.status == 503
    assert (await resp.json())["checks"] == {"database": "ok", "ingest": "failed"}
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    try:
        resp = await client.get("/readyz")
        assert resp.status == 200
        assert (await resp.json())["checks"] == {"database": "ok", "ingest": "ok"}
    finally:
        server.close()
        await server.wait_closed()


# -- metrics --------------------------------------------------------------------------------
def _families(metrics: WebMetrics) -> dict[str, Any]:
    text = generate_latest(metrics.registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    return sum(
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def test_metrics_count_requests_failures_and_the_pool(
    client: TestClient, seeded: Seed
) -> None:
    metrics = client.app[METRICS_KEY]
    assert (await client.get("/api/v1/stations", headers=seeded.auth("admin"))).status == 200
    assert (await client.get(f"/api/v1/stations/{max(seeded.stations.values())}",
                             headers=seeded.auth("admin"))).status == 200
    assert (await client.get("/api/v1/stations")).status == 401
    assert (await client.get("/no/such/page/12345")).status == 404
    assert (await client.get("/", allow_redirects=False)).status == 302  # to /login
    bad = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "no"})
    assert bad.status == 401
    await login(client, "viewer")
    metrics.sample(client.app)
    families = _families(metrics)

    requests = "envgrid_web_requests"
    total = "envgrid_web_requests_total"
    ok = {"route": "/api/v1/stations", "method": "GET", "status": "200"}
    assert _value(families, requests, total, **ok) == 1
    assert _value(families, requests, total, route="/api/v1/stations/{id}", status="200") == 1
    assert _value(families, requests, total, route="/api/v1/stations", status="401") == 1
    assert _value(families, requests, total, route="unmatched", status="404") == 1
    assert _value(families, requests, total, route="/", method="GET", status="302") == 1
    login_route = {"route": "/api/v1/auth/login", "method": "POST"}
    assert _value(families, requests, total, **login_route, status="401") == 1
    assert _value(families, requests, total, **login_route, status="200") == 1
    routes = {s.labels["route"] for s in families[requests].samples}
    assert not any("12345" in r for r in routes)  # raw paths are no labels
    latency = "envgrid_web_request_seconds"
    assert _value(families, latency, latency + "_count", route="/api/v1/stations") == 2
    assert _value(families, latency, latency + "_bucket", route="/api/v1/stations", le="+Inf") == 2
    failures = "envgrid_web_login_failures"
    assert _value(families, failures, failures + "_total", reason="bad_credentials") == 1
    assert _value(families, "envgrid_web_sse_clients", "envgrid_web_sse_clients") == 0
    pool = client.app[POOL_KEY]
    size = _value(families, "envgrid_db_pool_connections", "envgrid_db_pool_connections", role="web")
    assert size == pool.get_size() >= 1
    assert _value(families, "envgrid_db_pool_max", "envgrid_db_pool_max", role="web") == (
        pool.get_max_size()
    )
    idle = _value(families, "envgrid_db_pool_idle", "envgrid_db_pool_idle", role="web")
    in_use = _value(families, "envgrid_db_pool_in_use", "envgrid_db_pool_in_use", role="web")
    assert idle + in_use == size


async def test_metrics_count_rate_limited_log_ins(
    aiohttp_client: Callable[..., Any], db_dsn: str, seeded: Seed, pg_reachable_tmp: Any
) -> None:
    from .conftest import make_web_settings

    settings = make_web_settings(db_dsn, pg_reachable_tmp, login_attempts=1)
    client = await aiohttp_client(create_app(settings, db_dsn, background=False))
    body = {"username": "admin", "password": "wrong"}
    assert (await client.post("/api/v1/auth/login", json=body)).status == 401
    assert (await client.post("/api/v1/auth/login", json=body)).status == 429
    families = _families(client.app[METRICS_KEY])
    failures = "envgrid_web_login_failures"
    assert _value(families, failures, failures + "_total", reason="rate_limited") == 1


async def test_metrics_are_not_served_on_the_dashboard_port(client: TestClient) -> None:
    assert (await client.get("/metrics")).status == 404


# -- API documentation ----------------------------------------------------------------------
async def test_openapi_document_validates_and_documents_the_common_calls(
    client: TestClient,
) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    validate(doc)  # openapi-spec-validator: OpenAPI 3.1 schema and semantic checks
    info = doc["info"]["description"]
    assert "/api/v1/auth/tokens" in info and "Authorization: Bearer" in info
    for path, method in (
        ("/api/v1/stations", "get"),
        ("/api/v1/stations/{id}/series", "get"),
        ("/api/v1/map/stations", "get"),
        ("/api/v1/alerts", "get"),
        ("/api/v1/alerts/{id}/ack", "post"),
        ("/api/v1/cases", "get"),
        ("/api/v1/cases", "post"),
        ("/api/v1/auth/tokens", "post"),
    ):
        description = doc["paths"][path][method].get("description", "")
        assert "curl" in description, (method, path)


async def test_api_docs_page_is_public_and_served_locally(client: TestClient) -> None:
    resp = await client.get("/api/docs")
    assert resp.status == 200
    html = await resp.text()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html  # no CDN
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert "/api/docs" not in (await (await client.get("/api/v1/openapi.json")).text())


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/docs"])
async def test_probes_and_docs_do_not_leak_versions(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    server = resp.headers.get("Server", "")
    assert "Python" not in server and "aiohttp" not in server, server
    assert "aiohttp" not in (await resp.text()).lower()


async def test_auth_none_is_refused_outside_the_probes(
    web_settings: Settings, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deny by default: a route declared without authentication that is not a probe
    stops the app from being built."""
    from web import routes
    from web.health import healthz
    from web.openapi import Page

    monkeypatch.setattr(routes, "PAGES", (*routes.PAGES, Page("GET", "/x", healthz, "none")))
    with pytest.raises(ValueError, match="PROBES only"):
        create_app(web_settings, db_dsn, background=False)


async def test_metrics_count_open_live_streams(client: TestClient, seeded: Seed) -> None:
    metrics = client.app[METRICS_KEY]
    stream = await client.get("/api/v1/live", headers=seeded.auth("admin"))
    assert stream.status == 200
    assert b"event: hello" in await stream.content.readuntil(b"\n\n")
    metrics.sample(client.app)
    assert _value(_families(metrics), "envgrid_web_sse_clients", "envgrid_web_sse_clients") == 1
    stream.close()
