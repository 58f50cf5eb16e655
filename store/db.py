"""asyncpg connections and pools with the project's codecs and session settings.

``json``/``jsonb`` are (de)serialised with orjson in binary format, so they also work in
``copy_records_to_table``.  ``application_name`` and ``statement_timeout`` travel in the
startup packet: they survive the pool's ``RESET ALL`` on release.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg
import orjson

__all__ = [
    "CONNECTION_ERRORS",
    "connect",
    "create_pool",
    "quote_ident",
    "register_codecs",
    "server_settings",
]

_JSONB_VERSION: Final = b"\x01"

#: Errors that mean "the database is not there", as opposed to "this statement is bad".
CONNECTION_ERRORS: Final[tuple[type[BaseException], ...]] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionFailureError,
    TimeoutError,
    ConnectionError,
)

def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier — for DDL, whose names cannot be bind
    parameters (``CREATE DATABASE``); everything else goes through ``$n`` parameters."""
    if not name or "\x00" in name:
        raise ValueError(f"not a usable SQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


ConnectionInit = Callable[[asyncpg.Connection], Awaitable[None]]


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def register_codecs(conn: asyncpg.Connection) -> None:
    """Python objects <-> ``json``/``jsonb`` via orjson (binary wire format)."""
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=orjson.dumps, decoder=orjson.loads, format="binary"
    )


def server_settings(
    application_name: str, statement_timeout_ms: int | None = None
) -> dict[str, str]:
    settings = {"application_name": application_name}
    if statement_timeout_ms:
        settings["statement_timeout"] = str(statement_timeout_ms)
    return settings


async def create_pool(
    dsn: str,
    *,
    min_size: int,
    max_size: int,
    application_name: str = "envgrid",
    statement_timeout_ms: int | None = None,
    connect_timeout_s: float = 10.0,
    init: ConnectionInit | None = None,
    **kw: Any,
) -> asyncpg.Pool:
    """An open pool on ``dsn``; every connection has the codecs and session settings.

    ``init`` runs after the codecs are registered; other keyword arguments go to
    :func:`asyncpg.create_pool`.  Close it with ``await pool.close()``.
    """

    async def _init(conn: asyncpg.Connection) -> None:
        await register_codecs(conn)
        if init is not None:
            await init(conn)

    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init,
        timeout=connect_timeout_s,
        server_settings=server_settings(application_name, statement_timeout_ms),
        **kw,
    )


async def connect(
    dsn: str,
    *,
    application_name: str = "envgrid",
    statement_timeout_ms: int | None = None,
    connect_timeout_s: float = 10.0,
    **kw: Any,
) -> asyncpg.Connection:
    """One connection with the project's codecs, for CLI commands and one-off jobs."""
    conn = await asyncpg.connect(
        dsn,
        timeout=connect_timeout_s,
        server_settings=server_settings(application_name, statement_timeout_ms),
        **kw,
    )
    try:
        await register_codecs(conn)
    except BaseException:
        await conn.close()
        raise
    return conn
