"""envgrid_minute_bit (both engines: the plain-PostgreSQL rollup triggers and the TimescaleDB
continuous aggregates call it): migration 0073's body gives the bits of 0010's."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg

#: instants around the hour and minute edges, before and after the 2000-01-01 origin of the
#: buckets, fractions of a second, and far ahead
_INSTANTS = [
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 15, 59, 59, 500000, tzinfo=UTC),
    datetime(2024, 3, 1, 14, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 3, 1, 14, 30, tzinfo=UTC),
    datetime(2024, 3, 1, 14, 59, 0, tzinfo=UTC),
    datetime(2026, 12, 7, 4, 5, 6, 789, tzinfo=UTC),
    datetime(2199, 7, 1, 23, 1, 59, tzinfo=UTC),
]


async def test_minute_bit_is_the_epoch_rule_of_migration_0010(
    db_conn: asyncpg.Connection,
) -> None:
    """Migration 0073 takes the bit from immutable operators (so that it is inlined); the
    bits are those of the epoch arithmetic of 0010."""
    rng = random.Random(73)
    instants = [
        *_INSTANTS,
        *(
            datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(8 * 10**15))
            for _ in range(2000)
        ),
    ]
    differ = await db_conn.fetch(
        """
        SELECT ts FROM unnest($1::timestamptz[]) AS ts
        WHERE envgrid_minute_bit(ts)
              <> 1::bigint << ((floor(extract(epoch FROM ts))::bigint % 3600) / 60)::integer
        """,
        instants,
    )
    assert differ == []
    body = await db_conn.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'envgrid_minute_bit'")
    assert "epoch" not in body  # 0073 is what is compared
