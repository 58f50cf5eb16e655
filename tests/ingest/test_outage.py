"""Nothing lost: the database stops for 30 s under load and comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from protocol import encode_upload
from store.db import connect
from store.embedded import EmbeddedPostgres
from store.prepare import prepare_database, seed_factors
from store.stations import NewStation, add_stations

from .conftest import StationClient

pytestmark = pytest.mark.slow

STATIONS = [NewStation(f"OUT{i:021d}", "123456", f"s{i}", "22") for i in range(20)]


async def station_load(
    port: int, station: NewStation, stop: asyncio.Event, sent: list[str]
) -> StationClient:
    client = await StationClient.open(port)
    i = 0
    while not stop.is_set():
        qn = f"{20261121000000000 + i}"
        await client.send(
            encode_upload(
                2011,
                st="22",
                mn=station.mn,
                pw="123456",
                qn=qn,
                data_time=time.strftime("%Y%m%d%H%M%S", time.localtime(1795190400 + i)),
                values={
                    "a21026": {"Rtd": f"{i}.0", "Flag": "N"},
                    "a34004": {"Rtd": "3", "Flag": "N"},
                },
            )
        )
        sent.append(qn)
        i += 1
        await asyncio.sleep(0.1)
    return client


async def test_database_outage_of_30_s_loses_and_duplicates_nothing(
    make_embedded_pg: Callable[..., EmbeddedPostgres], start_worker: Callable[..., Any]
) -> None:
    cluster = make_embedded_pg()
    dsn = await cluster.astart()
    await prepare_database(dsn)
    conn = await connect(dsn)
    await seed_factors(conn)
    await add_stations(conn, STATIONS)
    await conn.close()
    worker = await start_worker(dsn=dsn)

    stop = asyncio.Event()
    sent: dict[str, list[str]] = {s.mn: [] for s in STATIONS}
    loads = [
        asyncio.create_task(station_load(worker.bound_port, s, stop, sent[s.mn])) for s in STATIONS
    ]
    await asyncio.sleep(3)
    await cluster.astop("immediate")  # as abrupt as a crash
    down_at = time.monotonic()
    await asyncio.sleep(30)
    spooled = worker.pipeline.stats.spooled_frames
    assert spooled > 0 and not worker.pipeline.database_ok
    await cluster.astart()
    await asyncio.sleep(3)
    stop.set()
    clients = await asyncio.gather(*loads)
    total = sum(len(v) for v in sent.values())
    # every frame is acked: before, during (spooled) and after the outage
    for client, station in zip(clients, STATIONS, strict=True):
        acks = await client.expect(len(sent[station.mn]), timeout=30)
        assert sorted(a.qn for a in acks) == sorted(sent[station.mn])
        await client.close()
    # replay finished: the spool is empty and the database holds each frame exactly once
    async with asyncio.timeout(60):
        while not worker.spool.is_empty() or worker.pipeline.depth:
            await asyncio.sleep(0.2)
    conn = await connect(dsn)
    try:
        ledger = await conn.fetchval("SELECT count(*) FROM packet_ledger")
        distinct = await conn.fetchval(
            "SELECT count(*) FROM (SELECT DISTINCT station_id, factor_id, ts "
            "FROM measurements_rtd) d"
        )
        rows = await conn.fetchval("SELECT count(*) FROM measurements_rtd")
    finally:
        await conn.close()
    assert ledger == total, (ledger, total)
    assert rows == distinct == 2 * total
    stats = worker.pipeline.stats
    assert stats.replayed_frames == stats.spooled_frames >= spooled
    print(
        f"outage: {total} frames, {stats.spooled_frames} spooled, {stats.replayed_frames} "
        f"replayed, outage {time.monotonic() - down_at:.0f} s"
    )
