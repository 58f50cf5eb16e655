"""Versioned, idempotent schema migrations, applied at start-up.

Theory of operation
-------------------
Migrations are SQL files in ``store/migrations/``: ``NNNN_name.sql`` for every engine,
plus optional ``NNNN_name.timescaledb.sql`` / ``NNNN_name.postgresql.sql`` run right
after it for the detected engine (a version may consist of companions only).  A file
name that looks like a migration but does not match the pattern is an error, not
silently skipped.

The table ``schema_migrations(version, name, engine, checksum, applied_at,
execution_ms)`` records what was applied, for which engine, and the SHA-256 of the
exact SQL that ran (line endings normalised).

:func:`migrate` applies each pending migration in its own transaction.  Each
transaction first takes a transaction-level advisory lock (:data:`LOCK_KEY`) and then
re-checks ``schema_migrations``; so several processes starting at once (ingest
workers, the web process) serialise, and whoever comes second finds the work done.
The lock is released by COMMIT/ROLLBACK — a crashed process cannot leave it held.
A failing migration rolls back completely and raises :class:`MigrationError` naming
the file and line.  ``statement_timeout`` is lifted inside migration transactions.

An applied migration whose file changed since (checksum differs) is reported with a
warning at every run and as ``changed`` by :func:`status`; a version in the database
that this code does not know is reported as ``unknown`` (the database is newer than
the code).  Applying a migration for another engine than the one recorded is refused.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final, Literal

import asyncpg

from store.engine import NOT_PRELOADED, Engine, timescaledb_preloaded

__all__ = [
    "LOCK_KEY",
    "MIGRATIONS_PACKAGE",
    "AppliedMigration",
    "Migration",
    "MigrationError",
    "MigrationStatus",
    "ensure_timescaledb",
    "load_migrations",
    "migrate",
    "status",
]

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE: Final = "store.migrations"
#: Advisory-lock key ("envgrid" in ASCII) shared by every envgrid process.
LOCK_KEY: Final = int.from_bytes(b"envgrid", "big")
_FILE_RE: Final = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<engine>timescaledb|postgresql))?\.sql$"
)
_LOOKS_LIKE_MIGRATION: Final = re.compile(r"^\d+.*\.sql$")

CREATE_TIMESCALEDB_SQL: Final = "CREATE EXTENSION IF NOT EXISTS timescaledb"
INSTALLED_TIMESCALEDB_SQL: Final = "SELECT true FROM pg_extension WHERE extname = 'timescaledb'"
CREATE_TABLE_SQL: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version      integer PRIMARY KEY,
    name         text NOT NULL,
    engine       text NOT NULL,
    checksum     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    execution_ms integer NOT NULL DEFAULT 0
)
"""
SELECT_APPLIED_SQL: Final = """
SELECT version, name, engine, checksum, applied_at FROM schema_migrations ORDER BY version
"""
INSERT_APPLIED_SQL: Final = """
INSERT INTO schema_migrations (version, name, engine, checksum, execution_ms)
VALUES ($1, $2, $3, $4, $5)
"""


class MigrationError(RuntimeError):
    """A migration could not be loaded or applied; the message names the file."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    #: SQL run on every engine (None if the version has engine-specific files only).
    common: str | None = None
    specific: Mapping[Engine, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def parts(self, engine: Engine) -> list[tuple[str, str]]:
        """(file name, SQL) in the order they run for ``engine``."""
        out = []
        if self.common is not None:
            out.append((f"{self.label}.sql", self.common))
        if engine in self.specific:
            out.append((f"{self.label}.{engine}.sql", self.specific[engine]))
        return out

    def checksum(self, engine: Engine) -> str:
        digest = hashlib.sha256()
        for file_name, sql in self.parts(engine):
            digest.update(file_name.encode() + b"\0")
            digest.update(sql.replace("\r\n", "\n").encode() + b"\0")
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    version: int
    name: str
    engine: Engine
    checksum: str
    execution_ms: int


MigrationState = Literal["applied", "pending", "changed", "unknown"]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    version: int
    name: str
    #: applied; pending; changed (applied, but the file differs now); unknown (not in code).
    state: MigrationState
    engine: Engine | None = None
    applied_at: datetime | None = None
    checksum: str | None = None


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_migrations(source: Traversable | Path | None = None) -> list[Migration]:
    """Read the migrations in ``source`` (default: the ``store.migrations`` package)."""
    folder: Traversable = resources.files(MIGRATIONS_PACKAGE) if source is None else source
    found: dict[int, tuple[str, str | None, dict[Engine, str]]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        match = _FILE_RE.match(entry.name)
        if match is None:
            if _LOOKS_LIKE_MIGRATION.match(entry.name):
                raise MigrationError(
                    f"migration file {entry.name!r} is not named NNNN_name.sql or"
                    " NNNN_name.<timescaledb|postgresql>.sql (lower-case name, 4-digit version)"
                )
            continue
        version, name = int(match["version"]), match["name"]
        known_name, _common, specific = found.setdefault(version, (name, None, {}))
        if known_name != name:
            raise MigrationError(
                f"migration version {version:04d} has two names: {known_name!r} and {name!r}"
            )
        sql = entry.read_text(encoding="utf-8")
        if match["engine"] is None:
            found[version] = (name, sql, specific)
        else:
            specific[Engine(match["engine"])] = sql
    return [
        Migration(version, name, common, specific)
        for version, (name, common, specific) in sorted(found.items())
    ]


# --------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------


async def _lock(conn: asyncpg.Connection) -> None:
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_KEY):
        log.info("waiting for another process to finish applying migrations")
        await conn.fetchval("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)


def _error_line(sql: str, exc: asyncpg.PostgresError) -> str:
    position = getattr(exc, "position", None)
    if position and str(position).isdigit():
        return f" at line {sql[: int(position)].count(chr(10)) + 1}"
    return ""


def _report_drift(rows: Iterable[asyncpg.Record], known: Mapping[int, Migration]) -> None:
    for row in rows:
        migration = known.get(row["version"])
        if migration is None:
            log.warning(
                "the database has migration %04d_%s, unknown to this version of envgrid"
                " (was it migrated by a newer release?)",
                row["version"],
                row["name"],
            )
        elif migration.checksum(Engine(row["engine"])) != row["checksum"]:
            log.warning(
                "migration %s was changed after it was applied on %s; the change is NOT"
                " applied — restore the file and put the change in a new migration",
                migration.label,
                row["applied_at"].date().isoformat(),
            )


async def ensure_timescaledb(conn: asyncpg.Connection) -> None:
    """``CREATE EXTENSION IF NOT EXISTS timescaledb``, with an error that says what to do."""
    if await conn.fetchval(INSTALLED_TIMESCALEDB_SQL):
        return
    if await timescaledb_preloaded(conn) is False:
        raise MigrationError(f"the TimescaleDB engine needs the extension, but {NOT_PRELOADED}")
    try:
        await conn.execute(CREATE_TIMESCALEDB_SQL)
    except asyncpg.PostgresError as exc:
        hint = (
            "add timescaledb to shared_preload_libraries and restart the server"
            if "preload" in str(exc)
            else "install the TimescaleDB community build for this server, or set"
            " database.engine = 'postgres' on a new database"
        )
        raise MigrationError(
            f"the TimescaleDB engine needs the timescaledb extension in this database,"
            f" and creating it failed ({type(exc).__name__}: {exc}); {hint}"
        ) from exc


async def migrate(
    conn: asyncpg.Connection,
    engine: Engine,
    *,
    migrations: Sequence[Migration] | None = None,
    target: int | None = None,
) -> list[AppliedMigration]:
    """Apply pending migrations (up to ``target``) for ``engine``; return what was applied.

    Safe to run concurrently from several processes and to re-run (a no-op when current).
    For TimescaleDB the extension is created first if the database lacks it (an external
    server where it is not preloaded is a :class:`MigrationError` saying so).
    """
    if conn.is_in_transaction():
        raise MigrationError("migrate() needs a connection that is not inside a transaction")
    pending_set = list(load_migrations() if migrations is None else migrations)
    known = {m.version: m for m in pending_set}
    async with conn.transaction():
        await _lock(conn)
        await conn.execute(CREATE_TABLE_SQL)
    rows = await conn.fetch(SELECT_APPLIED_SQL)
    engines = {row["engine"] for row in rows}
    if engines - {engine.value}:
        raise MigrationError(
            f"this database was migrated for {', '.join(sorted(engines))}; refusing to apply"
            f" {engine} migrations to it"
        )
    _report_drift(rows, known)
    if engine is Engine.TIMESCALEDB:
        await ensure_timescaledb(conn)
    done = {row["version"] for row in rows}
    newest = max(done, default=0)
    applied: list[AppliedMigration] = []
    for migration in sorted(pending_set, key=lambda m: m.version):
        if migration.version in done:
            continue
        if target is not None and migration.version > target:
            break
        result = await _apply_one(conn, migration, engine)
        if result is None:
            continue  # another process applied it while we waited for the lock
        if migration.version < newest:
            log.warning("applied %s out of order (after %04d)", migration.label, newest)
        applied.append(result)
    return applied


async def _apply_one(
    conn: asyncpg.Connection, migration: Migration, engine: Engine
) -> AppliedMigration | None:
    checksum = migration.checksum(engine)
    async with conn.transaction():
        await _lock(conn)
        if await conn.fetchval(
            "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
        ):
            return None
        await conn.execute("SET LOCAL statement_timeout = 0")
        started = time.monotonic()
        for file_name, sql in migration.parts(engine):
            try:
                await conn.execute(sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {file_name} failed{_error_line(sql, exc)}:"
                    f" {type(exc).__name__}: {exc}"
                ) from exc
        elapsed_ms = round((time.monotonic() - started) * 1000)
        await conn.execute(
            INSERT_APPLIED_SQL,
            migration.version,
            migration.name,
            engine.value,
            checksum,
            elapsed_ms,
        )
    log.info(
        "applied migration %s (%s) in %d ms",
        migration.label,
        engine,
        elapsed_ms,
        extra={
            "event": "migration",
            "migration": migration.label,
            "version": migration.version,
            "engine": str(engine),
            "elapsed_ms": elapsed_ms,
        },
    )
    return AppliedMigration(migration.version, migration.name, engine, checksum, elapsed_ms)


async def status(
    conn: asyncpg.Connection, *, migrations: Sequence[Migration] | None = None
) -> list[MigrationStatus]:
    """Every known or recorded migration with its state, ordered by version."""
    available = list(load_migrations() if migrations is None else migrations)
    known = {m.version: m for m in available}
    rows: list[asyncpg.Record] = []
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is not None:
        rows = await conn.fetch(SELECT_APPLIED_SQL)
    out: dict[int, MigrationStatus] = {}
    for row in rows:
        row_engine = Engine(row["engine"])
        migration = known.get(row["version"])
        state: MigrationState
        if migration is None:
            state = "unknown"
        elif migration.checksum(row_engine) != row["checksum"]:
            state = "changed"
        else:
            state = "applied"
        out[row["version"]] = MigrationStatus(
            row["version"], row["name"], state, row_engine, row["applied_at"], row["checksum"]
        )
    for migration in available:
        out.setdefault(
            migration.version, MigrationStatus(migration.version, migration.name, "pending")
        )
    return [out[v] for v in sorted(out)]
