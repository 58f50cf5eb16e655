"""Handlers of the users module: accounts, roles, logs (users:admin / logs:read)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from web import context
from web.auth import queries as auth_queries
from web.params import (
    Paging,
    body_bool,
    body_str,
    json_body,
    opt_bool,
    opt_str,
    paging,
    path_int,
    time_window,
)
from web.permissions import PERMISSIONS
from web.responses import ApiError, json_response

from . import grants, queries
from .service import create_user, reset_password, set_user_scope


def _ids(body: dict[str, Any], name: str, problem: str) -> list[int] | None:
    """The body's list of row ids ``name`` (None when absent)."""
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= 2_147_483_647 for i in raw
    ):
        raise ApiError(400, "bad_parameter", problem, parameter=name)
    return raw


def _scope_ids(body: dict[str, Any]) -> list[int] | None:
    return _ids(body, "scope", "scope 应为区域 id 列表")


def _receiver_ids(body: dict[str, Any]) -> list[int] | None:
    raw = _ids(body, "receiver_ids", "receiver_ids 应为接收人 id 列表")
    return None if raw is None else sorted(set(raw))


async def list_users(request: web.Request) -> web.Response:
    q = request.query
    page = paging(q, context.settings(request).web.page_size_max)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.users(
            conn,
            q=opt_str(q, "q"),
            role=opt_str(q, "role", max_len=40),
            limit=page.limit,
            offset=page.offset,
            within=context.caller(request).scope_param,
        )
    return json_response(page.wrap(items, total))


async def get_user(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        items, _ = await queries.users(
            conn, user_id=path_int(request), within=context.caller(request).scope_param
        )
    if not items:
        raise ApiError(404, "not_found", "用户不存在")
    return json_response(items[0])


async def add_user(request: web.Request) -> web.Response:
    body = await json_body(request)
    username = body_str(body, "username", required=True, max_len=64)
    password = body_str(body, "password", required=True, max_len=128)
    role = body_str(body, "role", required=True, max_len=40)
    assert username is not None and password is not None and role is not None
    scope = _scope_ids(body) or []
    me = context.caller(request)
    async with context.pool(request).acquire() as conn:
        await grants.check_role(conn, me, role)
        await grants.check_scope(conn, me, scope)
        user_id = await create_user(
            conn,
            context.settings(request).web,
            username=username.strip(),
            password=password,
            role=role,
            display_name=body_str(body, "display_name", max_len=64) or "",
            phone=body_str(body, "phone", max_len=32) or "",
            scope=scope,
            must_change_password=body_bool(body, "must_change_password") is not False,
        )
    context.audit(request, username=username, role=role, scope=body.get("scope"))
    return json_response({"id": user_id, "username": username}, status=201)


async def update_user(request: web.Request) -> web.Response:
    user_id = path_int(request)
    body = await json_body(request)
    role = body_str(body, "role", max_len=40)
    enabled = body_bool(body, "enabled")
    scope = _scope_ids(body)
    receivers = _receiver_ids(body)
    me = context.caller(request)
    async with context.pool(request).acquire() as conn, conn.transaction():
        if role is not None and not await queries.role_exists(conn, role):
            raise ApiError(400, "unknown_role", f"角色不存在：{role}")
        if user_id == me.user_id and (enabled is False or (role and role != me.role)):
            raise ApiError(400, "self_lockout", "不能停用自己或修改自己的角色")
        await grants.check_manage(conn, me, user_id)
        if role is not None:
            await grants.check_role(conn, me, role)
        if scope is not None:
            await grants.check_scope(conn, me, scope)
        ok = await queries.update_user(
            conn,
            user_id,
            display_name=body_str(body, "display_name", max_len=64),
            phone=body_str(body, "phone", max_len=32),
            role=role,
            enabled=enabled,
            unlock=body_bool(body, "unlock") is True,
            must_change_password=body_bool(body, "must_change_password"),
        )
        if not ok:
            raise ApiError(404, "not_found", "用户不存在")
        if scope is not None:
            await set_user_scope(conn, user_id, scope)
        if receivers is not None:
            if not me.can("alerts:admin"):  # receivers are the alert administrators' to give
                raise ApiError(
                    403,
                    "forbidden",
                    "没有权限：告警路由与接收人配置（关联告警接收人）",
                    permission="alerts:admin",
                )
            missing = await queries.missing_receivers(conn, receivers)
            if missing:
                raise ApiError(
                    400, "bad_parameter", f"接收人不存在：{missing}", parameter="receiver_ids"
                )
            await queries.set_receivers(conn, user_id, receivers)
        if enabled is False:
            await auth_queries.end_user_access(conn, user_id)
    context.audit(request, user_id=user_id, changed=sorted(body))
    return json_response({"id": user_id, "changed": sorted(body)})


async def reset_user_password(request: web.Request) -> web.Response:
    user_id = path_int(request)
    body = await json_body(request)
    password = body_str(body, "password", required=True, max_len=128)
    assert password is not None
    async with context.pool(request).acquire() as conn:
        items, _ = await queries.users(conn, user_id=user_id)
        if not items:
            raise ApiError(404, "not_found", "用户不存在")
        await grants.check_manage(conn, context.caller(request), user_id)
        await reset_password(
            conn, context.settings(request).web, user_id, items[0]["username"], password
        )
    context.audit(request, user_id=user_id)
    return json_response({"id": user_id, "must_change_password": True})


async def list_roles(request: web.Request) -> web.Response:
    async with context.pool(request).acquire() as conn:
        rows = await queries.roles(conn)
    return json_response({"roles": rows, "permissions": dict(PERMISSIONS)})


def _log_filter(request: web.Request) -> tuple[Paging, datetime, datetime, str | None]:
    """What both log lists take: the page, the time window (default the last 7 days, at
    most 366) and the user name."""
    q = request.query
    page = paging(q, context.settings(request).web.page_size_max)
    start, end = time_window(q, timedelta(days=7), timedelta(days=366))
    return page, start, end, opt_str(q, "username", max_len=64)


async def login_log(request: web.Request) -> web.Response:
    page, start, end, username = _log_filter(request)
    success = opt_bool(request.query, "success")
    async with context.pool(request).acquire() as conn:
        items, total = await queries.login_log(
            conn, start, end, username, success, page.limit, page.offset
        )
    return json_response(page.wrap(items, total))


async def operation_log(request: web.Request) -> web.Response:
    page, start, end, username = _log_filter(request)
    async with context.pool(request).acquire() as conn:
        items, total = await queries.operation_log(
            conn, start, end, username, page.limit, page.offset
        )
    return json_response(page.wrap(items, total))
