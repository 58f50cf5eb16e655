"""Log-in with lock-out, sessions and API tokens — the logic between handlers and SQL.

Theory of operation
-------------------
* Log-in: the account is looked up case-insensitively; a locked account
  (``locked_until`` in the future) is refused *before* the password is checked, so a
  locked account cannot be brute-forced; a wrong password increments
  ``failed_logins`` and locks the account for ``web.lockout_s`` once it reaches
  ``web.lockout_count`` (one UPDATE, so concurrent attempts count correctly); success
  resets the counter.  Every attempt is written to ``web_login_log`` (who, when, from
  where, why it failed).  Unknown names verify against a dummy hash (same timing).
* Sessions: the cookie carries 32 random bytes (urlsafe base64); the database keeps their
  SHA-256 only, with a per-session CSRF token, an absolute expiry
  (``web.session_lifetime_s``) and an idle limit (``web.session_idle_s``).  A password
  change or reset ends the user's other sessions.
* API tokens: ``eg_<random>``; only the SHA-256 is stored, and the first characters
  (``prefix``) to tell them apart in the list.  Token requests are not CSRF-checked
  (no ambient credentials).
"""

from __future__ import annotations

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
    if user is None:
        verify_password(None, password)
        result = LoginResult(False, "bad_credentials")
    elif user["locked_until"] is not None and user["locked_until"] > now:
        result = LoginResult(False, "locked", user["id"], locked_until=user["locked_until"])
    elif not verify_password(user["password_hash"], password):
        row = await queries.login_failed(
            conn, user["id"], settings.lockout_count, settings.lockout_s
        )
        locked = row["locked_until"] is not None and row["locked_until"] > now
        result = LoginResult(
            False,
            "locked" if locked else "bad_credentials",
            user["id"],
            locked_until=row["locked_until"] if locked else None,
        )
    elif not user["enabled"]:
        result = LoginResult(False, "disabled", user["id"])
    else:
        token, csrf = new_token(), new_token()
        async with conn.transaction():
            await queries.login_ok(conn, user["id"], ip)
            if needs_rehash(user["password_hash"]):
                await queries.set_password(
                    conn, user["id"], hash_password(password), must_change=False
                )
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
