"""The periodic registry refresh reloads only when the stations changed: a full load of
100,000 stations stalls each worker's loop for seconds (``envgrid bench connections``)."""

from __future__ import annotations

import asyncpg

from ingest.registry import StationRegistry
from store.stations import NewStation, add_stations


async def test_the_periodic_refresh_reloads_only_what_changed(db_conn: asyncpg.Connection) -> None:
    await add_stations(db_conn, [NewStation("MN000001", "pw1"), NewStation("MN000002", "pw2")])
    registry = StationRegistry()
    assert await registry.refresh(db_conn) is True  # never loaded: loads
    assert len(registry) == 2
    assert await registry.refresh(db_conn) is False  # nothing changed
    await db_conn.execute("UPDATE stations SET password = 'new' WHERE mn = 'MN000001'")
    assert await registry.refresh(db_conn) is True
    station = registry.get("MN000001")
    assert station is not None and station.password == "new"
    assert await registry.refresh(db_conn) is False
    await db_conn.execute("UPDATE stations SET enabled = false WHERE mn = 'MN000002'")
    assert await registry.refresh(db_conn) is True
    await add_stations(db_conn, [NewStation("MN000003", "pw3")])
    assert await registry.refresh(db_conn) is True
    assert registry.get("MN000003") is not None
    await db_conn.execute("DELETE FROM stations WHERE mn = 'MN000003'")
    assert await registry.refresh(db_conn) is True
    assert registry.get("MN000003") is None and len(registry) == 2
