"""Alerts become cases: configuration per rule, one case per station incident (window,
priority from severity, 已恢复, 恢复结案, 自动恢复), offline after N hours, the NOTIFY listener."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.web.casework.alerts_fixture import (
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
from web.casework.cases.service import transition
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError


def test_parse_payload() -> None:
    assert parse_payload("12:firing") == (12, "firing")
    assert parse_payload(" 7:resolved ") is None or parse_payload("7:resolved") == (7, "resolved")
    assert parse_payload("x:firing") is None
    assert parse_payload("12:exploded") is None
    assert parse_payload("12") is None


async def _case(conn: asyncpg.Connection, case_id: int | None) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM cases WHERE id = $1", case_id)
    assert row is not None
    return row


async def test_one_case_per_station_incident(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    pm25 = await factor_id(db_conn, "a34004", "PM2.5")
    pm10 = await factor_id(db_conn, "a34002", "PM10")
    so2 = await factor_id(db_conn, "a21026", "SO2")
    a1 = await insert_alert(
        db_conn, rule="exceedance", station_id=w.station, factor=pm25,
        first_seen=NOW - timedelta(minutes=20), value=180.0, threshold=75.0,
    )  # fmt: skip
    result = await on_alert_event(db_pool, a1, "firing", config, now=NOW)
    assert result.outcome == "opened"
    case = await _case(db_conn, result.case_id)
    assert case["grid_id"] == w.areas["G1"] and case["source"] == "alert"
    assert case["state"] == "dispatched" and case["unit_id"] == w.units["U_ENV"]
    assert case["alert_rule"] == "exceedance" and case["category"] == "env.exceedance"
    # a 'major' alert: priority 较重, not urgent (紧急 only at 严重)
    assert (case["priority"], case["urgent"], case["recovered_at"]) == (2, False, None)
    assert case["title"] == "一号站 PM2.5 超标"
    assert case["description"] == (
        f"站点：一号站（MN 88888880000001）；因子：PM2.5；监测值：180；限值：75；级别：较重；"
        f"首次发生：2024-03-04 08:40；告警编号：{a1}（超标）"
    )
    # the category's 处置时限 (450 working minutes) from Monday 09:00 → Tuesday 09:00
    assert case["handle_deadline"] == datetime(2024, 3, 5, 9, tzinfo=TZ)
    again = await on_alert_event(db_pool, a1, "firing", config, now=NOW)
    assert again.outcome == "duplicate" and again.case_id == result.case_id

    # PM10 over its limit at the same station, graded 严重: joins, the case becomes 严重/紧急
    a2 = await insert_alert(db_conn, rule="exceedance", station_id=w.station, factor=pm10,
                            first_seen=NOW + timedelta(minutes=10), severity="critical")  # fmt: skip
    joined = await on_alert_event(db_pool, a2, "firing", config, now=NOW + timedelta(minutes=10))
    assert joined.outcome == "attached" and joined.case_id == result.case_id
    case = await _case(db_conn, result.case_id)
    assert (case["priority"], case["urgent"]) == (3, True)
    assert case["title"] == "一号站 PM2.5、PM10 超标"

    # PM2.5 clears: PM10 is still over, the case is not recovered
    t1 = NOW + timedelta(hours=1)
    await set_alert_state(db_conn, a1, "resolved", at=t1)
    assert (await on_alert_event(db_pool, a1, "resolved", config, now=t1)).outcome == "noted"
    assert (await _case(db_conn, result.case_id))["recovered_at"] is None
    # PM10 clears: 已恢复 with the time the alert cleared
    t2 = NOW + timedelta(hours=2)
    await set_alert_state(db_conn, a2, "resolved", at=t2 - timedelta(minutes=1))
    done = await on_alert_event(db_pool, a2, "resolved", config, now=t2)
    assert done.outcome == "recovered"
    assert (await _case(db_conn, result.case_id))["recovered_at"] == t2 - timedelta(minutes=1)

    # SO2 within the incident window (2 h after recovery): the same incident, active again
    t3 = t2 + timedelta(minutes=90)
    a3 = await insert_alert(db_conn, rule="exceedance", station_id=w.station, factor=so2,
                            first_seen=t3, severity="warning")  # fmt: skip
    back = await on_alert_event(db_pool, a3, "firing", config, now=t3)
    assert back.outcome == "attached" and back.case_id == result.case_id
    case = await _case(db_conn, result.case_id)
    assert case["recovered_at"] is None and case["priority"] == 3
    assert case["title"] == "一号站 PM2.5、PM10、SO2 超标"
    t4 = t3 + timedelta(minutes=30)
    await set_alert_state(db_conn, a3, "resolved", at=t4)
    assert (await on_alert_event(db_pool, a3, "resolved", config, now=t4)).outcome == "recovered"

    # PM2.5 again three hours after the recovery: a new incident, a new case
    t5 = t4 + timedelta(hours=3)
    a4 = await insert_alert(db_conn, rule="exceedance", station_id=w.station, factor=pm25,
                            first_seen=t5)  # fmt: skip
    fresh = await on_alert_event(db_pool, a4, "firing", config, now=t5)
    assert fresh.outcome == "opened" and fresh.case_id != result.case_id
    assert await db_conn.fetchval("SELECT count(*) FROM cases WHERE is_open") == 2

    trail = await record.case_trail(db_conn, result.case_id)
    notes = [e["comment"] for e in trail if e["action"] in ("note", "recovered")]
    assert notes == [
        f"PM10超标告警（编号 {a2}，级别 严重）并入本案件",
        f"告警已恢复（PM2.5，告警编号 {a1}）",
        f"告警已恢复（PM10，告警编号 {a2}）",
        "本案件的告警已全部恢复（2024-03-04 10:59），可“恢复结案”一步结案",
        f"SO2超标告警（编号 {a3}，级别 一般）并入本案件；告警重新出现，案件恢复为告警中",
        f"告警已恢复（SO2，告警编号 {a3}）",
        "本案件的告警已全部恢复（2024-03-04 13:00），可“恢复结案”一步结案",
    ]

    # the officer closes the recovered case in one step, with a reason
    officer = w.officer
    with pytest.raises(WorkflowError, match="须填写理由"):
        await transition(db_conn, result.case_id, "close_recovered", officer, config, now=t5)
    closed = await transition(db_conn, result.case_id, "close_recovered", officer, config,
                              now=t5, comment="告警均已恢复，现场无异常")  # fmt: skip
    assert closed.state.value == "archived"  # closed, then archived automatically
    case = await _case(db_conn, result.case_id)
    assert (case["close_kind"], case["closed_at"]) == ("recovered", t5)
    # the new case's alert is active: no one-step close
    with pytest.raises(WorkflowError, match="尚未全部恢复"):
        await transition(db_conn, fresh.case_id, "close_recovered", officer, config, now=t5,
                         comment="x")  # fmt: skip


async def test_rules_that_do_not_open_cases(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    pm25 = await factor_id(db_conn, "a34004", "PM2.5")
    so2 = await factor_id(db_conn, "a21026", "SO2")
    # configured off for one factor; flatline is off by default; maintenance never opens
    await set_alert_rule(
        db_conn, "exceedance", "exceedance:a21026", open_case=False, category="env.exceedance"
    )
    a4 = await insert_alert(
        db_conn, rule="exceedance", station_id=w.station, factor=so2, first_seen=NOW
    )
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


def _auto(config: CaseConfig, minutes: int) -> CaseConfig:
    cases = dataclasses.replace(config.cases, auto_close_recovered_minutes=minutes)
    return dataclasses.replace(config, cases=cases)


@pytest.mark.parametrize(
    ("cleared_after", "touched", "outcome", "state", "close_kind"),
    [
        (timedelta(minutes=30), False, "auto_closed", "archived", "auto_recovered"),
        (timedelta(minutes=30), True, "recovered", "dispatched", None),
        (timedelta(minutes=90), False, "recovered", "dispatched", None),
    ],
)
async def test_auto_recovered(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig,
    cleared_after: timedelta, touched: bool, outcome: str, state: str, close_kind: str | None,
) -> None:  # fmt: skip
    w = alerts
    auto = _auto(config, 60)
    alert = await insert_alert(db_conn, rule="exceedance", station_id=w.station, first_seen=NOW)
    opened = await on_alert_event(db_pool, alert, "firing", auto, now=NOW)
    if touched:
        await transition(db_conn, opened.case_id, "note", w.officer, auto, now=NOW,
                         comment="已电话联系运维")  # fmt: skip
    at = NOW + cleared_after
    await set_alert_state(db_conn, alert, "resolved", at=at)
    assert (await on_alert_event(db_pool, alert, "resolved", auto, now=at)).outcome == outcome
    case = await _case(db_conn, opened.case_id)
    assert (case["state"], case["close_kind"], case["recovered_at"]) == (state, close_kind, at)


async def test_sweep_replays_missed_resolutions(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    alert = await insert_alert(db_conn, rule="exceedance", station_id=w.station, first_seen=NOW)
    opened = await on_alert_event(db_pool, alert, "firing", config, now=NOW)
    await set_alert_state(db_conn, alert, "resolved", at=NOW + timedelta(minutes=5))
    await alert_case_sweep(db_pool, NOW + timedelta(minutes=10), config)
    case = await _case(db_conn, opened.case_id)
    assert case["recovered_at"] == NOW + timedelta(minutes=5)


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
            ("resolved", "recovered"),
        ]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
