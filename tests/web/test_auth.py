"""Log-in, sessions, CSRF, lock-out, password policy, API tokens, security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from store.db import connect
from web.app import create_app

from .conftest import PASSWORD, Seed, login, make_web_settings


async def test_unauthenticated_api_is_401_json(client: TestClient) -> None:
    resp = await client.get("/api/v1/stations")
    assert resp.status == 401
    body = await resp.json()
    assert body["error"]["code"] == "unauthorized"
    assert body["error"]["message"]


async def test_pages_redirect_to_login(client: TestClient) -> None:
    resp = await client.get("/map", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/login?next=/map")


async def test_login_page_form_flow(client: TestClient) -> None:
    resp = await client.get("/login")
    assert resp.status == 200
    html = await resp.text()
    assert "环境监测平台" in html and 'name="_pre"' in html
    pre = html.split('name="_pre" value="')[1].split('"')[0]
    resp = await client.post(
        "/login",
        data={"_pre": pre, "username": "admin", "password": PASSWORD, "next": "/map"},
        allow_redirects=False,
    )
    assert resp.status == 302, await resp.text()
    assert resp.headers["Location"] == "/map"
    cookie = resp.cookies["envgrid_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http on loopback (tests)
    resp = await client.get("/map")
    assert resp.status == 200
    assert "监测地图" in await resp.text()


async def test_login_form_without_pre_token_is_refused(client: TestClient) -> None:
    resp = await client.post(
        "/login", data={"username": "admin", "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 401
    assert "页面已过期" in await resp.text()


async def test_open_redirect_is_refused(client: TestClient) -> None:
    resp = await client.get("/login?next=//evil.example/x")
    html = await resp.text()
    assert 'name="next" value="/"' in html


async def test_bad_password_and_lockout(client: TestClient, seeded: Seed) -> None:
    answers = []
    for _ in range(3):  # web.lockout_count = 3 in the tests
        resp = await client.post("/api/v1/auth/login", json={"username": "viewer", "password": "x"})
        answers.append((resp.status, await resp.json()))
    # the right password does not help while locked
    resp = await client.post(
        "/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD}
    )
    answers.append((resp.status, await resp.json()))
    # issue 16, finding 10: a locked account answers exactly like a wrong password and an
    # unknown name (no 423 to tell which names exist); the log-in log keeps the reason
    resp = await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})
    unknown = (resp.status, await resp.json())
    assert unknown[0] == 401 and unknown[1]["error"]["code"] == "bad_credentials"
    assert answers == [unknown] * 4
    conn = await connect(seeded.dsn)
    try:
        rows = await conn.fetch(
            "SELECT success, reason FROM envgrid_audit.web_login_log WHERE username = 'viewer' ORDER BY id"
        )
    finally:
        await conn.close()
    assert [r["reason"] for r in rows] == ["bad_credentials", "bad_credentials", "locked", "locked"]
    # an admin unlocks the account
    resp = await client.patch(
        f"/api/v1/users/{seeded.users['viewer']}",
        json={"unlock": True},
        headers=seeded.auth("admin"),
    )
    assert resp.status == 200
    assert await login(client, "viewer")


async def test_unknown_user_is_bad_credentials(client: TestClient) -> None:
    resp = await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x1"})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "bad_credentials"


async def test_disabled_user_cannot_log_in(client: TestClient, seeded: Seed) -> None:
    resp = await client.patch(
        f"/api/v1/users/{seeded.users['viewer']}",
        json={"enabled": False},
        headers=seeded.auth("admin"),
    )
    assert resp.status == 200
    resp = await client.post(
        "/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD}
    )
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "disabled"
    # and their token no longer works
    resp = await client.get("/api/v1/auth/me", headers=seeded.auth("viewer"))
    assert resp.status == 401


async def test_csrf_required_for_session_writes(client: TestClient) -> None:
    csrf = await login(client, "admin")
    body = {"name": "脚本"}
    resp = await client.post("/api/v1/auth/tokens", json=body)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "csrf"
    resp = await client.post("/api/v1/auth/tokens", json=body, headers={"X-CSRF-Token": "nope"})
    assert resp.status == 403
    resp = await client.post(
        "/api/v1/auth/tokens",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
    )
    assert resp.status == 403
    resp = await client.post("/api/v1/auth/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert resp.status == 201
    token = (await resp.json())["token"]
    assert token.startswith("eg_")
    # the token works without cookies or CSRF (machine client)
    client.session.cookie_jar.clear()
    resp = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert (await resp.json())["via"] == "token"


async def test_tokens_list_and_revoke(client: TestClient, seeded: Seed) -> None:
    headers = seeded.auth("officer")
    resp = await client.post("/api/v1/auth/tokens", json={"name": "采集"}, headers=headers)
    created = await resp.json()
    listed = await (await client.get("/api/v1/auth/tokens", headers=headers)).json()
    assert created["id"] in [t["id"] for t in listed]
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    resp = await client.delete(f"/api/v1/auth/tokens/{created['id']}", headers=headers)
    assert resp.status == 200
    resp = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert resp.status == 401
    # someone else's token cannot be revoked
    resp = await client.delete(f"/api/v1/auth/tokens/{created['id']}", headers=seeded.auth("admin"))
    assert resp.status == 404


async def test_tokens_expire_and_end_with_a_password_change(
    client: TestClient, seeded: Seed
) -> None:
    """Issue 16, finding 10: a token without a lifetime lasted for ever and survived the
    password change that should have ended the owner's access."""
    csrf = await login(client, "viewer")
    h = {"X-CSRF-Token": csrf}
    resp = await client.post("/api/v1/auth/tokens", json={"name": "脚本"}, headers=h)
    created = await resp.json()
    assert resp.status == 201, created
    expires = datetime.fromisoformat(created["expires_at"])
    assert abs(expires - datetime.now(UTC) - timedelta(days=90)) < timedelta(minutes=5)
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status == 200
    listed = await (await client.get("/api/v1/auth/tokens", headers=h)).json()
    assert [t["last_used_at"] is not None for t in listed if t["id"] == created["id"]] == [True]
    resp = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "NewPass456"},
        headers=h,
    )
    assert resp.status == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status == 401
    # an administrator's reset ends the tokens too
    admin_token = seeded.auth("officer")
    assert (await client.get("/api/v1/auth/me", headers=admin_token)).status == 200
    resp = await client.post(
        f"/api/v1/users/{seeded.users['officer']}/password",
        json={"password": "Reset7890x"},
        headers=seeded.auth("admin"),
    )
    assert resp.status == 200, await resp.text()
    assert (await client.get("/api/v1/auth/me", headers=admin_token)).status == 401


async def test_bad_bearer_header(client: TestClient) -> None:
    resp = await client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert resp.status == 401
    resp = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer eg_wrong"})
    assert resp.status == 401


async def test_logout_ends_session(client: TestClient) -> None:
    csrf = await login(client, "viewer")
    assert (await client.get("/api/v1/auth/me")).status == 200
    resp = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    assert (await client.get("/api/v1/auth/me")).status == 401


async def test_idle_session_ends_after_30_minutes_by_default(
    client: TestClient, seeded: Seed
) -> None:
    """等保 2.0 level 3: a session unused for web.session_idle_s (default 30 min) ends."""
    await login(client, "viewer")
    conn = await connect(seeded.dsn)
    try:
        idle = "UPDATE web_sessions SET last_seen_at = now() - $1::interval WHERE user_id = $2"
        await conn.execute(idle, timedelta(minutes=29), seeded.users["viewer"])
        assert (await client.get("/api/v1/auth/me")).status == 200  # use refreshes it
        await conn.execute(idle, timedelta(minutes=31), seeded.users["viewer"])
        assert (await client.get("/api/v1/auth/me")).status == 401
        resp = await client.get("/map", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    finally:
        await conn.close()


async def test_password_change_policy(client: TestClient) -> None:
    csrf = await login(client, "viewer")
    h = {"X-CSRF-Token": csrf}
    resp = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong1", "new_password": "Abcdefg12"},
        headers=h,
    )
    assert (await resp.json())["error"]["code"] == "bad_password"
    for weak in ("short1", "onlyletters", "1234567890"):
        resp = await client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": weak},
            headers=h,
        )
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "weak_password", weak
    resp = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "NewPass456"},
        headers=h,
    )
    assert resp.status == 200
    assert await login(client, "viewer", "NewPass456")


async def test_must_change_password_blocks_other_calls(client: TestClient, seeded: Seed) -> None:
    resp = await client.post(
        f"/api/v1/users/{seeded.users['viewer']}/password",
        json={"password": "Temp12345"},
        headers=seeded.auth("admin"),
    )
    assert resp.status == 200
    await login(client, "viewer", "Temp12345")
    resp = await client.get("/api/v1/stations")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "password_change_required"
    resp = await client.get("/map", allow_redirects=False)
    assert resp.headers["Location"] == "/account/password"
    assert (await client.get("/api/v1/auth/me")).status == 200


async def test_security_headers(client: TestClient) -> None:
    for path in ("/login", "/api/v1/health", "/static/css/app.css"):
        resp = await client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp
            and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        )
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"


async def test_error_shape_for_unknown_and_method(client: TestClient, seeded: Seed) -> None:
    resp = await client.get("/api/v1/nope", headers=seeded.auth("admin"))
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.put("/api/v1/stations", headers=seeded.auth("admin"))
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    resp = await client.post(
        "/api/v1/stations",
        data=b"{bad",
        headers={**seeded.auth("admin"), "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "bad_json"


@pytest.mark.parametrize(
    ("trusted", "headers", "logged"),
    [
        ((), {"X-Forwarded-For": "203.0.113.7"}, "127.0.0.1"),  # no trusted proxy: ignored
        (("127.0.0.1/32",), {}, "127.0.0.1"),
        (("127.0.0.1/32",), {"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7"),
        (("127.0.0.1/32",), {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"}, "203.0.113.7"),
        (("127.0.0.1/32",), {"Forwarded": 'for="[2001:db8::7]:4711"'}, "2001:db8::7"),
        (("127.0.0.1/32",), {"Forwarded": "for=198.51.100.9;proto=https"}, "198.51.100.9"),
    ],
)
async def test_audit_logs_record_the_client_behind_a_trusted_proxy(
    aiohttp_client: Callable[..., Any],
    db_dsn: str,
    seeded: Seed,
    pg_reachable_tmp: Path,
    trusted: tuple[str, ...],
    headers: dict[str, str],
    logged: str,
) -> None:
    """Issue 16, finding 11: behind a reverse proxy the log-in and operation logs recorded
    the proxy; with web.trusted_proxies they record the client it forwarded, and without it
    a forwarded header is a client's claim and ignored."""
    settings = make_web_settings(db_dsn, pg_reachable_tmp, trusted_proxies=list(trusted))
    client = await aiohttp_client(create_app(settings, db_dsn, background=False))
    resp = await client.post(
        "/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD}, headers=headers
    )
    assert resp.status == 200
    resp = await client.post(
        "/api/v1/stations", json={}, headers={**headers, **seeded.auth("admin")}
    )
    assert resp.status == 400  # refused, and logged
    conn = await connect(seeded.dsn)
    try:
        login_ip = await conn.fetchval(
            "SELECT ip FROM envgrid_audit.web_login_log ORDER BY id DESC LIMIT 1"
        )
        operation_ip = await conn.fetchval(
            "SELECT ip FROM envgrid_audit.web_operation_log WHERE path = '/api/v1/stations'"
            " ORDER BY id DESC LIMIT 1"
        )
    finally:
        await conn.close()
    assert (login_ip, operation_ip) == (logged, logged)
