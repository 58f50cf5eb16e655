"""Alerts become cases: configuration per rule, one open case per (station, rule),
resolved alerts add notes, offline after N hours, the NOTIFY listener."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.web.casework.alerts_fixture import (
    ensure_alerts_table,
    factor_id,
    insert_alert,
    set_alert_state,
)
from tests.web.casework.conftest import NOW, TZ, World
from web.casework.cases import record
from web.casework.cases.bridge import (
    alert_case_sweep,
    on_alert_event,
    parse_payload,
    run_alert_listener,
    set_alert_rule,
)
from web.casework.kernel.config import CaseConfig


@pytest.fixture
async def alerts(db_conn: asyncpg.Connection, world: World) -> World:
    await ensure_alerts_table(db_conn)
    return world


def test_parse_payload() -> None:
    assert parse_payload("12:firing") == (12, "firing")
    assert parse_payload(" 7:resolved ") is None or parse_payload("7:resolved") == (7, "resolved")
    assert parse_payload("x:firing") is None
    assert parse_payload("12:exploded") is None
    assert parse_payload("12") is None


async def test_exceedance_opens_one_case_per_station_rule(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    pm25 = await factor_id(db_conn, "a34004", "PM2.5")
    a1 = await insert_alert(
        db_conn,
        rule="exceedance",
        station_id=w.station,
        factor=pm25,
        first_seen=NOW - timedelta(minutes=20),
        value=180.0,
        threshold=75.0,
    )
    result = await on_alert_event(db_pool, a1, "firing", config, now=NOW)
    assert result.outcome == "opened"
    case = await db_conn.fetchrow("SELECT * FROM cases WHERE id = $1", result.case_id)
    assert case["grid_id"] == w.areas["G1"] and case["source"] == "alert"
    assert case["state"] == "dispatched" and case["unit_id"] == w.units["U_ENV"]
    assert case["alert_rule"] == "exceedance:a34004" and case["category"] == "env.exceedance"
    assert case["urgent"] is True
    assert case["title"] == "一号站 PM2.5 超标"
    assert case["description"] == (
        f"站点：一号站（MN 88888880000001）；因子：PM2.5；监测值：180；限值：75；级别：严重；"
        f"首次发生：2024-03-04 08:40；告警编号：{a1}（超标）"
    )
    # the category's 处置时限 (450 working minutes) from Monday 09:00 → Tuesday 09:00
    assert case["handle_deadline"] == datetime(2024, 3, 5, 9, tzinfo=TZ)

    # the same notification again does nothing
    again = await on_alert_event(db_pool, a1, "firing", config, now=NOW)
    assert again.outcome == "duplicate" and again.case_id == result.case_id
    # resolved: a note, the case stays open
    await set_alert_state(db_conn, a1, "resolved")
    noted = await on_alert_event(db_pool, a1, "resolved", config, now=NOW + timedelta(hours=1))
    assert noted.outcome == "noted" and noted.case_id == result.case_id
    assert await db_conn.fetchval("SELECT state FROM cases WHERE id = $1", result.case_id) == (
        "dispatched"
    )
    # it fires again while the case is open: attached, no new case
    a2 = await insert_alert(
        db_conn,
        rule="exceedance",
        station_id=w.station,
        factor=pm25,
        first_seen=NOW + timedelta(hours=2),
    )
    attached = await on_alert_event(db_pool, a2, "firing", config, now=NOW + timedelta(hours=2))
    assert attached.outcome == "attached" and attached.case_id == result.case_id
    assert await db_conn.fetchval("SELECT count(*) FROM cases") == 1
    trail = await record.case_trail(db_conn, result.case_id)
    notes = [e["comment"] for e in trail if e["action"] == "note"]
    assert notes == [
        f"告警已恢复（告警编号 {a1}）；案件仍需按流程核查结案",
        f"告警再次触发（告警编号 {a2}），已并入本案件",
    ]
    # another pollutant is another problem
    so2 = await factor_id(db_conn, "a21026", "SO2")
    a3 = await insert_alert(
        db_conn, rule="exceedance", station_id=w.station, factor=so2, first_seen=NOW
    )
    assert (await on_alert_event(db_pool, a3, "firing", config, now=NOW)).outcome == "opened"
    # configured off for one factor; flatline is off by default; maintenance never opens
    await set_alert_rule(
        db_conn, "exceedance", "exceedance:a21026", open_case=False, category="env.exceedance"
    )
    await set_alert_state(db_conn, a3, "resolved")
    a4 = await insert_alert(
        db_conn, rule="exceedance", station_id=w.station, factor=so2, first_seen=NOW
    )
    await db_conn.execute("UPDATE cases SET state = 'cancelled' WHERE alert_rule LIKE '%a21026'")
    assert (await on_alert_event(db_pool, a4, "firing", config, now=NOW)).outcome == "skipped"
    flat = await insert_alert(
        db_conn, rule="flatline", station_id=w.station, factor=pm25, first_seen=NOW
    )
    assert (await on_alert_event(db_pool, flat, "firing", config, now=NOW)).outcome == "skipped"
    maint = await insert_alert(
        db_conn, rule="maintenance", station_id=w.station, factor=pm25, first_seen=NOW
    )
    assert (await on_alert_event(db_pool, maint, "firing", config, now=NOW)).outcome == "skipped"
    assert (await on_alert_event(db_pool, maint, "pending", config)).outcome == "ignored"
    assert (await on_alert_event(db_pool, 999999, "firing", config)).outcome == "missing"


async def test_offline_waits_for_n_hours(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    alert = await insert_alert(
        db_conn, rule="offline", station_id=w.station, first_seen=NOW - timedelta(hours=1)
    )
    early = await on_alert_event(db_pool, alert, "firing", config, now=NOW)
    assert early.outcome == "waiting"
    assert await alert_case_sweep(db_pool, NOW + timedelta(hours=2), config) == 0
    # 4 hours offline (case_alert_rules default) → the sweep opens the case
    assert await alert_case_sweep(db_pool, NOW + timedelta(hours=3, minutes=1), config) == 1
    assert await alert_case_sweep(db_pool, NOW + timedelta(hours=4), config) == 0
    case = await db_conn.fetchrow("SELECT title, category, state FROM cases")
    assert (case["title"], case["category"], case["state"]) == (
        "一号站 站点离线",
        "env.offline",
        "dispatched",
    )


async def test_station_without_unit_stays_filed(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    await db_conn.execute("DELETE FROM area_units")
    alert = await insert_alert(db_conn, rule="exceedance", station_id=w.station, first_seen=NOW)
    result = await on_alert_event(db_pool, alert, "firing", config, now=NOW)
    assert result.outcome == "opened"
    assert await db_conn.fetchval("SELECT state FROM cases") == "filed"
    off = dataclasses.replace(config, cases=dataclasses.replace(config.cases, auto_dispatch=False))
    await set_alert_state(db_conn, alert, "resolved")
    other = await insert_alert(db_conn, rule="jump", station_id=w.station, first_seen=NOW)
    await set_alert_rule(db_conn, "jump", open_case=True, category="env.jump")
    assert (await on_alert_event(db_pool, other, "firing", off, now=NOW)).outcome == "opened"


async def test_listener_bridges_notifications(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    task = asyncio.create_task(run_alert_listener(db_pool, config, retry_s=0.1))
    try:
        # a firing alert that was committed before the listener started is caught up
        missed = await insert_alert(
            db_conn, rule="exceedance", station_id=w.station, first_seen=NOW
        )
        for _ in range(100):
            if await db_conn.fetchval("SELECT count(*) FROM case_alert_links") >= 1:
                break
            await asyncio.sleep(0.05)
        await db_conn.execute("SELECT pg_notify('envgrid_alerts', 'garbage')")
        await set_alert_state(db_conn, missed, "resolved", notify=True)
        for _ in range(100):
            if await db_conn.fetchval("SELECT count(*) FROM case_alert_links") >= 2:
                break
            await asyncio.sleep(0.05)
        links = await db_conn.fetch("SELECT state, outcome FROM case_alert_links ORDER BY at")
        assert [(r["state"], r["outcome"]) for r in links] == [
            ("firing", "opened"),
            ("resolved", "noted"),
        ]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
