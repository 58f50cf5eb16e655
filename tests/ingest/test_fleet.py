"""A simulated fleet's frames all arrive exactly once: counts per station and factor equal
what was sent — with split packets, retransmissions and both editions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import asyncpg

from simulators import FleetConfig, parse_faults, run_fleet, station_identities
from store.stations import NewStation

TABLE_OF_CN = {"2011": "rtd", "2051": "minute", "2061": "hour", "2031": "day"}


async def test_simulated_fleet_arrives_exactly_once(
    start_worker: Callable[..., Any], register: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    # acks are slower than the stations' patience: retransmissions are certain
    worker = await start_worker(batch_ms=400)
    # simulated time starts 10 minutes before an hour so the hourly data (2061) is certain
    start = (time.time() // 3600 + 1) * 3600 - 600
    config = FleetConfig(
        start_time=start,
        port=worker.bound_port,
        stations=24,
        edition="mix",
        st=("22", "32"),
        seed=7,
        time_scale=120.0,
        rtd_interval=60,
        min_interval=1,
        hourly=True,
        duration=12.0,
        drain=15.0,
        ack_timeout=0.25,
        retries=30,  # patience for a loaded machine (acks over 1.5 s): still nothing may fail
        status_every=3,
        faults=parse_faults("split:0.25"),
    )
    ids = station_identities(24, seed=7, edition="mix", st=("22", "32"))
    await register(
        *[NewStation(i.mn, i.pw, i.name, i.st, i.lat, i.lon, i.region_name) for i in ids]
    )
    result = (await run_fleet(config)).to_json()
    totals = result["totals"]
    assert totals["frames"]["retransmissions"] > 0
    assert totals["frames"]["failed"] == 0 and totals["frames"]["unacked_at_end"] == 0
    assert result["faults"]["counts"].get("split", 0) > 0
    assert {s["edition"] for s in result["stations"].values()} == {"2017", "2005"}

    rows = await db_conn.fetch(
        "SELECT s.mn, f.code, m.kind, count(*) AS n FROM measurements m "
        "JOIN stations s ON s.id = m.station_id JOIN factors f ON f.id = m.factor_id "
        "GROUP BY 1, 2, 3"
    )
    stored = {(r["mn"], r["code"], r["kind"]): r["n"] for r in rows}
    sent: dict[tuple[str, str, str], int] = {}
    for mn, station in result["stations"].items():
        for code, by_cn in station["values"].items():
            for cn, counts in by_cn.items():
                if cn in TABLE_OF_CN and counts["sent"]:
                    sent[(mn, code, TABLE_OF_CN[cn])] = counts["sent"]
    assert sent and stored == sent
    kinds = {k for _, _, k in sent}
    assert {"rtd", "minute", "hour"} <= kinds
    # the ledger holds each unique frame once, whatever the retransmissions
    dupes = await db_conn.fetchval(
        "SELECT count(*) FROM (SELECT station_id, data_time, cn, pno, digest FROM packet_ledger "
        "GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) d"
    )
    assert dupes == 0
    assert worker.pipeline.stats.duplicates > 0
