"""``timestamptz`` on the batch writer's connection: microseconds, without zone lookups.

asyncpg's own codec compares every datetime it encodes with its (naive) infinity
constants and converts it with ``astimezone`` — three zone-offset calls a value, and a
batch holds eight timestamps a frame (six measurement rows, the ledger's DataTime and
reception time): 9 % of an ingest worker's CPU at 10,000 frames/s (issue 23).  The
writer's datetimes are already in UTC (:class:`ingest.rows.TimeParser`,
``datetime.now(UTC)``), so here a value is one subtraction from the PostgreSQL epoch,
exchanged in asyncpg's ``tuple`` format (microseconds since 2000-01-01 UTC).  A datetime
in another zone is converted first and a naive one is local time, as asyncpg reads it;
infinities decode to asyncpg's own constants.  Installed on the writer's dedicated
connection only (:meth:`ingest.writer.BatchWriter.connect`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import asyncpg

__all__ = ["decode_timestamptz", "encode_timestamptz", "install_time_codec"]

PG_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
#: what PostgreSQL sends for ``infinity`` / ``-infinity``
PG_INFINITY: Final = 2**63 - 1
PG_NEGATIVE_INFINITY: Final = -(2**63)
#: what asyncpg's own codec decodes them to (naive extremes)
INFINITY: Final = datetime(9999, 12, 31, 23, 59, 59, 999999)
NEGATIVE_INFINITY: Final = datetime(1, 1, 1)


def encode_timestamptz(value: datetime) -> tuple[int]:
    """An aware (or naive = local) datetime → (µs since 2000-01-01 UTC,)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return ((value - PG_EPOCH) // _MICROSECOND,)


def decode_timestamptz(value: tuple[int]) -> datetime:
    """(µs since 2000-01-01 UTC,) → an aware datetime in UTC (infinities as asyncpg)."""
    us = value[0]
    if us == PG_INFINITY:
        return INFINITY
    if us == PG_NEGATIVE_INFINITY:
        return NEGATIVE_INFINITY
    return PG_EPOCH + timedelta(microseconds=us)


async def install_time_codec(conn: asyncpg.Connection) -> None:
    """Use these for ``timestamptz`` (and its arrays) on ``conn``."""
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_timestamptz,
        decoder=decode_timestamptz,
        format="tuple",
    )
