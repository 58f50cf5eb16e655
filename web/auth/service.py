"""Log-in with lock-out, sessions and API tokens — the logic between handlers and SQL.

Theory of operation
-------------------
* Log-in: the account is looked up case-insensitively; a locked account
  (``locked_until`` in the future) is refused whatever the password, so a locked account
  cannot be brute-forced; a wrong password increments ``failed_logins`` and locks the
  account for ``web.lockout_s`` once it reaches ``web.lockout_count`` (one UPDATE, so
  concurrent attempts count correctly); success resets the counter.  Every attempt is
  written to ``envgrid_audit.web_login_log`` (who, when, from where, why it failed;
  append-only, migration 0049).  An unknown name, a locked account and a wrong password
  get the same answer after the same work (argon2
  against a dummy hash for unknown names, in a worker thread so a burst of log-ins does
  not stall the event loop, and the failed-attempt UPDATE).
* Sessions: the cookie carries 32 random bytes (urlsafe base64); the database keeps their
  SHA-256 only, with a per-session CSRF token, an absolute expiry
  (``web.session_lifetime_s``) and an idle limit (``web.session_idle_s``).  A password
  change or reset ends the user's other sessions.
* API tokens: ``eg_<random>``; only the SHA-256 is stored, and the first characters
  (``prefix``) to tell them apart in the list.  Token requests are not CSRF-checked
  (no ambient credentials).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from web.permissions import Principal
from web.settings import WebSettings

from . import queries
from .passwords import hash_password, is_expired, needs_rehash, verify_password

__all__ = [
    "TOKEN_PREFIX",
    "LoginResult",
    "digest",
    "login",
    "new_token",
    "principal_from_record",
]

TOKEN_PREFIX = "eg_"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    #: machine-readable reason: ok, bad_credentials, locked, disabled
    reason: str
    user_id: int | None = None
    session_token: str = ""
    csrf_token: str = ""
    locked_until: datetime | None = None


async def login(
    conn: asyncpg.Connection,
    settings: WebSettings,
    username: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    user = await queries.user_for_login(conn, username)
    now = datetime.now(UTC)
    locked = user is not None and user["locked_until"] is not None and user["locked_until"] > now
    # The same work on every refusal — one argon2 verification, off the event loop, and one
    # failed-attempt update (a no-op for an unknown name or a locked account) — so neither
    # the answer nor its timing tells an unknown name, a locked account and a wrong
    # password apart.
    stored = user["password_hash"] if user is not None else None
    verified = await asyncio.to_thread(verify_password, stored, password)
    if user is None or locked or not verified:
        counted = user["id"] if user is not None and not locked else 0
        row = await queries.login_failed(
            conn, counted, settings.lockout_count, settings.lockout_s
        )
        if user is None:
            result = LoginResult(False, "bad_credentials")
        else:
            until = row["locked_until"] if row is not None else user["locked_until"]
            now_locked = until is not None and until > now
            result = LoginResult(
                False,
                "locked" if now_locked else "bad_credentials",
                user["id"],
                locked_until=until if now_locked else None,
            )
    elif not user["enabled"]:
        result = LoginResult(False, "disabled", user["id"])
    else:
        token, csrf = new_token(), new_token()
        async with conn.transaction():
            await queries.login_ok(conn, user["id"], ip)
            if needs_rehash(user["password_hash"]):
                rehashed = await asyncio.to_thread(hash_password, password)
                await queries.set_password(conn, user["id"], rehashed, must_change=False)
            await queries.create_session(
                conn,
                token_hash=digest(token),
                user_id=user["id"],
                csrf_token=csrf,
                lifetime_s=settings.session_lifetime_s,
                ip=ip,
                user_agent=user_agent,
            )
        result = LoginResult(True, "ok", user["id"], token, csrf)
    await queries.log_login(
        conn,
        username=username,
        user_id=result.user_id,
        ip=ip,
        user_agent=user_agent,
        success=result.ok,
        reason=result.reason,
    )
    return result


def principal_from_record(row: asyncpg.Record, settings: WebSettings, *, via: str) -> Principal:
    expired = is_expired(row["password_changed_at"], datetime.now(UTC), settings)
    scope = row["scope"]
    return Principal(
        user_id=row["id"],
        username=row["username"],
        display_name=row["display_name"] or row["username"],
        role=row["role"],
        permissions=frozenset(row["permissions"]),
        scope=None if scope is None else tuple(scope),
        via=via,
        csrf_token=row["csrf_token"],
        must_change_password=bool(row["must_change_password"]) or expired,
        scope_labels=tuple(row["scope_labels"] or ()),
    )


async def session_principal(
    conn: asyncpg.Connection, settings: WebSettings, token: str
) -> Principal | None:
    row = await queries.session_principal(conn, digest(token), settings.session_idle_s)
    return None if row is None else principal_from_record(row, settings, via="session")


async def token_principal(
    conn: asyncpg.Connection, settings: WebSettings, token: str
) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = await queries.token_principal(conn, digest(token))
    return None if row is None else principal_from_record(row, settings, via="token")
