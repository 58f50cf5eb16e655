"""An open alert whose severity is raised (``escalated``) raises its case's priority: from
the real alert writer's NOTIFY through the listener, for acknowledged alerts, with the
rule's ``urgent`` setting, never for a closed case, and through the sweep when the
notification was missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from alerts.rules import Change
from alerts.writer import AlertWriter, Transition
from tests.web.casework.alerts_fixture import factor_id, insert_alert
from tests.web.casework.conftest import NOW, World
from web.casework.cases import record
from web.casework.cases.bridge import (
    alert_case_sweep,
    on_alert_event,
    run_alert_listener,
    set_alert_rule,
)
from web.casework.kernel.config import CaseConfig


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the bridge did not get there in 5 s")


async def _case(conn: asyncpg.Connection) -> tuple[int, int, bool]:
    row = await conn.fetchrow("SELECT id, priority, urgent FROM cases")
    assert row is not None
    return row["id"], row["priority"], row["urgent"]


async def test_engine_escalation_reaches_the_case(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    """The alert writer fires a 一般 PM2.5 alert, then escalates it to 较重 and 严重 (an
    ``escalated`` event, NOTIFY ``<id>:firing`` again): the case follows, 紧急 at 严重."""
    w = alerts
    pm25 = await factor_id(db_conn, "a34004", "PM2.5")
    writer = AlertWriter()
    await writer.load(db_pool)
    key = ("exceedance", f"station:{w.station}", pm25)
    t0 = NOW.timestamp()

    async def engine(action: str, severity: str, dt: float) -> None:
        change = Change(action, "exceedance", t0 + dt, 150.0, severity, 75.0, "above")  # type: ignore[arg-type]
        await writer.apply(db_conn, [Transition(key, change, w.station)], now=t0 + dt)

    links = "SELECT count(*) FROM case_alert_links"
    task = asyncio.create_task(run_alert_listener(db_pool, config, retry_s=0.1))
    try:
        await engine("firing", "warning", 0)
        await _until(lambda: _count(db_conn, links, 1))
        case_id, priority, urgent = await _case(db_conn)
        assert (priority, urgent) == (1, False)
        await engine("touch", "major", 600)
        await _until(lambda: _count(db_conn, "SELECT priority FROM cases", 2))
        assert (await _case(db_conn))[1:] == (2, False)
        await engine("touch", "critical", 1200)
        await _until(lambda: _count(db_conn, "SELECT priority FROM cases", 3))
        assert (await _case(db_conn))[1:] == (3, True)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    alert_id = await db_conn.fetchval("SELECT id FROM alerts WHERE rule = 'exceedance'")
    events = await db_conn.fetch(
        "SELECT kind FROM alert_events WHERE alert_id = $1 ORDER BY id", alert_id
    )
    assert [e["kind"] for e in events] == ["firing", "escalated", "escalated"]
    trail = await record.case_trail(db_conn, case_id)
    assert [e["comment"] for e in trail if e["action"] == "note"] == [
        f"PM2.5超标告警（编号 {alert_id}）级别升为较重，案件优先级升为较重",
        f"PM2.5超标告警（编号 {alert_id}）级别升为严重，案件优先级升为严重，紧急",
    ]
    assert await db_conn.fetchval(links) == 1  # still one link: escalations add none


async def _count(conn: asyncpg.Connection, sql: str, want: int) -> bool:
    return bool(await conn.fetchval(sql) == want)


@pytest.mark.parametrize(
    ("state", "severity", "urgent_rule", "close_first", "outcome", "priority", "urgent"),
    [
        ("firing", "critical", None, False, "escalated", 3, True),
        ("acknowledged", "major", None, False, "escalated", 2, False),
        ("firing", "critical", False, False, "escalated", 3, False),  # rule: never 紧急
        ("firing", "warning", None, False, "duplicate", 1, False),  # not raised
        ("firing", "critical", None, True, "duplicate", 1, False),  # case closed
        ("resolved", "critical", None, False, "recovered", 1, False),  # not an escalation
    ],
)
async def test_escalation_table(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig,
    state: str, severity: str, urgent_rule: bool | None, close_first: bool, outcome: str,
    priority: int, urgent: bool,
) -> None:  # fmt: skip
    w = alerts
    if urgent_rule is not None:
        await set_alert_rule(
            db_conn, "exceedance", open_case=True, category="env.exceedance", urgent=urgent_rule
        )
    alert = await insert_alert(
        db_conn, rule="exceedance", station_id=w.station, first_seen=NOW, severity="warning"
    )
    opened = await on_alert_event(db_pool, alert, "firing", config, now=NOW)
    assert opened.outcome == "opened"
    if close_first:
        await db_conn.execute("UPDATE cases SET state = 'cancelled' WHERE id = $1", opened.case_id)
    await db_conn.execute(
        "UPDATE alerts SET severity = $2, state = $3,"
        " resolved_at = CASE WHEN $3 = 'resolved' THEN $4::timestamptz END WHERE id = $1",
        alert, severity, state, NOW,
    )  # fmt: skip
    result = await on_alert_event(db_pool, alert, state, config, now=NOW)
    assert (result.outcome, result.case_id) == (outcome, opened.case_id)
    row = await db_conn.fetchrow("SELECT priority, urgent FROM cases")
    assert (row["priority"], row["urgent"]) == (priority, urgent)
    again = await on_alert_event(db_pool, alert, state, config, now=NOW)
    assert again.outcome == "duplicate"  # a repeated notification changes nothing


async def test_sweep_catches_a_missed_escalation(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, alerts: World, config: CaseConfig
) -> None:
    w = alerts
    alert = await insert_alert(
        db_conn, rule="exceedance", station_id=w.station, first_seen=NOW, severity="warning"
    )
    await on_alert_event(db_pool, alert, "firing", config, now=NOW)
    await db_conn.execute("UPDATE alerts SET severity = 'major' WHERE id = $1", alert)
    await alert_case_sweep(db_pool, NOW, config)
    assert (await _case(db_conn))[1:] == (2, False)
    # an acknowledged alert that never fired into a case opens nothing
    other = await insert_alert(db_conn, rule="jump", station_id=w.station,
                               first_seen=NOW, state="acknowledged")  # fmt: skip
    assert (await on_alert_event(db_pool, other, "acknowledged", config)).outcome == "ignored"
