"""The alert "forwarding backlog older than N minutes": the pure rule, then a sweep on a
real database through the engine's writer (fires, renders in Chinese, resolves)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from alerts.forward_backlog import FORWARD_BACKLOG, evaluate, sweep
from alerts.model import AlertView
from alerts.templates import describe
from alerts.writer import AlertWriter

KEY = (FORWARD_BACKLOG, "forward:prov", 0)


def row(backlog: int, oldest_min: float | None, limit: int = 30) -> dict[str, Any]:
    oldest = None if oldest_min is None else oldest_min * 60
    return {"name": "prov", "backlog_alert_minutes": limit, "backlog": backlog, "oldest_s": oldest}


@pytest.mark.parametrize(
    ("rows", "open_keys", "actions"),
    [
        ([row(0, None)], [], []),
        ([row(5, 10)], [], []),
        ([row(5, 31)], [], ["firing"]),
        ([row(5, 31)], [KEY], ["touch"]),
        ([row(5, 20)], [KEY], []),  # hysteresis: still above half the limit
        ([row(5, 14)], [KEY], ["resolved"]),
        ([row(0, None)], [KEY], ["resolved"]),
        ([], [KEY], ["resolved"]),  # target removed
        ([row(5, 6, limit=5)], [], ["firing"]),
    ],
)
def test_rule(
    rows: list[dict[str, Any]], open_keys: list[tuple[str, str, int]], actions: list[str]
) -> None:
    out = evaluate(rows, open_keys, 1000.0)
    assert [t.change.action for t in out] == actions
    assert all(t.key == KEY for t in out)


async def test_sweep_fires_and_resolves(db_conn: asyncpg.Connection) -> None:
    target = await db_conn.fetchval(
        "INSERT INTO forward_targets (name, host, port, backlog_alert_minutes)"
        " VALUES ('prov', '127.0.0.1', 9, 5) RETURNING id"
    )
    await db_conn.execute(
        "INSERT INTO forward_outbox (target_id, station_id, data_time, cn, pno, digest,"
        " enqueued_at) SELECT $1, 1, now(), 2051, 0, g, now() - interval '7 minutes'"
        " FROM generate_series(1, 3) g",
        target,
    )
    writer = AlertWriter()
    await writer.load(db_conn)
    assert await sweep(db_conn, writer) == 1
    alert = await db_conn.fetchrow("SELECT * FROM alerts WHERE rule = $1", FORWARD_BACKLOG)
    assert alert["state"] == "firing" and alert["scope_key"] == "forward:prov"
    assert alert["threshold"] == 5 and alert["value"] >= 7 and alert["labels"]["backlog"] == 3
    await db_conn.execute("DELETE FROM forward_outbox")
    assert await sweep(db_conn, writer) == 1
    assert await db_conn.fetchval("SELECT state FROM alerts WHERE id = $1", alert["id"]) == (
        "resolved"
    )
    text = describe(AlertView.from_record(alert), ZoneInfo("Asia/Shanghai"))
    assert text == "转发目标 prov：3 条数据等待上级平台确认，最早的已等待 7 分钟（阈值 5 分钟）"
