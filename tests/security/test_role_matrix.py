"""Role × route matrix over the router itself: deny by default, every answer from the
permission table, never a 5xx, and nothing outside the caller's data scope.

The routes are those of the running app's router (``app.router.routes()``), not a list
written here and not the OpenAPI document: a route added without a permission would
show up.  Each route's permission is the one the route table declared
(``ApiRegistry.meta_of``); each role's permissions are those of ``web_roles`` (the
migrations' seeds).  Every role logs in with a browser session (cookie + CSRF token) as
its user scoped to district R01 (tests/security/conftest.py) and calls every route once:

* GET as is, with ids of objects inside R01; unsafe methods with an empty JSON body, ids
  that name nothing and a valid CSRF token — so the permission layer answers before any
  validation, and nothing of the seed is changed;
* a route the role lacks: 403 ``forbidden`` naming the permission (a page: the 403 page);
  a route it has: never that refusal; any route: never 5xx;
* every JSON/CSV/XLSX a scoped user gets holds no station, alert or case of district R02
  (the unscoped admin does see them in the lists, so the check is not vacuous);
* without the CSRF token, every unsafe route (but the public ones) is refused.

tests/security/test_roles_fuzz.py walks the OpenAPI document with API tokens and fuzzes it;
this one is the fast, session-based walk over the router (pages included).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.web.conftest import Seed, login
from web.keys import API_KEY
from web.openapi import Endpoint, Page
from web.permissions import ROLES

from .conftest import role_permissions, scoped_user, unscoped_user
from .test_roles_fuzz import (
    ALERT_OUT,
    CASE_OUT,
    OUTSIDE_NAMES,
    OUTSIDE_STATIONS,
    leaks,
    readable,
    seed_scoped_objects,
)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Routes that end the caller's session: called last, after everything else.
LAST = frozenset({("POST", "/logout"), ("POST", "/api/v1/auth/logout")})
#: An id no object has (unsafe calls must change nothing).
NOBODY = 999_999


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    auth: str
    api: bool


def app_routes(app: web.Application) -> list[Route]:
    """Every route of the router with the permission its table declared; the static files
    are the only route without one (the middleware lets an undeclared route through)."""
    registry = app[API_KEY]
    routes: list[Route] = []
    undeclared: list[str] = []
    for route in app.router.routes():
        meta = registry.meta_of(route)
        path = route.resource.canonical if route.resource is not None else "?"
        if meta is None:
            if not path.startswith("/static"):
                undeclared.append(f"{route.method} {path}")
            continue
        assert isinstance(meta, Endpoint | Page)
        routes.append(Route(route.method, path, meta.auth, isinstance(meta, Endpoint)))
    assert not undeclared, f"routes without a permission: {undeclared}"
    return sorted(routes, key=lambda r: ((r.method, r.path) in LAST, r.path, r.method))


def allowed(permissions: frozenset[str], auth: str) -> bool:
    # "none": the health probes, answered before any credential is read
    return auth in ("public", "user", "none") or "*" in permissions or auth in permissions


def url_of(route: Route, inside: dict[str, int]) -> str:
    """The route's path with its parameters filled: inside objects for reads, ids of
    nothing for changes."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "mn":
            return "MNNOBODY"
        if route.method in UNSAFE:
            return str(NOBODY)
        for prefix, kind in (
            ("/api/v1/stations/", "station"),
            ("/stations/", "station"),
            ("/api/v1/alerts/", "alert"),
            ("/alerts/", "alert"),
            ("/api/v1/cases/", "case"),
            ("/cases/", "case"),
            ("/api/v1/grid/areas/", "area"),
            ("/grid/", "area"),
        ):
            if route.path.startswith(prefix) and name == "id":
                return str(inside[kind])
        return "1"

    return re.sub(r"\{(\w+)\}", one, route.path)


@pytest.fixture
async def server(live_server: TestServer) -> TestServer:
    return live_server


async def session_of(
    aiohttp_client: Callable[..., Any], server: TestServer, username: str
) -> tuple[TestClient, str]:
    client: TestClient = await aiohttp_client(server)
    return client, await login(client, username)


async def call(
    client: TestClient, route: Route, url: str, csrf: str | None
) -> tuple[int, str, dict[str, Any] | None]:
    """(status, readable body, the JSON error object if any) of one call."""
    kwargs: dict[str, Any] = {"allow_redirects": False}
    if route.method in UNSAFE:
        kwargs["json"] = {}
        if csrf is not None:
            kwargs["headers"] = {"X-CSRF-Token": csrf}
    async with client.request(route.method, url, **kwargs) as resp:
        if resp.content_type == "text/event-stream":
            return resp.status, "", None  # the endless live stream: its answer is enough
        body = await resp.read()
        error = None
        if resp.content_type == "application/json":
            payload = await resp.json()
            if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                error = payload["error"]
        return resp.status, readable(body), error


async def test_every_role_against_every_route(
    aiohttp_client: Callable[..., Any], server: TestServer, seeded: Seed
) -> None:
    inside, _ = await seed_scoped_objects(seeded)
    inside["area"] = seeded.areas["R01"]
    markers = (
        *(f"MN{s.upper()}" for s in OUTSIDE_STATIONS),
        *OUTSIDE_NAMES,
        ALERT_OUT,
        CASE_OUT,
    )
    roles = await role_permissions(seeded.dsn)
    assert set(ROLES) <= set(roles)
    routes = app_routes(server.app)
    assert len(routes) > 100
    failures: list[str] = []
    forbidden = 0
    for role, permissions in sorted(roles.items()):
        client, csrf = await session_of(aiohttp_client, server, scoped_user(role))
        for route in routes:
            url = url_of(route, inside)
            status, text, error = await call(client, route, url, csrf)
            where = f"{role} {route.method} {url} ({route.auth}) → {status}"
            if status >= 500:
                failures.append(f"{where}: server error {text[:200]}")
                continue
            refused = status == 403 and (
                (error or {}).get("permission") == route.auth if route.api else "没有权限" in text
            )
            if not allowed(permissions, route.auth):
                forbidden += 1
                if not refused or (route.api and (error or {}).get("code") != "forbidden"):
                    failures.append(f"{where}: the role lacks {route.auth}, expected 403")
                continue
            if refused:
                failures.append(f"{where}: the role has {route.auth} but was refused")
            if route.method == "GET":
                found = leaks(text, markers)
                if found:
                    failures.append(f"{where}: outside the scope: {found}")
    assert forbidden > 100, forbidden
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:60])


async def test_the_scope_checks_are_not_vacuous(
    aiohttp_client: Callable[..., Any], server: TestServer, seeded: Seed
) -> None:
    """The same list routes read by the unscoped admin hold the outside markers, and read
    by the scoped officer hold none — and only ids of stations inside."""
    await seed_scoped_objects(seeded)
    lists = {
        "/api/v1/stations?limit=1000": "MNUNHEALTHY",
        "/api/v1/alerts?limit=1000": ALERT_OUT,
        "/api/v1/cases?limit=200": CASE_OUT,
        "/api/v1/map/stations": OUTSIDE_NAMES[0],
    }
    admin, _ = await session_of(aiohttp_client, server, unscoped_user("admin"))
    officer, _ = await session_of(aiohttp_client, server, scoped_user("officer"))
    for path, marker in lists.items():
        async with admin.get(path) as resp:
            assert resp.status == 200, (path, await resp.text())
            assert marker in await resp.text(), path
        async with officer.get(path) as resp:
            assert resp.status == 200, (path, await resp.text())
            text = await resp.text()
            assert not leaks(text, (marker, *OUTSIDE_NAMES)), path
    async with officer.get("/api/v1/stations?limit=1000") as resp:
        ids = {item["id"] for item in (await resp.json())["items"]}
    assert ids and not ids & {seeded.stations[s] for s in OUTSIDE_STATIONS}, ids


async def test_unsafe_routes_need_the_csrf_token(
    aiohttp_client: Callable[..., Any], server: TestServer, seeded: Seed
) -> None:
    client, _ = await session_of(aiohttp_client, server, unscoped_user("admin"))
    checked = 0
    for route in app_routes(server.app):
        if route.method not in UNSAFE or route.auth == "public":
            continue
        status, text, error = await call(client, route, url_of(route, {}), None)
        assert status == 403 and (error or {}).get("code") == "csrf", (route, status, text)
        checked += 1
    assert checked > 40, checked
