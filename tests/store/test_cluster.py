"""store.cluster: the roles of a host and the leader election (a session advisory lock on
a dedicated connection), in one process against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from store.cluster import (
    FORWARDER_LOCK_KEY,
    LEADER_LOCK_KEY,
    ClusterSettings,
    LeaderElection,
    parse_roles,
)
from store.validation import ConfigError


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("ingest", ("ingest",)),
        ("alerts,ingest", ("ingest", "alerts")),
        (" web , web ", ("web",)),
        ("ingest,web,alerts", ("ingest", "web", "alerts")),
    ],
)
def test_parse_roles(text: str, roles: tuple[str, ...]) -> None:
    assert parse_roles(text) == roles


@pytest.mark.parametrize(
    ("text", "message"),
    [("ingets", "unknown role ingets"), ("", "no role given"), (" , ", "no role given")],
)
def test_parse_roles_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_roles(text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"roles": ("ingest", "leader")}, "cluster.roles: unknown role leader"),
        ({"roles": ()}, "cluster.roles: no role given"),
        ({"leader_retry_s": 0}, "cluster.leader_retry_s must be > 0"),
        ({"leader_heartbeat_s": 6}, "cluster.leader_heartbeat_s must be > 0 and ≤ 5"),
    ],
)
def test_settings_refuse(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ClusterSettings(**fields)  # type: ignore[arg-type]


def test_settings_defaults() -> None:
    s = ClusterSettings(roles=("alerts", "ingest"), leader_heartbeat_s=0.3)
    assert s.roles == ("ingest", "alerts")
    assert s.takeover_grace_s == pytest.approx(0.6) and s.keepalive_s == 1
    assert ClusterSettings().node  # the hostname
    assert 0 < LEADER_LOCK_KEY < 2**63


FAST = ClusterSettings(node_name="t", leader_retry_s=0.05, leader_heartbeat_s=0.1)


async def _lock_holder(conn: asyncpg.Connection) -> int | None:
    pid = await conn.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND ((classid::bigint << 32) | objid::bigint) = $1",
        LEADER_LOCK_KEY,
    )
    return int(pid) if pid is not None else None


async def test_one_leader_standby_takes_over_on_release_and_on_a_cut_session(
    db_dsn: str, db_conn: asyncpg.Connection
) -> None:
    first, second = LeaderElection(db_dsn, FAST), LeaderElection(db_dsn, FAST)
    stop = asyncio.Event()
    try:
        assert await asyncio.wait_for(first.campaign(stop), 5)
        holder = await _lock_holder(db_conn)
        assert holder is not None
        standby = asyncio.ensure_future(second.campaign(stop))
        await asyncio.sleep(0.5)
        assert not standby.done()  # one leader at a time

        await first.release()  # a graceful stop hands over
        assert await asyncio.wait_for(standby, 5)
        new_holder = await _lock_holder(db_conn)
        assert new_holder is not None and new_holder != holder

        # the leader's session is ended by the server: it notices, the other takes over
        watch = asyncio.ensure_future(second.watch())
        standby = asyncio.ensure_future(first.campaign(stop))
        await asyncio.sleep(0.3)
        assert not watch.done() and not standby.done()
        await db_conn.execute("SELECT pg_terminate_backend($1)", new_holder)
        reason = await asyncio.wait_for(watch, 5)
        assert "connection" in reason, reason
        assert await asyncio.wait_for(standby, 5)
        assert await _lock_holder(db_conn) not in (None, new_holder)
    finally:
        stop.set()
        await first.release()
        await second.release()


async def test_campaign_returns_false_on_stop_and_retries_an_unreachable_database(
    caplog: pytest.LogCaptureFixture,
) -> None:
    election = LeaderElection("postgresql://nobody@127.0.0.1:1/none", FAST)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.4, stop.set)
    assert not await asyncio.wait_for(election.campaign(stop), 5)
    assert "election: database unreachable" in caplog.text


async def test_two_hosts_create_the_same_partitions_at_once(db_dsn: str) -> None:
    """Hosts starting together (store.prepare) or writers at midnight race to create one
    partition; both succeed and it exists once."""
    from datetime import UTC, datetime, timedelta

    from store.db import connect
    from store.engine import Engine
    from store.partitions import PARTITIONED, PartitionCache

    start = datetime(2031, 3, 1, tzinfo=UTC)
    needed = [(t, start + timedelta(days=d)) for t in PARTITIONED for d in range(40)]
    conns = [await connect(db_dsn) for _ in range(3)]
    try:
        if not await conns[0].fetchval(
            "SELECT relkind = 'p' FROM pg_class WHERE oid = 'measurements_rtd'::regclass"
        ):
            pytest.skip("TimescaleDB: no native partitions")
        created = await asyncio.gather(
            *(PartitionCache(Engine.POSTGRESQL).ensure(c, needed) for c in conns)
        )
        assert all(n > 0 for n in created)
        n = await conns[0].fetchval(
            "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE 'measurements_rtd_p2031%'"
        )
        assert n == 40
    finally:
        for c in conns:
            await c.close()


async def test_the_forwarder_is_elected_on_a_lock_of_its_own(db_dsn: str) -> None:
    """One forwarder per database, whoever leads the alert engine: the forwarder's lock
    is another key, so one process may hold both and two forwarders never run."""
    leader = LeaderElection(db_dsn, FAST)
    forwarder = LeaderElection(db_dsn, FAST, what="forwarder", lock_key=FORWARDER_LOCK_KEY)
    rival = LeaderElection(db_dsn, FAST, what="forwarder", lock_key=FORWARDER_LOCK_KEY)
    stop = asyncio.Event()
    try:
        assert await asyncio.wait_for(leader.campaign(stop), 5)
        assert await asyncio.wait_for(forwarder.campaign(stop), 5)  # not blocked by it
        standby = asyncio.ensure_future(rival.campaign(stop))
        await asyncio.sleep(0.4)
        assert not standby.done()  # one forwarder at a time
        await forwarder.release()
        assert await asyncio.wait_for(standby, 5)
    finally:
        stop.set()
        for election in (leader, forwarder, rival):
            await election.release()
