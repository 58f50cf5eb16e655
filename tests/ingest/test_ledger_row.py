"""The batch writer sends the ledger as one array of ``ledger_row`` records (issue 23:
asyncpg encodes a tuple a frame far cheaper than eleven parallel arrays)."""

from __future__ import annotations

import asyncpg

from ingest.queries import LEDGER_COLUMNS


async def test_ledger_records_follow_ledger_row(db_conn: asyncpg.Connection) -> None:
    """A column added to the ledger's template must be added to the writer's records."""
    columns = await db_conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'ledger_row'::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    )
    assert tuple(r[0] for r in columns) == LEDGER_COLUMNS
