"""Handlers of the alert routing (admins): routes, receivers and their responsibilities
(changes through ``alerts.api``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from alerts import api as alerts_api
from web import context
from web.params import body_bool, body_int, body_str, json_body, path_int
from web.responses import ApiError, json_response

from . import queries
from .common import body_matchers, call_api, delete, int_list, seconds, str_list


async def list_routes(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        return json_response(await alerts_api.list_routes(conn))


def _route_args(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": body_str(body, "name", required=True, max_len=100),
        "position": body_int(body, "position", minimum=0, maximum=100000) or 100,
        "matchers": body_matchers(body),
        "receiver_ids": int_list(body, "receiver_ids"),
        "to_roles": str_list(body, "to_roles", []),
        "group_by": str_list(body, "group_by", ["region", "rule"]),
        "group_wait_s": seconds(body, "group_wait_s"),
        "group_interval_s": seconds(body, "group_interval_s"),
        "repeat_interval_s": seconds(body, "repeat_interval_s"),
        "send_resolved": body_bool(body, "send_resolved") is not False,
        "mute_window_ids": int_list(body, "mute_window_ids"),
        "continue_matching": body_bool(body, "continue_matching") is True,
        "enabled": body_bool(body, "enabled") is not False,
    }


async def create_route(request: web.Request) -> web.Response:
    args = _route_args(await json_body(request))
    rid = await call_api(request, alerts_api.create_route, **args)
    context.audit(request, route_id=rid, name=args["name"])
    return json_response({"id": rid}, status=201)


async def update_route(request: web.Request) -> web.Response:
    route_id = path_int(request)
    args = _route_args(await json_body(request))
    await call_api(request, alerts_api.update_route, route_id, **args)
    context.audit(request, route_id=route_id)
    return json_response({"id": route_id})


async def delete_route(request: web.Request) -> web.Response:
    return await delete(request, alerts_api.delete_route, path_int(request), "route_id")


async def list_receivers(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        return json_response(await queries.receivers(conn))


def _receiver_args(body: Mapping[str, Any]) -> dict[str, Any]:
    settings = body.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise ApiError(400, "bad_parameter", "settings 应为对象", parameter="settings")
    return {
        "name": body_str(body, "name", required=True, max_len=100),
        "kind": body_str(body, "kind", required=True, max_len=20),
        "address": body_str(body, "address", required=True, max_len=1000),
        "settings": settings,
        "enabled": body_bool(body, "enabled") is not False,
        "secret": body_str(body, "secret", max_len=500),
    }


async def _link_user(conn: Any, receiver_id: int, body: Mapping[str, Any]) -> None:
    if "user_id" not in body:
        return
    user_id = body_int(body, "user_id", minimum=1)
    if user_id is not None and not await queries.user_exists(conn, user_id):
        raise ApiError(400, "bad_parameter", "用户不存在", parameter="user_id")
    await queries.set_receiver_user(conn, receiver_id, user_id)


async def create_receiver(request: web.Request) -> web.Response:
    body = await json_body(request)
    args = _receiver_args(body)
    async with context.pool(request).acquire() as conn, conn.transaction():
        rid = await alerts_api.create_receiver(conn, **args)
        await _link_user(conn, rid, body)
    context.audit(request, receiver_id=rid, name=args["name"])
    return json_response({"id": rid}, status=201)


async def update_receiver(request: web.Request) -> web.Response:
    receiver_id = path_int(request)
    body = await json_body(request)
    args = _receiver_args(body)
    secret = args.pop("secret")
    async with context.pool(request).acquire() as conn, conn.transaction():
        await alerts_api.update_receiver(
            conn, receiver_id, **args, secret=secret, keep_secret=secret is None
        )
        await _link_user(conn, receiver_id, body)
    context.audit(request, receiver_id=receiver_id)
    return json_response({"id": receiver_id})


async def delete_receiver(request: web.Request) -> web.Response:
    return await delete(request, alerts_api.delete_receiver, path_int(request), "receiver_id")


async def add_responsibility(request: web.Request) -> web.Response:
    receiver_id = path_int(request)
    body = await json_body(request)
    role = body_str(body, "role", required=True, max_len=20)
    scope = body_str(body, "scope", required=True, max_len=20)
    key = body.get("scope_key", "")
    if not isinstance(key, str | int) or isinstance(key, bool) or len(str(key)) > 64:
        raise ApiError(400, "bad_parameter", "scope_key 无效", parameter="scope_key")
    rid = await call_api(
        request,
        alerts_api.add_responsibility,
        receiver_id=receiver_id,
        role=str(role),
        scope=str(scope),
        scope_key=key,
    )
    context.audit(request, receiver_id=receiver_id, responsibility_id=rid)
    return json_response({"id": rid}, status=201)


async def remove_responsibility(request: web.Request) -> web.Response:
    return await delete(
        request, alerts_api.remove_responsibility, path_int(request), "responsibility_id"
    )
