"""Simulated HJ 212-2025 stations against the real ingest worker and PostgreSQL: the fleet
listed by ``envgrid simulate --list-stations`` and registered by ``envgrid station import``
is decrypted, stored and acked; heartbeats are answered; a key rotation (CN 1014) sent
by ``envgrid station rotate-key`` is confirmed by the station and taken by the server."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from envgrid.cli import main
from envgrid.settings import Settings
from ingest import cli_station
from ingest.server import IngestWorker
from simulators import FleetConfig, run_fleet
from simulators.clock import parse_start_time, zone
from store.db import connect
from store.engine import EngineInfo
from store.prepare import seed_factors

from ..ingest.conftest import make_settings

MIX = "2017:0.5,2025:0.5"


@pytest.fixture
def settings(pg_reachable_tmp: Path, db_dsn: str) -> Settings:
    return make_settings(pg_reachable_tmp / "var", db_dsn)


@pytest.fixture
async def worker(
    settings: Settings, db_dsn: str, engine_info: EngineInfo
) -> AsyncIterator[IngestWorker]:
    conn = await connect(db_dsn)
    try:
        await seed_factors(conn)
    finally:
        await conn.close()
    server = IngestWorker(settings, db_dsn, engine_info.engine, index=0)
    await server.start()
    yield server
    await server.stop()


async def _station_cli(dsn: str, settings: Settings, *argv: str) -> None:
    parser = argparse.ArgumentParser(prog="envgrid station")
    cli_station.configure(parser)
    args = parser.parse_args(argv)
    conn = await connect(dsn)
    try:
        assert await cli_station.ACTIONS[args.action](conn, args, settings) == 0
    finally:
        await conn.close()


async def test_listed_fleet_imported_decrypted_and_rotated(
    worker: IngestWorker,
    settings: Settings,
    db_dsn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--list-stations", "--stations", "8", "--edition-mix", MIX]
    assert main(argv) == 0
    listed = json.loads(capsys.readouterr().out)
    (tmp_path / "fleet.json").write_text(json.dumps(listed))
    await _station_cli(db_dsn, settings, "import", str(tmp_path / "fleet.json"))
    keyed = [s["mn"] for s in listed if "sm4_key" in s]
    assert keyed and len(keyed) < len(listed)
    await asyncio.sleep(1.0)  # the worker reloads its registry (keys) after the import

    tz = zone("Asia/Shanghai")
    config = FleetConfig(
        port=worker.bound_port,
        stations=8,
        edition=MIX,
        encrypt=True,
        heartbeat=20.0,
        time_scale=60.0,
        start_time=parse_start_time("2026-12-06T08:58:00", tz),
        duration=4.0,
        drain=4.0,
        ack_timeout=1.0,
        reconnect_min=0.05,
        uvloop=False,
    )
    fleet = asyncio.create_task(run_fleet(config))
    await asyncio.sleep(1.5)
    await _station_cli(db_dsn, settings, "rotate-key", keyed[0])
    result = await fleet

    frames = result.frames
    assert frames["sent"] == frames["acked"] > 50 and frames["failed"] == 0
    assert frames["heartbeats_sent"] == frames["heartbeats_answered"] > 0
    assert result.totals["errors"]["decode"] == {}
    assert result.stations[keyed[0]]["commands"] == {"1014": 1}
    conn = await asyncpg.connect(db_dsn)
    try:
        stored = dict(
            await conn.fetch(
                "SELECT s.mn, count(*) FROM packet_ledger l JOIN stations s"
                " ON s.id = l.station_id GROUP BY s.mn"
            )
        )
        rotation = await conn.fetchrow(
            "SELECT c.status, s.sm4_prev_key IS NOT NULL AS kept_old FROM station_commands c"
            " JOIN stations s ON s.id = c.station_id WHERE c.cn = 1014"
        )
        editions = dict(await conn.fetch("SELECT mn, edition FROM stations"))
    finally:
        await conn.close()
    for mn, summary in result.stations.items():  # every unique upload stored once
        assert stored.get(mn, 0) == sum(row["sent"] for row in summary["cn"].values()), mn
    assert rotation is not None and rotation["status"] == "succeeded" and rotation["kept_old"]
    assert {mn for mn, e in editions.items() if e == "2025"} == set(keyed)  # seen on the wire
