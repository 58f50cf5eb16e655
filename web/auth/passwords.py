"""Password hashing (argon2id) and the password policy (web.password_*)."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from web.settings import WebSettings

__all__ = ["check_policy", "hash_password", "is_expired", "needs_rehash", "verify_password"]

_HASHER = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
#: Verified against when the user does not exist, so timing does not tell names apart.
_DUMMY_HASH = _HASHER.hash("envgrid-no-such-user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def check_policy(password: str, settings: WebSettings, *, username: str = "") -> list[str]:
    """The policy rules ``password`` breaks, as Chinese messages (empty: acceptable)."""
    problems = []
    if len(password) < settings.password_min_length:
        problems.append(f"密码长度至少 {settings.password_min_length} 位")
    if len(password) > 128:
        problems.append("密码长度不能超过 128 位")
    if settings.password_require_letters_digits and not (
        any(c.isascii() and c.isalpha() for c in password) and any(c.isdigit() for c in password)
    ):
        problems.append("密码必须同时包含字母和数字")
    if username and password.lower() == username.lower():
        problems.append("密码不能与用户名相同")
    return problems


def is_expired(changed_at: datetime, now: datetime, settings: WebSettings) -> bool:
    days = settings.password_expiry_days
    return days > 0 and now - changed_at > timedelta(days=days)
