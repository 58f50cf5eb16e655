"""Security headers on every response, and the cookie flags.

Every route of ``web.app.create_app`` (pages, ``/api/v1`` endpoints, static files — the
route table is walked, so a module added later is covered), called anonymously and as
the admin, plus the 404/405 paths: each response carries a Content-Security-Policy
whose scripts exclude ``'unsafe-inline'``/``'unsafe-eval'``, framing refused
(``X-Frame-Options`` or ``frame-ancestors``), a ``Referrer-Policy`` that does not leak
URLs cross-origin, and ``X-Content-Type-Options: nosniff``.  Rendered pages hold no
inline script or event handler (the CSP would block them anyway).  Cookies: HttpOnly and
SameSite always, Secure (and HSTS) when the dashboard is served over https.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from tests.web.conftest import PASSWORD, Seed, make_web_settings
from web.app import create_app

SAFE_REFERRER = frozenset(
    {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def csp_directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out.setdefault(words[0].lower(), words[1:])
    return out


def header_problems(resp: ClientResponse) -> list[str]:
    problems: list[str] = []
    headers = resp.headers
    csp = headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("no Content-Security-Policy")
    directives = csp_directives(csp)
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        problems.append("CSP restricts no scripts (no script-src, no default-src)")
    elif {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(scripts):
        problems.append(f"CSP script-src too wide: {scripts}")
    if directives.get("object-src", directives.get("default-src")) is None:
        problems.append("CSP leaves object-src open")
    ancestors = directives.get("frame-ancestors")
    xfo = headers.get("X-Frame-Options", "").upper()
    if xfo not in ("DENY", "SAMEORIGIN") and ancestors not in (["'none'"], ["'self'"]):
        problems.append(f"framing allowed (X-Frame-Options {xfo!r}, frame-ancestors {ancestors})")
    referrer = headers.get("Referrer-Policy", "")
    if referrer.split(",")[-1].strip() not in SAFE_REFERRER:
        problems.append(f"Referrer-Policy {referrer!r}")
    if headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    return problems


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: ids.get(m.group(1), "1"), path)


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) of every route; the static route as one real file."""
    out: list[tuple[str, str]] = []
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        if "prefix" in info:  # static files
            out.append(("GET", info["prefix"].rstrip("/") + "/css/app.css"))
            continue
        path = info.get("formatter") or info.get("path")
        if path and route.method != "HEAD":
            out.append((route.method, path))
    return sorted(set(out))


async def call(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> tuple[int, list[str], str]:
    kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        kwargs["json"] = {}
    async with client.request(method, path, **kwargs) as resp:
        problems = header_problems(resp)
        body = ""
        if resp.content_type == "text/html":
            body = await resp.text()
        return resp.status, problems, body


async def test_every_route_sends_the_security_headers(client: TestClient, seeded: Seed) -> None:
    reads = {"id": str(seeded.stations["good"]), "mn": "MNGOOD"}
    writes = {"id": "999999", "mn": "MNNOBODY"}  # no write touches real rows
    table = routes(client)
    assert len(table) >= 40, table
    failures: list[str] = []
    pages = 0
    # reads first (as admin, then anonymous), writes last: nothing they do can matter
    ordered = sorted(table, key=lambda r: (r[0] != "GET", r[1]))
    for method, template in ordered:
        path = fill(template, reads if method == "GET" else writes)
        if template == "/api/v1/live":
            path += "?station=999999"  # an event stream: the headers come first
        for who, headers in (("admin", seeded.auth("admin")), ("anonymous", {})):
            status, problems, html = await call(client, method, path, headers)
            failures += [f"{who} {method} {path} → {status}: {p}" for p in problems]
            if html and status == 200:
                pages += 1
                for pattern in (INLINE_SCRIPT, INLINE_HANDLER, JS_URL):
                    hit = pattern.search(html)
                    if hit:
                        failures.append(f"{who} {method} {path}: inline code {hit.group(0)!r}")
    for method, path in (("GET", "/nope"), ("GET", "/api/v1/nope"), ("PUT", "/api/v1/health")):
        status, problems, _ = await call(client, method, path, seeded.auth("admin"))
        failures += [f"{method} {path} → {status}: {p}" for p in problems]
    assert pages >= 5
    assert not failures, "\n".join(failures)


def set_cookies(resp: ClientResponse) -> dict[str, Any]:
    jar: SimpleCookie = SimpleCookie()
    for raw in resp.headers.getall("Set-Cookie", []):
        jar.load(raw)
    return {name: morsel for name, morsel in jar.items() if morsel.value}


async def assert_cookie_flags(client: TestClient, *, secure: bool) -> None:
    seen: dict[str, Any] = {}
    resp = await client.get("/login")
    seen.update(set_cookies(resp))
    resp = await client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    seen.update(set_cookies(resp))
    assert {"envgrid_pre", "envgrid_session"} <= set(seen), seen
    for name, morsel in seen.items():
        assert morsel["httponly"], f"{name} is not HttpOnly"
        assert morsel["samesite"].lower() in ("lax", "strict"), f"{name}: {morsel['samesite']}"
        assert bool(morsel["secure"]) is secure, f"{name}: Secure={morsel['secure']!r}"
    if secure:
        assert "max-age=" in resp.headers.get("Strict-Transport-Security", "")


async def test_cookies_are_httponly_and_samesite_on_plain_http(
    client: TestClient, seeded: Seed
) -> None:
    await assert_cookie_flags(client, secure=False)


@pytest.mark.parametrize(
    "web", [{"public_url": "https://envgrid.example.cn/"}, {"cookie_secure": "always"}]
)
async def test_cookies_are_secure_when_served_over_https(
    aiohttp_client: Any, db_dsn: str, seeded: Seed, pg_reachable_tmp: Any, web: dict[str, str]
) -> None:
    settings: Settings = make_web_settings(db_dsn, pg_reachable_tmp, **web)
    client = await aiohttp_client(create_app(settings, db_dsn, background=False))
    await assert_cookie_flags(client, secure=True)
