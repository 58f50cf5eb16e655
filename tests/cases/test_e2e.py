"""End to end: a station exceeds → the alert fires (NOTIFY, as the alert engine does) →
the case opens in the right grid → auto-dispatched → handled with a photo → checked →
closed; the month's assessment counts it on time."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import asyncpg

from tests.cases.alerts_fixture import ensure_alerts_table, factor_id, insert_alert, set_alert_state
from tests.cases.conftest import JPEG, TZ, World
from web.cases import service as cs
from web.cases.assessment import assessment
from web.cases.bridge import run_alert_listener
from web.cases.config import CaseConfig
from web.cases.deadlines import case_deadline_sweep
from web.cases.uploads import save_photos
from web.cases.workflow import State


async def wait_for(conn: asyncpg.Connection, sql: str, timeout: float = 10.0) -> object:
    for _ in range(int(timeout / 0.05)):
        value = await conn.fetchval(sql)
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {sql}")


async def test_alert_to_closed_case_on_time(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    await ensure_alerts_table(db_conn)
    pm25 = await factor_id(db_conn, "a34004", "PM2.5")
    listener = asyncio.create_task(run_alert_listener(db_pool, config, retry_s=0.1))
    try:
        await asyncio.sleep(0.2)  # listening
        fired = datetime.now(TZ)
        alert = await insert_alert(
            db_conn,
            rule="exceedance",
            station_id=world.station,
            factor=pm25,
            first_seen=fired,
            value=160.0,
            threshold=75.0,
            notify=True,
        )
        case_id = await wait_for(db_conn, "SELECT case_id FROM case_alert_links")
        case = await db_conn.fetchrow("SELECT * FROM cases WHERE id = $1", case_id)
        assert case["grid_id"] == world.areas["G1"]  # the station's grid
        assert case["state"] == "dispatched" and case["unit_id"] == world.units["U_ENV"]
        handle_deadline = case["handle_deadline"]
        # the data recover: the case gets a note but stays open
        await set_alert_state(db_conn, alert, "resolved", notify=True)
        await wait_for(db_conn, "SELECT count(*) = 2 FROM case_alert_links")
        assert await db_conn.fetchval("SELECT state FROM cases") == "dispatched"
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    now = datetime.now(TZ)
    await cs.transition(db_conn, case_id, "take", world.handler, config, now=now)
    photos = await save_photos(
        config.uploads_dir, [("处置后.jpg", JPEG)], max_bytes=1 << 20, max_count=6, now=now
    )
    await cs.transition(
        db_conn,
        case_id,
        "feedback",
        world.handler,
        config,
        now=now,
        comment="已排查扬尘源并洒水降尘",
        photos=photos,
    )
    await cs.transition(db_conn, case_id, "send_check", world.officer, config, now=now)
    await cs.transition(
        db_conn, case_id, "check_pass", world.member, config, now=now, comment="现场核查已整改"
    )
    result = await cs.transition(db_conn, case_id, "close", world.officer, config, now=now)
    assert result.state is State.ARCHIVED
    assert await case_deadline_sweep(db_pool, now + timedelta(days=30), config) == 0

    trail = await cs.case_trail(db_conn, case_id)
    assert [e["action"] for e in trail] == [
        "report",
        "accept",
        "file",
        "dispatch",
        "note",
        "take",
        "feedback",
        "send_check",
        "check_pass",
        "close",
        "archive",
    ]
    assert trail[6]["attachments"][0]["mime"] == "image/jpeg"

    start = now - timedelta(days=40)
    end = max(now, handle_deadline) + timedelta(days=1)
    for group in ("unit", "grid"):
        rows = await assessment(db_conn, group, start, end, as_of=end, min_cases=1)
        assert len(rows) == 1
        ind = rows[0].indicators
        assert (ind.due, ind.closed, ind.on_time, ind.overdue, ind.rework) == (1, 1, 1, 0, 0)
        assert ind.on_time_rate == 1.0 and rows[0].card is None
    assert rows[0].name == "网格一"
