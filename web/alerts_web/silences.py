"""Handlers of silences and maintenance windows (the data scope checked on their
matchers; changes through ``alerts.api``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from alerts import api as alerts_api
from web import context
from web.params import body_bool, body_int, body_str, json_body, opt_bool, path_int
from web.responses import ApiError, json_response

from . import queries
from .common import body_matchers, body_time, call_api, check_matchers, delete, int_list


async def list_silences(request: web.Request) -> web.Response:
    active = bool(opt_bool(request.query, "active"))
    async with context.pool(request).acquire() as conn:
        rows = await queries.silences(conn, context.caller(request).scope_param, active)
    return json_response(rows)


async def create_silence(request: web.Request) -> web.Response:
    body = await json_body(request)
    matchers = body_matchers(body, required=True)
    await check_matchers(request, matchers)
    starts = body_time(body, "starts_at")
    ends = body_time(body, "ends_at")
    minutes = body_int(body, "duration_min", minimum=1, maximum=43200)
    if ends is None:
        if minutes is None:
            raise ApiError(400, "bad_parameter", "需要结束时间或时长", parameter="ends_at")
        ends = (starts or datetime.now(UTC)) + timedelta(minutes=minutes)
    user = context.caller(request)
    sid = await call_api(
        request,
        alerts_api.create_silence,
        matchers=matchers,
        ends_at=ends,
        starts_at=starts,
        created_by=user.username,
        comment=body_str(body, "comment", max_len=500) or "",
    )
    context.audit(request, silence_id=sid, matchers=matchers)
    return json_response({"id": sid}, status=201)


async def _scoped(
    request: web.Request,
    matchers_of: Callable[[Any, int], Awaitable[dict[str, Any] | None]],
    what: str,
) -> int:
    """The id in the path, if that object's matchers lie in the caller's data scope."""
    ident = path_int(request)
    async with context.pool(request).acquire() as conn:
        matchers = await matchers_of(conn, ident)
        scope = context.caller(request).scope_param
        if matchers is None or not await queries.matchers_in_scope(conn, scope, matchers):
            raise ApiError(404, "not_found", f"{what}不存在或不在您的数据范围内")
    return ident


async def _scoped_silence(request: web.Request) -> int:
    return await _scoped(request, queries.silence_matchers, "静默")


async def expire_silence(request: web.Request) -> web.Response:
    silence_id = await _scoped_silence(request)
    async with context.pool(request).acquire() as conn:
        try:
            await alerts_api.expire_silence(conn, silence_id, user=context.caller(request).username)
        except alerts_api.NotFound:
            raise ApiError(409, "conflict", "静默已结束") from None
    context.audit(request, silence_id=silence_id)
    return json_response({"ok": True})


async def delete_silence(request: web.Request) -> web.Response:
    return await delete(
        request, alerts_api.delete_silence, await _scoped_silence(request), "silence_id"
    )


async def list_windows(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.windows(conn, context.caller(request).scope_param)
    return json_response(rows)


async def _window_args(request: web.Request, body: Mapping[str, Any]) -> dict[str, Any]:
    """The window's fields from the body, its matchers checked against the caller's scope."""
    matchers = body_matchers(body, required=context.caller(request).scope is not None)
    await check_matchers(request, matchers)
    name = body_str(body, "name", required=True, max_len=100)
    weekdays = int_list(body, "weekdays")
    ranges = body.get("time_ranges") or []
    if not isinstance(ranges, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(t, str) and len(t) <= 5 for t in r)
        for r in ranges
    ):
        raise ApiError(
            400,
            "bad_parameter",
            'time_ranges 应为 [["HH:MM", "HH:MM"], …]',
            parameter="time_ranges",
        )
    return {
        "name": name,
        "matchers": matchers,
        "recurring": body_bool(body, "recurring") is True,
        "starts_at": body_time(body, "starts_at"),
        "ends_at": body_time(body, "ends_at"),
        "weekdays": weekdays,
        "time_ranges": ranges,
        "timezone": body_str(body, "timezone", max_len=64),
        "enabled": body_bool(body, "enabled") is not False,
        "comment": body_str(body, "comment", max_len=500) or "",
    }


async def create_window(request: web.Request) -> web.Response:
    args = await _window_args(request, await json_body(request))
    wid = await call_api(
        request, alerts_api.create_window, **args, created_by=context.caller(request).username
    )
    context.audit(request, window_id=wid, name=args["name"])
    return json_response({"id": wid}, status=201)


async def _scoped_window(request: web.Request) -> int:
    return await _scoped(request, queries.window_matchers, "维护窗口")


async def update_window(request: web.Request) -> web.Response:
    window_id = await _scoped_window(request)
    args = await _window_args(request, await json_body(request))
    await call_api(request, alerts_api.update_window, window_id, **args)
    context.audit(request, window_id=window_id)
    return json_response({"id": window_id})


async def delete_window(request: web.Request) -> web.Response:
    return await delete(
        request, alerts_api.delete_window, await _scoped_window(request), "window_id"
    )
