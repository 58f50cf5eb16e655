"""Account management shared by the API and ``envgrid user``."""

from __future__ import annotations

import re
from collections.abc import Sequence

import asyncpg

from web.auth import queries as auth_queries
from web.auth.passwords import check_policy, hash_password
from web.settings import WebSettings

from . import queries

__all__ = ["UserError", "create_user", "reset_password", "resolve_scope", "set_user_scope"]

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


class UserError(ValueError):
    """The account change is not possible; the message (Chinese) says why."""

    def __init__(self, message: str, code: str = "bad_user") -> None:
        super().__init__(message)
        self.code = code


async def resolve_scope(conn: asyncpg.Connection, refs: Sequence[str]) -> list[int]:
    """Area references (id, code or name) → area ids; unknown references are errors."""
    if not refs:
        return []
    found = await queries.areas_by_ref(conn, list(refs))
    known = {str(a["id"]) for a in found} | {a["code"] for a in found} | {a["name"] for a in found}
    missing = [r for r in refs if r not in known]
    if missing:
        raise UserError(f"区域或网格不存在：{', '.join(missing)}", "unknown_area")
    return sorted({a["id"] for a in found})


async def set_user_scope(conn: asyncpg.Connection, user_id: int, area_ids: list[int]) -> None:
    missing = await queries.missing_areas(conn, area_ids)
    if missing:
        raise UserError(f"区域或网格不存在：{', '.join(map(str, missing))}", "unknown_area")
    await queries.set_scope(conn, user_id, sorted(set(area_ids)))


async def create_user(
    conn: asyncpg.Connection,
    settings: WebSettings,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    phone: str = "",
    scope: Sequence[int] = (),
    must_change_password: bool = False,
) -> int:
    if not USERNAME_RE.match(username):
        raise UserError("用户名应为 2-64 位字母、数字或 _ . @ -")
    if not await queries.role_exists(conn, role):
        raise UserError(f"角色不存在：{role}", "unknown_role")
    problems = check_policy(password, settings, username=username)
    if problems:
        raise UserError("；".join(problems), "weak_password")
    async with conn.transaction():
        if await queries.user_id_by_name(conn, username) is not None:
            raise UserError(f"用户名已存在：{username}", "user_exists")
        user_id = await queries.insert_user(
            conn,
            username=username,
            display_name=display_name,
            phone=phone,
            password_hash=hash_password(password),
            role=role,
            must_change_password=must_change_password,
        )
        await set_user_scope(conn, user_id, list(scope))
    return user_id


async def reset_password(
    conn: asyncpg.Connection,
    settings: WebSettings,
    user_id: int,
    username: str,
    password: str,
    *,
    must_change: bool = True,
) -> None:
    problems = check_policy(password, settings, username=username)
    if problems:
        raise UserError("；".join(problems), "weak_password")
    async with conn.transaction():
        await auth_queries.set_password(
            conn, user_id, hash_password(password), must_change=must_change
        )
        await auth_queries.end_user_access(conn, user_id)
