"""One consistent view of the database for a backup: pg_dump's snapshot, the manifest's
row counts and checksums, and the same sums on a restored database.

Theory of operation
-------------------
:class:`SnapshotSession` opens a ``REPEATABLE READ READ ONLY`` transaction and exports
its snapshot (``pg_export_snapshot()``); ``pg_dump --snapshot=<id>`` then dumps exactly
what that transaction sees, and :meth:`SnapshotSession.table_sums` counts and checksums
the same rows — while ingest goes on writing.  The transaction stays open (no statement
or idle timeouts) until the dump is complete.  The session runs on a private event loop,
so the synchronous backup can hold it across a blocking ``pg_dump`` in a worker thread.

:func:`table_sums` covers what is stored: every table of schema ``public`` (a
partitioned table or a hypertable counts with all its partitions or chunks, compressed
or not; the rollup tables of plain PostgreSQL among them) and, on TimescaleDB, the
materialised hypertable of each continuous aggregate (named ``<view> (materialized)``).
Views are left out: they are computed from those.  A table's checksum is the
sum, over its rows, of ``hash_record_extended(row, 0)`` — the 64-bit hash of each column
by its type's own hash function (the ones hash partitioning relies on, stable across
PostgreSQL versions), independent of row order and physical layout, so a restored copy
gives the same number; about three times cheaper than hashing each row's text.  A
relation with a column type that has no hash function (``json``, geometric types) is
summed by ``hashtextextended(row::text, 0)`` instead, with the text form fixed by the
session settings here (UTC, ISO dates, shortest exact floats, hex bytea).  Without
checksums the counts are the planner's estimates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import asyncpg

from store.backup.manifest import TableSum
from store.db import connect, quote_ident
from store.engine import recorded_engine

__all__ = ["SnapshotSession", "database_facts", "table_sums"]

T = TypeVar("T")

#: Settings that fix the text form of rows (checksums) and keep the snapshot alive.
SESSION_SQL: Final = """
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
"""

#: The stored relations of schema public: tables, partitioned tables, hypertables; the
#: estimate is a relation's rows plus its children's (partitions, chunks).
RELATIONS_SQL: Final = """
SELECT 'public' AS schema, c.relname::text AS relation, c.relname::text AS name,
       greatest(c.reltuples, 0)::bigint + coalesce((
           SELECT sum(greatest(k.reltuples, 0))::bigint FROM pg_inherits i
             JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = c.oid), 0) AS estimate
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
 ORDER BY 3
"""
#: TimescaleDB: the continuous aggregates' materialised hypertables, named by their view.
CAGGS_SQL: Final = """
SELECT ca.materialization_hypertable_schema::text AS schema,
       ca.materialization_hypertable_name::text AS relation,
       ca.view_name::text || ' (materialized)' AS name,
       greatest(c.reltuples, 0)::bigint + coalesce((
           SELECT sum(greatest(k.reltuples, 0))::bigint FROM pg_inherits i
             JOIN pg_class k ON k.oid = i.inhrelid WHERE i.inhparent = c.oid), 0) AS estimate
  FROM timescaledb_information.continuous_aggregates ca
  JOIN pg_namespace n ON n.nspname = ca.materialization_hypertable_schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = ca.materialization_hypertable_name
 WHERE ca.view_schema = 'public'
 ORDER BY 3
"""


def _sum_sql(schema: str, relation: str, *, by_text: bool = False) -> str:
    """Count and order-independent checksum of ``schema.relation`` (names read from the
    catalog, quoted: identifiers cannot be parameters)."""
    if by_text:
        return (
            "SELECT count(*) AS n,"  # noqa: S608
            " coalesce(sum(hashtextextended(r::text, 0)::numeric), 0)::text AS s"
            f" FROM {quote_ident(schema)}.{quote_ident(relation)} r"
        )
    return (
        "SELECT count(*) AS n,"  # noqa: S608
        " coalesce(sum(hash_record_extended(r, 0)::numeric), 0)::text AS s"
        f" FROM {quote_ident(schema)}.{quote_ident(relation)} r"
    )


async def _sum(conn: asyncpg.Connection, schema: str, relation: str, name: str) -> TableSum:
    """One relation's sum by the types' own hash functions; by the rows' text where a
    column's type has none (``json``, geometric types)."""
    await conn.execute("SAVEPOINT envgrid_sum")
    try:
        got = await conn.fetchrow(_sum_sql(schema, relation))
    except asyncpg.UndefinedFunctionError:
        await conn.execute("ROLLBACK TO SAVEPOINT envgrid_sum")
        got = await conn.fetchrow(_sum_sql(schema, relation, by_text=True))
    await conn.execute("RELEASE SAVEPOINT envgrid_sum")
    assert got is not None
    return TableSum(name, int(got["n"]), str(got["s"]))


async def table_sums(conn: asyncpg.Connection, *, checksums: bool) -> list[TableSum]:
    """Row counts and checksums (see the module docstring) of every stored relation,
    inside the caller's transaction (one is opened when there is none)."""
    await conn.execute(SESSION_SQL)
    async with contextlib.AsyncExitStack() as stack:
        if not conn.is_in_transaction():
            await stack.enter_async_context(conn.transaction(isolation="repeatable_read"))
        rows = list(await conn.fetch(RELATIONS_SQL))
        if await conn.fetchval(
            "SELECT to_regclass('timescaledb_information.continuous_aggregates')"
        ):
            rows += await conn.fetch(CAGGS_SQL)
        out: list[TableSum] = []
        for row in rows:
            if checksums:
                out.append(await _sum(conn, row["schema"], row["relation"], row["name"]))
            else:
                out.append(TableSum(row["name"], int(row["estimate"])))
        return out


async def database_facts(conn: asyncpg.Connection) -> dict[str, Any]:
    """Engine, versions and schema version of the database (for the manifest)."""
    engine = await recorded_engine(conn)
    schema = 0
    if engine is not None:
        schema = int(await conn.fetchval("SELECT max(version) FROM schema_migrations") or 0)
    return {
        "engine": engine.value if engine is not None else "",
        "server_version": str(await conn.fetchval("SHOW server_version")).split()[0],
        "server_version_num": int(await conn.fetchval("SHOW server_version_num")),
        "timescaledb_version": await conn.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ),
        "database": str(await conn.fetchval("SELECT current_database()")),
        "schema_version": schema,
    }


class SnapshotSession:
    """An exported snapshot held open on a private event loop (see the module docstring).
    Use from synchronous code (a worker thread), as a context manager."""

    def __init__(self, dsn: str, *, connect_timeout_s: float = 10.0) -> None:
        self._dsn = dsn
        self._timeout = connect_timeout_s
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = None
        self.snapshot_id = ""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coro)

    def __enter__(self) -> SnapshotSession:
        try:
            self._conn = self._run(
                connect(
                    self._dsn,
                    application_name="envgrid backup",
                    statement_timeout_ms=0,
                    connect_timeout_s=self._timeout,
                )
            )
            self._run(self._conn.execute(SESSION_SQL))
            self._run(self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            self.snapshot_id = str(self._run(self._conn.fetchval("SELECT pg_export_snapshot()")))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._conn is not None:
                self._run(self._conn.close(timeout=10))
        finally:
            self._loop.close()

    def table_sums(self, *, checksums: bool) -> list[TableSum]:
        assert self._conn is not None
        return self._run(table_sums(self._conn, checksums=checksums))

    def facts(self) -> dict[str, Any]:
        assert self._conn is not None
        return self._run(database_facts(self._conn))
