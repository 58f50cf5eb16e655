"""The TOTP second factor over HTTP, with real pyotp codes: enrolment (secret shown once,
confirmed with a code), log-in asking for the code (JSON API and the form), wrong codes
counted toward the lock-out, replays refused, a required role sent to enrol first, an
admin's reset, and API tokens left as they are."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from aiohttp.test_utils import TestClient

from envgrid.settings import load_settings
from store.db import connect
from store.secretbox import SecretBox, SecretBoxError, box_for
from web import cli_user
from web.app import create_app
from web.auth import queries as auth_queries

from .conftest import PASSWORD, Seed, login, make_web_settings


@pytest.fixture
async def make_client(
    aiohttp_client: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path, seeded: Seed
) -> Callable[..., Any]:
    """A new client (own cookie jar) of an app with ``web.require_2fa_for = ["admin"]``."""
    settings = make_web_settings(db_dsn, pg_reachable_tmp, require_2fa_for=["admin"])

    async def make() -> TestClient:
        return await aiohttp_client(create_app(settings, db_dsn, background=False))

    return make


async def enrol(client: TestClient, csrf: str) -> str:
    """Enrol the logged-in user's authenticator over HTTP; returns the secret it was shown."""
    h = {"X-CSRF-Token": csrf}
    resp = await client.post("/api/v1/auth/2fa/enrol", json={}, headers=h)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    secret = body["secret"]
    assert body["uri"].startswith("otpauth://totp/envgrid:") and f"secret={secret}" in body["uri"]
    assert body["qr_svg"].startswith("data:image/svg+xml")
    resp = await client.post(
        "/api/v1/auth/2fa/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=h
    )
    assert resp.status == 200, await resp.text()
    return str(secret)


def next_code(secret: str) -> str:
    """The code of the next 30-second step: within the ±1 window, later than the step the
    enrolment (or the previous log-in) took."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + k * 30) for k in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(1000, 10**6, 7919)) if c not in near)


async def user_row(seed: Seed, username: str) -> Any:
    conn = await connect(seed.dsn)
    try:
        return await conn.fetchrow(
            "SELECT failed_logins, locked_until FROM web_users WHERE username = $1", username
        )
    finally:
        await conn.close()


async def login_reasons(seed: Seed, username: str) -> list[str]:
    conn = await connect(seed.dsn)
    try:
        rows = await conn.fetch(
            "SELECT reason FROM envgrid_audit.web_login_log WHERE username = $1 ORDER BY id", username
        )
    finally:
        await conn.close()
    return [r["reason"] for r in rows]


async def test_required_role_must_enrol_before_anything_else(
    make_client: Callable[..., Any], seeded: Seed
) -> None:
    admin = await make_client()
    csrf = await login(admin, "admin")  # no authenticator yet: a session that can only enrol
    resp = await admin.get("/api/v1/stations")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "totp_enrolment_required"
    resp = await admin.get("/map", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/account/2fa"
    resp = await admin.post(
        "/api/v1/auth/tokens", json={"name": "sneak"}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 403  # no token to get around the second factor either
    me = await (await admin.get("/api/v1/auth/me")).json()
    assert me["must_enrol_2fa"] is True
    page = await admin.get("/account/2fa")
    assert page.status == 200 and "双因素认证" in await page.text()
    # a role that is not required: not asked
    viewer = await make_client()
    await login(viewer, "viewer")
    assert (await viewer.get("/api/v1/stations")).status == 200
    # enrolled: everything is open
    await enrol(admin, csrf)
    assert (await admin.get("/api/v1/stations")).status == 200
    assert (await (await admin.get("/api/v1/auth/me")).json())["must_enrol_2fa"] is False


async def test_enrolment_flow_and_the_secret_never_shown_again(
    make_client: Callable[..., Any], seeded: Seed
) -> None:
    client = await make_client()
    csrf = await login(client, "viewer")
    h = {"X-CSRF-Token": csrf}
    state = await (await client.get("/api/v1/auth/2fa")).json()
    assert state == {"enabled": False, "confirmed_at": None, "required": False}
    # a started enrolment is not active until confirmed, and a wrong code does not confirm
    body = await (await client.post("/api/v1/auth/2fa/enrol", json={}, headers=h)).json()
    resp = await client.post(
        "/api/v1/auth/2fa/confirm", json={"code": wrong_code(body["secret"])}, headers=h
    )
    assert resp.status == 400
    assert (await (await client.get("/api/v1/auth/2fa")).json())["enabled"] is False
    other = await make_client()
    await login(other, "viewer")  # not asked for a code yet
    # a new enrolment replaces the unconfirmed secret; the old one no longer confirms
    secret = await enrol(client, csrf)
    assert secret != body["secret"]
    state = await (await client.get("/api/v1/auth/2fa")).json()
    assert state["enabled"] is True and state["confirmed_at"]
    resp = await client.post("/api/v1/auth/2fa/enrol", json={}, headers=h)
    assert resp.status == 409  # no new secret over a confirmed one
    # nowhere after enrolment: pages, API answers, the logs
    admin = await make_client()
    await login(admin, "admin")
    await enrol(admin, await login(admin, "admin"))
    for who, path in (
        (client, "/account/2fa"),
        (client, "/api/v1/auth/2fa"),
        (client, "/api/v1/auth/me"),
        (admin, "/admin/security"),
        (admin, "/api/v1/security/2fa"),
        (admin, "/api/v1/users?limit=500"),
        (admin, f"/api/v1/users/{seeded.users['viewer']}"),
        (admin, "/api/v1/logs/operations?limit=500"),
        (admin, "/api/v1/logs/logins?limit=500"),
    ):
        resp = await who.get(path)
        assert resp.status == 200, path
        assert secret not in await resp.text(), path


async def test_secret_is_sealed_at_rest_with_a_key_outside_the_database(
    make_client: Callable[..., Any],
    seeded: Seed,
    pg_reachable_tmp: Path,
) -> None:
    client = await make_client()
    secret = await enrol(client, await login(client, "viewer"))
    conn = await connect(seeded.dsn)
    try:
        stored = await conn.fetchval(
            "SELECT secret_sealed FROM web_user_totp WHERE user_id = $1", seeded.users["viewer"]
        )
        dump = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM web_user_totp t")
    finally:
        await conn.close()
    assert secret not in stored and secret not in dump
    key = pg_reachable_tmp / "secret.key"  # core.secret_key_file, owner-only
    assert key.stat().st_mode & 0o077 == 0
    # another key (the file replaced): the code cannot be checked — refused, not counted
    key.unlink()
    box_for.cache_clear()  # a restarted server reads the key file again
    fresh = await make_client()  # makes a new key file
    creds = {"username": "viewer", "password": PASSWORD, "totp": next_code(secret)}
    resp = await fresh.post("/api/v1/auth/login", json=creds)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "totp_unreadable"
    assert (await user_row(seeded, "viewer"))["failed_logins"] == 0
    # a key file others may read is refused (at start: the app's first cleanup context)
    key.chmod(0o644)
    with pytest.raises(SecretBoxError, match="chmod 600"):
        SecretBox.from_file(key)


async def test_login_asks_for_the_code_counts_failures_and_refuses_replays(
    make_client: Callable[..., Any], seeded: Seed
) -> None:
    client = await make_client()
    secret = await enrol(client, await login(client, "viewer"))
    fresh = await make_client()
    creds = {"username": "viewer", "password": PASSWORD}
    # the password alone is not enough
    resp = await fresh.post("/api/v1/auth/login", json=creds)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "totp_required"
    assert (await fresh.get("/api/v1/auth/me")).status == 401
    # a wrong code is refused and counted toward the lock-out
    resp = await fresh.post("/api/v1/auth/login", json={**creds, "totp": wrong_code(secret)})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "bad_totp"
    assert (await user_row(seeded, "viewer"))["failed_logins"] == 1
    # the right code: logged in, the counter reset
    code = next_code(secret)
    resp = await fresh.post("/api/v1/auth/login", json={**creds, "totp": code})
    assert resp.status == 200, await resp.text()
    assert (await fresh.get("/api/v1/auth/me")).status == 200
    assert (await user_row(seeded, "viewer"))["failed_logins"] == 0
    # the same code again (still inside its window) is refused, and counted
    again = await make_client()
    resp = await again.post("/api/v1/auth/login", json={**creds, "totp": code})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "bad_totp"
    assert (await again.get("/api/v1/auth/me")).status == 401
    assert (await user_row(seeded, "viewer"))["failed_logins"] == 1
    reasons = await login_reasons(seeded, "viewer")
    assert reasons[1:] == [
        *("totp_required",) * 2,  # no code; a wrong code:
        "bad_totp",
        "totp_required",
        "ok",
        "totp_required",
        "replayed_totp",
    ]
    # wrong codes lock the account (web.lockout_count = 3 in the tests): then even the
    # right code is refused
    for _ in range(2):
        await again.post("/api/v1/auth/login", json={**creds, "totp": wrong_code(secret)})
    assert (await user_row(seeded, "viewer"))["locked_until"] is not None
    resp = await again.post(
        "/api/v1/auth/login", json={**creds, "totp": pyotp.TOTP(secret).at(time.time() + 60)}
    )
    assert resp.status == 401
    assert (await again.get("/api/v1/auth/me")).status == 401


async def test_login_form_asks_for_the_code_after_the_password(
    make_client: Callable[..., Any], seeded: Seed
) -> None:
    client = await make_client()
    secret = await enrol(client, await login(client, "admin"))
    browser = await make_client()
    page = await browser.get("/login?next=/map")
    pre = re.search(r'name="_pre" value="([^"]+)"', await page.text())
    assert pre is not None
    resp = await browser.post(
        "/login",
        data={"_pre": pre.group(1), "username": "admin", "password": PASSWORD, "next": "/map"},
        allow_redirects=False,
    )
    assert resp.status == 200
    text = await resp.text()
    assert 'action="/login/totp"' in text and secret not in text
    assert "envgrid_session" not in resp.cookies and "envgrid_2fa" in resp.cookies
    assert (await browser.get("/api/v1/auth/me")).status == 401
    resp = await browser.post(
        "/login/totp", data={"code": wrong_code(secret), "next": "/map"}, allow_redirects=False
    )
    assert resp.status == 401 and "动态验证码错误" in await resp.text()
    resp = await browser.post(
        "/login/totp", data={"code": next_code(secret), "next": "/map"}, allow_redirects=False
    )
    assert resp.status == 302 and resp.headers["Location"] == "/map"
    assert (await browser.get("/api/v1/stations")).status == 200
    # without the password step's cookie the code alone logs nobody in
    stranger = await make_client()
    resp = await stranger.post(
        "/login/totp", data={"code": pyotp.TOTP(secret).now()}, allow_redirects=False
    )
    assert resp.status == 401 and "登录已过期" in await resp.text()
    # a log-in abandoned at the code: its challenge expires and the hourly purge drops it
    page = await stranger.get("/login")
    pre = re.search(r'name="_pre" value="([^"]+)"', await page.text())
    assert pre is not None
    await stranger.post(
        "/login",
        data={"_pre": pre.group(1), "username": "admin", "password": PASSWORD},
        allow_redirects=False,
    )
    conn = await connect(seeded.dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM web_login_challenges") == 1
        await conn.execute("UPDATE web_login_challenges SET expires_at = now() - interval '1s'")
        resp = await stranger.post(
            "/login/totp", data={"code": next_code(secret)}, allow_redirects=False
        )
        assert resp.status == 401 and "登录已过期" in await resp.text()
        await auth_queries.purge_sessions(conn)
        assert await conn.fetchval("SELECT count(*) FROM web_login_challenges") == 0
    finally:
        await conn.close()


async def test_admin_resets_a_users_second_factor_and_others_cannot(
    make_client: Callable[..., Any], seeded: Seed
) -> None:
    victim = await make_client()
    await enrol(victim, await login(victim, "viewer"))
    uid = seeded.users["viewer"]
    path = f"/api/v1/security/users/{uid}/2fa/reset"
    # not an admin (session with CSRF, or API token): refused, nothing changed
    officer = await make_client()
    csrf = await login(officer, "officer")
    assert (await officer.post(path, headers={"X-CSRF-Token": csrf})).status == 403
    assert (await officer.post(path, headers=seeded.auth("maintainer"))).status == 403
    assert (await (await victim.get("/api/v1/auth/2fa")).json())["enabled"] is True
    # an admin (API token: tokens are not asked for a second factor)
    resp = await officer.post(path, headers=seeded.auth("admin"))
    assert resp.status == 200, await resp.text()
    assert (await victim.get("/api/v1/auth/me")).status == 401  # their sessions ended
    fresh = await make_client()
    await login(fresh, "viewer")  # no code asked any more
    assert (await (await fresh.get("/api/v1/auth/2fa")).json())["enabled"] is False
    assert (await officer.post(path, headers=seeded.auth("admin"))).status == 404
    conn = await connect(seeded.dsn)
    try:
        logged = await conn.fetch(
            "SELECT username, status, detail FROM envgrid_audit.web_operation_log WHERE path = $1", path
        )
    finally:
        await conn.close()
    assert [(r["username"], r["status"]) for r in logged] == [("admin", 200), ("admin", 404)]
    assert logged[0]["detail"]["user"] == "viewer"


async def test_api_tokens_are_not_asked_for_a_second_factor(
    make_client: Callable[..., Any], seeded: Seed
) -> None:
    """The admin role requires 2FA and the admin has not enrolled; their API token still
    works (see web.auth.service: tokens are made by sessions that passed the factor)."""
    client = await make_client()
    resp = await client.get("/api/v1/stations", headers=seeded.auth("admin"))
    assert resp.status == 200


async def test_operator_resets_a_lost_authenticator_from_the_command_line(
    make_client: Callable[..., Any], seeded: Seed, capsys: pytest.CaptureFixture[str]
) -> None:
    """The only admin lost their phone: ``envgrid user reset-2fa`` on the server."""
    admin = await make_client()
    await enrol(admin, await login(admin, "admin"))

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        cli_user.configure(parser)
        args = parser.parse_args(["--dsn", seeded.dsn, *argv])
        return cli_user.run(args, lambda o: load_settings(None, {}, o, discover=False))

    assert await asyncio.to_thread(run, "reset-2fa", "admin") == 0
    assert "second factor of admin removed" in capsys.readouterr().out
    assert (await admin.get("/api/v1/auth/me")).status == 401  # the session ended
    assert await asyncio.to_thread(run, "reset-2fa", "admin") == 2
    assert "has no authenticator" in capsys.readouterr().err
    again = await make_client()
    await login(again, "admin")  # the password alone, then enrolment is required again
    resp = await again.get("/api/v1/stations")
    assert (await resp.json())["error"]["code"] == "totp_enrolment_required"
