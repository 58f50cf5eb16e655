"""What the web tests (tests/web) and the case tests' web side (tests/web/casework) share: the
log-in password, the app's test settings, and dashboard users with their API tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import asyncpg

from envgrid.settings import Settings, load_settings
from web.auth.passwords import hash_password
from web.auth.service import TOKEN_PREFIX, digest, new_token

PASSWORD: Final = "Secret123"
_HASH: list[str] = []

INSERT_USER: Final = """
INSERT INTO web_users (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4)
RETURNING id
"""
INSERT_SCOPE: Final = "INSERT INTO web_user_scopes (user_id, area_id) VALUES ($1, $2)"
INSERT_TOKEN: Final = """
INSERT INTO web_api_tokens (user_id, name, token_hash, prefix) VALUES ($1, 'test', $2, $3)
"""


def password_hash() -> str:
    """The hash of :data:`PASSWORD`, computed once (argon2 is deliberately slow)."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def app_settings(dsn: str, data_dir: Path, overrides: Mapping[str, Any]) -> Settings:
    """Settings for the app under test (any port, no map cache, fast live updates)."""
    values: dict[str, Any] = {
        "database.dsn": dsn,
        "core.data_dir": str(data_dir),
        "web.port": 0,
        "web.map_cache_s": 0,
        "web.live_interval_s": 0.2,
        # the test webhook receivers listen on loopback (alerts.notifiers.targets)
        "alerts.webhook_allowed_networks": ["127.0.0.0/8"],
    }
    values.update(overrides)
    return load_settings(None, {}, values, discover=False)


async def add_login(
    conn: asyncpg.Connection, username: str, role: str, areas: Iterable[int] = ()
) -> tuple[int, str]:
    """A dashboard user (password :data:`PASSWORD`) scoped to ``areas`` (ids), with an API
    token; returns (user id, token)."""
    uid = int(await conn.fetchval(INSERT_USER, username, f"{username} 用户", password_hash(), role))
    for area in areas:
        await conn.execute(INSERT_SCOPE, uid, area)
    token = TOKEN_PREFIX + new_token()
    await conn.execute(INSERT_TOKEN, uid, digest(token), token[:10])
    return uid, token
