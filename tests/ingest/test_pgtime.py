"""ingest.pgtime: timestamptz as microseconds on the writer's connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from ingest.pgtime import (
    INFINITY,
    NEGATIVE_INFINITY,
    PG_INFINITY,
    PG_NEGATIVE_INFINITY,
    decode_timestamptz,
    encode_timestamptz,
    install_time_codec,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

CASES = [
    ("the PostgreSQL epoch", datetime(2000, 1, 1, tzinfo=UTC), 0),
    ("a microsecond before it", datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), -1),
    ("a DataTime in UTC", datetime(2026, 11, 21, 4, 0, 0, 123000, tzinfo=UTC), 848548800123000),
    (
        "the same in Shanghai",
        datetime(2026, 11, 21, 12, 0, 0, 123000, tzinfo=SHANGHAI),
        848548800123000,
    ),
    (
        "a fixed offset",
        datetime(2026, 11, 21, 5, tzinfo=timezone(timedelta(hours=1))),
        848548800000000,
    ),
]


@pytest.mark.parametrize(("name", "value", "us"), CASES, ids=[c[0] for c in CASES])
def test_encode_and_decode(name: str, value: datetime, us: int) -> None:
    assert encode_timestamptz(value) == (us,)
    back = decode_timestamptz((us,))
    assert back == value and back.tzinfo is UTC


def test_infinities_decode_as_asyncpg_does() -> None:
    assert decode_timestamptz((PG_INFINITY,)) == INFINITY
    assert decode_timestamptz((PG_NEGATIVE_INFINITY,)) == NEGATIVE_INFINITY


async def test_round_trip_through_postgresql(db_dsn: str) -> None:
    """Against the real server: the same instants as asyncpg's own codec, arrays too."""
    plain = await asyncpg.connect(db_dsn)
    mine = await asyncpg.connect(db_dsn)
    try:
        await install_time_codec(mine)
        values = [c[1] for c in CASES]
        sql = "SELECT $1::timestamptz[], $1::timestamptz[]::text[]"
        a = await plain.fetchrow(sql, values)
        b = await mine.fetchrow(sql, values)
        assert a is not None and b is not None
        assert b[0] == a[0] == values and b[1] == a[1]
        assert all(v.tzinfo is UTC for v in b[0])
        inf = await mine.fetchval("SELECT ARRAY['infinity', '-infinity']::timestamptz[]")
        assert inf == await plain.fetchval("SELECT ARRAY['infinity', '-infinity']::timestamptz[]")
    finally:
        await plain.close()
        await mine.close()
