"""The station-state flush yields to a busy writer, but never for longer than its bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from ingest.pipeline import Pipeline
from ingest.state import StateFlusher

from .conftest import StationClient
from .test_server import AIR, rtd

LATEST_SQL = "SELECT latest ? 'a21026' FROM station_state WHERE station_id = $1"


async def _has_latest(conn: asyncpg.Connection, station_id: int) -> bool:
    return bool(await conn.fetchval(LATEST_SQL, station_id))


@dataclass
class _Uploaded:
    """A worker whose station AIR has one upload committed and acked (its values wait
    for the next state flush)."""

    pipeline: Pipeline
    state: StateFlusher
    station_id: int
    client: StationClient


async def _one_upload_acked(
    start_worker: Callable[..., Any], register: Callable[..., Any], conn: asyncpg.Connection
) -> _Uploaded:
    await register(AIR)
    worker = await start_worker(batch_ms=20)
    state = worker.dispatcher.state
    assert state is not None and state.interval == 2.0 and worker.pipeline is not None
    station_id = await conn.fetchval("SELECT id FROM stations WHERE mn = $1", AIR.mn)
    client = await StationClient.open(worker.bound_port)
    await client.send(rtd(AIR.mn, 1))
    await client.expect(1)
    return _Uploaded(worker.pipeline, state, station_id, client)


async def test_state_flush_waits_for_a_busy_writer_at_most_max_delay(
    start_worker: Callable[..., Any],
    register: Callable[..., Any],
    db_conn: asyncpg.Connection,
    db_dsn: str,
) -> None:
    up = await _one_upload_acked(start_worker, register, db_conn)
    pipeline, state, station_id, client = up.pipeline, up.state, up.station_id, up.client
    state.max_delay = 4.5  # the first tick is 2 s after the start; it may wait 2.5 s more
    started = time.monotonic()

    blocker = await asyncpg.connect(db_dsn)
    try:
        # the writer's next batch waits for this lock: the writer stays busy
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE packet_ledger IN EXCLUSIVE MODE")
        await client.send(rtd(AIR.mn, 2))
        async with asyncio.timeout(5):
            while not pipeline.busy:
                await asyncio.sleep(0.01)

        # the 2-s tick comes and goes: the flush waits for the writer
        await asyncio.sleep(max(0.0, 3.0 - (time.monotonic() - started)))
        assert pipeline.busy
        assert not await _has_latest(db_conn, station_id)
        assert state.flushes == 0

        # ... but not past max_delay, however long the writer stays busy
        async with asyncio.timeout(6):
            while not await _has_latest(db_conn, station_id):
                await asyncio.sleep(0.1)
        assert pipeline.busy
        assert state.deferred == 1 and 1.5 < state.deferred_s < 4.5
        await tx.rollback()
    finally:
        await blocker.close()

    acks = await client.expect(2)
    assert len(acks) == 2
    await client.close()


async def test_state_flush_of_an_idle_writer_is_not_deferred(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    up = await _one_upload_acked(start_worker, register, db_conn)
    async with asyncio.timeout(up.state.interval + 2):
        while not await _has_latest(db_conn, up.station_id):
            await asyncio.sleep(0.1)
    assert up.state.deferred == 0 and not up.pipeline.busy
    await up.client.close()
