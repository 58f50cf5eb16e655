"""What a user manager may give: only what they hold, within their own data scope.

* A role may be given (to a new account, by a role change, or through a grid person
  linked to an account) only when the caller holds every permission of it
  (:meth:`web.permissions.Principal.can_grant`; ``*`` only by ``*``).
* A scoped caller gives only scopes inside their own subtrees, and never "no scope"
  (an account without scope rows sees everything).  An unscoped caller gives any scope.
* An existing account may be changed (role, scope, password, enabled, …) only when its
  present role and scope are themselves within the caller's — so nobody can take over
  or reshape an account above them, and nobody can widen their own role or scope.

Every refusal is a 403 with a Chinese message saying which rule it broke.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from web.permissions import Principal
from web.responses import ApiError

from . import queries

__all__ = ["check_link", "check_manage", "check_role", "check_scope"]


async def _scope_problem(
    conn: asyncpg.Connection, caller: Principal, scope: Sequence[int]
) -> str | None:
    """Why ``scope`` (area ids; empty = unrestricted) is beyond the caller's, or None."""
    if caller.scope is None:
        return None
    if not scope:
        return "您的数据范围受限，不能授予或管理不限范围的账号，请指定您数据范围内的区域或网格"
    outside = await queries.outside_scope(conn, sorted(set(scope)), list(caller.scope))
    if outside:
        return f"区域或网格不在您的数据范围内：{', '.join(map(str, outside))}"
    return None


async def check_role(conn: asyncpg.Connection, caller: Principal, role: str) -> None:
    """403 unless the caller holds every permission of ``role`` (400 for an unknown role)."""
    permissions = await queries.role_permissions(conn, role)
    if permissions is None:
        raise ApiError(400, "unknown_role", f"角色不存在：{role}")
    if not caller.can_grant(permissions):
        raise ApiError(403, "grant_forbidden", f"不能授予超出您自身权限的角色：{role}", role=role)


async def check_scope(conn: asyncpg.Connection, caller: Principal, scope: Sequence[int]) -> None:
    """403 unless ``scope`` lies within the caller's data scope."""
    problem = await _scope_problem(conn, caller, scope)
    if problem is not None:
        raise ApiError(403, "out_of_scope", problem, parameter="scope")


async def check_manage(conn: asyncpg.Connection, caller: Principal, user_id: int) -> None:
    """403 unless the account's present role and scope are within the caller's (404 when
    there is no such account)."""
    held = await queries.holding(conn, user_id=user_id)
    if held is None:
        raise ApiError(404, "not_found", "用户不存在")
    if not caller.can_grant(held["permissions"]):
        raise ApiError(
            403,
            "grant_forbidden",
            f"该用户的角色（{held['role_title']}）超出您自身的权限，不能修改",
        )
    problem = await _scope_problem(conn, caller, held["scope"])
    if problem is not None:
        raise ApiError(403, "out_of_scope", f"该用户的数据范围超出您的范围，不能修改（{problem}）")


async def check_link(
    conn: asyncpg.Connection, caller: Principal, username: str, workflow_role: str
) -> None:
    """403 unless the caller may tie a grid person of ``workflow_role`` (named as the web
    role of the same name) to the account ``username``: both roles within the caller's
    permissions, the account's scope within the caller's.  An unknown account is left to
    the database's reference check."""
    wanted = await queries.role_permissions(conn, workflow_role)
    if wanted is None or not caller.can_grant(wanted):
        raise ApiError(
            403, "grant_forbidden", f"不能关联或设置超出您自身权限的人员角色：{workflow_role}"
        )
    held = await queries.holding(conn, username=username)
    if held is None:
        return
    if not caller.can_grant(held["permissions"]):
        raise ApiError(
            403,
            "grant_forbidden",
            f"账号 {held['username']} 的角色（{held['role_title']}）超出您自身的权限，不能关联",
        )
    problem = await _scope_problem(conn, caller, held["scope"])
    if problem is not None:
        raise ApiError(403, "out_of_scope", f"账号 {held['username']} 的数据范围超出您的范围")
