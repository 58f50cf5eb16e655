"""The security page (安全 / 会话与令牌): admins see every active session and API token —
never a token value — and end or revoke them with CSRF-protected POSTs, in the operation
log; anyone else is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from store.db import connect
from web.app import create_app

from .conftest import Seed, login

PATHS = (
    ("GET", "/admin/security"),
    ("GET", "/api/v1/security/sessions"),
    ("GET", "/api/v1/security/tokens"),
    ("GET", "/api/v1/security/2fa"),
    ("POST", "/api/v1/security/sessions/1/end"),
    ("POST", "/api/v1/security/tokens/1/revoke"),
    ("POST", "/api/v1/security/users/1/2fa/reset"),
)


@pytest.fixture
async def new_client(
    aiohttp_client: Callable[..., Any], web_settings: Any, db_dsn: str, seeded: Seed
) -> Callable[..., Any]:
    async def make() -> TestClient:
        return await aiohttp_client(create_app(web_settings, db_dsn, background=False))

    return make


async def operations(seed: Seed, path: str) -> list[Any]:
    conn = await connect(seed.dsn)
    try:
        return await conn.fetch(
            "SELECT username, action, target, status, detail FROM envgrid_audit.web_operation_log"
            " WHERE path = $1 ORDER BY id",
            path,
        )
    finally:
        await conn.close()


async def test_sessions_listed_without_token_values_and_ended(
    new_client: Callable[..., Any], seeded: Seed
) -> None:
    admin = await new_client()
    csrf = await login(admin, "admin")
    viewer = await new_client()
    await login(viewer, "viewer")
    resp = await admin.get("/api/v1/security/sessions")
    assert resp.status == 200
    text = await resp.text()
    items = (await resp.json())["items"]
    theirs = [s for s in items if s["username"] == "viewer"]
    mine = [s for s in items if s["username"] == "admin"]
    assert len(theirs) == 1 and len(mine) == 1 and mine[0]["current"] and not theirs[0]["current"]
    for key in ("id", "created_at", "last_seen_at", "ip", "user_agent"):
        assert key in theirs[0]
    assert theirs[0]["ip"] == "127.0.0.1" and theirs[0]["user_agent"]
    for jar in (admin.session.cookie_jar, viewer.session.cookie_jar):
        for cookie in jar:
            assert cookie.value not in text  # no session token
    assert "token_hash" not in text and "csrf" not in text
    path = f"/api/v1/security/sessions/{theirs[0]['id']}/end"
    # CSRF-protected: a session POST without the token is refused, nothing ended
    assert (await admin.post(path)).status == 403
    assert (await viewer.get("/api/v1/auth/me")).status == 200
    resp = await admin.post(path, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    assert (await viewer.get("/api/v1/auth/me")).status == 401
    assert (await admin.post(path, headers={"X-CSRF-Token": csrf})).status == 404
    logged = await operations(seeded, path)
    assert [(r["username"], r["action"], r["status"]) for r in logged] == [
        ("admin", "结束会话", 200),
        ("admin", "结束会话", 404),
    ]
    assert logged[0]["detail"]["user"] == "viewer"


async def test_tokens_listed_without_values_and_revoked(
    new_client: Callable[..., Any], seeded: Seed
) -> None:
    admin = await new_client()
    csrf = await login(admin, "admin")
    resp = await admin.get("/api/v1/security/tokens")
    assert resp.status == 200
    text = await resp.text()
    items = (await resp.json())["items"]
    assert {t["username"] for t in items} == set(seeded.tokens)
    for token in seeded.tokens.values():
        assert token not in text and token[:10] not in text  # neither value nor prefix
    assert "token_hash" not in text
    for key in ("name", "created_at", "last_used_at", "expires_at"):
        assert key in items[0]
    viewer_token = next(t for t in items if t["username"] == "viewer")
    assert (await admin.get("/api/v1/stations", headers=seeded.auth("viewer"))).status == 200
    path = f"/api/v1/security/tokens/{viewer_token['id']}/revoke"
    assert (await admin.post(path)).status == 403  # no CSRF token
    resp = await admin.post(path, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    assert (await admin.get("/api/v1/stations", headers=seeded.auth("viewer"))).status == 401
    listed = await (await admin.get("/api/v1/security/tokens")).json()
    assert viewer_token["id"] not in [t["id"] for t in listed["items"]]
    logged = await operations(seeded, path)
    assert [(r["username"], r["status"]) for r in logged] == [("admin", 200)]
    assert logged[0]["detail"]["user"] == "viewer"


@pytest.mark.parametrize("who", ["officer", "maintainer", "viewer", "grid"])
async def test_non_admins_are_refused(
    new_client: Callable[..., Any], seeded: Seed, who: str
) -> None:
    client = await new_client()
    csrf = await login(client, who)
    for method, path in PATHS:
        resp = await client.request(method, path, headers={"X-CSRF-Token": csrf})
        assert resp.status == 403, (method, path)
        resp = await client.request(method, path, headers=seeded.auth(who))
        assert resp.status == 403, (method, path)
    # nothing was ended or revoked
    assert (await client.get("/api/v1/auth/me")).status == 200
    assert (await client.get("/api/v1/auth/me", headers=seeded.auth("admin"))).status == 200
    page = await client.get("/map")
    assert "/admin/security" not in await page.text()  # not in their navigation


async def test_admin_page_renders(new_client: Callable[..., Any], seeded: Seed) -> None:
    admin = await new_client()
    await login(admin, "admin")
    resp = await admin.get("/admin/security")
    assert resp.status == 200
    text = await resp.text()
    assert "会话与令牌" in text and 'href="/admin/security"' in text
