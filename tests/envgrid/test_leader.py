"""envgrid.leader.serve: two candidates in one process (as two hosts would be), the
leader's lock connection cut by the server — it steps down, the other takes over; a
graceful stop releases the leadership."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import asyncpg
import pytest

from envgrid import leader
from envgrid.settings import Settings
from store.cluster import ClusterSettings

LEADER_SQL = """
SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
   AND a.application_name LIKE 'envgrid-leader %'
"""


def _node(settings: Settings, name: str) -> Settings:
    cluster = ClusterSettings(node_name=name, leader_retry_s=0.2, leader_heartbeat_s=0.2)
    return dataclasses.replace(settings, cluster=cluster)


async def _holder(conn: asyncpg.Connection, other_than: str = "") -> tuple[int, str] | None:
    rows = await conn.fetch(LEADER_SQL)
    assert len(rows) <= 1, rows
    if not rows:
        return None
    name = str(rows[0][1]).removeprefix("envgrid-leader ")
    return (int(rows[0][0]), name) if name != other_than else None


async def _until(what: object, timeout: float = 20.0) -> object:
    async with asyncio.timeout(timeout):
        while True:
            value = await what()  # type: ignore[operator]
            if value:
                return value
            await asyncio.sleep(0.05)


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return text in caplog.text


async def test_cut_connection_hands_over_and_stop_releases(
    db_settings: Settings,
    db_dsn: str,
    db_conn: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="envgrid.leader")
    stops = {name: asyncio.Event() for name in "xy"}
    tasks = {
        name: asyncio.create_task(
            leader.serve(_node(db_settings, name), db_dsn, stops[name], alerts=False)
        )
        for name in "xy"
    }
    try:
        pid, first = await _until(lambda: _holder(db_conn))  # type: ignore[misc]
        await _until(lambda: _logged(caplog, f"leadership gained: {first} pid"))
        await db_conn.execute("SELECT pg_terminate_backend($1)", pid)
        _, second = await _until(lambda: _holder(db_conn, first))  # type: ignore[misc]
        assert second != first
        await _until(lambda: _logged(caplog, f"leadership lost: {first} pid"))
        await _until(lambda: _logged(caplog, f"leadership gained: {second} pid"))
        stops[second].set()  # a graceful stop hands over at once
        await asyncio.wait_for(tasks[second], 20)
        assert f"leadership released: {second} pid" in caplog.text
        assert "raised an exception" not in caplog.text  # no job failed on the way
        _, third = await _until(lambda: _holder(db_conn, second))  # type: ignore[misc]
        assert third == first
    finally:
        for name in "xy":
            stops[name].set()
        await asyncio.wait_for(asyncio.gather(*tasks.values()), 30)
