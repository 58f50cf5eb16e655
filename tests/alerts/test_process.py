"""The engine as a process (``envgrid.leader.run_alerts``, as the supervisor spawns it) and
its behaviour when the database drops every connection."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from pathlib import Path

import asyncpg

from alerts.service import AlertService
from store.db import connect
from store.engine import EngineInfo
from store.feed import READINGS_CHANNEL, readings_payloads
from store.stations import NewStation
from tests.conftest import PgAdmin, dsn_database

from .conftest import alert_settings, factor_id, register, store_rtd, wait_for

AIR = NewStation("AQ0000000000000000000001", "123456", "西湖站", "22", 30.27, 120.15, "西湖区")


async def _app_connected(conn: asyncpg.Connection, name: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
            " AND datname = current_database()",
            name,
        )
    )


async def test_run_alerts_process_starts_and_stops_on_sigterm(
    db_dsn: str, engine_info: EngineInfo, pg_reachable_tmp: Path
) -> None:
    from envgrid.leader import run_alerts

    settings = alert_settings(db_dsn, pg_reachable_tmp, catchup_s=0)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=run_alerts, args=(settings, db_dsn, engine_info.engine, 0))
    proc.start()
    conn = await connect(db_dsn)
    try:
        await wait_for(lambda: _app_connected(conn, "envgrid-alerts-listen"), timeout=30)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while proc.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not proc.is_alive(), "the alert engine did not stop on SIGTERM"
        assert proc.exitcode == 0
        # it saved its state on the way out
        # the engine's own key (the scheduler's means job may have saved "means_done" too)
        saved = "SELECT count(*) FROM alert_engine_meta WHERE key = 'state_saved_at'"
        assert await conn.fetchval(saved) == 1
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        await conn.close()


async def test_database_drops_connections_nothing_is_lost(
    db_dsn: str, pg_admin: PgAdmin, pg_reachable_tmp: Path
) -> None:
    """Every session is killed: the listener reconnects, the data stored meanwhile is
    re-evaluated, transitions that could not be written are retried."""
    ids = await register(db_dsn, AIR)
    sid = ids[AIR.mn]
    settings = alert_settings(db_dsn, pg_reachable_tmp, flush_ms=20, catchup_s=0, pending_count=2)
    database = dsn_database(db_dsn)
    async with AlertService(settings, db_dsn) as svc:
        conn = await connect(db_dsn)
        try:
            pm25 = await factor_id(conn, "a34004")
            now = float(await conn.fetchval("SELECT extract(epoch FROM now())"))
        finally:
            await conn.close()
        await asyncio.to_thread(pg_admin.terminate_connections, database)
        conn = await connect(db_dsn)
        try:
            # stored while the engine had no listener: found by the catch-up
            await store_rtd(conn, [(sid, pm25, now - 60 + 30 * i, 500.0, "N") for i in range(2)])
            await wait_for(lambda: _app_connected(conn, "envgrid-alerts-listen"), timeout=15)
            rows = await wait_for(
                lambda: conn.fetch("SELECT rule, state FROM alerts WHERE state = 'firing'"),
                timeout=15,
            )
            assert [(r["rule"], r["state"]) for r in rows] == [("exceedance", "firing")]
            # and the live feed works again
            await conn.execute(
                "SELECT pg_notify($1, $2)",
                READINGS_CHANNEL,
                *readings_payloads("r", [(sid, pm25, now + 60, 1.0, "N")]),
            )
            await conn.execute(
                "SELECT pg_notify($1, $2)",
                READINGS_CHANNEL,
                *readings_payloads("r", [(sid, pm25, now + 90, 1.0, "N")]),
            )
            await wait_for(
                lambda: conn.fetchval("SELECT count(*) = 1 FROM alerts WHERE state = 'resolved'"),
                timeout=10,
            )
        finally:
            await conn.close()
        assert svc.flushes >= 2
