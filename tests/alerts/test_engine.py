"""The engine against a real PostgreSQL: readings on envgrid_readings → alerts, history,
NOTIFY envgrid_alerts; restarts (saved state, catch-up); manual resolve; config reload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from alerts import api
from alerts.service import AlertService
from store.db import connect
from store.feed import READINGS_CHANNEL, readings_payloads
from store.stations import NewStation

from .conftest import alert_settings, factor_id, register, store_rtd, wait_for

AIR = NewStation("AQ0000000000000000000001", "123456", "西湖站", "22", 30.27, 120.15, "西湖区")
AIR2 = NewStation("AQ0000000000000000000002", "123456", "滨江站", "22", 30.2, 120.2, "滨江区")
T0 = 1_795_000_000.0  # 2026-11-18


def payload(items: list[tuple[int, int, float, float, str]], kind: str = "r") -> str:
    (one,) = readings_payloads(kind, items)
    return one


class Feed:
    """Announces readings the way the ingest writer does (optionally storing them)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def send(self, *items: tuple[int, int, float, float, str], store: bool = False) -> None:
        if store:
            await store_rtd(self.conn, list(items))
        await self.conn.execute("SELECT pg_notify($1, $2)", READINGS_CHANNEL, payload(list(items)))


async def alerts_of(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT id, rule, state, count, value, fired_at IS NOT NULL AS fired FROM alerts ORDER BY id"
    )
    return [dict(r) for r in rows]


async def test_exceedance_lifecycle_history_and_notify(db_dsn: str, pg_reachable_tmp: Path) -> None:
    ids = await register(db_dsn, AIR)
    sid = ids[AIR.mn]
    settings = alert_settings(db_dsn, pg_reachable_tmp, flush_ms=20, catchup_s=0)
    conn = await connect(db_dsn)
    seen: list[str] = []
    await conn.add_listener("envgrid_alerts", lambda *a: seen.append(a[3]))
    try:
        pm25 = await factor_id(conn, "a34004")
        feed = Feed(conn)
        async with AlertService(settings, db_dsn) as svc:
            limit = svc.cfg().builtin["22"]["a34004"].upper
            assert limit is not None
            await feed.send((sid, pm25, T0, limit + 10, "N"))
            rows = await wait_for(lambda: alerts_of(conn))
            assert rows[0]["state"] == "pending" and not rows[0]["fired"]
            await feed.send((sid, pm25, T0 + 30, limit + 20, "N"))
            await wait_for(lambda: _state(conn, rows[0]["id"], "firing"))
            await feed.send((sid, pm25, T0 + 60, limit + 25, "N"))
            await feed.send(
                (sid, pm25, T0 + 90, limit * 0.9, "N"), (sid, pm25, T0 + 120, limit * 0.9, "N")
            )
            await wait_for(lambda: _state(conn, rows[0]["id"], "resolved"))
            detail = await api.get_alert(conn, rows[0]["id"])
            assert detail is not None
            a = detail.alert
            # graded by ratio: (limit + 20) / limit < 1.5 → 一般
            assert (a.rule, a.count, a.severity, a.region) == ("exceedance", 3, "warning", "西湖区")
            assert a.first_seen == datetime.fromtimestamp(T0, UTC)
            assert [v["v"] for v in a.trigger_values] == [limit + 10, limit + 20]
            assert a.labels["factor_code"] == "a34004" and "GB 3095" in a.labels["source"]
            assert [e["kind"] for e in detail.events] == ["pending", "firing", "resolved"]
            assert a.resolved_by == "system"
            await wait_for(lambda: _true(len(seen) >= 3))
            assert seen == [f"{a.id}:pending", f"{a.id}:firing", f"{a.id}:resolved"]
    finally:
        await conn.close()


async def _state(conn: asyncpg.Connection, alert_id: int, state: str) -> bool:
    return bool(await conn.fetchval("SELECT state = $2 FROM alerts WHERE id = $1", alert_id, state))


async def _true(value: bool) -> bool:
    return value


async def test_restart_keeps_rule_state_and_catches_up(db_dsn: str, pg_reachable_tmp: Path) -> None:
    """A stuck sensor: half of the run before a restart (saved state), the rest while the
    engine is down (stored in measurements_rtd, caught up) — the flatline still fires once."""
    ids = await register(db_dsn, AIR)
    sid = ids[AIR.mn]
    settings = alert_settings(
        db_dsn, pg_reachable_tmp, flush_ms=20, flatline_count=10, flatline_s=0, catchup_s=600
    )
    conn = await connect(db_dsn)
    try:
        so2 = await factor_id(conn, "a21026")
        feed = Feed(conn)
        now = float(await conn.fetchval("SELECT extract(epoch FROM now())"))
        start = now - 300
        async with AlertService(settings, db_dsn) as svc:
            for i in range(6):
                await feed.send((sid, so2, start + 30 * i, 30.0, "N"), store=True)
            await wait_for(lambda: _true(svc.evaluator is not None and svc.evaluator.values >= 6))
            saved = await svc.save_state()
            assert saved == 1  # the flatline run of 6 values
        # down: four more identical values are stored (nobody listens)
        for i in range(6, 10):
            await feed.send((sid, so2, start + 30 * i, 30.0, "N"), store=True)
        assert await alerts_of(conn) == []
        async with AlertService(settings, db_dsn):
            rows = await wait_for(lambda: alerts_of(conn))
            assert [(r["rule"], r["state"]) for r in rows] == [("flatline", "firing")]
            # live data continues the same run: no second alert, then a change resolves it
            await feed.send((sid, so2, start + 300, 30.0, "N"))
            await feed.send((sid, so2, start + 330, 33.0, "N"))
            await wait_for(lambda: _state(conn, rows[0]["id"], "resolved"))
        assert len(await alerts_of(conn)) == 1
    finally:
        await conn.close()


async def test_manual_resolve_and_ack(db_dsn: str, pg_reachable_tmp: Path) -> None:
    ids = await register(db_dsn, AIR)
    sid = ids[AIR.mn]
    settings = alert_settings(db_dsn, pg_reachable_tmp, flush_ms=20, catchup_s=0)
    conn = await connect(db_dsn)
    try:
        pm25 = await factor_id(conn, "a34004")
        feed = Feed(conn)
        async with AlertService(settings, db_dsn) as svc:
            limit = svc.cfg().builtin["22"]["a34004"].upper
            assert limit is not None
            await feed.send((sid, pm25, T0, limit * 2, "N"), (sid, pm25, T0 + 30, limit * 2, "N"))
            rows = await wait_for(lambda: alerts_of(conn))
            first = rows[0]["id"]
            await wait_for(lambda: _state(conn, first, "firing"))
            acked = await api.acknowledge_alert(conn, first, user="张三", comment="已派人")
            assert acked.state == "acknowledged" and acked.acknowledged_by == "张三"
            # the engine keeps touching the acknowledged alert without undoing the ack
            await feed.send((sid, pm25, T0 + 60, limit * 2, "N"))
            await wait_for(lambda: _count(conn, first, 3))
            assert await _state(conn, first, "acknowledged")
            resolved = await api.resolve_alert(conn, first, user="张三", comment="误报")
            assert resolved.resolved_by == "张三"
            # still above the limit: the engine starts over (pending, then a new alert)
            await asyncio.sleep(0.2)
            await feed.send((sid, pm25, T0 + 90, limit * 2, "N"))
            await feed.send((sid, pm25, T0 + 120, limit * 2, "N"))
            rows = await wait_for(lambda: _rows_n(conn, 2))
            assert rows[1]["state"] == "firing" and rows[0]["state"] == "resolved"
            detail = await api.get_alert(conn, first)
            assert detail is not None
            kinds = [(e["kind"], e["actor"]) for e in detail.events]
            assert kinds == [
                ("pending", "system"),
                ("firing", "system"),
                ("acknowledged", "张三"),
                ("resolved", "张三"),
            ]
    finally:
        await conn.close()


async def _count(conn: asyncpg.Connection, alert_id: int, n: int) -> bool:
    return bool(await conn.fetchval("SELECT count >= $2 FROM alerts WHERE id = $1", alert_id, n))


async def _rows_n(conn: asyncpg.Connection, n: int) -> list[dict[str, Any]] | None:
    rows = await alerts_of(conn)
    return rows if len(rows) >= n else None


async def test_config_change_applies_at_once(db_dsn: str, pg_reachable_tmp: Path) -> None:
    """A station-level limit set through the API is used for the next value; a disabled
    limit exempts the station."""
    ids = await register(db_dsn, AIR, AIR2)
    settings = alert_settings(db_dsn, pg_reachable_tmp, flush_ms=20, catchup_s=0, pending_count=1)
    conn = await connect(db_dsn)
    try:
        no2 = await factor_id(conn, "a21004")
        feed = Feed(conn)
        async with AlertService(settings, db_dsn) as svc:
            await api.set_limit(
                conn,
                factor_code="a21004",
                level="station",
                scope_key=ids[AIR.mn],
                upper=50.0,
                user="t",
            )
            await api.set_limit(
                conn,
                factor_code="a21004",
                level="region",
                scope_key="滨江区",
                enabled=False,
                user="t",
            )
            await wait_for(lambda: _true(svc.evaluator is not None and svc.evaluator.gen >= 1))
            await feed.send((ids[AIR.mn], no2, T0, 60.0, "N"), (ids[AIR2.mn], no2, T0, 900.0, "N"))
            rows = await wait_for(lambda: alerts_of(conn))
            await asyncio.sleep(0.2)
            rows = await alerts_of(conn)
            assert [(r["rule"], r["value"]) for r in rows] == [("exceedance", 60.0)]
            effective = await api.effective_rules(conn, settings, AIR.mn)
            no2_rules = next(e for e in effective if e["factor_code"] == "a21004")
            assert no2_rules["exceedance"]["upper"] == 50.0
    finally:
        await conn.close()


async def test_station_registered_after_start_is_evaluated_promptly(
    db_dsn: str, pg_reachable_tmp: Path
) -> None:
    await register(db_dsn, AIR)
    settings = alert_settings(db_dsn, pg_reachable_tmp, flush_ms=20, catchup_s=0, pending_count=1)
    conn = await connect(db_dsn)
    try:
        async with AlertService(settings, db_dsn):
            ids = await register(db_dsn, AIR2)  # after the engine loaded its configuration
            co = await factor_id(conn, "a21005")
            await Feed(conn).send((ids[AIR2.mn], co, T0, 50.0, "N"))
            rows = await wait_for(lambda: alerts_of(conn), timeout=5)
            assert [(r["rule"], r["value"]) for r in rows] == [("exceedance", 50.0)]
    finally:
        await conn.close()
