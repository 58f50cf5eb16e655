"""ingest.queries.commit_with_notices: the batch's readings feed sent with its COMMIT as
literals — only payloads that hold nothing to quote are let into the SQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ingest.queries import commit_with_notices
from store.feed import READINGS_CHANNEL, decode_columns, readings_payloads


@pytest.mark.parametrize(
    "payload",
    [
        "r|abc'; DROP TABLE stations; --",
        "r|AAAA\\",
        "x|AAAA",
        "r|AAAé",
        "rAAAA",
        "",
    ],
)
def test_a_payload_with_anything_to_quote_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match="not a feed payload"):
        commit_with_notices(READINGS_CHANNEL, ["r|AAAA", payload])


def test_a_channel_name_must_be_an_identifier() -> None:
    with pytest.raises(ValueError, match="not a channel name"):
        commit_with_notices("a'b", ["r|AAAA"])


def test_without_payloads_it_is_a_commit() -> None:
    assert commit_with_notices(READINGS_CHANNEL, []) == "COMMIT"


async def test_the_notices_arrive_at_commit(db_conn: asyncpg.Connection, db_dsn: str) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(db_dsn)
    try:
        await listener.add_listener(READINGS_CHANNEL, lambda *a: heard.append(a[3]))
        payloads = readings_payloads("r", [(1, 2, 1700000000.0, 1.5, "N"), (3, 4, 1.0, 2.5, None)])
        await db_conn.execute("BEGIN")
        await db_conn.execute(commit_with_notices(READINGS_CHANNEL, payloads))
        for _ in range(100):
            if len(heard) == len(payloads):
                break
            await asyncio.sleep(0.05)
        assert heard == payloads
        assert list(decode_columns(heard[0]).values) == [1.5, 2.5]
    finally:
        await listener.close()
