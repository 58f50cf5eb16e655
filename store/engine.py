"""Which storage engine the database offers: TimescaleDB, or plain PostgreSQL ≥ 15.

The choice is sticky: once migrations have been applied for an engine (recorded in
``schema_migrations.engine``), that engine is kept even if TimescaleDB is installed or
removed later, because the two schemas differ (hypertables and continuous aggregates
versus native partitions and rollup tables).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import asyncpg

__all__ = [
    "MIN_SERVER_VERSION_NUM",
    "Engine",
    "EngineError",
    "EngineInfo",
    "detect_engine",
    "recorded_engine",
]

log = logging.getLogger(__name__)

MIN_SERVER_VERSION_NUM: Final = 150000


class Engine(StrEnum):
    TIMESCALEDB = "timescaledb"
    POSTGRESQL = "postgresql"


class EngineError(RuntimeError):
    """The server cannot host envgrid as it is; the message says what to change."""


@dataclass(frozen=True, slots=True)
class EngineInfo:
    engine: Engine
    server_version: str
    timescaledb_version: str | None
    server_version_num: int = 0
    #: Why this engine was chosen when TimescaleDB exists but is not used ("" otherwise).
    note: str = ""

    def describe(self) -> str:
        if self.engine is Engine.TIMESCALEDB:
            return f"PostgreSQL {self.server_version} + TimescaleDB {self.timescaledb_version}"
        text = f"PostgreSQL {self.server_version} (native partitions and rollup tables)"
        return f"{text}; {self.note}" if self.note else text


async def recorded_engine(conn: asyncpg.Connection) -> Engine | None:
    """The engine the database was migrated for, or None if it has no migrations yet."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None
    value = await conn.fetchval("SELECT engine FROM schema_migrations ORDER BY version LIMIT 1")
    return Engine(value) if value is not None else None


async def detect_engine(conn: asyncpg.Connection, *, try_create: bool = True) -> EngineInfo:
    """Detect (and with ``try_create``, enable) TimescaleDB; otherwise plain PostgreSQL.

    Raises :class:`EngineError` for a server older than PostgreSQL 15, or a database set up
    for TimescaleDB on a server that no longer has it.
    """
    version_num = int(await conn.fetchval("SHOW server_version_num"))
    version = str(await conn.fetchval("SHOW server_version")).split()[0]
    if version_num < MIN_SERVER_VERSION_NUM:
        raise EngineError(
            f"PostgreSQL {version} is too old: envgrid needs PostgreSQL 15 or newer"
            " (upgrade the server, or unset database.dsn to use the embedded cluster)"
        )

    def plain(note: str = "") -> EngineInfo:
        return EngineInfo(Engine.POSTGRESQL, version, None, version_num, note)

    recorded = await recorded_engine(conn)
    installed: str | None = await conn.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    )
    available: str | None = await conn.fetchval(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    )

    if recorded is Engine.POSTGRESQL:
        return plain(
            "TimescaleDB is installed but this database was set up without it"
            if installed or available
            else ""
        )

    note = ""
    if installed is None and available is not None and try_create:
        try:
            async with conn.transaction():
                await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except asyncpg.PostgresError as exc:
            note = f"TimescaleDB {available} is installed but cannot be enabled ({exc})"
            if "preload" in str(exc):
                note += "; add timescaledb to shared_preload_libraries and restart the server"
            log.warning("%s; using plain PostgreSQL", note)
        else:
            installed = await conn.fetchval(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            )
            log.info("enabled the TimescaleDB extension %s", installed)

    if installed is not None:
        license_ = await conn.fetchval("SELECT current_setting('timescaledb.license', true)")
        if license_ == "apache" and recorded is None:
            note = (
                f"TimescaleDB {installed} is the Apache-2 build, without continuous aggregates"
                " and compression; install the community build to use it"
            )
            log.warning("%s; using plain PostgreSQL", note)
            return plain(note)
        info = EngineInfo(Engine.TIMESCALEDB, version, installed, version_num)
        log.info("storage engine: %s", info.describe())
        return info

    if recorded is Engine.TIMESCALEDB:
        raise EngineError(
            "this database was set up for TimescaleDB, but the timescaledb extension is"
            + (" not enabled" if available else " not installed on this server")
            + f" ({note or 'pg_available_extensions has no timescaledb'}); install/enable it"
        )
    info = plain(note)
    log.info("storage engine: %s", info.describe())
    return info
