"""SQL of the users module (accounts, roles, scopes, logs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

USER_COLUMNS_SQL: Final = """
SELECT u.id, u.username, u.display_name, u.phone, u.role, r.title_zh AS role_title, u.enabled,
       u.must_change_password, u.password_changed_at, u.failed_logins, u.locked_until,
       u.last_login_at, u.last_login_ip, u.created_at, u.updated_at,
       COALESCE((SELECT array_agg(us.area_id ORDER BY us.area_id) FROM web_user_scopes us
                  WHERE us.user_id = u.id), '{}') AS scope,
       COALESCE((SELECT json_agg(json_build_object('id', r.id, 'name', r.name, 'kind', r.kind,
                                                   'enabled', r.enabled) ORDER BY r.name)
                   FROM alert_receivers r WHERE r.user_id = u.id), '[]') AS receivers,
       count(*) OVER () AS total
FROM web_users u JOIN web_roles r ON r.name = u.role
WHERE ($1::int IS NULL OR u.id = $1)
  AND ($2::text IS NULL OR strpos(lower(u.username), lower($2)) > 0
                        OR strpos(lower(u.display_name), lower($2)) > 0)
  AND ($3::text IS NULL OR u.role = $3)
  AND ($6::int[] IS NULL
       OR (EXISTS (SELECT 1 FROM web_user_scopes us WHERE us.user_id = u.id)
           AND NOT EXISTS (SELECT 1 FROM web_user_scopes us WHERE us.user_id = u.id
                             AND us.area_id NOT IN (SELECT id FROM envgrid_scope_areas($6)))))
ORDER BY u.id
LIMIT $4 OFFSET $5
"""
INSERT_USER_SQL: Final = """
INSERT INTO web_users (username, display_name, phone, password_hash, role, must_change_password)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""
UPDATE_USER_SQL: Final = """
UPDATE web_users SET
    display_name = COALESCE($2, display_name), phone = COALESCE($3, phone),
    role = COALESCE($4, role), enabled = COALESCE($5, enabled),
    failed_logins = CASE WHEN $6 THEN 0 ELSE failed_logins END,
    locked_until = CASE WHEN $6 THEN NULL ELSE locked_until END,
    must_change_password = COALESCE($7, must_change_password),
    updated_at = now()
WHERE id = $1
RETURNING id
"""
USER_BY_NAME_SQL: Final = "SELECT id FROM web_users WHERE lower(username) = lower($1)"
DELETE_SCOPES_SQL: Final = "DELETE FROM web_user_scopes WHERE user_id = $1"
INSERT_SCOPES_SQL: Final = """
INSERT INTO web_user_scopes (user_id, area_id) SELECT $1, unnest($2::int[])
"""
AREAS_BY_REF_SQL: Final = """
SELECT id, code, name FROM areas WHERE code = ANY($1::text[]) OR name = ANY($1::text[])
   OR id::text = ANY($1::text[])
"""
MISSING_AREAS_SQL: Final = """
SELECT x FROM unnest($1::int[]) AS x WHERE x NOT IN (SELECT id FROM areas)
"""
#: Link a user to alert receivers (migration 0031): exactly the receivers $2 are theirs.
UNLINK_RECEIVERS_SQL: Final = """
UPDATE alert_receivers SET user_id = NULL, updated_at = now()
WHERE user_id = $1 AND NOT id = ANY($2::int[])
"""
LINK_RECEIVERS_SQL: Final = """
UPDATE alert_receivers SET user_id = $1, updated_at = now()
WHERE id = ANY($2::int[]) AND user_id IS DISTINCT FROM $1
"""
MISSING_RECEIVERS_SQL: Final = """
SELECT x FROM unnest($1::int[]) AS x WHERE x NOT IN (SELECT id FROM alert_receivers)
"""
ROLE_PERMISSIONS_SQL: Final = "SELECT permissions FROM web_roles WHERE name = $1"
#: What an account holds: its role's permissions and its scope (empty: unrestricted).
HOLDING_SQL: Final = """
SELECT u.id, u.username, u.role, r.title_zh AS role_title, r.permissions,
       COALESCE((SELECT array_agg(us.area_id ORDER BY us.area_id) FROM web_user_scopes us
                  WHERE us.user_id = u.id), '{}') AS scope
FROM web_users u JOIN web_roles r ON r.name = u.role
WHERE u.id = $1 OR lower(u.username) = lower($2)
"""
#: The areas of $1 outside the subtrees of the scope $2.
OUTSIDE_SCOPE_SQL: Final = """
SELECT x FROM unnest($1::int[]) AS x
WHERE x NOT IN (SELECT id FROM envgrid_scope_areas($2::int[]))
ORDER BY x
"""
ROLES_SQL: Final = "SELECT name, title_zh, permissions, builtin FROM web_roles ORDER BY name"
ROLE_EXISTS_SQL: Final = "SELECT EXISTS (SELECT 1 FROM web_roles WHERE name = $1)"
LOGIN_LOG_SQL: Final = """
SELECT id, ts, username, user_id, ip, user_agent, success, reason, count(*) OVER () AS total
FROM envgrid_audit.web_login_log
WHERE ts >= $1 AND ts < $2 AND ($3::text IS NULL OR lower(username) = lower($3))
  AND ($4::boolean IS NULL OR success = $4)
ORDER BY ts DESC, id DESC LIMIT $5 OFFSET $6
"""
OPERATION_LOG_SQL: Final = """
SELECT id, ts, user_id, username, ip, method, path, action, target, status, detail,
       count(*) OVER () AS total
FROM envgrid_audit.web_operation_log
WHERE ts >= $1 AND ts < $2 AND ($3::text IS NULL OR lower(username) = lower($3))
ORDER BY ts DESC, id DESC LIMIT $4 OFFSET $5
"""


def _strip_total(rows: list[asyncpg.Record]) -> tuple[list[dict[str, Any]], int]:
    items, total = [], 0
    for r in rows:
        item = dict(r)
        total = item.pop("total")
        items.append(item)
    return items, int(total)


async def users(
    conn: asyncpg.Connection,
    *,
    user_id: int | None = None,
    q: str | None = None,
    role: str | None = None,
    limit: int = 1000,
    offset: int = 0,
    within: list[int] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The accounts (``within``: only those scoped inside these areas' subtrees)."""
    return _strip_total(await conn.fetch(USER_COLUMNS_SQL, user_id, q, role, limit, offset, within))


async def user_id_by_name(conn: asyncpg.Connection, username: str) -> int | None:
    value = await conn.fetchval(USER_BY_NAME_SQL, username)
    return None if value is None else int(value)


async def insert_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    phone: str,
    password_hash: str,
    role: str,
    must_change_password: bool,
) -> int:
    return int(
        await conn.fetchval(
            INSERT_USER_SQL,
            username,
            display_name,
            phone,
            password_hash,
            role,
            must_change_password,
        )
    )


async def update_user(
    conn: asyncpg.Connection,
    user_id: int,
    *,
    display_name: str | None,
    phone: str | None,
    role: str | None,
    enabled: bool | None,
    unlock: bool,
    must_change_password: bool | None,
) -> bool:
    value = await conn.fetchval(
        UPDATE_USER_SQL,
        user_id,
        display_name,
        phone,
        role,
        enabled,
        unlock,
        must_change_password,
    )
    return value is not None


async def set_scope(conn: asyncpg.Connection, user_id: int, area_ids: list[int]) -> None:
    await conn.execute(DELETE_SCOPES_SQL, user_id)
    if area_ids:
        await conn.execute(INSERT_SCOPES_SQL, user_id, area_ids)


async def areas_by_ref(conn: asyncpg.Connection, refs: list[str]) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(AREAS_BY_REF_SQL, refs)]


async def missing_areas(conn: asyncpg.Connection, area_ids: list[int]) -> list[int]:
    return [r["x"] for r in await conn.fetch(MISSING_AREAS_SQL, area_ids)]


async def set_receivers(conn: asyncpg.Connection, user_id: int, receiver_ids: list[int]) -> None:
    await conn.execute(UNLINK_RECEIVERS_SQL, user_id, receiver_ids)
    if receiver_ids:
        await conn.execute(LINK_RECEIVERS_SQL, user_id, receiver_ids)


async def missing_receivers(conn: asyncpg.Connection, receiver_ids: list[int]) -> list[int]:
    return [r["x"] for r in await conn.fetch(MISSING_RECEIVERS_SQL, receiver_ids)]


async def roles(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(ROLES_SQL)]


async def role_exists(conn: asyncpg.Connection, role: str) -> bool:
    return bool(await conn.fetchval(ROLE_EXISTS_SQL, role))


async def role_permissions(conn: asyncpg.Connection, role: str) -> frozenset[str] | None:
    value = await conn.fetchval(ROLE_PERMISSIONS_SQL, role)
    return None if value is None else frozenset(value)


async def holding(
    conn: asyncpg.Connection, *, user_id: int | None = None, username: str | None = None
) -> dict[str, Any] | None:
    row = await conn.fetchrow(HOLDING_SQL, user_id, username)
    return None if row is None else dict(row)


async def outside_scope(
    conn: asyncpg.Connection, area_ids: list[int], scope: list[int]
) -> list[int]:
    return [r["x"] for r in await conn.fetch(OUTSIDE_SCOPE_SQL, area_ids, scope)]


async def login_log(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    username: str | None,
    success: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    return _strip_total(
        await conn.fetch(LOGIN_LOG_SQL, start, end, username, success, limit, offset)
    )


async def operation_log(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    username: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    return _strip_total(await conn.fetch(OPERATION_LOG_SQL, start, end, username, limit, offset))
