"""SQL of the security page: every active session and API token, and the users' second
factors.  No statement returns a session token, an API token or a TOTP secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import asyncpg

#: Sessions neither expired nor idle for longer than $1; ``current``: the caller's own ($2).
ACTIVE_SESSIONS_SQL: Final = """
SELECT s.id, s.user_id, u.username, u.display_name, s.created_at, s.last_seen_at,
       s.expires_at, s.ip, s.user_agent, s.token_hash = $2 AS current
FROM web_sessions s JOIN web_users u ON u.id = s.user_id
WHERE s.expires_at > now() AND s.last_seen_at > now() - $1::interval
ORDER BY s.last_seen_at DESC, s.id DESC
"""
END_SESSION_SQL: Final = """
WITH gone AS (DELETE FROM web_sessions WHERE id = $1 RETURNING token_hash, user_id)
SELECT gone.token_hash, u.username FROM gone JOIN web_users u ON u.id = gone.user_id
"""
ACTIVE_TOKENS_SQL: Final = """
SELECT k.id, k.name, k.user_id, u.username, u.display_name, k.created_at, k.last_used_at,
       k.expires_at
FROM web_api_tokens k JOIN web_users u ON u.id = k.user_id
WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
ORDER BY k.id
"""
REVOKE_TOKEN_SQL: Final = """
WITH gone AS (
    UPDATE web_api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
    RETURNING token_hash, name, user_id
)
SELECT gone.token_hash, gone.name, u.username
FROM gone JOIN web_users u ON u.id = gone.user_id
"""
#: Enabled users with a confirmed authenticator, or whose role requires one ($1).
SECOND_FACTORS_SQL: Final = """
SELECT u.id AS user_id, u.username, u.display_name, u.role, t.confirmed_at,
       u.role = ANY($1::text[]) AS required
FROM web_users u
LEFT JOIN web_user_totp t ON t.user_id = u.id AND t.confirmed_at IS NOT NULL
WHERE u.enabled AND (t.user_id IS NOT NULL OR u.role = ANY($1::text[]))
ORDER BY u.username
"""
#: Remove a user's authenticator (confirmed or pending), their log-ins awaiting a code
#: and their sessions (they log in again and enrol anew); their API tokens stay.
RESET_SECOND_FACTOR_SQL: Final = """
WITH t AS (DELETE FROM web_user_totp WHERE user_id = $1 RETURNING user_id, confirmed_at),
c AS (DELETE FROM web_login_challenges WHERE user_id IN (SELECT user_id FROM t)),
s AS (DELETE FROM web_sessions WHERE user_id IN (SELECT user_id FROM t) RETURNING token_hash)
SELECT u.username, t.confirmed_at, (SELECT array_agg(token_hash) FROM s) AS sessions
FROM t JOIN web_users u ON u.id = t.user_id
"""


async def active_sessions(
    conn: asyncpg.Connection, idle_s: int, current: bytes | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(ACTIVE_SESSIONS_SQL, timedelta(seconds=idle_s), current)
    return [dict(r) for r in rows]


async def end_session(conn: asyncpg.Connection, session_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(END_SESSION_SQL, session_id)


async def active_tokens(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(ACTIVE_TOKENS_SQL)]


async def revoke_token(conn: asyncpg.Connection, token_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(REVOKE_TOKEN_SQL, token_id)


async def second_factors(
    conn: asyncpg.Connection, required_roles: tuple[str, ...]
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SECOND_FACTORS_SQL, list(required_roles))]


async def reset_second_factor(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(RESET_SECOND_FACTOR_SQL, user_id)
