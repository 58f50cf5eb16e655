"""Several hosts on one database, for real: three ``envgrid serve`` instances on this
machine (own data directories and ports) share the test's PostgreSQL — two with
``--role ingest,alerts``, one with ``--role web``.  One of the two candidates leads
(store.cluster); downlink commands reach stations on either ingest host; the leader is
killed with SIGKILL (supervisor and children at once, as a host dies) in the middle of
a run of offline alerts; the other takes over within 30 s and every notification
reaches the local webhook receiver once (X-Envgrid-Notification, one per row of the
outbox) — except one the killed leader had on the wire, whose fate it could not record:
that one goes again at once, under the same X-Envgrid-Notification."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from alerts import api
from bench.scale_out import OFFLINE_SQL, WebhookCounter, counting_receiver
from bench.server import ServerUnderTest
from protocol import encode_upload
from store.cluster import LEADER_LOCK_KEY
from store.commands import queue_command
from store.db import connect
from store.secretbox import SecretBox
from store.stations import NewStation
from tests.alerts.conftest import register, wait_for
from tests.conftest import free_port
from tests.ingest.conftest import StationClient

pytestmark = pytest.mark.slow

STATIONS = [
    NewStation(f"SC{i:022d}", "123456", f"站点{i}", "22", 30.2, 120.1, f"区{i}") for i in range(20)
]
#: short intervals: a standby polls every 0.5 s, the leader checks its lock every 0.5 s
FAST: dict[str, Any] = {
    "ingest.workers": 1,
    "ingest.batch_ms": 20,
    "cluster.leader_retry_s": 0.5,
    "cluster.leader_heartbeat_s": 0.5,
    "alerts.offline_after_s": 60,
    "alerts.sweep_interval_s": 0.3,
    "alerts.dispatch_interval_s": 0.1,
    "alerts.group_wait_s": 0.1,
    "alerts.group_interval_s": 0.2,
    "alerts.catchup_s": 0,
    "alerts.inhibit_min_stations": 1000,
    "alerts.max_messages_per_receiver": 1000,
    "alerts.webhook_allowed_networks": "127.0.0.0/8",
    "core.log_level": "INFO",
}
LEADER_SQL = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
   AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
   AND a.application_name LIKE 'envgrid-leader %'
"""


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookCounter]:
    async with counting_receiver() as (counter, _url):
        yield counter


def _instance(dsn: str, tmp: Path, node: str, roles: str, **extra: Any) -> ServerUnderTest:
    """One host: its own data directory and ports; the key file all hosts share."""
    key = tmp / "secret.key"
    SecretBox.from_file(key)  # created once, before the hosts start
    settings = {**FAST, "cluster.node_name": node, "core.secret_key_file": key, **extra}
    # the forwarder's own election is tested in tests/store/test_cluster.py
    return ServerUnderTest(
        settings=settings, dsn=dsn, roles=roles, data_dir=tmp / node, forward=False
    )


async def _leader(conn: asyncpg.Connection) -> str | None:
    names = [r[0] for r in await conn.fetch(LEADER_SQL, LEADER_LOCK_KEY)]
    assert len(names) <= 1, names  # never two
    return names[0].removeprefix("envgrid-leader ") if names else None


async def _leads(conn: asyncpg.Connection, node: str) -> bool:
    return await _leader(conn) == node


def _frame(st: NewStation, i: int) -> bytes:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    return encode_upload(
        2011,
        st="22",
        mn=st.mn,
        pw="123456",
        qn=now.strftime("%Y%m%d%H%M%S") + f"{i:03d}",
        data_time=now.strftime("%Y%m%d%H%M%S"),
        values={"a21026": {"Rtd": "8.0", "Flag": "N"}},
    )


async def _downlink_reaches(conn: asyncpg.Connection, port: int, st: NewStation) -> None:
    """A station on the ingest host at ``port`` gets a command queued through the database."""
    client = await StationClient.open(port)
    try:
        await client.send(_frame(st, 1))
        [ack] = await client.expect(1)
        assert ack.cn == 9014
        await queue_command(conn, mn=st.mn, cn=1062, params={"RtdInterval": 60})
        [_, command] = await client.expect(2)
        assert command.kind == "command" and command.cn == 1062, command
    finally:
        client.writer.close()


def _readyz(port: int) -> tuple[int, Any]:
    """``/readyz`` once the web process answers (it may still be starting)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def test_failover_no_duplicate_notification_and_downlink_across_hosts(
    db_dsn: str, pg_reachable_tmp: Path, receiver: WebhookCounter
) -> None:
    await register(db_dsn, *STATIONS)
    conn = await connect(db_dsn)
    web_port = free_port()
    hosts = {
        "a": _instance(db_dsn, pg_reachable_tmp, "a", "ingest,alerts"),
        "b": _instance(db_dsn, pg_reachable_tmp, "b", "ingest,alerts"),
        "c": _instance(db_dsn, pg_reachable_tmp, "c", "web", **{"web.port": web_port}),
    }
    try:
        rid = await api.create_receiver(conn, name="值班", kind="webhook", address=receiver.url)
        await api.add_responsibility(conn, receiver_id=rid, role="maintainer", scope="all")
        await asyncio.gather(*(asyncio.to_thread(h.start) for h in hosts.values()))
        first = await wait_for(lambda: _leader(conn), timeout=30, interval=0.1)
        await wait_for(lambda: _logged(hosts[first], "leadership gained"), timeout=30)
        # the leader's database connection is cut: it steps down, the other takes over
        cut = time.monotonic()
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()",
            f"envgrid-leader {first}",
        )
        await wait_for(lambda: _logged(hosts[first], "leadership lost"), timeout=30)
        leader = await wait_for(lambda: _leader(conn), timeout=30, interval=0.1)
        assert time.monotonic() - cut <= 30
        standby = "b" if leader == "a" else "a"
        assert await asyncio.to_thread(_readyz, web_port) == (
            200,
            {"status": "ok", "checks": {"database": "ok"}, "roles": ["web"]},
        )
        # downlink: whichever host holds the station's socket sends the command
        await _downlink_reaches(conn, hosts["a"].port, STATIONS[0])
        await _downlink_reaches(conn, hosts["b"].port, STATIONS[1])

        # offline alerts under way; the leader dies in the middle
        # (stations 0 and 1 talked to the ingest hosts above: the others go offline)
        for st in STATIONS[2:11]:
            await conn.execute(OFFLINE_SQL, [st.mn])
        await wait_for(lambda: _some(receiver.idents), timeout=20)
        gained = _count(hosts[standby], "leadership gained")
        killed = time.monotonic()
        await asyncio.to_thread(hosts[leader].kill_all)
        # claimed by the dead leader, not marked: delivered or not, nobody knows
        in_flight = {
            f"envgrid-{r[0]}"
            for r in await conn.fetch("SELECT id FROM alert_notifications WHERE status = 'sending'")
        }
        for st in STATIONS[11:]:
            await conn.execute(OFFLINE_SQL, [st.mn])
        await wait_for(lambda: _leads(conn, standby), timeout=30, interval=0.1)
        await wait_for(lambda: _logged(hosts[standby], "leadership gained", gained), timeout=30)
        takeover_s = time.monotonic() - killed
        assert takeover_s <= 30, takeover_s
        metrics = await asyncio.to_thread(hosts[standby].metrics)
        assert any(
            line.startswith("envgrid_leader{") and line.endswith(" 1.0")
            for line in metrics.splitlines()
        ), metrics[:3000]

        async def all_sent() -> bool:
            n = await conn.fetchval("SELECT count(*) FILTER (WHERE rule = 'offline') FROM alerts")
            pending = await conn.fetchval(
                "SELECT count(*) FROM alert_notifications WHERE status <> 'sent'"
            )
            return bool(n == len(STATIONS) - 2 and pending == 0 and receiver.idents)

        try:
            await wait_for(all_sent, timeout=40, interval=0.2)
        except TimeoutError:
            rows = await conn.fetch(
                "SELECT id, status, attempts, next_attempt_at - now() AS due_in, alert_ids"
                " FROM alert_notifications ORDER BY id"
            )
            raise AssertionError(f"{receiver.idents} {[dict(r) for r in rows]}") from None
        await asyncio.sleep(1.0)  # a late duplicate would arrive now
        rows = await conn.fetch("SELECT id FROM alert_notifications WHERE status = 'sent'")
        counts = Counter(receiver.idents)
        assert set(counts) == {f"envgrid-{r['id']}" for r in rows}  # none lost
        # none twice — but a message the killed leader had sent and not yet marked: it
        # goes again at once, under the same X-Envgrid-Notification (receivers drop it)
        twice = {k for k, n in counts.items() if n > 1}
        print(
            f"takeover {takeover_s:.1f} s; {len(rows)} notifications; in flight at the kill"
            f" {sorted(in_flight)}; delivered twice {sorted(twice)}"
        )
        assert twice <= in_flight and max(counts.values()) <= 2, (counts, in_flight)
        covered = await conn.fetchval(
            "SELECT count(DISTINCT a) FROM alert_notifications, unnest(alert_ids) AS a"
        )
        assert covered == len(STATIONS) - 2
    finally:
        await conn.close()
        await asyncio.gather(*(asyncio.to_thread(h.stop) for h in hosts.values()))
        for name, host in hosts.items():  # shown when the test fails
            print(f"--- host {name}\n{host.banner}{''.join(host.log_tail[-60:])}")


async def _some(items: list[str]) -> bool:
    return bool(items)


def _count(host: ServerUnderTest, text: str) -> int:
    return sum(text in line for line in host.log_tail)


async def _logged(host: ServerUnderTest, text: str, more_than: int = 0) -> bool:
    return _count(host, text) > more_than
