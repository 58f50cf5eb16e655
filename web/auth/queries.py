"""SQL of the auth module: accounts for log-in, sessions, the TOTP second factor and the
log-ins awaiting their code, API tokens, the two logs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg

USER_FOR_LOGIN_SQL: Final = """
SELECT id, username, password_hash, enabled, locked_until, failed_logins,
       EXISTS (SELECT 1 FROM web_user_totp t
               WHERE t.user_id = web_users.id AND t.confirmed_at IS NOT NULL) AS totp
FROM web_users WHERE lower(username) = lower($1)
"""
LOGIN_FAILED_SQL: Final = """
UPDATE web_users SET
    failed_logins = failed_logins + 1,
    locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + $3::interval
                        ELSE locked_until END
WHERE id = $1
RETURNING failed_logins, locked_until
"""
LOGIN_OK_SQL: Final = """
UPDATE web_users SET failed_logins = 0, locked_until = NULL, last_login_at = now(),
                     last_login_ip = $2
WHERE id = $1
"""
SET_PASSWORD_SQL: Final = """
UPDATE web_users SET password_hash = $2, password_changed_at = now(),
    must_change_password = $3, failed_logins = 0, locked_until = NULL, updated_at = now()
WHERE id = $1
"""
INSERT_LOGIN_LOG_SQL: Final = """
INSERT INTO envgrid_audit.web_login_log (username, user_id, ip, user_agent, success, reason)
VALUES ($1, $2, $3, $4, $5, $6)
"""
INSERT_SESSION_SQL: Final = """
INSERT INTO web_sessions (token_hash, user_id, csrf_token, expires_at, ip, user_agent)
VALUES ($1, $2, $3, now() + $4::interval, $5, $6)
"""
#: The principal behind a session cookie ($3 = 'session': valid, not idle for $2) or an API
#: token ($3 = 'token': valid, not revoked), the account enabled.  The row found is touched
#: (last_seen_at / last_used_at) at most every 30 s, so most requests stay read-only: no
#: write, no commit to wait for.  The branch of the other kind is cut by its constant
#: condition on $3.
PRINCIPAL_SQL: Final = """
WITH s AS (
    SELECT token_hash, user_id, csrf_token, last_seen_at FROM web_sessions
    WHERE $3::text = 'session' AND token_hash = $1 AND expires_at > now()
      AND last_seen_at > now() - $2::interval
), t AS (
    SELECT id, user_id, last_used_at FROM web_api_tokens
    WHERE $3::text = 'token' AND token_hash = $1 AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > now())
), touch_session AS (
    UPDATE web_sessions w SET last_seen_at = now()
    FROM s WHERE w.token_hash = s.token_hash AND s.last_seen_at < now() - interval '30 seconds'
    RETURNING w.token_hash
), touch_token AS (
    UPDATE web_api_tokens k SET last_used_at = now()
    FROM t WHERE k.id = t.id
      AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '30 seconds')
    RETURNING k.id
), who AS (
    SELECT user_id, csrf_token FROM s
    UNION ALL
    SELECT user_id, '' FROM t
)
SELECT u.id, u.username, u.display_name, u.role, r.permissions, u.must_change_password,
       u.password_changed_at, who.csrf_token,
       EXISTS (SELECT 1 FROM web_user_totp t
               WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS totp,
       (SELECT array_agg(us.area_id ORDER BY us.area_id) FROM web_user_scopes us
         WHERE us.user_id = u.id) AS scope,
       (SELECT array_agg(a.name ORDER BY a.id) FROM web_user_scopes us
          JOIN areas a ON a.id = us.area_id WHERE us.user_id = u.id) AS scope_labels
FROM who JOIN web_users u ON u.id = who.user_id JOIN web_roles r ON r.name = u.role
WHERE u.enabled
"""
DELETE_SESSION_SQL: Final = "DELETE FROM web_sessions WHERE token_hash = $1"
#: The end of a user's access after a password change or reset, or when the account is
#: disabled: every session goes, every API token is revoked.
END_USER_ACCESS_SQL: Final = """
WITH sessions AS (DELETE FROM web_sessions WHERE user_id = $1)
UPDATE web_api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL
"""
PURGE_SESSIONS_SQL: Final = """
WITH challenges AS (DELETE FROM web_login_challenges WHERE expires_at < now())
DELETE FROM web_sessions WHERE expires_at < now()
"""
PASSWORD_HASH_SQL: Final = "SELECT password_hash FROM web_users WHERE id = $1"

INSERT_CHALLENGE_SQL: Final = """
INSERT INTO web_login_challenges (token_hash, user_id, expires_at)
VALUES ($1, $2, now() + $3::interval)
"""
#: The log-in awaiting its code behind a challenge token (unexpired), with the account and
#: its confirmed authenticator.
CHALLENGE_SQL: Final = """
SELECT c.user_id, u.username, u.enabled, u.locked_until, t.secret_sealed
FROM web_login_challenges c
JOIN web_users u ON u.id = c.user_id
JOIN web_user_totp t ON t.user_id = c.user_id AND t.confirmed_at IS NOT NULL
WHERE c.token_hash = $1 AND c.expires_at > now()
"""
DELETE_CHALLENGE_SQL: Final = "DELETE FROM web_login_challenges WHERE token_hash = $1"
TOTP_STATE_SQL: Final = """
SELECT secret_sealed, confirmed_at, last_step FROM web_user_totp WHERE user_id = $1
"""
#: Start (or restart) an enrolment: a new secret, unconfirmed — not over a confirmed one.
START_TOTP_SQL: Final = """
INSERT INTO web_user_totp (user_id, secret_sealed) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = now()
WHERE web_user_totp.confirmed_at IS NULL
RETURNING user_id
"""
CONFIRM_TOTP_SQL: Final = """
UPDATE web_user_totp SET confirmed_at = now(), last_step = $2
WHERE user_id = $1 AND confirmed_at IS NULL AND secret_sealed = $3
RETURNING user_id
"""
#: Take a time step for a log-in: only a step later than the last one taken (one row
#: update, so two log-ins racing with the same code cannot both win).
USE_TOTP_STEP_SQL: Final = """
UPDATE web_user_totp SET last_step = $2
WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2
RETURNING user_id
"""

INSERT_TOKEN_SQL: Final = """
INSERT INTO web_api_tokens (user_id, name, token_hash, prefix, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, prefix, created_at, expires_at, last_used_at, revoked_at
"""
LIST_TOKENS_SQL: Final = """
SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at
FROM web_api_tokens WHERE user_id = $1 ORDER BY id
"""
REVOKE_TOKEN_SQL: Final = """
UPDATE web_api_tokens SET revoked_at = now()
WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
RETURNING id
"""
#: The only way audit rows leave (migration 0049): rows older than $1 days, $1 ≥ 180.
PURGE_AUDIT_SQL: Final = """
SELECT login_rows, operation_rows FROM envgrid_audit.purge_older_than($1)
"""
#: The audit logs live in the schema envgrid_audit, append-only (migration 0049).
INSERT_OPERATION_SQL: Final = """
INSERT INTO envgrid_audit.web_operation_log (user_id, username, ip, method, path, action,
                                             target, status, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


async def user_for_login(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(USER_FOR_LOGIN_SQL, username)


async def login_failed(
    conn: asyncpg.Connection, user_id: int, lockout_count: int, lockout_s: int
) -> asyncpg.Record | None:
    """Count a failed attempt of ``user_id`` (None back when no such user: the same
    statement runs for unknown names, so their refusal takes the same time)."""
    return await conn.fetchrow(
        LOGIN_FAILED_SQL, user_id, lockout_count, timedelta(seconds=lockout_s)
    )


async def login_ok(conn: asyncpg.Connection, user_id: int, ip: str | None) -> None:
    await conn.execute(LOGIN_OK_SQL, user_id, ip)


async def set_password(
    conn: asyncpg.Connection, user_id: int, password_hash: str, *, must_change: bool
) -> None:
    await conn.execute(SET_PASSWORD_SQL, user_id, password_hash, must_change)


async def password_hash(conn: asyncpg.Connection, user_id: int) -> str | None:
    hashed: str | None = await conn.fetchval(PASSWORD_HASH_SQL, user_id)  # a text column
    return hashed


async def log_login(
    conn: asyncpg.Connection,
    *,
    username: str,
    user_id: int | None,
    ip: str | None,
    user_agent: str | None,
    success: bool,
    reason: str,
) -> None:
    await conn.execute(
        INSERT_LOGIN_LOG_SQL, username[:64], user_id, ip, (user_agent or "")[:300], success, reason
    )


async def create_session(
    conn: asyncpg.Connection,
    *,
    token_hash: bytes,
    user_id: int,
    csrf_token: str,
    lifetime_s: int,
    ip: str | None,
    user_agent: str | None,
) -> None:
    await conn.execute(
        INSERT_SESSION_SQL,
        token_hash,
        user_id,
        csrf_token,
        timedelta(seconds=lifetime_s),
        ip,
        (user_agent or "")[:300],
    )


async def session_principal(
    conn: asyncpg.Connection, token_hash: bytes, idle_s: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(PRINCIPAL_SQL, token_hash, timedelta(seconds=idle_s), "session")


async def token_principal(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(PRINCIPAL_SQL, token_hash, None, "token")


async def delete_session(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute(DELETE_SESSION_SQL, token_hash)


async def end_user_access(conn: asyncpg.Connection, user_id: int) -> None:
    """Delete the user's sessions and revoke their API tokens (:data:`END_USER_ACCESS_SQL`)."""
    await conn.execute(END_USER_ACCESS_SQL, user_id)


async def purge_sessions(conn: asyncpg.Connection) -> None:
    await conn.execute(PURGE_SESSIONS_SQL)


async def create_challenge(
    conn: asyncpg.Connection, token_hash: bytes, user_id: int, lifetime_s: int
) -> None:
    await conn.execute(INSERT_CHALLENGE_SQL, token_hash, user_id, timedelta(seconds=lifetime_s))


async def challenge(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(CHALLENGE_SQL, token_hash)


async def delete_challenge(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute(DELETE_CHALLENGE_SQL, token_hash)


async def totp_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(TOTP_STATE_SQL, user_id)


async def start_totp(conn: asyncpg.Connection, user_id: int, sealed: str) -> bool:
    """False when the user already has a confirmed authenticator."""
    return await conn.fetchval(START_TOTP_SQL, user_id, sealed) is not None


async def confirm_totp(conn: asyncpg.Connection, user_id: int, step: int, sealed: str) -> bool:
    """Confirm the enrolment of the secret ``sealed`` (not one a later enrolment replaced)."""
    return await conn.fetchval(CONFIRM_TOTP_SQL, user_id, step, sealed) is not None


async def use_totp_step(conn: asyncpg.Connection, user_id: int, step: int) -> bool:
    """False when ``step`` is not later than the last step taken (a replayed code)."""
    return await conn.fetchval(USE_TOTP_STEP_SQL, user_id, step) is not None


async def purge_audit(conn: asyncpg.Connection, keep_days: int) -> tuple[int, int]:
    """Delete log-in and operation log rows older than ``keep_days`` days (the database
    refuses fewer than 180): return how many of each went."""
    row = await conn.fetchrow(PURGE_AUDIT_SQL, keep_days)
    assert row is not None
    return int(row["login_rows"]), int(row["operation_rows"])


async def create_token(
    conn: asyncpg.Connection,
    *,
    user_id: int,
    name: str,
    token_hash: bytes,
    prefix: str,
    expires_at: datetime | None,
) -> dict[str, Any]:
    row = await conn.fetchrow(INSERT_TOKEN_SQL, user_id, name, token_hash, prefix, expires_at)
    assert row is not None
    return dict(row)


async def list_tokens(conn: asyncpg.Connection, user_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(LIST_TOKENS_SQL, user_id)]


async def revoke_token(conn: asyncpg.Connection, token_id: int, user_id: int) -> bool:
    return await conn.fetchval(REVOKE_TOKEN_SQL, token_id, user_id) is not None


async def log_operation(
    conn: asyncpg.Connection,
    *,
    user_id: int | None,
    username: str,
    ip: str | None,
    method: str,
    path: str,
    action: str,
    target: str,
    status: int,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        INSERT_OPERATION_SQL,
        user_id,
        username,
        ip,
        method,
        path[:300],
        action,
        target[:200],
        status,
        detail,
    )
