"""Time partitions and retention of the big tables, for both engines.

Plain PostgreSQL: every time-partitioned table (see :data:`PARTITIONED`) is a
native range-partitioned parent.  Partitions are created ahead of time by the
housekeeping job (:func:`ensure_ahead`) and on demand by the ingest writer for
late or early data (:meth:`PartitionCache.ensure`, always *outside* the data
transaction: ``CREATE TABLE … PARTITION OF`` locks the parent, and doing it
inside a transaction that already wrote to the parent could deadlock with
another writer).  Retention drops whole partitions.

TimescaleDB: hypertables create their chunks; retention drops chunks
(``drop_chunks``) — done by envgrid's housekeeping on both engines, never by a
TimescaleDB job (see :mod:`store.policies`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

import asyncpg

from store.engine import Engine

__all__ = [
    "PARTITIONED",
    "PartitionCache",
    "apply_retention",
    "ensure_ahead",
    "partition_bounds",
]

log = logging.getLogger(__name__)

Granularity = Literal["day", "month", "year"]

#: Time-partitioned tables and the span of one partition.
PARTITIONED: Final[Mapping[str, Granularity]] = {
    "packet_ledger": "day",
    "measurements_rtd": "day",
    "measurements_minute": "day",
    "measurements_hour": "month",
    "measurements_day": "year",
    "equipment_status": "day",
}

ENSURE_PARTITION_SQL: Final = "SELECT envgrid_ensure_partition($1::regclass, $2, $3)"
DROP_PARTITIONS_SQL: Final = "SELECT envgrid_drop_partitions($1::regclass, $2)"
#: Raw data of ``$1`` is complete from ``$2`` on (read by the rollup refresh).
RECORD_KEPT_FROM_SQL: Final = """
INSERT INTO app_meta (key, value) VALUES ('raw_kept_from.' || $1, $2::timestamptz::text)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
WHERE app_meta.value::timestamptz < EXCLUDED.value::timestamptz
"""
DROP_CHUNKS_SQL: Final = "SELECT drop_chunks($1::regclass, older_than => $2::timestamptz)::text"


def partition_bounds(table: str, ts: datetime) -> tuple[datetime, datetime]:
    """[lo, hi) of the partition of ``table`` holding ``ts`` (UTC boundaries)."""
    t = ts.astimezone(UTC)
    span = PARTITIONED[table]
    if span == "day":
        lo = datetime(t.year, t.month, t.day, tzinfo=UTC)
        return lo, lo + timedelta(days=1)
    if span == "month":
        lo = datetime(t.year, t.month, 1, tzinfo=UTC)
        hi = datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)
        return lo, hi
    lo = datetime(t.year, 1, 1, tzinfo=UTC)
    return lo, datetime(t.year + 1, 1, 1, tzinfo=UTC)


class PartitionCache:
    """Remembers which partitions exist so the writer asks the database only for new ones."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._known: set[tuple[str, datetime]] = set()

    def missing(self, needed: Iterable[tuple[str, datetime]]) -> set[tuple[str, datetime]]:
        """The (table, partition start) pairs among ``needed`` not known to exist."""
        if self.engine is not Engine.POSTGRESQL:
            return set()
        out = set()
        known = self._known
        for table, ts in needed:
            lo, _ = partition_bounds(table, ts)
            if (table, lo) not in known:
                out.add((table, lo))
        return out

    async def ensure(self, conn: asyncpg.Connection, needed: Iterable[tuple[str, datetime]]) -> int:
        """Create the partitions ``needed`` lacks (autocommit; call outside a transaction)."""
        created = 0
        for table, lo in sorted(self.missing(needed)):
            _, hi = partition_bounds(table, lo)
            try:
                await conn.execute(ENSURE_PARTITION_SQL, table, lo, hi)
            except asyncpg.DuplicateTableError:
                # another host created it at the same moment: the function's re-check
                # after its lock may read a stale catalog cache; the partition is there
                log.debug("partition of %s at %s created concurrently", table, lo)
            self._known.add((table, lo))
            created += 1
        return created

    def forget(self) -> None:
        """After retention dropped partitions (or on doubt), re-check with the database."""
        self._known.clear()


async def ensure_ahead(
    conn: asyncpg.Connection,
    engine: Engine,
    now: datetime,
    *,
    days_ahead: int = 3,
    days_back: int = 1,
) -> int:
    """Create the partitions for [now - days_back, now + days_ahead] on every table."""
    if engine is not Engine.POSTGRESQL:
        return 0
    cache = PartitionCache(engine)
    needed = [
        (table, now + timedelta(days=d))
        for table in PARTITIONED
        for d in range(-days_back, days_ahead + 1)
    ]
    return await cache.ensure(conn, needed)


async def apply_retention(
    conn: asyncpg.Connection, engine: Engine, retention_days: Mapping[str, int], now: datetime
) -> list[str]:
    """Drop data older than each table's retention now and return the names of what was
    dropped: partitions (plain PostgreSQL) or chunks (TimescaleDB, ``drop_chunks``).
    envgrid does this itself on both engines (no TimescaleDB retention job), so that raw
    data is never dropped while a rollup refresh could still need it."""
    dropped: list[str] = []
    for table, days in retention_days.items():
        if table not in PARTITIONED:
            raise ValueError(f"{table} is not a time-partitioned table")
        sql = DROP_CHUNKS_SQL if engine is Engine.TIMESCALEDB else DROP_PARTITIONS_SQL
        cutoff = now - timedelta(days=days)
        await conn.execute(RECORD_KEPT_FROM_SQL, table, cutoff)
        rows = await conn.fetch(sql, table, cutoff)
        dropped += [r[0] for r in rows]
    if dropped:
        log.info("retention dropped %d partitions: %s", len(dropped), ", ".join(dropped))
    return dropped
