"""The batch writer sends the ledger as one array of ``ledger_input`` records (issue 23:
asyncpg encodes a tuple a frame far cheaper than eleven parallel arrays, and a bigint far
cheaper than a ``timestamptz``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.copyrows import pg_microseconds
from ingest.queries import LEDGER_COLUMNS

ATTRIBUTES = (
    "SELECT attname FROM pg_attribute"
    " WHERE attrelid = (SELECT typrelid FROM pg_type WHERE typname = $1)"
    " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
)
TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


async def test_ledger_records_follow_ledger_row(db_conn: asyncpg.Connection) -> None:
    """A column added to the ledger's template must be added to the writer's records."""
    row = [r[0] for r in await db_conn.fetch(ATTRIBUTES, "ledger_row")]
    columns = [r[0] for r in await db_conn.fetch(ATTRIBUTES, "ledger_input")]
    assert tuple(columns) == LEDGER_COLUMNS
    renamed = {"data_us": "data_time", "received_us": "received_at"}
    assert [renamed.get(c, c) for c in columns] == row


async def test_microseconds_turn_back_into_the_same_timestamptz(
    db_conn: asyncpg.Connection,
) -> None:
    """The INSERT's ``2000-01-01 + n µs`` gives back the instant exactly, far from 2000
    and at the microsecond."""
    values = [
        datetime(2026, 12, 7, 8, 30, 0, 999_999, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1901, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ]
    values += [values[0] + timedelta(microseconds=n * 7919) for n in range(200)]
    await _same(db_conn, values)


@settings(max_examples=30, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=50))
def test_any_instant_survives_the_round_trip(values: list[datetime]) -> None:
    """Pure arithmetic check of what the SQL does, on the client: µs → instant."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    for value in values:
        assert epoch + timedelta(microseconds=pg_microseconds(value)) == value


async def _same(conn: asyncpg.Connection, values: list[datetime]) -> None:
    got = await conn.fetch(
        "SELECT timestamptz '2000-01-01 00:00:00+00' + u * interval '1 microsecond' AS t"
        " FROM unnest($1::bigint[]) WITH ORDINALITY AS x(u, i) ORDER BY i",
        [pg_microseconds(v) for v in values],
    )
    assert [r["t"] for r in got] == values
