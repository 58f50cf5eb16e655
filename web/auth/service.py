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
* Second factor (TOTP, :mod:`web.auth.totp`): when the password is right and the user
  has a confirmed authenticator, no session is made yet: a log-in challenge (random
  token in a cookie limited to ``/login``, its SHA-256 in ``web_login_challenges``, a few
  minutes) waits for the code.  A wrong or replayed code counts as a failed log-in
  (``failed_logins``, the same lock-out), and the counter is reset only once the code is
  right, so knowing the password does not buy unlimited guesses at the code.  A user
  whose role is in ``web.require_2fa_for`` but who has not enrolled gets a session that
  can only enrol (:attr:`Principal.must_enrol_2fa`, enforced by the auth middleware).
* API tokens: ``eg_<random>``; only the SHA-256 is stored, and the first characters
  (``prefix``) to tell them apart in the list.  Token requests are not CSRF-checked
  (no ambient credentials).  They are not asked for a second factor: a token is made by
  a logged-in session (which passed it), is 32 random bytes that cannot be guessed or
  phished like a password, and can be revoked, expires, and ends with a password change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import asyncpg

from store.secretbox import TOTP_SECRET, SecretBox, SecretBoxError
from web.permissions import Principal
from web.settings import WebSettings

from . import queries
from .passwords import hash_password, is_expired, needs_rehash, verify_password
from .totp import matching_step

__all__ = [
    "TOKEN_PREFIX",
    "LoginResult",
    "complete_login",
    "digest",
    "login",
    "new_token",
    "principal_from_record",
]

log = logging.getLogger("envgrid.web")

TOKEN_PREFIX = "eg_"
#: How long a log-in waits for its TOTP code after the password.
CHALLENGE_S: Final = 300


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    #: machine-readable reason: ok, bad_credentials, locked, disabled; totp_required (the
    #: password was right, the code is awaited: ``challenge_token``); for the code:
    #: bad_totp, replayed_totp, expired (no such log-in waiting), totp_unreadable (the
    #: stored secret does not open with the key file: an operator must reset it)
    reason: str
    user_id: int | None = None
    session_token: str = ""
    csrf_token: str = ""
    locked_until: datetime | None = None
    challenge_token: str = ""


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
        row = await queries.login_failed(conn, counted, settings.lockout_count, settings.lockout_s)
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
        if needs_rehash(user["password_hash"]):
            rehashed = await asyncio.to_thread(hash_password, password)
            await queries.set_password(conn, user["id"], rehashed, must_change=False)
        if user["totp"]:  # the code comes next; failed_logins stays until it is right
            challenge = new_token()
            await queries.create_challenge(conn, digest(challenge), user["id"], CHALLENGE_S)
            result = LoginResult(False, "totp_required", user["id"], challenge_token=challenge)
        else:
            result = await _open_session(conn, settings, user["id"], ip, user_agent)
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


async def _open_session(
    conn: asyncpg.Connection,
    settings: WebSettings,
    user_id: int,
    ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    """The successful end of a log-in: counter reset, last log-in noted, a new session."""
    token, csrf = new_token(), new_token()
    async with conn.transaction():
        await queries.login_ok(conn, user_id, ip)
        await queries.create_session(
            conn,
            token_hash=digest(token),
            user_id=user_id,
            csrf_token=csrf,
            lifetime_s=settings.session_lifetime_s,
            ip=ip,
            user_agent=user_agent,
        )
    return LoginResult(True, "ok", user_id, token, csrf)


async def complete_login(
    conn: asyncpg.Connection,
    settings: WebSettings,
    challenge_token: str,
    code: str,
    *,
    box: SecretBox,
    ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    """The second step of a log-in: the TOTP code for the challenge ``login`` made."""
    key = digest(challenge_token)
    row = await queries.challenge(conn, key) if challenge_token else None
    if row is None:
        return LoginResult(False, "expired")
    now = datetime.now(UTC)
    user_id = row["user_id"]
    locked = row["locked_until"] is not None and row["locked_until"] > now
    try:
        secret = box.open(row["secret_sealed"], TOTP_SECRET)
    except SecretBoxError:
        log.error("the TOTP secret of %s does not open with core.secret_key_file", row["username"])
        secret = None
    step = None if locked or secret is None else matching_step(secret, code, now)
    if secret is None:  # the key file was replaced: not the user's fault, not counted
        await queries.delete_challenge(conn, key)
        result = LoginResult(False, "totp_unreadable", user_id)
    elif not row["enabled"]:
        await queries.delete_challenge(conn, key)
        result = LoginResult(False, "disabled", user_id)
    elif step is not None and await queries.use_totp_step(conn, user_id, step):
        await queries.delete_challenge(conn, key)
        result = await _open_session(conn, settings, user_id, ip, user_agent)
    else:
        failed = await queries.login_failed(
            conn, 0 if locked else user_id, settings.lockout_count, settings.lockout_s
        )
        until = failed["locked_until"] if failed is not None else row["locked_until"]
        if until is not None and until > now:
            await queries.delete_challenge(conn, key)  # back to the password, later
            result = LoginResult(False, "locked", user_id, locked_until=until)
        else:
            reason = "bad_totp" if step is None else "replayed_totp"
            result = LoginResult(False, reason, user_id, challenge_token=challenge_token)
    await queries.log_login(
        conn,
        username=row["username"],
        user_id=user_id,
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
        must_enrol_2fa=(
            via == "session" and row["role"] in settings.require_2fa_for and not row["totp"]
        ),
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
