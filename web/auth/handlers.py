"""Log-in/out (form and JSON), the caller's account, password change, API tokens."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from web import context
from web.keys import LIVE_KEY, METRICS_KEY, TOTP_BOX_KEY
from web.pages import render
from web.params import body_int, body_str, json_body, path_int
from web.ratelimit import LoginAttempt, RateLimited, login_attempt, request_address
from web.responses import ApiError, json_response

from . import queries
from .passwords import check_policy, hash_password, verify_password
from .service import (
    CHALLENGE_S,
    TOKEN_PREFIX,
    LoginResult,
    complete_login,
    digest,
    login,
    new_token,
)

PRE_COOKIE = "envgrid_pre"
#: The log-in awaiting its TOTP code (web.auth.service): on /login only, never sent cross-site.
TOTP_COOKIE = "envgrid_2fa"
_REASONS = {
    "bad_credentials": "用户名或密码错误（连续输错多次后账号会暂时锁定，请稍后再试）",
    "disabled": "账号已停用，请联系管理员",
    "totp_required": "请输入动态验证码（身份验证器应用中的 6 位数字）",
    "bad_totp": "动态验证码错误或已使用（连续输错多次后账号会暂时锁定）",
    "replayed_totp": "动态验证码错误或已使用（连续输错多次后账号会暂时锁定）",
    "expired": "登录已过期，请重新输入用户名和密码",
    "totp_unreadable": "无法校验动态验证码，请联系管理员重置您的双因素认证",
}


def _safe_next(raw: str | None) -> str:
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    parts = urlsplit(raw)
    return "/" if parts.netloc or parts.scheme else raw


def _set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    s = context.settings(request).web
    response.set_cookie(
        s.cookie_name,
        token,
        max_age=s.session_lifetime_s,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=s.secure_cookie(request.secure),
    )


def _refusal(reason: str) -> str:
    """What a refused log-in is told: a locked account reads like a wrong password (the
    log-in log keeps the real reason), so the answer does not reveal which names exist."""
    return _REASONS["bad_credentials" if reason == "locked" else reason]


async def _do_login(request: web.Request, username: str, password: str) -> Any:
    """Check the password; :class:`RateLimited` (429) when the client tries too often."""
    attempt = _attempt(request)  # before argon2: a refused attempt costs nothing
    s = context.settings(request).web
    async with context.pool(request).acquire() as conn:
        result = await login(
            conn,
            s,
            username,
            password,
            ip=request_address(request),
            user_agent=request.headers.get("User-Agent"),
        )
    if result.ok:
        attempt.succeeded()
    elif result.reason != "totp_required":
        request.app[METRICS_KEY].login_refused(result.reason)
    return result


def _attempt(request: web.Request) -> LoginAttempt:
    """:func:`login_attempt`, a refusal counted in the metrics (``rate_limited``)."""
    try:
        return login_attempt(request)
    except RateLimited:
        request.app[METRICS_KEY].login_refused("rate_limited")
        raise


async def login_page(request: web.Request) -> web.StreamResponse:
    if context.maybe_caller(request) is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return _render_login(request, error="")


def _render_login(request: web.Request, *, error: str, username: str = "") -> web.Response:
    pre = new_token()
    response = render(
        request,
        "login.html",
        {
            "pre_token": pre,
            "error": error,
            "username": username,
            "next": _safe_next(request.query.get("next")),
        },
        status=401 if error else 200,
    )
    s = context.settings(request).web
    response.set_cookie(
        PRE_COOKIE,
        pre,
        path="/login",
        httponly=True,
        samesite="Strict",
        secure=s.secure_cookie(request.secure),
        max_age=1800,
    )
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    sent = str(form.get("_pre", ""))
    cookie = request.cookies.get(PRE_COOKIE, "")
    username = str(form.get("username", ""))[:64].strip()
    password = str(form.get("password", ""))[:128]
    if not sent or not secrets.compare_digest(sent, cookie):
        return _render_login(request, error="页面已过期，请重新登录", username=username)
    if not username or not password:
        return _render_login(request, error="请输入用户名和密码", username=username)
    try:
        result = await _do_login(request, username, password)
    except RateLimited as exc:
        response = _render_login(request, error=exc.message, username=username)
        response.set_status(429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    next_url = _safe_next(str(form.get("next", "")) or None)
    if result.reason == "totp_required":
        return _render_totp(request, next_url, error="", challenge=result.challenge_token)
    if not result.ok:
        return _render_login(request, error=_refusal(result.reason), username=username)
    raise _logged_in(request, result, next_url)


def _logged_in(request: web.Request, result: LoginResult, next_url: str) -> web.HTTPFound:
    """The redirect (to raise) that ends a log-in: the session cookie, the others gone."""
    response = web.HTTPFound(next_url)
    _set_session_cookie(request, response, result.session_token)
    response.del_cookie(PRE_COOKIE, path="/login")
    response.del_cookie(TOTP_COOKIE, path="/login")
    return response


def _render_totp(
    request: web.Request, next_url: str, *, error: str, challenge: str = ""
) -> web.Response:
    """The second step of the log-in form: the code (``challenge``: a new log-in's cookie)."""
    response = render(
        request, "login_totp.html", {"error": error, "next": next_url}, status=401 if error else 200
    )
    if challenge:
        s = context.settings(request).web
        response.set_cookie(
            TOTP_COOKIE,
            challenge,
            path="/login",
            httponly=True,
            samesite="Strict",
            secure=s.secure_cookie(request.secure),
            max_age=CHALLENGE_S,
        )
    return response


async def _do_second_step(request: web.Request, challenge: str, code: str) -> LoginResult:
    """Check the code; :class:`RateLimited` (429) when the client tries too often."""
    attempt = _attempt(request)
    async with context.pool(request).acquire() as conn:
        result = await complete_login(
            conn,
            context.settings(request).web,
            challenge,
            code,
            box=request.app[TOTP_BOX_KEY],
            ip=request_address(request),
            user_agent=request.headers.get("User-Agent"),
        )
    if result.ok:
        attempt.succeeded()
    else:
        request.app[METRICS_KEY].login_refused(result.reason)
    return result


async def login_totp_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    next_url = _safe_next(str(form.get("next", "")) or None)
    code = str(form.get("code", ""))[:16]
    try:
        result = await _do_second_step(request, request.cookies.get(TOTP_COOKIE, ""), code)
    except RateLimited as exc:
        response = _render_totp(request, next_url, error=exc.message)
        response.set_status(429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if result.ok:
        raise _logged_in(request, result, next_url)
    if result.reason in ("bad_totp", "replayed_totp"):
        return _render_totp(request, next_url, error=_REASONS[result.reason])
    response = _render_login(request, error=_refusal(result.reason))
    response.del_cookie(TOTP_COOKIE, path="/login")
    return response


def _end_streams(request: web.Request, token: str) -> None:
    """A log-out ends the session's live streams at once (web.live.stream)."""
    if LIVE_KEY in request.app:
        request.app[LIVE_KEY].end(digest(token))


async def logout_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user = context.maybe_caller(request)
    s = context.settings(request).web
    token = request.cookies.get(s.cookie_name)
    if (
        user is not None
        and token
        and secrets.compare_digest(str(form.get("_csrf", "")), user.csrf_token)
    ):
        async with context.pool(request).acquire() as conn:
            await queries.delete_session(conn, digest(token))
        _end_streams(request, token)
    response = web.HTTPFound("/login")
    response.del_cookie(s.cookie_name, path="/")
    raise response


# -- JSON API ----------------------------------------------------------------------------


async def api_login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username = body_str(body, "username", required=True, max_len=64)
    password = body_str(body, "password", required=True, max_len=128)
    code = body_str(body, "totp", max_len=16)
    assert username is not None and password is not None
    result = await _do_login(request, username.strip(), password)
    if result.reason == "totp_required":
        if not code:
            async with context.pool(request).acquire() as conn:
                await queries.delete_challenge(conn, digest(result.challenge_token))
            raise ApiError(401, "totp_required", _REASONS["totp_required"])
        challenge = result.challenge_token
        result = await _do_second_step(request, challenge, code)
        if result.reason in ("bad_totp", "replayed_totp"):
            async with context.pool(request).acquire() as conn:  # one code per request
                await queries.delete_challenge(conn, digest(challenge))
            raise ApiError(401, "bad_totp", _REASONS[result.reason])
    if not result.ok:
        reason = "bad_credentials" if result.reason == "locked" else result.reason
        raise ApiError(401, reason, _refusal(result.reason))
    response = json_response({"ok": True, "csrf_token": result.csrf_token})
    _set_session_cookie(request, response, result.session_token)
    return response


async def api_logout(request: web.Request) -> web.Response:
    s = context.settings(request).web
    token = request.cookies.get(s.cookie_name)
    if token and context.caller(request).via == "session":
        async with context.pool(request).acquire() as conn:
            await queries.delete_session(conn, digest(token))
        _end_streams(request, token)
    response = json_response({"ok": True})
    response.del_cookie(s.cookie_name, path="/")
    return response


async def api_me(request: web.Request) -> web.Response:
    user = context.caller(request)
    return json_response({**user.to_json(), "via": user.via, "csrf_token": user.csrf_token})


async def api_change_password(request: web.Request) -> web.Response:
    body = await json_body(request)
    current = body_str(body, "current_password", required=True, max_len=128)
    new = body_str(body, "new_password", required=True, max_len=128)
    assert current is not None and new is not None
    user = context.caller(request)
    s = context.settings(request).web
    problems = check_policy(new, s, username=user.username)
    if new == current:
        problems.append("新密码不能与当前密码相同")
    async with context.pool(request).acquire() as conn:
        stored = await queries.password_hash(conn, user.user_id)
        if not await asyncio.to_thread(verify_password, stored, current):
            raise ApiError(400, "bad_password", "当前密码不正确")
        if problems:
            raise ApiError(400, "weak_password", "；".join(problems), problems=problems)
        async with conn.transaction():
            hashed = await asyncio.to_thread(hash_password, new)
            await queries.set_password(conn, user.user_id, hashed, must_change=False)
            await queries.end_user_access(conn, user.user_id)
            token = new_token()
            csrf = new_token()
            await queries.create_session(
                conn,
                token_hash=digest(token),
                user_id=user.user_id,
                csrf_token=csrf,
                lifetime_s=s.session_lifetime_s,
                ip=request_address(request),
                user_agent=request.headers.get("User-Agent"),
            )
    response = json_response({"ok": True, "csrf_token": csrf})
    if user.via == "session":
        _set_session_cookie(request, response, token)
    return response


async def list_tokens(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.list_tokens(conn, context.caller(request).user_id)
    return json_response(rows)


async def create_token(request: web.Request) -> web.Response:
    body = await json_body(request)
    name = body_str(body, "name", required=True, max_len=64)
    assert name is not None
    days = body_int(body, "expires_days", minimum=1, maximum=3650)
    if days is None:
        days = context.settings(request).web.token_expiry_days
    token = TOKEN_PREFIX + new_token()
    expires = datetime.now(UTC) + timedelta(days=days)
    async with context.pool(request).acquire() as conn:
        row = await queries.create_token(
            conn,
            user_id=context.caller(request).user_id,
            name=name.strip(),
            token_hash=digest(token),
            prefix=token[:10],
            expires_at=expires,
        )
    context.audit(request, token=row["prefix"], name=name)
    return json_response({**row, "token": token}, status=201)


async def revoke_token(request: web.Request) -> web.Response:
    token_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        ok = await queries.revoke_token(conn, token_id, context.caller(request).user_id)
    if not ok:
        raise ApiError(404, "not_found", "令牌不存在或已吊销")
    return json_response({"id": token_id, "revoked": True})
