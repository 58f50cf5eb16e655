"""Which storage engine the database offers: TimescaleDB, or plain PostgreSQL ≥ 15.

``database.engine`` chooses: ``auto`` (TimescaleDB when the server offers the extension,
else plain PostgreSQL), ``timescaledb`` (insist: a server without it is a start-up error
that names what to install) or ``postgres`` (never TimescaleDB).  An Apache-only
TimescaleDB build lacks continuous aggregates and compression: envgrid then keeps its own
rollups on plain PostgreSQL tables, with a warning.

The choice is sticky: once migrations have been applied for an engine (recorded in
``schema_migrations.engine``), that engine is kept even if TimescaleDB is installed or
removed later, because the two schemas differ (hypertables and continuous aggregates
versus native partitions and rollup tables); asking for the other one is an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

import asyncpg

__all__ = [
    "ENGINE_CHOICES",
    "MIN_SERVER_VERSION_NUM",
    "Engine",
    "EngineChoice",
    "EngineError",
    "EngineInfo",
    "detect_engine",
    "recorded_engine",
    "timescaledb_preloaded",
]

log = logging.getLogger(__name__)

MIN_SERVER_VERSION_NUM: Final = 150000

#: The values of ``database.engine``.
EngineChoice = Literal["auto", "postgres", "timescaledb"]
ENGINE_CHOICES: Final[tuple[EngineChoice, ...]] = ("auto", "postgres", "timescaledb")
#: What to do when TimescaleDB is wanted but the server lacks it.
INSTALL_HINT: Final = (
    "install the TimescaleDB community build for this PostgreSQL major, add timescaledb to"
    " shared_preload_libraries and restart the server — or set database.engine = 'auto'"
)


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
    #: ``timescaledb.license`` ("timescale" = community build, "apache"), "" without it.
    license: str = ""

    def describe(self) -> str:
        if self.engine is Engine.TIMESCALEDB:
            return (
                f"PostgreSQL {self.server_version} + TimescaleDB {self.timescaledb_version}"
                f" (licence {self.license or 'unknown'})"
            )
        text = f"PostgreSQL {self.server_version} (native partitions and rollup tables)"
        return f"{text}; {self.note}" if self.note else text


#: NULL when the role may not read the setting (neither a superuser nor a member of
#: pg_read_all_settings, as an application role on a managed server usually is).
PRELOADED_SQL: Final = """
SELECT CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                 OR pg_has_role(current_user, 'pg_read_all_settings', 'USAGE')
       THEN 'timescaledb' = ANY(string_to_array(
                replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
       END
"""
NOT_PRELOADED: Final = (
    "timescaledb is not in the server's shared_preload_libraries; add it there and restart"
    " the server (creating the extension without it ends the session)"
)


async def timescaledb_preloaded(conn: asyncpg.Connection) -> bool | None:
    """Whether the server preloads TimescaleDB, which ``CREATE EXTENSION`` needs; None
    when this role may not read ``shared_preload_libraries`` (then only trying tells)."""
    value = await conn.fetchval(PRELOADED_SQL)
    return None if value is None else bool(value)


async def recorded_engine(conn: asyncpg.Connection) -> Engine | None:
    """The engine the database was migrated for, or None if it has no migrations yet."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None
    value = await conn.fetchval("SELECT engine FROM schema_migrations ORDER BY version LIMIT 1")
    return Engine(value) if value is not None else None


async def detect_engine(
    conn: asyncpg.Connection, *, choice: EngineChoice = "auto", try_create: bool = True
) -> EngineInfo:
    """The engine for ``database.engine = choice``; with ``try_create``, enable TimescaleDB
    (``CREATE EXTENSION IF NOT EXISTS``) when it is wanted and available.

    Raises :class:`EngineError` for a server older than PostgreSQL 15, ``timescaledb``
    asked of a server without it (or not preloaded), a database set up for TimescaleDB on
    a server that no longer has it, and a choice that contradicts the database's engine.
    """
    version_num = int(await conn.fetchval("SHOW server_version_num"))
    version = str(await conn.fetchval("SHOW server_version")).split()[0]
    if version_num < MIN_SERVER_VERSION_NUM:
        raise EngineError(
            f"PostgreSQL {version} is too old: envgrid needs PostgreSQL 15 or newer"
            " (upgrade the server, or unset database.dsn to use the embedded cluster)"
        )

    def plain(note: str = "") -> EngineInfo:
        info = EngineInfo(Engine.POSTGRESQL, version, None, version_num, note)
        log.info("storage engine: %s", info.describe())
        return info

    recorded = await recorded_engine(conn)
    installed: str | None = await conn.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    )
    available: str | None = await conn.fetchval(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    )

    if recorded is Engine.POSTGRESQL:
        if choice == "timescaledb":
            raise EngineError(
                "database.engine is 'timescaledb' but this database was set up for plain"
                " PostgreSQL (schema_migrations.engine); the schemas differ — use a new"
                " database for TimescaleDB, or set database.engine = 'auto'"
            )
        return plain(
            "TimescaleDB is installed but this database was set up without it"
            if installed or available
            else ""
        )
    if choice == "postgres":
        if recorded is Engine.TIMESCALEDB:
            raise EngineError(
                "database.engine is 'postgres' but this database was set up for TimescaleDB"
                " (schema_migrations.engine); set database.engine = 'auto' or 'timescaledb'"
            )
        return plain("database.engine = 'postgres'" if installed or available else "")

    note = ""
    if installed is None and available is not None and try_create:
        if await timescaledb_preloaded(conn) is False:
            note = f"TimescaleDB {available} is installed but cannot be enabled: {NOT_PRELOADED}"
            if choice == "timescaledb" or recorded is Engine.TIMESCALEDB:
                raise EngineError(f"database.engine is 'timescaledb' but {note}")
            log.warning("%s; using plain PostgreSQL", note)
            return plain(note)
        try:
            async with conn.transaction():
                await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except asyncpg.PostgresError as exc:
            note = f"TimescaleDB {available} is installed but cannot be enabled ({exc})"
            if "preload" in str(exc):
                note += "; add timescaledb to shared_preload_libraries and restart the server"
            if choice == "timescaledb" or recorded is Engine.TIMESCALEDB:
                raise EngineError(f"database.engine is 'timescaledb' but {note}") from exc
            log.warning("%s; using plain PostgreSQL", note)
        else:
            installed = await conn.fetchval(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            )
            log.info("enabled the TimescaleDB extension %s", installed)

    if installed is not None:
        license_ = str(
            await conn.fetchval("SELECT current_setting('timescaledb.license', true)") or ""
        )
        if license_ == "apache" and recorded is None:
            note = (
                f"TimescaleDB {installed} is the Apache-2 build, without continuous aggregates"
                " and compression; envgrid keeps its own rollups (plain PostgreSQL engine) —"
                " install the community build to use TimescaleDB"
            )
            log.warning("%s", note)
            return plain(note)
        info = EngineInfo(Engine.TIMESCALEDB, version, installed, version_num, license=license_)
        log.info("storage engine: %s", info.describe())
        return info

    if recorded is Engine.TIMESCALEDB or choice == "timescaledb":
        why = (
            "this database was set up for TimescaleDB"
            if recorded
            else ("database.engine is 'timescaledb'")
        )
        state = "not enabled" if available else "not installed on this server"
        raise EngineError(
            f"{why}, but the timescaledb extension is {state}"
            f" ({note or 'pg_available_extensions has no timescaledb'}); {INSTALL_HINT}"
        )
    return plain(note)
