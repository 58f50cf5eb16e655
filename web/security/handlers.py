"""Handlers of the security page: list and end sessions, list and revoke API tokens, list
and reset second factors.  Every change is a POST (CSRF-checked) in the operation log."""

from __future__ import annotations

from aiohttp import web

from web import context
from web.auth.service import digest
from web.keys import LIVE_KEY
from web.pages import shell
from web.params import path_int
from web.responses import ApiError, json_response

from . import queries

page = shell("admin_security.html", "安全：会话与令牌")


def _end_streams(request: web.Request, credentials: list[bytes]) -> None:
    """The live streams opened with an ended session or revoked token end at once."""
    if LIVE_KEY in request.app:
        for credential in credentials:
            request.app[LIVE_KEY].end(credential)


async def list_sessions(request: web.Request) -> web.Response:
    s = context.settings(request).web
    cookie = request.cookies.get(s.cookie_name)
    current = digest(cookie) if cookie and context.caller(request).via == "session" else None
    async with context.pool(request).acquire() as conn:
        rows = await queries.active_sessions(conn, s.session_idle_s, current)
    return json_response({"items": rows, "idle_s": s.session_idle_s})


async def end_session(request: web.Request) -> web.Response:
    session_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.end_session(conn, session_id)
    if row is None:
        raise ApiError(404, "not_found", "会话不存在或已结束")
    _end_streams(request, [row["token_hash"]])
    context.audit(request, session=session_id, user=row["username"])
    return json_response({"id": session_id, "ended": True})


async def list_tokens(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.active_tokens(conn)
    return json_response({"items": rows})


async def revoke_token(request: web.Request) -> web.Response:
    token_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.revoke_token(conn, token_id)
    if row is None:
        raise ApiError(404, "not_found", "令牌不存在或已吊销")
    _end_streams(request, [row["token_hash"]])
    context.audit(request, token=token_id, name=row["name"], user=row["username"])
    return json_response({"id": token_id, "revoked": True})


async def list_second_factors(request: web.Request) -> web.Response:
    roles = context.settings(request).web.require_2fa_for
    async with context.pool(request).acquire() as conn:
        rows = await queries.second_factors(conn, roles)
    return json_response({"items": rows, "required_roles": list(roles)})


async def reset_second_factor(request: web.Request) -> web.Response:
    user_id = path_int(request)
    async with context.pool(request).acquire() as conn:
        row = await queries.reset_second_factor(conn, user_id)
    if row is None:
        raise ApiError(404, "not_found", "该用户没有绑定身份验证器")
    _end_streams(request, list(row["sessions"] or ()))
    context.audit(request, user=row["username"], was_confirmed=row["confirmed_at"] is not None)
    return json_response({"user_id": user_id, "reset": True})
