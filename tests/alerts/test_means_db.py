"""The exceedance-on-means job against a real PostgreSQL: real-time rows stored, the hourly
rollup's validity (``hourly_values``), alerts written with their labels and events, the
judged-hours mark and the restore after a restart."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from alerts.loader import load_config
from alerts.means_job import DONE_KEY, MeanJudge
from alerts.rules import Change
from alerts.service import AlertService
from alerts.writer import AlertWriter, Transition
from store.db import connect, create_pool
from store.stations import NewStation, update_station

from .conftest import alert_settings, factor_id, register, store_rtd

NOISY = NewStation("MQ0000000000000000000001", "123456", "西湖站", "22", 30.27, 120.15, "西湖区")
CALM = NewStation("MQ0000000000000000000002", "123456", "滨江站", "22", 30.2, 120.2, "滨江区")
SPARSE = NewStation("MQ0000000000000000000003", "123456", "萧山站", "22", 30.1, 120.3, "萧山区")


def _hour(station: int, factor: int, start: float, values: tuple[float, ...], minutes: int = 60):
    """One value a minute for ``minutes`` minutes, cycling through ``values``."""
    return [
        (station, factor, start + 60 * i + 5, values[i % len(values)], "N") for i in range(minutes)
    ]


async def test_hourly_means_raise_and_clear_exceedances(
    db_dsn: str, pg_reachable_tmp: Path
) -> None:
    ids = await register(db_dsn, NOISY, CALM, SPARSE)
    conn = await connect(db_dsn)
    pool: asyncpg.Pool | None = None
    try:
        for mn in ids:
            await update_station(conn, mn, rtd_interval=60)
        o3 = await factor_id(conn, "a05024")
        now = float(await conn.fetchval("SELECT extract(epoch FROM now())::float8"))
        a = math.floor(now / 3600) * 3600 - 3 * 3600  # three hours ago, and the next hour
        b = a + 3600
        noisy, calm, sparse = ids[NOISY.mn], ids[CALM.mn], ids[SPARSE.mn]
        rows = [
            # hour a: mean 250 > 200 (1.25×) — hour b: mean 200, not over the limit
            *_hour(noisy, o3, a, (150.0, 350.0)),
            *_hour(noisy, o3, b, (50.0, 350.0)),
            # every other value over 200, the means at 190: single values would alert
            *_hour(calm, o3, a, (80.0, 300.0)),
            *_hour(calm, o3, b, (80.0, 300.0)),
            # 40 minutes of 400: no valid hourly mean (≥ 45 minutes), so no alert
            *_hour(sparse, o3, a, (400.0,), minutes=40),
        ]
        await store_rtd(conn, rows)
        settings = alert_settings(db_dsn, pg_reachable_tmp, exceedance_basis="")
        pool = await create_pool(db_dsn, min_size=1, max_size=2)
        config = await load_config(pool, settings)
        writer = AlertWriter()
        await writer.load(pool)
        judge = MeanJudge()
        judge.done = a
        result = await judge.run(pool, writer, config)
        assert result.hours >= 2 and (result.fired, result.resolved) == (1, 1)
        alerts = await conn.fetch(
            "SELECT id, station_id, state, severity, value, threshold, data_kind, labels"
            " FROM alerts WHERE rule = 'exceedance'"
        )
        assert [(r["station_id"], r["state"]) for r in alerts] == [(noisy, "resolved")]
        alert = alerts[0]
        # the latest value is the clearing hour's mean; the labels keep the exceedance
        assert (alert["severity"], alert["value"], alert["threshold"]) == ("warning", 200.0, 200.0)
        labels = alert["labels"]
        assert labels["averaging"] == "1h" and (labels["mean"], labels["ratio"]) == (250.0, 1.25)
        assert labels["source"].endswith("二级 1小时平均") and labels["factor_code"] == "a05024"
        events = await conn.fetch(
            "SELECT kind FROM alert_events WHERE alert_id = $1 ORDER BY id", alert["id"]
        )
        assert [e["kind"] for e in events] == ["firing", "resolved"]
        assert (
            float(
                await conn.fetchval(
                    "SELECT value::float8 FROM alert_engine_meta WHERE key = $1", DONE_KEY
                )
            )
            == judge.done
        )

        # a new judge (a restart) picks up the mark and judges nothing twice
        again = MeanJudge()
        rerun = await again.run(pool, writer, config)
        assert rerun.fired == 0 and again.done == judge.done
    finally:
        if pool is not None:
            await pool.close()
        await conn.close()


async def test_open_alert_state_survives_a_restart(db_dsn: str, pg_reachable_tmp: Path) -> None:
    ids = await register(db_dsn, NOISY)
    conn = await connect(db_dsn)
    pool: asyncpg.Pool | None = None
    try:
        await update_station(conn, NOISY.mn, rtd_interval=60)
        o3 = await factor_id(conn, "a05024")
        now = float(await conn.fetchval("SELECT extract(epoch FROM now())::float8"))
        a = math.floor(now / 3600) * 3600 - 2 * 3600
        sid = ids[NOISY.mn]
        # 3.5× the 1-h limit → 严重 (two hours: still standing when the job runs)
        await store_rtd(conn, _hour(sid, o3, a, (700.0,)) + _hour(sid, o3, a + 3600, (700.0,)))
        settings = alert_settings(db_dsn, pg_reachable_tmp, exceedance_basis="")
        pool = await create_pool(db_dsn, min_size=1, max_size=2)
        config = await load_config(pool, settings)
        writer = AlertWriter()
        judge = MeanJudge()
        judge.done = a
        await writer.load(pool)
        assert (await judge.run(pool, writer, config)).fired == 1
        row = await conn.fetchrow("SELECT state, severity FROM alerts WHERE rule = 'exceedance'")
        assert (row["state"], row["severity"]) == ("firing", "critical")
        restarted = MeanJudge()
        assert restarted.restore(await writer.load(pool), config) == 1
        state = restarted.states[(ids[NOISY.mn], o3)]
        assert state.firing and set(state.exceeded) == {"1h"} and state.severity == "critical"
        # the engine does the same at start, and its job finds nothing new to judge
        async with AlertService(settings, db_dsn) as svc:
            assert svc.means.states[(sid, o3)].firing
            assert (await svc.judge_means()).hours == 0
    finally:
        if pool is not None:
            await pool.close()
        await conn.close()


def _offline(sid: int, action: str, ts: float, severity: str = "warning") -> Transition:
    """An offline transition of station ``sid`` as the engine hands it to the writer."""
    change = Change(action, "offline", ts, None, severity)  # type: ignore[arg-type]
    return Transition(("offline", f"station:{sid}", 0), change, sid)


@asynccontextmanager
async def _writer(
    db_dsn: str, station: NewStation
) -> AsyncIterator[tuple[int, AlertWriter, asyncpg.Connection]]:
    """(the station's id, a loaded alert writer, a connection) on a fresh database."""
    ids = await register(db_dsn, station)
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        writer = AlertWriter()
        await writer.load(pool)
        async with pool.acquire() as conn:
            yield ids[station.mn], writer, conn
    finally:
        await pool.close()


async def test_a_worse_grade_escalates_the_open_alert(db_dsn: str) -> None:
    """A touch with a worse severity raises the open alert's and records ``escalated``; a
    milder one (a maintenance touch, a falling ratio) never lowers it."""
    async with _writer(db_dsn, NOISY) as (sid, writer, conn):
        await writer.apply(conn, [_offline(sid, "firing", 1000.0)])
        await writer.apply(conn, [_offline(sid, "touch", 2000.0, "major")])
        await writer.apply(conn, [_offline(sid, "touch", 3000.0)])
        row = await conn.fetchrow("SELECT id, severity FROM alerts WHERE rule = 'offline'")
        kinds = await conn.fetch(
            "SELECT kind, data->>'severity' AS sev FROM alert_events WHERE alert_id = $1"
            " ORDER BY id",
            row["id"],
        )
    assert row["severity"] == "major"
    assert [(k["kind"], k["sev"]) for k in kinds] == [("firing", None), ("escalated", "major")]


async def test_a_key_that_clears_and_fires_again_in_one_batch(db_dsn: str) -> None:
    """A batch that resolves a key's alert and opens its next one keeps both: the update
    leaves the open-alert index before the insert (it used to collide and lose the new
    alert — ``envgrid bench exceedance`` lost a fifth of the real-time alerts so)."""
    async with _writer(db_dsn, CALM) as (sid, writer, conn):
        await writer.apply(conn, [_offline(sid, "firing", 1000.0)])
        await writer.apply(
            conn, [_offline(sid, "resolved", 2000.0), _offline(sid, "firing", 2100.0)]
        )
        rows = await conn.fetch(
            "SELECT state FROM alerts WHERE rule = 'offline' AND station_id = $1 ORDER BY id",
            sid,
        )
    assert [r["state"] for r in rows] == ["resolved", "firing"]
    assert writer.open[("offline", f"station:{sid}", 0)].state == "firing"
