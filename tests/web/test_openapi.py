"""The OpenAPI document matches the router; every non-public endpoint refuses anonymous
callers; schemathesis fuzzes every operation against the real server: no 5xx."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from envgrid.settings import Settings
from web.app import create_app
from web.keys import API_KEY
from web.openapi import Page
from web.permissions import PERMISSIONS

from .conftest import Seed


async def test_document_matches_router(client: TestClient) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for route in client.app.router.routes():
        if isinstance(client.app[API_KEY].meta_of(route), Page):
            continue  # /api/docs: the page showing the document
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path") or ""
        if path.startswith("/api/") and route.method != "HEAD":
            routed.add((route.method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)))
    assert routed == documented
    for ep in client.app[API_KEY].endpoints:
        op = doc["paths"][ep.openapi_path][ep.method.lower()]
        assert op["x-permission"] == ep.auth
        assert ep.auth in ("public", "user") or ep.auth in PERMISSIONS
        declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert declared == set(ep.path_params), ep.path
        if ep.auth != "public":
            assert {"401", "403"} <= set(op["responses"])


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "MN1" if m.group(1) == "mn" else "1", path)


async def test_every_protected_endpoint_refuses_anonymous(client: TestClient) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    checked = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op["x-permission"] == "public":
                continue
            resp = await client.request(method.upper(), _fill(path), json={})
            assert resp.status == 401, (method, path, resp.status)
            assert (await resp.json())["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 30


#: Operations left out of the fuzz run: the endless event stream, and calls that would
#: revoke the fuzzer's own credentials (its token, the admin's password).
SKIP_FUZZ = {
    ("GET", "/api/v1/live"),
    ("DELETE", "/api/v1/auth/tokens/{id}"),
    ("POST", "/api/v1/users/{id}/password"),
    ("POST", "/api/v1/auth/logout"),
}


@pytest.fixture
async def live_server(
    aiohttp_server: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestServer:
    return await aiohttp_server(create_app(web_settings, db_dsn, background=False))


async def test_schemathesis_no_server_errors(live_server: TestServer, seeded: Seed) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    import requests
    from hypothesis import HealthCheck, given, settings

    base = str(live_server.make_url("/")).rstrip("/")
    headers = seeded.auth("admin")
    failures: list[str] = []

    def fuzz() -> int:  # in a thread: requests blocks, the server runs on the test's loop
        session = requests.Session()
        doc = session.get(f"{base}/api/v1/openapi.json", timeout=10).json()
        schema = schemathesis.openapi.from_dict(doc)
        count = 0
        for result in schema.get_all_operations():
            op = result.ok()
            if (op.method.upper(), op.path) in SKIP_FUZZ:
                continue

            @settings(
                max_examples=12,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy())
            def run(case: Any) -> None:
                response = case.call(base_url=base, session=session, headers=headers, timeout=10)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} → {response.status_code}")
                if response.headers.get("Content-Type", "").startswith("application/json"):
                    body = response.json()
                    if response.status_code >= 400:
                        assert set(body) == {"error"}, body
                        assert {"code", "message"} <= set(body["error"]), body
                anonymous = case.call(base_url=base, timeout=10)
                if case.operation.definition.raw.get("x-permission") != "public":
                    assert anonymous.status_code == 401, (case.method, case.formatted_path)

            run()
            count += 1
        return count

    count = await asyncio.to_thread(fuzz)
    assert count >= 30
    assert not failures, failures
